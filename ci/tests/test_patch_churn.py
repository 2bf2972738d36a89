# SPDX-License-Identifier: GPL-2.0
"""ci/patch-churn.py (review-v1 B5): a patch that rewrites lines an earlier
patch added is counted, a change to the base's lines is not, and a grant
must equal the count either way."""

import os
import subprocess
import sys

from harness import CI, TmpTest, bash

CHURN = os.path.join(CI, 'patch-churn.py')


class PatchChurn(TmpTest):
    """base: a.c; patch one adds two lines; patch two rewrites one of them
    and a base line, and adds a line."""

    def setUp(self):
        super().setUp()
        self.tree = self.tmp + '/k'
        rc, out = bash('''
			set -e
			git init -q "$K"; cd "$K"
			git config user.name t; git config user.email t@invalid
			printf 'int a;\\nint b;\\n' > a.c; git add a.c
			git commit -q -m base; git branch base
			printf 'int a;\\nint b;\\nint c;\\n\\nint d;\\n' > a.c
			git commit -q -a -m 'add c and d'
			printf 'int a2;\\nint b;\\nint c2;\\n\\nint d;\\nint e;\\n' > a.c
			git commit -q -a -m 'rewrite c'
			git branch series
		''', env={'K': self.tree})
        self.assertEqual(rc, 0, out)

    def churn(self, grants=None, *extra):
        cmd = [sys.executable, CHURN, '--tree', self.tree] + list(extra)
        if grants is not None:
            cmd += ['--allowed', self.write('grants', grants)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        return r.returncode, r.stdout.splitlines()

    def test_rewritten_line_of_an_earlier_patch_is_counted(self):
        rc, lines = self.churn(None, '-v')
        self.assertEqual(rc, 1)
        self.assertTrue(lines[0].startswith('ok|churn/0001-add-c-and-d|0 '),
                        lines)
        self.assertTrue(lines[1].startswith('not ok|churn/0002-rewrite-c|1 '),
                        lines)
        # the base's line a is not churn, c of patch 1 is
        self.assertIn('first a.c:3 of patch 1: int c;', lines[1])
        self.assertEqual(lines[2], '#   a.c:3 (patch 01) int c;')

    def test_exact_grant_passes(self):
        rc, lines = self.churn('1 | rewrite c | c becomes c2\n')
        self.assertEqual(rc, 0, lines)
        self.assertTrue(lines[1].startswith('ok|churn/0002-rewrite-c|'))

    def test_grant_above_the_count_fails(self):
        rc, lines = self.churn('2 | rewrite c | c becomes c2\n')
        self.assertEqual(rc, 1)
        self.assertIn('but 2 granted: lower the grant', lines[1])

    def test_grant_of_no_patch_fails(self):
        rc, lines = self.churn('1 | rewrite c | c becomes c2\n'
                               '3 | gone | a patch that was dropped\n')
        self.assertEqual(rc, 1)
        self.assertEqual(lines[-1], 'not ok|churn/stale-grant|no patch has '
                         'the subject "gone"')

    def test_grant_without_reason_is_refused(self):
        rc, lines = self.churn('1 | rewrite c |\n')
        self.assertNotEqual(rc, 0)
        self.assertIn('expected "N | subject | reason"', lines[-1])
