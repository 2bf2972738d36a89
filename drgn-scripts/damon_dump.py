#!/usr/bin/env drgn
# SPDX-License-Identifier: GPL-2.0
"""Dump the DAMON context that a running kdamond works on, as JSON.

Reads the live kernel (drgn -c /proc/kcore -s vmlinux) and prints the
monitoring attributes, operations, targets with their regions, and schemes
of the context owned by the kdamond with the given pid.  Keys are the
kernel's field names, so tests can compare them with what they wrote to
DAMON's sysfs files.  Configuration is exact; region lists and counters are
a snapshot of a running kdamond.

Run as root with the drgn CLI (Debian bookworm's python3-drgn 0.0.22 has no
get_default_prog()):

    drgn -c /proc/kcore -s vmlinux damon_dump.py --pid PID [-o FILE]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from drgn.helpers.linux.list import list_for_each_entry

from damon_drgn_common import kdamond_main  # noqa: E402


def enum_name(obj, prefix):
    """Name of an enum value without its prefix; the number if unknown."""
    value = obj.value_()
    for name, number in obj.type_.enumerators:
        if number == value:
            return name[len(prefix):].lower() if name.startswith(prefix) else name
    return value


def to_dict(obj, fields):
    return {name: conv(getattr(obj, name)) for name, conv in fields}


def intervals_goal_to_dict(goal):
    return to_dict(goal, [
        ['access_bp', int],
        ['aggrs', int],
        ['min_sample_us', int],
        ['max_sample_us', int],
    ])


def attrs_to_dict(attrs):
    return to_dict(attrs, [
        ['sample_interval', int],
        ['aggr_interval', int],
        ['ops_update_interval', int],
        ['intervals_goal', intervals_goal_to_dict],
        ['min_nr_regions', int],
        ['max_nr_regions', int],
    ])


def region_to_dict(region):
    return {
        'start': int(region.ar.start),
        'end': int(region.ar.end),
        'nr_accesses': int(region.nr_accesses),
        'age': int(region.age),
    }


def pid_nr(pid):
    if not pid:
        return None
    return int(pid.numbers[0].nr)


def target_to_dict(target):
    return {
        'pid': pid_nr(target.pid),
        'obsolete': bool(target.obsolete),
        'nr_regions': int(target.nr_regions),
        'regions': [region_to_dict(r) for r in list_for_each_entry(
            'struct damon_region', target.regions_list.address_of_(),
            'list')],
    }


def access_pattern_to_dict(pattern):
    return to_dict(pattern, [
        ['min_sz_region', int],
        ['max_sz_region', int],
        ['min_nr_accesses', int],
        ['max_nr_accesses', int],
        ['min_age_region', int],
        ['max_age_region', int],
    ])


def scheme_to_dict(scheme):
    return {
        'pattern': access_pattern_to_dict(scheme.pattern),
        'action': enum_name(scheme.action, 'DAMOS_'),
        'apply_interval_us': int(scheme.apply_interval_us),
    }


def ctx_to_dict(ctx):
    return {
        'attrs': attrs_to_dict(ctx.attrs),
        'ops': enum_name(ctx.ops.id, 'DAMON_OPS_'),
        'addr_unit': int(ctx.addr_unit),
        'min_region_sz': int(ctx.min_region_sz),
        'pause': bool(ctx.pause),
        'targets': [target_to_dict(t) for t in list_for_each_entry(
            'struct damon_target', ctx.adaptive_targets.address_of_(),
            'list')],
        'schemes': [scheme_to_dict(s) for s in list_for_each_entry(
            'struct damos', ctx.schemes.address_of_(), 'list')],
    }


def main():
    kdamond_main(prog, 'damon_dump', __doc__, ctx_to_dict)


if __name__ == '__main__':
    main()
