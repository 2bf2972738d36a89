# SPDX-License-Identifier: GPL-2.0
"""ci/bench-copy-check.py: the benchmark's copy of report.c (review C8)."""

import os
import subprocess
import sys
import unittest

from harness import CI, TmpTest

ORIG = '''\
struct damon_report_target {
	unsigned int nr_regions;
};

static bool damon_report_mark(struct damon_report_target *rt,
			      unsigned long start)
{
	unsigned int lo = 0, hi = rt->nr_regions;

	/* find the first region that ends after @start */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (mid <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
'''

COPY = ORIG.replace('damon_report_', 'dbench_report_').replace(
    'static bool', 'static noinline bool').replace(
    '\t/* find the first region that ends after @start */\n', '')


class BenchCopy(TmpTest):
    def check(self, copy):
        o = self.write('report.c', ORIG)
        c = self.write('bench.c', copy)
        r = subprocess.run([sys.executable, os.path.join(CI, 'bench-copy-check.py'), o, c],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return r.returncode, r.stdout

    def test_names_comments_and_noinline_do_not_count(self):
        # only two of the listed copies exist here: the others are missing
        rc, out = self.check(COPY)
        self.assertNotIn('dbench_report_mark differs', out)
        self.assertNotIn('struct dbench_report_target differs', out)
        self.assertIn('damon_report_ring_push: not found', out)

    def test_off_by_one_in_the_copy_fails(self):
        rc, out = self.check(COPY.replace('lo = mid + 1;', 'lo = mid;'))
        self.assertEqual(rc, 1, out)
        self.assertIn('dbench_report_mark differs from damon_report_mark', out)
        self.assertIn('+if (mid <= start) lo = mid;', out)

    def test_return_type_on_its_own_line_is_compared(self):
        # damon_report_ring_push() is written so: static __always_inline
        # bool, then the name on the next line
        own = ORIG.replace('static bool damon_report_mark(struct damon_report_target *rt,\n'
                           '\t\t\t      unsigned long start)',
                           'static __always_inline bool\n'
                           'damon_report_mark(struct damon_report_target *rt,\n'
                           '\t\t  unsigned long start)')
        self.assertIn('static __always_inline bool\ndamon_report_mark(', own)
        o = self.write('report.c', own)
        for copy, same in ((COPY, True), (COPY.replace('lo = mid + 1;', 'lo = mid;'), False)):
            c = self.write('bench.c', copy)
            r = subprocess.run([sys.executable, os.path.join(CI, 'bench-copy-check.py'), o, c],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertNotIn('damon_report_mark: not found', r.stdout)
            self.assertEqual('dbench_report_mark differs' not in r.stdout, same, r.stdout)


if __name__ == '__main__':
    unittest.main()
