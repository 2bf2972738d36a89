#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: static-checks.sh KTAP_FILE
#
# Static checks of the series in kernel-tree/ (base..series), as KTAP:
#   export_roundtrip   patches/ is exactly what `make export` produces
#   checkpatch/<p>     checkpatch.pl --strict per patch, no new message
#                      except the types in ci/checkpatch-exceptions
#   churn/<p>          the lines the patch rewrites of earlier patches are
#                      exactly those ci/patch-churn-allowed grants it
#                      (ci/patch-churn.py; review-v1 B5)
#   build/<p>          each patch built on its own, in order: the objects
#                      of the .c files it touches, and the directories of
#                      every file the series touches when it touches a
#                      header, Kconfig or Makefile (bisectability)
#   sparse             C=2 on mm/damon/ and the series' directories: no
#                      warning that the base does not have
#   kernel-doc         scripts/kernel-doc -Wall on touched files: exit
#                      status 0 and no new warning
#   bench_copy_in_step the benchmark module's copies of report.c's static
#                      functions match it (ci/bench-copy-check.py)
#   mutants_doc_generated  Documentation/mutants.md matches the recorded
#                      make mutants results (ci/mutants-report.py --check)
#   htmldocs           make htmldocs of mm/damon and admin-guide/mm/damon:
#                      no warning about those files (ci/docs-check.sh)
#   variant/<v>        the compile-only config variants build
#   kunit_py_damon     tools/testing/kunit/kunit.py run --kunitconfig
#                      mm/damon/tests (UML): every KUnit case passes
#   b4_shazam          the mbox applies with b4 shazam to the pristine base
#   series_mbx_git_am  patches/series.mbx applies with plain git am to the
#                      pristine base and gives exactly the series
#   posting_b4_shazam  ci/prepare-posting.sh with a throwaway submitter
#                      passes (checkpatch with the sign-off check on), and
#                      its mbox applies with b4 shazam to the pristine base:
#                      exactly the series, each commit authored and signed
#                      off (last trailer) by the submitter
#   upstream_git_am    patches/ applies with git am to upstream v7.3.4's
#                      versions of the files it changes, rebuilt from the
#                      base by reverting Debian's changes to them
#                      (ci/upstream-base.audit, ci/upstream-base.revert.patch)
#   harness_selftest   the harness's own tests (ci/tests/): the verdict
#                      scripts count what they should
# With an empty series, per-patch checks report SKIP and the rest still
# run against the base, so the harness is proven before the series grows.
#
# STATIC_CHECKS="check_b4 check_posting" runs only the named check
# functions (when working on a check; `make check` runs them all); the
# checks not run are listed as one SKIP case, static_checks_not_run.
#
# A case's note is printed as a "# " line BEFORE its result line, the
# kselftest convention ci/ktap_summary.py reads.
#
# Sourced (by ci/tests/), it only defines the checks.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=${1:?usage: $0 KTAP_FILE}
readonly BSRC=$BUILD/bisect-src
readonly BOUT=$BUILD/bisect
# The compile-only variants (ci/build-kernel.sh): the two DAMON ones are
# built on a copy of the test kernel's build directory, a few objects
# each; minimal is a tinyconfig kernel of its own; no-perf-events is UML.
readonly VARIANTS=(no-perf-events no-damon-vaddr no-damon-paddr minimal)
log_dir=$(dirname "$out")/static-logs
mkdir -p "$log_dir"

cases=()
ok() { cases+=("ok|$1|${2:-}"); }
fail() { cases+=("not ok|$1|${2:-}"); }
skip() { cases+=("skip|$1|$2"); }

mapfile -t commits < <(git -C "$KTREE" rev-list --reverse base..series)
series_files() { git -C "$KTREE" diff --name-only base series; }

check_export() {
	local tmp
	tmp=$(mktemp -d)
	if PATCHES_DIR=$tmp "$PROJ_ROOT/ci/export-series.sh" >/dev/null 2>"$log_dir/export.log" &&
	   diff -r "$tmp" "$PROJ_ROOT/patches" -x .gitkeep > "$log_dir/export.diff" 2>&1; then
		ok export_roundtrip
	else
		fail export_roundtrip "see $log_dir/export.diff"
	fi
	rm -rf "$tmp"
	submodule_pin_case "$PROJ_ROOT"
}

# What is wrong with the superproject ROOT's gitlink kernel-tree (in its
# HEAD), or nothing: it must pin kernel-tree's base, which is also the
# base-commit of patches/series.mbx.
submodule_pin_problem() {
	local root=$1 pin mbx base
	pin=$(git -C "$root" ls-tree HEAD kernel-tree | awk '$2 == "commit" {print $3}')
	mbx=$(sed -n 's/^base-commit: //p' "$root/patches/series.mbx" | head -n 1)
	base=$(git -C "$KTREE" rev-parse -q --verify 'base^{commit}' || true)
	if [ -z "$pin" ]; then
		echo "HEAD has no gitlink kernel-tree"
	elif [ "$pin" != "$base" ]; then
		echo "HEAD pins kernel-tree at $pin, its base is ${base:-missing} (after 'git commit -a'? git update-index --cacheinfo 160000,$base,kernel-tree)"
	elif [ "$mbx" != "$base" ]; then
		echo "patches/series.mbx has base-commit ${mbx:-none}, kernel-tree's base is $base"
	fi
}

submodule_pin_case() {
	local problem
	if grep -q '^package=git:' "$(ktree_gitdir)/BASE_INFO" 2>/dev/null; then
		skip submodule_pins_base "kernel-tree/ is based on KERNEL_GIT, the pin names Debian's base"
	elif problem=$(submodule_pin_problem "$1") && [ -z "$problem" ]; then
		ok submodule_pins_base
	else
		fail submodule_pins_base "$problem"
	fi
}

check_checkpatch() {
	local p ignore name log
	ignore=$(awk '!/^#/ && NF {printf "%s%s", sep, $1; sep=","}' "$PROJ_ROOT/ci/checkpatch-exceptions")
	if [ ${#commits[@]} -eq 0 ]; then
		skip checkpatch "series is empty"
		return
	fi
	for p in "$PROJ_ROOT"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		name=$(basename "$p" .patch)
		log=$log_dir/checkpatch-$name.log
		# checkpatch runs scripts/spdxcheck.py with the first python3
		# in PATH and passes silently when it crashes; Debian's has ply
		if (cd "$KTREE" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl \
			--strict --no-summary --ignore "$ignore" --show-types \
			"$p") > "$log" 2>&1; then
			ok "checkpatch/$name"
		else
			fail "checkpatch/$name" "$(grep -E '^(ERROR|WARNING|CHECK)' "$log" | head -n 3 | tr '\n' ' ')"
		fi
	done
}

# Lines a patch rewrites of earlier ones, against the grants and reasons of
# ci/patch-churn-allowed: one case a patch, and a case for a stale grant.
check_patch_churn() {
	local line
	if [ ${#commits[@]} -eq 0 ]; then
		skip patch_churn "series is empty"
		return
	fi
	while IFS= read -r line; do
		cases+=("$line")
	done < <(python3 "$PROJ_ROOT/ci/patch-churn.py" --tree "$KTREE" \
		--allowed "$PROJ_ROOT/ci/patch-churn-allowed" 2>"$log_dir/patch-churn.log" || true)
	if [ -s "$log_dir/patch-churn.log" ]; then
		fail patch_churn "ci/patch-churn.py failed: $(tail -n 1 "$log_dir/patch-churn.log")"
	fi
}

bisect_prepare() {
	if [ ! -d "$BSRC/.git" ] && [ ! -f "$BSRC/.git" ]; then
		git -C "$KTREE" worktree prune
		git -C "$KTREE" worktree add -q --detach "$BSRC" base
	fi
	mkdir -p "$BOUT"
	if ! cmp -s "$BUILD/kernel/.config" "$BOUT/.config.main"; then
		cp "$BUILD/kernel/.config" "$BOUT/.config"
		cp "$BUILD/kernel/.config" "$BOUT/.config.main"
	fi
}

# Build targets in the bisect tree at commit $1; log to $2.
bisect_build() {
	local commit=$1 log=$2
	shift 2
	git -C "$BSRC" checkout -q --detach "$commit"
	# from the test kernel's config each time: olddefconfig at a commit
	# without an option drops it, and a later commit must get it back
	cp "$BOUT/.config.main" "$BOUT/.config"
	make -C "$BSRC" O="$BOUT" -j"$JOBS" CC="ccache gcc" olddefconfig > "$log" 2>&1 &&
	make -C "$BSRC" O="$BOUT" -j"$JOBS" CC="ccache gcc" W=1 "$@" >> "$log" 2>&1
}

check_per_patch_build() {
	local c i=0 name f log dirs=() targets
	if [ ${#commits[@]} -eq 0 ]; then
		skip per_patch_build "series is empty"
		return
	fi
	bisect_prepare
	while IFS= read -r f; do
		# kbuild builds directories with a Makefile, i.e. those of .c
		# files (include/ has none)
		case $f in *.c) dirs+=("$(dirname "$f")/") ;; esac
	done < <(series_files)
	for c in "${commits[@]}"; do
		i=$((i + 1))
		name=$(printf '%04d' "$i")-$(git -C "$KTREE" log -1 --format=%f "$c" | cut -c1-52)
		log=$log_dir/build-$name.log
		targets=$(git -C "$KTREE" diff --name-only "$c^" "$c" |
			awk -v dirs="$(printf '%s ' "${dirs[@]}" | tr ' ' '\n' | sort -u | tr '\n' ' ')" '
				/\.c$/ { sub(/\.c$/, ".o"); t[$0] = 1 }
				/\.h$|Kconfig$|Makefile$/ { all = 1 }
				END { if (all) { n = split(dirs, d, " "); for (i = 1; i <= n; i++) t[d[i]] = 1 }
				      for (k in t) print k }' | sort | tr '\n' ' ')
		if [ -z "${targets// /}" ]; then
			# nothing was built: not a pass
			if git -C "$KTREE" diff --name-only "$c^" "$c" | grep -qv '^Documentation/'; then
				skip "build/$name" "no file kbuild builds touched"
			else
				skip "build/$name" "docs-only patch, nothing to build"
			fi
		elif with_build_lock bash -c "$(declare -f bisect_build); BSRC='$BSRC' BOUT='$BOUT' JOBS=$JOBS bisect_build $c '$log' $targets"; then
			if grep -q 'warning:' "$log"; then
				fail "build/$name" "W=1 warnings: $(grep 'warning:' "$log" | head -n 2 | tr '\n' ' ')"
			else
				ok "build/$name" "$targets"
			fi
		else
			fail "build/$name" "$(grep -E 'error:|Error [0-9]' "$log" | head -n 3 | tr '\n' ' ')"
		fi
	done
}

# Warnings of a checker run, without line numbers, sorted.
normalize() { sed -E 's/:[0-9]+(:[0-9]+)?(:| )/:\2/; s#^.*/(mm|include|arch|kernel)/#\1/#' | sort; }

check_sparse() {
	local dirs base_log tip_log new checker rev l nfiles
	checker=$("$PROJ_ROOT/ci/setup-sparse.sh" 2>"$log_dir/sparse-setup.log") ||
		{ fail sparse "no usable sparse: $(tail -n 1 "$log_dir/sparse-setup.log")"; return; }
	bisect_prepare
	# directories of the series' .c files (headers are checked through
	# them), each of which exists at base too unless the series adds it
	dirs=$( (echo mm/damon/; series_files | { grep -E '\.c$' || true; } |
		xargs -r -n1 dirname | sed 's#$#/#') | sort -u |
		while read -r d; do
			git -C "$KTREE" cat-file -e "base:${d%/}" 2>/dev/null && echo "$d"
		done | tr '\n' ' ')
	base_log=$log_dir/sparse-base.log tip_log=$log_dir/sparse-series.log
	for rev in base series; do
		l=$base_log
		[ $rev = series ] && l=$tip_log
		# C=2 checks every file of the targets, built or not.
		with_build_lock bash -c "$(declare -f bisect_build); BSRC='$BSRC' BOUT='$BOUT' JOBS=$JOBS bisect_build $(git -C "$KTREE" rev-parse $rev) '$l.raw' C=2 CHECK='$checker' $dirs" ||
			{ fail sparse "build with C=2 failed at $rev"; return; }
		grep -E ': (warning|error):' "$l.raw" | normalize > "$l" || true
	done
	# The kernel silently skips a checker it does not accept: make sure
	# files were checked.
	nfiles=$(grep -c '^  CHECK ' "$tip_log.raw" || true)
	if [ "$nfiles" -eq 0 ]; then
		fail sparse "sparse checked no file (see $tip_log.raw)"
		return
	fi
	new=$(comm -13 "$base_log" "$tip_log")
	if [ -n "$new" ]; then
		echo "$new" > "$log_dir/sparse-new.log"
		fail sparse "$(echo "$new" | wc -l) new warnings: $(echo "$new" | head -n 2 | tr '\n' ' ')"
	else
		ok sparse "$nfiles files checked, $(wc -l < "$tip_log") warnings, none new"
	fi
}

check_kernel_doc() {
	local files new rev st bad=""
	files=$( (series_files | { grep -E '\.[ch]$' || true; }; echo mm/damon/core.c; echo include/linux/damon.h) | sort -u)
	for rev in base series; do
		git -C "$BSRC" checkout -q --detach "$(git -C "$KTREE" rev-parse $rev)" 2>/dev/null ||
			bisect_prepare
		git -C "$BSRC" checkout -q --detach "$(git -C "$KTREE" rev-parse $rev)"
		# kernel-doc -none exits 0 with warnings: another status (a
		# crash, not found; xargs: 123 to 127) is a failure
		st=0
		(cd "$BSRC" && for f in $files; do [ -f "$f" ] && echo "$f"; done |
			xargs -r scripts/kernel-doc -none -Wall 2>&1) > "$log_dir/kernel-doc-$rev.raw" || st=$?
		normalize < "$log_dir/kernel-doc-$rev.raw" > "$log_dir/kernel-doc-$rev.log" || true
		[ "$st" -eq 0 ] || bad+=" $rev: exit status $st"
	done
	new=$(comm -13 "$log_dir/kernel-doc-base.log" "$log_dir/kernel-doc-series.log")
	if [ -n "$bad" ]; then
		fail kernel-doc "scripts/kernel-doc failed:$bad: $(grep -v ': warning:' "$log_dir/kernel-doc-series.raw" | tail -n 2 | tr '\n' ' ')(see $log_dir/kernel-doc-*.raw)"
	elif [ -n "$new" ]; then
		echo "$new" > "$log_dir/kernel-doc-new.log"
		fail kernel-doc "$(echo "$new" | head -n 2 | tr '\n' ' ')"
	else
		ok kernel-doc "$(echo "$files" | wc -w) files, no new warning"
	fi
}

check_docs() {
	local res

	if res=$("$PROJ_ROOT/ci/docs-check.sh" "$log_dir/htmldocs.log"); then
		ok htmldocs "$res"
	else
		fail htmldocs "$res"
	fi
}

# htmldocs at each commit that changes what the two directories show: their
# .rst files or a file whose kernel-doc api.rst includes (B5: a patch that
# refers to a label a later patch defines builds with warnings on its
# own).  In the bisect tree, with an output directory of its own, which
# Sphinx rebuilds incrementally from one commit to the next.
check_per_patch_docs() {
	local c i=0 name res
	local documented='^Documentation/(mm/damon|admin-guide/mm/damon)/|^include/linux/damon\.h$|^mm/damon/(core|report)\.c$'
	bisect_prepare
	for c in "${commits[@]}"; do
		i=$((i + 1))
		name=$(printf '%04d' "$i")-$(git -C "$KTREE" log -1 --format=%f "$c" | cut -c1-52)
		if ! git -C "$KTREE" diff --name-only "$c^" "$c" | grep -qE "$documented"; then
			skip "htmldocs/$name" "changes no documented file"
			continue
		fi
		git -C "$BSRC" checkout -q --detach "$c"
		if res=$(KTREE=$BSRC DOCS_OUT=$BUILD/docs-per-patch \
			"$PROJ_ROOT/ci/docs-check.sh" "$log_dir/htmldocs-$name.log"); then
			ok "htmldocs/$name" "$res"
		else
			fail "htmldocs/$name" "$res"
		fi
	done
}

# The x86_64 variants are built one after another in one directory
# (ci/build-kernel.sh): each variant's verdict and log are its own, and
# kbuild rebuilds what the option that changed touches.
check_variants() {
	local v log t
	for v in "${VARIANTS[@]}"; do
		log=$log_dir/variant-$v.log
		t=$(date +%s)
		if "$PROJ_ROOT/ci/build-kernel.sh" "$v" > "$log" 2>&1; then
			if grep -q ': up to date$' "$log"; then
				ok "variant/$v" "up to date"
			else
				ok "variant/$v" "built in $(($(date +%s) - t)) s, with any wait for the build lock"
			fi
		else
			fail "variant/$v" "$(grep -E 'error|Error|undefined reference' "$log" | head -n 3 | tr '\n' ' ')"
			[ "$v" = no-perf-events ] && fail variant_kunit/no-perf-events "not built"
		fi
	done
	check_uml_kunit
}

# The CONFIG_PERF_EVENTS=n variant is a UML kernel: run it, so that the
# DAMON KUnit suites (and their !PERF_EVENTS expectations) run there too.
# With no root file system it panics after the tests, as expected.
check_uml_kunit() {
	local uml=$BUILD/variant-no-perf-events/vmlinux log=$log_dir/uml-kunit.log res tmp
	[ -x "$uml" ] || return 0
	tmp=$(mktemp -d)
	(cd "$tmp" && HOME=$tmp timeout -k 5 300 "$uml" mem=256M \
		"kunit.filter_glob=damon*" < /dev/null > "$log" 2>&1) 2>/dev/null || true
	rm -rf "$tmp"
	res=$(python3 "$PROJ_ROOT/ci/ktap_summary.py" --dmesg --name uml "$log" | head -n 1)
	if echo "$res" | grep -qE '^uml: [1-9][0-9]* passed, 0 failed'; then
		ok variant_kunit/no-perf-events "$res"
	else
		fail variant_kunit/no-perf-events "${res:-no KTAP} (see $log)"
	fi
}

# DAMON's own KUnit configuration, mm/damon/tests/.kunitconfig, run the
# way a DAMON developer runs it: tools/testing/kunit/kunit.py run (UML,
# its parser).  UML has no perf events, so the perf suites are not in it;
# the test kernel runs them at boot.
check_kunit_py() {
	local bd=$BUILD/kunit-damon log=$log_dir/kunit-py.log res
	if ! git -C "$KTREE" cat-file -e series:mm/damon/tests/.kunitconfig 2>/dev/null; then
		skip kunit_py_damon "the series has no mm/damon/tests/.kunitconfig"
		return
	fi
	if with_build_lock python3 "$KTREE/tools/testing/kunit/kunit.py" run \
		--build_dir="$bd" --kunitconfig="$KTREE/mm/damon/tests" \
		--make_options="CC=ccache gcc" --jobs="$JOBS" --timeout=300 \
		> "$log" 2>&1; then
		ok kunit_py_damon "$(grep -m 1 -E 'Testing complete' "$log" | sed 's/^\[[^]]*\] //')"
	else
		fail kunit_py_damon "$(grep -E 'Testing complete|FAILED|ERROR|error:' "$log" | head -n 3 | sed 's/^\[[^]]*\] //' | tr '\n' ' ')(see $log)"
	fi
}

# One detached work tree of the pristine base, shared by the checks that
# apply the series to it: made on first use, reset before each use,
# removed at exit.
pristine=""
pristine_tree() {
	if [ -z "$pristine" ]; then
		pristine=$(mktemp -d)/tree || return 1
		git -C "$KTREE" worktree add -q --detach "$pristine" base || return 1
	fi
	git -C "$pristine" am --abort > /dev/null 2>&1 || true
	git -C "$pristine" checkout -q -f --detach base &&
		git -C "$pristine" clean -q -f -d -x
}

# The pristine tree, after applying, holds exactly the series: as many
# commits as base..series and the tree of the series' tip ($1, default the
# series as the checks started).
applied_is_series() {
	local tip=${1:-${commits[-1]}}
	[ "$(git -C "$pristine" rev-list --count base..HEAD)" = "$(git -C "$KTREE" rev-list --count "base..$tip")" ] &&
		git -C "$pristine" diff --quiet "$tip" HEAD
}

# b4 shazam of an mbox in the pristine tree.  --offline-mode: no look-up
# of newer revisions or attestation keys on the network.
b4_apply() {
	(cd "$pristine" && GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@invalid \
		b4 --offline-mode shazam -m "$1")
}

check_b4() {
	local mbx log
	mbx=$(ls "$PROJ_ROOT"/patches/*.mbx 2>/dev/null | head -n 1 || true)
	if [ ${#commits[@]} -eq 0 ]; then
		skip b4_shazam "series is empty"
		return
	fi
	[ -n "$mbx" ] || { fail b4_shazam "no mbox in patches/"; return; }
	log=$log_dir/b4.log
	if pristine_tree > "$log" 2>&1 && b4_apply "$mbx" >> "$log" 2>&1 &&
	   applied_is_series; then
		ok b4_shazam "${#commits[@]} patches, result equals the series"
	else
		fail b4_shazam "see $log"
	fi
}

# What a reviewer without b4 does: plain git am (no -3) of series.mbx.  Its
# first message is the cover letter, at which git am stops as an empty
# patch (git before 2.44 has no --empty=drop): skip that one, and only that.
git_am_mbox() {
	local ra
	git -C "$pristine" -c user.name=ci -c user.email=ci@invalid am "$1" && return 0
	ra=$(cd "$pristine" && realpath "$(git rev-parse --git-path rebase-apply)")
	[ "$(cat "$ra/next" 2>/dev/null)" = 1 ] &&
		[ -z "$(git -C "$pristine" am --show-current-patch=diff)" ] &&
		grep -q '^Subject: \[.* 0*0/[0-9]*\]' "$ra/0001" &&
		git -C "$pristine" -c user.name=ci -c user.email=ci@invalid am --skip
}

check_git_am() {
	local mbx=$PROJ_ROOT/patches/series.mbx log=$log_dir/git-am.log
	if [ ${#commits[@]} -eq 0 ]; then
		skip series_mbx_git_am "series is empty"
		return
	fi
	[ -f "$mbx" ] || { fail series_mbx_git_am "no patches/series.mbx"; return; }
	if pristine_tree > "$log" 2>&1 &&
	   git_am_mbox "$mbx" >> "$log" 2>&1 &&
	   applied_is_series; then
		ok series_mbx_git_am "${#commits[@]} patches, result equals the series"
	else
		fail series_mbx_git_am "see $log"
	fi
}

# The posting workflow (Documentation/posting.md) as a submitter runs it,
# with a throwaway identity and in a scratch directory: build/posting/ and
# branch 'posting' belong to the real submitter and are left alone.
readonly POSTING_NAME="Posting Check"
readonly POSTING_EMAIL=posting-check@example.org
posting_tmp=""
posting_remove() {
	[ -n "$posting_tmp" ] || return 0
	[ ! -e "$posting_tmp/posting/tree" ] ||
		git -C "$KTREE" worktree remove --force "$posting_tmp/posting/tree" || true
	rm -rf "$posting_tmp"
	posting_tmp=""
}

# The patches of $1 whose To:/Cc: headers miss the list or maintainers of
# what they touch: the DAMON list for mm/damon/, x86@kernel.org for
# arch/x86/, linux-perf-users for perf code; each as " <patch>:<address>".
posting_recipients_missing() {
	local p files hdr want a
	for p in "$1"/[0-9][0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		files=$(sed -n 's#^diff --git a/\([^ ]*\) .*#\1#p' "$p")
		hdr=$(sed '/^$/q' "$p" | grep -E '^(To|Cc): ')
		want=()
		grep -q '^mm/damon/\|^include/linux/damon.h\|^include/trace/events/damon.h' <<< "$files" &&
			want+=(damon@lists.linux.dev)
		grep -q '^arch/x86/events/' <<< "$files" && want+=(x86@kernel.org linux-perf-users@vger.kernel.org)
		grep -q '^kernel/events/\|^include/linux/perf_event.h' <<< "$files" &&
			want+=(linux-perf-users@vger.kernel.org)
		for a in "${want[@]}"; do
			grep -qF "$a" <<< "$hdr" || echo -n " $(basename "$p" .patch | cut -c1-4):$a"
		done
	done
}

check_posting() {
	local name=posting_b4_shazam log=$log_dir/posting.log pdir src c bad=""
	local sob="Signed-off-by: $POSTING_NAME <$POSTING_EMAIL>"
	if [ ${#commits[@]} -eq 0 ]; then
		skip $name "series is empty"
		return
	fi
	posting_tmp=$(mktemp -d)
	pdir=$posting_tmp/posting
	# RUN_CHECKS=0: make check runs this check (no recursion).
	if ! POSTING_DIR=$pdir POSTING_BRANCH="" RUN_CHECKS=0 \
	     SUBMITTER_NAME=$POSTING_NAME SUBMITTER_EMAIL=$POSTING_EMAIL \
	     "$PROJ_ROOT/ci/prepare-posting.sh" > "$log" 2>&1; then
		fail $name "prepare-posting.sh failed: $(grep -E '^(error:|  [0-9]{4}-)' "$log" | head -n 2 | tr '\n' ' ')(see $log)"
	elif ! { pristine_tree && b4_apply "$pdir/series.mbx"; } >> "$log" 2>&1; then
		fail $name "b4 shazam of the posting mbox failed (see $log)"
	elif src=$(cat "$pdir/series-commit") && [ "$src" != "${commits[-1]}" ]; then
		fail $name "branch series moved while the checks ran (${commits[-1]:0:12} -> ${src:0:12})"
	elif ! applied_is_series "$src"; then
		git -C "$pristine" diff --stat "$src" HEAD >> "$log" 2>&1 || true
		fail $name "b4 shazam of the posting mbox does not give the series (see $log)"
	else
		for c in $(git -C "$pristine" rev-list base..HEAD); do
			[ "$(git -C "$pristine" log -1 --format='%an <%ae>' "$c")" = "$POSTING_NAME <$POSTING_EMAIL>" ] &&
				[ "$(git -C "$pristine" log -1 --format=%B "$c" | sed '/^$/d' | tail -n 1)" = "$sob" ] ||
				bad+=" $(git -C "$pristine" log -1 --format=%h "$c")"
		done
		if [ -z "$bad" ]; then
			bad=$(posting_recipients_missing "$pdir/patches")
			[ -z "$bad" ] || bad=" recipients:$bad"
		fi
		if [ -n "$bad" ]; then
			fail $name "not authored or not signed off (last trailer) by the submitter, or without its maintainers:$bad"
		else
			ok $name "${#commits[@]} patches signed off, each To:/Cc: its maintainers and lists, checkpatch ran, b4 shazam gives the series"
		fi
	fi
	posting_remove
}

# damon_report_access() is called from NMI handlers: its code in the test
# kernel, and that of the ring push when the compiler did not inline it,
# must hold no lock-prefixed (cross-CPU atomic) instruction and call nothing
# that locks, allocates or prints.
check_nmi_path() {
	local vmlinux=$BUILD/kernel/vmlinux dis=$log_dir/nmi-path.dis fn bad syms
	syms=$(nm "$vmlinux" 2>/dev/null || true)
	if ! grep -qw "T damon_report_access" <<< "$syms"; then
		if [ ${#commits[@]} -eq 0 ]; then
			skip nmi_path_no_lock "series is empty"
		else
			fail nmi_path_no_lock "damon_report_access not found in $vmlinux"
		fi
		return
	fi
	: > "$dis"
	for fn in damon_report_access damon_report_ring_push; do
		grep -qw "$fn" <<< "$syms" || continue
		objdump -d --no-show-raw-insn --disassemble="$fn" "$vmlinux" >> "$dis"
	done
	bad=$(grep -E '\block\b|call.*<(_?printk|vprintk|__kmalloc|kmalloc|kmem_cache_alloc|mutex_|_raw_spin_lock|__might_sleep)' "$dis" || true)
	if ! grep -qE '^\s*[0-9a-f]+:' "$dis"; then
		# nothing disassembled: nothing was checked
		fail nmi_path_no_lock "no instruction disassembled for damon_report_access (objdump: $dis)"
	elif [ -n "$bad" ]; then
		fail nmi_path_no_lock "$(echo "$bad" | head -n 3 | tr -s ' \t' ' ')"
	else
		ok nmi_path_no_lock "$(grep -cE '^\s*[0-9a-f]+:' "$dis") instructions; calls: $(grep -oE 'call.*<[^>+]*' "$dis" | sed 's/.*<//' | sort -u | tr '\n' ' ')"
	fi
}

# The perf overflow handlers run in NMI context too.  No call to anything
# that sleeps, locks, allocates or prints; the vaddr handler also no lock
# prefix.  (The paddr handler translates addresses as perf core does, with
# get_user_page_fast_only() and put_page(), whose refcounting is atomic.)
check_nmi_handlers() {
	local vmlinux=$BUILD/kernel/vmlinux dis=$log_dir/nmi-handlers.dis fn bad syms
	local calls='call.*<(_?printk|vprintk|__kmalloc|kmalloc|kmem_cache_alloc|mutex_|_raw_spin_lock|__might_sleep|down_|rt_spin_lock)'
	syms=$(nm "$vmlinux" 2>/dev/null || true)
	if ! grep -qw "t damon_perf_vaddr_overflow" <<< "$syms"; then
		if git -C "$KTREE" cat-file -e series:mm/damon/perf.c 2>/dev/null; then
			fail nmi_handlers "damon_perf_vaddr_overflow not found in $vmlinux"
		else
			skip nmi_handlers "the series has no perf sampler"
		fi
		return
	fi
	: > "$dis"
	# static helpers may be renamed by the compiler (.isra.0, .constprop.0)
	for fn in $(awk '$3 ~ /^damon_perf_(vaddr_overflow|paddr_overflow|report|sample_[a-z]+|virt_to_phys)(\.|$)/ {print $3}' <<< "$syms" | sort -u); do
		objdump -d --no-show-raw-insn --disassemble="$fn" "$vmlinux" >> "$dis"
	done
	bad=$(grep -E "$calls" "$dis" || true)
	bad+=$(objdump -d --no-show-raw-insn --disassemble=damon_perf_vaddr_overflow "$vmlinux" |
		grep -E '\block\b' || true)
	if ! grep -qE '^\s*[0-9a-f]+:' "$dis"; then
		fail nmi_handlers "no instruction disassembled for the overflow handlers (objdump: $dis)"
	elif [ -n "$bad" ]; then
		fail nmi_handlers "$(echo "$bad" | head -n 3 | tr -s ' \t' ' ')"
	else
		ok nmi_handlers "$(grep -cE '^\s*[0-9a-f]+:' "$dis") instructions; calls: $(grep -oE 'call.*<[^>+]*' "$dis" | sed 's/.*<//' | sort -u | tr '\n' ' ')"
	fi
}

# Case $1 from a checker command ($3...) that prints its verdict: ok with
# its output, or a failure with its first lines and the whole output in
# $log_dir/$2.
checker_case() {
	local name=$1 log=$log_dir/$2 res
	shift 2
	if res=$("$@" 2>&1); then
		ok "$name" "$res"
	else
		echo "$res" > "$log"
		fail "$name" "$(head -n 4 <<< "$res" | tr '\n' ' ')($log)"
	fi
}

# Documentation/benchmarks.md's results and selftests/damon_bench.baseline
# are generated from the raw JSON next to it (ci/bench-report.py): nobody
# typed or edited them, and the raw sets are of the current series and
# base (or marked as made before provenance was recorded).
check_bench_doc() {
	checker_case bench_doc_generated bench-doc.diff \
		/usr/bin/python3 "$PROJ_ROOT/ci/bench-report.py" --check
}

# test_damon_bench's copies of report.c's static functions (selftests/
# test_damon_bench/test_damon_bench.c) match the series' report.c but for the
# differences ci/bench-copy-check.py lists (review C8).
check_bench_copy() {
	local rc_file=$log_dir/report.c
	if ! git -C "$KTREE" show series:mm/damon/report.c > "$rc_file" 2>/dev/null; then
		skip bench_copy_in_step "the series has no mm/damon/report.c"
		return
	fi
	checker_case bench_copy_in_step bench-copy.diff python3 \
		"$PROJ_ROOT/ci/bench-copy-check.py" "$rc_file" \
		"$PROJ_ROOT/selftests/test_damon_bench/test_damon_bench.c"
}

# Documentation/mutants.md is what ci/mutants-report.py writes from the
# recorded make mutants results, every mutant of ci/mutants/list has a
# result of its current patch, and every survivor is explained.
check_mutants_doc() {
	checker_case mutants_doc_generated mutants-doc.log \
		/usr/bin/python3 "$PROJ_ROOT/ci/mutants-report.py" --check
}

# patches/ applies with git am to upstream v$KVER_UPSTREAM's versions of the
# files it touches (review C10), rebuilt from Debian's base without a
# network: the files ci/upstream-base.audit marks "debian" through
# ci/upstream-base.revert.patch (Debian's changes reverted), the ones it
# marks "upstream" as they are.  Fails on a file the series touches that
# the audit does not know or knows as another blob, a pin other than the
# audited package, a revert that does not apply or leaves a marker of
# Debian's code, patches that do not apply, and a result that differs from
# the series' own files with Debian's changes reverted.
# UPSTREAM_PATCHES_DIR, UPSTREAM_AUDIT, UPSTREAM_REVERT: other inputs (tests).
# Read ci/upstream-base.audit for check_upstream_git_am, into its locals
# pkg, marker, files (the base files the series changes), deb (those
# audited as changed by Debian), rev_files (those the revert patch
# changes) and why (what disagrees with the audit, or nothing).
upstream_audit() {
	local verdict blob f
	local -A audited=()

	pkg=$(awk '$1 == "package" {print $2, $3}' "$audit")
	marker=$(awk '$1 == "marker" {sub(/^marker /, ""); print}' "$audit")
	while read -r verdict blob f; do
		audited[$f]="$verdict $blob"
		if [ "$verdict" = debian ]; then
			deb+=("$f")
		fi
	done < <(awk '$1 == "debian" || $1 == "upstream"' "$audit")
	[ "$pkg" = "linux-source-$KVER_SERIES $KSRC_VERSION" ] ||
		why+="audit of '$pkg', series.conf pins linux-source-$KVER_SERIES $KSRC_VERSION; "
	# The base files the series changes (files it creates do not exist
	# upstream; a later patch may change a file an earlier one created).
	mapfile -t files < <(sed -n 's|^--- a/||p' "${patches[@]}" | sort -u |
		while read -r f; do
			git -C "$KTREE" cat-file -e "base:$f" 2>/dev/null && echo "$f"
		done)
	mapfile -t rev_files < <(sed -n 's|^+++ b/||p' "$revert" | sort -u)
	for f in "${files[@]}"; do
		blob=$(git -C "$KTREE" rev-parse "base:$f")
		if [ -z "${audited[$f]:-}" ]; then
			why+="$f not audited; "
		elif [ "${audited[$f]#* }" != "$blob" ]; then
			why+="$f is blob $blob in the base, audited as ${audited[$f]#* }; "
		fi
	done
	for f in "${rev_files[@]}"; do
		[ "${audited[$f]:-}" = "debian ${audited[$f]#* }" ] ||
			why+="the revert patch changes $f, not audited as debian; "
	done
	for f in "${deb[@]}"; do
		printf '%s\n' "${rev_files[@]}" | grep -qxF "$f" ||
			why+="$f audited as debian, not in the revert patch; "
	done
}

# In the new repository $1, "upstream" = the base's versions of the
# series' and the revert's files with Debian's changes reverted, then the
# series applied with git am; and the series on Debian's files with the
# revert after it, which must give the very same files.  Prints why not
# and fails, or prints nothing.  Uses check_upstream_git_am's locals.
upstream_am_problem() {
	local up=$1 f
	git init -q -b upstream "$up"
	git -C "$up" config user.name "$SERIES_AUTHOR_NAME"
	git -C "$up" config user.email "$SERIES_AUTHOR_EMAIL"
	for f in $(printf '%s\n' "${files[@]}" "${rev_files[@]}" | sort -u); do
		mkdir -p "$up/$(dirname "$f")"
		git -C "$KTREE" cat-file blob "base:$f" > "$up/$f"
	done
	git -C "$up" add -A
	git -C "$up" commit -q -m "base: $pkg (the series' files)"
	git -C "$up" tag debian-base
	git -C "$up" apply --index "$revert" >> "$log" 2>&1 || {
		echo "ci/upstream-base.revert.patch does not apply to the base ($log)"
		return 1; }
	git -C "$up" commit -q -m "upstream v$KVER_UPSTREAM (the series' files, Debian's changes reverted)"
	if [ -n "$marker" ] && git -C "$up" grep -nE "$marker" >> "$log" 2>&1; then
		echo "Debian's code left after the revert ($(git -C "$up" grep -lE "$marker" | tr '\n' ' ')see $log)"
		return 1
	fi
	git -C "$up" am -q --keep-cr "${patches[@]}" >> "$log" 2>&1 || {
		echo "patches/ does not apply to upstream v$KVER_UPSTREAM: $(grep -m1 -E '^(error|Patch failed)' "$log" || tail -n 1 "$log") ($log)"
		return 1; }
	git -C "$up" checkout -q -b on-debian debian-base
	if ! git -C "$up" am -q --keep-cr "${patches[@]}" >> "$log" 2>&1 ||
	   ! git -C "$up" apply --index "$revert" >> "$log" 2>&1; then
		echo "patches/ on the base, then the revert: does not apply ($log)"
		return 1
	fi
	git -C "$up" commit -q -m "series on Debian's files, Debian's changes reverted"
	git -C "$up" diff --exit-code upstream on-debian >> "$log" 2>&1 || {
		echo "patches/ on upstream v$KVER_UPSTREAM differs from patches/ on the base with Debian's changes reverted ($log)"
		return 1; }
}

check_upstream_git_am() {
	local pdir=${UPSTREAM_PATCHES_DIR:-$PROJ_ROOT/patches}
	local audit=${UPSTREAM_AUDIT:-$PROJ_ROOT/ci/upstream-base.audit}
	local revert=${UPSTREAM_REVERT:-$PROJ_ROOT/ci/upstream-base.revert.patch}
	local log=$log_dir/upstream-git-am.log tmp f why="" problem
	local marker pkg
	local -a patches=() files=() deb=() rev_files=()

	for f in "$pdir"/[0-9][0-9][0-9][0-9]-*.patch; do
		case $f in */0000-cover-letter.patch) continue ;; esac
		[ -e "$f" ] && patches+=("$f")
	done
	if [ ${#patches[@]} -eq 0 ]; then
		skip upstream_git_am "series is empty"
		return
	fi
	: > "$log"
	upstream_audit
	if [ -n "$why" ]; then
		fail upstream_git_am "ci/upstream-base.audit: ${why%; }"
		return
	fi
	tmp=$(mktemp -d)
	if problem=$(upstream_am_problem "$tmp/up"); then
		ok upstream_git_am "${#patches[@]} patches apply with git am to upstream v$KVER_UPSTREAM's versions of the ${#files[@]} base files they change (${#deb[@]} audited files rebuilt by reverting Debian's changes: ${deb[*]}; the others audited as not changed by Debian, ci/upstream-base.audit)"
	else
		fail upstream_git_am "$problem"
	fi
	rm -rf "$tmp"
}

# The harness's own regression tests (stdlib Python, synthetic inputs; no
# kernel, VM or build).
check_harness_selftest() {
	local log=$log_dir/harness-selftest.log
	if python3 -m unittest discover -s "$PROJ_ROOT/ci/tests" -p 'test_*.py' > "$log" 2>&1; then
		ok harness_selftest "$(tail -n 3 "$log" | grep -m 1 '^Ran ')"
	else
		fail harness_selftest "$(grep -E '^(FAIL|ERROR):' "$log" | head -n 3 | tr '\n' ' ')(see $log)"
	fi
}

# Print the KTAP of the cases: a case's note as "# " line before its result.
write_ktap() {
	local n=0 c res name note
	echo "TAP version 13"
	echo "1..$#"
	for c in "$@"; do
		n=$((n + 1))
		IFS='|' read -r res name note <<< "$c"
		case $res in
		skip) echo "ok $n $name # SKIP $note" ;;
		*) [ -z "$note" ] || echo "# $note"; echo "$res $n $name" ;;
		esac
	done
}

cleanup() {
	posting_remove
	if [ -n "$pristine" ]; then
		git -C "$KTREE" worktree remove --force "$pristine" || true
		rm -rf "$(dirname "$pristine")"
		pristine=""
	fi
}
all_checks=(check_export check_checkpatch check_patch_churn check_nmi_path check_nmi_handlers
	check_per_patch_build check_sparse check_kernel_doc check_docs
	check_per_patch_docs
	check_bench_doc check_bench_copy check_mutants_doc check_variants
	check_kunit_py
	check_b4 check_git_am check_upstream_git_am check_posting
	check_harness_selftest)

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
trap cleanup EXIT

# how long each check took, in the log and on stderr (make check's output)
: > "$log_dir/timings.txt"
for check in ${STATIC_CHECKS:-${all_checks[*]}}; do
	declare -F "$check" > /dev/null ||
		die "STATIC_CHECKS: no check $check (known: ${all_checks[*]})"
	t0=$SECONDS
	"$check"
	printf '%-24s %5d s\n' "$check" $((SECONDS - t0)) | tee -a "$log_dir/timings.txt" >&2
done
cleanup
if [ -n "${STATIC_CHECKS:-}" ]; then
	not_run=$(printf '%s\n' "${all_checks[@]}" | grep -vxF -f <(printf '%s\n' $STATIC_CHECKS) | tr '\n' ' ' || true)
	[ -z "$not_run" ] || skip static_checks_not_run "restricted run (STATIC_CHECKS): ${not_run% }"
fi

write_ktap "${cases[@]}" > "$out"
cat "$out"
