// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-check the perf events of a running DAMON context as drgn sees them
 * (drgn-scripts/damon_perf_events.py) with what was written to sysfs and
 * with the stats sysfs shows, before and after an online commit:
 *
 * - every attribute of every event equals what was written;
 * - the context owns the access report rings and its events are armed;
 * - every event has a counter on every online CPU, in the active state,
 *   reporting physical addresses for a paddr context, and drgn's count of
 *   covered CPUs equals stats/nr_cpus;
 * - after a commit that changes one event and removes another, the dump
 *   follows, the unchanged event keeps its counters (the same struct
 *   perf_event objects) and the changed one has new ones;
 * - after a CPU goes offline, its counters are gone and its report ring
 *   (drgn-scripts/damon_report_rings.py) is drained: no report stays
 *   stranded there; after it comes back, it has counters again.
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
#include <vector>

namespace {

using json = nlohmann::json;
using damon_sysfs::perf_event_attr;

bool attr_matches(const ktap::writer &t, const json &d,
		  const perf_event_attr &a)
{
	const std::pair<const char *, unsigned long> nums[] = {
		{ "type", a.type }, { "config", a.config },
		{ "config1", a.config1 }, { "config2", a.config2 },
		{ "sample_freq", a.sample_freq },
		{ "sample_period", a.sample_period },
		{ "precise_ip", a.precise_ip },
	};
	const std::pair<const char *, bool> bools[] = {
		{ "sample_phys_addr", a.sample_phys_addr },
		{ "exclude_kernel", a.exclude_kernel },
		{ "exclude_hv", a.exclude_hv }, { "freq", a.freq },
	};
	bool ok = true;

	for (const auto &n : nums) {
		if (d[n.first].is_number_unsigned() &&
		    d[n.first].get<unsigned long>() == n.second)
			continue;
		t.diagf("%s: wrote %lu, drgn %s", n.first, n.second,
			d[n.first].dump().c_str());
		ok = false;
	}
	for (const auto &b : bools) {
		if (d[b.first].is_boolean() && d[b.first].get<bool>() == b.second)
			continue;
		t.diagf("%s: wrote %d, drgn %s", b.first, b.second,
			d[b.first].dump().c_str());
		ok = false;
	}
	return ok;
}

/* Each event's counters: there, armed, paddr, active on every CPU. */
bool counters_match(const ktap::writer &t, const json &dump,
		    const damon_sysfs::kdamond &kd)
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
		if (e["counters"] == true && e["armed"] == true &&
		    e["paddr"] == true && active == cpus &&
		    e["nr_cpus"] == cpus && st.nr_cpus == cpus)
			continue;
		t.diagf("event %u: %s; sysfs nr_cpus %lu", idx,
			e.dump().c_str(), st.nr_cpus);
		ok = false;
	}
	return ok;
}

bool dump_matches(const ktap::writer &t, const json &dump,
		  const std::vector<perf_event_attr> &events)
{
	bool ok = dump["events"].size() == events.size();

	for (size_t i = 0; ok && i < events.size(); i++)
		ok = attr_matches(t, dump["events"][i]["attr"], events[i]);
	if (!ok)
		t.diagf("dump: %s", dump.dump().c_str());
	return ok;
}

/* The counters of every event on @cpu are there (or are all gone). */
bool cpu_counters(const json &dump, unsigned int cpu, bool there)
{
	for (const json &e : dump["events"])
		if (e["cpus"][std::to_string(cpu)].is_null() == there)
			return false;
	return true;
}

/*
 * Wait (the kdamond follows hotplug once per sampling interval) until the
 * counters of @cpu are there or gone; @dump holds the last dump.
 */
bool wait_cpu_counters(const ktap::writer &t, const std::string &vmlinux,
		       const std::string &pid, unsigned int cpu, bool there,
		       json &dump)
{
	for (int i = 0; i < 10; i++) {
		if (!drgn::run_json(t, vmlinux, "damon_perf_events.py",
				    { "--pid", pid }, dump))
			return false;
		if (cpu_counters(dump, cpu, there))
			return true;
	}
	t.diagf("CPU %u: %s", cpu, dump.dump().c_str());
	return false;
}

void hotplug_case(ktap::writer &t, const std::string &vmlinux,
		  const damon_sysfs::kdamond &kd, const std::string &pid)
{
	const unsigned int cpu = monitor::nr_cpus() - 1;
	json perf, rings;
	bool ok;

	if (!cpu || !damon_sysfs::exists("/sys/devices/system/cpu/cpu" +
					  std::to_string(cpu) + "/online")) {
		t.skip("cpu_offline_nothing_stranded", "no hotpluggable CPU");
		return;
	}
	ok = !set_cpu_online(cpu, false) &&
	     wait_cpu_counters(t, vmlinux, pid, cpu, false, perf);
	/* a few sampling intervals after, the ring of the CPU is empty */
	ok = ok && drgn::run_json(t, vmlinux, "damon_report_rings.py",
				  { "--json" }, rings);
	if (ok) {
		const json &row = rings["cpus"][cpu];

		t.diagf("CPU %u offline: ring %s", cpu, row.dump().c_str());
		/* the CPU made reports before, none is left */
		ok = row["ring"] == true && row["head"] > 0 &&
		     row["fill"] == 0 && rings["owner_pid"] == std::stoi(pid);
	}
	ok = !set_cpu_online(cpu, true) && ok &&
	     wait_cpu_counters(t, vmlinux, pid, cpu, true, perf) &&
	     counters_match(t, perf, kd);
	t.result(ok, "cpu_offline_nothing_stranded");
}

/* three distinctive events: two of the test PMU, page faults */
std::vector<perf_event_attr> distinctive_events(const test_pmu::pmu &pmu)
{
	std::vector<perf_event_attr> events(3);

	events[0].type = static_cast<unsigned long>(pmu.type());
	events[0].sample_freq = 123;
	events[0].sample_phys_addr = true;
	events[0].exclude_hv = true;
	events[1].type = static_cast<unsigned long>(pmu.type());
	events[1].freq = false;
	events[1].sample_period = 9000000;
	events[1].sample_freq = 77;
	events[2].type = 1;
	events[2].config = 2;
	events[2].freq = false;
	events[2].sample_period = 7;
	events[2].exclude_kernel = true;
	return events;
}

/*
 * The cases on the dump of the running context, into @before; false (and
 * the rest skipped) when drgn failed.
 */
bool before_commit_cases(ktap::writer &t, const std::string &vmlinux,
			 const damon_sysfs::kdamond &kd, const std::string &pid,
			 const std::vector<perf_event_attr> &events,
			 json &before)
{
	if (!drgn::run_json(t, vmlinux, "damon_perf_events.py",
			    { "--pid", pid }, before)) {
		t.result(false, "dump_before_commit");
		t.skip_rest("drgn failed");
		return false;
	}
	t.result(true, "dump_before_commit");
	t.result(dump_matches(t, before, events), "attrs_match_sysfs");
	t.result(before["owner"] == true && before["perf_armed"] == true,
		 "owner_and_armed");
	t.result(counters_match(t, before, kd), "counters_on_every_cpu");
	return true;
}

/*
 * Commit a change of @events and check that the dump follows it; false
 * (and the rest skipped) when the commit or drgn failed.
 */
bool after_commit_cases(ktap::writer &t, const std::string &vmlinux,
			const damon_sysfs::kdamond &kd,
			const damon_sysfs::context &ctx, const std::string &pid,
			std::vector<perf_event_attr> events, const json &before)
{
	json after;

	/* change event 1, remove event 2 */
	events[1].sample_period = 5000000;
	events.pop_back();
	if (ctx.set_perf_events(events) || kd.state("commit") ||
	    !drgn::run_json(t, vmlinux, "damon_perf_events.py",
			    { "--pid", pid }, after)) {
		t.result(false, "dump_after_commit");
		t.skip_rest("commit or drgn failed");
		return false;
	}
	t.result(true, "dump_after_commit");
	t.result(dump_matches(t, after, events) &&
			 counters_match(t, after, kd),
		 "commit_followed");
	t.result(after["events"][0]["counter_addrs"] ==
			 before["events"][0]["counter_addrs"] &&
			 after["events"][1]["counter_addrs"] !=
			 before["events"][1]["counter_addrs"],
		 "only_changed_event_recreated");
	return true;
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
	json before;

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
		return t.exit_code();
	}
	const std::vector<perf_event_attr> events = distinctive_events(pmu);

	/* the test PMU samples addresses the context monitors */
	if (!t.result(!pmu.set_addrs("paddr=" + std::to_string(pm.start) +
				     " len=" + std::to_string(1ul << 20)) &&
		      !damon_sysfs::setup_paddr_monitor(s, pm) &&
		      !ctx.set_perf_events(events) && start_kdamond(t, kd),
		      "start")) {
		t.skip_rest("could not start");
		return t.exit_code();
	}
	const std::string pid = std::to_string(kd.pid());

	if (before_commit_cases(t, vmlinux, kd, pid, events, before) &&
	    after_commit_cases(t, vmlinux, kd, ctx, pid, events, before))
		hotplug_case(t, vmlinux, kd, pid);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
