#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: vm-verdict.sh VM_RESULTS_DIR KTAP_DIR [EXPECTED_TESTS [KCONFIG
#                       [KSELFTEST_LIST]]]
#
# Turn what the test VM left in VM_RESULTS_DIR into KTAP files in KTAP_DIR:
#   kunit.log          the boot log (KUnit KTAP inside; ktap_summary --dmesg)
#   selftest-<t>.ktap  each selftest's output, for every program of the
#                      tests.list the guest ran (guest-tests.sh copies it to
#                      VM_RESULTS_DIR): a program that left no or empty
#                      output is one failed case named after it (no plan
#                      line, 1..0 # SKIP and missing cases: ktap_summary.py);
#                      a non-zero exit status (other than 4, skip) with no
#                      failed case in the KTAP adds a failed case
#   kselftest-damon-<t>.ktap  upstream's DAMON kselftest <t>, as the
#                      kselftest runner reported it (one case), for every
#                      test of KSELFTEST_LIST (the installed suite's
#                      kselftest-list.txt) when given, else of the list the
#                      guest copied: a test that left no output is one
#                      failed case; a failure of a test listed in
#                      ci/kselftest-damon-base-failures (which
#                      ci/kselftest-base.sh measured on the unpatched base
#                      kernel) is a SKIP giving the base's reason, under
#                      the runner's output; without the installed suite,
#                      one failed case kselftest_damon_installed
#   kselftest-damon-timeouts.ktap  kselftest_damon_timeouts_work: timeout(1)
#                      fired in the guest, so the runner's settings
#                      timeouts apply
#   selftests-list.ktap  tests_list_complete: the guest read a non-empty
#                      tests.list that names every program of EXPECTED_TESTS
#                      (the build's TEST_GEN_PROGS, make list_tests), when
#                      given
#   kernel-log.ktap    one case per class of kernel report of
#                      ci/kernel-log-patterns (the list the selftests'
#                      log watch reads too): any WARN, BUG, Oops, lockdep,
#                      KASAN, KCSAN, UBSAN, memory corruption, sleep in
#                      atomic, hung task, unknown NMI (a SKIP when the
#                      guest received no NMI) or kmemleak report fails the
#                      run, and so does a taint
#                      flag of a kernel bug: W (a WARN), D (an Oops), L (a
#                      soft lockup) or B (a bad page); the test modules'
#                      O and E are expected; with KCONFIG (the booted
#                      kernel's .config) a report class whose detector is
#                      not built in is a SKIP with the reason, not a pass
#
# Diagnostics ("# ...") are printed before the result line they explain
# (see ci/ktap_summary.py).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

case $# in
2 | 3 | 4 | 5) ;;
*) die "usage: $0 VM_RESULTS_DIR KTAP_DIR [EXPECTED_TESTS [KCONFIG [KSELFTEST_LIST]]]" ;;
esac
vmr=$1 out=$2 expected=${3:-} kconfig=${4:-} kslist=${5:-}
mkdir -p "$out"

cp "$vmr/boot-dmesg.txt" "$out/kunit.log" 2>/dev/null ||
	: > "$out/kunit.log"

# The programs the guest was to run, and any other output it left.
programs=$( { sed '/^$/d' "$vmr/tests.list" 2>/dev/null || true
	for k in "$vmr"/selftests/*.ktap; do
		[ ! -e "$k" ] || basename "$k" .ktap
	done; } | sort -u)
{
	echo "TAP version 13"
	echo "1..1"
	missing=
	if [ -n "$expected" ]; then
		missing=$(sed '/^$/d' "$expected" 2>/dev/null | sort -u |
			comm -23 - <(sed '/^$/d' "$vmr/tests.list" 2>/dev/null | sort -u) |
			tr '\n' ' ')
	fi
	if [ ! -s "$vmr/tests.list" ]; then
		echo "# the guest ran no tests.list (missing or empty)"
		echo "not ok 1 tests_list_complete"
	elif [ -n "$expected" ] && [ ! -s "$expected" ]; then
		echo "# no expected program list: $expected"
		echo "not ok 1 tests_list_complete"
	elif [ -n "$missing" ]; then
		echo "# not in the guest's tests.list: $missing"
		echo "not ok 1 tests_list_complete"
	else
		echo "ok 1 tests_list_complete"
	fi
} > "$out/selftests-list.ktap"

for t in $programs; do
	k=$vmr/selftests/$t.ktap
	rc=$(cat "$vmr/selftests/$t.rc" 2>/dev/null || echo missing)
	if [ ! -s "$k" ]; then
		printf 'TAP version 13\n1..1\n# %s\nnot ok 1 %s\n' \
			"$([ -e "$k" ] && echo "no output, exit status $rc" || echo "did not run: no output file")" \
			"$t" > "$out/selftest-$t.ktap"
		continue
	fi
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

# Upstream's DAMON kselftests: the runner's KTAP of each test (1..1).
ks_base_failures=${KSELFTEST_BASE_FAILURES:-$PROJ_ROOT/ci/kselftest-damon-base-failures}
[ -n "$kslist" ] || kslist=$vmr/kselftest-damon.list
if [ "$kslist" = off ]; then
	printf 'TAP version 13\n1..1\nok 1 kselftest_damon # SKIP not run: UPSTREAM_KSELFTESTS=0 (the default of a debug profile)\n' \
		> "$out/kselftest-damon.ktap"
elif [ ! -s "$kslist" ]; then
	printf 'TAP version 13\n1..1\n# no upstream DAMON kselftests installed (%s)\nnot ok 1 kselftest_damon_installed\n' \
		"$kslist" > "$out/kselftest-damon.ktap"
else
	# The settings timeouts apply only if timeout(1) fired in the guest
	# (rc 124 after 1 s), which needs CONFIG_POSIX_TIMERS.
	tmo=$(cat "$vmr/kselftest-damon-timeout.txt" 2>/dev/null) || tmo=
	{
		echo "TAP version 13"
		echo "1..1"
		case $tmo in
		"rc 124 after "[12]" s") echo "ok 1 kselftest_damon_timeouts_work" ;;
		*)
			echo "# timeout 1 sleep 3 in the guest: ${tmo:-not run}; the settings timeouts do not apply (CONFIG_POSIX_TIMERS?)"
			echo "not ok 1 kselftest_damon_timeouts_work"
			;;
		esac
	} > "$out/kselftest-damon-timeouts.ktap"
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		name=${t#*:}
		k=$vmr/kselftest-damon/$name.ktap
		o=$out/kselftest-damon-$name.ktap
		if [ ! -s "$k" ]; then
			printf 'TAP version 13\n1..1\n# %s\nnot ok 1 selftests: %s\n' \
				"$([ -e "$k" ] && echo "no output" || echo "did not run: no output file")" \
				"${t%%:*}: $name" > "$o"
			continue
		fi
		why=$(awk -v t="$name" '!/^#/ && $1 == t { $1 = ""; sub(/^ /, ""); print; exit }' \
			"$ks_base_failures" 2>/dev/null) || why=
		secs=$(cat "$vmr/kselftest-damon/$name.secs" 2>/dev/null || echo '?')
		# A failure the unpatched base shares is not the series': a SKIP
		# that says so, with the runner's output above it.
		awk -v secs="$secs" -v why="$why" '
			/^not ok / && why != "" {
				sub(/ # .*/, "")
				sub(/^not ok/, "ok")
				print $0 " # SKIP fails on the unpatched base kernel too: " why
				next
			}
			{ print }
			/^1\.\./ && !done { print "# " secs " s in the VM"; done = 1 }' "$k" > "$o"
	done < "$kslist"
fi

# The tree's own KUnit parser must count what ktap_summary.py counts.
kunit_py=$(python3 "$KTREE/tools/testing/kunit/kunit.py" parse --summary "$out/kunit.log" 2>&1 |
	sed -nE 's/.*Ran ([0-9]+) tests?: (.*)$/\1 \2/p' | tail -n 1) || true
ours=$(python3 "$PROJ_ROOT/ci/ktap_summary.py" --dmesg --name kunit "$out/kunit.log" | head -n 1) || true
{
	echo "TAP version 13"
	echo "1..1"
	total=$(echo "$ours" | awk '{print $2 + $4 + $6}')
	echo "# kunit.py parse: ${kunit_py:-no result}; ktap_summary.py: $ours"
	if [ -n "$kunit_py" ] && [ "${kunit_py%% *}" = "$total" ]; then
		echo "ok 1 kunit_parsers_agree"
	else
		echo "not ok 1 kunit_parsers_agree"
	fi
} > "$out/kunit-parser.ktap"

# name|extended regex on the kernel log: the "always" classes of
# ci/kernel-log-patterns, the list the selftests' log watch reads too
mapfile -t CHECKS < <(awk '!/^#/ && $2 == "always" {
	c = $1; sub(/^[^ ]+ [^ ]+ /, ""); print c "|" $0 }' \
	"${KERNEL_LOG_PATTERNS:-$PROJ_ROOT/ci/kernel-log-patterns}")
[ ${#CHECKS[@]} -gt 0 ] || die "no kernel log patterns (ci/kernel-log-patterns)"
readonly CHECKS
# The option that builds a check's detector in: without it (in KCONFIG) the
# check cannot fail and is a SKIP, unless it found a report all the same.
detector() {
	case $1 in
	no_lockdep_report) echo CONFIG_PROVE_LOCKING ;;
	no_kasan_report) echo CONFIG_KASAN ;;
	no_kcsan_report) echo CONFIG_KCSAN ;;
	no_ubsan_report) echo CONFIG_UBSAN ;;
	esac
}
# NMIs the guest's CPUs received, from /proc/interrupts at the end ("" if
# not recorded): with none, no NMI can have been unknown.
nmis() {
	awk '$1 == "NMI:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; f = 1 }
	     END { if (f) print s + 0 }' "$vmr/interrupts.txt" 2>/dev/null
}
log=$vmr/dmesg.txt
[ -s "$log" ] || log=$vmr/console.log
# the log without "[ time] " prefixes: patterns may anchor at the start
plain=$(mktemp)
trap 'rm -f "$plain"' EXIT
sed -E 's/^\[ *[0-9]+\.[0-9]+\] ?//' "$log" > "$plain" 2>/dev/null || true
{
	echo "TAP version 13"
	echo "1..$((${#CHECKS[@]} + 3))"
	n=0
	for c in "${CHECKS[@]}"; do
		n=$((n + 1))
		name=${c%%|*} re=${c#*|}
		opt=$(detector "$name")
		if hits=$(grep -E "$re" "$plain" 2>/dev/null | head -n 5) && [ -n "$hits" ]; then
			echo "$hits" | sed 's/^/# /'
			echo "not ok $n $name"
		elif [ -n "$kconfig" ] && [ -n "$opt" ] && ! grep -q "^$opt=y" "$kconfig" 2>/dev/null; then
			echo "ok $n $name # SKIP $opt not set in $kconfig"
		elif [ "$name" = no_unknown_nmi ] && [ "$(nmis)" = 0 ]; then
			# no PMU raised an NMI (none in TCG): the handlers never ran
			echo "ok $n $name # SKIP no NMI was delivered in the guest (/proc/interrupts NMI: 0 on every CPU), so none could be unknown"
		else
			echo "ok $n $name"
		fi
	done
	n=$((n + 1))
	# A kmemleak that disabled itself (an internal error, or kmemleak=off)
	# scans nothing: that is a failure, not a clean scan.
	kl=$vmr/kmemleak.txt
	off=$(grep -h -m 1 -E 'kmemleak: (Kernel memory leak detector disabled|Kmemleak disabled)' \
		"$log" "$vmr/boot-dmesg.txt" 2>/dev/null | head -n 1) || off=
	if grep -q 'unreferenced object' "$kl" 2>/dev/null; then
		head -n 20 "$kl" | sed 's/^/# /'
		echo "not ok $n no_kmemleak_report"
	elif grep -q '^kmemleak: not scanned (HWS_KMEMLEAK=0)$' "$kl" 2>/dev/null; then
		echo "ok $n no_kmemleak_report # SKIP not scanned: the run asked for no scan (HWS_KMEMLEAK=0, make mutants)"
	elif [ -n "$off" ]; then
		echo "# kmemleak disabled itself: $off"
		echo "not ok $n no_kmemleak_report"
	elif [ ! -r "$kl" ] || grep -q 'not available' "$kl"; then
		echo "# kmemleak did not run (missing CONFIG_DEBUG_KMEMLEAK?)"
		echo "not ok $n no_kmemleak_report"
	elif grep -q 'scan refused' "$kl"; then
		echo "# kmemleak is disabled: $(grep -m 1 'scan refused' "$kl")"
		echo "not ok $n no_kmemleak_report"
	else
		echo "ok $n no_kmemleak_report"
	fi
	n=$((n + 1))
	# B 32, D 128, W 512, L 16384 (admin-guide/tainted-kernels.rst)
	taint=$(cat "$vmr/tainted.txt" 2>/dev/null) || taint=
	case $taint in
	'' | *[!0-9]*)
		echo "# the guest recorded no taint flags"
		echo "not ok $n no_bug_taint"
		;;
	*)
		bad=
		for f in B:32 D:128 W:512 L:16384; do
			[ $((taint & ${f#*:})) -eq 0 ] || bad+=${f%%:*}
		done
		echo "# tainted $taint at the end (at boot $(cat "$vmr/boot-tainted.txt" 2>/dev/null || echo '?'))${bad:+, flags $bad}"
		if [ -z "$bad" ]; then
			echo "ok $n no_bug_taint"
		else
			echo "not ok $n no_bug_taint"
		fi
		;;
	esac
	n=$((n + 1))
	if [ "$(cat "$vmr/exit-status" 2>/dev/null)" = 0 ]; then
		echo "ok $n vm_ran_to_completion"
	else
		echo "not ok $n vm_ran_to_completion"
	fi
} > "$out/kernel-log.ktap"
