#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Provision kernel-tree/: a git work tree whose first commit (tag 'base') is
# the v7.3.y base and whose branch 'series' is that base plus patches/.
#
# Source of the base, in order of preference:
#   KERNEL_GIT=<url> KERNEL_REF=<ref>   clone an upstream tree (e.g. v7.3.4)
#   otherwise                          Debian's binary package
#                                      linux-source-$KVER_SERIES from
#                                      $KSRC_SUITE, exactly the version
#                                      $KSRC_VERSION pinned in series.conf,
#                                      fetched with apt-get download
#                                      (verified against the signed index);
#                                      when the suite no longer has it (and
#                                      it is not cached) provisioning fails,
#                                      naming the pin and what the suite has.
#
# Caches (under $CACHE): the .deb, and a bare git repo holding the base
# commit, keyed by package version, so re-runs neither download nor extract.
# An existing kernel-tree/ whose commits already equal patches/ is left as
# it is; one that differs is kept on a backup branch before re-applying.
#
# Dependencies: apt-get, dpkg-deb, tar, xz, git.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly DEB_DIR=$CACHE/deb

# Print "<package> <version>" of the base: the version pinned in
# series.conf, which the suite must have; never another one.
pick_package() {
	local pkg="linux-source-$KVER_SERIES" ver
	local -a vers

	: "${KSRC_VERSION:?series.conf pins no KSRC_VERSION}"
	mapfile -t vers < <(private_apt "$KSRC_SUITE" apt-cache madison "$pkg" | awk -F'|' '{gsub(/ /,"",$2); print $2}')
	for ver in "${vers[@]}"; do
		if [ "$ver" = "$KSRC_VERSION" ]; then
			echo "$pkg $ver"
			return
		fi
	done
	die "$pkg $KSRC_VERSION (pinned in series.conf) is not in $KSRC_SUITE; it has: ${vers[*]:-nothing}.  Taking another version changes the base: change KSRC_VERSION in series.conf on purpose (then rebase the series, re-audit ci/upstream-base.audit, re-run make bench), or put ${pkg}_${KSRC_VERSION}_all.deb into $DEB_DIR"
}

# Make sure $CACHE/base-<ver>.git holds the base commit for the Debian
# package and print its path.
debian_base() {
	local pkg ver deb repo tmp kver

	mkdir -p "$DEB_DIR"
	# The pinned version from the cache when it is there (a base commit,
	# else the .deb); the suite's index (refreshed at most hourly) only
	# when it is not.
	pkg=linux-source-$KVER_SERIES ver=$KSRC_VERSION
	repo=$CACHE/base-$ver.git
	if git -C "$repo" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
		echo "$repo"
		return
	fi

	deb=$(ls "$DEB_DIR/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		read -r pkg ver < <(pick_package) || exit "$KSFT_FAIL"
		info "downloading $pkg $ver"
		(cd "$DEB_DIR" && private_apt "$KSRC_SUITE" apt-get -q download "$pkg=$ver" >&2) ||
			die "apt-get download $pkg=$ver failed"
		deb=$(ls "$DEB_DIR/${pkg}_${ver//:/%3a}_"*.deb | head -n 1)
	fi
	[ "$(dpkg-deb -f "$deb" Package Version | awk '{print $2}' | tr '\n' ' ')" = "$pkg $ver " ] ||
		die "$deb is not $pkg $ver (pinned in series.conf)"

	tmp=$(mktemp -d "$CACHE/extract.XXXXXX")
	trap 'rm -rf "$tmp"' RETURN
	info "extracting $deb"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./usr/src/$pkg.tar.xz"
	tar -xJf "$tmp/usr/src/$pkg.tar.xz" -C "$tmp"
	rm -f "$tmp/usr/src/$pkg.tar.xz"
	kver=$(make -s -C "$tmp/$pkg" kernelversion 2>/dev/null)

	info "committing the base (Linux $kver, $pkg $ver)"
	git -C "$tmp/$pkg" init -q -b upstream-base
	git -C "$tmp/$pkg" add -A -f .
	# Fixed identity and date: the base commit id depends only on the
	# package contents, so every machine gets the same one.
	GIT_AUTHOR_NAME="Debian $pkg" GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org" \
	GIT_COMMITTER_NAME="Debian $pkg" GIT_COMMITTER_EMAIL="debian-kernel@lists.debian.org" \
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git -C "$tmp/$pkg" commit -q --no-verify -m "Linux $kver ($pkg $ver)" \
			-m "Base for the DAMON hardware-sampling series: Linux $kver with Debian's patches, from Debian's binary package $pkg version $ver (suite $KSRC_SUITE)."
	git -C "$tmp/$pkg" tag base
	rm -rf "$repo.tmp"
	git clone -q --bare "$tmp/$pkg" "$repo.tmp"
	git -C "$repo.tmp" tag -f base "$(git -C "$tmp/$pkg" rev-parse base)" >/dev/null
	mv "$repo.tmp" "$repo"
	printf '%s\n' "package=$pkg" "version=$ver" "kernelversion=$kver" \
		"base_commit=$(git -C "$repo" rev-parse refs/tags/base)" > "$repo/BASE_INFO"
	echo "$repo"
}

# Make sure $CACHE/git-<hash>.git holds KERNEL_REF of KERNEL_GIT as 'base'.
git_base() {
	local repo=$CACHE/git-$(printf '%s' "$KERNEL_GIT" | sha1sum | cut -c1-12).git
	local commit kver

	if [ ! -d "$repo" ]; then
		info "cloning $KERNEL_GIT ($KERNEL_REF)"
		git clone -q --bare --depth 1 --branch "$KERNEL_REF" "$KERNEL_GIT" "$repo.tmp" ||
			die "git clone $KERNEL_GIT $KERNEL_REF failed"
		mv "$repo.tmp" "$repo"
	fi
	commit=$(git -C "$repo" rev-parse "$KERNEL_REF^{commit}")
	git -C "$repo" tag -f base "$commit" >/dev/null
	kver=$(git -C "$repo" show "$commit:Makefile" | awk '/^VERSION/{v=$3} /^PATCHLEVEL/{p=$3} /^SUBLEVEL/{s=$3} END{print v"."p"."s}')
	printf '%s\n' "package=git:$KERNEL_GIT" "version=$KERNEL_REF" \
		"kernelversion=$kver" "base_commit=$commit" > "$repo/BASE_INFO"
	echo "$repo"
}

# Patch ids of the commits base..series, one a line.
tree_patch_ids() {
	git -C "$KTREE" log -p --reverse base..series 2>/dev/null |
		git patch-id --stable | awk '{print $1}'
}

file_patch_ids() {
	local p
	for p in "$PROJ_ROOT"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
		[ -e "$p" ] || continue
		case $p in */0000-cover-letter.patch) continue ;; esac
		git patch-id --stable < "$p"
	done | awk '{print $1}'
}

apply_series() {
	local -a patches=()
	local p

	for p in "$PROJ_ROOT"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		[ -e "$p" ] && patches+=("$p")
	done
	git -C "$KTREE" checkout -q -B series base
	[ ${#patches[@]} -gt 0 ] || { info "patches/ is empty: series = base"; return; }
	info "applying ${#patches[@]} patches with git am -3"
	if ! git -C "$KTREE" -c user.name="$SERIES_AUTHOR_NAME" \
		-c user.email="$SERIES_AUTHOR_EMAIL" am -q -3 --keep-cr "${patches[@]}"; then
		git -C "$KTREE" am --abort || true
		die "patches/ does not apply to the base ($(tr '\n' ' ' < "$(ktree_gitdir)/BASE_INFO")): rebase the series"
	fi
}

# The commit the superproject's gitlink kernel-tree pins, or nothing when
# KTREE is not this project's submodule path (KTREE=elsewhere).
pinned_base() {
	[ "$KTREE" -ef "$PROJ_ROOT/kernel-tree" ] || return 0
	git -C "$PROJ_ROOT" ls-files -s -- kernel-tree | awk '$1 == "160000" {print $2}'
}

# The pin must be the base this machine provisioned: the base commit is a
# function of the package alone (fixed identity and dates), so a mismatch
# means series.conf and the gitlink disagree.  A base from KERNEL_GIT is
# another commit by design: the submodule then shows it with a '+'.
check_pin() {
	local base=$1 pin
	pin=$(pinned_base)
	[ -n "$pin" ] && [ -z "${KERNEL_GIT:-}" ] && [ "$pin" != "$base" ] &&
		die "the superproject pins kernel-tree at $pin but $(sed -n 's/^package=//p' "$repo/BASE_INFO") $KSRC_VERSION gives base $base: a 'git commit -a' records kernel-tree's series tip as the pin; restore the base with 'git update-index --cacheinfo 160000,$base,kernel-tree' and commit it (the same after changing KSRC_VERSION on purpose)"
	return 0
}

# Make kernel-tree/ the checked-out submodule, offline: the URL is
# overridden (in .git/config only) by the local object store of the base,
# so 'git submodule update --init' clones from it and never from the
# network.  With KTREE elsewhere, a plain clone.
init_tree() {
	local repo=$1
	if [ -n "$(pinned_base)" ]; then
		git -C "$PROJ_ROOT" config submodule.kernel-tree.url "$repo"
		git -C "$PROJ_ROOT" config submodule.kernel-tree.update checkout
		# file:// clones of submodules need this since git 2.38.1
		git -C "$PROJ_ROOT" -c protocol.file.allow=always \
			submodule update -q --init -- kernel-tree
	else
		git clone -q --no-checkout "$repo" "$KTREE"
	fi
	git -C "$KTREE" fetch -q "$repo" 'refs/tags/base:refs/tags/base'
}

main() {
	local repo backup base

	if [ -n "${KERNEL_GIT:-}" ]; then
		: "${KERNEL_REF:?KERNEL_GIT needs KERNEL_REF, e.g. v7.3.4}"
		repo=$(git_base)
	else
		repo=$(debian_base)
	fi
	base=$(git -C "$repo" rev-parse refs/tags/base)
	check_pin "$base"
	# a tree made before kernel-tree/ was a submodule: register it
	if [ -n "$(pinned_base)" ] && have_ktree; then
		git -C "$PROJ_ROOT" config submodule.kernel-tree.url "$repo"
		git -C "$PROJ_ROOT" config submodule.kernel-tree.update checkout
	fi

	if have_ktree &&
	   [ "$(git -C "$KTREE" rev-parse -q --verify refs/tags/base 2>/dev/null)" = "$base" ]; then
		if [ "$(tree_patch_ids)" = "$(file_patch_ids)" ]; then
			# 'git submodule update' detaches HEAD at the pin
			if [ "$(git -C "$KTREE" symbolic-ref -q --short HEAD)" != series ]; then
				[ -z "$(git -C "$KTREE" status --porcelain --untracked-files=no)" ] ||
					die "kernel-tree/ has uncommitted changes; commit or stash them first"
				git -C "$KTREE" checkout -q series
				info "kernel-tree/: branch 'series' checked out again"
			fi
			info "kernel-tree/ is up to date with patches/"
			return
		fi
		backup=series-backup-$(date +%Y%m%d-%H%M%S)
		if [ -n "$(git -C "$KTREE" rev-list base..series 2>/dev/null)" ]; then
			git -C "$KTREE" branch -f "$backup" series
			info "kernel-tree/ differs from patches/: old branch kept as $backup"
		fi
		if [ -n "$(git -C "$KTREE" status --porcelain --untracked-files=no)" ]; then
			die "kernel-tree/ has uncommitted changes; commit or stash them first"
		fi
	else
		# a fresh clone has an empty kernel-tree/ (the unpopulated submodule)
		[ ! -e "$KTREE" ] || [ -z "$(ls -A "$KTREE")" ] ||
			die "$KTREE exists but is not this base's tree; move it away"
		info "creating kernel-tree/ from $repo"
		init_tree "$repo"
	fi
	cp "$repo/BASE_INFO" "$(ktree_gitdir)/BASE_INFO"
	apply_series
	info "kernel-tree/: $(tr '\n' ' ' < "$(ktree_gitdir)/BASE_INFO")"
}

# Sourced (by ci/tests/), it only defines the functions.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
main "$@"
