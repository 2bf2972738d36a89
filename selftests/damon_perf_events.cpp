// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON's perf events sampler through sysfs (monitoring_attrs/sample/perf_events/), with the
 * synthetic test PMU damon_test_pmu (selftests/damon_test_pmu/) and the software page-faults
 * event: the tree and bad input; start failures, which roll back (no kdamond, no event, the
 * access reports free) and log event and CPU; -EBUSY for a second context; online commit, and
 * refused commits (also above a lowered perf_event_max_sample_rate) that keep the old events;
 * CPU hotplug; on/off cycles; unloading the PMU; end to end paddr and vaddr monitoring (see
 * Documentation/testing.md and the comments below).  Some need 2 or more CPUs and CPU hotplug
 * (else SKIP).  SKIPs when not root, without DAMON sysfs or monitoring_attrs/sample/perf_events.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/phys_buffer.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace monitor;
using damon_sysfs::perf_event_attr;
using damon_sysfs::perf_event_stats;
using event_list = std::vector<perf_event_attr>;

const unsigned long page_sz = 4096;
const unsigned long mib = 1ul << 20;
/* The files of an event, with their defaults. */
const std::pair<const char *, const char *> event_files[] = {
	{ "type", "none" }, { "config", "0x0" }, { "config1", "0x0" }, { "config2", "0x0" },
	{ "sample_phys_addr", "N" }, { "exclude_kernel", "N" }, { "exclude_hv", "N" },
	{ "freq", "Y" }, { "sample_freq", "4000" }, { "sample_period", "100000" },
	{ "precise_ip", "0" },
};
const char *const stat_files[] = {
	"nr_accepted", "nr_invalid", "nr_dropped", "nr_foreign", "nr_cpus", "nr_errored",
};
const char *const sample_stat_files[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner", "drained", "attributed",
	"unmatched", "stale",
};

/* What every case uses: kdamond 0, its context 0 and the CPUs online at the start. */
struct fixture {
	ktap::writer &t;
	const damon_sysfs::session &s;
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	const unsigned int cpus = nr_cpus();
};

bool file_mode(const std::string &path, mode_t mode)
{
	struct stat st;

	return !stat(path.c_str(), &st) && (st.st_mode & 07777) == mode;
}

/* kdamond @kd, context 0: paddr monitoring of [@start, @end) with @events. */
int setup_paddr(const damon_sysfs::kdamond &kd, const event_list &events, unsigned long start,
		unsigned long end)
{
	damon_sysfs::paddr_monitor m;
	int err;

	m.start = start;
	m.end = end;
	err = damon_sysfs::configure_paddr_monitor(kd, m);
	return err ? err : kd.get_context(0).set_perf_events(events);
}

/* Start over (as every case does) with kdamond 0 alone, set up by setup_paddr(). */
int fresh_paddr(const fixture &f, const event_list &events,
		unsigned long start = 256 * mib, unsigned long end = 320 * mib)
{
	int err;

	f.s.reset();
	err = f.s.set_nr_kdamonds(1);
	return err ? err : setup_paddr(f.kd, events, start, end);
}

/* fresh_paddr() on the default range, then "on". */
bool start_paddr(const fixture &f, const event_list &events)
{
	return !fresh_paddr(f, events) && start_kdamond(f.t, f.kd);
}

/* The stats of event @idx after an update_sample_stats. */
bool event_stats(const fixture &f, unsigned int idx, perf_event_stats &st)
{
	return !f.kd.state("update_sample_stats") && !f.ctx.get_perf_event(idx).get_stats(st);
}

/* Show @lines of the kernel log as diagnostics; returns them. */
std::vector<std::string> show_log(const fixture &f, std::vector<std::string> lines)
{
	for (const std::string &l : lines)
		f.t.diag("log: " + l);
	return lines;
}

/* Make event_init fail with -@err on @cpus; ENODEV and "\n" (none), the defaults, stop it. */
bool pmu_fail(const test_pmu::pmu &pmu, int err, const std::string &cpus)
{
	return !pmu.set_param("fail_errno", num(err)) && !pmu.set_param("fail_cpus", cpus);
}

void tree_cases(const fixture &f)
{
	const std::string dir = f.ctx.sample().dir();
	const damon_sysfs::perf_event e = f.ctx.get_perf_event(0);
	bool ok = file_mode(dir + "/perf_events/nr_perf_events", 0600);
	std::string v;

	for (const char *file : sample_stat_files)
		ok &= file_mode(dir + "/stats/" + file, 0400);
	ok &= !f.ctx.set_nr_perf_events(2);
	for (const auto &ev : { f.ctx.get_perf_event(0), f.ctx.get_perf_event(1) }) {
		for (const auto &file : event_files)
			ok &= file_mode(ev.path(file.first), 0600);
		for (const char *file : stat_files)
			ok &= file_mode(ev.path(std::string("stats/") + file), 0400);
	}
	ok &= !f.ctx.set_nr_perf_events(1) && !damon_sysfs::exists(f.ctx.get_perf_event(1).dir());
	f.t.result(ok, "tree_shape");

	ok = true;
	for (const auto &d : event_files) {
		if (e.get(d.first, v) || v != d.second) {
			f.t.diagf("%s is '%s', expected '%s'", d.first, v.c_str(), d.second);
			ok = false;
		}
	}
	f.t.result(ok, "defaults");

	/* file, what is written to it, what it reads back */
	const char *const formats[][3] = {
		{ "config", "461", "0x1cd" },
		{ "config1", "0xFFFFFFFFFFFFFFFF", "0xffffffffffffffff" },
		{ "type", "0x10", "16" }, { "type", "2147483647", "2147483647" },
		{ "type", "none", "none" }, { "exclude_kernel", "1", "Y" },
		{ "exclude_kernel", "off", "N" }, { "freq", "n", "N" },
		{ "sample_period", "0x100", "256" }, { "precise_ip", "3", "3" },
	};
	ok = true;
	for (const auto &w : formats) {
		if (e.set(w[0], w[1]) || e.get(w[0], v) || v != w[2]) {
			f.t.diagf("wrote '%s' to %s, read '%s'", w[1], w[0], v.c_str());
			ok = false;
		}
	}
	f.t.result(ok, "read_back_formats");
}

/* Every file refuses what it must, with the errno, keeping its value. */
void bad_input_cases(const fixture &f)
{
	const damon_sysfs::perf_event e = f.ctx.get_perf_event(0);
	const std::string nr = "../nr_perf_events";
	const struct {
		std::string file;
		const char *val;
		int err;
	} matrix[] = {
		{ nr, "-1", -EINVAL }, { nr, "17", -EINVAL }, { nr, "abc", -EINVAL },
		{ nr, "99999999999", -ERANGE }, { "type", "4294967296", -EINVAL },
		{ "type", "-1", -EINVAL }, { "type", "x", -ENODEV },
		{ "type", "2147483648", -EINVAL }, { "type", "nonee", -ENODEV },
		{ "type", "+", -EINVAL }, { "config", "18446744073709551616", -ERANGE },
		{ "config", "0x1g", -EINVAL }, { "config", "\n", -EINVAL },
		{ "config1", "-5", -EINVAL }, { "config2", "1.5", -EINVAL },
		{ "sample_phys_addr", "maybe", -EINVAL }, { "exclude_kernel", "2", -EINVAL },
		{ "exclude_hv", "\n", -EINVAL }, { "freq", "x", -EINVAL },
		{ "sample_freq", "0", -EINVAL }, { "sample_freq", "2147483648", -EINVAL },
		{ "sample_period", "0", -EINVAL },
		{ "sample_period", "9223372036854775808", -EINVAL },
		{ "precise_ip", "4", -EINVAL }, { "precise_ip", "-1", -EINVAL },
	};
	bool ok = !f.ctx.set_nr_perf_events(1);
	monitor::kmsg log;

	for (const auto &b : matrix) {
		std::string before, after, shown = b.val;
		int err;

		e.get(b.file, before);
		err = e.set(b.file, b.val);
		e.get(b.file, after);
		if (err == b.err && before == after)
			continue;
		std::replace(shown.begin(), shown.end(), '\n', '|');
		f.t.diagf("%s <- '%s': %s (expected %s), '%s' -> '%s'", b.file.c_str(),
			  shown.c_str(), err_name(err).c_str(), err_name(b.err).c_str(),
			  before.c_str(), after.c_str());
		ok = false;
	}
	f.t.result(ok, "bad_input_rejected");
	f.t.result(show_log(f, log.lines()).empty(), "bad_input_quiet");
}

/*
 * "on" with an event whose type was never written (no default event: on most machines it would
 * give no data address and leave every region idle), then with one that no PMU takes.
 */
void start_type_cases(const fixture &f)
{
	perf_event_attr unknown;
	monitor::kmsg log;
	int err = fresh_paddr(f, {});
	bool logged;

	if (!err)
		err = f.ctx.set_nr_perf_events(1);
	if (!err)
		err = f.kd.start();
	f.t.diagf("event without type: %s", err_name(err).c_str());
	logged = log_has(show_log(f, log.lines()), "perf event 0", "no PMU type");
	f.t.result(err == -EINVAL && !f.kd.running() && logged, "start_no_type_einval");

	unknown.type = 0x7ffffff0;
	err = fresh_paddr(f, { unknown });
	if (!err)
		err = f.kd.start();
	f.t.diagf("unknown type: %s", err_name(err).c_str());
	f.t.result(err == -ENOENT && !f.kd.running(), "start_unknown_type_enoent");
	f.t.result(log_has(show_log(f, log.lines()), "perf event 0", "type 2147483632"),
		   "start_unknown_type_logged");
}

/* "on" with @events fails with @expect_err, leaves nothing and logs the last event and @cpu. */
bool start_fails(const fixture &f, const test_pmu::pmu &pmu, const event_list &events,
		 int expect_err, unsigned int cpu)
{
	monitor::kmsg log;
	int err = fresh_paddr(f, events);
	bool ok;

	if (!err)
		err = f.kd.start();
	ok = err == expect_err && !f.kd.running() && pmu.events_active() == 0;
	if (ok) {
		const std::vector<std::string> lines = log.lines();

		ok = log_has(lines, "perf event " + num(events.size() - 1), "CPU " + num(cpu));
		if (!ok)
			show_log(f, lines);
	}
	if (!ok)
		f.t.diagf("expected %s, got %s; running %d, events left %lu",
			  err_name(expect_err).c_str(), err_name(err).c_str(), f.kd.running(),
			  pmu.events_active());
	return ok;
}

void start_failure_cases(const fixture &f, const test_pmu::pmu &pmu)
{
	perf_event_attr bad = pmu.event();
	perf_event_stats st;
	bool ok = true;

	/* the test PMU takes config 0 only */
	bad.config = 1;
	f.t.result(start_fails(f, pmu, { bad }, -EINVAL, 0), "start_config_rejected");
	f.t.result(pmu_fail(pmu, EIO, "0-" + num(f.cpus - 1)) &&
		   start_fails(f, pmu, { pmu.event() }, -EIO, 0), "start_fail_every_cpu");

	/* failing on CPU k releases the counters of CPUs before it */
	for (unsigned int k = 0; ok && k < f.cpus; k++) {
		ok = pmu_fail(pmu, EINVAL, num(k)) &&
		     start_fails(f, pmu, { pmu.event() }, -EINVAL, k);
		if (!ok)
			f.t.diagf("failing CPU %u", k);
	}
	f.t.result(ok, "start_fail_each_cpu_rolled_back");
	pmu_fail(pmu, ENODEV, "\n");

	/* the second event is refused: the first one's counters go too */
	f.t.result(start_fails(f, pmu, { pmu.event(), bad }, -EINVAL, 0),
		   "start_second_event_rolled_back");

	/* -ENODEV: the PMU does not cover that CPU; the others sample */
	ok = pmu_fail(pmu, ENODEV, num(f.cpus - 1)) && start_paddr(f, { pmu.event() }) &&
	     event_stats(f, 0, st) && st.nr_cpus == f.cpus - 1 && pmu.events_active() == f.cpus - 1;
	f.t.diagf("uncovered CPU %u: nr_cpus %lu, events %lu", f.cpus - 1, st.nr_cpus,
		  pmu.events_active());
	ok &= !f.kd.stop() && pmu.events_active() == 0;
	f.t.result(ok, "uncovered_cpu_skipped");
	pmu_fail(pmu, ENODEV, "\n");

	/* after all that, a context can own the access reports */
	f.t.result(start_paddr(f, { damon_sysfs::report_sink_event() }),
		   "ownership_free_after_failures");
}

void ownership_cases(const fixture &f, const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd1 = f.s.get_kdamond(1);
	const damon_sysfs::context ctx1 = kd1.get_context(0);
	bool ok;
	int err;

	f.s.reset();
	ok = !f.s.set_nr_kdamonds(2) && !setup_paddr(f.kd, { pmu.event() }, 256 * mib, 320 * mib) &&
	     !setup_paddr(kd1, { pmu.event() }, 512 * mib, 576 * mib) && start_kdamond(f.t, f.kd);
	err = ok ? kd1.start() : -EIO;
	f.t.diagf("second context on: %s", err_name(err).c_str());
	f.t.result(err == -EBUSY && f.kd.running() && !kd1.running(), "ebusy_second_start");

	/* kd1 runs without perf events, then asks for them by commit */
	ok = !ctx1.set_nr_perf_events(0) && start_kdamond(f.t, kd1) &&
	     !ctx1.set_perf_events({ pmu.event() });
	err = ok ? kd1.state("commit") : -EIO;
	f.t.diagf("second context commit: %s", err_name(err).c_str());
	f.t.result(err == -EBUSY && f.kd.running() && kd1.running() &&
		   pmu.events_active() == f.cpus, "ebusy_commit");
}

/*
 * perf lowers perf_event_max_sample_rate by itself when sampling interrupts take too long.  An
 * event that already samples keeps its counters: a commit that does not change it must not fail
 * on the new ceiling, while one that asks for a frequency above it must.  Runs on context 0,
 * which samples with one test PMU event at 200 per second.
 */
void commit_lowered_max_rate_case(const fixture &f, const test_pmu::pmu &pmu)
{
	const damon_sysfs::perf_event e = f.ctx.get_perf_event(0);
	unsigned long inited;
	std::string orig;
	int err;
	bool ok;

	if (damon_sysfs::read_file(perf_max_rate_sysctl, orig)) {
		f.t.result(false, "commit_keeps_event_above_lowered_max_rate");
		return;
	}
	/* the sysfs files still hold the refused second event: drop it */
	ok = f.kd.running() && !f.ctx.set_perf_events({ pmu.event() }) &&
	     !f.kd.state("commit") && pmu.events_active() == f.cpus &&
	     !damon_sysfs::write_file(perf_max_rate_sysctl, "100");
	inited = pmu.stat("events_inited");
	/* a commit of other settings keeps the event and its counters */
	ok = ok && !f.ctx.set_intervals(5000, 200000, 1000000);
	err = ok ? f.kd.state("commit") : -EINVAL;
	f.t.diagf("max rate 100, event at 200/s, interval commit: %s; running %d, events %lu of %u, new counters %lu",
		  err_name(err).c_str(), f.kd.running(), pmu.events_active(), f.cpus,
		  pmu.stat("events_inited") - inited);
	ok = ok && !err && f.kd.running() && pmu.events_active() == f.cpus &&
	     pmu.stat("events_inited") == inited;
	/* a new frequency above the ceiling is refused, the old one stays */
	ok = ok && !e.set("sample_freq", "150");
	err = ok ? f.kd.state("commit") : 0;
	f.t.diagf("sample_freq 150 commit: %s", err_name(err).c_str());
	ok = ok && err == -EINVAL && f.kd.running() && pmu.events_active() == f.cpus &&
	     pmu.stat("events_inited") == inited;
	e.set("sample_freq", "200");
	f.ctx.set_intervals(5000, 100000, 1000000);
	ok &= !damon_sysfs::write_file(perf_max_rate_sysctl, orig);
	f.t.result(ok, "commit_keeps_event_above_lowered_max_rate");
}

void commit_cases(const fixture &f, const test_pmu::pmu &pmu)
{
	perf_event_stats st0, st1;
	unsigned long inited;
	bool ok;

	ok = start_paddr(f, { pmu.event() }) && pmu.events_active() == f.cpus;

	/* add */
	inited = pmu.stat("events_inited");
	ok = ok && !f.ctx.set_perf_events({ pmu.event(), pmu.event(100) }) &&
	     !f.kd.state("commit") && pmu.events_active() == 2 * f.cpus &&
	     pmu.stat("events_inited") - inited == f.cpus && event_stats(f, 1, st1) &&
	     st1.nr_cpus == f.cpus;
	f.t.diagf("after add: events %lu", pmu.events_active());

	/* change event 1 only: event 0 keeps its counters */
	inited = pmu.stat("events_inited");
	ok = ok && !f.ctx.get_perf_event(1).set("sample_freq", "150") &&
	     !f.kd.state("commit") && pmu.events_active() == 2 * f.cpus &&
	     pmu.stat("events_inited") - inited == f.cpus;
	f.t.diagf("after change: events %lu, new %lu", pmu.events_active(),
		  pmu.stat("events_inited") - inited);

	/* a commit that changes nothing touches no counter */
	inited = pmu.stat("events_inited");
	ok = ok && !f.kd.state("commit") && pmu.stat("events_inited") == inited;

	/* remove */
	ok = ok && !f.ctx.set_nr_perf_events(1) && !f.ctx.get_perf_event(0).set_attr(pmu.event()) &&
	     !f.kd.state("commit") && pmu.events_active() == f.cpus && f.kd.running();
	f.t.result(ok, "commit_add_change_remove");

	/* a commit the PMU refuses leaves the old event sampling */
	ok = ok && event_stats(f, 0, st0) && pmu_fail(pmu, EINVAL, "0");
	if (ok) {
		const int err = f.ctx.set_perf_events({ pmu.event(), pmu.event(100) }) ?
					-EIO : f.kd.state("commit");

		f.t.diagf("refused commit: %s", err_name(err).c_str());
		ok = err == -EINVAL && f.kd.running() && pmu.events_active() == f.cpus;
		std::this_thread::sleep_for(1s);
		/* no addresses are set: its samples are invalid, but many */
		ok = ok && event_stats(f, 0, st1) &&
		     st1.nr_invalid + st1.nr_accepted > st0.nr_invalid + st0.nr_accepted;
		f.t.diagf("old event samples %lu then %lu", st0.nr_invalid + st0.nr_accepted,
			  st1.nr_invalid + st1.nr_accepted);
	}
	pmu_fail(pmu, ENODEV, "\n");
	f.t.result(ok, "commit_failure_keeps_old");
	commit_lowered_max_rate_case(f, pmu);
}

void hotplug_cases(const fixture &f, const test_pmu::pmu &pmu)
{
	const unsigned int cpus = f.cpus, victim = cpus - 1;
	const std::string key = "samples_cpu" + num(victim);
	perf_event_stats st;
	unsigned long before, after;
	bool ok;

	if (cpus < 2 ||
	    !damon_sysfs::exists("/sys/devices/system/cpu/cpu" + num(victim) + "/online")) {
		f.t.skip("cpu_hotplug_follows", "needs a second, hotpluggable CPU");
		return;
	}
	ok = start_paddr(f, { pmu.event() }) && !set_cpu_online(victim, false) &&
	     pmu.wait_events_active(cpus - 1) && event_stats(f, 0, st) && st.nr_cpus == cpus - 1;
	f.t.diagf("CPU %u offline: events %lu, nr_cpus %lu", victim, pmu.events_active(),
		  st.nr_cpus);
	ok = !set_cpu_online(victim, true) && ok && pmu.wait_events_active(cpus) &&
	     event_stats(f, 0, st) && st.nr_cpus == cpus;
	/* the new counter is armed: the CPU samples again (~0: no stats) */
	before = pmu.stat(key.c_str());
	std::this_thread::sleep_for(1s);
	after = pmu.stat(key.c_str());
	ok = ok && after != ~0ul && after > before;
	f.t.diagf("CPU %u online: events %lu, nr_cpus %lu, samples %lu -> %lu", victim,
		  pmu.events_active(), st.nr_cpus, before, after);
	f.t.result(ok && !f.kd.stop() && pmu.events_active() == 0, "cpu_hotplug_follows");
}

void cycle_cases(const fixture &f, const test_pmu::pmu &pmu)
{
	const unsigned int nr_cycles = 200;
	int err = fresh_paddr(f, { pmu.event() });
	unsigned int i;

	for (i = 0; !err && i < nr_cycles; i++) {
		err = f.kd.start();
		if (!err)
			err = f.kd.stop();
	}
	f.t.diagf("%u cycles, last: %s, events left %lu", i, err_name(err).c_str(),
		  pmu.events_active());
	f.t.result(!err && i == nr_cycles && pmu.events_active() == 0 && !f.kd.running(),
		   "on_off_200_cycles");
}

/* Unless !@ok, watch DAMON rate [@lo, @hi) hot and nothing else; judge. */
bool watch_hot(const fixture &f, unsigned long lo, unsigned long hi, bool ok)
{
	hot_judge judge(f.t, lo, hi);

	if (ok)
		watch(f.kd, judge, 10 * poll_period, [] { return true; });
	return judge.verdict() && ok;
}

/*
 * Virtual addresses only, as Intel PEBS gives them: the handler translates them.  The test PMU
 * gives those of the buffer at @va (physical pages [@lo, @hi)) when it interrupts this process,
 * which a thread keeps busy.
 */
void paddr_virtual_case(const fixture &f, const test_pmu::pmu &pmu, unsigned long lo,
			unsigned long hi, unsigned long va, perf_event_stats &st)
{
	const unsigned long len = hi - lo;
	std::atomic<bool> stop{ false };
	bool ok;

	ok = wait_all_cold(f.t, f.kd) &&
	     !pmu.set_addrs("vaddr=" + num(va) + " len=" + num(len) + " pid=" + num(getpid())) &&
	     !f.ctx.get_perf_event(0).set_attr(pmu.event(200, false)) && !f.kd.state("commit");
	std::thread spinner([va, len, &stop] {
		volatile const char *p = reinterpret_cast<const char *>(va);

		while (!stop)
			for (unsigned long off = 0; off < len; off += page_sz)
				(void)p[off];
	});

	ok = watch_hot(f, lo, hi, ok);
	stop = true;
	spinner.join();
	ok = ok && event_stats(f, 0, st) && st.nr_accepted > 0;
	f.t.diagf("translated: accepted %lu invalid %lu", st.nr_accepted, st.nr_invalid);
	pmu.set_addrs("clear");
	f.t.result(ok, "paddr_virtual_only_translated");
}

/*
 * The test PMU samples the physical pages of a buffer of this process (at most 1 MiB of its
 * longest physical run), 8 MiB of other memory around them monitored too: DAMON rates the
 * buffer hot, and only it.  Then the samples carry addresses without marking them valid: counted
 * invalid, and the regions cool down, as nothing is attributed.  A case that fails before it
 * reads the stats prints those of the case before.
 */
void paddr_cases(const fixture &f, const test_pmu::pmu &pmu)
{
	/* its pages must stay mapped through all three cases */
	phys_buffer pb(4 * mib);
	const unsigned long lo = pb.run_start, hi = std::min(pb.run_end, lo + mib);
	const unsigned long mon_lo = lo > 8 * mib ? lo - 8 * mib : 0;
	perf_event_stats st0, st1;
	bool ok;

	if (pb.run_size() < 16 * page_sz) {
		f.t.diagf("longest physical run %#lx-%#lx", pb.run_start, pb.run_end);
		f.t.skip("paddr_buffer_hot", "no physically contiguous 64 KiB");
		f.t.skip("paddr_invalid_not_attributed", "as above");
		f.t.skip("paddr_virtual_only_translated", "as above");
		return;
	}
	ok = !pmu.set_addrs("clear") &&
	     !pmu.set_addrs("paddr=" + num(lo) + " len=" + num(hi - lo)) &&
	     !fresh_paddr(f, { pmu.event() }, mon_lo, hi + 8 * mib) &&
	     start_kdamond(f.t, f.kd) && wait_regions(f.t, f.kd);
	f.t.diagf("buffer pages %#lx-%#lx, monitored %#lx-%#lx", lo, hi, mon_lo, hi + 8 * mib);
	ok = watch_hot(f, lo, hi, ok) && event_stats(f, 0, st0) && st0.nr_accepted > 0;
	f.t.diagf("accepted %lu invalid %lu dropped %lu", st0.nr_accepted, st0.nr_invalid,
		  st0.nr_dropped);
	f.t.result(ok, "paddr_buffer_hot");

	ok = !pmu.set_omit_flags(true) && event_stats(f, 0, st0) && wait_all_cold(f.t, f.kd) &&
	     event_stats(f, 0, st1);
	f.t.diagf("without flags: invalid %lu -> %lu, accepted %lu -> %lu", st0.nr_invalid,
		  st1.nr_invalid, st0.nr_accepted, st1.nr_accepted);
	/* a sample in flight when omit_flags was set may still be accepted */
	ok = ok && st1.nr_invalid > st0.nr_invalid &&
	     st1.nr_accepted - st0.nr_accepted <= nr_cpus();
	pmu.set_omit_flags(false);
	pmu.set_addrs("clear");
	f.t.result(ok, "paddr_invalid_not_attributed");
	paddr_virtual_case(f, pmu, lo, hi, pb.run_va, st1);
	f.s.reset();
}

void vaddr_cases(const fixture &f)
{
	workload::hot_cold_child child(4 * mib, 16 * mib, true);
	std::vector<region> regions;
	unsigned int hot = 0, cold = 0;
	perf_event_attr pf;
	perf_event_stats st;
	damon_sysfs::vaddr_monitor m;
	bool ok;

	/* the software page-faults event, every fault a sample */
	pf.type = 1;
	pf.config = 2;
	pf.freq = false;
	pf.sample_period = 1;
	f.s.reset();
	m.pid = child.pid();
	ok = child.ok() && !damon_sysfs::setup_vaddr_monitor(f.s, m) &&
	     !f.ctx.set_perf_events({ pf }) && start_kdamond(f.t, f.kd) && wait_regions(f.t, f.kd);
	for (int i = 0; ok && i < 15; i++) {
		std::this_thread::sleep_for(poll_period);
		if (!snapshot(f.kd, regions))
			continue;
		hot = std::max(hot, damon_sysfs::peak_accesses(regions, child.hot_start(),
				child.hot_start() + child.hot_size()));
		cold = std::max(cold, damon_sysfs::peak_accesses(regions, child.cold_start(),
				child.cold_start() + child.cold_size()));
	}
	ok = ok && event_stats(f, 0, st);
	f.t.diagf("peak nr_accesses: hot %u cold %u; accepted %lu invalid %lu dropped %lu",
		  hot, cold, st.nr_accepted, st.nr_invalid, st.nr_dropped);
	/*
	 * The child refaults its hot pages in a sweep, a few hundred faults a second under TCG:
	 * each aggregation interval samples a window of a few dozen pages, and DAMON splits off
	 * the rest of the hot area as not accessed in that interval (as it is).  So the peak of
	 * the regions in the hot area, not their average over it, tells that the samples land
	 * there.
	 */
	f.t.result(ok && hot > 1 && hot > 4 * std::max(cold, 1u) && st.nr_accepted > 0,
		   "vaddr_page_faults_hot");
	f.s.reset();
}

void unload_cases(const fixture &f, test_pmu::pmu &pmu)
{
	bool ok = start_paddr(f, { pmu.event() });
	int err = ok ? pmu.unload() : -EIO;

	f.t.diagf("unloading the PMU in use: %s", err_name(err).c_str());
	f.t.result(ok && (err == -EWOULDBLOCK || err == -EBUSY) && f.kd.running(),
		   "pmu_unload_refused_while_running");
	ok = ok && !f.kd.stop();
	err = pmu.unload();
	f.t.result(ok && !err, "pmu_unload_after_stop");

	/* An unpinned PMU goes away under DAMON: perf revokes the events; DAMON runs on. */
	test_pmu::pmu unpinned("pin=N");
	perf_event_stats st;

	ok = unpinned.ok() && start_paddr(f, { unpinned.event() });
	err = ok ? unpinned.unload() : -EIO;
	f.t.diagf("unloading the unpinned PMU in use: %s", err_name(err).c_str());
	std::this_thread::sleep_for(1s);
	ok = ok && !err && f.kd.running() && event_stats(f, 0, st) && !f.kd.stop() &&
	     !f.kd.running();
	f.t.result(ok, "pmu_removed_while_running");
}

int run()
{
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);

	ktap::writer t(29);
	const fixture f{ t, s };

	tree_cases(f);
	bad_input_cases(f);
	start_type_cases(f);

	test_pmu::pmu pmu;

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
		return t.exit_code();
	}
	start_failure_cases(f, pmu);
	ownership_cases(f, pmu);
	commit_cases(f, pmu);
	hotplug_cases(f, pmu);
	cycle_cases(f, pmu);
	paddr_cases(f, pmu);
	vaddr_cases(f);
	unload_cases(f, pmu);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
