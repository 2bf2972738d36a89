// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-check DAMON's access report rings as drgn sees them
 * (drgn-scripts/damon_report_rings.py) with the kernel's
 * damon_report_read_stats() (via the test_damon_report module) and sysfs:
 * while a paddr context with the report sink (one perf event that never
 * samples) runs, its kdamond owns the rings and every possible CPU has one,
 * drained, of the size the sink asks for; after it stops, there is no owner
 * and no ring; at both points drgn's counter totals equal the kernel's.
 *
 * Needs drgn, /proc/kcore, DAMON_HWS_VMLINUX (see lib/drgn.h) and the test
 * module (lib/report_inject.h); SKIPs without them or when the kernel has
 * no monitoring_attrs/sample/perf_events.
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/report_inject.h"
#include "lib/test_util.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <string>

namespace {

using json = nlohmann::json;
using report_inject::stats;
using namespace std::chrono_literals;

const char *const counters[] = { "pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
				 "drained", "attributed", "unmatched", "stale" };

bool same_counters(const stats &a, const stats &b)
{
	for (const char *c : counters)
		if (a.count(c) != b.count(c) || (a.count(c) && a.at(c) != b.at(c)))
			return false;
	return true;
}

/*
 * Some reports to @addr on every CPU, from process and IRQ context, then
 * wait until the counters are balanced (nothing left on the rings to drain).
 */
bool make_reports(const ktap::writer &t, const report_inject::module &m, unsigned long addr)
{
	const std::string where = "kind=paddr addr=" + std::to_string(addr) +
				  " span=" + std::to_string(4ul << 20) + " size=8";
	stats s;
	int err = m.inject(where + " count=300 ctx=process");

	for (unsigned int cpu = 0; !err && cpu < monitor::nr_cpus(); cpu++)
		err = m.inject(where + " count=200 ctx=process cpu=" + std::to_string(cpu));
	if (!err)
		err = m.inject(where + " count=200 ctx=irq rate=2000 burst=2");
	if (!err)
		err = m.wait_idle(60s) ? report_inject::wait_balanced(m, s, 10s) : -ETIMEDOUT;
	if (err)
		t.diagf("making reports: %s", std::strerror(-err));
	return !err;
}

/*
 * Dump the rings with drgn between two readings of the kernel's counters;
 * retried while the counters move (they should not at a quiescent point).
 */
bool dump_rings(const ktap::writer &t, const report_inject::module &m,
		const std::string &vmlinux, json &dump, stats &kernel)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		stats after;

		if (m.read_stats(kernel) ||
		    !drgn::run_json(t, vmlinux, "damon_report_rings.py", { "--json" }, dump) ||
		    m.read_stats(after))
			return false;
		if (same_counters(kernel, after))
			return true;
		t.diag("counters moved during the dump; again");
	}
	return false;
}

bool totals_match(const ktap::writer &t, const json &dump, const stats &kernel)
{
	bool ok = true;

	for (const char *c : counters) {
		const json &v = dump["totals"][c];

		if (v.is_number_unsigned() && kernel.count(c) &&
		    v.get<unsigned long>() == kernel.at(c))
			continue;
		t.diagf("%s: kernel %lu, drgn %s", c, kmod::value_of(kernel, c), v.dump().c_str());
		ok = false;
	}
	return ok;
}

/* Every possible CPU has an empty ring (quiescent point) of @entries (a power of 2) reports. */
bool rings_present(const ktap::writer &t, const json &dump, unsigned long entries)
{
	const json &cap = dump["capacity"], &cpus = dump["cpus"];
	bool ok = cap.is_number_unsigned() && cap.get<unsigned long>() == entries;

	if (!ok)
		t.diagf("capacity %s, expected %lu", cap.dump().c_str(), entries);
	if (!cpus.is_array() || cpus.size() < monitor::nr_cpus()) {
		t.diagf("%zu CPUs in the dump, %u online", cpus.size(), monitor::nr_cpus());
		return false;
	}
	for (const json &c : cpus) {
		const json &head = c["head"], &tail = c["tail"];

		if (c["ring"] != true || c["capacity"] != cap || !head.is_number_unsigned() ||
		    !tail.is_number_unsigned() || c["fill"] != 0 ||
		    head.get<unsigned long>() != tail.get<unsigned long>() || c["busy"] != 0) {
			t.diagf("cpu %s: %s", c["cpu"].dump().c_str(), c.dump().c_str());
			ok = false;
		}
	}
	return ok;
}

bool rings_gone(const ktap::writer &t, const json &dump)
{
	bool ok = dump["cpus"].is_array() && !dump["cpus"].empty();

	for (const json &c : dump["cpus"]) {
		if (c["ring"] != false || c["consumer_ring"] != false) {
			t.diagf("cpu %s: %s", c["cpu"].dump().c_str(), c.dump().c_str());
			ok = false;
		}
	}
	return ok;
}

int run()
{
	require_damon_sysfs_or_skip(true);

	const std::string vmlinux = require_drgn_or_skip();
	ktap::writer t(12);
	damon_sysfs::session s;
	report_inject::module m;
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	damon_sysfs::paddr_monitor pm;
	const auto bail = [&t](const char *why) {
		t.skip_rest(why);
		return t.exit_code();
	};
	unsigned long entries;
	json dump;
	stats kernel;

	if (!t.result(m.ok(), "module_loaded")) {
		t.diag(m.error());
		return bail("no test module");
	}
	pm.report_sink = true;
	/* some dropped_no_owner first, so that no counter is trivially 0 */
	if (!t.result(make_reports(t, m, pm.start) && damon_sysfs::setup_paddr_monitor(s, pm) == 0,
		      "configure"))
		return bail("configuration failed");
	/* a period-mode event (the sink) counts at perf's ceiling: read it just before */
	entries = report_ring_entries(perf_max_sample_rate(100000), pm.sample_us);
	if (!t.result(start_kdamond(t, kd), "start"))
		return bail("kdamond did not start");
	if (!t.result(make_reports(t, m, pm.start) && dump_rings(t, m, vmlinux, dump, kernel),
		      "drgn_while_running"))
		return bail("no dump");
	if (!t.result(dump["owner_pid"] == kd.pid(), "owner_is_kdamond"))
		t.diagf("owner_pid %s, kdamond %d", dump["owner_pid"].dump().c_str(), kd.pid());
	t.result(rings_present(t, dump, entries), "rings_on_every_cpu");
	t.result(totals_match(t, dump, kernel), "totals_match_while_running");

	if (!t.result(kd.stop() == 0 && !kd.running(), "stop") ||
	    !t.result(dump_rings(t, m, vmlinux, dump, kernel), "drgn_after_stop"))
		return bail("no dump after stop");
	if (!t.result(dump["owner"].is_null() && dump["owner_pid"].is_null(),
		      "no_owner_after_stop"))
		t.diagf("owner %s", dump["owner"].dump().c_str());
	t.result(rings_gone(t, dump), "no_rings_after_stop");
	t.result(totals_match(t, dump, kernel), "totals_match_after_stop");
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
