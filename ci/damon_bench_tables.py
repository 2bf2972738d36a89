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


def fmt(v, digits=1):
    if v is None:
        return 'n/a'
    if v >= 1e6:
        return '{:,.0f}'.format(v)
    return '{:,.{}f}'.format(v, digits)


def series(block, name):
    return block.get('series', {}).get(name)


def producer_table(run):
    phases = [p for p in ('owned', 'no_owner') if p in run.get('producer', {})]
    head = '| producer, ns per call |'
    rule = '| --- |'
    for p in phases:
        label = 'owned ring' if p == 'owned' else 'no owner'
        head += ' {0} median | {0} p99 |'.format(label)
        rule += ' ---: | ---: |'
    lines = [head, rule]
    for name, label in PRODUCERS:
        row = '| {} |'.format(label)
        for p in phases:
            s = series(run['producer'][p], name)
            row += ' {} | {} |'.format(fmt(s and s['median_ns'], 2),
                                       fmt(s and s['p99_ns'], 2))
        lines.append(row)
    owned = run['producer'].get('owned', {})
    info = owned.get('info', {})
    lines.append('')
    lines.append('{} rounds of {} calls per method (n = {} batches), all in '
                 'hard-IRQ context with interrupts off; tracepoint events '
                 'written: {}.'.format(info.get('rounds'), info.get('batch'),
                                       info.get('rounds'),
                                       owned.get('trace_written')))
    return lines


def attribution_table(run):
    attr = run.get('attribution', {})
    lines = ['| regions | binary search median / p99 | linear median / p99 | '
             'linear / bsearch | per-page, `xa_load()` | per-page, xas | '
             'per-page (xas) / bsearch | snapshot per interval |',
             '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for n in sorted(attr, key=int):
        a = attr[n]
        b, l = series(a, 'bsearch'), series(a, 'linear')
        snap = series(a, 'snapshot')
        per = a['per_report_ns']
        pp_ratio = None
        if per.get('per_page_xas') and per.get('bsearch_pp_amortized'):
            pp_ratio = per['per_page_xas'] / per['bsearch_pp_amortized']
        lines.append('| {} | {} / {} | {} / {} | {} | {} | {} | {} | {} |'.format(
            n, fmt(b['median_ns']), fmt(b['p99_ns']), fmt(l['median_ns']),
            fmt(l['p99_ns']), fmt(l['median_ns'] / b['median_ns']),
            fmt(per.get('per_page') or None, 0),
            fmt(per.get('per_page_xas') or None, 0), fmt(pp_ratio, 0),
            fmt(snap['median_ns'])))
    return lines


def per_page_table(run):
    attr = run.get('attribution', {})
    lines = ['| regions | record, per report median / p99 | walk of 1 GiB, '
             '`xa_load()` median | walk of 1 GiB, xas median | destroy per '
             'interval | bsearch next to the walks | end to end, per report |',
             '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for n in sorted(attr, key=int):
        a = attr[n]
        rec, w = series(a, 'pp_record'), series(a, 'pp_walk')
        wx, d = series(a, 'pp_walk_xas'), series(a, 'pp_destroy')
        bpp = series(a, 'bsearch_pp')
        direct = a['per_report_ns'].get('per_page_direct') or None
        lines.append('| {} | {} / {} | {} | {} | {} | {} | {} |'.format(
            n, fmt(rec['median_ns']), fmt(rec['p99_ns']),
            fmt(w['median_ns'] if w['n'] else None, 0),
            fmt(wx['median_ns'] if wx['n'] else None, 0),
            fmt(d['median_ns'], 0),
            fmt(bpp['median_ns'] if bpp and bpp['n'] else None),
            fmt(direct, 0)))
    return lines


def ratio_table(fulls, smokes):
    head = '| ratio (higher: ours cheaper) | goal |'
    rule = '| --- | ---: |'
    for i in range(len(fulls)):
        head += ' full run {} |'.format(i + 1)
        rule += ' ---: |'
    if smokes:
        head += ' smoke, median (min..max) of {} |'.format(len(smokes))
        rule += ' ---: |'
    head += ' goal met? |'
    rule += ' --- |'
    lines = [head, rule]
    for key, label in RATIOS:
        goal = fulls[0]['goals'][key] if fulls else smokes[0]['goals'][key]
        vals = [r['ratios'].get(key) for r in fulls]
        row = '| {} | >= {:g} |'.format(label, goal)
        row += ''.join(' {} |'.format(fmt(v, 2)) for v in vals)
        if smokes:
            sv = [r['ratios'][key] for r in smokes
                  if r['ratios'].get(key) is not None]
            row += ' {} ({}..{}) |'.format(fmt(statistics.median(sv), 2),
                                           fmt(min(sv), 2), fmt(max(sv), 2))
        met = [v is not None and v >= goal for v in vals]
        row += ' {} |'.format('yes' if all(met) else 'no' if not any(met)
                              else 'in some runs')
        lines.append(row)
    return lines


def estimate_table(fulls):
    lines = ['| estimate without `PROVE_RCU` (`report_copy`) | ' +
             ' | '.join('full run {}'.format(i + 1) for i in range(len(fulls))) +
             ' |', '| --- |' + ' ---: |' * len(fulls)]
    for phase, label in (('owned', 'owned ring'), ('no_owner', 'no owner')):
        for num, what in (('tracepoint', 'tracepoint / copy'),
                          ('ring256', 'Ravi v2 push / copy')):
            row = '| {}, {} |'.format(what, label)
            for r in fulls:
                p = r['producer'].get(phase)
                if not p:
                    row += ' n/a |'
                    continue
                row += ' {} |'.format(fmt(series(p, num)['median_ns'] /
                                          series(p, 'report_copy')['median_ns'], 2))
            lines.append(row)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('full', nargs='+', help='results of damon_bench --full')
    ap.add_argument('--smoke', nargs='*', default=[],
                    help='results of damon_bench --smoke')
    args = ap.parse_args()
    fulls = [json.load(open(f)) for f in args.full]
    smokes = [json.load(open(f)) for f in args.smoke]

    out = []
    for i, run in enumerate(fulls):
        out.append('### Full run {}: {}, {}, kernel {}, {} CPUs, {:.0f} s'.format(
            i + 1, run['accelerator'], run['cpu_model'], run['kernel'],
            run['nr_cpus'], run['seconds']))
        out.append('')
        out += producer_table(run)
        out.append('')
        out.append('Attribution, per report (ns), 4096 reports per sampling '
                   'interval, regions of 1 GiB; per-page columns amortize '
                   'the interval\'s walk of every page over its reports:')
        out.append('')
        out += attribution_table(run)
        out.append('')
        out.append('The per-page method\'s parts (ns):')
        out.append('')
        out += per_page_table(run)
        out.append('')
    out.append('### Ratios and goals')
    out.append('')
    out += ratio_table(fulls, smokes)
    out.append('')
    out += estimate_table(fulls)
    print('\n'.join(out))


if __name__ == '__main__':
    main()
