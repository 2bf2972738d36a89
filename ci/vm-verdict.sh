#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: vm-verdict.sh VM_RESULTS_DIR KTAP_DIR
#
# Turn what the test VM left in VM_RESULTS_DIR into KTAP files in KTAP_DIR:
#   kunit.log          the boot log (KUnit KTAP inside; ktap_summary --dmesg)
#   selftest-<t>.ktap  each selftest's output; a non-zero exit status
#                      (other than 4, skip) with no failed case in the KTAP
#                      adds a failed case
#   kernel-log.ktap    one case per class of kernel report: any WARN, BUG,
#                      Oops, lockdep, KASAN, KCSAN, UBSAN, hung task, unknown NMI or
#                      kmemleak report fails the run, and so does a taint
#                      flag of a kernel bug: W (a WARN), D (an Oops), L (a
#                      soft lockup) or B (a bad page); the test modules'
#                      O and E are expected

set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: $0 VM_RESULTS_DIR KTAP_DIR"
vmr=$1 out=$2
mkdir -p "$out"

cp "$vmr/boot-dmesg.txt" "$out/kunit.log" 2>/dev/null ||
	: > "$out/kunit.log"

for k in "$vmr"/selftests/*.ktap; do
	[ -e "$k" ] || continue
	t=$(basename "$k" .ktap)
	rc=$(cat "$vmr/selftests/$t.rc" 2>/dev/null || echo missing)
	cp "$k" "$out/selftest-$t.ktap"
	case $rc in
	0 | 4) ;;
	*)
		if ! grep -q '^not ok' "$k"; then
			printf 'TAP version 13\n1..1\nnot ok 1 %s exited with status %s\n' \
				"$t" "$rc" > "$out/selftest-$t-exit.ktap"
		fi
		;;
	esac
done

# The tree's own KUnit parser must count what ktap_summary.py counts.
kunit_py=$(python3 "$KTREE/tools/testing/kunit/kunit.py" parse --summary "$out/kunit.log" 2>&1 |
	sed -nE 's/.*Ran ([0-9]+) tests?: (.*)$/\1 \2/p' | tail -n 1) || true
ours=$(python3 "$PROJ_ROOT/ci/ktap_summary.py" --dmesg --name kunit "$out/kunit.log" | head -n 1) || true
{
	echo "TAP version 13"
	echo "1..1"
	total=$(echo "$ours" | awk '{print $2 + $4 + $6}')
	if [ -n "$kunit_py" ] && [ "${kunit_py%% *}" = "$total" ]; then
		echo "ok 1 kunit_parsers_agree"
	else
		echo "not ok 1 kunit_parsers_agree"
	fi
	echo "# kunit.py parse: ${kunit_py:-no result}; ktap_summary.py: $ours"
} > "$out/kunit-parser.ktap"

# name|extended regex on the kernel log
readonly CHECKS=(
	"no_warn|WARNING: |------------\[ cut here \]------------"
	"no_bug_or_oops|BUG: |Oops|general protection fault|Kernel panic|kernel BUG at"
	"no_lockdep_report|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|lock held when returning|INFO: lockdep is turned off"
	"no_kasan_report|BUG: KASAN|KASAN:"
	"no_kcsan_report|BUG: KCSAN"
	"no_ubsan_report|UBSAN:"
	"no_hung_task|blocked for more than|soft lockup|rcu_sched self-detected stall|rcu: INFO"
	"no_unknown_nmi|NMI received for unknown reason|Dazed and confused"
)
log=$vmr/dmesg.txt
[ -s "$log" ] || log=$vmr/console.log
{
	echo "TAP version 13"
	echo "1..$((${#CHECKS[@]} + 3))"
	n=0
	for c in "${CHECKS[@]}"; do
		n=$((n + 1))
		name=${c%%|*} re=${c#*|}
		if hits=$(grep -E "$re" "$log" 2>/dev/null | head -n 5) && [ -n "$hits" ]; then
			echo "not ok $n $name"
			echo "$hits" | sed 's/^/# /'
		else
			echo "ok $n $name"
		fi
	done
	n=$((n + 1))
	if grep -q 'unreferenced object' "$vmr/kmemleak.txt" 2>/dev/null; then
		echo "not ok $n no_kmemleak_report"
		head -n 20 "$vmr/kmemleak.txt" | sed 's/^/# /'
	elif [ -r "$vmr/kmemleak.txt" ] && ! grep -q 'not available' "$vmr/kmemleak.txt"; then
		echo "ok $n no_kmemleak_report"
	else
		echo "not ok $n no_kmemleak_report"
		echo "# kmemleak did not run (missing CONFIG_DEBUG_KMEMLEAK?)"
	fi
	n=$((n + 1))
	# B 32, D 128, W 512, L 16384 (admin-guide/tainted-kernels.rst)
	taint=$(cat "$vmr/tainted.txt" 2>/dev/null) || taint=
	case $taint in
	'' | *[!0-9]*)
		echo "not ok $n no_bug_taint"
		echo "# the guest recorded no taint flags"
		;;
	*)
		bad=
		for f in B:32 D:128 W:512 L:16384; do
			[ $((taint & ${f#*:})) -eq 0 ] || bad+=${f%%:*}
		done
		if [ -z "$bad" ]; then
			echo "ok $n no_bug_taint"
		else
			echo "not ok $n no_bug_taint"
		fi
		echo "# tainted $taint at the end (at boot $(cat "$vmr/boot-tainted.txt" 2>/dev/null || echo '?'))${bad:+, flags $bad}"
		;;
	esac
	n=$((n + 1))
	if [ "$(cat "$vmr/exit-status" 2>/dev/null)" = 0 ]; then
		echo "ok $n vm_ran_to_completion"
	else
		echo "not ok $n vm_ran_to_completion"
	fi
} > "$out/kernel-log.ktap"
