// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection on DAMON's start, commit and CPU hotplug paths, one fault
 * at a time, with the test PMU damon_test_pmu as the perf events' PMU and
 * test_damon_report to tell whether a context owns the access report rings.
 * Documentation/testing.md describes the scenarios and their oracles.
 *
 * - fail_function on the error-injectable damon_report_alloc_rings() and
 *   damon_perf_create_on().  The n-th call from arming fails through the
 *   "space" budget (each call costs 1, the call that finds it at 1 fails)
 *   with times 1: "interval" counts in a hidden counter that is never
 *   reset, so it cannot aim at the n-th call.
 * - cpuN/hotplug/fail at DAMON's cpuhp state and at its neighbours.
 * - failslab and fail_page_alloc through /proc/thread-self/fail-nth around
 *   the write of "on" (damon_start() runs in the writer), and for commits,
 *   which run in the kdamond, through /proc/<kdamond>/fail-nth with the
 *   stack trace filter set to DAMON's text; n = 1, 2, ... until the write
 *   works with nothing injected.
 *
 * RAII guards restore every debugfs knob and disarm every fault.
 */
#include "lib/damon_sysfs.h"
#include "lib/kmod.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/report_inject.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using event_list = std::vector<damon_sysfs::perf_event_attr>;
using kmod::value_of;
using monitor::errno_symbol;
using monitor::log_has;
using steady = std::chrono::steady_clock;

const std::string ff_dir = "/sys/kernel/debug/fail_function";
const std::string failslab_dir = "/sys/kernel/debug/failslab";
const std::string fpa_dir = "/sys/kernel/debug/fail_page_alloc";
const std::string fn_rings = "damon_report_alloc_rings";
const std::string fn_create_on = "damon_perf_create_on";

const unsigned long mon_start = 256ul << 20;
const unsigned long mon_end = 320ul << 20;
/* bounds of the fail-nth sweeps */
const unsigned int max_nth = 600;

double secs_since(steady::time_point t0)
{
	return std::chrono::duration<double>(steady::now() - t0).count();
}

/* Debugfs knobs, each put back to its value before the first set(). */
class knob_guard {
public:
	knob_guard() = default;
	knob_guard(const knob_guard &) = delete;
	knob_guard &operator=(const knob_guard &) = delete;
	~knob_guard()
	{
		for (auto it = saved.rbegin(); it != saved.rend(); ++it)
			damon_sysfs::write_file(it->first, it->second);
	}

	int set(const std::string &path, const std::string &val)
	{
		std::string old;

		if (std::none_of(saved.begin(), saved.end(),
				 [&](const auto &s) { return s.first == path; })) {
			int err = damon_sysfs::read_file(path, old);

			if (err)
				return err;
			saved.emplace_back(path, old);
		}
		return damon_sysfs::write_file(path, val);
	}

	/* set() @dir's files in order: 0 or the first -errno. */
	int set_all(const std::string &dir,
		    const std::vector<std::pair<const char *, std::string>> &vals)
	{
		for (const auto &v : vals) {
			int err = set(dir + "/" + v.first, v.second);

			if (err)
				return err;
		}
		return 0;
	}

private:
	std::vector<std::pair<std::string, std::string>> saved;
};

/*
 * fail_function on one function: arm(), once, makes the @nth call from now
 * return @retval, once.  The destructor takes the function off the
 * injection list, then the knob guard restores fail_function's knobs.
 */
class function_fault {
public:
	/* not copyable: knob_guard is not */
	explicit function_fault(std::string fn) : fn_(std::move(fn)) {}
	~function_fault()
	{
		if (listed)
			damon_sysfs::write_file(ff_dir + "/inject", "!" + fn_);
	}

	int arm(long retval, unsigned long nth)
	{
		int err = damon_sysfs::write_file(ff_dir + "/inject", fn_);

		listed = !err;
		if (!err)
			err = damon_sysfs::write_file(ff_dir + "/" + fn_ + "/retval",
						      num(static_cast<unsigned long>(retval)));
		/* times last: from there on calls count */
		return err ? err : knobs.set_all(ff_dir, {
			{ "times", "0" }, { "probability", "100" }, { "interval", "1" },
			{ "verbose", "1" }, { "task-filter", "N" }, { "space", num(nth) },
			{ "times", "1" } });
	}

	bool fired() const
	{
		unsigned long times = 1;

		damon_sysfs::read_ulong(ff_dir + "/times", times);
		return times == 0;
	}

	/* Stop counting; was the armed fault injected? */
	bool settle()
	{
		const bool injected = fired();

		knobs.set(ff_dir + "/times", "0");
		return injected;
	}

private:
	std::string fn_;
	bool listed = false;
	knob_guard knobs;
};

/* Zeroes a task's fail-nth when it goes out of scope. */
struct fail_nth_guard {
	const std::string path;

	~fail_nth_guard() { damon_sysfs::write_file(path, "0"); }
};

/* Scenarios and injected faults, per mechanism and path. */
struct tally {
	unsigned int scenarios = 0, injected = 0;
};
std::map<std::string, tally> totals;

/* One line per scenario: what was injected where, the errno, the verdict. */
void record(const ktap::writer &t, const std::string &key, const std::string &fault,
	    int err, bool injected, bool ok, const std::string &note)
{
	totals[key].scenarios++;
	totals[key].injected += injected;
	t.diagf("%s: %s -> %s%s%s%s", key.c_str(), fault.c_str(),
		errno_symbol(err).c_str(), injected ? "" : " (not injected)",
		ok ? "" : " FAIL", note.empty() ? "" : ("; " + note).c_str());
}

/* Allocator and fault injection frames, by prefix: not the caller. */
bool allocator_frame(const std::string &f)
{
	static const char *const prefixes[] = {
		"dump_stack", "fail_dump", "should_fail", "__should_fail", "kmem_cache_alloc",
		"__kmem_cache_alloc", "kmalloc", "__kmalloc", "___kmalloc", "kzalloc", "kvmalloc",
		"__kvmalloc", "kvzalloc", "krealloc", "kmemdup", "kstrdup", "slab_", "__slab",
		"___slab", "alloc_slab", "allocate_slab", "new_slab", "alloc_pages",
		"__alloc_pages", "alloc_frozen_pages", "__alloc_frozen_pages",
		"prepare_alloc_pages", "__get_free_pages", "get_zeroed_page", "vmalloc",
		"__vmalloc", "vzalloc", "vm_area_alloc", "__get_vm_area", "alloc_vmap_area",
		"pcpu_", "kmemleak_", "create_object", "__create_object", "mem_pool_alloc",
		"__alloc_percpu", "alloc_percpu", "_raw_spin", "lock_", "__lock", "__might",
		"bitmap_alloc", "bitmap_zalloc", "kcalloc", "trace_",
	};

	return std::any_of(std::begin(prefixes), std::end(prefixes),
			   [&](const char *p) { return !f.compare(0, std::strlen(p), p); });
}

/*
 * Where the last injected failure of @lines was made, from fail_dump()'s
 * stack dump (verbose 2): the allocation's caller and the innermost DAMON
 * frame.  Empty without a dump (__GFP_NOWARN allocations).
 */
std::string fault_site(const std::vector<std::string> &lines)
{
	std::string site, damon, kind = "slab";
	size_t i, start = lines.size();

	for (i = 0; i < lines.size(); i++) {
		if (lines[i].find("FAULT_INJECTION: forcing a failure") == std::string::npos)
			continue;
		start = i;
		if (lines[i].find("fail_page_alloc") != std::string::npos)
			kind = "page";
	}
	for (i = start; i < lines.size(); i++) {
		/* reliable frames only ("  foo+0x1/0x2"), not stale "? foo" */
		const size_t b = lines[i].find_first_not_of(' ');
		const size_t e = lines[i].find("+0x");
		std::string f;

		if (lines[i].find("</TASK>") != std::string::npos)
			break;
		if (b == std::string::npos || e == std::string::npos || e <= b ||
		    lines[i][b] == '?')
			continue;
		f = lines[i].substr(b, e - b);
		if (site.empty() && !allocator_frame(f))
			site = f;
		if (f.find("damon") != std::string::npos ||
		    f.find("damos") != std::string::npos) {
			damon = f;
			break;
		}
	}
	if (site.empty() && damon.empty())
		return "";
	if (damon.empty() || damon == site)
		return kind + " at " + (site.empty() ? damon : site);
	return kind + " at " + site + " <- " + damon;
}

/* Do the test PMU's events sample (on @cpu, or on any CPU if < 0)? */
bool pmu_samples(const test_pmu::pmu &pmu, int cpu = -1)
{
	const std::string key = cpu < 0 ? "samples" : "samples_cpu" + std::to_string(cpu);
	const unsigned long before = pmu.stat(key.c_str());

	std::this_thread::sleep_for(200ms);
	return pmu.stat(key.c_str()) > before;
}

/*
 * Does some context own the access report rings (1, 0, -1: cannot tell)?
 * One report from this process: without an owner it is dropped_no_owner.
 */
int rings_owned(const report_inject::module *ri)
{
	kmod::values a, b;

	if (!ri || ri->read_stats(a) ||
	    ri->inject("kind=paddr addr=" + num(mon_start + 4096) +
		       " count=1 ctx=process cpu=-1") ||
	    ri->read_stats(b))
		return -1;
	if (value_of(b, "dropped_no_owner") > value_of(a, "dropped_no_owner"))
		return 0;
	return value_of(b, "pushed") > value_of(a, "pushed") ? 1 : -1;
}

struct fixture {
	ktap::writer &t;
	const damon_sysfs::session &s;
	const test_pmu::pmu &pmu;
	const report_inject::module *ri;
	monitor::log_watch &log;
	unsigned int cpus;

	damon_sysfs::kdamond kd() const { return s.get_kdamond(0); }
	damon_sysfs::context ctx() const { return kd().get_context(0); }
};

/*
 * kdamond 0: paddr monitoring of [mon_start, mon_end) in a fixed number of
 * regions (no split, so the kdamond hardly allocates while it runs), no
 * scheme, with @events (or the report sink if @report_sink and none).
 */
int setup_fixed_paddr(const fixture &f, const event_list &events, bool report_sink = false)
{
	damon_sysfs::paddr_monitor m;
	int err;

	m.start = mon_start;
	m.end = mon_end;
	m.min_nr_regions = m.max_nr_regions = 10;
	err = f.s.reset();
	if (!err)
		err = damon_sysfs::setup_paddr_monitor(f.s, m);
	if (!err)
		err = f.ctx().set_nr_schemes(0);
	if (!err)
		err = f.ctx().set_perf_events(events);
	return err ? err : f.ctx().set_report_sink(report_sink);
}

/* Is kdamond 0 set up and running with a test PMU event on every CPU? */
bool start_one_event(const fixture &f)
{
	return !setup_fixed_paddr(f, { f.pmu.event() }) &&
	       start_kdamond(f.t, f.kd()) && f.pmu.events_active() == f.cpus;
}

/* Commit @events to the running kdamond 0: 0 or -errno. */
int commit_events(const fixture &f, const event_list &events)
{
	int err = f.ctx().set_perf_events(events);

	return err ? err : f.kd().state("commit");
}

/* Reset DAMON and report case @name: @all, and no test PMU event left. */
void end_case(const fixture &f, bool all, const char *name)
{
	f.s.reset();
	f.t.result(all && f.pmu.events_active() == 0, name);
}

/*
 * Write @cmd to kdamond 0's state with the @n-th call of @fn returning
 * @retval; the -errno of the write (or of arming) in @err.  Injected?
 */
bool state_with_fault(const fixture &f, const char *cmd, const std::string &fn,
		      long retval, unsigned long n, int &err)
{
	function_fault ff(fn);

	err = ff.arm(retval, n);
	if (err)
		return false;
	err = f.kd().state(cmd);
	return ff.settle();
}

/* After a failed "on": nothing may be left of it.  What is, in @why. */
bool clean_after_failed_on(const fixture &f, std::string &why)
{
	const unsigned long active = f.pmu.events_active();
	const int owned = rings_owned(f.ri);
	const bool running = f.kd().running();
	const pid_t pid = f.kd().pid();

	if (!running && pid < 0 && !active && owned != 1)
		return true;
	why = "running " + num(running) + ", pid " + std::to_string(pid) +
	      ", events_active " + num(active) + ", rings owned " + std::to_string(owned);
	return false;
}

/* "on" without a fault works, with @nr_events events and the rings, and "off". */
bool retry_on(const fixture &f, unsigned long nr_events, std::string &why)
{
	const damon_sysfs::kdamond kd = f.kd();
	int err = kd.start();
	const unsigned long active = f.pmu.events_active();
	const int owned = err ? -1 : rings_owned(f.ri);
	bool ok = !err && kd.running() && active == nr_events * f.cpus && owned != 0;

	err = kd.running() ? kd.stop() : err;
	ok = ok && !err && f.pmu.events_active() == 0;
	if (!ok)
		why += "retry: " + errno_symbol(err) + ", events " + num(active) +
		       ", owned " + std::to_string(owned) + " ";
	return ok;
}

/* Case: fail_function damon_report_alloc_rings on "on". */
void ff_start_rings(const fixture &f)
{
	bool all = true;

	for (bool with_event : { false, true }) {
		const event_list ev = with_event ? event_list{ f.pmu.event() } : event_list{};
		int err = setup_fixed_paddr(f, ev, true);
		std::string why;
		bool injected, ok;

		if (err) {
			f.t.diagf("configure: %s", errno_symbol(err).c_str());
			all = false;
			continue;
		}
		injected = state_with_fault(f, "on", fn_rings, -ENOMEM, 1, err);
		ok = err == -ENOMEM && injected && clean_after_failed_on(f, why);
		ok = retry_on(f, ev.size(), why) && ok;
		record(f.t, "fail_function/start", fn_rings + " call 1 retval -12, " +
		       (with_event ? "1 event" : "the report sink"), err, injected, ok, why);
		all &= ok;
	}
	f.t.result(all, "fail_function_start_rings");
}

/*
 * Case: fail_function damon_perf_create_on on "on": each counter of two
 * events in turn with -ENOMEM and -EINVAL, which fail "on"; then -ENODEV
 * ("PMU not on this CPU") on the first and the last CPU of one event,
 * which only skips that CPU (fails the event if it is the only one).
 */
void ff_start_perf(const fixture &f)
{
	bool all = !setup_fixed_paddr(f, { f.pmu.event(), f.pmu.event(100) });

	for (long retval : { -ENOMEM, -EINVAL }) {
		for (unsigned int n = 1; all && n <= 2 * f.cpus; n++) {
			const unsigned int cpu = (n - 1) % f.cpus;
			const unsigned int event = (n - 1) / f.cpus;
			std::string why;
			int err;
			const bool injected = state_with_fault(f, "on", fn_create_on,
							       retval, n, err);
			const bool logged = log_has(f.log.poll(), "perf event " + num(event),
						    "on CPU " + num(cpu));
			bool ok = err == retval && injected && logged &&
				  clean_after_failed_on(f, why);

			if (!logged)
				why += "no log line naming event and CPU ";
			ok = retry_on(f, 2, why) && ok;
			record(f.t, "fail_function/start", fn_create_on + " call " +
			       num(n) + " (event " + num(event) + ", CPU " + num(cpu) +
			       ") retval " + std::to_string(retval), err, injected, ok, why);
			all &= ok;
		}
	}
	for (unsigned int n : { 1u, f.cpus }) {
		std::string why;
		int err;
		bool injected, ok;

		all = all && !setup_fixed_paddr(f, { f.pmu.event() });
		injected = state_with_fault(f, "on", fn_create_on, -ENODEV, n, err);
		const unsigned long active = f.pmu.events_active();

		if (f.cpus == 1)
			ok = err == -ENODEV && injected && clean_after_failed_on(f, why);
		else
			ok = !err && injected && f.kd().running() && active == f.cpus - 1 &&
			     pmu_samples(f.pmu);
		why += "events_active " + num(active) + " (tolerated: CPU " + num(n - 1) +
		       " not covered)";
		if (f.kd().running())
			ok = !f.kd().stop() && ok && f.pmu.events_active() == 0;
		record(f.t, "fail_function/start", fn_create_on + " call " + num(n) +
		       " retval -19", err, injected, ok, why);
		all &= ok;
	}
	f.t.result(all, "fail_function_start_perf_each_cpu");
}

/*
 * After a failed commit: the kdamond @pid runs as before, with @nr_events
 * old events on every CPU, which still sample, and ring ownership @owned.
 */
bool old_config_kept(const fixture &f, pid_t pid, unsigned long nr_events,
		     int owned, std::string &why)
{
	/* first, so that a kdamond that is stopping has stopped */
	const bool sampling = nr_events ? pmu_samples(f.pmu) : true;
	const unsigned long active = f.pmu.events_active();
	const bool running = f.kd().running();
	const pid_t now = f.kd().pid();
	const int owned_now = rings_owned(f.ri);

	if (running && now == pid && active == nr_events * f.cpus &&
	    sampling && (owned < 0 || owned_now < 0 || owned_now == owned))
		return true;
	why += "running " + num(running) + ", pid " + std::to_string(now) + " (was " +
	       std::to_string(pid) + "), events_active " + num(active) + ", sampling " +
	       num(sampling) + ", owned " + std::to_string(owned_now) + " (was " +
	       std::to_string(owned) + ") ";
	return false;
}

/*
 * Commit @what (written with -errno @err) with the @n-th call of @fn (on
 * CPU n - 1 if @per_cpu) returning @retval: the kdamond @pid keeps
 * @nr_old events and the ring ownership @owned.
 */
bool commit_fault_kept(const fixture &f, int err, const std::string &what,
		       const std::string &fn, long retval, unsigned long n, bool per_cpu,
		       pid_t pid, unsigned long nr_old, int owned)
{
	std::string why;
	bool injected = false, ok;

	if (!err)
		injected = state_with_fault(f, "commit", fn, retval, n, err);
	ok = err == retval && injected && old_config_kept(f, pid, nr_old, owned, why);
	record(f.t, "fail_function/commit", what + ": " + fn + " call " + num(n) +
	       (per_cpu ? " (CPU " + num(n - 1) + ")" : "") + " retval " +
	       std::to_string(retval), err, injected, ok, why);
	return ok;
}

/*
 * Case: fail_function damon_perf_create_on on a commit that adds a second
 * event to a running kdamond or changes its one; every CPU in turn,
 * -ENOMEM and -EINVAL.  Then the commit without a fault works.
 */
void ff_commit_perf(const fixture &f)
{
	const event_list two = { f.pmu.event(), f.pmu.event(100) };
	bool all = start_one_event(f);
	const pid_t pid = f.kd().pid();
	const int owned = rings_owned(f.ri);

	for (const char *what : { "add event 1", "change event 0" }) {
		const event_list next = what[0] == 'a' ? two : event_list{ f.pmu.event(150) };

		for (long retval : { -ENOMEM, -EINVAL })
			for (unsigned int n = 1; all && n <= f.cpus; n++)
				all = !f.ctx().set_perf_events(next) &&
				      commit_fault_kept(f, 0, what, fn_create_on, retval, n,
							true, pid, 1, owned);
	}
	/* without a fault: add, then back to the original event */
	if (all) {
		int err = commit_events(f, two);

		all = !err && f.pmu.events_active() == 2 * f.cpus;
		err = commit_events(f, { f.pmu.event() });
		all = all && !err && f.pmu.events_active() == f.cpus;
		f.t.diagf("commit without fault: %s, events %lu",
			  errno_symbol(err).c_str(), f.pmu.events_active());
	}
	end_case(f, all, "fail_function_commit_perf_each_cpu");
}

/*
 * Case: a running context without events (so it does not own the rings)
 * gets its first event by commit, the report sink or an event of the test
 * PMU, and fails to allocate the rings; or gets the test PMU's event,
 * takes the rings and fails to create the event's counters: it must not
 * own the rings afterwards.
 */
void ff_commit_reports(const fixture &f)
{
	bool all = !setup_fixed_paddr(f, {}) && start_kdamond(f.t, f.kd());
	const pid_t pid = f.kd().pid();
	const int owned = rings_owned(f.ri);
	const struct { bool sink; const std::string &fn; unsigned long n; } variants[] = {
		{ true, fn_rings, 1 }, { false, fn_rings, 1 },
		{ false, fn_create_on, 1 }, { false, fn_create_on, f.cpus },
	};

	if (owned == 1) {
		f.t.diag("the rings are owned before the commit");
		all = false;
	}
	for (size_t i = 0; all && i < std::size(variants); i++) {
		const auto &v = variants[i];
		const int err = f.ctx().set_perf_events({ v.sink ?
			damon_sysfs::report_sink_event() : f.pmu.event() });

		all &= commit_fault_kept(f, err, v.sink ? "the report sink" : "1 event",
					 v.fn, -ENOMEM, v.n, false, pid, 0, owned);
	}
	/* without a fault the commit takes the rings */
	if (all) {
		const int err = commit_events(f, { f.pmu.event() });

		all = !err && f.pmu.events_active() == f.cpus && rings_owned(f.ri) != 0;
		f.t.diagf("commit without fault: %s, events %lu",
			  errno_symbol(err).c_str(), f.pmu.events_active());
	}
	f.s.reset();
	f.t.result(all && f.pmu.events_active() == 0 && rings_owned(f.ri) != 1,
		   "fail_function_commit_first_event");
}

/* A normal offline (if @offline_first) and online of @cpu work; it samples. */
bool cpu_recovers(const fixture &f, unsigned int cpu, bool offline_first, std::string &why)
{
	bool ok = true;
	int err;

	if (offline_first) {
		err = set_cpu_online(cpu, false);
		ok = !err && f.pmu.wait_events_active(f.cpus - 1, 20ms);
		why += ", then offline " + errno_symbol(err) + " events " +
		       num(f.pmu.events_active());
	}
	err = set_cpu_online(cpu, true);
	ok = !err && f.pmu.wait_events_active(f.cpus, 20ms) &&
	     pmu_samples(f.pmu, static_cast<int>(cpu)) && ok;
	why += ", then online " + errno_symbol(err) + " events " + num(f.pmu.events_active());
	return ok;
}

/*
 * ff_hotplug's scenario: @victim comes online with its counter failing
 * with @retval under the kdamond @pid, which must skip it; then it
 * recovers.  False also if @victim cannot be taken offline first.
 */
bool ff_hotplug_online(const fixture &f, unsigned int victim, pid_t pid, long retval)
{
	const damon_sysfs::kdamond kd = f.kd();
	/* the wait for the fault ends a settle_timeout after this */
	const auto end = steady::now() + monitor::settle_timeout;
	damon_sysfs::perf_event_stats st;
	std::string why;
	int err = set_cpu_online(victim, false);
	bool injected = false, ok, logged;

	if (err || !f.pmu.wait_events_active(f.cpus - 1, 20ms)) {
		f.t.diagf("offlining CPU %u: %s, events %lu", victim,
			  errno_symbol(err).c_str(), f.pmu.events_active());
		return false;
	}
	f.log.poll();
	{
		function_fault ff(fn_create_on);

		err = ff.arm(retval, 1);
		if (!err)
			err = set_cpu_online(victim, true);
		/* the kdamond notices within a sampling interval */
		while (!err && !injected && steady::now() < end) {
			std::this_thread::sleep_for(20ms);
			injected = ff.fired();
		}
		ff.settle();
	}
	std::this_thread::sleep_for(100ms);
	logged = log_has(f.log.poll(), "CPU " + num(victim) + " that came online");
	ok = !err && injected && kd.running() && kd.pid() == pid &&
	     f.pmu.events_active() == f.cpus - 1 && !kd.state("update_sample_stats") &&
	     !f.ctx().get_perf_event(0).get_stats(st) && st.nr_cpus == f.cpus - 1 &&
	     pmu_samples(f.pmu, 0) && logged == (retval != -ENODEV);
	why = "events_active " + num(f.pmu.events_active()) + ", nr_cpus " +
	      num(st.nr_cpus) + ", logged " + num(logged) + " (tolerated: CPU skipped); recovery";
	ok = cpu_recovers(f, victim, true, why) && ok;
	record(f.t, "fail_function/hotplug", "online CPU " + num(victim) + ": " +
	       fn_create_on + " call 1 retval " + std::to_string(retval), 0, injected, ok, why);
	return ok;
}

/*
 * Case: a CPU comes online while an event runs and damon_perf_update()
 * cannot create its counter: by design it logs why (not for -ENODEV, the
 * PMU not covering the CPU), skips the CPU and the others keep sampling.
 * The next online of the CPU gives it a counter again.
 */
void ff_hotplug(const fixture &f)
{
	const unsigned int victim = f.cpus - 1;
	bool all;

	if (f.cpus < 2 || !damon_sysfs::exists("/sys/devices/system/cpu/cpu" +
					       num(victim) + "/online")) {
		f.t.skip("fail_function_hotplug_online", "needs a second, hotpluggable CPU");
		return;
	}
	all = start_one_event(f);
	const pid_t pid = f.kd().pid();

	for (long retval : { -ENOMEM, -EINVAL, -ENODEV })
		all = all && ff_hotplug_online(f, victim, pid, retval);
	set_cpu_online(victim, true);
	end_case(f, all, "fail_function_hotplug_online");
}

/* What the scenarios of cpuhp_fail share. */
struct cpuhp_victim {
	unsigned int cpu;
	std::string dir;	/* /sys/devices/system/cpu/cpuN */
	pid_t pid;		/* of the kdamond */
	std::vector<std::pair<int, std::string>> states;	/* hotplug/states */
	int damon;		/* mm/damon/perf:online's state, or -1 */
};

/*
 * After a failed operation: the CPU as it was (@online_before), the
 * kdamond @v.pid running with @want counters, sampling on cpu0 and the
 * victim if it is online.
 */
bool cpuhp_rolled_back(const fixture &f, const cpuhp_victim &v,
		       bool online_before, unsigned long want, std::string &why)
{
	const damon_sysfs::kdamond kd = f.kd();
	damon_sysfs::perf_event_stats st;
	std::string online;

	std::this_thread::sleep_for(100ms);
	damon_sysfs::read_file(v.dir + "/online", online);
	const bool settled = f.pmu.wait_events_active(want, 20ms);
	const bool same_kdamond = kd.running() && kd.pid() == v.pid;
	int err_stats = kd.state("update_sample_stats");

	if (!err_stats)
		err_stats = f.ctx().get_perf_event(0).get_stats(st);
	const bool sampling = pmu_samples(f.pmu, 0) &&
		(!online_before || pmu_samples(f.pmu, static_cast<int>(v.cpu)));

	why = "online " + online + ", events_active " + num(f.pmu.events_active()) +
	      ", same kdamond " + num(same_kdamond) + ", stats " + errno_symbol(err_stats) +
	      " nr_cpus " + num(st.nr_cpus) + ", sampling " + num(sampling) +
	      ", settled " + num(settled);
	return online == (online_before ? "1" : "0") && settled &&
	       same_kdamond && !err_stats && st.nr_cpus == want && sampling;
}

/*
 * cpuhp_fail's scenario: @v's CPU taken offline (@down) or brought online
 * fails at DAMON's state (@own), or else at the nearest state that makes
 * it fail among those whose callbacks run after DAMON's; it is rolled
 * back, and the CPU recovers.
 */
bool cpuhp_fail_scenario(const fixture &f, const cpuhp_victim &v, bool down, bool own)
{
	const unsigned long want = down ? f.cpus : f.cpus - 1;
	std::vector<int> cands;
	std::string what, why;
	int err = 0, state = -1;
	bool injected = false, ok;

	if (!down && (set_cpu_online(v.cpu, false) ||
		      !f.pmu.wait_events_active(f.cpus - 1, 20ms))) {
		f.t.diagf("offlining CPU %u first failed", v.cpu);
		return false;
	}
	for (const auto &s : v.states)
		if (own ? s.first == v.damon : down ? s.first < v.damon : s.first > v.damon)
			cands.push_back(s.first);
	if (down)
		std::reverse(cands.begin(), cands.end());
	for (size_t i = 0; !injected && i < cands.size() && i < 8; i++) {
		{
			/* disarmed again before anything else is done to the CPU */
			knob_guard knob;

			if (knob.set(v.dir + "/hotplug/fail", std::to_string(cands[i])))
				continue;	/* cannot fail there */
			err = set_cpu_online(v.cpu, !down);
		}
		injected = err == -EAGAIN;
		if (injected) {
			state = cands[i];
		} else if (err || set_cpu_online(v.cpu, down) ||
			   !f.pmu.wait_events_active(want, 20ms)) {
			f.t.diagf("state %d: hotplug %s", cands[i], errno_symbol(err).c_str());
			break;
		}
		/* else no callback that way: it was undone, try the next */
	}
	for (const auto &s : v.states)
		if (s.first == state)
			what = s.second;
	/* the checks run whether or not the fault was injected */
	ok = cpuhp_rolled_back(f, v, down, want, why) && injected;
	ok = cpu_recovers(f, v.cpu, down, why) && ok;
	record(f.t, "cpuhp_fail", std::string(down ? "offline" : "online") + " CPU " +
	       num(v.cpu) + " failed at state " + std::to_string(state) + " " + what +
	       (own ? " (DAMON's)" : down ? " (below DAMON's)" : " (above DAMON's)"),
	       injected ? -EAGAIN : 0, injected, ok, why);
	return ok;
}

/*
 * Case: a CPU hotplug operation, while an event samples on every CPU,
 * fails at DAMON's own cpuhp state "mm/damon/perf:online" (its callback
 * is not called), at the nearest state below it while the CPU goes
 * offline (DAMON's teardown callback ran, then its startup callback for
 * the rollback), or above it while the CPU comes online (the other way
 * round).  It must fail with EAGAIN and be rolled back: the CPU as it
 * was, a counter on exactly the online CPUs; and the CPU must recover.
 */
void cpuhp_fail(const fixture &f)
{
	const unsigned int victim = f.cpus - 1;
	const std::string cpu_dir = "/sys/devices/system/cpu/cpu" + num(victim);
	std::string text, line;
	bool all;

	if (f.cpus < 2 || !damon_sysfs::exists(cpu_dir + "/online") ||
	    !damon_sysfs::exists(cpu_dir + "/hotplug/fail")) {
		f.t.skip("cpuhp_fail_rolled_back", "needs a second, hotpluggable CPU");
		return;
	}
	all = start_one_event(f);
	cpuhp_victim v{ victim, cpu_dir, f.kd().pid(), {}, -1 };

	/* DAMON's state is set up when the first event is created */
	if (all && !damon_sysfs::read_file("/sys/devices/system/cpu/hotplug/states", text)) {
		std::istringstream in(text);

		while (std::getline(in, line)) {
			const size_t colon = line.find(':');

			if (colon != std::string::npos)
				v.states.emplace_back(std::atoi(line.c_str()), line.substr(
					line.find_first_not_of(' ', colon + 1)));
		}
	}
	for (const auto &s : v.states)
		if (s.second == "mm/damon/perf:online")
			v.damon = s.first;
	if (v.damon < 0) {
		f.t.diag("no cpuhp state mm/damon/perf:online");
		all = false;
	}
	/* offline (true) or online (false), at DAMON's state or beside it */
	for (const bool down : { true, false })
		for (const bool own : { true, false })
			all = all && cpuhp_fail_scenario(f, v, down, own);
	set_cpu_online(victim, true);
	end_case(f, all, "cpuhp_fail_rolled_back");
}

/*
 * failslab and fail_page_alloc: only through fail-nth, sleeping
 * allocations too, of any order (but not user pages, __GFP_HIGHMEM), with
 * a stack trace for each injected failure, and the filter [@lo, @hi).
 */
int setup_alloc_faults(knob_guard &knobs, unsigned long lo, unsigned long hi)
{
	for (const std::string &dir : { failslab_dir, fpa_dir }) {
		int err = knobs.set_all(dir, {
			{ "probability", "0" }, { "task-filter", "N" }, { "ignore-gfp-wait", "N" },
			{ "verbose", "2" }, { "stacktrace-depth", "32" },
			{ "require-start", num(lo) }, { "require-end", num(hi) },
			{ "reject-start", "0" }, { "reject-end", "0" } });

		if (err)
			return err;
	}
	return knobs.set(fpa_dir + "/min-order", "0");
}

/* A fail-nth sweep's tally. */
struct nth_sweep {
	const steady::time_point t0 = steady::now();
	unsigned int nr_failed = 0, nr_tolerated = 0, nr_restarts = 0;
	std::map<std::string, unsigned int> sites;	/* where failures failed the write */
	bool done = false;	/* reached a write without a fault */

	/* The write failed, @injected a failure at @site or not. */
	void failed(bool injected, const std::string &site)
	{
		nr_failed += injected;
		sites[site.empty() ? "(no dump: __GFP_NOWARN)" : site]++;
	}

	/* The write went through: why a failure @injected at @site was tolerated. */
	std::string passed(bool injected, const std::string &site)
	{
		done = !injected;
		nr_tolerated += injected;
		if (!injected)
			return "";
		if (!site.empty())
			return "tolerated";
		return "tolerated (a __GFP_NOWARN allocation with a fallback, like kmemleak's metadata)";
	}

	/* How often @what failed at each site; did it reach @a_what without a fault? */
	void show(const ktap::writer &t, const char *what, const char *a_what) const
	{
		for (const auto &kv : sites)
			t.diagf("  %s failed %u times: %s", what, kv.second, kv.first.c_str());
		if (!done)
			t.diagf("the sweep did not reach %s without a fault", a_what);
	}
};

/*
 * Write "on" with this thread's (@nth_path) @n-th allocation failing: its
 * -errno in @err, fail-nth after it in @left (0: injected).  False if a
 * file cannot be opened or fail-nth cannot be cleared.
 */
bool write_on_failing_nth(const ktap::writer &t, const damon_sysfs::kdamond &kd,
			  const std::string &nth_path, unsigned int n, int &err,
			  unsigned long &left)
{
	/* all opened first: open() allocates too */
	const int state_fd = open(kd.path("state").c_str(), O_WRONLY | O_CLOEXEC);
	const int wfd = open(nth_path.c_str(), O_WRONLY | O_CLOEXEC);
	const int rfd = open(nth_path.c_str(), O_RDONLY | O_CLOEXEC);
	bool ok = state_fd >= 0 && wfd >= 0 && rfd >= 0;

	if (!ok) {
		t.diagf("open: %s", std::strerror(errno));
	} else {
		const std::string v = num(n);
		char buf[32] = "";
		ssize_t r;

		err = write(wfd, v.data(), v.size()) < 0 ? -errno : 0;
		if (!err && write(state_fd, "on", 2) < 0)
			err = -errno;
		r = read(rfd, buf, sizeof(buf) - 1);
		ok = write(wfd, "0", 1) >= 0;
		if (r > 0)
			left = std::strtoul(buf, nullptr, 10);
	}
	for (int fd : { state_fd, wfd, rfd })
		if (fd >= 0)
			close(fd);
	return ok;
}

/*
 * Case: "on" with the n-th allocation of the writing thread failing, for
 * n = 1, 2, ...: it fails with ENOMEM and leaves nothing behind, or a
 * fallback took the failure (or none was injected) and the kdamond runs.
 */
void fail_nth_start(const fixture &f)
{
	const std::string nth_path = "/proc/thread-self/fail-nth";
	const damon_sysfs::kdamond kd = f.kd();
	nth_sweep sw;
	knob_guard knobs;
	fail_nth_guard nth_guard{ nth_path };
	int err = setup_alloc_faults(knobs, 0, ~0ul);
	bool all = !err && !setup_fixed_paddr(f, { f.pmu.event() });
	unsigned int n;

	if (err)
		f.t.diagf("fault knobs: %s", errno_symbol(err).c_str());
	for (n = 1; all && !sw.done && n <= max_nth; n++) {
		unsigned long left = ~0ul;
		std::string why, site;
		bool injected, ok;

		f.log.poll();
		all = write_on_failing_nth(f.t, kd, nth_path, n, err, left);
		if (!all)
			break;
		injected = left == 0;
		site = fault_site(f.log.poll());
		if (err) {
			ok = err == -ENOMEM && injected && clean_after_failed_on(f, why);
			sw.failed(injected, site);
		} else {
			const unsigned long active = f.pmu.events_active();

			ok = kd.running() && kd.pid() > 0 && active == f.cpus;
			if (!ok)
				why = "running " + num(kd.running()) + ", events " + num(active);
			ok = !kd.stop() && ok && f.pmu.events_active() == 0;
			why += sw.passed(injected, site);
		}
		record(f.t, "fail-nth/start", "allocation " + num(n) +
		       (site.empty() ? "" : " " + site), err, injected, ok, why);
		all &= ok;
	}
	f.t.diagf("fail-nth start: %u allocations, %u failed \"on\", %u tolerated, %.1f s",
		  n - 1 - (sw.done ? 1 : 0), sw.nr_failed, sw.nr_tolerated, secs_since(sw.t0));
	sw.show(f.t, "\"on\"", "an \"on\"");
	f.s.reset();
	f.t.result(all && sw.done, "fail_nth_start_allocations");
}

/*
 * The text of mm/damon from /proc/kallsyms: the kernel image's (not a
 * [module]'s) damon_*, damos_*, kdamond* and __damon_* functions, without
 * compiler-split parts like .cold ones, which live elsewhere.  mm/damon's
 * objects are linked one after the other, but .init.text functions are
 * far away: the densest cluster, no two neighbours more than 256 KiB
 * apart, up to the next symbol of any kind.  Says which functions of the
 * commit path are not in it.  False if kallsyms hides the addresses.
 */
bool damon_text_range(const ktap::writer &t, unsigned long &lo, unsigned long &hi)
{
	static const char *const commit_path[] = {
		"kdamond_fn", "damon_commit_ctx", "damon_perf_create_on",
		"damon_sysfs_commit_input",
	};
	std::ifstream in("/proc/kallsyms");
	std::vector<unsigned long> all_addrs, damon;
	std::map<std::string, unsigned long> found;
	std::string line;
	size_t best_b = 0, best_e = 0, b = 0, i;

	while (std::getline(in, line)) {
		std::istringstream ls(line);
		std::string addr, type, name, mod;
		unsigned long a;

		if (!(ls >> addr >> type >> name))
			continue;
		a = std::strtoul(addr.c_str(), nullptr, 16);
		for (const char *sym : commit_path)
			if (name == sym)
				found.emplace(name, a);	/* keeps the first */
		if (ls >> mod)
			continue;
		all_addrs.push_back(a);
		if ((type != "t" && type != "T") || name.find('.') != std::string::npos)
			continue;
		if (!name.compare(0, 6, "damon_") || !name.compare(0, 6, "damos_") ||
		    !name.compare(0, 7, "kdamond") || !name.compare(0, 8, "__damon_") ||
		    !name.compare(0, 8, "__damos_"))
			damon.push_back(a);
	}
	if (damon.empty() || !damon.front())
		return false;
	std::sort(damon.begin(), damon.end());
	for (i = 1; i <= damon.size(); i++) {
		if (i < damon.size() && damon[i] - damon[i - 1] <= 256 * 1024)
			continue;
		if (i - b > best_e - best_b) {
			best_b = b;
			best_e = i;
		}
		b = i;
	}
	lo = damon[best_b];
	hi = damon[best_e - 1];
	std::sort(all_addrs.begin(), all_addrs.end());
	auto next = std::upper_bound(all_addrs.begin(), all_addrs.end(), hi);
	hi = next == all_addrs.end() ? hi + 4096 : *next;
	t.diagf("DAMON text %#lx-%#lx (%lu KiB): %zu of %zu damon/damos/kdamond symbols",
		lo, hi, (hi - lo) >> 10, best_e - best_b, damon.size());
	for (const char *sym : commit_path) {
		const auto it = found.find(sym);

		if (it == found.end() || it->second < lo || it->second >= hi)
			t.diagf("%s is not in the DAMON text range", sym);
	}
	return true;
}

/*
 * The verdict on a commit of two events to the kdamond @pid running @one
 * (rings @owned), a failure @injected at @site.  Failed (@err): with
 * ENOMEM, and the old configuration kept, or, after a failure past the
 * point where the commit changed the context (maybe_corrupted), the
 * kdamond stopped cleanly; it is restarted.  Went through: it runs the
 * two events (a fallback took a failure), and a commit back to @one works.
 */
bool failslab_commit_check(const fixture &f, const event_list &one, pid_t pid, int owned,
			   int err, bool injected, const std::string &site, nth_sweep &sw,
			   std::string &why)
{
	const damon_sysfs::kdamond kd = f.kd();
	bool ok;

	if (!err) {
		ok = kd.running() && f.pmu.events_active() == 2 * f.cpus;
		if (!ok)
			why = "events " + num(f.pmu.events_active()) + " ";
		why += sw.passed(injected, site);
		return !commit_events(f, one) && f.pmu.events_active() == f.cpus && ok;
	}
	sw.failed(injected, site);
	ok = err == -ENOMEM && injected;
	if (old_config_kept(f, pid, 1, owned, why) || kd.running())
		return why.empty() && ok;
	ok = ok && f.pmu.wait_events_active(0, 20ms) && rings_owned(f.ri) != 1;
	why = "failed after the context was changed: the kdamond stopped (maybe_corrupted) and left events " +
	      num(f.pmu.events_active()) + ", rings owned " + std::to_string(rings_owned(f.ri));
	ok = !setup_fixed_paddr(f, one) && ok && start_kdamond(f.t, kd);
	sw.nr_restarts++;
	return ok;
}

/*
 * Case: a commit adding an event to a running kdamond with the k-th
 * allocation with DAMON on the kdamond's stack failing, k = 1, 2, ...
 */
void failslab_commit(const fixture &f)
{
	const damon_sysfs::kdamond kd = f.kd();
	const event_list one = { f.pmu.event() };
	const event_list two = { f.pmu.event(), f.pmu.event(100) };
	unsigned long lo = 0, hi = 0;
	unsigned int k;
	nth_sweep sw;
	knob_guard knobs;
	bool all;
	int err;

	if (!damon_text_range(f.t, lo, hi)) {
		f.t.skip("failslab_commit_allocations", "no addresses in /proc/kallsyms");
		return;
	}
	err = setup_alloc_faults(knobs, lo, hi);
	if (err)
		f.t.diagf("fault knobs: %s", errno_symbol(err).c_str());
	all = !err && start_one_event(f);
	for (k = 1; all && !sw.done && k <= max_nth; k++) {
		const pid_t pid = kd.pid();
		const std::string nth_path = "/proc/" + std::to_string(pid) + "/fail-nth";
		const int owned = rings_owned(f.ri);
		std::string why, site;
		unsigned long left = ~0ul;
		bool injected, ok;

		if (f.ctx().set_perf_events(two))
			break;
		f.log.poll();
		{
			fail_nth_guard guard{ nth_path };

			err = damon_sysfs::write_file(nth_path, num(k));
			if (err) {
				f.t.diagf("%s: %s", nth_path.c_str(), errno_symbol(err).c_str());
				all = false;
				break;
			}
			err = kd.state("commit");
			damon_sysfs::read_ulong(nth_path, left);
			damon_sysfs::write_file(nth_path, "0");
		}
		injected = left == 0;
		site = fault_site(f.log.poll());
		ok = failslab_commit_check(f, one, pid, owned, err, injected, site, sw, why);
		record(f.t, "failslab+fail_page_alloc/commit", "kdamond allocation " + num(k) +
		       (site.empty() ? "" : " " + site), err, injected, ok, why);
		all &= ok;
	}
	f.t.diagf("failslab commit: %u allocations, %u failed commits, %u tolerated, %u kdamond restarts, %.1f s",
		  k - 1 - (sw.done ? 1 : 0), sw.nr_failed, sw.nr_tolerated,
		  sw.nr_restarts, secs_since(sw.t0));
	sw.show(f.t, "commit", "a commit");
	end_case(f, all && sw.done, "failslab_commit_allocations");
}

/* Case: kmemleak finds no unreferenced object allocated by or for DAMON. */
void kmemleak_case(ktap::writer &t)
{
	unsigned int nr_all = 0;
	const int nr_damon = monitor::kmemleak_damon(t, nr_all, true);

	if (nr_damon < 0 && !damon_sysfs::exists(monitor::kmemleak_path)) {
		t.skip("kmemleak_no_damon_leaks", "no kmemleak");
		return;
	}
	if (nr_damon < 0)	/* a scan that cannot find anything fails */
		t.diagf("%s refused scan or read: kmemleak disabled itself",
			monitor::kmemleak_path);
	else
		t.diagf("kmemleak: %u unreferenced objects, %d of DAMON", nr_all, nr_damon);
	t.result(nr_damon == 0, "kmemleak_no_damon_leaks");
}

/* Are fail_function and both helpers there?  Empty if so, else why not. */
std::string fail_function_missing()
{
	std::string text;

	if (damon_sysfs::read_file(ff_dir + "/injectable", text))
		return "no fail_function (CONFIG_FAIL_FUNCTION, debugfs)";
	for (const std::string &fn : { fn_rings, fn_create_on })
		if (text.find(fn + "\t") == std::string::npos &&
		    text.find(fn + " ") == std::string::npos)
			return fn + " is not error-injectable";
	if (!damon_sysfs::exists(failslab_dir + "/ignore-gfp-wait") ||
	    !damon_sysfs::exists(fpa_dir + "/ignore-gfp-wait") ||
	    !damon_sysfs::exists(failslab_dir + "/require-start") ||
	    !damon_sysfs::exists("/proc/thread-self/fail-nth"))
		return "no failslab, fail_page_alloc, stack trace filter or fail-nth";
	return "";
}

/* Case: every sweep injected faults (else it tested no error path). */
void faults_injected_case(ktap::writer &t, steady::time_point t0)
{
	unsigned int nr_scen = 0, nr_inj = 0;
	std::string idle;

	for (const auto &kv : totals) {
		t.diagf("total %s: %u scenarios, %u faults injected", kv.first.c_str(),
			kv.second.scenarios, kv.second.injected);
		nr_scen += kv.second.scenarios;
		nr_inj += kv.second.injected;
		if (kv.second.scenarios && !kv.second.injected)
			idle += " " + kv.first;
	}
	t.diagf("total: %u scenarios, %u faults injected, %.1f s", nr_scen, nr_inj, secs_since(t0));
	if (!nr_scen) {
		t.skip("faults_injected", "no sweep ran");
		return;
	}
	if (!idle.empty())
		t.diag("sweeps that injected nothing:" + idle);
	t.result(nr_inj && idle.empty(), "faults_injected");
}

int run()
{
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	s.reset();
	const std::string why_not = fail_function_missing();

	if (!why_not.empty())
		ktap::exit_skip(why_not);

	test_pmu::pmu pmu;

	if (!pmu.ok())
		ktap::exit_skip("test PMU: " + pmu.error());

	report_inject::module ri;
	ktap::writer t(11);
	/* the stack dumps of the injected failures are expected */
	monitor::log_watch log(true);
	const auto t0 = steady::now();
	const fixture f{ t, s, pmu, ri.ok() ? &ri : nullptr, log, monitor::nr_cpus() };
	/* the cases that inject faults, in order, each timed */
	const std::pair<void (*)(const fixture &), const char *> cases[] = {
		{ ff_start_rings, "fail_function_start_rings" },
		{ ff_start_perf, "fail_function_start_perf_each_cpu" },
		{ ff_commit_perf, "fail_function_commit_perf_each_cpu" },
		{ ff_commit_reports, "fail_function_commit_first_event" },
		{ ff_hotplug, "fail_function_hotplug_online" },
		{ cpuhp_fail, "cpuhp_fail_rolled_back" },
		{ fail_nth_start, "fail_nth_start_allocations" },
		{ failslab_commit, "failslab_commit_allocations" },
	};

	if (!ri.ok())
		t.diag("test_damon_report: " + ri.error() +
		       "; ring ownership is checked by restarting only");
	/* earlier suspects are not this test's */
	monitor::kmemleak_clear();
	t.diagf("%u CPUs", f.cpus);
	for (const auto &c : cases) {
		const auto c0 = steady::now();

		c.first(f);
		log.poll();
		t.diagf("%s: %.1f s", c.second, secs_since(c0));
	}
	s.reset();
	log.poll();
	for (const std::string &l : log.bad)
		t.diag("log: " + l);
	t.result(log.bad.empty(), "kernel_log_clean");

	faults_injected_case(t, t0);
	kmemleak_case(t);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
