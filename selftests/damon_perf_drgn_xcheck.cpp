// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-check the perf events of a running DAMON context as drgn sees them
 * (drgn-scripts/damon_perf_events.py) with sysfs: each event's attributes
 * are what was written, the context owns the report rings and its events
 * are armed, each event has an active counter for physical addresses on
 * every online CPU (as many as stats/nr_cpus says); after an online commit
 * that changes one event and removes another, the dump follows and only the
 * changed event has new counters (struct perf_event objects); a CPU taken
 * offline loses its counters and leaves no report stranded on its ring
 * (drgn-scripts/damon_report_rings.py), and has counters again once back.
 *
 * Needs drgn, /proc/kcore, DAMON_HWS_VMLINUX (see lib/drgn.h) and the test
 * PMU (lib/test_pmu.h); SKIPs without them or when the kernel has no
 * monitoring_attrs/sample/perf_events.
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace {

using json = nlohmann::json;
using damon_sysfs::perf_event_attr;

/* Each event's counters: there, armed, paddr, active on every CPU. */
bool counters_match(const ktap::writer &t, const json &dump, const damon_sysfs::kdamond &kd)
{
	const unsigned long cpus = monitor::nr_cpus();
	bool ok = !kd.state("update_sample_stats");

	for (const json &e : dump["events"]) {
		const unsigned int idx = e["index"].get<unsigned int>();
		damon_sysfs::perf_event_stats st;
		unsigned long active = 0;

		for (const auto &c : e["cpus"].items())
			active += c.value() == "active";
		ok &= !kd.get_context(0).get_perf_event(idx).get_stats(st);
		if (e["counters"] == true && e["armed"] == true && e["paddr"] == true &&
		    active == cpus && e["nr_cpus"] == cpus && st.nr_cpus == cpus)
			continue;
		t.diagf("event %u: %s; sysfs nr_cpus %lu", idx, e.dump().c_str(), st.nr_cpus);
		ok = false;
	}
	return ok;
}

/* The dump has @events, each with the attributes that were written. */
bool dump_matches(const ktap::writer &t, const json &dump,
		  const std::vector<perf_event_attr> &events)
{
	bool ok = dump["events"].size() == events.size();

	for (size_t i = 0; ok && i < events.size(); i++) {
		const json &d = dump["events"][i]["attr"];
		const perf_event_attr &a = events[i];
		const std::pair<const char *, json> wrote[] = {
			{ "type", a.type }, { "config", a.config }, { "config1", a.config1 },
			{ "config2", a.config2 }, { "sample_freq", a.sample_freq },
			{ "sample_period", a.sample_period }, { "precise_ip", a.precise_ip },
			{ "sample_phys_addr", a.sample_phys_addr },
			{ "exclude_kernel", a.exclude_kernel }, { "exclude_hv", a.exclude_hv },
			{ "freq", a.freq } };

		/* the JSON type too: json's == has -1 equal to ~0ul, 5.0 to 5 */
		for (const auto &w : wrote) {
			if (d[w.first].type() == w.second.type() && d[w.first] == w.second)
				continue;
			t.diagf("%s: wrote %s, drgn %s", w.first, w.second.dump().c_str(),
				d[w.first].dump().c_str());
			ok = false;
		}
	}
	if (!ok)
		t.diagf("dump: %s", dump.dump().c_str());
	return ok;
}

bool perf_dump(const ktap::writer &t, const std::string &vmlinux, const std::string &pid,
	       json &dump)
{
	return drgn::run_json(t, vmlinux, "damon_perf_events.py", { "--pid", pid }, dump);
}

/* Wait until @cpu's counters are there or gone (hotplug is followed each sampling interval). */
bool wait_cpu_counters(const ktap::writer &t, const std::string &vmlinux, const std::string &pid,
		       unsigned int cpu, bool there, json &dump)
{
	for (int i = 0; i < 10; i++) {
		bool done = true;

		if (!perf_dump(t, vmlinux, pid, dump))
			return false;
		for (const json &e : std::as_const(dump)["events"])
			done = done && e["cpus"][std::to_string(cpu)].is_null() != there;
		if (done)
			return true;
	}
	t.diagf("CPU %u: %s", cpu, dump.dump().c_str());
	return false;
}

void hotplug_case(ktap::writer &t, const std::string &vmlinux, const damon_sysfs::kdamond &kd,
		  const std::string &pid)
{
	const unsigned int cpu = monitor::nr_cpus() - 1;
	json perf, rings;
	bool ok;

	if (!cpu || !damon_sysfs::exists("/sys/devices/system/cpu/cpu" +
					  std::to_string(cpu) + "/online")) {
		t.skip("cpu_offline_nothing_stranded", "no hotpluggable CPU");
		return;
	}
	/* a few sampling intervals after, the ring of the CPU is empty */
	ok = !set_cpu_online(cpu, false) && wait_cpu_counters(t, vmlinux, pid, cpu, false, perf) &&
	     drgn::run_json(t, vmlinux, "damon_report_rings.py", { "--json" }, rings);
	if (ok) {
		const json &row = rings["cpus"][cpu];

		t.diagf("CPU %u offline: ring %s", cpu, row.dump().c_str());
		/* the CPU made reports before, none is left */
		ok = row["ring"] == true && row["head"] > 0 && row["fill"] == 0 &&
		     rings["owner_pid"] == std::stoi(pid);
	}
	ok = !set_cpu_online(cpu, true) && ok &&
	     wait_cpu_counters(t, vmlinux, pid, cpu, true, perf) && counters_match(t, perf, kd);
	t.result(ok, "cpu_offline_nothing_stranded");
}

int run()
{
	require_damon_sysfs_or_skip(true);

	const std::string vmlinux = require_drgn_or_skip();
	damon_sysfs::session s;

	require_perf_events_or_skip(s);

	ktap::writer t(10);
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	test_pmu::pmu pmu;
	damon_sysfs::paddr_monitor pm;
	const auto bail = [&t](const char *why) {
		t.skip_rest(why);
		return t.exit_code();
	};
	json before, after;

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		return bail("no test PMU");
	}
	/* three distinctive events: two of the test PMU, page faults */
	std::vector<perf_event_attr> events{ pmu.event(123), pmu.event_with_period(9000000), {} };

	events[0].exclude_hv = true;
	events[1].sample_freq = 77;
	events[2].type = 1;		/* PERF_TYPE_SOFTWARE */
	events[2].config = 2;		/* PERF_COUNT_SW_PAGE_FAULTS */
	events[2].freq = false;
	events[2].sample_period = 7;
	events[2].exclude_kernel = true;
	/* the test PMU samples addresses the context monitors */
	if (!t.result(!pmu.set_addrs("paddr=" + std::to_string(pm.start) +
				     " len=" + std::to_string(1ul << 20)) &&
		      !damon_sysfs::setup_paddr_monitor(s, pm) &&
		      !ctx.set_perf_events(events) && start_kdamond(t, kd), "start"))
		return bail("could not start");

	const std::string pid = std::to_string(kd.pid());

	if (!t.result(perf_dump(t, vmlinux, pid, before), "dump_before_commit"))
		return bail("drgn failed");
	t.result(dump_matches(t, before, events), "attrs_match_sysfs");
	t.result(before["owner"] == true && before["perf_armed"] == true, "owner_and_armed");
	t.result(counters_match(t, before, kd), "counters_on_every_cpu");

	/* change event 1, remove event 2 */
	events[1].sample_period = 5000000;
	events.pop_back();
	if (!t.result(!ctx.set_perf_events(events) && !kd.state("commit") &&
		      perf_dump(t, vmlinux, pid, after), "dump_after_commit"))
		return bail("commit or drgn failed");
	t.result(dump_matches(t, after, events) && counters_match(t, after, kd), "commit_followed");
	t.result(after["events"][0]["counter_addrs"] == before["events"][0]["counter_addrs"] &&
		 after["events"][1]["counter_addrs"] != before["events"][1]["counter_addrs"],
		 "only_changed_event_recreated");
	hotplug_case(t, vmlinux, kd, pid);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
