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

Diagnostics convention: a case's "# ..." lines are those printed BEFORE its
result line, after the previous result (kselftest and KUnit; the C++
selftests' ktap::writer, ci/static-checks.sh and ci/vm-verdict.sh print
them so too).  Lines after the last result belong to no case.

Every file (not --dmesg) is one program's output and is always counted: no
top-level plan line (a program that did not run, crashed first or printed
nothing) is one failure named after it; "1..0 # SKIP reason" is one skip;
a plan 1..N with fewer results counts the missing ones as failed ("not
run").  A file that cannot be read is one failure.
"""

import argparse
import re
import sys

RESULT = re.compile(r'^(\s*)(not ok|ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$')
PLAN = re.compile(r'^(\s*)1\.\.(\d+)')
TOP_PLAN = re.compile(r'^1\.\.(\d+)\s*(?:#\s*(.*))?$')
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
            failures.append(('%d planned tests not run' % (n - seen.get(d, 0)), diag))
    return passed, failed, skipped, failures


def judge(lines, name, dmesg=False):
    """Return (passed, failed, skipped, failures) for one input file.

    parse() plus the rules for a program's whole output: see the module
    docstring.  A whole-program skip is reported as a "SKIP: ..." entry in
    failures (printed, not counted as a failure).
    """
    if not dmesg:
        plans = [m for m in map(TOP_PLAN.match, (l.rstrip('\n') for l in lines)) if m]
        tail = [l.strip() for l in lines if DIAG.match(l)][-DIAG_LINES:]
        if not plans:
            what = 'no output' if not any(l.strip() for l in lines) else 'no KTAP plan line'
            return 0, 1, 0, [('%s: %s (did not run, or crashed before its plan)' % (name, what), tail)]
        if int(plans[0].group(1)) == 0:
            directive = (plans[0].group(2) or '').strip()
            if directive.upper().startswith('SKIP'):
                return 0, 0, 1, [('SKIP: %s: %s' % (name, directive[4:].strip() or 'no reason given'), [])]
            return 0, 1, 0, [('%s: plan 1..0 without SKIP' % name, tail)]
    p, f, s, failures = parse(lines)
    if p + f + s == 0:
        f = 1
        failures = [('%s: no test results found' % name, [])]
    return p, f, s, failures


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
        name = args.name or re.sub(r'\.ktap$', '', path.rsplit('/', 1)[-1])
        try:
            lines = read(path, args.dmesg)
        except OSError as e:
            lines, p, f, s = None, 0, 1, 0
            failures = [('%s: cannot read %s (%s)' % (name, path, e.strerror), [])]
        if lines is not None:
            p, f, s, failures = judge(lines, name, args.dmesg)
        print('%s: %d passed, %d failed, %d skipped' % (name, p, f, s))
        for fail, why in failures:
            if fail.startswith('SKIP: '):
                print('  %s' % fail)
                continue
            print('  FAILED: %s' % fail)
            for l in why:
                print('    %s' % l)
        tp, tf, ts = tp + p, tf + f, ts + s
    if args.total:
        print('%d passed, %d failed, %d skipped' % (tp, tf, ts))
    return 1 if tf else 0


if __name__ == '__main__':
    sys.exit(main())
