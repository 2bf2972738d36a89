#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Write host.json, the machine and guest a set of benchmark results came
from, and record the provenance of the set (the series, base package and
kernel configuration measured; ci/bench_provenance.py) in host.json and in
every result JSON of its directory.

Usage: bench-host.py OUT.json KERNEL_CONFIG CPUS MEM_MIB NODES GUEST_CPU_MODEL EXIT_STATUS
                     [PROVENANCE.json]
       bench-host.py --provenance KTREE KCONFIG_FILE KERNEL_CONFIG MAKE_TARGET OUT.json
(run on the host that ran the guest; ci/bench.sh calls the second form
before the run, the first after it with what the second wrote)
"""

import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_provenance  # noqa: E402


def main():
    if len(sys.argv) == 7 and sys.argv[1] == '--provenance':
        ktree, kconfig, kernel, target, out = sys.argv[2:]
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
        try:
            prov = bench_provenance.measured(root, ktree, kconfig, kernel,
                                             target)
        except ValueError as e:
            sys.exit('bench-host: {}'.format(e))
        with open(out, 'w') as f:
            json.dump(prov, f, indent=1, sort_keys=True)
            f.write('\n')
        return
    if len(sys.argv) not in (8, 9):
        sys.exit(__doc__)
    path, kernel, cpus, mem, nodes, guest_cpu, rc = sys.argv[1:8]
    prov = None
    if len(sys.argv) == 9:
        with open(sys.argv[8]) as f:
            prov = json.load(f)
    info = {}
    with open('/proc/cpuinfo') as f:
        for line in f:
            if not line.strip():
                break
            key, _, val = line.partition(':')
            info[key.strip()] = val.strip()
    model = '{}, family {} model {}, {} MHz'.format(
        info.get('model name', '?'), info.get('cpu family', '?'),
        info.get('model', '?'), info.get('cpu MHz', '?'))
    qemu = subprocess.run(['qemu-system-x86_64', '--version'],
                          capture_output=True, text=True).stdout.splitlines()
    guest_cpu = guest_cpu.split(':', 1)[-1].strip()
    # as host_key() in ci/lib.sh: what a baseline holds for
    key = '{}-{}-{}-{}cpus'.format(info.get('vendor_id', '?'),
                                   info.get('cpu family', '?'),
                                   info.get('model', '?'), os.cpu_count())
    host = {'host_cpu': model, 'host_cpus': os.cpu_count(), 'host_key': key,
            'qemu': qemu[0] if qemu else '?', 'kernel_config': kernel,
            'guest': {'cpus': int(cpus), 'mem_mib': int(mem),
                      'nodes': int(nodes), 'cpu': guest_cpu},
            'exit_status': int(rc)}
    if prov:
        host['provenance'] = prov
    with open(path, 'w') as f:
        json.dump(host, f, indent=1, sort_keys=True)
        f.write('\n')
    if prov:
        for res in glob.glob(os.path.join(os.path.dirname(path), '*.json')):
            if os.path.abspath(res) != os.path.abspath(path):
                bench_provenance.stamp(res, prov)


if __name__ == '__main__':
    main()
