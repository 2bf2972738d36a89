// SPDX-License-Identifier: GPL-2.0
/*
 * Monitor a process with a hot and a cold buffer through DAMON's sysfs
 * interface (vaddr, Accessed-bit sampling) and check that DAMON starts,
 * reports its state and pid, and rates the hot buffer hotter than the cold
 * one.  Runs on an unpatched kernel; the baseline every later test builds
 * on.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

const size_t hot_sz = 8ul << 20;
const size_t cold_sz = 32ul << 20;
/* TCG guests are slow: generous intervals, a long deadline. */
const unsigned long sample_us = 5000;
const unsigned long aggr_us = 100000;
const unsigned long update_us = 1000000;
const auto deadline = std::chrono::seconds(30);

std::string comm_of(pid_t pid)
{
	std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
	std::string s;

	std::getline(f, s);
	return s;
}

/*
 * Poll DAMON's view until the hot buffer is rated hotter than the cold
 * one, or the deadline passes.
 */
bool hot_beats_cold(ktap::writer &t, const damon_sysfs::kdamond &kd,
		    const workload::hot_cold_child &child)
{
	const damon_sysfs::scheme sch = kd.get_context(0).get_scheme(0);
	const auto end = std::chrono::steady_clock::now() + deadline;
	std::vector<damon_sysfs::region> regions;
	double hot = -1, cold = -1;

	while (std::chrono::steady_clock::now() < end) {
		std::this_thread::sleep_for(std::chrono::milliseconds(500));
		if (kd.state("update_schemes_tried_regions") ||
		    sch.tried_regions(regions) || regions.empty())
			continue;
		hot = damon_sysfs::weighted_accesses(regions,
				child.hot_start(),
				child.hot_start() + child.hot_size());
		cold = damon_sysfs::weighted_accesses(regions,
				child.cold_start(),
				child.cold_start() + child.cold_size());
		if (hot > 0 && cold >= 0 && hot > cold) {
			t.diagf("%zu regions; hot buffer %.2f, cold buffer %.2f accesses per aggregation",
				regions.size(), hot, cold);
			return true;
		}
	}
	t.diagf("gave up: %zu regions; hot %.2f, cold %.2f",
		regions.size(), hot, cold);
	return false;
}

int run()
{
	require_damon_sysfs_or_skip();

	ktap::writer t(8);
	damon_sysfs::session s;
	workload::hot_cold_child child(hot_sz, cold_sz);
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	unsigned long target_pid = 0;
	pid_t kpid;

	if (!t.result(child.ok(), "workload_started")) {
		t.skip_rest("no workload");
		return t.exit_code();
	}
	damon_sysfs::vaddr_monitor m;

	m.pid = child.pid();
	m.sample_us = sample_us;
	m.aggr_us = aggr_us;
	m.update_us = update_us;
	if (!t.result(damon_sysfs::setup_vaddr_monitor(s, m) == 0, "configure")) {
		t.skip_rest("configuration failed");
		return t.exit_code();
	}
	if (!t.result(start_kdamond(t, kd), "start")) {
		t.skip_rest("kdamond did not start");
		return t.exit_code();
	}
	t.result(kd.running(), "state_reads_on");
	kpid = kd.pid();
	t.result(kpid > 0 && comm_of(kpid).rfind("kdamond", 0) == 0,
		 "pid_is_a_kdamond");
	t.result(kd.get_context(0).get_target(0).get("pid_target", target_pid) == 0 &&
		 target_pid == static_cast<unsigned long>(child.pid()),
		 "pid_target_reads_back");
	t.result(hot_beats_cold(t, kd, child), "hot_buffer_rated_hotter");
	t.result(kd.stop() == 0 && !kd.running(), "stop");
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
