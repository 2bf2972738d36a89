// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-check DAMON's access report rings as drgn sees them
 * (drgn-scripts/damon_report_rings.py) with what the kernel reports
 * through damon_report_read_stats() (read via the test_damon_report test
 * module) and with DAMON's sysfs state:
 *
 * - while a paddr context with the report sink (its one perf event, which
 *   never samples) runs, the rings have an owner, the kdamond of that
 *   context, and every possible CPU has a ring, drained at a quiescent
 *   point, of the size the sink's period mode asks for (perf's ceiling,
 *   perf_event_max_sample_rate, over two sampling intervals and 20 ms);
 * - after it stops, there is no owner and no ring;
 * - at both points the counters drgn sums equal the kernel's.
 *
 * Needs drgn, /proc/kcore, DAMON_HWS_VMLINUX (see lib/drgn.h) and the
 * test module (lib/report_inject.h); SKIPs without them or when the
 * kernel has no monitoring_attrs/sample/perf_events.
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
#include <unistd.h>

namespace {

using json = nlohmann::json;
using report_inject::stats;
using namespace std::chrono_literals;
using monitor::nr_cpus;

const char *const counters[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
	"drained", "attributed", "unmatched", "stale",
};
const unsigned long mon_start = 256ul << 20;
const unsigned long mon_end = 320ul << 20;
const auto idle_timeout = std::chrono::milliseconds(60s);
const auto balance_timeout = std::chrono::milliseconds(10s);

bool same_counters(const stats &a, const stats &b)
{
	for (const char *c : counters)
		if (a.count(c) != b.count(c) || (a.count(c) && a.at(c) != b.at(c)))
			return false;
	return true;
}

/*
 * Some reports on every CPU, from process and IRQ context, then wait
 * until the counters are balanced (nothing left on the rings to drain).
 */
bool make_reports(const ktap::writer &t, const report_inject::module &m)
{
	const std::string where = "kind=paddr addr=" + std::to_string(mon_start) +
				  " span=" + std::to_string(4ul << 20) + " size=8";
	stats s;
	int err = m.inject(where + " count=300 ctx=process");

	for (unsigned int cpu = 0; !err && cpu < nr_cpus(); cpu++)
		err = m.inject(where + " count=200 ctx=process cpu=" +
			       std::to_string(cpu));
	if (!err)
		err = m.inject(where + " count=200 ctx=irq rate=2000 burst=2");
	if (!err && !m.wait_idle(idle_timeout))
		err = -ETIMEDOUT;
	if (!err)
		err = report_inject::wait_balanced(m, s, balance_timeout);
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
		    !drgn::run_json(t, vmlinux, "damon_report_rings.py",
				    { "--json" }, dump) ||
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
	const json &totals = dump["totals"];
	bool ok = true;

	for (const char *c : counters) {
		const json &v = totals[c];

		if (v.is_number_unsigned() && kernel.count(c) &&
		    v.get<unsigned long>() == kernel.at(c))
			continue;
		t.diagf("%s: kernel %lu, drgn %s", c,
			kernel.count(c) ? kernel.at(c) : 0ul, v.dump().c_str());
		ok = false;
	}
	return ok;
}

bool is_pow2(unsigned long v)
{
	return v && !(v & (v - 1));
}

/*
 * Every possible CPU has a ring of @entries reports, empty at a quiescent
 * point.
 */
bool rings_present(const ktap::writer &t, const json &dump,
		   unsigned long entries)
{
	const json &cap = dump["capacity"];
	bool ok = true;

	if (!cap.is_number_unsigned() || !is_pow2(cap.get<unsigned long>()) ||
	    cap.get<unsigned long>() != entries) {
		t.diagf("capacity %s, expected %lu", cap.dump().c_str(), entries);
		ok = false;
	}
	if (!dump["cpus"].is_array() || dump["cpus"].empty() ||
	    dump["cpus"].size() < nr_cpus()) {
		t.diagf("%zu CPUs in the dump, %u online", dump["cpus"].size(),
			nr_cpus());
		return false;
	}
	for (const json &c : dump["cpus"]) {
		const json &head = c["head"], &tail = c["tail"], &fill = c["fill"];

		if (c["ring"] != true || c["capacity"] != cap ||
		    !head.is_number_unsigned() ||
		    !tail.is_number_unsigned() || fill != 0 ||
		    head.get<unsigned long>() != tail.get<unsigned long>() ||
		    c["busy"] != 0) {
			t.diagf("cpu %s: %s", c["cpu"].dump().c_str(),
				c.dump().c_str());
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
			t.diagf("cpu %s: %s", c["cpu"].dump().c_str(),
				c.dump().c_str());
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
	unsigned long entries;
	json dump;
	stats kernel;

	if (!t.result(m.ok(), "module_loaded")) {
		t.diag(m.error());
		t.skip_rest("no test module");
		return t.exit_code();
	}
	pm.start = mon_start;
	pm.end = mon_end;
	pm.report_sink = true;
	/* some dropped_no_owner first, so that no counter is trivially 0 */
	if (!t.result(make_reports(t, m) &&
		      damon_sysfs::setup_paddr_monitor(s, pm) == 0,
		      "configure")) {
		t.skip_rest("configuration failed");
		return t.exit_code();
	}
	/*
	 * The sink samples per period, so its rings hold the reports of two
	 * intervals and 20 ms at perf's ceiling, read right before the start.
	 */
	entries = report_ring_entries(perf_max_sample_rate(100000), pm.sample_us);
	if (!t.result(start_kdamond(t, kd), "start")) {
		t.skip_rest("kdamond did not start");
		return t.exit_code();
	}
	if (!t.result(make_reports(t, m) &&
		      dump_rings(t, m, vmlinux, dump, kernel),
		      "drgn_while_running")) {
		t.skip_rest("no dump");
		return t.exit_code();
	}
	if (!t.result(dump["owner_pid"] == kd.pid(), "owner_is_kdamond"))
		t.diagf("owner_pid %s, kdamond %d", dump["owner_pid"].dump().c_str(),
			kd.pid());
	t.result(rings_present(t, dump, entries), "rings_on_every_cpu");
	t.result(totals_match(t, dump, kernel), "totals_match_while_running");

	if (!t.result(kd.stop() == 0 && !kd.running(), "stop") ||
	    !t.result(dump_rings(t, m, vmlinux, dump, kernel), "drgn_after_stop")) {
		t.skip_rest("no dump after stop");
		return t.exit_code();
	}
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
