# SPDX-License-Identifier: GPL-2.0
"""ci/ktap_summary.py counts every program's output (review C1, C3, C6)."""

import unittest

from harness import TmpTest, summary, totals


class ProgramOutput(TmpTest):
    def test_no_output_is_one_failure_named_after_the_program(self):
        f = self.write('selftest-damon_x.ktap', '')
        rc, out = summary(f)
        self.assertEqual(rc, 1, out)
        self.assertEqual(totals(out), (0, 1, 0), out)
        self.assertIn('FAILED: selftest-damon_x', out)

    def test_no_plan_line_is_one_failure(self):
        # crashed after printing results but before its plan, or not KTAP
        f = self.write('selftest-damon_x.ktap',
                       'TAP version 13\nok 1 a\nok 2 b\nSegmentation fault\n')
        rc, out = summary(f)
        self.assertEqual(rc, 1, out)
        self.assertEqual(totals(out), (0, 1, 0), out)
        self.assertIn('FAILED: selftest-damon_x: no KTAP plan', out)

    def test_whole_program_skip_is_one_skip(self):
        f = self.write('selftest-damon_x.ktap',
                       'TAP version 13\n1..0 # SKIP no test PMU\n')
        rc, out = summary(f)
        self.assertEqual(rc, 0, out)
        self.assertEqual(totals(out), (0, 0, 1), out)
        self.assertIn('no test PMU', out)

    def test_missing_results_are_failures(self):
        f = self.write('selftest-damon_x.ktap',
                       'TAP version 13\n1..4\nok 1 a\nok 2 b\n')
        rc, out = summary(f)
        self.assertEqual(rc, 1, out)
        self.assertEqual(totals(out), (2, 2, 0), out)
        self.assertIn('not run', out)

    def test_unreadable_file_is_one_failure(self):
        rc, out = summary(self.tmp + '/selftest-gone.ktap')
        self.assertEqual(rc, 1, out)
        self.assertEqual(totals(out), (0, 1, 0), out)


class Diagnostics(TmpTest):
    # Convention: a case's "# " lines come before its result line.
    def test_failed_case_gets_its_own_diagnostics(self):
        f = self.write('s.ktap', 'TAP version 13\n1..3\n'
                       '# note of a\nok 1 a\n'
                       '# why b failed\nnot ok 2 b\n'
                       '# note of c\nok 3 c\n')
        rc, out = summary(f)
        self.assertEqual(rc, 1, out)
        b = out.split('FAILED: b', 1)[1].split('FAILED:', 1)[0]
        self.assertIn('why b failed', b)
        self.assertNotIn('note of a', b)
        self.assertNotIn('note of c', b)


if __name__ == '__main__':
    unittest.main()
