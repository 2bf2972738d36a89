/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watching what DAMON and the kernel make of a test: DAMON's regions
 * (through the "stat" scheme of kdamond's context 0), a judge of whether
 * the regions of an address range were rated hot and nothing else, new
 * kernel log lines and the kernel bugs they report, and kmemleak's
 * reports of DAMON objects.
 */
#ifndef DAMON_HWS_MONITOR_H
#define DAMON_HWS_MONITOR_H

#include "damon_sysfs.h"
#include "ktap.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace monitor {

using damon_sysfs::region;
using steady = std::chrono::steady_clock;

/* TCG guests are slow: generous deadlines. */
inline constexpr auto regions_timeout = std::chrono::seconds(30);
inline constexpr auto settle_timeout = std::chrono::seconds(20);
inline constexpr auto poll_period = std::chrono::milliseconds(300);

unsigned int nr_cpus();
std::string err_name(int err);
/* The errno's symbol: "ENOMEM" for -ENOMEM, "OK" for 0. */
std::string errno_symbol(int err);

/* DAMON's current regions (of the "stat" scheme, kdamond @kd, context 0). */
bool snapshot(const damon_sysfs::kdamond &kd, std::vector<region> &regions);
/* Wait until DAMON shows regions. */
bool wait_regions(const ktap::writer &t, const damon_sysfs::kdamond &kd);
/* Wait until DAMON rates every region cold (no report in flight). */
bool wait_all_cold(const ktap::writer &t, const damon_sysfs::kdamond &kd);

/*
 * What the snapshots taken while reports go to [lo, hi) showed.  A region
 * entirely outside the sub-range must never have accesses; the reports
 * must show as every region entirely inside it having accesses (and at
 * least one region overlapping it), in at least one snapshot.  A region
 * that straddles a boundary may be either.
 */
class hot_judge {
public:
	hot_judge(const ktap::writer &tw, unsigned long lo_addr,
		  unsigned long hi_addr)
		: t(tw), lo(lo_addr), hi(hi_addr)
	{
	}

	void look(const std::vector<region> &regions);
	bool verdict() const;
	/* How many snapshots so far rated the sub-range hot. */
	unsigned int hot_snapshots() const { return nr_hot; }

private:
	const ktap::writer &t;
	unsigned long lo, hi;
	unsigned int nr_snapshots = 0;
	unsigned int nr_hot = 0;
	bool outside_clean = true;
	std::vector<region> last;
};

/*
 * Show @judge a snapshot of @kd every poll_period, for at least @min_time
 * and then until @judge has seen watch_hot_wanted hot snapshots, at most
 * for watch_timeout, and while @more() (called before each snapshot)
 * returns true.  A slow or busy TCG guest takes fewer snapshots and
 * aggregates fewer reports in a given time than a fast one: a fixed
 * number of snapshots would decide by the host's load, not by the kernel.
 */
inline constexpr unsigned int watch_hot_wanted = 2;
inline constexpr auto watch_timeout = std::chrono::seconds(30);
template <typename More>
void watch(const damon_sysfs::kdamond &kd, hot_judge &judge,
	   steady::duration min_time, More more)
{
	const auto start = steady::now();
	std::vector<region> regions;

	for (;;) {
		const auto elapsed = steady::now() - start;

		if (elapsed >= watch_timeout ||
		    (elapsed >= min_time &&
		     judge.hot_snapshots() >= watch_hot_wanted) ||
		    !more())
			return;
		std::this_thread::sleep_for(poll_period);
		if (snapshot(kd, regions))
			judge.look(regions);
	}
}

/* utime + stime of task @pid (/proc/<pid>/stat) in ms, or -1. */
double task_cpu_ms(pid_t pid);

/* Where tracefs is, with @sub in it (mounted if need be), or "". */
std::string tracefs_dir(const char *sub = "events");

/*
 * New lines of the kernel log: construction marks the end of the log,
 * lines() returns what was logged since (and moves the mark), without the
 * delayed-release notices of CONFIG_DEBUG_KOBJECT_RELEASE.
 */
class kmsg {
public:
	kmsg();
	kmsg(const kmsg &) = delete;
	kmsg &operator=(const kmsg &) = delete;
	~kmsg();
	std::vector<std::string> lines();

private:
	int fd = -1;
};

/* Is there a line in @lines that contains both @a and @b? */
bool log_has(const std::vector<std::string> &lines, const std::string &a,
	     const std::string &b = "");

/*
 * Does the kernel log line @l report a kernel bug: does it match a pattern
 * of ci/kernel-log-patterns (installed next to the programs, or
 * $DAMON_HWS_KERNEL_LOG_PATTERNS), the list ci/vm-verdict.sh judges a VM
 * run's log with?  Those marked "clean", stack dumps, only count without
 * @faults_injected: failed allocations and debug objects running out of
 * memory print them when faults are injected on purpose.
 */
bool bad_log_line(const std::string &l, bool faults_injected = false);

/* Why the patterns could not be read, or "" (log_watch fails then). */
std::string log_patterns_error();

/*
 * The kernel log from construction on: poll() reads the new lines, keeps
 * the first 40 that bad_log_line() flags in bad and, in first_when, the
 * @when of the poll that saw the first of them, and returns the new lines.
 */
class log_watch {
public:
	explicit log_watch(bool faults_injected = false)
		: injected(faults_injected)
	{
	}
	std::vector<std::string> poll(const std::string &when = "");

	std::vector<std::string> bad;
	std::string first_when;

private:
	kmsg log;
	bool injected;
};

inline constexpr const char *kmemleak_path = "/sys/kernel/debug/kmemleak";

/* Forget kmemleak's suspects so far (an earlier test's); false without it. */
bool kmemleak_clear();

/*
 * Have kmemleak scan twice (an object is reported once two scans found it
 * unreferenced and unchanged) and count the unreferenced objects it
 * reports in @nr_all; return how many are DAMON's (their report mentions
 * damon or damos), the first five shown as diagnostics of @t, or -1
 * without kmemleak or when it is disabled.  With @settle, first wait out
 * kmemleak's minimum object age (5 s), so that what leaked just before is
 * reported too, and let 3 s pass between the scans.
 */
int kmemleak_damon(const ktap::writer &t, unsigned int &nr_all, bool settle);

} /* namespace monitor */

#endif /* DAMON_HWS_MONITOR_H */
