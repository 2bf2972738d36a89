#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the lines each patch of the series rewrites of earlier patches.

review-v1 B5: nothing should be added in one patch and removed or rewritten
in a later one.  For each commit of BASE..TIP, the lines it removes are
blamed in its parent; a removed non-blank line that a commit of the series
(not the base) added is churn.  Changing the base's lines is not churn.

ci/patch-churn-allowed grants a patch, by subject, the churn it has, with
the reason.  A patch's case fails when its churn differs from its grant
either way: more is a regression, less means the grant (and the reason
written there) is out of date.  So the file always states the series'
churn.

Output: one "ok|churn/NNNN-name|note" or "not ok|..." line per patch (the
case format of ci/static-checks.sh), or with -v every churned line as
"file:line (patch NN) text".  Exit status 0 when every case is ok.
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path


def git(tree, *args):
    return subprocess.run(['git', '-C', tree, *args], check=True,
                          capture_output=True, text=True).stdout


def removed_ranges(tree, commit):
    """Yield (path, first, count) of the old-side lines @commit removes."""
    out = git(tree, 'diff', '-U0', '--no-renames', '--no-color',
              commit + '^', commit)
    path = None
    for line in out.splitlines():
        if line.startswith('--- '):
            path = None if line == '--- /dev/null' else line[6:]
            continue
        m = re.match(r'@@ -(\d+)(?:,(\d+))? ', line)
        if m and path:
            count = 1 if m.group(2) is None else int(m.group(2))
            if count:
                yield path, int(m.group(1)), count


def churned_lines(tree, commit, series):
    """Yield (path, line, origin, text) of the series' lines @commit removes."""
    for path, first, count in removed_ranges(tree, commit):
        out = git(tree, 'blame', '--porcelain', '-L',
                  '%d,+%d' % (first, count), commit + '^', '--', path)
        origin = lineno = None
        for line in out.splitlines():
            m = re.match(r'([0-9a-f]{40}) \d+ (\d+)', line)
            if m:
                origin, lineno = m.group(1), int(m.group(2))
            elif line.startswith('\t') and origin in series and \
                    line[1:].strip():
                yield path, lineno, origin, line[1:]


def read_grants(path):
    """{subject: (lines, reason)} from "N | subject | reason" lines."""
    grants = {}
    if not path:
        return grants
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        fields = [f.strip() for f in line.split('|')]
        if len(fields) != 3 or not fields[0].isdigit() or not fields[2]:
            sys.exit('%s:%d: expected "N | subject | reason"' % (path, n))
        grants[fields[1]] = (int(fields[0]), fields[2])
    return grants


def case_name(tree, i, commit):
    slug = git(tree, 'log', '-1', '--format=%f', commit).strip()[:52]
    return 'churn/%04d-%s' % (i, slug)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tree', default='kernel-tree')
    ap.add_argument('--base', default='base')
    ap.add_argument('--tip', default='series')
    ap.add_argument('--allowed', help='grants file (ci/patch-churn-allowed)')
    ap.add_argument('-v', '--verbose', action='store_true',
                    help='list every churned line')
    args = ap.parse_args()
    commits = git(args.tree, 'rev-list', '--reverse',
                  '%s..%s' % (args.base, args.tip)).split()
    index = {c: i for i, c in enumerate(commits, 1)}
    grants = read_grants(args.allowed)
    subjects = set()
    bad = 0
    for i, c in enumerate(commits, 1):
        subject = git(args.tree, 'log', '-1', '--format=%s', c).strip()
        subjects.add(subject)
        lines = list(churned_lines(args.tree, c, index))
        granted = grants.get(subject, (0, ''))[0]
        first = ''
        if lines:
            path, lineno, origin, text = lines[0]
            first = '; first %s:%d of patch %d: %s' % (
                path, lineno, index[origin], text.strip()[:60])
        if len(lines) == granted:
            res, note = 'ok', '%d line(s) of earlier patches rewritten, as granted' % granted
        elif len(lines) > granted:
            res, note = 'not ok', '%d line(s) of earlier patches rewritten, %d granted%s' % (
                len(lines), granted, first)
        else:
            res, note = 'not ok', '%d line(s) of earlier patches rewritten, but %d granted: lower the grant' % (
                len(lines), granted)
        bad += res != 'ok'
        print('%s|%s|%s' % (res, case_name(args.tree, i, c), note))
        if args.verbose:
            for path, lineno, origin, text in lines:
                print('#   %s:%d (patch %02d) %s' % (path, lineno,
                                                    index[origin], text.rstrip()))
    for subject in sorted(set(grants) - subjects):
        bad += 1
        print('not ok|churn/stale-grant|no patch has the subject "%s"' % subject)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
