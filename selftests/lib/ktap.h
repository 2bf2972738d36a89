/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP (v1, kselftest flavour) writer for the C++ DAMON selftests.
 *
 * kselftest_harness.h does not compile as C++, and kselftest.h's printf
 * style API does not fit RAII, so the tests use this instead.  The output
 * is what kselftest.h prints: a header, a plan, one result line a case,
 * "# " diagnostics and a "# Totals:" line.  exit_code() maps the results to
 * the kselftest exit codes.
 */
#ifndef DAMON_HWS_KTAP_H
#define DAMON_HWS_KTAP_H

#include <string>

namespace ktap {

enum exit_code {
	KSFT_PASS = 0,
	KSFT_FAIL = 1,
	KSFT_SKIP = 4,
};

class writer {
public:
	explicit writer(unsigned int nr_planned);
	writer(const writer &) = delete;
	writer &operator=(const writer &) = delete;
	~writer();

	/* Report one case; returns @pass so callers can chain on it. */
	bool result(bool pass, const std::string &name);
	void skip(const std::string &name, const std::string &reason);
	/* Skip every case not yet reported (the rest of the plan). */
	void skip_rest(const std::string &reason);
	void diag(const std::string &msg) const;
	void diagf(const char *fmt, ...) const
		__attribute__((format(printf, 2, 3)));

	unsigned int failed() const { return nr_fail; }
	int exit_code() const;

private:
	unsigned int plan;
	unsigned int nr = 0;
	unsigned int nr_pass = 0;
	unsigned int nr_fail = 0;
	unsigned int nr_skip = 0;
	bool finished = false;

	void finish();
};

/*
 * Run @fn and return its exit code; an exception that escapes it is
 * reported as a "# " line and gives KSFT_FAIL.  For main().
 */
int guarded_main(int (*fn)());

/* Skip the whole program before any result: prints "1..0 # SKIP". */
[[noreturn]] void exit_skip(const std::string &reason);

} /* namespace ktap */

#endif /* DAMON_HWS_KTAP_H */
