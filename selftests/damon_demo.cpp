// SPDX-License-Identifier: GPL-2.0
/*
 * Demo for `make demo`: monitor a process with a hot and a cold buffer and
 * print DAMON's view of its address space, one table a snapshot, with a
 * bar for each region's access frequency.  Exits 0 when DAMON found the
 * hot buffer hotter than the cold one.
 */
#include "lib/damon_sysfs.h"
#include "lib/workload.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

const size_t hot_sz = 8ul << 20;
const size_t cold_sz = 32ul << 20;
const unsigned long sample_us = 5000;
const unsigned long aggr_us = 100000;
const unsigned int nr_snapshots = 6;

const char *label(const damon_sysfs::region &r,
		  const workload::hot_cold_child &c)
{
	if (r.start < c.hot_start() + c.hot_size() && r.end > c.hot_start())
		return "hot buffer";
	if (r.start < c.cold_start() + c.cold_size() && r.end > c.cold_start())
		return "cold buffer";
	return "";
}

void print_snapshot(unsigned int n, const std::vector<damon_sysfs::region> &rs,
		    const workload::hot_cold_child &c)
{
	const unsigned long max = aggr_us / sample_us;

	std::printf("\nsnapshot %u: %zu regions (nr_accesses per %lu ms, max %lu)\n",
		    n, rs.size(), aggr_us / 1000, max);
	std::printf("%-33s %9s %4s %4s  %-20s\n", "address range", "size",
		    "acc", "age", "frequency");
	for (const damon_sysfs::region &r : rs) {
		unsigned long w = max ? r.nr_accesses * 20 / max : 0;
		std::string bar(w > 20 ? 20 : w, '#');

		std::printf("%016lx-%016lx %7luKiB %4lu %4lu  %-20s %s\n",
			    r.start, r.end, (r.end - r.start) >> 10,
			    r.nr_accesses, r.age, bar.c_str(), label(r, c));
	}
}

int run()
{
	if (geteuid() || !damon_sysfs::available()) {
		std::fprintf(stderr, "demo: needs root and DAMON sysfs\n");
		return 4;
	}

	damon_sysfs::session s;
	workload::hot_cold_child child(hot_sz, cold_sz);
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::scheme sch = kd.get_context(0).get_scheme(0);
	damon_sysfs::vaddr_monitor m;
	std::vector<damon_sysfs::region> rs;
	double hot = -1, cold = -1;
	int err;

	if (!child.ok())
		return 1;
	std::printf("workload pid %d: hot buffer %zu MiB at %#lx (written in a loop), cold buffer %zu MiB at %#lx (written once)\n",
		    child.pid(), hot_sz >> 20, child.hot_start(),
		    cold_sz >> 20, child.cold_start());
	m.pid = child.pid();
	m.sample_us = sample_us;
	m.aggr_us = aggr_us;
	err = damon_sysfs::setup_vaddr_monitor(s, m);
	if (!err)
		err = kd.start();
	if (err) {
		std::fprintf(stderr, "demo: DAMON setup failed: %d\n", err);
		return 1;
	}
	std::printf("kdamond pid %d monitoring (vaddr, sampling %lu us, aggregation %lu us)\n",
		    kd.pid(), sample_us, aggr_us);
	for (unsigned int n = 1; n <= nr_snapshots; n++) {
		std::this_thread::sleep_for(std::chrono::seconds(2));
		if (kd.state("update_schemes_tried_regions") ||
		    sch.tried_regions(rs))
			continue;
		print_snapshot(n, rs, child);
		hot = damon_sysfs::weighted_accesses(rs, child.hot_start(),
				child.hot_start() + child.hot_size());
		cold = damon_sysfs::weighted_accesses(rs, child.cold_start(),
				child.cold_start() + child.cold_size());
	}
	kd.stop();
	std::printf("\nverdict: hot buffer %.2f, cold buffer %.2f accesses per aggregation: %s\n",
		    hot, cold, hot > cold ? "DAMON found the hot set" :
		    "DAMON did NOT separate hot from cold");
	return hot > cold ? 0 : 1;
}

} /* namespace */

int main()
{
	try {
		return run();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "demo: %s\n", e.what());
	}
	return 1;
}
