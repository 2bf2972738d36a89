#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage (inside the test VM, started by ci/vm-run.sh):
#   guest-tests.sh BUILD_DIR
#
# Collects the boot log (it holds the built-in KUnit KTAP), runs upstream's
# DAMON kselftests installed in BUILD_DIR/kselftest-damon (every test of
# its kselftest-list.txt, one at a time through run_kselftest.sh, which
# applies the collection's settings timeout, 45 s by default), runs every
# selftest listed in BUILD_DIR/selftests/tests.list with a timeout, saving
# each one's KTAP, asks kmemleak for a scan, and saves the final kernel log
# and the taint flags (/proc/sys/kernel/tainted) at boot and at the end.
# Judging is left to the host (ci/vm-verdict.sh): this script fails only if
# it could not run at all.

set -u
build=$1
R=${HWS_RESULTS:?not in the test VM}
sdir=$build/selftests
# each program's timeout: the collection's kselftest settings unless the
# host says otherwise (a debug profile, make soak); kselftest's default
# without them
test_timeout=${HWS_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' "$sdir/settings" 2>/dev/null)}
test_timeout=${test_timeout:-45}

mkdir -p "$R/selftests"
dmesg > "$R/boot-dmesg.txt"
cat /proc/sys/kernel/tainted > "$R/boot-tainted.txt"
echo "accel=${HWS_ACCEL:-unknown} cpus=$(nproc) kernel=$(uname -r)" > "$R/guest-info.txt"

export DAMON_HWS_VMLINUX=$build/kernel/vmlinux
export DAMON_HWS_DRGN_DIR
DAMON_HWS_DRGN_DIR=$(cd "$(dirname "$0")/../drgn-scripts" && pwd)

# Upstream's DAMON kselftests, first, on a kernel no other test touched
# (sysfs_memcg_path_leak.sh fails on any kmemleak report).  The installed
# directory is copied to the tmpfs: the tests write files next to them.
# drgn, which sysfs.py uses, looks for the running kernel's vmlinux where
# distributions put it: /boot (a tmpfs here) gets a link to the build's.
ksdir=$build/kselftest-damon
mkdir -p "$R/kselftest-damon"
if [ -r "$ksdir/kselftest-list.txt" ]; then
	cp "$ksdir/kselftest-list.txt" "$R/kselftest-damon.list"
	rm -rf /tmp/kselftest-damon
	mkdir /tmp/kselftest-damon
	cp -a "$ksdir/." /tmp/kselftest-damon/
	# The runner prints to /dev/stdout, which only udev links here:
	# without the link its output would go to a file of that name.
	for fd in stdin:0 stdout:1 stderr:2; do
		[ -e "/dev/${fd%:*}" ] || ln -s "/proc/self/fd/${fd#*:}" "/dev/${fd%:*}"
	done
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	# The runner's timeouts are timeout(1)'s, which needs POSIX timers
	# (timer_create() or alarm()): say whether they can fire.  If not
	# (the verdict fails then), a watchdog kills a test that runs 30 s
	# past its settings timeout, so that one test cannot stop the run.
	start=$(date +%s)
	timeout 1 sleep 3
	ks_timeout_rc=$?
	echo "rc $ks_timeout_rc after $(($(date +%s) - start)) s" > "$R/kselftest-damon-timeout.txt"
	ks_limit=$(sed -n 's/^timeout=//p' "$ksdir/damon/settings" 2>/dev/null)
	ks_limit=${ks_limit:-45}
	# Under TCG a test runs 10-20 times slower than on hardware, past
	# the settings timeout, which is meant for hardware: the host's
	# HWS_KSELFTEST_TIMEOUT replaces it there (--override-timeout).
	ks_override=
	if [ "${HWS_ACCEL:-}" = tcg ] && [ -n "${HWS_KSELFTEST_TIMEOUT:-}" ]; then
		ks_limit=$HWS_KSELFTEST_TIMEOUT
		ks_override="-o $ks_limit"
	fi
	ks_limit=$((ks_limit + 30))
	if mount -t tmpfs tmpfs /boot; then
		ln -s "$build/kernel/vmlinux" "/boot/vmlinux-$(uname -r)"
	fi
	# Run upstream test $1 (collection:name) once: the runner's KTAP to
	# <name>.ktap, its exit status to <name>.rc.
	ks_run() {
		t=$1
		# The runner also appends to /dev/stdout: a pipe keeps its
		# lines in order, where a file would get them overwritten.
		{ (cd /tmp/kselftest-damon &&
		   if [ "$ks_timeout_rc" = 124 ]; then
			exec ./run_kselftest.sh $ks_override -t "$t" < /dev/null
		   fi
		   rm -f /tmp/kselftest-damon.killed
		   setsid ./run_kselftest.sh $ks_override -t "$t" < /dev/null &
		   pid=$!
		   # the session: timeout(1) puts the test in a group of its own
		   (sleep "$ks_limit" > /dev/null 2>&1 &&
		    touch /tmp/kselftest-damon.killed && pkill -KILL -s "$pid") &
		   wd=$!
		   wait "$pid"
		   rc=$?
		   kill "$wd" 2>/dev/null
		   [ ! -e /tmp/kselftest-damon.killed ] ||
			echo "not ok 1 selftests: damon: ${t#*:} # TIMEOUT killed by guest-tests.sh after $ks_limit s: timeout(1) cannot fire"
		   exit "$rc") 2>&1
		  echo $? > "$R/kselftest-damon/${t#*:}.rc"
		} | cat > "$R/kselftest-damon/${t#*:}.ktap"
	}
	# Whether ci/kselftest-damon-retry lists test $1 (a name).
	ks_retried() {
		awk -v t="$1" '!/^#/ && $1 == t { f = 1 } END { exit !f }' \
			"$retry_list" 2>/dev/null
	}
	retry_list=$(dirname "$0")/kselftest-damon-retry
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		echo "guest-tests: $t"
		start=$(date +%s)
		f=$R/kselftest-damon/${t#*:}
		ks_run "$t"
		# A test the list says is timing-sensitive under TCG runs up
		# to three more times while it fails; the last run's KTAP
		# counts, with the failed runs' output under it.
		try=1
		while [ "$(cat "$f.rc")" != 0 ] && [ "$try" -lt 4 ] &&
		      ks_retried "${t#*:}"; do
			mv "$f.ktap" "$f.try$try.ktap"
			echo "guest-tests: $t failed, again (ci/kselftest-damon-retry)"
			ks_run "$t"
			try=$((try + 1))
		done
		i=1
		while [ "$i" -lt "$try" ]; do
			echo "# guest-tests.sh: run $try of at most 4; run $i failed (ci/kselftest-damon-retry):"
			sed "s/^/# try $i: /" "$f.try$i.ktap"
			i=$((i + 1))
		done >> "$f.ktap"
		echo "$(($(date +%s) - start))" > "$f.secs"
	done < "$ksdir/kselftest-list.txt"
	umount /boot 2>/dev/null
	# The programs below start closer to a fresh boot: the suite leaves
	# page cache and fragmented free memory behind.  (This alone did not
	# give damon_perf_probes its contiguous shmem run back; its larger
	# buffer did.)  Free memory by order, before and after, for a test
	# that finds no contiguous memory.
	cat /proc/buddyinfo > "$R/buddyinfo-after-kselftests.txt"
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo 1 > /proc/sys/vm/compact_memory
	cat /proc/buddyinfo >> "$R/buddyinfo-after-kselftests.txt"
else
	echo "guest-tests: no $ksdir/kselftest-list.txt" >&2
fi

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
if [ "${HWS_KMEMLEAK:-1}" = 0 ]; then
	# make mutants, for a mutant the kernel log does not judge: the two
	# scans of a debug kernel take minutes in TCG
	echo "kmemleak: not scanned (HWS_KMEMLEAK=0)" > "$R/kmemleak.txt"
elif [ -w /sys/kernel/debug/kmemleak ]; then
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
# the NMI counts: whether an "unknown NMI" report could have happened
cat /proc/interrupts > "$R/interrupts.txt"
exit 0
