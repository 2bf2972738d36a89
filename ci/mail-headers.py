#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Finish git format-patch output for posting or for patches/.

Usage: mail-headers.py [--cover TXT] [--base-commit ID]
                       [--thread VERSION --date DATE] PATCH...

PATCH... are the files of one series, the cover letter first (sorted by
name, as format-patch numbers them).  Every file's header lines are
unfolded: b4 0.12 fails on a folded Subject.  With --cover, the cover
letter's placeholders get the subject (first line of TXT) and the body
(TXT from its third line).  With --base-commit, the cover letter's
base-commit: line names ID.  With --thread, every file gets the fixed
Message-Id <damon-hwsample-v<VERSION>-<i>@invalid>, the patches reply to
the cover letter, and the cover letter's Date is DATE.

Used by ci/export-series.sh (--cover, --thread) and
ci/prepare-posting.sh (--cover, --base-commit).
"""

import argparse
import re


def set_line(text, key, value):
    return re.sub('(?m)^' + re.escape(key) + '.*', lambda m: key + value, text)


def finish(path, i, args, cover):
    s = open(path).read()
    if i == 0 and cover:
        s = s.replace('*** SUBJECT HERE ***', cover[0]).replace(
            '*** BLURB HERE ***', '\n'.join(cover[2:]).rstrip('\n'))
    head, sep, rest = s.partition('\n\n')
    head = re.sub(r'\n[ \t]([^\n]*)', lambda m: ' ' + m.group(1).strip(), head)
    if i == 0 and args.base_commit:
        rest = set_line(rest, 'base-commit: ', args.base_commit)
    if args.thread:
        own, root = ('<damon-hwsample-v{}-{}@invalid>'.format(args.thread, n)
                     for n in (i, 0))
        if i == 0:
            head = set_line(head, 'Date: ', args.date)
        head += '\nMessage-Id: ' + own
        if i:
            head += '\nIn-Reply-To: {0}\nReferences: {0}'.format(root)
    open(path, 'w').write(head + sep + rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cover', metavar='TXT')
    ap.add_argument('--base-commit', metavar='ID')
    ap.add_argument('--thread', metavar='VERSION')
    ap.add_argument('--date')
    ap.add_argument('patches', nargs='+')
    args = ap.parse_args()
    if args.thread and not args.date:
        ap.error('--thread needs --date')
    cover = args.cover and open(args.cover).read().split('\n')
    for i, path in enumerate(sorted(args.patches)):
        finish(path, i, args, cover)


if __name__ == '__main__':
    main()
