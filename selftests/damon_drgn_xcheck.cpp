// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-check DAMON's sysfs input against the kernel's own state: write a
 * distinctive configuration through sysfs, start a kdamond, dump its
 * context with drgn-scripts/damon_dump.py and compare field by field.
 *
 * Needs drgn, /proc/kcore and the running kernel's vmlinux:
 *   DAMON_HWS_VMLINUX      path of vmlinux (required, else SKIP)
 *   DAMON_HWS_DRGN_DIR     directory of damon_dump.py
 *                          (default: ../../drgn-scripts from this program)
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/ktap.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <nlohmann/json.hpp>

#include <string>
#include <unistd.h>

namespace {

using json = nlohmann::json;

damon_sysfs::vaddr_monitor make_config(pid_t pid)
{
	damon_sysfs::vaddr_monitor c;

	c.pid = pid;
	c.sample_us = 4000;
	c.aggr_us = 80000;
	c.update_us = 1600000;
	c.min_nr_regions = 12;
	c.max_nr_regions = 345;
	c.pattern.sz_min = 8192;
	c.pattern.sz_max = 1ul << 30;
	c.pattern.nr_accesses_min = 1;
	c.pattern.nr_accesses_max = 7;
	c.pattern.age_min = 3;
	c.pattern.age_max = 99;
	c.apply_interval_us = 240000;
	return c;
}

/* Run the dumper; on success @dump holds its JSON. */
bool dump_ctx(ktap::writer &t, const std::string &vmlinux, pid_t kdamond,
	      json &dump)
{
	return drgn::run_json(t, vmlinux, "damon_dump.py",
			      { "--pid", std::to_string(kdamond) }, dump);
}

bool expect_eq(ktap::writer &t, const char *what, unsigned long want,
	       const json &have)
{
	if (have.is_number_unsigned() && have.get<unsigned long>() == want)
		return true;
	t.diagf("%s: sysfs %lu, kernel %s", what, want, have.dump().c_str());
	return false;
}

bool attrs_match(ktap::writer &t, const damon_sysfs::vaddr_monitor &c, const json &attrs)
{
	bool ok = true;

	ok &= expect_eq(t, "sample_interval", c.sample_us, attrs["sample_interval"]);
	ok &= expect_eq(t, "aggr_interval", c.aggr_us, attrs["aggr_interval"]);
	ok &= expect_eq(t, "ops_update_interval", c.update_us,
			attrs["ops_update_interval"]);
	ok &= expect_eq(t, "min_nr_regions", c.min_nr_regions,
			attrs["min_nr_regions"]);
	ok &= expect_eq(t, "max_nr_regions", c.max_nr_regions,
			attrs["max_nr_regions"]);
	return ok;
}

bool scheme_matches(ktap::writer &t, const damon_sysfs::vaddr_monitor &c, const json &schemes)
{
	const damon_sysfs::access_pattern &p = c.pattern;
	bool ok;

	if (!schemes.is_array() || schemes.size() != 1) {
		t.diagf("schemes: %s", schemes.dump().c_str());
		return false;
	}
	const json &s = schemes[0];
	const json &pat = s["pattern"];
	ok = s["action"] == "stat";
	if (!ok)
		t.diagf("action: %s", s["action"].dump().c_str());
	ok &= expect_eq(t, "min_sz_region", p.sz_min, pat["min_sz_region"]);
	ok &= expect_eq(t, "max_sz_region", p.sz_max, pat["max_sz_region"]);
	ok &= expect_eq(t, "min_nr_accesses", p.nr_accesses_min,
			pat["min_nr_accesses"]);
	ok &= expect_eq(t, "max_nr_accesses", p.nr_accesses_max,
			pat["max_nr_accesses"]);
	ok &= expect_eq(t, "min_age_region", p.age_min, pat["min_age_region"]);
	ok &= expect_eq(t, "max_age_region", p.age_max, pat["max_age_region"]);
	ok &= expect_eq(t, "apply_interval_us", c.apply_interval_us,
			s["apply_interval_us"]);
	return ok;
}

/* Regions of every target are sorted, non-empty and do not overlap. */
bool regions_sane(ktap::writer &t, const json &targets)
{
	for (const json &tg : targets) {
		unsigned long prev_end = 0;

		for (const json &r : tg["regions"]) {
			unsigned long start = r["start"], end = r["end"];

			if (start >= end || start < prev_end) {
				t.diagf("bad region %lu-%lu after %lu",
					start, end, prev_end);
				return false;
			}
			prev_end = end;
		}
		if (tg["regions"].size() != tg["nr_regions"].get<size_t>()) {
			t.diag("nr_regions differs from the region list");
			return false;
		}
	}
	return true;
}

int run()
{
	json dump;

	require_damon_sysfs_or_skip();

	const std::string vmlinux = require_drgn_or_skip();

	ktap::writer t(8);
	damon_sysfs::session s;
	workload::sleeper child;
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::vaddr_monitor c = make_config(child.pid());

	if (!t.result(child.ok() && damon_sysfs::setup_vaddr_monitor(s, c) == 0,
		      "configure")) {
		t.skip_rest("configuration failed");
		return t.exit_code();
	}
	if (!t.result(start_kdamond(t, kd), "start")) {
		t.skip_rest("kdamond did not start");
		return t.exit_code();
	}
	/*
	 * A paused kdamond neither merges nor splits regions: the region
	 * list drgn reads is stable.
	 */
	if (!t.result(!kd.get_context(0).set_pause(true) &&
		      !kd.state("commit") &&
		      dump_ctx(t, vmlinux, kd.pid(), dump) && dump["pause"] == true,
		      "drgn_dump")) {
		t.skip_rest("no dump");
		kd.stop();
		return t.exit_code();
	}
	t.result(attrs_match(t, c, dump["attrs"]), "attrs_committed");
	t.result(dump["ops"] == "vaddr", "ops_committed");
	t.result(dump["targets"].size() == 1 &&
		 dump["targets"][0]["pid"] == child.pid(),
		 "target_pid_committed");
	t.result(scheme_matches(t, c, dump["schemes"]), "scheme_committed");
	t.result(regions_sane(t, dump["targets"]), "regions_sane");
	kd.stop();
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
