#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Regenerate patches/ from the commits base..series in kernel-tree/:
#   NNNN-*.patch     git format-patch output, numbered, "[RFC PATCH n/m]"
#   0000-cover-letter.patch
#                    subject and body from patches/cover-letter.txt (first
#                    line = subject, then a blank line, then the body)
#   series.mbx       cover letter and patches in one mbox, threaded with
#                    fixed Message-Ids, for `b4 shazam -m`
# The output depends only on the commits and cover-letter.txt, so an
# unchanged series exports byte-identical files.  PATCHES_DIR overrides
# the output directory (static checks export to a scratch one and compare).
# The version (v1, v2, ...) comes from SERIES_VERSION (default 1).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${PATCHES_DIR:-$PROJ_ROOT/patches}
cover_txt=$PROJ_ROOT/patches/cover-letter.txt
ver=${SERIES_VERSION:-1}
have_ktree || die "no kernel-tree/: run 'make kernel-tree'"

nr=$(git -C "$KTREE" rev-list --count base..series)
mkdir -p "$dir"
rm -f "$dir"/[0-9][0-9][0-9][0-9]-*.patch "$dir"/series.mbx
if [ "$nr" -eq 0 ]; then
	info "series is empty: nothing to export"
	[ ! -r "$cover_txt" ] || [ "$cover_txt" -ef "$dir/cover-letter.txt" ] ||
		cp -p "$cover_txt" "$dir/"
	exit 0
fi
[ -r "$cover_txt" ] || die "no $cover_txt (first line: subject; blank line; body)"

prefix=$SERIES_SUBJECT_PREFIX
[ "$ver" = 1 ] || prefix="$prefix v$ver"
# --zero-commit: the "From <sha>" lines carry no commit id, so re-applying
# the series (new committer dates, new ids) exports the same bytes.  The
# cover letter is from the placeholder identity, not the machine's.
git -C "$KTREE" -c user.name="$SERIES_AUTHOR_NAME" -c user.email="$SERIES_AUTHOR_EMAIL" \
	format-patch -q --zero-commit --cover-letter --no-signature --base=base \
	--subject-prefix="$prefix" --numbered -o "$dir" base..series

[ "$cover_txt" -ef "$dir/cover-letter.txt" ] || cp -p "$cover_txt" "$dir/"

# The cover letter from cover-letter.txt; fixed Message-Ids
# <damon-hwsample-v<ver>-<i>@invalid>, patches replying to the cover letter,
# whose Date is the last patch's; header lines unfolded.
"$PROJ_ROOT/ci/mail-headers.py" --cover "$cover_txt" --thread "$ver" \
	--date "$(git -C "$KTREE" log -1 --format=%aD series)" \
	"$dir"/[0-9][0-9][0-9][0-9]-*.patch
cat "$dir"/[0-9][0-9][0-9][0-9]-*.patch > "$dir/series.mbx"
info "exported $nr patches and a cover letter to $dir"
