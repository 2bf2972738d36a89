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

#include <cstring>
#include <string>

#include <unistd.h>

/*
 * Exit with KTAP SKIP unless this runs as root on a kernel with the DAMON
 * sysfs interface and, if @access_reports, with access reports.
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
			ktap::exit_skip("kernel has no monitoring_attrs/sample/access_reports");
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

/* Write /sys/devices/system/cpu/cpu@cpu/online: 0 or -errno. */
inline int set_cpu_online(unsigned int cpu, bool online)
{
	return damon_sysfs::write_file("/sys/devices/system/cpu/cpu" +
				       std::to_string(cpu) + "/online",
				       online ? "1" : "0");
}

/* Turn @kd on; on failure, say why on a diagnostic line. */
inline bool start_kdamond(const ktap::writer &t, const damon_sysfs::kdamond &kd)
{
	int err = kd.start();

	if (err)
		t.diagf("writing 'on' to state failed: %s", std::strerror(-err));
	return !err;
}

#endif /* DAMON_HWS_TEST_UTIL_H */
