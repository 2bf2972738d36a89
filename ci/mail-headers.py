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

SUBJECT = '*** SUBJECT HERE ***'
BLURB = '*** BLURB HERE ***'


def unfold(head):
    lines = []
    for line in head.split('\n'):
        if line[:1] in (' ', '\t') and lines:
            lines[-1] += ' ' + line.strip()
        else:
            lines.append(line)
    return lines


def finish(path, i, args, cover):
    s = open(path).read()
    if i == 0 and cover:
        s = s.replace(SUBJECT, cover[0]).replace(BLURB, cover[1])
    head, sep, rest = s.partition('\n\n')
    lines = unfold(head)
    if i == 0 and args.base_commit:
        rest = '\n'.join('base-commit: ' + args.base_commit
                         if line.startswith('base-commit: ') else line
                         for line in rest.split('\n'))
    if args.thread:
        root = '<damon-hwsample-v{}-0@invalid>'.format(args.thread)
        if i == 0:
            lines = ['Date: ' + args.date if line.startswith('Date: ')
                     else line for line in lines]
        lines.append('Message-Id: <damon-hwsample-v{}-{}@invalid>'.format(
            args.thread, i))
        if i:
            lines += ['In-Reply-To: ' + root, 'References: ' + root]
    open(path, 'w').write('\n'.join(lines) + sep + rest)


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
    cover = None
    if args.cover:
        lines = open(args.cover).read().split('\n')
        cover = (lines[0], '\n'.join(lines[2:]).rstrip('\n'))
    for i, path in enumerate(sorted(args.patches)):
        finish(path, i, args, cover)


if __name__ == '__main__':
    main()
