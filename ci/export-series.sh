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

# Fill the cover letter from cover-letter.txt.
cover=$dir/0000-cover-letter.patch
subject=$(head -n 1 "$cover_txt")
python3 - "$cover" "$cover_txt" <<'PY'
import sys
cover, txt = sys.argv[1], sys.argv[2]
lines = open(txt).read().split('\n')
subject, body = lines[0], '\n'.join(lines[2:]).rstrip('\n')
s = open(cover).read()
s = s.replace('*** SUBJECT HERE ***', subject).replace('*** BLURB HERE ***', body)
open(cover, 'w').write(s)
PY
[ "$cover_txt" -ef "$dir/cover-letter.txt" ] || cp -p "$cover_txt" "$dir/"

# Fixed Message-Ids: <damon-hwsample-v<ver>-<i>@invalid>; patches reply
# to the cover letter.  The cover letter's Date is the last patch's.
# Header lines are unfolded (b4 0.12 cannot copy a folded Subject).
tip_date=$(git -C "$KTREE" log -1 --format=%aD series)
i=0
for p in "$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
	id="<damon-hwsample-v$ver-$i@invalid>"
	root="<damon-hwsample-v$ver-0@invalid>"
	python3 - "$p" "$id" "$root" "$i" "$tip_date" <<'PY'
import sys
path, mid, root, idx, date = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
s = open(path).read()
head, sep, rest = s.partition('\n\n')
# Unfold continuation lines: b4 0.12 fails on a folded Subject.
lines = []
for l in head.split('\n'):
    if l[:1] in (' ', '\t') and lines:
        lines[-1] += ' ' + l.strip()
    else:
        lines.append(l)
if idx == 0:
    lines = ['Date: ' + date if l.startswith('Date: ') else l for l in lines]
extra = ['Message-Id: ' + mid]
if idx:
    extra += ['In-Reply-To: ' + root, 'References: ' + root]
open(path, 'w').write('\n'.join(lines + extra) + sep + rest)
PY
	i=$((i + 1))
done
cat "$dir"/[0-9][0-9][0-9][0-9]-*.patch > "$dir/series.mbx"
info "exported $nr patches and a cover letter to $dir"
