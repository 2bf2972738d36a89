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

/* Turn @kd on; on failure, say why on a diagnostic line. */
inline bool start_kdamond(const ktap::writer &t, const damon_sysfs::kdamond &kd)
{
	int err = kd.start();

	if (err)
		t.diagf("writing 'on' to state failed: %s", std::strerror(-err));
	return !err;
}

#endif /* DAMON_HWS_TEST_UTIL_H */
