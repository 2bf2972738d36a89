/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the C++ DAMON selftests that combine the KTAP
 * writer with the sysfs library.
 */
#ifndef DAMON_HWS_TEST_UTIL_H
#define DAMON_HWS_TEST_UTIL_H

#include "damon_sysfs.h"
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

/* Turn @kd on; on failure, say why on a diagnostic line. */
inline bool start_kdamond(const ktap::writer &t, const damon_sysfs::kdamond &kd)
{
	int err = kd.start();

	if (err)
		t.diagf("writing 'on' to state failed: %s", std::strerror(-err));
	return !err;
}

#endif /* DAMON_HWS_TEST_UTIL_H */
