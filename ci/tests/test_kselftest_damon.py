# SPDX-License-Identifier: GPL-2.0
"""ci/vm-verdict.sh on upstream's DAMON kselftests as ci/guest-tests.sh
leaves them: every test of the installed list is counted, a failure that
the unpatched base shares (ci/kselftest-damon-base-failures) is a SKIP
that says so, any other failure fails (review B7)."""

import glob
import os
import unittest

from harness import CI, TmpTest, bash, summary, totals


def runner_ktap(name, result):
    """What run_kselftest.sh -t damon:NAME prints."""
    out = 'TAP version 13\n1..1\n# timeout set to 45\n'
    out += '# selftests: damon: %s\n# some output\n' % name
    if result is not None:
        out += '%s 1 selftests: damon: %s\n' % (result, name)
    return out


class KselftestDamon(TmpTest):
    def vm(self, tests, installed=None, base_failures='',
           timeout='rc 124 after 1 s\n'):
        """tests: name -> runner output or None (no file); installed: the
        host's kselftest-list.txt names (default: tests' names)."""
        vmr = os.path.join(self.tmp, 'vm')
        names = list(tests) if installed is None else installed
        kslist = self.write('install/kselftest-list.txt',
                            ''.join('damon:%s\n' % n for n in names))
        self.write('vm/kselftest-damon.list',
                   ''.join('damon:%s\n' % n for n in tests))
        for n, ktap in tests.items():
            if ktap is not None:
                self.write('vm/kselftest-damon/%s.ktap' % n, ktap)
                self.write('vm/kselftest-damon/%s.secs' % n, '7\n')
        if timeout is not None:
            self.write('vm/kselftest-damon-timeout.txt', timeout)
        self.write('vm/tests.list', 'damon_x\n')
        self.write('vm/selftests/damon_x.ktap', 'TAP version 13\n1..1\nok 1 a\n')
        self.write('vm/exit-status', '0\n')
        bf = self.write('base-failures', base_failures)
        args = [vmr, os.path.join(self.tmp, 'ktap'), '', '', kslist]
        rc, out = bash('exec "%s/vm-verdict.sh" %s' %
                       (CI, ' '.join("'%s'" % a for a in args)),
                       env={'KTREE': self.tmp + '/no-tree',
                            'KSELFTEST_BASE_FAILURES': bf})
        self.assertEqual(rc, 0, out)
        return sorted(glob.glob(os.path.join(self.tmp, 'ktap',
                                             'kselftest-damon*.ktap')))

    def test_every_installed_test_is_counted(self):
        files = self.vm({
            'sysfs.sh': runner_ktap('sysfs.sh', 'ok'),
            'sysfs.py': runner_ktap('sysfs.py', 'not ok'),
            'reclaim.sh': runner_ktap('reclaim.sh', 'ok') .replace(
                'ok 1 selftests: damon: reclaim.sh',
                'ok 1 selftests: damon: reclaim.sh # SKIP'),
            'lru_sort.sh': None,
            'killed.py': runner_ktap('killed.py', None),
        }, installed=['sysfs.sh', 'sysfs.py', 'reclaim.sh', 'lru_sort.sh',
                      'killed.py', 'not_in_guest_list.py'])
        # six tests and kselftest_damon_timeouts_work
        self.assertEqual(len(files), 7, files)
        rc, out = summary(*files)
        self.assertEqual(rc, 1, out)
        # sysfs.py failed, lru_sort.sh and not_in_guest_list.py left no
        # output, killed.py printed no result
        self.assertEqual(totals(out), (2, 4, 1), out)
        self.assertIn('not_in_guest_list.py', out)
        with open(files[0]) as f:
            self.assertIn('7 s in the VM', f.read())

    def test_base_failure_is_a_skip_with_the_bases_reason(self):
        files = self.vm({
            'sysfs.py': runner_ktap('sysfs.py', 'not ok').replace(
                'damon: sysfs.py\n', 'damon: sysfs.py # exit=1\n'),
            'sysfs.sh': runner_ktap('sysfs.sh', 'not ok'),
            'reclaim.sh': runner_ktap('reclaim.sh', 'ok'),
        }, base_failures='# comment\nsysfs.py exit=1 (drgn cannot read x)\n'
                         'reclaim.sh exit=1\n')
        rc, out = summary(*files)
        self.assertEqual(rc, 1, out)
        # reclaim.sh and the timeouts case pass (a base failure that
        # passes here is a pass), sysfs.py is the base's, sysfs.sh ours
        self.assertEqual(totals(out), (2, 1, 1), out)
        self.assertIn('FAILED: selftests: damon: sysfs.sh', out)
        with open(os.path.join(self.tmp, 'ktap',
                               'kselftest-damon-sysfs.py.ktap')) as f:
            py = f.read()
        self.assertIn('\nok 1 selftests: damon: sysfs.py # SKIP fails on '
                      'the unpatched base kernel too: exit=1 (drgn cannot '
                      'read x)\n', py)
        # the runner's output stays, above the case
        self.assertIn('# some output\n', py)
        with open(os.path.join(self.tmp, 'ktap',
                               'kselftest-damon-sysfs.sh.ktap')) as f:
            self.assertNotIn('unpatched base', f.read())

    def test_timeouts_that_cannot_fire_fail(self):
        for timeout in [None, 'rc 0 after 3 s\n']:
            files = self.vm({'sysfs.sh': runner_ktap('sysfs.sh', 'ok')},
                            timeout=timeout)
            rc, out = summary(*files)
            self.assertEqual(rc, 1, out)
            self.assertEqual(totals(out), (1, 1, 0), out)
            self.assertIn('FAILED: kselftest_damon_timeouts_work', out)

    def test_no_installed_suite_fails(self):
        vmr = os.path.join(self.tmp, 'vm')
        self.write('vm/tests.list', '')
        args = [vmr, os.path.join(self.tmp, 'ktap')]
        rc, out = bash('exec "%s/vm-verdict.sh" %s' %
                       (CI, ' '.join("'%s'" % a for a in args)),
                       env={'KTREE': self.tmp + '/no-tree'})
        self.assertEqual(rc, 0, out)
        rc, out = summary(os.path.join(self.tmp, 'ktap',
                                       'kselftest-damon.ktap'))
        self.assertEqual(rc, 1, out)
        self.assertIn('kselftest_damon_installed', out)


if __name__ == '__main__':
    unittest.main()
