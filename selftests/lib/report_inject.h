/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test module test_damon_report (selftests/test_damon_report/),
 * which makes DAMON access reports on request, seen from the C++ tests.
 *
 * report_inject::module loads the module when it is constructed and
 * unloads it when it goes out of scope, after stopping any injection.
 * The module is looked for in $DAMON_HWS_INJECT_KO, else next to the test
 * program (selftests/Makefile builds it into OUTPUT).
 */
#ifndef DAMON_HWS_REPORT_INJECT_H
#define DAMON_HWS_REPORT_INJECT_H

#include "kmod.h"

#include <chrono>
#include <string>

namespace report_inject {

inline constexpr const char *name = "test_damon_report";
inline constexpr const char *debugfs_dir = "/sys/kernel/debug/test_damon_report";

/*
 * The "stats" file: the module's injected, irq_pending and busy, and the
 * kernel's damon_report_read_stats() fields under their own names.
 */
using stats = kmod::values;

/* Where the module is expected. */
std::string module_path();

class module {
public:
	module();
	module(const module &) = delete;
	module &operator=(const module &) = delete;
	~module();

	/* Loaded, and its debugfs files are there. */
	bool ok() const { return usable; }
	/* Why loading failed. */
	const std::string &error() const
	{
		return mod.loaded() ? err_msg : mod.error();
	}

	/* Write one line to "inject": 0 or -errno. */
	int inject(const std::string &line) const;
	/* Cancel a running irq injection. */
	int stop() const;
	int read_stats(stats &s) const;
	/* Wait until no injection runs; false when @timeout passed first. */
	bool wait_idle(std::chrono::milliseconds timeout) const;

private:
	kmod::module mod;
	bool usable = false;
	std::string err_msg;
};

using kmod::delta;
using kmod::format;

/*
 * The invariants that hold whenever no report is queued or in flight:
 * pushed = drained + dropped_full + dropped_nested + dropped_no_owner (the
 * kernel counts pushed as those plus the queued reports, so this says that
 * nothing is queued) and drained = attributed + unmatched + stale.  Works
 * on deltas too.
 */
bool balanced(const stats &s);

/*
 * Poll the stats until two readings in a row are equal and balanced (the
 * owner drained its rings) or @timeout passes; @s holds the last reading.
 * 0, -ETIMEDOUT or -errno.
 */
int wait_balanced(const module &m, stats &s, std::chrono::milliseconds timeout);

} /* namespace report_inject */

#endif /* DAMON_HWS_REPORT_INJECT_H */
