# SPDX-License-Identifier: GPL-2.0
"""ci/mutants-report.py --check refuses a mutant whose patch no longer
applies to the series tip: three mutants had recorded results of a series
they no longer applied to, and --check passed."""

import importlib.util
import os
import sys

from harness import CI, TmpTest, bash


def load_report():
    if CI not in sys.path:
        sys.path.insert(0, CI)
    spec = importlib.util.spec_from_file_location(
        'mutants_report', os.path.join(CI, 'mutants-report.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class MutantApplies(TmpTest):
    """A tree whose 'series' branch has a.c; a work tree with other
    changes; a mutant made against 'series' and one made against an
    older a.c."""

    def setUp(self):
        super().setUp()
        self.tree = self.tmp + '/k'
        self.muts = self.tmp + '/ci/mutants'
        rc, out = bash('''
			set -e
			mkdir -p "$M"
			git init -q "$K"; cd "$K"
			git config user.name t; git config user.email t@invalid
			printf 'int a;\\nint b;\\nint c;\\n' > a.c; git add a.c
			git commit -q -m base
			sed -i 's/int b;/int b2;/' a.c; git diff > "$M/old.patch"
			git checkout -q a.c
			printf 'int a;\\nint b1;\\nint c;\\n' > a.c
			git commit -q -a -m 'rename b'; git branch series
			sed -i 's/int c;/long c;/' a.c; git diff > "$M/new.patch"
			echo 'int dirty;' >> a.c
		''', env={'K': self.tree, 'M': self.muts})
        self.assertEqual(rc, 0, out)
        self.mod = load_report()
        self.mod.ROOT = self.tmp

    def not_applying(self, names):
        old = os.environ.get('KTREE')
        os.environ['KTREE'] = self.tree
        try:
            return self.mod.not_applying(names)
        finally:
            if old is None:
                del os.environ['KTREE']
            else:
                os.environ['KTREE'] = old

    def test_stale_patch_refused(self):
        self.assertEqual(self.not_applying(['new', 'old']), ['old'])

    def test_no_series_branch_refuses_all(self):
        bash('cd "$K" && git branch -q -m series other',
             env={'K': self.tree})
        self.assertEqual(self.not_applying(['new']), ['new'])
