# SPDX-License-Identifier: GPL-2.0
"""Shared helpers of the harness self-tests (ci/tests/test_*.py).

HWS_CI_DIR names the ci/ directory under test (default: this one's parent),
so that the tests can be run against an older copy of the scripts.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

CI = os.path.abspath(os.environ.get('HWS_CI_DIR') or
                     os.path.join(os.path.dirname(__file__), '..'))


def summary(*paths, dmesg=False):
    """Run ktap_summary.py on files; return (exit status, output)."""
    cmd = [sys.executable, os.path.join(CI, 'ktap_summary.py')]
    if dmesg:
        cmd.append('--dmesg')
    r = subprocess.run(cmd + ['--total'] + list(paths),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return r.returncode, r.stdout


def totals(out):
    """The last "N passed, N failed, N skipped" line as a tuple."""
    last = out.strip().splitlines()[-1].split()
    return int(last[0]), int(last[2]), int(last[4])


def bash(script, env=None, cwd=None):
    """Run a bash snippet; return (exit status, stdout + stderr)."""
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(['bash', '-c', script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, env=e, cwd=cwd)
    return r.returncode, r.stdout


class TmpTest(unittest.TestCase):
    """A test case with a scratch directory self.tmp."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='hws-harness-test.')
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, rel, text):
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return path
