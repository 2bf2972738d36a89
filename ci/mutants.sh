#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: mutants.sh [NAME...]
#
# make mutants: how strong the suite is, measured with seeded defects.
# Each mutant of ci/mutants/list (or each NAME given) is a small patch on
# top of the series (ci/mutants/<name>.patch) that brings back a real
# failure mode.  For each one, this script
#   - applies the patch to kernel-tree/ (which must have no uncommitted
#     change; it is restored after each mutant and on exit),
#   - builds the test kernel's configuration incrementally (ccache) in
#     $BUILD/mutant/, a copy of the test kernel's build directory,
#   - runs the tests the list maps to it: "kunit" (the KUnit suites built
#     in, judged from the boot log), "nmi" (the static disassembly checks
#     nmi_path_no_lock and nmi_handlers on the mutant's vmlinux) and the
#     named selftest programs, in one boot; the kernel log of that boot is
#     judged too (ci/vm-verdict.sh),
#   - records whether the suite killed it (a case failed) or it survived.
# First the same run on the unmutated series (the control): every test the
# list names must pass there, or no kill would mean anything and the script
# stops.  A mutant whose patch no longer applies or that does not build is
# "broken", never killed.
#
# Results: $RESULTS/mutants/<name>/ (build log, VM results, KTAP) and
# Documentation/mutants/results.json, from which ci/mutants-report.py
# writes Documentation/mutants.md (checked by the static check
# mutants_doc_generated).  Running only some mutants (NAME...) updates
# their entries and keeps the others'.  Not part of make check: about 4
# minutes a mutant in TCG.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

list=$PROJ_ROOT/ci/mutants/list
json=$PROJ_ROOT/Documentation/mutants/results.json
out=$RESULTS/mutants
mbuild=$BUILD/mutant
sdir=$BUILD/selftests

have_ktree || die "no kernel-tree/: run 'make kernel-tree' first"
[ -z "$(git -C "$KTREE" status --porcelain --untracked-files=no)" ] ||
	die "$KTREE has uncommitted changes: mutants are applied to the series as committed"

# name|tests|origin|description of the selected mutants
entries() {
	sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$list" |
		awk -F' [|] ' -v want=" $* " 'NF != 4 { print "bad line: " $0 > "/dev/stderr"; exit 1 }
			want == "  " || index(want, " " $1 " ") { print $1 "|" $2 "|" $3 "|" $4 }'
}
mapfile -t selected < <(entries "$@")
[ ${#selected[@]} -gt 0 ] || die "no mutant selected (names in $list)"
for n in "$@"; do
	printf '%s\n' "${selected[@]}" | grep -q "^$n|" || die "no mutant $n in $list"
done

applied=""
restore() {
	[ -n "$applied" ] || return 0
	git -C "$KTREE" apply -R "$applied" 2>/dev/null ||
		git -C "$KTREE" checkout -q -- .
	applied=""
}
trap restore EXIT

info "test kernel and selftests"
"$PROJ_ROOT/ci/build-kernel.sh"
"$PROJ_ROOT/ci/build-selftests.sh" "$sdir" "$BUILD/kernel"

# $mbuild as a copy of the test kernel's build directory when the test
# kernel was rebuilt since the last copy (as ci/build-kernel.sh does for
# the variants): a mutant then recompiles the files it touches.
seed() {
	if [ "$(cat "$mbuild/.hws-seed" 2>/dev/null)" != "$(cat "$BUILD/kernel/.hws-built")" ]; then
		info "copying the test kernel's build directory to $mbuild"
		with_build_lock bash -c '. "$0/ci/lib.sh" && clone_kernel_build "$1" "$2"' \
			"$PROJ_ROOT" "$BUILD/kernel" "$mbuild"
		cp "$BUILD/kernel/.hws-built" "$mbuild/.hws-seed"
	fi
}

# run_one NAME TESTS: build kernel-tree/ as it is into $mbuild, boot it
# with the programs of TESTS, judge; KTAP into $out/NAME/ktap.  Status:
# 0 all passed, 1 a case failed, 2 the kernel did not build.
run_one() {
	local name=$1 tests=$2 d=$out/$1 root progs=() t
	rm -rf "$d"
	mkdir -p "$d/ktap"
	if ! with_build_lock make -C "$KTREE" O="$mbuild" -j"$JOBS" CC="ccache gcc" \
		KBUILD_BUILD_USER=ci KBUILD_BUILD_HOST=damon-hwsample \
		bzImage > "$d/build.log" 2>&1; then
		return 2
	fi
	for t in $tests; do
		case $t in kunit | nmi | kernel-log) ;; *) progs+=("$t") ;; esac
	done
	# what guest-tests.sh reads: kernel/ (vmlinux for drgn) and a
	# selftests/ with the programs and their modules and a tests.list
	# of this mutant's programs
	root=$d/root
	mkdir -p "$root/selftests"
	ln -s "$mbuild" "$root/kernel"
	for t in "$sdir"/*; do
		ln -s "$t" "$root/selftests/$(basename "$t")"
	done
	rm -f "$root/selftests/tests.list"
	printf '%s\n' "${progs[@]}" > "$root/selftests/tests.list"
	# kmemleak's two scans take minutes: only for the mutants whose tests
	# include the kernel log (and the control)
	scan=0
	[[ " $tests " != *" kernel-log "* ]] || scan=1
	${VM_LOCK:+flock "$VM_LOCK"} "$PROJ_ROOT/ci/vm-run.sh" \
		-k "$mbuild/arch/x86/boot/bzImage" -c 4 -m 2048 -n 2 -t 1500 \
		-a "HWS_KMEMLEAK=$scan" \
		-r "$d/vm" -- "$PROJ_ROOT/ci/guest-tests.sh" "$root" \
		> "$d/vm.log" 2>&1 || true
	"$PROJ_ROOT/ci/vm-verdict.sh" "$d/vm" "$d/ktap" "$root/selftests/tests.list" \
		"$mbuild/.config" off > /dev/null 2>&1 || true
	rm -f "$d/ktap/kselftest-damon.ktap"
	if [[ " $tests " == *" nmi "* ]]; then
		# the disassembly checks of ci/static-checks.sh on this vmlinux
		BUILD=$d/nmi-build KTREE=$KTREE STATIC_CHECKS="check_nmi_path check_nmi_handlers" \
			bash -c 'mkdir -p "$BUILD" && ln -sfn "$0" "$BUILD/kernel" &&
				exec "$1/ci/static-checks.sh" "$2"' \
			"$mbuild" "$PROJ_ROOT" "$d/ktap/nmi.ktap" > /dev/null 2>&1 || true
	fi
	python3 "$PROJ_ROOT/ci/ktap_summary.py" --dmesg --name kunit "$d/ktap/kunit.log" \
		> "$d/summary.txt" 2>&1 || true
	python3 "$PROJ_ROOT/ci/ktap_summary.py" "$d"/ktap/*.ktap >> "$d/summary.txt" 2>&1 || true
	! grep -qE '^[a-z0-9_-]+: [0-9]+ passed, [1-9][0-9]* failed' "$d/summary.txt"
}

# The failed cases of a run, "file: case" lines (at most 6).
failed_cases() {
	local d=$out/$1 f
	{
		sed -nE 's/^\[[^]]*\] *//; s/^\s*not ok [0-9]+ (.*)/kunit: \1/p' \
			"$d/ktap/kunit.log" 2>/dev/null || true
		for f in "$d"/ktap/*.ktap; do
			sed -nE "s/^\\s*not ok [0-9]+ (.*)/$(basename "$f" .ktap): \\1/p" "$f" || true
		done
	} | sed 's/ *#.*//' | sort -u | head -n 6 || true
}

mkdir -p "$out"
# the control: every test any selected mutant names, on the series itself
all_tests=$(printf '%s\n' "${selected[@]}" | cut -d'|' -f2 | tr ' ' '\n' | sort -u | tr '\n' ' ')
seed
# MUTANTS_REUSE_CONTROL=1: keep a passed control of the same kernel-tree
# HEAD and tests (when rerunning after the script itself stopped)
ckey="$(git -C "$KTREE" rev-parse HEAD) $all_tests"
if [ "${MUTANTS_REUSE_CONTROL:-0}" = 1 ] && [ "$(cat "$out/control/key" 2>/dev/null)" = "$ckey" ]; then
	info "control: reusing $out/control (passed on $ckey)"
	control_s=$(cat "$out/control/seconds")
else
	info "control: the series itself with $all_tests"
	t0=$SECONDS
	if ! run_one control "$all_tests"; then
		failed_cases control >&2
		die "the control run failed (details: $out/control/): fix the suite first"
	fi
	control_s=$((SECONDS - t0))
	echo "$ckey" > "$out/control/key"
	echo "$control_s" > "$out/control/seconds"
fi

results=$out/results.jsonl
: > "$results"
for e in "${selected[@]}"; do
	IFS='|' read -r name tests origin what <<< "$e"
	patch=$PROJ_ROOT/ci/mutants/$name.patch
	info "mutant $name ($tests)"
	t0=$SECONDS
	verdict=broken why=""
	if [ ! -r "$patch" ]; then
		why="no $patch"
	elif ! git -C "$KTREE" apply "$patch" 2> "$out/$name.apply.log"; then
		why="does not apply: $(head -n 1 "$out/$name.apply.log")"
	else
		applied=$patch
		rc=0
		run_one "$name" "$tests" || rc=$?
		restore
		case $rc in
		0) verdict=survived ;;
		1) verdict=killed why=$(failed_cases "$name" | tr '\n' ';' || true) ;;
		*) why="does not build: $(grep -m 1 'error:' "$out/$name/build.log" || tail -n 1 "$out/$name/build.log")" ;;
		esac
	fi
	info "  $verdict ${why:+($why)}"
	python3 - "$name" "$tests" "$origin" "$what" "$verdict" "$why" \
		"$([ -r "$patch" ] && sha256sum "$patch" | cut -d' ' -f1)" \
		$((SECONDS - t0)) >> "$results" <<'PY'
import json, sys
n, tests, origin, what, verdict, why, sha, secs = sys.argv[1:]
print(json.dumps({'name': n, 'tests': tests.split(), 'origin': origin,
                  'defect': what, 'verdict': verdict,
                  'evidence': [w for w in why.split(';') if w],
                  'patch_sha256': sha, 'seconds': int(secs)}))
PY
done
mkdir -p "$(dirname "$json")"
python3 "$PROJ_ROOT/ci/mutants-report.py" --merge "$results" --control-seconds "$control_s" \
	--control-tests "$all_tests"
python3 "$PROJ_ROOT/ci/mutants-report.py"
