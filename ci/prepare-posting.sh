#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: SUBMITTER_NAME='Your Name' SUBMITTER_EMAIL=you@example.org \
#        prepare-posting.sh
#
# Prepare the series for posting by its human submitter (see
# Documentation/posting.md).  Sends nothing.  In $POSTING_DIR (default
# build/posting/):
#   tree/            a git work tree of kernel-tree/ on branch $POSTING_BRANCH
#                    (default 'posting'; empty: detached HEAD): the commits
#                    base..series with the submitter as author and committer
#                    and "Signed-off-by: submitter" after the existing
#                    trailers.  Branch 'series' is not touched.
#   patches/         git format-patch --cover-letter of those commits; the
#                    cover letter's subject and text from
#                    patches/cover-letter.txt
#   series.mbx       the same patches in one mbox (for `b4 shazam -m`)
#   checkpatch/      checkpatch.pl --strict per patch, sign-off check on:
#                    only the types of ci/checkpatch-exceptions other than
#                    MISSING_SIGN_OFF are ignored
#   recipients.txt   the cover letter's To: (maintainers) and Cc: (reviewers,
#                    lists), from scripts/get_maintainer.pl on all patches;
#                    each patch file carries its own To: and Cc: headers;
#                    get_maintainer.txt with roles
#   series-commit    the commit of 'series' the posting was made from
# and prints what to do next.  Exit status 0 only when everything passed.
#
# Optional variables:
#   RUN_CHECKS=1     run `make check` first (default: off, it builds kernels
#                    and boots a VM; the submitter runs it before posting)
#   UPSTREAM_BASE=<commit id of v7.3.4 upstream>
#                    base-commit: written in the cover letter when the base
#                    is Debian's package (whose commit only exists here)
#   SERIES_VERSION=N subject prefix "RFC PATCH vN" (default 1)
#   POSTING_DIR, POSTING_BRANCH  see above

set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${SUBMITTER_NAME:-}
email=${SUBMITTER_EMAIL:-}
pdir=${POSTING_DIR:-$BUILD/posting}
branch=${POSTING_BRANCH-posting}
ver=${SERIES_VERSION:-1}
upstream_base=${UPSTREAM_BASE:-}
cover_txt=$PROJ_ROOT/patches/cover-letter.txt
tree=$pdir/tree
rel() { echo "${1#"$PROJ_ROOT"/}"; }
usage="usage: make posting SUBMITTER_NAME='Your Name' SUBMITTER_EMAIL=you@example.org"

# --- helpers ---------------------------------------------------------------
gm_run() {
	(cd "$tree" && ./scripts/get_maintainer.pl --nogit --nogit-fallback \
		--nogit-chief-penguins "$@" "${plist[@]}")
}

drop_self() { grep -viF "<$email>" | { grep -vixF "$email" || true; }; }

# Each patch To: and Cc: its own maintainers, reviewers and lists (the
# ibs_mprof patch the x86 perf maintainers, the DAMON patches the DAMON
# list), the cover letter all of them, as headers git send-email and b4
# read from the files.
add_recipients() {
	local f=$1 t c
	shift
	t=$(printf '%s\n' "${@}" | sed -n 's/^To: //p' | paste -sd, - | sed 's/,/, /g')
	c=$(printf '%s\n' "${@}" | sed -n 's/^Cc: //p' | paste -sd, - | sed 's/,/, /g')
	python3 - "$f" "$t" "$c" <<'PY'
import sys
path, to, cc = sys.argv[1:]
s = open(path).read()
head, sep, rest = s.partition('\n\n')
extra = ''.join('\n{}: {}'.format(k, v) for k, v in (('To', to), ('Cc', cc)) if v)
open(path, 'w').write(head + extra + sep + rest)
PY
}

# --- who submits -----------------------------------------------------------
# Refuse a submitter who is not a person with a deliverable address, and
# options that are not valid.
check_submitter() {
	[[ -n $name && -n $email ]] ||
		die "SUBMITTER_NAME and SUBMITTER_EMAIL are required: the submitter signs off every patch (Documentation/posting.md).
$usage"
	lc_email=${email,,}
	if [ "$lc_email" = "${SERIES_AUTHOR_EMAIL,,}" ] || [ "$name" = "$SERIES_AUTHOR_NAME" ]; then
		die "'$name <$email>' is the series' placeholder identity (series.conf): only a human may sign off (Documentation/process/coding-assistants.rst).
$usage"
	fi
	case $lc_email in
	*@invalid | *.invalid)
		die "$email is not a deliverable address (.invalid is reserved for placeholders): use your own.
$usage" ;;
	esac
	[[ $email =~ ^[^@[:space:]\<\>]+@[^@[:space:]\<\>]+\.[^@[:space:]\<\>]+$ ]] ||
		die "SUBMITTER_EMAIL='$email' is not an e-mail address (user@domain).
$usage"
	[[ $name =~ ^[^\<\>@]+$ && $name != *$'\n'* ]] ||
		die "SUBMITTER_NAME='$name' must be a plain name (no <, >, @ or newline).
$usage"
	[[ $ver =~ ^[1-9][0-9]*$ ]] || die "SERIES_VERSION='$ver' is not a version number"
	[ -z "$upstream_base" ] || [[ $upstream_base =~ ^[0-9a-f]{40}$ ]] ||
		die "UPSTREAM_BASE='$upstream_base' is not a full commit id (40 hex digits)"
	[ -r "$cover_txt" ] || die "no $cover_txt"
	case $branch in
	series | base | upstream-base | series-backup-*)
		die "POSTING_BRANCH='$branch' is one of kernel-tree's own branches" ;;
	esac
	[ -z "$branch" ] || git check-ref-format --branch "$branch" >/dev/null 2>&1 ||
		die "POSTING_BRANCH='$branch' is not a valid branch name"
}

# --- the checks ------------------------------------------------------------
# Provision kernel-tree/ if needed, run make check if asked, and read the
# series: 'series' once, which must be what patches/ holds.
read_series() {
	if ! have_ktree; then
		info "no kernel-tree/: provisioning it from patches/"
		"$PROJ_ROOT/ci/provision.sh"
	fi
	if [ "${RUN_CHECKS:-0}" = 1 ]; then
		info "RUN_CHECKS=1: running make check first"
		make -C "$PROJ_ROOT" check || die "make check failed: fix that before posting"
		checks_note="make check passed"
	else
		checks_note="not run (RUN_CHECKS=1 runs 'make check' first; run it before you send)"
	fi

	# 'series' is read once: what is prepared is this commit's series.
	src=$(git -C "$KTREE" rev-parse --verify "series^{commit}")
	nr=$(git -C "$KTREE" rev-list --count "base..$src")
	[ "$nr" -gt 0 ] || die "the series is empty: nothing to post"
	[ -z "$(git -C "$KTREE" rev-list --min-parents=2 "base..$src")" ] ||
		die "base..series has merge commits: a posted series is linear"

	# What is posted must be what patches/ holds (the reviewed source of truth).
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	PATCHES_DIR=$tmp/export "$PROJ_ROOT/ci/export-series.sh" 2>"$tmp/export.log" ||
		die "make export failed: $(tail -n 1 "$tmp/export.log")"
	diff -r -x .gitkeep "$tmp/export" "$PROJ_ROOT/patches" > "$tmp/export.diff" 2>&1 ||
		die "kernel-tree's branch 'series' and patches/ disagree ($(grep -c '^[<>]' "$tmp/export.diff" || true) lines differ): run 'make export' (tree is right) or 'make kernel-tree' (patches/ is right) first"
	[ "$(git -C "$KTREE" rev-parse series)" = "$src" ] ||
		die "branch 'series' moved while this ran: run it again"
}

# --- the submitter's commits -----------------------------------------------
# Rewritten with plumbing, from the commits of 'series' (which stays as it
# is): same trees, the submitter as author and committer, their sign-off as
# the last trailer.  No hooks, no editor, nothing checked out yet.
rewrite_commits() {
	export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
	export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email
	sob="Signed-off-by: $name <$email>"
	head=$(git -C "$KTREE" rev-parse base)
	while read -r c; do
		# $(...) drops the blank line git log adds after the message
		msg=$(git -C "$KTREE" log -1 --format=%B "$c")
		printf '%s\n' "$msg" > "$tmp/msg"
		git -C "$KTREE" interpret-trailers --where end --if-exists addIfDifferentNeighbor \
			--trailer "$sob" "$tmp/msg" > "$tmp/msg.new"
		head=$(git -C "$KTREE" commit-tree -p "$head" -F "$tmp/msg.new" "$c^{tree}")
	done < <(git -C "$KTREE" rev-list --reverse "base..$src")
	[ "$(git -C "$KTREE" rev-parse "$head^{tree}")" = "$(git -C "$KTREE" rev-parse "$src^{tree}")" ] ||
		die "internal error: the rewritten series' tree differs from 'series'"
}

# --- the work tree ---------------------------------------------------------
# Check the rewritten commits out in $tree (on $branch unless empty) and
# check their authorship and last trailer.
make_worktree() {
	mkdir -p "$pdir"
	pdir=$(cd "$pdir" && pwd)
	tree=$pdir/tree
	git -C "$KTREE" worktree prune
	if [ -e "$tree" ]; then
		if ! common=$(git -C "$tree" rev-parse --git-common-dir 2>/dev/null) ||
		   ! [ "$common" -ef "$(ktree_gitdir)" ]; then
			die "$tree exists and is not a work tree of kernel-tree/: move it away"
		fi
		[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
			die "$tree has uncommitted changes: commit or discard them first"
		info "replacing the previous $tree (was at $(git -C "$tree" rev-parse --short HEAD))"
		git -C "$KTREE" worktree remove --force "$tree"
	fi
	rm -rf "$pdir/patches" "$pdir/checkpatch" "$pdir"/series.mbx "$pdir"/recipients.txt \
		"$pdir"/get_maintainer.txt "$pdir"/series-commit
	echo "$src" > "$pdir/series-commit"
	if [ -n "$branch" ]; then
		old=$(git -C "$KTREE" rev-parse -q --verify "refs/heads/$branch" || true)
		[ -z "$old" ] || info "branch $branch was at ${old:0:12}; now reset (git reflog $branch has the old one)"
		info "checking out $tree (branch $branch)"
		git -C "$KTREE" worktree add -q -B "$branch" "$tree" "$head"
	else
		info "checking out $tree (detached)"
		git -C "$KTREE" worktree add -q --detach "$tree" "$head"
	fi

	# Self-check: authorship and the last trailer of every commit.
	while read -r c; do
		[ "$(git -C "$tree" log -1 --format='%an <%ae>|%cn <%ce>' "$c")" = "$name <$email>|$name <$email>" ] ||
			die "internal error: $c is not authored and committed by $name <$email>"
		[ "$(git -C "$tree" log -1 --format=%B "$c" | sed '/^$/d' | tail -n 1)" = "$sob" ] ||
			die "internal error: the last trailer of $c is not '$sob'"
	done < <(git -C "$tree" rev-list base..HEAD)
}

# --- patches and mbox ------------------------------------------------------
# git format-patch of the work tree, the cover letter from cover-letter.txt.
format_series() {
	prefix=$SERIES_SUBJECT_PREFIX
	[ "$ver" = 1 ] || prefix="$prefix v$ver"
	# --thread=shallow: Message-Ids made from the submitter's address, patches
	# replying to the cover letter (git send-email keeps them with --no-thread).
	git -C "$tree" -c user.name="$name" -c user.email="$email" \
		format-patch -q --cover-letter --thread=shallow --no-signature --base=base \
		--subject-prefix="$prefix" --numbered -o "$pdir/patches" base..HEAD
	base_commit=$(git -C "$KTREE" rev-parse base)
	base_info=$(ktree_gitdir)/BASE_INFO
	base_src=$(sed -n 's/^package=//p' "$base_info" 2>/dev/null || true)
	base_ver=$(sed -n 's/^kernelversion=//p' "$base_info" 2>/dev/null || true)
	base_note="$base_commit (Linux ${base_ver:-?}, from ${base_src:-?})"
	base_warn=""
	if [ -n "$upstream_base" ]; then
		base_note="$upstream_base (UPSTREAM_BASE; the tree's base is ${base_commit:0:12} from ${base_src:-?})"
	elif [[ $base_src != git:* ]]; then
		base_warn="base-commit ${base_commit:0:12} is this machine's commit of Debian's ${base_src:-package}: nobody else has it.  Re-run with UPSTREAM_BASE=<id of v7.3.4> (Documentation/posting.md, \"The base commit\")."
	fi
	# Cover letter from cover-letter.txt; headers unfolded (b4 0.12 fails on a
	# folded Subject).
	"$PROJ_ROOT/ci/mail-headers.py" --cover "$cover_txt" \
		${upstream_base:+--base-commit "$upstream_base"} "$pdir"/patches/*.patch
	! grep -q '\*\*\* \(SUBJECT\|BLURB\) HERE \*\*\*' "$pdir"/patches/0000-cover-letter.patch ||
		die "internal error: cover letter placeholders left in $pdir/patches/0000-cover-letter.patch"
}

# --- checkpatch, sign-off check on ---------------------------------------
# checkpatch.pl --strict on every patch, the sign-off check on: $cp_note,
# and $cp_fail for the patches that fail.
run_checkpatch() {
	ignore=$(awk '!/^#/ && NF && $1 != "MISSING_SIGN_OFF" {printf "%s%s", sep, $1; sep=","}' \
		"$PROJ_ROOT/ci/checkpatch-exceptions")
	mkdir -p "$pdir/checkpatch"
	cp_fail=()
	for p in "$pdir"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		log=$pdir/checkpatch/$(basename "$p" .patch).log
		if ! (cd "$tree" && ./scripts/checkpatch.pl --strict --no-summary --show-types \
			${ignore:+--ignore "$ignore"} "$p") > "$log" 2>&1; then
			cp_fail+=("$(basename "$p"): $(grep -E '^(ERROR|WARNING|CHECK)' "$log" | head -n 1)")
		fi
	done
	if [ ${#cp_fail[@]} -eq 0 ]; then
		cp_note="all $nr patches pass (--strict, ignoring only: ${ignore:-nothing})"
	else
		cp_note="${#cp_fail[@]} of $nr patches FAIL (logs: $(rel "$pdir/checkpatch")/)"
	fi
	# checkpatch runs scripts/spdxcheck.py with the python3 of PATH and treats
	# a crash as a valid licence.
	python3 -c 'import ply, git' 2>/dev/null ||
		cp_note+="; SPDX identifiers NOT checked: $(command -v python3) lacks ply/git (python3-ply, python3-git)"
}

# --- recipients ------------------------------------------------------------
# Maintainers To, reviewers and lists Cc; no git history (this tree's
# history is not upstream's); the submitter left out.
write_recipients() {
	plist=()
	for p in "$pdir"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) ;; *) plist+=("$p") ;; esac
	done
	gm_run --norolestats --nor --nol > "$tmp/to" || die "get_maintainer.pl failed"
	gm_run --norolestats --nom > "$tmp/cc" || die "get_maintainer.pl failed"
	gm_run > "$pdir/get_maintainer.txt" || true
	mapfile -t to < <(drop_self < "$tmp/to" | awk 'NF && !seen[$0]++')
	mapfile -t cc < <(drop_self < "$tmp/cc" | awk 'NF && !seen[$0]++' | grep -vxF -f <(printf '%s\n' "${to[@]}" "") || true)
	[ ${#to[@]} -gt 0 ] || die "get_maintainer.pl named no maintainer (see $pdir/get_maintainer.txt)"

	cover_rcpt=()
	for a in "${to[@]}"; do cover_rcpt+=("To: $a"); done
	for a in "${cc[@]}"; do cover_rcpt+=("Cc: $a"); done
	add_recipients "$pdir/patches/0000-cover-letter.patch" "${cover_rcpt[@]}"
	for p in "${plist[@]}"; do
		pt=() pc=()
		mapfile -t pt < <(cd "$tree" && ./scripts/get_maintainer.pl --nogit --nogit-fallback \
			--nogit-chief-penguins --norolestats --nor --nol "$p" | drop_self | awk 'NF && !seen[$0]++')
		mapfile -t pc < <(cd "$tree" && ./scripts/get_maintainer.pl --nogit --nogit-fallback \
			--nogit-chief-penguins --norolestats --nom "$p" | drop_self | awk 'NF && !seen[$0]++')
		[ ${#pt[@]} -gt 0 ] || die "get_maintainer.pl named no maintainer for $(basename "$p")"
		rcpt=()
		for a in "${pt[@]}"; do rcpt+=("To: $a"); done
		for a in "${pc[@]}"; do rcpt+=("Cc: $a"); done
		add_recipients "$p" "${rcpt[@]}"
	done
	cat "$pdir"/patches/*.patch > "$pdir/series.mbx"
	info "wrote $nr patches, a cover letter and series.mbx to $pdir (each with its own To: and Cc:)"
	{
		echo "# Recipients of \"$(head -n 1 "$cover_txt")\" ($nr patches), from"
		echo "# scripts/get_maintainer.pl --nogit --nogit-fallback on the patches"
		echo "# (To: --nor --nol, maintainers; Cc: --nom, reviewers and lists).  Roles:"
		echo "# get_maintainer.txt.  Review before sending."
		for a in "${to[@]}"; do echo "To: $a"; done
		for a in "${cc[@]}"; do echo "Cc: $a"; done
	} > "$pdir/recipients.txt"
}

# --- what next -------------------------------------------------------------
# What was prepared and what the submitter does next; exits with
# $KSFT_FAIL when a patch fails checkpatch.
# git send-email takes each file's own To: and Cc: headers; b4 prep
# computes per-patch recipients itself (--auto-to-cc, get_maintainer.pl).
print_next() {
	send_email="       git send-email --dry-run --no-thread $(rel "$pdir")/patches/*.patch"
	b4_send="       b4 prep --auto-to-cc && b4 send --dry-run"
	cat <<-EOF
	
	== posting prepared in $(rel "$pdir") -- nothing was sent
	  submitter:   $name <$email> (author, committer, Signed-off-by of all $nr patches)
	  work tree:   $(rel "$tree") (${branch:+branch $branch, }base..HEAD; 'series' untouched)
	  patches:     $(rel "$pdir/patches")/ (cover letter from patches/cover-letter.txt)
	  mbox:        $(rel "$pdir/series.mbx")
	  recipients:  $(rel "$pdir/recipients.txt"): ${#to[@]} To, ${#cc[@]} Cc for the
	               cover letter; each patch has its own To: and Cc: headers
	  checkpatch:  $cp_note
	  make check:  $checks_note
	  base-commit: $base_note
	EOF
	[ -z "$base_warn" ] || printf '\nWARNING: %s\n' "$base_warn"
	if [ ${#cp_fail[@]} -gt 0 ]; then
		printf '\ncheckpatch failures -- do not post:\n'
		printf '  %s\n' "${cp_fail[@]}"
		exit "$KSFT_FAIL"
	fi
	cat <<-EOF
	
	Next -- you run these yourself; this script never sends anything:
	  1. Review every patch: your Signed-off-by certifies the DCO and makes you
	     responsible for AI-assisted code (Documentation/process/coding-assistants.rst).
	       less $(rel "$pdir")/patches/*.patch
	  2. Run all the checks, if not done: make check
	  3. Check the recipients: $(rel "$pdir/recipients.txt")
	  4. Send, either with git send-email (package git-email): first
	$send_email
	     then the same without --dry-run; or with b4 from the work tree:
	       cd $(rel "$tree") && b4 prep -e base --set-prefixes RFC
	       EDITOR="cp $PROJ_ROOT/patches/cover-letter.txt" b4 prep --edit-cover
	$b4_send
	     then 'b4 send --reflect' (to yourself only) and 'b4 send'.
	     Base, signing, SMTP: Documentation/posting.md.
	EOF
}

# --- main ------------------------------------------------------------------
check_submitter
read_series
rewrite_commits
make_worktree
format_series
run_checkpatch
write_recipients
print_next
