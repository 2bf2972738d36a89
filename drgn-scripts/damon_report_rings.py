#!/usr/bin/env drgn
# SPDX-License-Identifier: GPL-2.0
"""Dump DAMON's per-CPU access report rings and their counters.

Reads the live kernel and prints, for every possible CPU, whether its ring
is there (rings exist only while a DAMON context consumes access reports:
a running context with at least one perf event owns them), the ring's
head, tail, fill and capacity, the nested-report guard, and the
eight counters that damon_report_read_stats() sums; then the owning
context (its kdamond's pid) and the totals over all CPUs.  With --json the
same as one JSON object:

    {"owner": ..., "owner_pid": ..., "capacity": ..., "cpus": [...],
     "totals": {...}}

A counter the kernel does not have (an older series) reads as null, except
pushed: the kernel keeps no per-CPU count of calls and sums the reports
drained, dropped and queued instead, and so does this script.

With --serve it keeps running for a test that dumps the rings many times
(loading the debug info is what takes long): it prints "ready" once it can
dump, then one dump as a JSON line for every line it reads on stdin, until
the end of its input.

Run as root with the drgn CLI (Debian bookworm's python3-drgn 0.0.22 has no
get_default_prog()):

    drgn -c /proc/kcore -s vmlinux damon_report_rings.py [--json] [-o FILE]

or with Python, taking vmlinux from $DAMON_HWS_VMLINUX:

    DAMON_HWS_VMLINUX=vmlinux python3 damon_report_rings.py [--json]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import drgn
from drgn import TypeKind
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.percpu import per_cpu

from damon_drgn_common import dump_or_exit, emit  # noqa: E402

# The counters of struct damon_report_stats, in its order; the per-CPU
# fields are these names with an nr_ prefix.
COUNTERS = ['pushed', 'dropped_full', 'dropped_nested', 'dropped_no_owner',
            'drained', 'attributed', 'unmatched', 'stale']
REPORT_C = 'mm/damon/report.c'


def get_prog():
    """The program drgn's CLI gives scripts, or one made from /proc/kcore."""
    if 'prog' in globals():
        return globals()['prog']
    vmlinux = os.environ.get('DAMON_HWS_VMLINUX')
    program = drgn.Program()
    program.set_kernel()
    if vmlinux:
        program.load_debug_info([vmlinux])
    else:
        program.load_default_debug_info()
    return program


def variable(program, name):
    """A global of mm/damon/report.c (static, so look in that file)."""
    try:
        return program.variable(name, REPORT_C)
    except LookupError:
        return program[name]


def strip_typedefs(type_):
    while type_.kind == TypeKind.TYPEDEF:
        type_ = type_.type
    return type_


def counter_value(obj, mask):
    """An unsigned long, local_t or atomic_long_t counter, as unsigned."""
    type_ = strip_typedefs(obj.type_)
    if type_.kind in (TypeKind.STRUCT, TypeKind.UNION):
        for member in ('a', 'counter'):
            if type_.has_member(member):
                return counter_value(obj.member_(member), mask)
        raise TypeError('unknown counter type %s' % obj.type_)
    return obj.value_() & mask


def ring_capacity(program):
    """Reports each ring holds, None while no context owns the rings.

    The rings are sized when a context takes them (damon_report_nr_entries);
    a series with fixed-size rings has the size in the type only.
    """
    try:
        nr = variable(program, 'damon_report_nr_entries').value_()
    except LookupError:
        ring_type = strip_typedefs(program.type('struct damon_report_ring'))
        entries = strip_typedefs(ring_type.member('entries').type)
        return int(entries.length)
    return int(nr) or None


def cpu_row(rc, cpu, mask):
    ring = rc.ring.read_()
    consumer = rc.consumer_ring.read_()
    # the producer's pointer says whether rings are in use; the
    # consumer's is the same ring, and outlives it briefly on release
    shown = ring if ring else consumer
    row = {
        'cpu': cpu,
        'ring': bool(ring),
        'consumer_ring': bool(consumer),
        'head': None,
        'tail': None,
        'fill': None,
        'busy': int(rc.busy),
    }
    if shown:
        # the tail first, as the kernel reads them: the head read after
        # it is not older, so the fill does not wrap below zero
        tail = counter_value(shown.tail, mask)
        head = counter_value(shown.head, mask)
        row.update(head=head, tail=tail, fill=(head - tail) & mask)
        if strip_typedefs(shown.type_.type).has_member('nr_entries'):
            row['capacity'] = int(shown.nr_entries)
    rc_type = strip_typedefs(rc.type_)
    for name in COUNTERS:
        field = 'nr_' + name
        row[name] = (counter_value(rc.member_(field), mask)
                     if rc_type.has_member(field) else None)
    if row['pushed'] is None:
        # no per-CPU count of calls (the series derives it): the reports
        # drained and dropped, plus those queued on the producer's ring,
        # as damon_report_sum_stats() adds them up
        queued = 0
        if ring:
            tail = counter_value(ring.tail, mask)
            queued = (counter_value(ring.head, mask) - tail) & mask
        row['pushed'] = (row['drained'] + row['dropped_full'] +
                         row['dropped_nested'] + row['dropped_no_owner'] +
                         queued) & mask
    return row


def owner_info(program):
    owner = variable(program, 'damon_report_owner').read_()
    if not owner:
        return None, None
    task = owner.kdamond.read_()
    return owner.value_(), int(task.pid) if task else None


def dump(program):
    mask = (1 << (8 * program.type('unsigned long').size)) - 1
    cpus_var = variable(program, 'damon_report_cpus')
    cpus = [cpu_row(per_cpu(cpus_var, cpu), cpu, mask)
            for cpu in for_each_possible_cpu(program)]
    totals = {}
    for name in COUNTERS:
        values = [row[name] for row in cpus]
        totals[name] = (None if None in values
                        else sum(values) & mask)
    owner, owner_pid = owner_info(program)
    return {
        'owner': owner,
        'owner_pid': owner_pid,
        'capacity': ring_capacity(program),
        'cpus': cpus,
        'totals': totals,
    }


def cell(value):
    if value is None:
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value)


def table(data):
    head = ['cpu', 'ring', 'head', 'tail', 'fill', 'capacity', 'busy'] + COUNTERS
    rows = []
    for row in data['cpus']:
        rows.append([cell(row['cpu']), cell(row['ring']), cell(row['head']),
                     cell(row['tail']), cell(row['fill']),
                     cell(row.get('capacity', data['capacity'])
                          if row['ring'] else None),
                     cell(row['busy'])] +
                    [cell(row[name]) for name in COUNTERS])
    rows.append(['total', '', '', '', '', '', ''] +
                [cell(data['totals'][name]) for name in COUNTERS])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = ['  '.join(c.rjust(w) for c, w in zip(r, widths))
             for r in [head] + rows]
    if data['owner'] is None:
        lines.append('owner: none (no context consumes access reports)')
    else:
        lines.append('owner: context 0x%x, kdamond pid %s' %
                     (data['owner'], cell(data['owner_pid'])))
    lines.append('ring capacity: %s reports' % cell(data['capacity']))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--json', action='store_true',
                        help='print JSON instead of a table')
    parser.add_argument('-o', '--output', help='write here, not stdout')
    parser.add_argument('--serve', action='store_true',
                        help='print "ready", then a JSON line a line of input')
    args = parser.parse_args()

    if args.serve:
        program = get_prog()
        # the first dump looks the types up: after it, dumps are quick
        dump_or_exit('damon_report_rings', lambda: dump(program))
        print('ready', flush=True)
        for _ in sys.stdin:
            data = dump_or_exit('damon_report_rings', lambda: dump(program))
            print(json.dumps(data, sort_keys=True), flush=True)
        return
    data = dump_or_exit('damon_report_rings', lambda: dump(get_prog()))
    emit(json.dumps(data, indent=2, sort_keys=True) if args.json
         else table(data), args.output)


if __name__ == '__main__':
    main()
