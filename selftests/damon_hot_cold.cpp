// SPDX-License-Identifier: GPL-2.0
/*
 * Monitor a process with a hot and a cold buffer through DAMON's sysfs
 * interface (vaddr, Accessed-bit sampling) and check that DAMON starts,
 * reports its state and pid, and rates the hot buffer hotter than the cold
 * one.  Runs on an unpatched kernel; the baseline every later test builds on.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

/* TCG guests are slow: a long deadline (and generous intervals, in run()). */
const auto deadline = std::chrono::seconds(30);

/* Poll DAMON's view until it rates the hot buffer hotter than the cold one. */
bool hot_beats_cold(const ktap::writer &t, const damon_sysfs::kdamond &kd,
		    const workload::hot_cold_child &child)
{
	const auto end = std::chrono::steady_clock::now() + deadline;
	std::vector<damon_sysfs::region> regions;
	double hot = -1, cold = -1;
	bool hotter = false;

	while (!hotter && std::chrono::steady_clock::now() < end) {
		std::this_thread::sleep_for(std::chrono::milliseconds(500));
		if (!monitor::snapshot(kd, regions))
			continue;
		hot = damon_sysfs::weighted_accesses(regions, child.hot_start(),
						     child.hot_start() + child.hot_size());
		cold = damon_sysfs::weighted_accesses(regions, child.cold_start(),
						      child.cold_start() + child.cold_size());
		hotter = hot > 0 && cold >= 0 && hot > cold;
	}
	t.diagf("%s%zu regions; hot buffer %.2f, cold buffer %.2f accesses per aggregation",
		hotter ? "" : "gave up: ", regions.size(), hot, cold);
	return hotter;
}

int run()
{
	require_damon_sysfs_or_skip();

	ktap::writer t(8);
	damon_sysfs::session s;
	workload::hot_cold_child child(8ul << 20, 32ul << 20);
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	damon_sysfs::vaddr_monitor m;
	unsigned long target_pid = 0;
	std::string comm;

	m.pid = child.pid();
	m.sample_us = 5000;
	m.aggr_us = 100000;
	m.update_us = 1000000;
	if (!t.result(child.ok(), "workload_started"))
		t.skip_rest("no workload");
	else if (!t.result(damon_sysfs::setup_vaddr_monitor(s, m) == 0, "configure"))
		t.skip_rest("configuration failed");
	else if (!t.result(start_kdamond(t, kd), "start"))
		t.skip_rest("kdamond did not start");
	if (t.failed())
		return t.exit_code();
	t.result(kd.running(), "state_reads_on");
	const pid_t kpid = kd.pid();
	t.result(kpid > 0 && !damon_sysfs::read_file("/proc/" + num(kpid) + "/comm", comm) &&
		 comm.rfind("kdamond", 0) == 0, "pid_is_a_kdamond");
	t.result(kd.get_context(0).get_target(0).get("pid_target", target_pid) == 0 &&
		 target_pid == static_cast<unsigned long>(child.pid()), "pid_target_reads_back");
	t.result(hot_beats_cold(t, kd, child), "hot_buffer_rated_hotter");
	t.result(kd.stop() == 0 && !kd.running(), "stop");
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
