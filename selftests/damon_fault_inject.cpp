// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection on DAMON's start, commit and CPU hotplug paths, one fault
 * at a time, with the test PMU damon_test_pmu (selftests/damon_test_pmu/)
 * as the perf events' PMU and test_damon_report
 * (selftests/test_damon_report/) to tell whether a context owns the
 * access report rings.
 *
 * Mechanisms:
 * - fail_function on the error-injectable helpers damon_report_alloc_rings()
 *   and damon_perf_create_on(), with retvals -ENOMEM, -EINVAL and -ENODEV.
 *   The n-th call from arming fails through the "space" budget (each call
 *   costs 1, the call that finds it at 1 fails) with times 1: "interval"
 *   counts in a hidden counter that is never reset, so it cannot aim at
 *   the n-th call.  Paths: "on", a commit that adds or changes an event of
 *   a running kdamond, a commit that gives a running context without
 *   events, which did not own the rings, its first event (the report sink,
 *   the dummy event that never samples, or one of the test PMU), and a CPU
 *   coming online under a running event.
 * - /proc/thread-self/fail-nth around the write of "on" (damon_start()
 *   runs in the writer), with failslab and fail_page_alloc counting
 *   sleeping allocations: n = 1, 2, ... until "on" succeeds with nothing
 *   injected.
 * - The commit path, which runs in the kdamond: failslab and
 *   fail_page_alloc with their stack trace filter (require-start/end) set
 *   to DAMON's code, found in /proc/kallsyms, and /proc/<kdamond>/fail-nth
 *   = k, so that the k-th allocation with DAMON on the stack fails, for
 *   k = 1, 2, ... until a commit succeeds with nothing injected.  (A global
 *   "interval k" cannot be used: see above.)
 *
 * Oracles: the write fails with ENOMEM, or with the injected errno; where
 * the kernel tolerates the failure by design (a CPU the PMU does not cover,
 * a CPU that cannot get a counter when it comes online, an allocation with
 * a fallback) the documented behaviour holds instead.  After a failed
 * "on": the kdamond is off, has no pid, the test PMU has no live event, no
 * context owns the rings, and "on" without the fault works.  After a
 * failed commit: the kdamond runs with its pid and old events, which still
 * sample, and the rings' ownership did not change.  The kernel log has no
 * WARN, BUG or lockdep report, every sweep injected at least one fault,
 * and at the end kmemleak (when built in, and not disabled) finds no
 * unreferenced object of DAMON's.
 *
 * Every debugfs knob that is changed is restored, and every fault disarmed,
 * by RAII guards.  SKIPs when not root, without DAMON sysfs, perf events,
 * fail_function and the two injectable helpers, or the test PMU module.
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
using damon_sysfs::perf_event_attr;
using kmod::value_of;
using monitor::log_has;
using monitor::nr_cpus;
using steady = std::chrono::steady_clock;

const std::string debugfs = "/sys/kernel/debug";
const std::string ff_dir = debugfs + "/fail_function";
const std::string failslab_dir = debugfs + "/failslab";
const std::string fpa_dir = debugfs + "/fail_page_alloc";
const std::string fn_rings = "damon_report_alloc_rings";
const std::string fn_create_on = "damon_perf_create_on";

const unsigned long mib = 1ul << 20;
const unsigned long mon_start = 256 * mib;
const unsigned long mon_end = 320 * mib;
/* bounds of the fail-nth sweeps */
const unsigned int max_nth = 600;

std::string trim(std::string s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
		s.pop_back();
	return s;
}

/*
 * Debugfs knobs changed by a test, each restored to the value it had
 * before the first change, in reverse order, by restore() or the
 * destructor.
 */
class knob_guard {
public:
	knob_guard() = default;
	knob_guard(const knob_guard &) = delete;
	knob_guard &operator=(const knob_guard &) = delete;
	~knob_guard() { restore(); }

	int set(const std::string &path, const std::string &val)
	{
		bool known = false;

		for (const auto &s : saved)
			known |= s.first == path;
		if (!known) {
			std::string old;
			int err = damon_sysfs::read_file(path, old);

			if (err)
				return err;
			saved.emplace_back(path, trim(old));
		}
		return damon_sysfs::write_file(path, val);
	}

	void restore()
	{
		for (auto it = saved.rbegin(); it != saved.rend(); ++it)
			damon_sysfs::write_file(it->first, it->second);
		saved.clear();
	}

private:
	std::vector<std::pair<std::string, std::string>> saved;
};

/*
 * fail_function on one function.  arm() makes the @nth call from now
 * return @retval, once; the destructor takes the function off the
 * injection list and restores fail_function's attributes.
 */
class function_fault {
public:
	explicit function_fault(std::string fn) : fn_(std::move(fn)) {}
	function_fault(const function_fault &) = delete;
	function_fault &operator=(const function_fault &) = delete;
	~function_fault() { disarm(); }

	int arm(long retval, unsigned long nth)
	{
		int err = 0;

		if (!listed) {
			err = damon_sysfs::write_file(ff_dir + "/inject", fn_);
			if (err)
				return err;
			listed = true;
		}
		err = damon_sysfs::write_file(ff_dir + "/" + fn_ + "/retval",
					      num(static_cast<unsigned long>(retval)));
		if (!err)
			err = knobs.set(ff_dir + "/times", "0");
		if (!err)
			err = knobs.set(ff_dir + "/probability", "100");
		if (!err)
			err = knobs.set(ff_dir + "/interval", "1");
		if (!err)
			err = knobs.set(ff_dir + "/verbose", "1");
		if (!err)
			err = knobs.set(ff_dir + "/task-filter", "N");
		if (!err)
			err = knobs.set(ff_dir + "/space", num(nth));
		/* last: from here on calls count */
		if (!err)
			err = knobs.set(ff_dir + "/times", "1");
		return err;
	}

	/* Stop counting; true if the armed fault was injected. */
	bool settle()
	{
		unsigned long times = 1;

		damon_sysfs::read_ulong(ff_dir + "/times", times);
		knobs.set(ff_dir + "/times", "0");
		return times == 0;
	}

	/* Calls seen since arm(), if the fault was not injected. */
	unsigned long space_left() const
	{
		unsigned long v = 0;

		damon_sysfs::read_ulong(ff_dir + "/space", v);
		return v;
	}

	void disarm()
	{
		if (listed)
			damon_sysfs::write_file(ff_dir + "/inject", "!" + fn_);
		listed = false;
		knobs.restore();
	}

private:
	std::string fn_;
	bool listed = false;
	knob_guard knobs;
};

/* Zeroes a task's fail-nth when it goes out of scope. */
class fail_nth_guard {
public:
	explicit fail_nth_guard(std::string path) : path_(std::move(path)) {}
	fail_nth_guard(const fail_nth_guard &) = delete;
	fail_nth_guard &operator=(const fail_nth_guard &) = delete;
	~fail_nth_guard() { damon_sysfs::write_file(path_, "0"); }

private:
	std::string path_;
};

/* Scenarios and injected faults, per mechanism and path. */
struct tally {
	unsigned int scenarios = 0;
	unsigned int injected = 0;
};

std::map<std::string, tally> totals;

/*
 * One line per scenario: what was injected where, the errno the write
 * returned, and the verdict.
 */
void record(const ktap::writer &t, const std::string &key,
	    const std::string &fault, int err, bool injected, bool ok,
	    const std::string &note)
{
	tally &ta = totals[key];

	ta.scenarios++;
	if (injected)
		ta.injected++;
	t.diagf("%s: %s -> %s%s%s%s", key.c_str(), fault.c_str(),
		monitor::errno_symbol(err).c_str(), injected ? "" : " (not injected)",
		ok ? "" : " FAIL", note.empty() ? "" : ("; " + note).c_str());
}

/*
 * The function name of a reliable stack dump line ("  foo+0x1/0x2"), or ""
 * (also for the unreliable "? foo" ones, stale values on the stack).
 */
std::string frame_name(const std::string &l)
{
	size_t b = l.find_first_not_of(' ');
	size_t e = l.find("+0x");

	if (b == std::string::npos || e == std::string::npos || e <= b ||
	    l[b] == '?')
		return "";
	return l.substr(b, e - b);
}

/* Allocator and fault injection frames, skipped to find the caller. */
bool allocator_frame(const std::string &f)
{
	static const char *const prefixes[] = {
		"dump_stack", "fail_dump", "should_fail", "__should_fail",
		"kmem_cache_alloc", "__kmem_cache_alloc", "kmalloc", "__kmalloc",
		"___kmalloc", "kzalloc", "kvmalloc", "__kvmalloc", "kvzalloc",
		"krealloc", "kmemdup", "kstrdup", "slab_", "__slab", "___slab",
		"alloc_slab", "allocate_slab", "new_slab", "alloc_pages",
		"__alloc_pages", "alloc_frozen_pages", "__alloc_frozen_pages",
		"prepare_alloc_pages", "__get_free_pages", "get_zeroed_page",
		"vmalloc", "__vmalloc", "vzalloc", "vm_area_alloc",
		"__get_vm_area", "alloc_vmap_area", "pcpu_", "kmemleak_",
		"create_object", "__create_object", "mem_pool_alloc",
		"__alloc_percpu", "alloc_percpu", "_raw_spin", "lock_",
		"__lock", "__might", "__alloc_pages_bulk", "alloc_pages_bulk",
		"__kmalloc_node", "kmalloc_node", "__kmalloc_cache",
		"kmalloc_trace", "__kvmalloc_node", "alloc_pages_mpol",
		"__vmalloc_node", "__vmalloc_area", "vm_area_alloc_pages",
		"bitmap_alloc", "bitmap_zalloc", "kcalloc", "kmalloc_array",
		"kvmalloc_array", "trace_",
	};

	for (const char *p : prefixes)
		if (!f.compare(0, std::strlen(p), p))
			return true;
	return false;
}

/*
 * Where the last injected failure of @lines was made, from the stack dump
 * of fail_dump() (verbose 2): the allocation's caller and the innermost
 * DAMON frame.  Empty when nothing was dumped (__GFP_NOWARN allocations).
 */
std::string fault_site(const std::vector<std::string> &lines)
{
	std::string site, damon, kind = "slab";
	size_t i, start = lines.size();

	for (i = 0; i < lines.size(); i++) {
		if (lines[i].find("FAULT_INJECTION: forcing a failure") ==
		    std::string::npos)
			continue;
		start = i;
		if (lines[i].find("fail_page_alloc") != std::string::npos)
			kind = "page";
	}
	for (i = start; i < lines.size(); i++) {
		const std::string f = frame_name(lines[i]);

		if (lines[i].find("</TASK>") != std::string::npos)
			break;
		if (f.empty())
			continue;
		if (site.empty() && !allocator_frame(f))
			site = f;
		if (damon.empty() && (f.find("damon") != std::string::npos ||
				      f.find("damos") != std::string::npos)) {
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
	const std::string key = cpu < 0 ? "samples" :
				"samples_cpu" + std::to_string(cpu);
	const unsigned long before = pmu.stat(key.c_str());

	std::this_thread::sleep_for(200ms);
	return pmu.stat(key.c_str()) > before;
}

/*
 * Does some context own the access report rings?  One report from this
 * process: without an owner it is dropped_no_owner.  1, 0, or -1 when
 * test_damon_report cannot tell.
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

/* The fixture shared by the cases. */
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
 * scheme, with @events, or with the report sink if @report_sink and
 * @events is empty.
 */
int setup_fixed_paddr(const fixture &f,
		      const std::vector<perf_event_attr> &events,
		      bool report_sink)
{
	damon_sysfs::paddr_monitor m;
	int err;

	m.start = mon_start;
	m.end = mon_end;
	m.min_nr_regions = 10;
	m.max_nr_regions = 10;
	err = f.s.reset();
	if (!err)
		err = damon_sysfs::setup_paddr_monitor(f.s, m);
	if (!err)
		err = f.ctx().set_nr_schemes(0);
	if (!err)
		err = f.ctx().set_perf_events(events);
	if (!err)
		err = f.ctx().set_report_sink(report_sink);
	return err;
}

/*
 * After a failed "on": nothing may be left of the attempt.  Says what is
 * wrong in @why.
 */
bool clean_after_failed_on(const fixture &f, std::string &why)
{
	const unsigned long active = f.pmu.events_active();
	const int owned = rings_owned(f.ri);
	const bool running = f.kd().running();
	const pid_t pid = f.kd().pid();

	if (!running && pid < 0 && !active && owned != 1)
		return true;
	why = "running " + num(running) + ", pid " + std::to_string(pid) +
	      ", events_active " + num(active) + ", rings owned " +
	      std::to_string(owned);
	return false;
}

/*
 * "on" without a fault works: it runs with @nr_events events on every CPU,
 * which the rings then belong to, and stops cleanly.
 */
bool retry_on(const fixture &f, unsigned long nr_events, std::string &why)
{
	const damon_sysfs::kdamond kd = f.kd();
	int err = kd.start();
	unsigned long active = f.pmu.events_active();
	int owned = err ? -1 : rings_owned(f.ri);
	bool ok = !err && kd.running() && active == nr_events * f.cpus &&
		  owned != 0;

	err = kd.running() ? kd.stop() : err;
	ok = ok && !err && f.pmu.events_active() == 0;
	if (!ok)
		why += "retry: " + monitor::errno_symbol(err) + ", events " + num(active) +
		       ", owned " + std::to_string(owned) + " ";
	return ok;
}

/* Case: fail_function damon_report_alloc_rings on "on". */
void ff_start_rings(const fixture &f)
{
	const std::string key = "fail_function/start";
	bool all = true;

	for (bool with_event : { false, true }) {
		std::vector<perf_event_attr> ev;
		std::string why;
		int err;
		bool injected, ok;

		if (with_event)
			ev.push_back(f.pmu.event());
		err = setup_fixed_paddr(f, ev, true);
		if (err) {
			f.t.diagf("configure: %s", monitor::errno_symbol(err).c_str());
			all = false;
			continue;
		}
		{
			function_fault ff(fn_rings);

			err = ff.arm(-ENOMEM, 1);
			if (err) {
				f.t.diagf("arming: %s", monitor::errno_symbol(err).c_str());
				all = false;
				continue;
			}
			err = f.kd().start();
			injected = ff.settle();
		}
		ok = err == -ENOMEM && injected && clean_after_failed_on(f, why);
		ok = retry_on(f, ev.size(), why) && ok;
		record(f.t, key,
		       fn_rings + " call 1 retval -12, " +
			       (with_event ? "1 event" : "the report sink"),
		       err, injected, ok, why);
		all &= ok;
	}
	f.t.result(all, "fail_function_start_rings");
}

/*
 * "on" with the @n-th call of damon_perf_create_on returning -ENODEV (the
 * PMU not on CPU n - 1): that CPU is skipped, the event samples on the
 * others; with a single CPU the event fails.  The kdamond is off after.
 */
bool ff_start_perf_enodev(const fixture &f, unsigned int n)
{
	const std::string key = "fail_function/start";
	std::string why;
	unsigned long active = 0;
	int err;
	bool injected, ok;

	{
		function_fault ff(fn_create_on);

		err = ff.arm(-ENODEV, n);
		if (!err)
			err = f.kd().start();
		injected = ff.settle();
	}
	active = f.pmu.events_active();
	ok = !err && injected && f.kd().running() &&
	     (f.cpus == 1 ? false : active == f.cpus - 1) &&
	     pmu_samples(f.pmu);
	if (f.cpus == 1)
		/* the only CPU not covered: the event fails */
		ok = err == -ENODEV && injected &&
		     clean_after_failed_on(f, why);
	why += "events_active " + num(active) + " (tolerated: CPU " +
	       num(n - 1) + " not covered)";
	if (f.kd().running())
		ok = !f.kd().stop() && ok && f.pmu.events_active() == 0;
	record(f.t, key,
	       fn_create_on + " call " + num(n) + " retval -19", err,
	       injected, ok, why);
	return ok;
}

/*
 * Case: fail_function damon_perf_create_on on "on", the n-th counter of
 * two events (so every CPU of each event, one at a time), with -ENOMEM
 * and -EINVAL; -ENODEV means "PMU not on this CPU" and is skipped.
 */
void ff_start_perf(const fixture &f)
{
	const std::string key = "fail_function/start";
	const std::vector<perf_event_attr> two = { f.pmu.event(),
						   f.pmu.event(100) };
	bool all = !setup_fixed_paddr(f, two, false);

	for (long retval : { -ENOMEM, -EINVAL }) {
		for (unsigned int n = 1; all && n <= 2 * f.cpus; n++) {
			const unsigned int cpu = (n - 1) % f.cpus;
			const unsigned int event = (n - 1) / f.cpus;
			std::string why;
			int err;
			bool injected, ok, logged;

			{
				function_fault ff(fn_create_on);

				err = ff.arm(retval, n);
				if (!err)
					err = f.kd().start();
				injected = ff.settle();
			}
			const std::vector<std::string> lines = f.log.poll();

			logged = log_has(lines, "perf event " + num(event),
					 "on CPU " + num(cpu));
			ok = err == retval && injected && logged &&
			     clean_after_failed_on(f, why);
			if (!logged)
				why += "no log line naming event and CPU ";
			ok = retry_on(f, 2, why) && ok;
			record(f.t, key,
			       fn_create_on + " call " + num(n) + " (event " +
				       num(event) + ", CPU " + num(cpu) +
				       ") retval " + std::to_string(retval),
			       err, injected, ok, why);
			all &= ok;
		}
	}

	/* -ENODEV: the CPU is skipped, the event samples on the others */
	for (unsigned int n : { 1u, f.cpus }) {
		all = all && !setup_fixed_paddr(f, { f.pmu.event() }, false);
		all &= ff_start_perf_enodev(f, n);
	}
	f.t.result(all, "fail_function_start_perf_each_cpu");
}

/*
 * After a failed commit: the kdamond runs as before, with pid @pid,
 * @nr_events of the old events on every CPU, which still sample, and the
 * ring ownership @owned.
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
	why += "running " + num(running) + ", pid " + std::to_string(now) +
	       " (was " + std::to_string(pid) + "), events_active " +
	       num(active) + ", sampling " + num(sampling) + ", owned " +
	       std::to_string(owned_now) + " (was " + std::to_string(owned) +
	       ") ";
	return false;
}

/*
 * Case: fail_function damon_perf_create_on on a commit to a running
 * kdamond with one event: adding a second event, and changing the first;
 * every CPU one at a time, -ENOMEM and -EINVAL.  Then the commit without
 * a fault works.
 */
void ff_commit_perf(const fixture &f)
{
	const std::string key = "fail_function/commit";
	const damon_sysfs::kdamond kd = f.kd();
	const damon_sysfs::context ctx = f.ctx();
	bool all = !setup_fixed_paddr(f, { f.pmu.event() }, false) &&
		   start_kdamond(f.t, kd) && f.pmu.events_active() == f.cpus;
	const pid_t pid = kd.pid();
	const int owned = rings_owned(f.ri);

	for (const char *what : { "add event 1", "change event 0" }) {
		const bool add = what[0] == 'a';

		for (long retval : { -ENOMEM, -EINVAL }) {
			for (unsigned int n = 1; all && n <= f.cpus; n++) {
				std::string why;
				int err;
				bool injected, ok;

				err = add ? ctx.set_perf_events({ f.pmu.event(),
						f.pmu.event(100) }) :
					    ctx.set_perf_events({ f.pmu.event(150) });
				if (err) {
					all = false;
					break;
				}
				{
					function_fault ff(fn_create_on);

					err = ff.arm(retval, n);
					if (!err)
						err = kd.state("commit");
					injected = ff.settle();
				}
				ok = err == retval && injected &&
				     old_config_kept(f, pid, 1, owned, why);
				record(f.t, key,
				       std::string(what) + ": " + fn_create_on +
					       " call " + num(n) + " (CPU " +
					       num(n - 1) + ") retval " +
					       std::to_string(retval),
				       err, injected, ok, why);
				all &= ok;
			}
		}
	}
	/* without a fault: add, then back to the original event */
	if (all) {
		int err = ctx.set_perf_events({ f.pmu.event(),
						f.pmu.event(100) });

		if (!err)
			err = kd.state("commit");
		all = !err && f.pmu.events_active() == 2 * f.cpus;
		err = ctx.set_perf_events({ f.pmu.event() });
		if (!err)
			err = kd.state("commit");
		all = all && !err && f.pmu.events_active() == f.cpus;
		f.t.diagf("commit without fault: %s, events %lu",
			  monitor::errno_symbol(err).c_str(), f.pmu.events_active());
	}
	f.s.reset();
	f.t.result(all && f.pmu.events_active() == 0,
		   "fail_function_commit_perf_each_cpu");
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
	const std::string key = "fail_function/commit";
	const damon_sysfs::kdamond kd = f.kd();
	const damon_sysfs::context ctx = f.ctx();
	bool all = !setup_fixed_paddr(f, {}, false) && start_kdamond(f.t, kd);
	const pid_t pid = kd.pid();
	const int owned = rings_owned(f.ri);
	struct variant {
		const char *what;
		const std::string &fn;
		unsigned long n;
	};
	const variant variants[] = {
		{ "the report sink", fn_rings, 1 },
		{ "1 event", fn_rings, 1 },
		{ "1 event", fn_create_on, 1 },
		{ "1 event", fn_create_on, f.cpus },
	};

	if (owned == 1) {
		f.t.diag("the rings are owned before the commit");
		all = false;
	}
	for (const variant &v : variants) {
		const bool sink = v.what[0] == 't';
		std::string why;
		int err;
		bool injected = false, ok;

		if (!all)
			break;
		err = ctx.set_perf_events({ sink ? damon_sysfs::report_sink_event() :
						   f.pmu.event() });
		if (!err) {
			function_fault ff(v.fn);

			err = ff.arm(-ENOMEM, v.n);
			if (!err)
				err = kd.state("commit");
			injected = ff.settle();
		}
		ok = err == -ENOMEM && injected &&
		     old_config_kept(f, pid, 0, owned, why);
		record(f.t, key,
		       std::string(v.what) + ": " + v.fn + " call " + num(v.n) +
			       " retval -12",
		       err, injected, ok, why);
		all &= ok;
	}
	/* without a fault the commit takes the rings */
	if (all) {
		int err = ctx.set_perf_events({ f.pmu.event() });

		if (!err)
			err = kd.state("commit");
		all = !err && f.pmu.events_active() == f.cpus &&
		      rings_owned(f.ri) != 0;
		f.t.diagf("commit without fault: %s, events %lu",
			  monitor::errno_symbol(err).c_str(), f.pmu.events_active());
	}
	f.s.reset();
	f.t.result(all && f.pmu.events_active() == 0 &&
			   rings_owned(f.ri) != 1,
		   "fail_function_commit_first_event");
}

/*
 * Bring @cpu online with the first call of damon_perf_create_on from now
 * returning @retval, waiting until @end for the kdamond to make that call:
 * the errno of the online in @err; true if the fault was injected.
 */
bool online_with_create_on_fault(unsigned int cpu, long retval,
				 steady::time_point end, int &err)
{
	function_fault ff(fn_create_on);
	bool injected = false;

	err = ff.arm(retval, 1);
	if (!err)
		err = set_cpu_online(cpu, true);
	/* the kdamond notices within a sampling interval */
	while (!err && !injected && steady::now() < end) {
		std::this_thread::sleep_for(20ms);
		unsigned long t_left = 1;

		damon_sysfs::read_ulong(ff_dir + "/times", t_left);
		injected = t_left == 0;
	}
	ff.settle();
	return injected;
}

/*
 * ff_hotplug's scenario: @victim, offline, comes online with its counter
 * failing with @retval under the kdamond @pid, which must skip it; then
 * an offline and online give it a counter again.  False also if @victim
 * cannot be taken offline first.
 */
bool ff_hotplug_online(const fixture &f, unsigned int victim, pid_t pid,
		       long retval)
{
	const std::string key = "fail_function/hotplug";
	const damon_sysfs::kdamond kd = f.kd();
	/* the wait for the fault ends a settle_timeout after this */
	const auto end = steady::now() + monitor::settle_timeout;
	damon_sysfs::perf_event_stats st;
	std::string why;
	int err;
	bool injected, ok, logged;

	err = set_cpu_online(victim, false);
	if (err || !f.pmu.wait_events_active(f.cpus - 1, 20ms)) {
		f.t.diagf("offlining CPU %u: %s, events %lu", victim,
			  monitor::errno_symbol(err).c_str(), f.pmu.events_active());
		return false;
	}
	f.log.poll();
	injected = online_with_create_on_fault(victim, retval, end, err);
	std::this_thread::sleep_for(100ms);
	const std::vector<std::string> lines = f.log.poll();

	logged = log_has(lines, "CPU " + num(victim) + " that came online");
	ok = !err && injected && kd.running() && kd.pid() == pid &&
	     f.pmu.events_active() == f.cpus - 1 &&
	     !kd.state("update_sample_stats") &&
	     !f.ctx().get_perf_event(0).get_stats(st) &&
	     st.nr_cpus == f.cpus - 1 && pmu_samples(f.pmu, 0) &&
	     logged == (retval != -ENODEV);
	why = "events_active " + num(f.pmu.events_active()) + ", nr_cpus " +
	      num(st.nr_cpus) + ", logged " + num(logged) +
	      " (tolerated: CPU skipped)";
	/* recovery: the next online gives the CPU a counter */
	err = set_cpu_online(victim, false);
	ok = !err && f.pmu.wait_events_active(f.cpus - 1, 20ms) && ok;
	err = set_cpu_online(victim, true);
	ok = !err && f.pmu.wait_events_active(f.cpus, 20ms) &&
	     pmu_samples(f.pmu, static_cast<int>(victim)) && ok;
	if (!ok)
		why += ", recovery events " + num(f.pmu.events_active());
	record(f.t, key,
	       "online CPU " + num(victim) + ": " + fn_create_on +
		       " call 1 retval " + std::to_string(retval),
	       0, injected, ok, why);
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
	const damon_sysfs::kdamond kd = f.kd();
	const unsigned int victim = f.cpus - 1;
	bool all;

	if (f.cpus < 2 || !damon_sysfs::exists("/sys/devices/system/cpu/cpu" +
					       num(victim) + "/online")) {
		f.t.skip("fail_function_hotplug_online", "needs a second, hotpluggable CPU");
		return;
	}
	all = !setup_fixed_paddr(f, { f.pmu.event() }, false) &&
	      start_kdamond(f.t, kd) && f.pmu.events_active() == f.cpus;
	const pid_t pid = kd.pid();

	for (long retval : { -ENOMEM, -EINVAL, -ENODEV })
		all = all && ff_hotplug_online(f, victim, pid, retval);
	set_cpu_online(victim, true);
	f.s.reset();
	f.t.result(all && f.pmu.events_active() == 0,
		   "fail_function_hotplug_online");
}

/* The CPU hotplug states, number and name, from hotplug/states. */
std::vector<std::pair<int, std::string>> cpuhp_states()
{
	std::vector<std::pair<int, std::string>> out;
	std::string text, line;

	if (damon_sysfs::read_file("/sys/devices/system/cpu/hotplug/states", text))
		return out;
	std::istringstream in(text);

	while (std::getline(in, line)) {
		const size_t colon = line.find(':');

		if (colon == std::string::npos)
			continue;
		out.emplace_back(std::atoi(line.c_str()),
				 trim(line.substr(line.find_first_not_of(' ', colon + 1))));
	}
	return out;
}

/*
 * One hotplug operation of @cpu (@online: bring it up, else take it down)
 * failed at cpuhp state @state with cpuN/hotplug/fail: 0 and the errno of
 * the operation in @err, or the -errno of arming the fault (a state that
 * cannot fail).  The fault is disarmed after, injected or not.
 */
int cpuhp_fail_op(unsigned int cpu, bool online, int state, int &err)
{
	const std::string fail = "/sys/devices/system/cpu/cpu" + num(cpu) +
				 "/hotplug/fail";
	knob_guard knob;
	int ret = knob.set(fail, std::to_string(state));

	if (ret)
		return ret;
	err = set_cpu_online(cpu, online);
	return 0;
}

/* What the scenarios of cpuhp_fail share. */
struct cpuhp_victim {
	unsigned int cpu;
	std::string dir;	/* /sys/devices/system/cpu/cpuN */
	pid_t pid;		/* of the kdamond */
	std::vector<std::pair<int, std::string>> states;
	int damon;		/* mm/damon/perf:online's state, or -1 */
};

/*
 * The states to fail the operation at (@down: offline), DAMON's (@own)
 * or beside it: the nearest states, in the direction the operation walks,
 * whose callbacks run after DAMON's.
 */
std::vector<int> cpuhp_fail_candidates(const cpuhp_victim &v, bool down,
				       bool own)
{
	std::vector<int> cands;

	if (own) {
		cands.push_back(v.damon);
	} else if (down) {
		for (auto it = v.states.rbegin(); it != v.states.rend(); ++it)
			if (it->first < v.damon)
				cands.push_back(it->first);
	} else {
		for (const auto &s : v.states)
			if (s.first > v.damon)
				cands.push_back(s.first);
	}
	return cands;
}

/*
 * Take @v's CPU offline (@down) or bring it online, failing it at the
 * first of (up to 8 of) @cands where that makes it fail with EAGAIN: that
 * state in @state; false if none did.  An operation that went through is
 * undone, waiting for @want live events of the test PMU, before the next.
 */
bool cpuhp_fail_first(const fixture &f, const cpuhp_victim &v, bool down,
		      const std::vector<int> &cands, unsigned long want,
		      int &state)
{
	const bool online_before = down;
	int err = 0;

	for (size_t i = 0; i < cands.size() && i < 8; i++) {
		if (cpuhp_fail_op(v.cpu, !down, cands[i], err))
			continue;	/* cannot fail there */
		if (err == -EAGAIN) {
			state = cands[i];
			return true;
		}
		/* no callback that way: undo and try the next */
		if (err || set_cpu_online(v.cpu, online_before) ||
		    !f.pmu.wait_events_active(want, 20ms)) {
			f.t.diagf("state %d: hotplug %s", cands[i],
				  monitor::errno_symbol(err).c_str());
			break;
		}
	}
	return false;
}

/*
 * After a failed operation: the CPU as it was (@online_before), the
 * kdamond @v.pid running with @want counters, sampling on cpu0 and the
 * victim if it is online.  Says what it found in @why.
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

	why = "online " + online + ", events_active " +
	      num(f.pmu.events_active()) + ", same kdamond " +
	      num(same_kdamond) + ", stats " +
	      monitor::errno_symbol(err_stats) + " nr_cpus " +
	      num(st.nr_cpus) + ", sampling " + num(sampling);
	why += ", settled " + num(settled);
	return online == (online_before ? "1" : "0") && settled &&
	       same_kdamond && !err_stats && st.nr_cpus == want && sampling;
}

/*
 * Recovery: a normal offline (if the CPU stayed online) and online of
 * @v's CPU work, and it samples after.  Appends what it found to @why.
 */
bool cpuhp_recovers(const fixture &f, const cpuhp_victim &v,
		    bool online_before, std::string &why)
{
	bool ok = true, settled;
	int err;

	if (online_before) {
		err = set_cpu_online(v.cpu, false);
		settled = !err && f.pmu.wait_events_active(f.cpus - 1, 20ms);
		why += ", then offline " + monitor::errno_symbol(err) +
		       " events " + num(f.pmu.events_active());
		ok = settled && ok;
	}
	err = set_cpu_online(v.cpu, true);
	settled = !err && f.pmu.wait_events_active(f.cpus, 20ms) &&
		  pmu_samples(f.pmu, static_cast<int>(v.cpu));
	why += ", then online " + monitor::errno_symbol(err) +
	       " events " + num(f.pmu.events_active());
	return settled && ok;
}

/*
 * cpuhp_fail's scenario: @v's CPU taken offline (@down) or brought online
 * fails at DAMON's state (@own) or beside it, is rolled back, and the CPU
 * recovers.  False also if the CPU cannot be taken offline first.
 */
bool cpuhp_fail_scenario(const fixture &f, const cpuhp_victim &v, bool down,
			 bool own)
{
	const bool online_before = down;
	const unsigned long want = online_before ? f.cpus : f.cpus - 1;
	std::string what, why;
	int state = -1;
	bool injected, ok;

	if (!down && (set_cpu_online(v.cpu, false) ||
		      !f.pmu.wait_events_active(f.cpus - 1, 20ms))) {
		f.t.diagf("offlining CPU %u first failed", v.cpu);
		return false;
	}
	injected = cpuhp_fail_first(f, v, down,
				    cpuhp_fail_candidates(v, down, own), want,
				    state);
	for (const auto &s : v.states)
		if (s.first == state)
			what = s.second;
	/* the checks run whether or not the fault was injected */
	ok = cpuhp_rolled_back(f, v, online_before, want, why) && injected;
	ok = cpuhp_recovers(f, v, online_before, why) && ok;
	record(f.t, "cpuhp_fail",
	       std::string(down ? "offline" : "online") + " CPU " +
		       num(v.cpu) + " failed at state " +
		       std::to_string(state) + " " + what +
		       (own ? " (DAMON's)" : (down ? " (below DAMON's)" :
						     " (above DAMON's)")),
	       injected ? -EAGAIN : 0, injected, ok, why);
	return ok;
}

/*
 * Case: a CPU hotplug operation fails at a cpuhp state and is rolled back
 * (cpuN/hotplug/fail), while an event samples on every CPU: at DAMON's own
 * state "mm/damon/perf:online" (its callback is not called), at the
 * nearest state below it while the CPU goes offline (DAMON's teardown
 * callback ran, then its startup callback for the rollback) and at the
 * nearest state above it while the CPU comes online (the other way round).
 * The operation must fail with EAGAIN and leave the CPU as it was, the
 * kdamond running with a counter on every online CPU and none on the
 * victim if it stayed offline, the victim sampling if it stayed online,
 * and a normal offline and online after must work.
 */
void cpuhp_fail(const fixture &f)
{
	const damon_sysfs::kdamond kd = f.kd();
	const unsigned int victim = f.cpus - 1;
	const std::string cpu_dir = "/sys/devices/system/cpu/cpu" + num(victim);
	bool all;

	if (f.cpus < 2 || !damon_sysfs::exists(cpu_dir + "/online") ||
	    !damon_sysfs::exists(cpu_dir + "/hotplug/fail")) {
		f.t.skip("cpuhp_fail_rolled_back", "needs a second, hotpluggable CPU");
		return;
	}
	all = !setup_fixed_paddr(f, { f.pmu.event() }, false) &&
	      start_kdamond(f.t, kd) && f.pmu.events_active() == f.cpus;
	cpuhp_victim v{ victim, cpu_dir, kd.pid(), {}, -1 };

	/* DAMON's state is set up when the first event is created */
	if (all)
		v.states = cpuhp_states();
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
	f.s.reset();
	f.t.result(all && f.pmu.events_active() == 0, "cpuhp_fail_rolled_back");
}

/*
 * failslab and fail_page_alloc count sleeping allocations too, of any
 * order (but not user pages, __GFP_HIGHMEM), and print a stack trace for
 * each injected failure.  @lo and @hi are the stack trace filter.
 */
int setup_alloc_faults(knob_guard &knobs, unsigned long lo, unsigned long hi)
{
	int err = 0;

	for (const std::string &dir : { failslab_dir, fpa_dir }) {
		/* fail-nth only: nothing fails by probability */
		if (!err)
			err = knobs.set(dir + "/probability", "0");
		if (!err)
			err = knobs.set(dir + "/task-filter", "N");
		if (!err)
			err = knobs.set(dir + "/ignore-gfp-wait", "N");
		if (!err)
			err = knobs.set(dir + "/verbose", "2");
		if (!err)
			err = knobs.set(dir + "/stacktrace-depth", "32");
		if (!err)
			err = knobs.set(dir + "/require-start", num(lo));
		if (!err)
			err = knobs.set(dir + "/require-end", num(hi));
		if (!err)
			err = knobs.set(dir + "/reject-start", "0");
		if (!err)
			err = knobs.set(dir + "/reject-end", "0");
	}
	if (!err)
		err = knobs.set(fpa_dir + "/min-order", "0");
	return err;
}

/* Read and clear a task's fail-nth: 0 means its fault was injected. */
unsigned long take_fail_nth(const std::string &path)
{
	unsigned long left = ~0ul;

	damon_sysfs::read_ulong(path, left);
	damon_sysfs::write_file(path, "0");
	return left;
}

/* A fail-nth sweep's tally. */
struct nth_sweep {
	unsigned int nr_failed = 0, nr_tolerated = 0, nr_restarts = 0;
	/* the sites of the injected failures that failed the write */
	std::map<std::string, unsigned int> sites;
	/* reached a write without a fault */
	bool done = false;
};

/* Counts a site of @sw where an injected failure failed the write. */
void count_site(nth_sweep &sw, const std::string &site)
{
	sw.sites[site.empty() ? "(no dump: __GFP_NOWARN)" : site]++;
}

/* Why an injected failure that @site tells of did not fail the write. */
std::string tolerated(const std::string &site)
{
	return site.empty() ?
		"tolerated (a __GFP_NOWARN allocation with a fallback, like kmemleak's metadata)" :
		"tolerated";
}

/* How often @what (the write) failed at each site of @sw. */
void show_sites(const ktap::writer &t, const char *what, const nth_sweep &sw)
{
	for (const auto &kv : sw.sites)
		t.diagf("  %s failed %u times: %s", what, kv.second, kv.first.c_str());
}

/*
 * Write "on" to @kd's state with the @n-th allocation of this thread
 * failing (@nth_path: /proc/thread-self/fail-nth): the write's -errno in
 * @err and fail-nth after it in @left (0: the fault was injected).  False
 * if a file cannot be opened or fail-nth cannot be cleared.
 */
bool write_on_failing_nth(const ktap::writer &t, const damon_sysfs::kdamond &kd,
			  const std::string &nth_path, unsigned int n, int &err,
			  unsigned long &left)
{
	int wfd, rfd, state_fd;
	bool ok = true;

	state_fd = open(kd.path("state").c_str(), O_WRONLY | O_CLOEXEC);
	wfd = open(nth_path.c_str(), O_WRONLY | O_CLOEXEC);
	rfd = open(nth_path.c_str(), O_RDONLY | O_CLOEXEC);
	if (state_fd < 0 || wfd < 0 || rfd < 0) {
		t.diagf("open: %s", std::strerror(errno));
		ok = false;
	} else {
		const std::string v = num(n);
		char buf[32] = "";
		ssize_t r;

		err = 0;
		if (write(wfd, v.data(), v.size()) < 0)
			err = -errno;
		if (!err && write(state_fd, "on", 2) < 0)
			err = -errno;
		r = read(rfd, buf, sizeof(buf) - 1);
		if (write(wfd, "0", 1) < 0)
			ok = false;
		if (r > 0)
			left = std::strtoul(buf, nullptr, 10);
	}
	if (state_fd >= 0)
		close(state_fd);
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	return ok;
}

/*
 * The verdict on "on" with the @n-th allocation failing (@injected):
 * the write failed with ENOMEM and left nothing behind, or a fallback
 * took the failure (or nothing was failed) and the kdamond runs; it is
 * stopped after.
 */
bool fail_nth_start_check(const fixture &f, unsigned int n, int err,
			  bool injected, nth_sweep &sw)
{
	const damon_sysfs::kdamond kd = f.kd();
	const std::string site = fault_site(f.log.poll());
	std::string why;
	bool ok;

	if (err) {
		ok = err == -ENOMEM && injected &&
		     clean_after_failed_on(f, why);
		sw.nr_failed += injected;
		count_site(sw, site);
	} else {
		/* a fallback took the failure, or nothing was failed */
		const unsigned long active = f.pmu.events_active();

		ok = kd.running() && kd.pid() > 0 && active == f.cpus;
		if (!ok)
			why = "running " + num(kd.running()) +
			      ", events " + num(active);
		ok = !kd.stop() && ok && f.pmu.events_active() == 0;
		sw.nr_tolerated += injected;
		sw.done = !injected;
		if (injected)
			why += tolerated(site);
	}
	record(f.t, "fail-nth/start",
	       "allocation " + num(n) + (site.empty() ? "" : " " + site),
	       err, injected, ok, why);
	return ok;
}

/*
 * Case: "on" with the n-th allocation of the writing thread failing
 * (failslab and fail_page_alloc through /proc/thread-self/fail-nth), for
 * n = 1, 2, ... until "on" works without a fault.
 */
void fail_nth_start(const fixture &f)
{
	const std::string nth_path = "/proc/thread-self/fail-nth";
	const damon_sysfs::kdamond kd = f.kd();
	knob_guard knobs;
	fail_nth_guard nth_guard(nth_path);
	unsigned int n;
	nth_sweep sw;
	const auto t0 = steady::now();
	bool all;
	int err;

	err = setup_alloc_faults(knobs, 0, ~0ul);
	all = !err && !setup_fixed_paddr(f, { f.pmu.event() }, false);
	if (err)
		f.t.diagf("fault knobs: %s", monitor::errno_symbol(err).c_str());
	for (n = 1; all && !sw.done && n <= max_nth; n++) {
		unsigned long left = ~0ul;

		f.log.poll();
		if (!write_on_failing_nth(f.t, kd, nth_path, n, err, left)) {
			all = false;
			break;
		}
		all &= fail_nth_start_check(f, n, err, left == 0, sw);
	}
	f.t.diagf("fail-nth start: %u allocations, %u failed \"on\", %u tolerated, %.1f s",
		  n - 1 - (sw.done ? 1 : 0), sw.nr_failed, sw.nr_tolerated,
		  std::chrono::duration<double>(steady::now() - t0).count());
	show_sites(f.t, "\"on\"", sw);
	if (!sw.done)
		f.t.diag("the sweep did not reach an \"on\" without a fault");
	f.s.reset();
	f.t.result(all && sw.done, "fail_nth_start_allocations");
}

/*
 * The text of mm/damon in /proc/kallsyms: the symbols named damon_*,
 * damos_*, kdamond* and __damon_* of the kernel image (module symbols
 * carry a [module] tag and are left out, as are compiler-split parts like
 * .cold ones that live elsewhere).  mm/damon's objects are linked one
 * after the other, but .init.text functions (damon_init...) are far away:
 * the densest cluster of addresses is taken, where no two neighbours are
 * more than 256 KiB apart, and ends at the next symbol of any kind after
 * its last one.  False if kallsyms hides the addresses.
 */
bool damon_text_range(const ktap::writer &t, unsigned long &lo,
		      unsigned long &hi)
{
	std::ifstream in("/proc/kallsyms");
	std::vector<unsigned long> all_addrs, damon;
	std::string line;
	size_t best_b = 0, best_e = 0, b = 0, i;

	while (std::getline(in, line)) {
		std::istringstream ls(line);
		std::string addr, type, name, mod;
		unsigned long a;

		if (!(ls >> addr >> type >> name))
			continue;
		a = std::strtoul(addr.c_str(), nullptr, 16);
		if (ls >> mod)
			continue;
		all_addrs.push_back(a);
		if (type != "t" && type != "T")
			continue;
		if (name.find('.') != std::string::npos)
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
	return true;
}

/* Is @name's address (kernel image) in [lo, hi)? */
bool symbol_in(const std::string &name, unsigned long lo, unsigned long hi)
{
	std::ifstream in("/proc/kallsyms");
	std::string addr, type, sym;

	while (in >> addr >> type >> sym) {
		if (sym == name) {
			unsigned long a = std::strtoul(addr.c_str(), nullptr, 16);

			return a >= lo && a < hi;
		}
		in.ignore(256, '\n');
	}
	return false;
}

/* Say which of DAMON's functions on the commit path are not in [lo, hi). */
void check_damon_text_range(const ktap::writer &t, unsigned long lo,
			    unsigned long hi)
{
	for (const char *sym : { "kdamond_fn", "damon_commit_ctx",
				 "damon_perf_create_on", "damon_sysfs_commit_input" })
		if (!symbol_in(sym, lo, hi))
			t.diagf("%s is not in the DAMON text range", sym);
}

/*
 * Commit to @kd with the @k-th allocation with DAMON on the kdamond's
 * stack failing (@nth_path: the kdamond's fail-nth): the commit's -errno
 * in @err and fail-nth after it in @left (0: the fault was injected).
 * False if fail-nth cannot be set.
 */
bool commit_failing_nth(const ktap::writer &t, const damon_sysfs::kdamond &kd,
			const std::string &nth_path, unsigned int k, int &err,
			unsigned long &left)
{
	fail_nth_guard guard(nth_path);

	err = damon_sysfs::write_file(nth_path, num(k));
	if (err) {
		t.diagf("%s: %s", nth_path.c_str(),
			monitor::errno_symbol(err).c_str());
		return false;
	}
	err = kd.state("commit");
	left = take_fail_nth(nth_path);
	return true;
}

/*
 * After a failed commit (@ok: with ENOMEM, injected): the kdamond @pid
 * kept its old configuration and the ring ownership @owned; or it stopped
 * and left nothing behind, and is restarted with @one (counted in @sw).
 */
bool kept_or_cleanly_stopped(const fixture &f,
			     const std::vector<perf_event_attr> &one, pid_t pid,
			     int owned, bool ok, nth_sweep &sw, std::string &why)
{
	const damon_sysfs::kdamond kd = f.kd();

	if (old_config_kept(f, pid, 1, owned, why) || kd.running())
		return why.empty() && ok;
	/*
	 * A failure after the commit changed the context (maybe_corrupted)
	 * stops the kdamond: it must leave nothing behind.
	 */
	ok = ok && f.pmu.wait_events_active(0, 20ms) && rings_owned(f.ri) != 1;
	why = "failed after the context was changed: the kdamond stopped (maybe_corrupted) and left events " +
	      num(f.pmu.events_active()) + ", rings owned " +
	      std::to_string(rings_owned(f.ri));
	ok = !setup_fixed_paddr(f, one, false) && ok && start_kdamond(f.t, kd);
	sw.nr_restarts++;
	return ok;
}

/*
 * The verdict on a commit that went through: the kdamond runs with the
 * two events (a fallback took an @injected failure), and a commit back to
 * the old configuration @one works.
 */
bool passed_commit_ok(const fixture &f, const std::vector<perf_event_attr> &one,
		      bool injected, const std::string &site, nth_sweep &sw,
		      std::string &why)
{
	const damon_sysfs::kdamond kd = f.kd();
	bool ok = kd.running() && f.pmu.events_active() == 2 * f.cpus;

	if (!ok)
		why = "events " + num(f.pmu.events_active()) + " ";
	sw.done = !injected;
	if (injected) {
		sw.nr_tolerated++;
		why += tolerated(site);
	}
	/* back to the old configuration */
	return !f.ctx().set_perf_events(one) && !kd.state("commit") &&
	       f.pmu.events_active() == f.cpus && ok;
}

/*
 * Case: a commit adding an event to a running kdamond (one event, access
 * reports taken) with the k-th allocation with DAMON on the kdamond's
 * stack failing, for k = 1, 2, ... until the commit works without a fault.
 */
void failslab_commit(const fixture &f)
{
	const damon_sysfs::kdamond kd = f.kd();
	const damon_sysfs::context ctx = f.ctx();
	const std::vector<perf_event_attr> one = { f.pmu.event() };
	const std::vector<perf_event_attr> two = { f.pmu.event(),
						   f.pmu.event(100) };
	unsigned long lo = 0, hi = 0;
	unsigned int k;
	nth_sweep sw;
	const auto t0 = steady::now();
	knob_guard knobs;
	bool all;
	int err;

	if (!damon_text_range(f.t, lo, hi)) {
		f.t.skip("failslab_commit_allocations", "no addresses in /proc/kallsyms");
		return;
	}
	check_damon_text_range(f.t, lo, hi);
	err = setup_alloc_faults(knobs, lo, hi);
	if (err)
		f.t.diagf("fault knobs: %s", monitor::errno_symbol(err).c_str());
	all = !err && !setup_fixed_paddr(f, one, false) && start_kdamond(f.t, kd) &&
	      f.pmu.events_active() == f.cpus;
	for (k = 1; all && !sw.done && k <= max_nth; k++) {
		const pid_t pid = kd.pid();
		const std::string nth_path = "/proc/" + std::to_string(pid) +
					     "/fail-nth";
		const int owned = rings_owned(f.ri);
		std::string why, site;
		unsigned long left = ~0ul;
		bool injected, ok;

		err = ctx.set_perf_events(two);
		if (err)
			break;
		f.log.poll();
		if (!commit_failing_nth(f.t, kd, nth_path, k, err, left)) {
			all = false;
			break;
		}
		injected = left == 0;
		site = fault_site(f.log.poll());
		if (err) {
			sw.nr_failed += injected;
			count_site(sw, site);
			ok = kept_or_cleanly_stopped(f, one, pid, owned,
						     err == -ENOMEM && injected,
						     sw, why);
		} else {
			ok = passed_commit_ok(f, one, injected, site, sw, why);
		}
		record(f.t, "failslab+fail_page_alloc/commit",
		       "kdamond allocation " + num(k) +
			       (site.empty() ? "" : " " + site),
		       err, injected, ok, why);
		all &= ok;
	}
	f.t.diagf("failslab commit: %u allocations, %u failed commits, %u tolerated, %u kdamond restarts, %.1f s",
		  k - 1 - (sw.done ? 1 : 0), sw.nr_failed, sw.nr_tolerated,
		  sw.nr_restarts,
		  std::chrono::duration<double>(steady::now() - t0).count());
	show_sites(f.t, "commit", sw);
	if (!sw.done)
		f.t.diag("the sweep did not reach a commit without a fault");
	f.s.reset();
	f.t.result(all && sw.done && f.pmu.events_active() == 0,
		   "failslab_commit_allocations");
}

/*
 * Case: kmemleak, after waiting out its minimum object age, finds no
 * unreferenced object allocated by or for DAMON.
 */
void kmemleak_case(ktap::writer &t)
{
	unsigned int nr_all = 0;
	int nr_damon = monitor::kmemleak_damon(t, nr_all, true);

	if (nr_damon < 0 && !damon_sysfs::exists(monitor::kmemleak_path)) {
		t.skip("kmemleak_no_damon_leaks", "no kmemleak");
		return;
	}
	if (nr_damon < 0) {
		/* it disabled itself: a scan that cannot find anything */
		t.diagf("%s refused scan or read: kmemleak disabled itself",
			monitor::kmemleak_path);
		t.result(false, "kmemleak_no_damon_leaks");
		return;
	}
	t.diagf("kmemleak: %u unreferenced objects, %d of DAMON", nr_all,
		nr_damon);
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

/* The cases that inject faults, in order, each timed. */
void run_cases(const fixture &f)
{
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
	for (const auto &c : cases) {
		const auto c0 = steady::now();

		c.first(f);
		f.log.poll();
		f.t.diagf("%s: %.1f s", c.second,
			  std::chrono::duration<double>(steady::now() - c0).count());
	}
}

/*
 * Case: every sweep injected faults (one that injected none tested no
 * error path), from the @tallies of record(); @t0 the start of the test.
 */
void faults_injected_case(ktap::writer &t,
			  const std::map<std::string, tally> &tallies,
			  steady::time_point t0)
{
	unsigned int nr_scen = 0, nr_inj = 0;
	std::string idle;

	for (const auto &kv : tallies) {
		t.diagf("total %s: %u scenarios, %u faults injected",
			kv.first.c_str(), kv.second.scenarios,
			kv.second.injected);
		nr_scen += kv.second.scenarios;
		nr_inj += kv.second.injected;
		if (kv.second.scenarios && !kv.second.injected)
			idle += " " + kv.first;
	}
	t.diagf("total: %u scenarios, %u faults injected, %.1f s", nr_scen,
		nr_inj, std::chrono::duration<double>(steady::now() - t0).count());
	if (!nr_scen) {
		t.skip("faults_injected", "no sweep ran");
	} else {
		if (!idle.empty())
			t.diag("sweeps that injected nothing:" + idle);
		t.result(nr_inj && idle.empty(), "faults_injected");
	}
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
	fixture f{ t, s, pmu, ri.ok() ? &ri : nullptr, log, nr_cpus() };

	if (!ri.ok())
		t.diag("test_damon_report: " + ri.error() +
		       "; ring ownership is checked by restarting only");
	/* earlier suspects are not this test's */
	monitor::kmemleak_clear();
	t.diagf("%u CPUs", f.cpus);

	run_cases(f);
	s.reset();

	log.poll();
	for (const std::string &l : log.bad)
		t.diag("log: " + l);
	t.result(log.bad.empty(), "kernel_log_clean");

	faults_injected_case(t, totals, t0);
	kmemleak_case(t);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
