# SPDX-License-Identifier: GPL-2.0
"""ci/mail-headers.py finishes format-patch output for b4 and the list."""

import os
import subprocess
import sys
import unittest

from harness import CI, TmpTest

COVER = ('From 0 Mon Sep 17 00:00:00 2001\n'
         'From: A <a@invalid>\n'
         'Date: Mon, 1 Dec 2026 10:00:00 +0000\n'
         'Subject: [RFC PATCH 0/1] *** SUBJECT HERE ***\n'
         '\n'
         '*** BLURB HERE ***\n'
         '\n'
         'base-commit: 1111\n')
PATCH = ('From 0 Mon Sep 17 00:00:00 2001\n'
         'From: A <a@invalid>\n'
         'Date: Tue, 2 Dec 2026 10:00:00 +0000\n'
         'Subject: [RFC PATCH 1/1] mm/damon/core: a subject long enough to\n'
         ' be folded\n'
         '\n'
         'Body line\n'
         ' indented body line stays\n')


def run(*args):
    r = subprocess.run([sys.executable, os.path.join(CI, 'mail-headers.py')]
                       + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout


class MailHeaders(TmpTest):
    def series(self):
        txt = self.write('cover-letter.txt', 'The subject\n\nThe body.\n\n')
        return (txt, self.write('0000-cover-letter.patch', COVER),
                self.write('0001-x.patch', PATCH))

    def read(self, path):
        with open(path) as f:
            return f.read()

    def test_cover_filled_and_headers_unfolded(self):
        txt, cover, patch = self.series()
        rc, out = run('--cover', txt, '--base-commit', 'abcd', patch, cover)
        self.assertEqual(rc, 0, out)
        c = self.read(cover)
        self.assertIn('Subject: [RFC PATCH 0/1] The subject\n', c)
        self.assertIn('\nThe body.\n\nbase-commit: abcd\n', c)
        p = self.read(patch)
        self.assertIn('Subject: [RFC PATCH 1/1] mm/damon/core: a subject '
                      'long enough to be folded\n\n', p)
        # only the header is unfolded, and no Message-Id without --thread
        self.assertIn('Body line\n indented body line stays\n', p)
        self.assertNotIn('Message-Id', p)

    def test_thread(self):
        txt, cover, patch = self.series()
        rc, out = run('--cover', txt, '--thread', '3', '--date',
                      'Wed, 3 Dec 2026 10:00:00 +0000', cover, patch)
        self.assertEqual(rc, 0, out)
        c = self.read(cover)
        self.assertIn('Date: Wed, 3 Dec 2026 10:00:00 +0000\n', c)
        self.assertIn('Message-Id: <damon-hwsample-v3-0@invalid>\n\n', c)
        self.assertIn('base-commit: 1111\n', c)
        p = self.read(patch)
        self.assertIn('Date: Tue, 2 Dec 2026 10:00:00 +0000\n', p)
        self.assertIn('Message-Id: <damon-hwsample-v3-1@invalid>\n'
                      'In-Reply-To: <damon-hwsample-v3-0@invalid>\n'
                      'References: <damon-hwsample-v3-0@invalid>\n\n', p)

    def test_thread_needs_a_date(self):
        _, cover, patch = self.series()
        rc, out = run('--thread', '1', cover, patch)
        self.assertNotEqual(rc, 0)
        self.assertIn('--thread needs --date', out)


if __name__ == '__main__':
    unittest.main()
