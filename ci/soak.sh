#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: soak.sh                 (make soak DURATION=seconds)
#
# A long run of the soak test selftests/damon_soak: build the test kernel
# and the selftests against it as make check does, boot the test VM as make
# check does (4 vCPUs, 2 GiB, 2 NUMA nodes) and run damon_soak alone there
# with ci/guest-tests.sh (then a kmemleak scan), judge what the VM left with
# ci/vm-verdict.sh (make check's kernel-log rules), print the KTAP and, as
# the last line,
#   N passed, N failed, N skipped
# over the soak's cases and the kernel-log checks.  Exit status 0 only when
# nothing failed.
#
# Environment:
#   DURATION=s     seconds of soak cycles (default 3600); make check runs
#                  the program's own short default with the other tests
#   SOAK_SEED=n    the seed of the controller's choices (default: the
#                  program takes one from the time and prints it)
#   VM_LOCK=file   flock this around the VM run (as ci/check.sh does)
#
# The VM's timeout follows DURATION: DURATION * 5 / 4 + 600 s.  Results go
# to $RESULTS/soak/: vm/ (what the guest left), ktap/ (the verdicts).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

# A run that cannot happen still ends with the summary line.
die() {
	echo "error: $*" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit "$KSFT_FAIL"
}

duration=${DURATION:-3600}
seed=${SOAK_SEED:-}
case $duration in
'' | *[!0-9]* | 0) die "DURATION must be a positive number of seconds, not '$duration'" ;;
esac
case $seed in
*[!0-9]*) die "SOAK_SEED must be a number, not '$seed'" ;;
esac

out=$RESULTS/soak
rm -rf "$out"
mkdir -p "$out"

info "test kernel"
"$PROJ_ROOT/ci/build-kernel.sh" > "$out/build-kernel.log" 2>&1 ||
	{ tail -n 40 "$out/build-kernel.log" >&2; die "kernel build failed (log: $out/build-kernel.log)"; }

info "selftests against $BUILD/kernel"
make -s -C "$PROJ_ROOT/selftests" KDIR="$KTREE" OUTPUT="$BUILD/selftests" \
	KBUILD_OUTPUT_DIR="$BUILD/kernel" BUILD_LOCK="$BUILD_LOCK" \
	> "$out/build-selftests.log" 2>&1 ||
	{ cat "$out/build-selftests.log" >&2; die "selftests build failed"; }

# guest-tests.sh runs what BUILD_DIR/selftests/tests.list names: a build
# directory of links whose list holds damon_soak only (the program finds
# its modules next to where the link leads).
gb=$out/build
mkdir -p "$gb/selftests"
ln -s "$BUILD/kernel" "$gb/kernel"
ln -s "$BUILD/selftests/damon_soak" "$gb/selftests/damon_soak"
echo damon_soak > "$gb/selftests/tests.list"

# Unknown kernel parameters reach the guest's programs as environment.
params="HWS_TEST_TIMEOUT=$((duration + 600)) DAMON_SOAK_SECS=$duration"
[ -z "$seed" ] || params+=" DAMON_SOAK_SEED=$seed"
tmo=$((duration * 5 / 4 + 600))
info "damon_soak for ${duration}s in the VM (timeout ${tmo}s)"
vm_rc=0
# VM_LOCK: a lock file shared with other VM users on this machine, as for
# ci/check.sh.
${VM_LOCK:+flock "$VM_LOCK"} "$PROJ_ROOT/ci/vm-run.sh" -k "$BUILD/kernel/arch/x86/boot/bzImage" \
	-c 4 -m 2048 -n 2 -t "$tmo" -r "$out/vm" -a "$params" -- \
	"$PROJ_ROOT/ci/guest-tests.sh" "$gb" || vm_rc=$?
"$PROJ_ROOT/ci/vm-verdict.sh" "$out/vm" "$out/ktap" ||
	die "could not judge the VM run (details: $out/vm/)"

shopt -s nullglob
files=("$out"/ktap/selftest-damon_soak*.ktap "$out/ktap/kernel-log.ktap")
for f in "${files[@]}"; do
	echo "== $(basename "$f" .ktap)"
	cat "$f"
done
echo "== damon_soak: $(cat "$out/vm/selftests/damon_soak.secs" 2>/dev/null || echo '?') s in the guest; details in $out/"
rc=0
python3 "$PROJ_ROOT/ci/ktap_summary.py" --total "${files[@]}" || rc=1
[ "$vm_rc" -eq 0 ] || rc=1
exit $rc
