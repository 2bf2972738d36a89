/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the C++ DAMON selftests that combine the KTAP
 * writer with the sysfs library.
 */
#ifndef DAMON_HWS_TEST_UTIL_H
#define DAMON_HWS_TEST_UTIL_H

#include "damon_sysfs.h"
#include "drgn.h"
#include "ktap.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

/*
 * Exit with KTAP SKIP unless this runs as root on a kernel with the DAMON
 * sysfs interface and, if @access_reports, with contexts that can consume
 * access reports (monitoring_attrs/sample/perf_events).
 */
inline void require_damon_sysfs_or_skip(bool access_reports = false)
{
	if (geteuid())
		ktap::exit_skip("needs root");
	if (!damon_sysfs::available())
		ktap::exit_skip("DAMON sysfs (CONFIG_DAMON_SYSFS) not available");
	if (access_reports) {
		damon_sysfs::session probe;

		if (!damon_sysfs::access_reports_supported(probe))
			ktap::exit_skip("kernel has no monitoring_attrs/sample/perf_events");
	}
}

/*
 * The vmlinux to give the drgn scripts; exit with KTAP SKIP when they
 * cannot run here.
 */
inline std::string require_drgn_or_skip()
{
	std::string vmlinux, why_not = drgn::unavailable(vmlinux);

	if (!why_not.empty())
		ktap::exit_skip(why_not);
	return vmlinux;
}

/*
 * Exit with KTAP SKIP unless the kernel has monitoring_attrs/sample/
 * perf_events.  Leaves kdamond 0 with one context.
 */
inline void require_perf_events_or_skip(const damon_sysfs::session &s)
{
	if (s.set_nr_kdamonds(1) || s.get_kdamond(0).set_nr_contexts(1) ||
	    !s.get_kdamond(0).get_context(0).has_perf_events())
		ktap::exit_skip("kernel has no monitoring_attrs/sample/perf_events");
}

/*
 * The command line of a test with a seed: "--seed N" (default: $@seed_env
 * if given and set, else from the clock and the pid) and "--@name N" for
 * @val (default: $@env, else what @val holds).  False for anything else.
 */
inline bool parse_seed_args(int argc, char **argv, const std::string &name,
			    const char *env, uint64_t &seed, unsigned long &val,
			    const char *seed_env = nullptr)
{
	const char *env_val = std::getenv(env);
	const char *env_seed = seed_env ? std::getenv(seed_env) : nullptr;

	seed = static_cast<uint64_t>(std::chrono::system_clock::now()
					     .time_since_epoch().count()) ^
	       static_cast<uint64_t>(getpid());
	if (env_seed)
		seed = std::strtoull(env_seed, nullptr, 0);
	if (env_val)
		val = std::strtoul(env_val, nullptr, 0);
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];

		if (i + 1 < argc && a == "--seed")
			seed = std::strtoull(argv[++i], nullptr, 0);
		else if (i + 1 < argc && a == "--" + name)
			val = std::strtoul(argv[++i], nullptr, 0);
		else
			return false;
	}
	return true;
}

/* @v in decimal, for diagnostics built with std::string's operator+. */
inline std::string num(unsigned long v)
{
	return std::to_string(v);
}

/* A benchmark's JSON file: $@env if not empty, else /tmp/@prog-@mode.json. */
inline std::string results_path(const char *env, const char *prog,
				const char *mode)
{
	const char *p = std::getenv(env);

	if (p && *p)
		return p;
	return std::string("/tmp/") + prog + "-" + mode + ".json";
}

/* Write @text and a newline to @path: false if that failed. */
inline bool write_results_file(const std::string &path,
			       const std::string &text)
{
	std::ofstream f(path);

	f << text << '\n';
	f.close();
	return !f.fail();
}

/* The median of @v (mean of the middle two of an even count), or @if_empty. */
template <typename T>
double median(std::vector<T> v, double if_empty = NAN)
{
	const size_t n = v.size();

	if (!n)
		return if_empty;
	std::sort(v.begin(), v.end());
	return n % 2 ? v[n / 2] :
		(static_cast<double>(v[n / 2 - 1]) + v[n / 2]) / 2;
}

/* perf lowers it by itself when its sampling interrupts take long */
inline constexpr const char *perf_max_rate_sysctl =
	"/proc/sys/kernel/perf_event_max_sample_rate";

/* its default, DEFAULT_MAX_SAMPLE_RATE in kernel/events/core.c */
inline constexpr unsigned long perf_default_max_rate = 100000;

/* kernel.perf_event_max_sample_rate, or @dflt if it cannot be read. */
inline unsigned long perf_max_sample_rate(unsigned long dflt)
{
	unsigned long rate = dflt;

	damon_sysfs::read_ulong(perf_max_rate_sysctl, rate);
	return rate;
}

/*
 * Reports each per-CPU ring holds for a context whose perf events sample at
 * most @rate times a second on a CPU, @sample_us apart: the kernel's
 * damon_report_ring_entries() (mm/damon/report.c), two sampling intervals
 * and 20 ms of reports, rounded up to a power of two from 1024 to 65536.
 * An event in period mode counts at perf_event_max_sample_rate.
 */
inline constexpr unsigned long report_ring_max_entries = 65536;

inline unsigned long report_ring_entries(unsigned long rate,
					 unsigned long sample_us)
{
	const unsigned long long nr =
		static_cast<unsigned long long>(rate) *
		(2 * std::min(sample_us, 100000000ul) + 20000) / 1000000;
	unsigned long entries = 1024;

	while (entries < nr && entries < report_ring_max_entries)
		entries *= 2;
	return entries;
}

/*
 * Sets kernel.perf_event_max_sample_rate for a scope and puts the old value
 * back at its end; ok() tells whether the write worked.
 */
class perf_max_rate_setting {
public:
	explicit perf_max_rate_setting(unsigned long rate)
		: old(perf_max_sample_rate(0))
	{
		written = old && !damon_sysfs::write_file(perf_max_rate_sysctl,
							  std::to_string(rate));
	}
	perf_max_rate_setting(const perf_max_rate_setting &) = delete;
	perf_max_rate_setting &operator=(const perf_max_rate_setting &) = delete;
	~perf_max_rate_setting()
	{
		if (written)
			damon_sysfs::write_file(perf_max_rate_sysctl,
						std::to_string(old));
	}
	bool ok() const { return written; }

private:
	unsigned long old;
	bool written = false;
};

/* Write /sys/devices/system/cpu/cpu@cpu/online: 0 or -errno. */
inline int set_cpu_online(unsigned int cpu, bool online)
{
	return damon_sysfs::write_file("/sys/devices/system/cpu/cpu" +
				       std::to_string(cpu) + "/online",
				       online ? "1" : "0");
}

/*
 * Brings every CPU that can go offline (cpu1 and up) back online when it
 * goes out of scope, also when a test that takes CPUs offline fails half
 * way.
 */
class cpus_online_guard {
public:
	cpus_online_guard() = default;
	cpus_online_guard(const cpus_online_guard &) = delete;
	cpus_online_guard &operator=(const cpus_online_guard &) = delete;
	~cpus_online_guard() { restore(); }

	/* Bring them online now: 0 or the first -errno. */
	int restore() const
	{
		int ret = 0;

		for (unsigned int cpu = 1;; cpu++) {
			const std::string dir = "/sys/devices/system/cpu/cpu" +
						std::to_string(cpu);
			std::string val;
			int err;

			if (!damon_sysfs::exists(dir))
				return ret;
			if (damon_sysfs::read_file(dir + "/online", val) ||
			    val != "0")
				continue;
			err = set_cpu_online(cpu, true);
			if (err && !ret)
				ret = err;
		}
	}
};

/* Turn @kd on; on failure, say why on a diagnostic line. */
inline bool start_kdamond(const ktap::writer &t, const damon_sysfs::kdamond &kd)
{
	int err = kd.start();

	if (err)
		t.diagf("writing 'on' to state failed: %s", std::strerror(-err));
	return !err;
}

#endif /* DAMON_HWS_TEST_UTIL_H */
