#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: SUBMITTER_NAME='Your Name' SUBMITTER_EMAIL=you@example.org prepare-posting.sh
#
# Prepare the series for posting by its human submitter; sends nothing.
# What it writes in $POSTING_DIR (default build/posting/) and the optional
# variables (RUN_CHECKS, UPSTREAM_BASE, SERIES_VERSION, POSTING_BRANCH):
# Documentation/posting.md.  Exit status 0 only when everything passed.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${SUBMITTER_NAME:-}
email=${SUBMITTER_EMAIL:-}
pdir=${POSTING_DIR:-$BUILD/posting}
branch=${POSTING_BRANCH-posting}
ver=${SERIES_VERSION:-1}
upstream_base=${UPSTREAM_BASE:-}
cover_txt=$PROJ_ROOT/patches/cover-letter.txt
rel() { echo "${1#"$PROJ_ROOT"/}"; }
usage_die() { die "$*"$'\n'"usage: make posting SUBMITTER_NAME='Your Name' SUBMITTER_EMAIL=you@example.org"; }

# get_maintainer.pl without git history (this tree's history is not
# upstream's); addrs drops the submitter and repeated lines.
gm() { (cd "$tree" && ./scripts/get_maintainer.pl --nogit --nogit-fallback --nogit-chief-penguins "$@"); }
addrs() { grep -viF "<$email>" | { grep -vixF "$email" || true; } | awk 'NF && !seen[$0]++'; }
# The arguments as one header value (every ',' becomes ', ').
hdr_list() { local IFS=,; local s="$*"; echo "${s//,/, }"; }

# Refuse a submitter who is not a person with a deliverable address, and
# options that are not valid.
check_submitter() {
	[[ -n $name && -n $email ]] ||
		usage_die "SUBMITTER_NAME and SUBMITTER_EMAIL are required: the submitter signs off every patch (Documentation/posting.md)."
	[[ ${email,,} != "${SERIES_AUTHOR_EMAIL,,}" && $name != "$SERIES_AUTHOR_NAME" ]] ||
		usage_die "'$name <$email>' is the series' placeholder identity (series.conf): only a human may sign off (Documentation/process/coding-assistants.rst)."
	[[ ${email,,} != *@invalid && ${email,,} != *.invalid ]] ||
		usage_die "$email is not a deliverable address (.invalid is reserved for placeholders): use your own."
	[[ $email =~ ^[^@[:space:]\<\>]+@[^@[:space:]\<\>]+\.[^@[:space:]\<\>]+$ ]] ||
		usage_die "SUBMITTER_EMAIL='$email' is not an e-mail address (user@domain)."
	[[ $name =~ ^[^\<\>@]+$ && $name != *$'\n'* ]] ||
		usage_die "SUBMITTER_NAME='$name' must be a plain name (no <, >, @ or newline)."
	[[ $ver =~ ^[1-9][0-9]*$ ]] || die "SERIES_VERSION='$ver' is not a version number"
	[ -z "$upstream_base" ] || [[ $upstream_base =~ ^[0-9a-f]{40}$ ]] ||
		die "UPSTREAM_BASE='$upstream_base' is not a full commit id (40 hex digits)"
	[ -r "$cover_txt" ] || die "no $cover_txt"
	[[ $branch != @(series|base|upstream-base|series-backup-*) ]] ||
		die "POSTING_BRANCH='$branch' is one of kernel-tree's own branches"
	[ -z "$branch" ] || git check-ref-format --branch "$branch" >/dev/null 2>&1 ||
		die "POSTING_BRANCH='$branch' is not a valid branch name"
}

# Provision kernel-tree/ if needed, run make check if asked, and read
# 'series' once: what is prepared is this commit's series, which must be
# what patches/ holds (the reviewed source of truth).
read_series() {
	have_ktree || { info "no kernel-tree/: provisioning it from patches/"; "$PROJ_ROOT/ci/provision.sh"; }
	checks_note="not run (RUN_CHECKS=1 runs 'make check' first; run it before you send)"
	if [ "${RUN_CHECKS:-0}" = 1 ]; then
		info "RUN_CHECKS=1: running make check first"
		make -C "$PROJ_ROOT" check || die "make check failed: fix that before posting"
		checks_note="make check passed"
	fi
	src=$(git -C "$KTREE" rev-parse --verify "series^{commit}")
	nr=$(git -C "$KTREE" rev-list --count "base..$src")
	[ "$nr" -gt 0 ] || die "the series is empty: nothing to post"
	[ -z "$(git -C "$KTREE" rev-list --min-parents=2 "base..$src")" ] ||
		die "base..series has merge commits: a posted series is linear"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	PATCHES_DIR=$tmp/export "$PROJ_ROOT/ci/export-series.sh" 2>"$tmp/export.log" ||
		die "make export failed: $(tail -n 1 "$tmp/export.log")"
	diff -r -x .gitkeep "$tmp/export" "$PROJ_ROOT/patches" > "$tmp/export.diff" 2>&1 ||
		die "kernel-tree's branch 'series' and patches/ disagree ($(grep -c '^[<>]' "$tmp/export.diff" || true) lines differ): run 'make export' (tree is right) or 'make kernel-tree' (patches/ is right) first"
	[ "$(git -C "$KTREE" rev-parse series)" = "$src" ] ||
		die "branch 'series' moved while this ran: run it again"
}

# The submitter's commits, rewritten with plumbing from those of 'series'
# (which stays as it is): same trees, the submitter as author and committer
# and their Signed-off-by as the last trailer, after Assisted-by: (only a
# human certifies the DCO).  No hooks, no editor, nothing checked out yet.
rewrite_commits() {
	export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email
	sob="Signed-off-by: $name <$email>"
	head=$(git -C "$KTREE" rev-parse base)
	while read -r c; do
		# $(...) drops the blank line git log adds after the message
		msg=$(git -C "$KTREE" log -1 --format=%B "$c")
		head=$(printf '%s\n' "$msg" |
			git -C "$KTREE" interpret-trailers --where end --if-exists addIfDifferentNeighbor --trailer "$sob" |
			git -C "$KTREE" commit-tree -p "$head" -F - "$c^{tree}")
	done < <(git -C "$KTREE" rev-list --reverse "base..$src")
	[ "$(git -C "$KTREE" rev-parse "$head^{tree}")" = "$(git -C "$KTREE" rev-parse "$src^{tree}")" ] ||
		die "internal error: the rewritten series' tree differs from 'series'"
}

# Check the rewritten commits out in $tree (on $branch unless empty),
# replacing the previous posting; check their authorship and last trailer.
make_worktree() {
	mkdir -p "$pdir"
	pdir=$(cd "$pdir" && pwd)
	tree=$pdir/tree
	git -C "$KTREE" worktree prune
	if [ -e "$tree" ]; then
		[ "$(git -C "$tree" rev-parse --git-common-dir 2>/dev/null)" -ef "$(ktree_gitdir)" ] ||
			die "$tree exists and is not a work tree of kernel-tree/: move it away"
		[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
			die "$tree has uncommitted changes: commit or discard them first"
		info "replacing the previous $tree (was at $(git -C "$tree" rev-parse --short HEAD))"
		git -C "$KTREE" worktree remove --force "$tree"
	fi
	rm -rf "$pdir"/{patches,checkpatch,series.mbx,recipients.txt,get_maintainer.txt,series-commit}
	echo "$src" > "$pdir/series-commit"
	how=(--detach) old=""
	[ -z "$branch" ] || { how=(-B "$branch"); old=$(git -C "$KTREE" rev-parse -q --verify "refs/heads/$branch" || true); }
	[ -z "$old" ] || info "branch $branch was at ${old:0:12}; now reset (git reflog $branch has the old one)"
	info "checking out $tree (${branch:+branch }${branch:-detached})"
	git -C "$KTREE" worktree add -q "${how[@]}" "$tree" "$head"
	while read -r c; do
		[ "$(git -C "$tree" log -1 --format='%an <%ae>|%cn <%ce>' "$c")" = "$name <$email>|$name <$email>" ] ||
			die "internal error: $c is not authored and committed by $name <$email>"
		[ "$(git -C "$tree" log -1 --format=%B "$c" | sed '/^$/d' | tail -n 1)" = "$sob" ] ||
			die "internal error: the last trailer of $c is not '$sob'"
	done < <(git -C "$tree" rev-list base..HEAD)
}

# git format-patch of the work tree, the cover letter from cover-letter.txt
# (mail-headers.py also unfolds the headers: b4 0.12 fails on a folded
# Subject); $plist: the patches without the cover letter, which sorts first.
format_series() {
	prefix=$SERIES_SUBJECT_PREFIX
	[ "$ver" = 1 ] || prefix="$prefix v$ver"
	# --thread=shallow: Message-Ids made from the submitter's address, patches
	# replying to the cover letter (git send-email keeps them with --no-thread).
	git -C "$tree" -c user.name="$name" -c user.email="$email" \
		format-patch -q --cover-letter --thread=shallow --no-signature --base=base \
		--subject-prefix="$prefix" --numbered -o "$pdir/patches" base..HEAD
	plist=("$pdir"/patches/[0-9][0-9][0-9][0-9]-*.patch)
	plist=("${plist[@]:1}")
	base_commit=$(git -C "$KTREE" rev-parse base)
	base_info=$(ktree_gitdir)/BASE_INFO
	base_src=$(sed -n 's/^package=//p' "$base_info" 2>/dev/null || true)
	base_ver=$(sed -n 's/^kernelversion=//p' "$base_info" 2>/dev/null || true)
	base_note="$base_commit (Linux ${base_ver:-?}, from ${base_src:-?})" base_warn=""
	if [ -n "$upstream_base" ]; then
		base_note="$upstream_base (UPSTREAM_BASE; the tree's base is ${base_commit:0:12} from ${base_src:-?})"
	elif [[ $base_src != git:* ]]; then
		base_warn="base-commit ${base_commit:0:12} is this machine's commit of Debian's ${base_src:-package}: nobody else has it.  Re-run with UPSTREAM_BASE=<id of v7.3.4> (Documentation/posting.md, \"The base commit\")."
	fi
	"$PROJ_ROOT/ci/mail-headers.py" --cover "$cover_txt" \
		${upstream_base:+--base-commit "$upstream_base"} "$pdir"/patches/*.patch
	! grep -q '\*\*\* \(SUBJECT\|BLURB\) HERE \*\*\*' "$pdir"/patches/0000-cover-letter.patch ||
		die "internal error: cover letter placeholders left in $pdir/patches/0000-cover-letter.patch"
}

# checkpatch.pl --strict on every patch, the sign-off check on: $cp_note,
# and $cp_fail for the patches that fail.
run_checkpatch() {
	ignore=$(awk '!/^#/ && NF && $1 != "MISSING_SIGN_OFF" {printf "%s%s", sep, $1; sep=","}' \
		"$PROJ_ROOT/ci/checkpatch-exceptions")
	mkdir -p "$pdir/checkpatch"
	cp_fail=()
	for p in "${plist[@]}"; do
		log=$pdir/checkpatch/$(basename "$p" .patch).log
		(cd "$tree" && ./scripts/checkpatch.pl --strict --no-summary --show-types \
			${ignore:+--ignore "$ignore"} "$p") > "$log" 2>&1 ||
			cp_fail+=("$(basename "$p"): $(grep -E '^(ERROR|WARNING|CHECK)' "$log" | head -n 1)")
	done
	cp_note="all $nr patches pass (--strict, ignoring only: ${ignore:-nothing})"
	[ ${#cp_fail[@]} -eq 0 ] || cp_note="${#cp_fail[@]} of $nr patches FAIL (logs: $(rel "$pdir/checkpatch")/)"
	# checkpatch runs scripts/spdxcheck.py with PATH's python3 and treats a crash as a valid licence.
	python3 -c 'import ply, git' 2>/dev/null ||
		cp_note+="; SPDX identifiers NOT checked: $(command -v python3) lacks ply/git (python3-ply, python3-git)"
}

# Add the header lines To: $2 and Cc: $3 (none when empty) to file $1.
add_recipients() {
	python3 -c 'import sys; p, to, cc = sys.argv[1:]; h, s, r = open(p).read().partition("\n\n")
open(p, "w").write(h + (to and "\nTo: " + to) + (cc and "\nCc: " + cc) + s + r)' "$@"
}

# Maintainers To, reviewers and lists Cc, the submitter left out: the cover
# letter all of them (and recipients.txt), each patch its own (the ibs_mprof
# patch the x86 perf maintainers, the DAMON patches the DAMON list), as
# headers git send-email and b4 read from the files.
write_recipients() {
	gm --norolestats --nor --nol "${plist[@]}" > "$tmp/to" || die "get_maintainer.pl failed"
	gm --norolestats --nom "${plist[@]}" > "$tmp/cc" || die "get_maintainer.pl failed"
	gm "${plist[@]}" > "$pdir/get_maintainer.txt" || true
	mapfile -t to < <(addrs < "$tmp/to")
	mapfile -t cc < <(addrs < "$tmp/cc" | grep -vxF -f <(printf '%s\n' "${to[@]}" "") || true)
	[ ${#to[@]} -gt 0 ] || die "get_maintainer.pl named no maintainer (see $pdir/get_maintainer.txt)"
	add_recipients "$pdir/patches/0000-cover-letter.patch" "$(hdr_list "${to[@]}")" "$(hdr_list "${cc[@]}")"
	for p in "${plist[@]}"; do
		mapfile -t pt < <(gm --norolestats --nor --nol "$p" | addrs)
		mapfile -t pc < <(gm --norolestats --nom "$p" | addrs)
		[ ${#pt[@]} -gt 0 ] || die "get_maintainer.pl named no maintainer for $(basename "$p")"
		add_recipients "$p" "$(hdr_list "${pt[@]}")" "$(hdr_list "${pc[@]}")"
	done
	cat "$pdir"/patches/*.patch > "$pdir/series.mbx"
	info "wrote $nr patches, a cover letter and series.mbx to $pdir (each with its own To: and Cc:)"
	cat > "$pdir/recipients.txt" <<-EOF
	# Recipients of "$(head -n 1 "$cover_txt")" ($nr patches), from
	# scripts/get_maintainer.pl --nogit --nogit-fallback on the patches
	# (To: --nor --nol, maintainers; Cc: --nom, reviewers and lists).  Roles:
	# get_maintainer.txt.  Review before sending.
	$(printf 'To: %s\n' "${to[@]}"; [ ${#cc[@]} -eq 0 ] || printf 'Cc: %s\n' "${cc[@]}")
	EOF
}

# What was prepared and what the submitter does next (git send-email takes
# each file's To: and Cc:, b4 prep --auto-to-cc asks get_maintainer.pl);
# exits with $KSFT_FAIL when a patch fails checkpatch.
print_next() {
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
	       git send-email --dry-run --no-thread $(rel "$pdir")/patches/*.patch
	     then the same without --dry-run; or with b4 from the work tree:
	       cd $(rel "$tree") && b4 prep -e base --set-prefixes RFC
	       EDITOR="cp $PROJ_ROOT/patches/cover-letter.txt" b4 prep --edit-cover
	       b4 prep --auto-to-cc && b4 send --dry-run
	     then 'b4 send --reflect' (to yourself only) and 'b4 send'.
	     Base, signing, SMTP: Documentation/posting.md.
	EOF
}

check_submitter
read_series
rewrite_commits
make_worktree
format_series
run_checkpatch
write_recipients
print_next
