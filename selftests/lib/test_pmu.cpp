// SPDX-License-Identifier: GPL-2.0
/*
 * The damon_test_pmu test module, seen from the C++ tests.  See test_pmu.h.
 */
#include "test_pmu.h"

#include "damon_sysfs.h"
#include "monitor.h"

#include <sys/mount.h>
#include <thread>

namespace test_pmu {

namespace {

const std::string debugfs(const char *file)
{
	return std::string(debugfs_dir) + "/" + file;
}

} /* namespace */

pmu::pmu(const std::string &params)
	: mod(name, kmod::module_path(name, "DAMON_HWS_TEST_PMU_KO"), params)
{
	unsigned long type;

	if (!mod.loaded())
		return;
	if (!damon_sysfs::exists(debugfs_dir))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
	if (!damon_sysfs::exists(debugfs("addrs"))) {
		err_msg = debugfs("addrs") + " missing (debugfs?)";
		return;
	}
	if (damon_sysfs::read_ulong(std::string("/sys/bus/event_source/devices/") +
				    name + "/type", type)) {
		err_msg = "no PMU type in /sys/bus/event_source/devices";
		return;
	}
	type_ = static_cast<int>(type);
}

int pmu::set_addrs(const std::string &line) const
{
	return damon_sysfs::write_file(debugfs("addrs"), line);
}

int pmu::set_any_task(bool on) const
{
	return damon_sysfs::write_file(debugfs("any_task"), on ? "Y" : "N");
}

int pmu::set_omit_flags(bool on) const
{
	return damon_sysfs::write_file(debugfs("omit_flags"), on ? "Y" : "N");
}

damon_sysfs::perf_event_attr pmu::event(unsigned long freq, bool phys) const
{
	damon_sysfs::perf_event_attr a;

	a.type = static_cast<unsigned long>(type_);
	a.sample_freq = freq;
	a.sample_phys_addr = phys;
	return a;
}

damon_sysfs::perf_event_attr pmu::event_with_period(unsigned long ns) const
{
	damon_sysfs::perf_event_attr a;

	a.type = static_cast<unsigned long>(type_);
	a.freq = false;
	a.sample_period = ns;
	return a;
}

int pmu::set_param(const std::string &param, const std::string &val) const
{
	return damon_sysfs::write_file(std::string("/sys/module/") + name +
				       "/parameters/" + param, val);
}

int pmu::read_stats(kmod::values &v) const
{
	return kmod::read_values(debugfs("stats"), v);
}

unsigned long pmu::stat(const char *key, unsigned long missing) const
{
	kmod::values v;

	return read_stats(v) ? ~0ul : kmod::value_of(v, key, missing);
}

bool pmu::wait_events_active(unsigned long nr,
			     std::chrono::milliseconds poll) const
{
	const auto end = std::chrono::steady_clock::now() +
			 monitor::settle_timeout;

	while (events_active() != nr) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		std::this_thread::sleep_for(poll);
	}
	return true;
}

} /* namespace test_pmu */
