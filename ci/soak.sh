#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: soak.sh                 (make soak DURATION=seconds)
#
# A long run of the soak test selftests/damon_soak: build the test kernel
# (or a debug profile's) and the selftests against it as make check does,
# boot the test VM as make check does (4 vCPUs, 2 GiB, 2 NUMA nodes) and
# run damon_soak alone there with ci/guest-tests.sh (then a kmemleak scan),
# judge what the VM left with ci/vm-verdict.sh (make check's kernel-log
# rules), print the KTAP and, as the last line,
#   N passed, N failed, N skipped
# over the soak's cases and the kernel-log checks of every boot.  Exit
# status 0 only when nothing failed.
#
# Environment:
#   DURATION=s     seconds of soak cycles per boot (default 3600); make
#                  check runs the program's own short default with the
#                  other tests
#   SOAK_SEED=n    the seed of the controller's choices on the first boot,
#                  n + 1 on the second and so on (default: the program
#                  takes one from the time and prints it)
#   SOAK_BOOTS=n   soak on n fresh boots, one after the other (default 1)
#   SOAK_PROFILE=kasan|kcsan
#                  on that debug profile's kernel (as make check-kasan or
#                  check-kcsan builds it), booted as there
#                  (PROFILE_VM_PARAMS of ci/lib.sh: panic_on_warn=1)
#   VM_LOCK=file   flock this around each VM run (as ci/check.sh does)
#
# The VM's timeout follows DURATION: DURATION * 5 / 4 + 600 s, 900 s more
# on a profile kernel.  Results go to $RESULTS/soak/ (the profile's:
# $RESULTS/soak-<profile>/): boot-<i>/vm/ (what the guest left) and
# boot-<i>/ktap/ (the verdicts).

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
boots=${SOAK_BOOTS:-1}
profile=${SOAK_PROFILE:-}
case $duration in
'' | *[!0-9]* | 0) die "DURATION must be a positive number of seconds, not '$duration'" ;;
esac
case $seed in
*[!0-9]*) die "SOAK_SEED must be a number, not '$seed'" ;;
esac
case $boots in
'' | *[!0-9]* | 0) die "SOAK_BOOTS must be a positive number, not '$boots'" ;;
esac
vm_extra=""
case $profile in
"") kroot=$BUILD out=$RESULTS/soak ;;
kasan | kcsan)
	kroot=$BUILD/profile-$profile out=$RESULTS/soak-$profile
	vm_extra=$PROFILE_VM_PARAMS
	;;
*) die "SOAK_PROFILE must be kasan or kcsan, not '$profile'" ;;
esac

rm -rf "$out"
mkdir -p "$out"

info "${profile:-test} kernel"
"$PROJ_ROOT/ci/build-kernel.sh" ${profile:+"$profile"} > "$out/build-kernel.log" 2>&1 ||
	{ tail -n 40 "$out/build-kernel.log" >&2; die "kernel build failed (log: $out/build-kernel.log)"; }

info "selftests against $kroot/kernel"
"$PROJ_ROOT/ci/build-selftests.sh" "$kroot/selftests" "$kroot/kernel" \
	> "$out/build-selftests.log" 2>&1 ||
	{ cat "$out/build-selftests.log" >&2; die "selftests build failed"; }

# guest-tests.sh runs what BUILD_DIR/selftests/tests.list names: a build
# directory of links whose list holds damon_soak only (the program finds
# its modules next to where the link leads).
gb=$out/build
mkdir -p "$gb/selftests"
ln -s "$kroot/kernel" "$gb/kernel"
ln -s "$kroot/selftests/damon_soak" "$gb/selftests/damon_soak"
echo damon_soak > "$gb/selftests/tests.list"

tmo=$((duration * 5 / 4 + 600))
[ -z "$profile" ] || tmo=$((tmo + 900))
files=()
rc=0
for i in $(seq 1 "$boots"); do
	bout=$out/boot-$i
	# Unknown kernel parameters reach the guest's programs as environment.
	params="HWS_TEST_TIMEOUT=$((duration + 600)) DAMON_SOAK_SECS=$duration"
	[ -z "$seed" ] || params+=" DAMON_SOAK_SEED=$((seed + i - 1))"
	[ -z "$vm_extra" ] || params+=" $vm_extra"
	info "boot $i of $boots: damon_soak for ${duration}s in the VM (timeout ${tmo}s)"
	vm_rc=0
	# VM_LOCK: a lock file shared with other VM users on this machine, as
	# for ci/check.sh.
	${VM_LOCK:+flock "$VM_LOCK"} "$PROJ_ROOT/ci/vm-run.sh" -k "$kroot/kernel/arch/x86/boot/bzImage" \
		-c 4 -m 2048 -n 2 -t "$tmo" -r "$bout/vm" -a "$params" -- \
		"$PROJ_ROOT/ci/guest-tests.sh" "$gb" || vm_rc=$?
	"$PROJ_ROOT/ci/vm-verdict.sh" "$bout/vm" "$bout/ktap" ||
		die "could not judge the VM run of boot $i (details: $bout/vm/)"
	[ "$vm_rc" -eq 0 ] || rc=1

	shopt -s nullglob
	for f in "$bout"/ktap/selftest-damon_soak*.ktap "$bout/ktap/kernel-log.ktap"; do
		echo "== boot $i: $(basename "$f" .ktap)"
		cat "$f"
		files+=("$f")
	done
	shopt -u nullglob
	echo "== boot $i: damon_soak ran $(cat "$bout/vm/selftests/damon_soak.secs" 2>/dev/null || echo '?') s in the guest; details in $bout/"
done

echo "== per boot"
python3 "$PROJ_ROOT/ci/ktap_summary.py" "${files[@]}" | grep -v '^  ' | sed 's/^/  /' || true
python3 "$PROJ_ROOT/ci/ktap_summary.py" --total "${files[@]}" > "$out/summary.txt" || rc=1
grep '^  ' "$out/summary.txt" || true
tail -n 1 "$out/summary.txt"
exit $rc
