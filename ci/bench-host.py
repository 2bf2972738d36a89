#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Write host.json: the machine and guest a set of benchmark results came from.

Usage: bench-host.py OUT.json KERNEL_CONFIG CPUS MEM_MIB NODES GUEST_CPU_MODEL EXIT_STATUS
(run on the host that ran the guest; ci/bench.sh calls it after each run)
"""

import json
import os
import subprocess
import sys


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    path, kernel, cpus, mem, nodes, guest_cpu, rc = sys.argv[1:]
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
    with open(path, 'w') as f:
        json.dump({'host_cpu': model, 'host_cpus': os.cpu_count(),
                   'qemu': qemu[0] if qemu else '?', 'kernel_config': kernel,
                   'guest': {'cpus': int(cpus), 'mem_mib': int(mem),
                             'nodes': int(nodes), 'cpu': guest_cpu},
                   'exit_status': int(rc)}, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
