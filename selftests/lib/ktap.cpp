// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP writer for the C++ DAMON selftests.  See ktap.h.
 */
#include "ktap.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace ktap {

namespace {

/* The KTAP description may hold neither '#' nor a newline. */
std::string clean(const std::string &s)
{
	std::string out = s;

	for (char &c : out)
		if (c == '#' || c == '\n')
			c = '_';
	return out;
}

} /* namespace */

writer::writer(unsigned int nr_planned) : plan(nr_planned)
{
	std::printf("TAP version 13\n1..%u\n", plan);
	std::fflush(stdout);
}

writer::~writer()
{
	finish();
}

bool writer::result(bool pass, const std::string &name)
{
	nr++;
	if (pass)
		nr_pass++;
	else
		nr_fail++;
	std::printf("%sok %u %s\n", pass ? "" : "not ", nr,
		    clean(name).c_str());
	std::fflush(stdout);
	return pass;
}

void writer::skip(const std::string &name, const std::string &reason)
{
	nr++;
	nr_skip++;
	std::printf("ok %u %s # SKIP %s\n", nr, clean(name).c_str(),
		    clean(reason).c_str());
	std::fflush(stdout);
}

void writer::skip_rest(const std::string &reason)
{
	while (nr < plan)
		skip("not run", reason);
}

void writer::diag(const std::string &msg) const
{
	std::printf("# %s\n", msg.c_str());
	std::fflush(stdout);
}

void writer::diagf(const char *fmt, ...) const
{
	va_list ap;

	std::fputs("# ", stdout);
	va_start(ap, fmt);
	std::vprintf(fmt, ap);
	va_end(ap);
	std::fputc('\n', stdout);
	std::fflush(stdout);
}

void writer::finish()
{
	if (finished)
		return;
	finished = true;
	if (nr != plan) {
		std::printf("# Planned tests != run tests (%u != %u)\n",
			    plan, nr);
		nr_fail += plan > nr ? plan - nr : 0;
	}
	std::printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
		    nr_pass, nr_fail, nr_skip);
	std::fflush(stdout);
}

int writer::exit_code() const
{
	if (nr_fail || nr != plan)
		return KSFT_FAIL;
	if (nr_skip == plan && plan)
		return KSFT_SKIP;
	return KSFT_PASS;
}

int guarded_main(int (*fn)())
{
	try {
		return fn();
	} catch (const std::exception &e) {
		std::printf("# unexpected exception: %s\n", e.what());
	} catch (...) {
		std::printf("# unexpected exception\n");
	}
	std::fflush(stdout);
	return KSFT_FAIL;
}

void exit_skip(const std::string &reason)
{
	std::printf("TAP version 13\n1..0 # SKIP %s\n", clean(reason).c_str());
	std::fflush(stdout);
	std::exit(KSFT_SKIP);
}

} /* namespace ktap */
