/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test module damon_test_pmu (selftests/damon_test_pmu/), a synthetic
 * perf PMU whose samples carry addresses a test chooses, seen from the C++
 * tests.
 *
 * test_pmu::pmu loads the module (with module parameters such as
 * "fail_cpus=1 fail_errno=22") when it is constructed and unloads it when
 * it goes out of scope.  The module is looked for in $DAMON_HWS_TEST_PMU_KO,
 * else next to the test program.
 */
#ifndef DAMON_HWS_TEST_PMU_H
#define DAMON_HWS_TEST_PMU_H

#include "damon_sysfs.h"
#include "kmod.h"

#include <chrono>
#include <string>

namespace test_pmu {

inline constexpr const char *name = "damon_test_pmu";
inline constexpr const char *debugfs_dir = "/sys/kernel/debug/damon_test_pmu";

class pmu {
public:
	explicit pmu(const std::string &params = "");
	pmu(const pmu &) = delete;
	pmu &operator=(const pmu &) = delete;

	/* Loaded, registered (it has a type) and its debugfs files are there. */
	bool ok() const { return type_ >= 0; }
	const std::string &error() const
	{
		return mod.loaded() ? err_msg : mod.error();
	}
	/* The PMU type, as in /sys/bus/event_source/devices/<pmu>/type. */
	int type() const { return type_; }
	/* An event of this PMU: @freq samples/s, @phys: physical addresses. */
	damon_sysfs::perf_event_attr event(unsigned long freq = 200,
					   bool phys = true) const;
	/* One that samples every @ns (the test PMU's periods are in ns). */
	damon_sysfs::perf_event_attr event_with_period(unsigned long ns) const;

	/* Write one line to "addrs" ("vaddr=... len=... pid=...", "clear"). */
	int set_addrs(const std::string &line) const;
	int set_any_task(bool on) const;
	int set_omit_flags(bool on) const;
	/* Write a module parameter (fail_cpus, fail_errno). */
	int set_param(const std::string &param, const std::string &val) const;
	/* The "stats" file: samples, events_active, events_failed, ... */
	int read_stats(kmod::values &v) const;
	/* Stat @key: ~0 if "stats" cannot be read, @missing if it lacks @key. */
	unsigned long stat(const char *key, unsigned long missing = 0) const;
	/* How many events of this PMU are live (stat events_active). */
	unsigned long events_active() const { return stat("events_active"); }
	/*
	 * Wait, polling every @poll, until @nr events are live, at most
	 * monitor::settle_timeout: kdamonds follow CPU hotplug lazily.
	 */
	bool wait_events_active(unsigned long nr,
				std::chrono::milliseconds poll =
					std::chrono::milliseconds(50)) const;
	/* Unload now: 0 or -errno (-EWOULDBLOCK while events use it). */
	int unload() { return mod.unload(); }

private:
	kmod::module mod;
	int type_ = -1;
	std::string err_msg;
};

} /* namespace test_pmu */

#endif /* DAMON_HWS_TEST_PMU_H */
