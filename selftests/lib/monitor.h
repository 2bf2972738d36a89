/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watching what DAMON and the kernel make of a test: DAMON's regions
 * (through the "stat" scheme of kdamond's context 0), a judge of whether
 * the regions of an address range were rated hot and nothing else, and
 * new kernel log lines.
 */
#ifndef DAMON_HWS_MONITOR_H
#define DAMON_HWS_MONITOR_H

#include "damon_sysfs.h"
#include "ktap.h"

#include <chrono>
#include <string>
#include <vector>

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

private:
	const ktap::writer &t;
	unsigned long lo, hi;
	unsigned int nr_snapshots = 0;
	unsigned int nr_hot = 0;
	bool outside_clean = true;
	std::vector<region> last;
};

/*
 * New lines of the kernel log: construction marks the end of the log,
 * lines() returns what was logged since (and moves the mark).
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

} /* namespace monitor */

#endif /* DAMON_HWS_MONITOR_H */
