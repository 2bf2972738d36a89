#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage (inside the test VM, started by ci/vm-run.sh):
#   guest-tests.sh BUILD_DIR
#
# Collects the boot log (it holds the built-in KUnit KTAP), runs every
# selftest listed in BUILD_DIR/selftests/tests.list with a timeout, saving
# each one's KTAP, asks kmemleak for a scan, and saves the final kernel log
# and the taint flags (/proc/sys/kernel/tainted) at boot and at the end.
# Judging is left to the host (ci/vm-verdict.sh): this script fails only if
# it could not run at all.

set -u
build=$1
R=${HWS_RESULTS:?not in the test VM}
sdir=$build/selftests
test_timeout=${HWS_TEST_TIMEOUT:-300}

mkdir -p "$R/selftests"
dmesg > "$R/boot-dmesg.txt"
cat /proc/sys/kernel/tainted > "$R/boot-tainted.txt"
echo "accel=${HWS_ACCEL:-unknown} cpus=$(nproc) kernel=$(uname -r)" > "$R/guest-info.txt"

export DAMON_HWS_VMLINUX=$build/kernel/vmlinux
export DAMON_HWS_DRGN_DIR
DAMON_HWS_DRGN_DIR=$(cd "$(dirname "$0")/../drgn-scripts" && pwd)

if [ -r "$sdir/tests.list" ]; then
	# what the guest ran, for the verdict (every program listed counts)
	cp "$sdir/tests.list" "$R/tests.list"
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		echo "guest-tests: $t"
		start=$(date +%s)
		(cd /tmp && timeout -k 10 "$test_timeout" "$sdir/$t") \
			> "$R/selftests/$t.ktap" 2>&1
		echo $? > "$R/selftests/$t.rc"
		echo "$(($(date +%s) - start))" > "$R/selftests/$t.secs"
	done < "$sdir/tests.list"
else
	echo "guest-tests: no $sdir/tests.list" >&2
fi

# kmemleak reports objects that stayed unreferenced across scans.  A
# kmemleak that disabled itself refuses "scan" (EPERM) and lists nothing:
# say so, the verdict fails on it.
if [ -w /sys/kernel/debug/kmemleak ]; then
	if echo scan > /sys/kernel/debug/kmemleak && sleep 6 &&
	   echo scan > /sys/kernel/debug/kmemleak; then
		cat /sys/kernel/debug/kmemleak > "$R/kmemleak.txt"
	else
		echo "kmemleak: scan refused (kmemleak disabled?)" > "$R/kmemleak.txt"
	fi
else
	echo "kmemleak not available" > "$R/kmemleak.txt"
fi
dmesg > "$R/dmesg.txt"
cat /proc/sys/kernel/tainted > "$R/tainted.txt"
exit 0
