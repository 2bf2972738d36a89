# SPDX-License-Identifier: GPL-2.0
"""ci/static-checks.sh and the static verdict cache of ci/check.sh, on a
throwaway kernel tree with stub tools (review C3, C4, C11)."""

import os
import re
import unittest

from harness import CI, TmpTest, bash, summary

STATIC = os.path.join(CI, 'static-checks.sh')


def sourceable():
    # An old static-checks.sh without the guard would run every check.
    with open(STATIC) as f:
        return re.search(r'BASH_SOURCE\[0\]\}?"? = "\$0" \] \|\| return',
                         f.read()) is not None


class StaticChecks(TmpTest):
    def setUp(self):
        super().setUp()
        self.assertTrue(sourceable(), 'static-checks.sh cannot be sourced')
        t = self.tmp
        self.ktree, self.build = t + '/ktree', t + '/build'
        rc, out = bash('''
			set -e
			git init -q "$K"; cd "$K"
			git config user.name t; git config user.email t@invalid
			mkdir -p mm/damon scripts Documentation
			echo 'int x;' > mm/damon/core.c
			printf '#!/bin/sh\\necho "Traceback: kernel-doc crashed" >&2\\nexit 2\\n' > scripts/kernel-doc
			chmod +x scripts/kernel-doc
			git add -A; git commit -q -m base; git branch base
			echo doc > Documentation/damon.rst
			git add -A; git commit -q -m 'Docs: add damon.rst'; git branch series
			mkdir -p "$B/kernel"; echo CONFIG_X=y > "$B/kernel/.config"
			echo vmlinux > "$B/kernel/vmlinux"
			git worktree add -q --detach "$B/bisect-src" base
			mkdir -p "$T/bin"
			printf '#!/bin/sh\\necho "ffffffff81000000 T damon_report_access"\\n' > "$T/bin/nm"
			printf '#!/bin/sh\\nexit 0\\n' > "$T/bin/objdump"
			chmod +x "$T/bin/nm" "$T/bin/objdump"
		''', env={'K': self.ktree, 'B': self.build, 'T': t})
        self.assertEqual(rc, 0, out)

    def run_check(self, check):
        """Source static-checks.sh, run one check, return its cases."""
        rc, out = bash('''
			. "$S" "$T/out/static.ktap" > /dev/null 2>&1
			%s > "$T/check.log" 2>&1 || echo "check exited $?"
			printf 'CASE %%s\\n' "${cases[@]}"
		''' % check, env={'S': STATIC, 'T': self.tmp, 'KTREE': self.ktree,
                          'BUILD': self.build,
                          'PATH': self.tmp + '/bin:' + os.environ['PATH']})
        self.assertEqual(rc, 0, out)
        return [l[5:] for l in out.splitlines() if l.startswith('CASE ')]

    def test_empty_disassembly_fails_nmi_path_no_lock(self):
        cases = self.run_check('check_nmi_path')
        self.assertEqual(len(cases), 1, cases)
        self.assertTrue(cases[0].startswith('not ok|nmi_path_no_lock|'), cases)

    def test_kernel_doc_exit_status_counts(self):
        cases = self.run_check('check_kernel_doc')
        self.assertEqual(len(cases), 1, cases)
        self.assertTrue(cases[0].startswith('not ok|kernel-doc|'), cases)

    def test_docs_only_patch_is_not_built_ok(self):
        cases = self.run_check('check_per_patch_build')
        self.assertEqual(len(cases), 1, cases)
        self.assertTrue(cases[0].startswith('skip|build/0001-'), cases)
        self.assertIn('docs-only', cases[0])

    def test_posting_patch_without_its_list_is_named(self):
        patch = ('From x\nSubject: [PATCH 1/2] mm/damon: x\n{}\n---\n'
                 'diff --git a/mm/damon/core.c b/mm/damon/core.c\n')
        self.write('p/0001-mm-damon-x.patch', patch.format('Cc: linux-mm@kvack.org'))
        self.write('p/0002-perf-x86.patch', 'Subject: x\nTo: x86@kernel.org\n'
                   'Cc: linux-perf-users@vger.kernel.org\n\n---\n'
                   'diff --git a/arch/x86/events/amd/ibs.c b/arch/x86/events/amd/ibs.c\n')
        rc, out = bash('''
			. "$S" "$T/out/static.ktap" > /dev/null 2>&1
			echo "[$(posting_recipients_missing "$T/p")]"
		''', env={'S': STATIC, 'T': self.tmp, 'KTREE': self.ktree,
                  'BUILD': self.build})
        self.assertEqual(rc, 0, out)
        self.assertIn('[ 0001:damon@lists.linux.dev]', out)
        self.write('p/0001-mm-damon-x.patch', patch.format('Cc: damon@lists.linux.dev'))
        rc, out = bash('''
			. "$S" "$T/out/static.ktap" > /dev/null 2>&1
			echo "[$(posting_recipients_missing "$T/p")]"
		''', env={'S': STATIC, 'T': self.tmp, 'KTREE': self.ktree,
                  'BUILD': self.build})
        self.assertIn('[]', out)

    def test_submodule_pin_must_be_the_base(self):
        # a superproject whose gitlink kernel-tree is the series tip, as
        # 'git commit -a' records it
        rc, out = bash('''
			set -e
			base=$(git -C "$K" rev-parse base) tip=$(git -C "$K" rev-parse series)
			git init -q "$R"; cd "$R"; mkdir patches
			printf 'base-commit: %s\\n' "$base" > patches/series.mbx
			git update-index --add --cacheinfo "160000,$tip,kernel-tree"
			git add patches
			git -c user.name=t -c user.email=t@invalid commit -q -m tip
			. "$S" "$T/out/static.ktap" > /dev/null 2>&1
			echo "[$(submodule_pin_problem "$R")]"
			git update-index --cacheinfo "160000,$base,kernel-tree"
			git -c user.name=t -c user.email=t@invalid commit -q -m base
			echo "[$(submodule_pin_problem "$R")]"
		''', env={'S': STATIC, 'T': self.tmp, 'K': self.ktree,
                  'KTREE': self.ktree, 'BUILD': self.build,
                  'R': self.tmp + '/super'})
        self.assertEqual(rc, 0, out)
        lines = [l for l in out.splitlines() if l.startswith('[')]
        self.assertEqual(len(lines), 2, out)
        self.assertIn('pins kernel-tree at', lines[0])
        self.assertEqual(lines[1], '[]')

    def test_failed_case_gets_its_own_note(self):
        rc, out = bash('''
			. "$S" "$T/out/static.ktap" > /dev/null 2>&1
			write_ktap "ok|first|note of first" "not ok|second|why second failed" \\
				"ok|third|note of third" > "$T/static.ktap"
		''', env={'S': STATIC, 'T': self.tmp, 'KTREE': self.ktree,
                  'BUILD': self.build})
        self.assertEqual(rc, 0, out)
        rc, out = summary(self.tmp + '/static.ktap')
        self.assertEqual(rc, 1, out)
        second = out.split('FAILED: second', 1)[1]
        self.assertIn('why second failed', second)
        self.assertNotIn('note of', second)

    def test_restricted_run_lists_the_checks_not_run(self):
        rc, out = bash('"$S" "$T/out/static.ktap"',
                       env={'S': STATIC, 'T': self.tmp, 'KTREE': self.ktree,
                            'BUILD': self.build,
                            'STATIC_CHECKS': 'check_nmi_path',
                            'PATH': self.tmp + '/bin:' + os.environ['PATH']})
        self.assertEqual(rc, 0, out)
        with open(self.tmp + '/out/static.ktap') as f:
            ktap = f.read()
        self.assertRegex(ktap, r'ok \d+ static_checks_not_run # SKIP .*check_sparse')


class StaticCache(TmpTest):
    """A restricted run (STATIC_CHECKS=...) is neither stored nor reused as
    the full verdict (ci/lib.sh static_checks_cached, used by check.sh)."""

    def cached(self, restricted):
        stub = self.write('proj/ci/static-checks.sh',
                          '#!/bin/bash\necho "1..1 # ${STATIC_CHECKS:-full}" > "$1"\n'
                          'echo run >> "%s/runs"\n' % self.tmp)
        os.chmod(stub, 0o755)
        rc, out = bash('''
			. "$CI/lib.sh"
			PROJ_ROOT=$T/proj BUILD=$T/build
			mkdir -p "$BUILD"
			static_checks_cached "$T/static.ktap" "$T/static.log" KEY
		''', env={'CI': CI, 'T': self.tmp, 'KTREE': self.tmp + '/no-tree',
                  'STATIC_CHECKS': 'check_b4' if restricted else ''})
        self.assertEqual(rc, 0, out)
        with open(self.tmp + '/static.ktap') as f:
            return f.read()

    def runs(self):
        with open(self.tmp + '/runs') as f:
            return len(f.readlines())

    def test_restricted_run_is_not_reused_as_full(self):
        self.cached(restricted=True)
        self.assertIn('full', self.cached(restricted=False))
        self.assertEqual(self.runs(), 2)
        # the full verdict is reused by a full run only
        self.assertIn('full', self.cached(restricted=False))
        self.assertEqual(self.runs(), 2)
        self.assertIn('check_b4', self.cached(restricted=True))
        self.assertEqual(self.runs(), 3)
        self.assertIn('full', self.cached(restricted=False))
        self.assertEqual(self.runs(), 3)


if __name__ == '__main__':
    unittest.main()
