#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Markdown tables of damon_bench results.

Reads the JSON files that selftests/damon_bench writes ($DAMON_BENCH_RESULTS)
and prints the tables of Documentation/benchmarks.md: the producer and
attribution numbers of each full run, and the ratios against the goals for
the full runs and, summarized, the smoke runs.

Usage: damon_bench_tables.py FULL.json... [--smoke SMOKE.json...]
"""

import argparse
import json
import statistics

PRODUCERS = [
    ('percpu_inc', 'bare `this_cpu_inc()`'),
    ('report_access', '**`damon_report_access()`**'),
    ('report_copy', 'its copy without `PROVE_RCU`\'s check (estimate)'),
    ('rcu_deref_sched', '`rcu_dereference_sched()` alone (the check)'),
    ('ring256', 'Ravi v2 ring push (model)'),
    ('tracepoint', 'tracepoint write'),
    ('mutex_array', 'SJ\'s mutex_trylock array (model)'),
    ('empty', 'empty timing loop'),
]

RATIOS = [
    ('tracepoint_over_report_access', 'tracepoint / `damon_report_access()`'),
    ('ring256_over_report_access', 'Ravi v2 push / `damon_report_access()`'),
    ('linear_over_bsearch_1000', 'linear / binary search, 1000 regions'),
    ('per_page_over_bsearch_10', 'per-page / binary search, 10 x 1 GiB'),
]

PHASES = [('owned', 'owned ring'), ('no_owner', 'no owner')]


def fmt(v, digits=1):
    if v is None:
        return 'n/a'
    return '{:,.{}f}'.format(v, 0 if v >= 1e6 else digits)


def row(*cells):
    return '| ' + ' | '.join(str(c) for c in cells) + ' |'


def head(align, *titles):
    """A table's header and rule; @align: l or r for each column."""
    return [row(*titles), row(*('---:' if a == 'r' else '---' for a in align))]


def text(parts):
    """Paragraphs (strings) and tables (lists of lines), blank line apart."""
    return '\n\n'.join(p if isinstance(p, str) else '\n'.join(p) for p in parts)


def series(block, name):
    return block.get('series', {}).get(name)


def med_p99(s):
    return '{} / {}'.format(fmt(s['median_ns']), fmt(s['p99_ns']))


def med_if_any(s):
    """The median of a series that has samples, else None."""
    return s['median_ns'] if s and s['n'] else None


def producer_table(run):
    phases = [(p, lbl) for p, lbl in PHASES if p in run.get('producer', {})]
    lines = head('l' + 'rr' * len(phases), 'producer, ns per call',
                 *('{} {}'.format(lbl, w) for _, lbl in phases for w in ('median', 'p99')))
    for name, label in PRODUCERS:
        ss = [series(run['producer'][p], name) for p, _ in phases]
        lines.append(row(label, *(fmt(s and s[k], 2) for s in ss
                                  for k in ('median_ns', 'p99_ns'))))
    owned = run['producer'].get('owned', {})
    info = owned.get('info', {})
    return lines + ['', '{} rounds of {} calls per method (n = {} batches), all in hard-IRQ '
                    'context with interrupts off; tracepoint events written: {}.'.format(
                        info.get('rounds'), info.get('batch'), info.get('rounds'),
                        owned.get('trace_written'))]


def attribution_tables(run):
    """The attribution table and that of the per-page method's parts, captioned."""
    attr = run.get('attribution', {})
    by_n = [(n, attr[n], attr[n]['per_report_ns']) for n in sorted(attr, key=int)]
    attribution = head('r' * 8, 'regions', 'binary search median / p99', 'linear median / p99',
                       'linear / bsearch', 'per-page, `xa_load()`', 'per-page, xas',
                       'per-page (xas) / bsearch', 'snapshot per interval') + [
        row(n, med_p99(series(a, 'bsearch')), med_p99(series(a, 'linear')),
            fmt(series(a, 'linear')['median_ns'] / series(a, 'bsearch')['median_ns']),
            fmt(per.get('per_page') or None, 0), fmt(per.get('per_page_xas') or None, 0),
            fmt(per['per_page_xas'] / per['bsearch_pp_amortized']
                if per.get('per_page_xas') and per.get('bsearch_pp_amortized') else None, 0),
            fmt(series(a, 'snapshot')['median_ns']))
        for n, a, per in by_n]
    per_page = head('r' * 7, 'regions', 'record, per report median / p99',
                    'walk of 1 GiB, `xa_load()` median', 'walk of 1 GiB, xas median',
                    'destroy per interval', 'bsearch next to the walks',
                    'end to end, per report') + [
        row(n, med_p99(series(a, 'pp_record')), fmt(med_if_any(series(a, 'pp_walk')), 0),
            fmt(med_if_any(series(a, 'pp_walk_xas')), 0),
            fmt(series(a, 'pp_destroy')['median_ns'], 0),
            fmt(med_if_any(series(a, 'bsearch_pp'))), fmt(per.get('per_page_direct') or None, 0))
        for n, a, per in by_n]
    return ['Attribution, per report (ns), 4096 reports per sampling interval, regions of 1 GiB; '
            'per-page columns amortize the interval\'s walk of every page over its reports:',
            attribution, 'The per-page method\'s parts (ns):', per_page]


def ratio_table(fulls, smokes):
    cols = ['full run {}'.format(i + 1) for i in range(len(fulls))]
    if smokes:
        cols.append('smoke, median (min..max) of {}'.format(len(smokes)))
    lines = head('lr' + 'r' * len(cols) + 'l', 'ratio (higher: ours cheaper)', 'goal', *cols,
                 'goal met?')
    for key, label in RATIOS:
        goal = (fulls or smokes)[0]['goals'][key]
        vals = [r['ratios'].get(key) for r in fulls]
        cells = [fmt(v, 2) for v in vals]
        if smokes:
            sv = [r['ratios'][key] for r in smokes if r['ratios'].get(key) is not None]
            cells.append('{} ({}..{})'.format(*(fmt(f(sv), 2)
                                                for f in (statistics.median, min, max))))
        met = [v is not None and v >= goal for v in vals]
        lines.append(row(label, '>= {:g}'.format(goal), *cells,
                         'yes' if all(met) else 'no' if not any(met) else 'in some runs'))
    return lines


def estimate_table(fulls):
    def ratio(p, num):
        return fmt(series(p, num)['median_ns'] / series(p, 'report_copy')['median_ns'], 2)

    return head('l' + 'r' * len(fulls), 'estimate without `PROVE_RCU` (`report_copy`)',
                *('full run {}'.format(i + 1) for i in range(len(fulls)))) + [
        row('{}, {}'.format(what, label), *(ratio(r['producer'][phase], num)
                                            if r['producer'].get(phase) else 'n/a' for r in fulls))
        for phase, label in PHASES
        for num, what in (('tracepoint', 'tracepoint / copy'), ('ring256', 'Ravi v2 push / copy'))]


def bench_parts(fulls, smokes, ratios_title, run_title):
    """The tables of each full run, under run_title(number, run), then those
    of the ratios under ratios_title."""
    parts = []
    for i, run in enumerate(fulls):
        parts += [run_title(i + 1, run), producer_table(run)] + attribution_tables(run)
    return parts + [ratios_title, ratio_table(fulls, smokes), estimate_table(fulls)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('full', nargs='+', help='results of damon_bench --full')
    ap.add_argument('--smoke', nargs='*', default=[], help='results of damon_bench --smoke')
    args = ap.parse_args()
    print(text(bench_parts(
        [json.load(open(f)) for f in args.full], [json.load(open(f)) for f in args.smoke],
        '### Ratios and goals', lambda i, run: '### Full run {}: {}, {}, kernel {}, {} CPUs, '
        '{:.0f} s'.format(i, run['accelerator'], run['cpu_model'], run['kernel'],
                          run['nr_cpus'], run['seconds']))))


if __name__ == '__main__':
    main()
