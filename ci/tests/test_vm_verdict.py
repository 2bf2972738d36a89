# SPDX-License-Identifier: GPL-2.0
"""ci/vm-verdict.sh on a synthetic VM results directory (review C1, C2,
C3, C6, C11 kmemleak)."""

import glob
import os
import unittest

from harness import CI, TmpTest, bash, summary, totals

GOOD = 'TAP version 13\n1..2\nok 1 a\nok 2 b\n'


class VmVerdict(TmpTest):
    def vm(self, programs, dmesg='', kmemleak='', expected=None,
           kconfig=None, interrupts=None):
        """Make a VM results dir; programs: name -> (ktap or None, rc)."""
        vmr = os.path.join(self.tmp, 'vm')
        self.write('vm/tests.list', ''.join(p + '\n' for p in programs))
        for p, (ktap, rc) in programs.items():
            if ktap is not None:
                self.write('vm/selftests/%s.ktap' % p, ktap)
            self.write('vm/selftests/%s.rc' % p, '%d\n' % rc)
        self.write('vm/boot-dmesg.txt', '')
        self.write('vm/dmesg.txt', dmesg or 'Linux version 7.3\n')
        self.write('vm/kmemleak.txt', kmemleak)
        self.write('vm/tainted.txt', '0\n')
        if interrupts is not None:
            self.write('vm/interrupts.txt', interrupts)
        self.write('vm/exit-status', '0\n')
        args = [vmr, os.path.join(self.tmp, 'ktap')]
        if expected is not None:
            args.append(self.write('expected.list',
                                   ''.join(p + '\n' for p in expected)))
        if kconfig is not None:
            if expected is None:
                args.append('')
            args.append(self.write('config', kconfig))
        rc, out = bash('exec "%s/vm-verdict.sh" %s' %
                       (CI, ' '.join("'%s'" % a for a in args)),
                       env={'KTREE': self.tmp + '/no-tree'})
        self.assertEqual(rc, 0, out)
        return sorted(glob.glob(os.path.join(self.tmp, 'ktap', '*.ktap')))

    def selftests(self, files):
        return [f for f in files if os.path.basename(f).startswith('selftest-')]

    def test_every_listed_program_is_counted(self):
        files = self.vm({
            'damon_ok': (GOOD, 0),
            'damon_never_ran': (None, 0),
            'damon_empty': ('', 124),
            'damon_skip': ('TAP version 13\n1..0 # SKIP no PMU\n', 4),
            'damon_short': ('TAP version 13\n1..3\nok 1 a\n', 139),
        })
        rc, out = summary(*self.selftests(files))
        self.assertEqual(rc, 1, out)
        # 2 + 1 passed; never_ran, empty: 1 failure each; short: 2 not run
        # plus the exit status; skip: 1 skip
        self.assertEqual(totals(out), (3, 5, 1), out)
        self.assertIn('damon_never_ran', out)
        self.assertIn('damon_empty', out)

    def test_short_tests_list_fails(self):
        files = self.vm({'damon_ok': (GOOD, 0)},
                        expected=['damon_ok', 'damon_dropped'])
        lst = [f for f in files if f.endswith('/selftests-list.ktap')]
        self.assertEqual(len(lst), 1, files)
        rc, out = summary(*lst)
        self.assertEqual(rc, 1, out)
        self.assertIn('damon_dropped', out)

    def test_empty_tests_list_fails(self):
        files = self.vm({})
        rc, out = summary(*files)
        self.assertEqual(rc, 1, out)
        self.assertIn('tests_list_complete', out)

    def kernel_log(self, **kw):
        files = self.vm({'damon_ok': (GOOD, 0)}, **kw)
        return summary(os.path.join(self.tmp, 'ktap', 'kernel-log.ktap'))

    def test_warn_diagnostics_are_the_warn_cases(self):
        rc, out = self.kernel_log(
            dmesg='WARNING: CPU: 1 PID: 7 at mm/damon/core.c:1 x\n')
        self.assertEqual(rc, 1, out)
        warn = out.split('FAILED: no_warn', 1)[1].split('FAILED:', 1)[0]
        self.assertIn('mm/damon/core.c:1', warn)
        self.assertNotIn('mm/damon/core.c:1', out.split('FAILED: no_warn', 1)[0])

    def test_clean_log_passes(self):
        rc, out = self.kernel_log()
        self.assertEqual(rc, 0, out)

    def test_kmemleak_disabled_itself_fails(self):
        rc, out = self.kernel_log(
            dmesg='kmemleak: Kernel memory leak detector disabled\n')
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: no_kmemleak_report', out)
        self.assertIn('disabled itself', out)

    def test_kmemleak_refusing_scan_fails(self):
        rc, out = self.kernel_log(
            kmemleak='kmemleak: scan refused (kmemleak disabled?)\n')
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: no_kmemleak_report', out)

    def test_kmemleak_not_asked_for_is_skip(self):
        rc, out = self.kernel_log(
            kmemleak='kmemleak: not scanned (HWS_KMEMLEAK=0)\n')
        self.assertEqual(rc, 0, out)
        self.assertEqual(totals(out)[2], 1, out)

    def test_detector_not_in_config_is_skip(self):
        rc, out = self.kernel_log(
            kconfig='CONFIG_PROVE_LOCKING=y\nCONFIG_KASAN=y\n')
        self.assertEqual(rc, 0, out)
        # KCSAN and UBSAN cannot report: SKIP, not pass
        self.assertEqual(totals(out)[2], 2, out)

    def test_patterns_are_the_shared_list(self):
        # a class only ci/kernel-log-patterns had before the verdict read
        # it, anchored at the line start once the time prefix is gone
        rc, out = self.kernel_log(
            dmesg='[   12.345678] BUG kmalloc-64 (Not tainted): Poison overwritten\n')
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: no_memory_corruption', out)
        # "clean" patterns (stack dumps) are the selftests' only
        rc, out = self.kernel_log(dmesg='[    1.000000] Call Trace:\n')
        self.assertEqual(rc, 0, out)

    def test_unknown_nmi_without_nmis_is_skip(self):
        head = '           CPU0       CPU1\n  0:         40          0  IO-APIC   timer\n'
        rc, out = self.kernel_log(interrupts=head + ' NMI:          0          0   Non-maskable interrupts\n')
        self.assertEqual(rc, 0, out)
        self.assertEqual(totals(out)[2], 1, out)
        with open(os.path.join(self.tmp, 'ktap', 'kernel-log.ktap')) as f:
            self.assertIn('no_unknown_nmi # SKIP no NMI was delivered', f.read())
        # NMIs delivered: the case can fail, so it counts as a pass
        rc, out = self.kernel_log(interrupts=head + ' NMI:          3          0   Non-maskable interrupts\n')
        self.assertEqual(rc, 0, out)
        self.assertEqual(totals(out)[2], 0, out)
        # and a report fails it whatever the counts say
        rc, out = self.kernel_log(
            dmesg='Uhhuh. NMI received for unknown reason 2c on CPU 0.\n',
            interrupts=head + ' NMI:          0          0   Non-maskable interrupts\n')
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: no_unknown_nmi', out)

    def test_report_without_detector_config_still_fails(self):
        rc, out = self.kernel_log(dmesg='UBSAN: shift-out-of-bounds in x\n',
                                  kconfig='CONFIG_PROVE_LOCKING=y\n')
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: no_ubsan_report', out)


if __name__ == '__main__':
    unittest.main()
