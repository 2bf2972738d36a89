// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-check DAMON's sysfs input against the kernel's own state: write a
 * distinctive configuration through sysfs, start a kdamond, dump its context
 * with drgn-scripts/damon_dump.py and compare field by field.  Needs drgn,
 * /proc/kcore and DAMON_HWS_VMLINUX (see lib/drgn.h); SKIPs without them.
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/ktap.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <utility>

namespace {

using json = nlohmann::json;
using field = std::pair<const char *, unsigned long>;

/* Does @obj hold @fields as written to sysfs?  Diagnoses each one that differs. */
bool fields_match(const ktap::writer &t, const json &obj, std::initializer_list<field> fields)
{
	bool ok = true;

	for (const field &f : fields) {
		const json &have = obj[f.first];

		if (have.is_number_unsigned() && have.get<unsigned long>() == f.second)
			continue;
		t.diagf("%s: sysfs %lu, kernel %s", f.first, f.second, have.dump().c_str());
		ok = false;
	}
	return ok;
}

bool scheme_matches(const ktap::writer &t, const damon_sysfs::vaddr_monitor &c, const json &schemes)
{
	if (!schemes.is_array() || schemes.size() != 1) {
		t.diagf("schemes: %s", schemes.dump().c_str());
		return false;
	}
	const json &s = schemes[0];
	bool ok = s["action"] == "stat";

	if (!ok)
		t.diagf("action: %s", s["action"].dump().c_str());
	ok &= fields_match(t, s["pattern"], {
		{ "min_sz_region", c.pattern.sz_min }, { "max_sz_region", c.pattern.sz_max },
		{ "min_nr_accesses", c.pattern.nr_accesses_min },
		{ "max_nr_accesses", c.pattern.nr_accesses_max },
		{ "min_age_region", c.pattern.age_min }, { "max_age_region", c.pattern.age_max } });
	ok &= fields_match(t, s, { { "apply_interval_us", c.apply_interval_us } });
	return ok;
}

/* Regions of every target are sorted, non-empty and do not overlap. */
bool regions_sane(const ktap::writer &t, const json &targets)
{
	for (const json &tg : targets) {
		unsigned long prev_end = 0;

		for (const json &r : tg["regions"]) {
			unsigned long start = r["start"], end = r["end"];

			if (start >= end || start < prev_end) {
				t.diagf("bad region %lu-%lu after %lu", start, end, prev_end);
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
	require_damon_sysfs_or_skip();

	const std::string vmlinux = require_drgn_or_skip();
	ktap::writer t(8);
	damon_sysfs::session s;
	workload::sleeper child;
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	/* none of these is a default, so a value that did not arrive shows */
	const damon_sysfs::vaddr_monitor c = {
		child.pid(), 4000, 80000, 1600000,	/* sample, aggr, update (us) */
		12, 345,				/* min, max nr_regions */
		{ 8192, 1ul << 30, 1, 7, 3, 99 },	/* min, max size, nr_accesses, age */
		240000,					/* apply_interval_us */
	};
	const auto bail = [&t](const char *why) {
		t.skip_rest(why);
		return t.exit_code();
	};
	json dump;

	if (!t.result(child.ok() && damon_sysfs::setup_vaddr_monitor(s, c) == 0, "configure"))
		return bail("configuration failed");
	if (!t.result(start_kdamond(t, kd), "start"))
		return bail("kdamond did not start");
	/* A paused kdamond neither merges nor splits regions: drgn reads a stable list. */
	if (!t.result(!kd.get_context(0).set_pause(true) && !kd.state("commit") &&
		      drgn::run_json(t, vmlinux, "damon_dump.py",
				     { "--pid", std::to_string(kd.pid()) }, dump) &&
		      dump["pause"] == true, "drgn_dump")) {
		kd.stop();
		return bail("no dump");
	}
	t.result(fields_match(t, dump["attrs"], {
		{ "sample_interval", c.sample_us }, { "aggr_interval", c.aggr_us },
		{ "ops_update_interval", c.update_us }, { "min_nr_regions", c.min_nr_regions },
		{ "max_nr_regions", c.max_nr_regions } }), "attrs_committed");
	t.result(dump["ops"] == "vaddr", "ops_committed");
	t.result(dump["targets"].size() == 1 && dump["targets"][0]["pid"] == child.pid(),
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
