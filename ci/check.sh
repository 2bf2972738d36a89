#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: check.sh
#       CHECK_PROFILE=kasan|kcsan check.sh   (make check-kasan, check-kcsan)
#
# Everything `make check` does, from a fresh machine: install packages,
# provision kernel-tree/, build the test kernel and the selftests, run the
# static checks, boot the VM and run KUnit, the selftests and drgn checks,
# judge the kernel log, and print one line per suite and the total
#   N passed, N failed, N skipped
# as the last line.  Prints the duration of each stage.  Exit status 0 only
# when nothing failed.
#
# With CHECK_PROFILE, the kernel is that debug profile's
# (configs/<profile>.config on top of the test kernel's fragments, built
# into $BUILD/profile-<profile>/), the selftests are built against it, the
# static checks (which do not depend on the kernel's configuration) are
# skipped, and the per-test timeout is raised for the slower kernel.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

profile=${CHECK_PROFILE:-}
case $profile in
"") kroot=$BUILD ;;
kasan | kcsan)
	kroot=$BUILD/profile-$profile
	RESULTS=$RESULTS/$profile
	;;
*) echo "error: CHECK_PROFILE must be kasan or kcsan" >&2; exit "$KSFT_FAIL" ;;
esac
ktap=$RESULTS/ktap
# A stage that cannot run at all still ends the output with the summary.
die() {
	echo "error: $*" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit "$KSFT_FAIL"
}
total_start=$(date +%s)
stage_start=$total_start
timings=()

stage() {
	local now
	now=$(date +%s)
	[ -z "${cur_stage:-}" ] || timings+=("$(printf '%-16s %5ss' "$cur_stage" $((now - stage_start)))")
	cur_stage=$1 stage_start=$now
	[ "$1" = done ] || echo "== stage: $1" >&2
}

rm -rf "$ktap" "$RESULTS/vm"
mkdir -p "$ktap"

stage deps
"$PROJ_ROOT/ci/install-deps.sh" || die "installing packages failed"

stage kernel-tree
"$PROJ_ROOT/ci/provision.sh" || die "provisioning kernel-tree/ failed"

stage kernel
"$PROJ_ROOT/ci/build-kernel.sh" $profile > "$RESULTS/build-kernel.log" 2>&1 ||
	{ tail -n 40 "$RESULTS/build-kernel.log" >&2; die "kernel build failed (log: $RESULTS/build-kernel.log)"; }

stage selftests
# The test module is built against the test kernel, under the build lock.
# tests.list, the build's TEST_GEN_PROGS: the guest runs it, the verdict
# checks that the list it ran names them all.
"$PROJ_ROOT/ci/build-selftests.sh" "$kroot/selftests" "$kroot/kernel" \
	> "$RESULTS/build-selftests.log" 2>&1 ||
	{ cat "$RESULTS/build-selftests.log" >&2; die "selftests build failed"; }
cp "$kroot/selftests/tests.list" "$RESULTS/test-gen-progs.list"
# Upstream's DAMON kselftests of kernel-tree/, installed as kselftest's
# install target does; ci/guest-tests.sh runs them with run_kselftest.sh,
# under TCG with HWS_KSELFTEST_TIMEOUT instead of the 45 s settings
# timeout (sysfs.sh alone takes about 11 minutes there).  The verdict
# compares their failures with ci/kselftest-damon-base-failures, made by
# ci/kselftest-base.sh on the unpatched base.  UPSTREAM_KSELFTESTS=0 leaves
# them out (one SKIP case says so): for a quick run, never for CI; a debug
# profile's run leaves them out unless UPSTREAM_KSELFTESTS=1.
rm -rf "$kroot/kselftest-damon"
kslist=off
if [ "${UPSTREAM_KSELFTESTS:-$([ -z "$profile" ] && echo 1 || echo 0)}" = 1 ]; then
	make -s -C "$KTREE/tools/testing/selftests" TARGETS=damon O="$kroot/kselftest-obj" \
		INSTALL_PATH="$kroot/kselftest-damon" install >> "$RESULTS/build-selftests.log" 2>&1 ||
		{ cat "$RESULTS/build-selftests.log" >&2; die "installing upstream's DAMON kselftests failed"; }
	kslist=$kroot/kselftest-damon/kselftest-list.txt
fi

stage static-checks
# Reuse the last full verdict when neither the series nor anything the
# checks read changed (ci/lib.sh static_checks_cached).
static_key=$(state_key "$PROJ_ROOT"/ci/*.sh "$PROJ_ROOT"/ci/*.py "$PROJ_ROOT"/ci/tests/*.py \
	"$PROJ_ROOT"/ci/checkpatch-exceptions "$PROJ_ROOT"/configs/*.config \
	"$PROJ_ROOT"/ci/upstream-base.* "$PROJ_ROOT"/series.conf \
	"$PROJ_ROOT"/selftests/damon_bench.baseline \
	"$PROJ_ROOT"/patches/* "$PROJ_ROOT"/Documentation/benchmarks.md \
	"$PROJ_ROOT"/Documentation/benchmarks/raw/*/*.json \
	"$PROJ_ROOT"/ci/mutants/* "$PROJ_ROOT"/Documentation/mutants.md \
	"$PROJ_ROOT"/Documentation/mutants/results.json)
if [ -n "$profile" ]; then
	info "static checks: not run for the $profile profile (make check runs them)"
else
	static_checks_cached "$ktap/static.ktap" "$RESULTS/static-checks.log" "$static_key" ||
		{ tail -n 20 "$RESULTS/static-checks.log" >&2; die "static checks could not run"; }
fi

stage vm-tests
vm_rc=0
# On a profile's kernel: more time a test, PROFILE_VM_PARAMS (ci/lib.sh).
vm_params="HWS_KSELFTEST_TIMEOUT=$KSELFTEST_TCG_TIMEOUT"
[ -z "$profile" ] || vm_params+=" HWS_TEST_TIMEOUT=900 $PROFILE_VM_PARAMS"
vm_args=(-a "$vm_params")
# VM_LOCK: a lock file shared with other VM users on this machine (TCG
# guests starve each other and miss their timeouts).
${VM_LOCK:+flock "$VM_LOCK"} "$PROJ_ROOT/ci/vm-run.sh" -k "$kroot/kernel/arch/x86/boot/bzImage" -c 4 -m 2048 -n 2 \
	-t "${VM_TIMEOUT:-$([ -z "$profile" ] && echo 3600 || echo 6000)}" \
	-r "$RESULTS/vm" "${vm_args[@]}" -- "$PROJ_ROOT/ci/guest-tests.sh" "$kroot" || vm_rc=$?
"$PROJ_ROOT/ci/vm-verdict.sh" "$RESULTS/vm" "$ktap" "$RESULTS/test-gen-progs.list" "$kroot/kernel/.config" \
	"$kslist" ||
	die "could not judge the VM run (details: $RESULTS/vm/)"

stage done
echo
echo "== stage timings"
printf '%s\n' "${timings[@]}"
printf '%-16s %5ss\n' total $(($(date +%s) - total_start))
if [ -s "$ktap/static-logs/timings.txt" ]; then
	echo "static checks:"
	sed 's/^/  /' "$ktap/static-logs/timings.txt"
fi
echo
echo "== results (details: $RESULTS/)"
files=()
for f in "$ktap"/*.ktap; do
	[ -e "$f" ] && files+=("$f")
done
rc=0
python3 "$PROJ_ROOT/ci/ktap_summary.py" --dmesg --name kunit "$ktap/kunit.log" > "$RESULTS/summary-kunit.txt" || rc=1
python3 "$PROJ_ROOT/ci/ktap_summary.py" --total "${files[@]}" > "$RESULTS/summary-rest.txt" || rc=1
# One total over both.
python3 - "$RESULTS/summary-kunit.txt" "$RESULTS/summary-rest.txt" <<'PY'
import re, sys
kunit = open(sys.argv[1]).read().splitlines()
rest = open(sys.argv[2]).read().splitlines()
total = rest.pop()
p, f, s = map(int, re.match(r'(\d+) passed, (\d+) failed, (\d+) skipped', total).groups())
for l in kunit:
    print(l)
    m = re.match(r'kunit: (\d+) passed, (\d+) failed, (\d+) skipped', l)
    if m:
        p, f, s = p + int(m[1]), f + int(m[2]), s + int(m[3])
for l in rest:
    print(l)
print('%d passed, %d failed, %d skipped' % (p, f, s))
PY
[ "$vm_rc" -eq 0 ] || rc=1
exit $rc
