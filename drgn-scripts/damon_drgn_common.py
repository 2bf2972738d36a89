# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the DAMON drgn scripts of this directory.

Not a script: the others import it (they put their own directory on
sys.path first, which works both under the drgn CLI and under python3).
"""

import argparse
import json
import sys

from drgn import FaultError, cast
from drgn.helpers.linux.pid import find_task


def kdamond_ctx(prog, pid):
    """The struct damon_ctx * that the kdamond with @pid works on."""
    task = find_task(prog, pid)
    if not task:
        raise LookupError('no task with pid %d' % pid)
    if not task.comm.string_().decode().startswith('kdamond'):
        raise LookupError('pid %d is not a kdamond' % pid)
    kthread = cast('struct kthread *', task.worker_private)
    return cast('struct damon_ctx *', kthread.data)


def dump_or_exit(name, make):
    """Return make(); on a lookup or memory read error, say so and exit 1."""
    try:
        return make()
    except (LookupError, FaultError) as e:
        print('%s: %s' % (name, e), file=sys.stderr)
        sys.exit(1)


def emit(text, output):
    """Write @text to the file @output, or to stdout if it is None."""
    if output:
        with open(output, 'w') as f:
            f.write(text + '\n')
    else:
        print(text)


def emit_json(data, output):
    emit(json.dumps(data, indent=2, sort_keys=True), output)


def kdamond_main(prog, name, doc, to_dict):
    """main() of a script that dumps, as JSON, the context of a kdamond.

    Takes --pid PID (the kdamond's) and -o FILE, and writes
    to_dict(<struct damon_ctx * of PID>).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--pid', type=int, required=True,
                        help='pid of the kdamond')
    parser.add_argument('-o', '--output', help='write here, not stdout')
    args = parser.parse_args()

    emit_json(dump_or_exit(name, lambda: to_dict(kdamond_ctx(prog, args.pid))),
              args.output)
