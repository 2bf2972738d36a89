#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Is test_damon_bench's copy of mm/damon/report.c in step with it? (review C8)

Usage: bench-copy-check.py KERNEL_TREE_REPORT_C BENCH_MODULE_C

The benchmark module (selftests/test_damon_bench/test_damon_bench.c) times copies of
report.c's static functions: the ring push and damon_report_access(), and
the attribution (snapshot, binary search).  A copy that drifted from the
series measures something else.  Each copied type and function is compared
with its original after the copy's names are mapped back (dbench_copy_ and
dbench_report_ to damon_report_), comments and whitespace are dropped and
the differences listed in ALLOWED below (each with its reason) are
applied to the original.  Exit status 1, with a diff, when one differs.
"""

import difflib
import re
import sys

# (original in report.c, copy in the module)
COPIES = [
    ('struct damon_report_ring', 'struct dbench_copy_ring'),
    ('struct damon_report_cpu', 'struct dbench_copy_cpu'),
    ('damon_report_ring_push', 'dbench_copy_ring_push'),
    ('damon_report_access', 'dbench_report_copy'),
    ('struct damon_report_target', 'struct dbench_report_target'),
    ('struct damon_report_snapshot', 'struct dbench_report_snapshot'),
    ('damon_report_free_snapshot', 'dbench_report_free_snapshot'),
    ('damon_report_reserve_snapshot', 'dbench_report_reserve_snapshot'),
    ('damon_report_take_snapshot', 'dbench_report_take_snapshot'),
    ('damon_report_mark', 'dbench_report_mark'),
    ('damon_report_paddr_range', 'dbench_report_paddr_range'),
    ('damon_report_source_bit', 'dbench_report_source_bit'),
    ('damon_report_attribute', 'dbench_report_attribute'),
]

# (in the original, as in the copy, why), on normalized text
ALLOWED = [
    ('bool damon_report_access(', 'bool damon_report_copy(',
     'the copy is a function of the module, beside the original'),
    ('rcu_dereference_sched(rc->ring)', 'rcu_dereference_raw(rc->ring)',
     'the module\'s own rings are published and freed by the module, '
     'outside RCU-sched'),
    ('damon_nr_regions(t)', 't->nr_regions',
     'damon_nr_regions() is not exported to modules'),
    ('rt->mm = damon_target_has_pid(ctx) ? damon_report_target_mm(t) : NULL;',
     'rt->mm = NULL;',
     'the benchmark context is a physical address one, and '
     'damon_report_target_mm() is not exported'),
    ('damon_region_add_reported(', 'dbench_region_add_reported(',
     'the helper is in mm/damon/report.h, which modules do not see: the '
     'module has a copy of it next to the one of damon_report_mark()'),
]


def strip(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    return text


def definition(text, name):
    """The text of struct NAME {...}; or of function NAME's definition."""
    if name.startswith('struct '):
        m = re.search(r'^' + re.escape(name) + r' \{\n.*?^\};\n', text, re.S | re.M)
    else:
        # the return type on the line of the name, or on its own line
        # before it ("static __always_inline bool\nname(")
        m = re.search(r'^(?:(?:(?:static|noinline|__always_inline) )+[\w \*]*\n'
                      r'|(?:static )?(?:noinline )?[a-z][\w \*]*?\b)' +
                      re.escape(name) + r'\([^;{]*?\)\n\{\n.*?^\}\n',
                      text, re.S | re.M)
    return m.group(0) if m else None


def normalize(text, copy):
    text = strip(text)
    if copy:
        text = text.replace('DBENCH_COPY_RING_ENTRIES', '@RING@')
        text = re.sub(r'\bdbench_copy_', 'damon_report_', text)
        text = re.sub(r'\bdbench_report_', 'damon_report_', text)
        text = text.replace('@RING@', 'DBENCH_COPY_RING_ENTRIES')
    text = re.sub(r'\b(static|noinline|__always_inline)\s+', '', text)
    text = ' '.join(text.split())
    return text


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    orig_text = open(sys.argv[1]).read()
    copy_text = open(sys.argv[2]).read()
    bad = []
    for orig_name, copy_name in COPIES:
        o = definition(orig_text, orig_name)
        c = definition(copy_text, copy_name)
        if o is None or c is None:
            bad.append('{}: not found in {}'.format(
                orig_name if o is None else copy_name,
                sys.argv[1] if o is None else sys.argv[2]))
            continue
        o, c = normalize(o, False), normalize(c, True)
        for was, now, _ in ALLOWED:
            o = o.replace(was, now)
        if o != c:
            split = lambda s: s.replace('; ', ';\n').replace('{ ', '{\n').splitlines()
            diff = difflib.unified_diff(split(o), split(c), 'report.c', 'copy',
                                        lineterm='', n=1)
            bad.append('{} differs from {}:\n{}'.format(copy_name, orig_name,
                                                       '\n'.join(list(diff)[2:14])))
    if bad:
        print('bench copy out of step with report.c:')
        print('\n'.join(bad))
        sys.exit(1)
    print('{} copies match report.c ({} listed differences)'.format(
        len(COPIES), len(ALLOWED)))


if __name__ == '__main__':
    main()
