#!/usr/bin/env drgn
# SPDX-License-Identifier: GPL-2.0
"""Dump the perf events a DAMON context samples with, as JSON.

Reads the live kernel (drgn -c /proc/kcore -s vmlinux) and prints, for the
context of the kdamond with the given pid: whether it owns the access
report rings, whether its events are armed, and for each event its
attributes (struct damon_perf_event_attr, under the kernel's field names),
whether it has kernel counters, whether it reports physical addresses, and
for every possible CPU the state of its counter there (active, inactive,
off, error, exit, revoked, dead, or null when the CPU has none), plus the
CPUs covered, the addresses of the counters (struct perf_event, to tell
whether a commit replaced them) and the per-CPU sample counts summed:

    {"ctx": ..., "owner": ..., "perf_armed": ..., "events": [
        {"index": 0, "attr": {...}, "counters": true, "paddr": true,
         "armed": true, "sample_type": ..., "cpus": {"0": "active", ...},
         "counter_addrs": {"0": ..., ...},
         "nr_cpus": 4, "nr_errored": 0, "nr_accepted": ...,
         "nr_invalid": ..., "nr_dropped": ..., "nr_foreign": ...}]}

nr_cpus and nr_errored count the counters as damon_perf_read_stats() does:
a counter in the error state (the PMU refused it) is errored, any other is
a CPU the event samples on.

Run as root with the drgn CLI (Debian bookworm's python3-drgn 0.0.22 has no
get_default_prog()):

    drgn -c /proc/kcore -s vmlinux damon_perf_events.py --pid PID [-o FILE]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from drgn import cast
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.percpu import per_cpu_ptr

from damon_drgn_common import kdamond_main  # noqa: E402

ATTR_FIELDS = [
    ['type', int], ['config', int], ['config1', int], ['config2', int],
    ['sample_phys_addr', bool], ['exclude_kernel', bool],
    ['exclude_hv', bool], ['freq', bool], ['sample_freq', int],
    ['sample_period', int], ['precise_ip', int],
]
COUNTERS = ['nr_accepted', 'nr_invalid', 'nr_dropped', 'nr_foreign']


def local_value(obj):
    """A local_t counter (an atomic_long_t inside) as a Python int."""
    return obj.a.counter.value_()


def state_names():
    names = {}
    for name, value in prog.type('enum perf_event_state').enumerators:
        names[value] = name[len('PERF_EVENT_STATE_'):].lower()
    return names


def perf_to_dict(perf, states):
    out = {
        'counters': bool(perf),
        'paddr': None,
        'armed': None,
        'sample_type': None,
        'cpus': {},
        'counter_addrs': {},
        'nr_cpus': 0,
        'nr_errored': 0,
    }
    for name in COUNTERS:
        out[name] = 0
    if not perf:
        return out
    perf = cast('struct damon_perf *', perf)
    out['paddr'] = bool(perf.paddr)
    out['armed'] = bool(perf.armed)
    out['sample_type'] = int(perf.attr.sample_type)
    for cpu in for_each_possible_cpu(prog):
        pc = per_cpu_ptr(perf.cpus, cpu)
        event = pc.event.read_()
        if event:
            state = event.state.value_()
            out['cpus'][str(cpu)] = states.get(state, state)
            out['counter_addrs'][str(cpu)] = event.value_()
            # as damon_perf_read_stats(): a refused counter is errored
            if states.get(state) == 'error':
                out['nr_errored'] += 1
            else:
                out['nr_cpus'] += 1
        else:
            out['cpus'][str(cpu)] = None
        for name in COUNTERS:
            out[name] += local_value(pc.member_(name))
    return out


def event_to_dict(index, event, states):
    out = {
        'index': index,
        'attr': {name: conv(getattr(event.attr, name))
                 for name, conv in ATTR_FIELDS},
    }
    out.update(perf_to_dict(event.perf.read_(), states))
    return out


def ctx_to_dict(ctx):
    owner = prog.variable('damon_report_owner', 'mm/damon/report.c')
    states = state_names()
    events = list_for_each_entry(
        'struct damon_perf_event',
        ctx.sample_control.perf_events.address_of_(), 'list')
    return {
        'ctx': ctx.value_(),
        'owner': owner.value_() == ctx.value_(),
        'perf_armed': bool(ctx.sample_control.perf_armed),
        'events': [event_to_dict(i, e, states) for i, e in enumerate(events)],
    }


def main():
    kdamond_main(prog, 'damon_perf_events', __doc__, ctx_to_dict)


if __name__ == '__main__':
    main()
