#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the leaf test cases in KTAP/TAP output and print the totals.

Usage: ktap_summary.py [--dmesg] [--name NAME] FILE... [--total]

Reads KTAP as printed by kselftest programs (and this project's scripts)
or, with --dmesg, the KUnit KTAP inside a kernel log ("[ time] " prefixes
are removed).  Every result line whose test had no subtests counts once:
pass, fail or skip.  A parent that failed without a failed subtest, and
tests a plan announced but that never reported, count as failed.  Prints
one "suite: P passed, F failed, S skipped" line a file and, with --total, a
last line "N passed, N failed, N skipped".  Under each failed test it
prints the last DIAG_LINES diagnostic ("# ...") lines the test printed
before its result, so that a CI log alone tells why.  Exit status 1 if anything
failed or no test was found, else 0.
"""

import argparse
import re
import sys

RESULT = re.compile(r'^(\s*)(not ok|ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$')
PLAN = re.compile(r'^(\s*)1\.\.(\d+)')
TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\]\s?')
DIAG = re.compile(r'^\s*#')
DIAG_LINES = 12
# kselftest runner nesting ("# ok 1 ...") is not used here; KUnit indents.


def parse(lines):
    """Return (passed, failed, skipped, failures) for one KTAP stream.

    failures is a list of (name, diagnostic lines) pairs.
    """
    passed = failed = skipped = 0
    failures = []
    diag = []
    # Per indent depth: did a deeper result appear since the last result at
    # this depth, did a deeper failure appear, results seen, plan.
    deeper_seen = {}
    deeper_failed = {}
    seen = {}
    plan = {}

    for raw in lines:
        line = raw.rstrip('\n')
        m = PLAN.match(line)
        if m:
            depth = len(m.group(1))
            plan[depth] = int(m.group(2))
            seen[depth] = 0
            continue
        m = RESULT.match(line)
        if not m:
            if DIAG.match(line):
                diag = (diag + [line.strip()])[-DIAG_LINES:]
            continue
        why, diag = diag, []
        depth = len(m.group(1))
        ok = m.group(2) == 'ok'
        name = m.group(4) or 'test %s' % m.group(3)
        directive = (m.group(5) or '').strip()
        seen[depth] = seen.get(depth, 0) + 1
        has_children = deeper_seen.get(depth, False)
        child_failed = deeper_failed.get(depth, False)
        # Subtests deeper than this result are finished: check their plans.
        for d in sorted(set(plan) | set(deeper_seen)):
            if d <= depth:
                continue
            if d in plan and seen.get(d, 0) < plan[d]:
                missing = plan[d] - seen.get(d, 0)
                failed += missing
                failures.append(('%s: %d planned subtests missing' % (name, missing), why))
            plan.pop(d, None)
            seen.pop(d, None)
            deeper_seen.pop(d, None)
            deeper_failed.pop(d, None)
        deeper_seen[depth] = False
        deeper_failed[depth] = False
        # This result is a subtest of every shallower level.
        bad = not ok and not directive.upper().startswith('SKIP')
        for d in range(depth):
            deeper_seen[d] = True
            deeper_failed[d] = deeper_failed.get(d, False) or bad
        if has_children:
            if not ok and not child_failed and not directive.upper().startswith('SKIP'):
                failed += 1
                failures.append((name + ' (parent failed)', why))
            continue
        if directive.upper().startswith('SKIP'):
            skipped += 1
        elif ok or directive.upper().startswith('XFAIL'):
            passed += 1
        else:
            failed += 1
            failures.append((name, why))
    for d, n in plan.items():
        if seen.get(d, 0) < n and d == min(plan):
            failed += n - seen.get(d, 0)
            failures.append(('%d planned tests missing' % (n - seen.get(d, 0)), diag))
    return passed, failed, skipped, failures


def read(path, dmesg):
    with open(path, errors='replace') as f:
        lines = f.readlines()
    if dmesg:
        lines = [TIMESTAMP.sub('', l) for l in lines]
        # Only the KTAP part of the log: from the first KTAP header on.
        for i, l in enumerate(lines):
            if l.startswith('KTAP version') or l.startswith('TAP version'):
                lines = lines[i:]
                break
        else:
            lines = []
    return lines


def main():
    ap = argparse.ArgumentParser(description='Count KTAP test results.')
    ap.add_argument('--dmesg', action='store_true',
                    help='inputs are kernel logs with KUnit KTAP')
    ap.add_argument('--total', action='store_true',
                    help='end with the "N passed, N failed, N skipped" line')
    ap.add_argument('--name', help='suite name to print (one input)')
    ap.add_argument('files', nargs='+')
    args = ap.parse_args()

    tp = tf = ts = 0
    for path in args.files:
        p, f, s, failures = parse(read(path, args.dmesg))
        if p + f + s == 0:
            f = 1
            failures = [('no test results found', [])]
        name = args.name or re.sub(r'\.ktap$', '', path.rsplit('/', 1)[-1])
        print('%s: %d passed, %d failed, %d skipped' % (name, p, f, s))
        for fail, why in failures:
            print('  FAILED: %s' % fail)
            for l in why:
                print('    %s' % l)
        tp, tf, ts = tp + p, tf + f, ts + s
    if args.total:
        print('%d passed, %d failed, %d skipped' % (tp, tf, ts))
    return 1 if tf else 0


if __name__ == '__main__':
    sys.exit(main())
