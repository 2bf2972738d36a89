// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON's perf events sampler through sysfs
 * (monitoring_attrs/sample/perf_events/), with the synthetic test PMU
 * damon_test_pmu (selftests/damon_test_pmu/) and the software page-faults
 * event.
 *
 * - The tree: nr_perf_events, the eleven files of an event and its stats/,
 *   sample/stats/, their modes, defaults and read-back formats.
 * - Bad input: every file rejects out-of-range and malformed values with
 *   the exact errno, keeps its value, and logs nothing.
 * - Start failures: an unknown PMU type (-ENOENT), a config the PMU
 *   rejects, a failure on every CPU and on each single CPU: "on" fails with
 *   that errno, the kernel log names event and CPU, the kdamond stays off,
 *   no event is left (the test PMU counts its live events) and the access
 *   reports stay free for the next context.  A CPU the PMU does not cover
 *   (-ENODEV) is skipped instead.
 * - Ownership: a second context with perf events gets -EBUSY on "on" and
 *   on "commit", and the first keeps running.
 * - Online commit: adding, changing and removing events creates only the
 *   counters of new and changed events; a commit the PMU refuses fails and
 *   leaves the old events sampling.  After perf_event_max_sample_rate is
 *   lowered below a running event's frequency, commits that leave the
 *   event alone still work and a new frequency above it is refused.
 * - CPU hotplug: offlining a CPU releases its counters, onlining creates
 *   and arms new ones.
 * - 200 on/off cycles leave no event behind.
 * - The test PMU cannot be unloaded while DAMON uses it, and can after;
 *   unpinned, it can be unloaded under a running context, which keeps
 *   running (perf revokes the events) and stops cleanly.
 * - End to end: a paddr context rates the physical pages of a buffer of
 *   this process (from /proc/self/pagemap) hot when the test PMU samples
 *   them, and nothing else; samples without valid addresses are counted
 *   invalid and never attributed; samples with only a virtual address
 *   (as Intel PEBS gives) are translated and rate the same pages hot; a
 *   vaddr context with the page-faults event rates a buffer that keeps
 *   faulting hotter than one that does not.
 *
 * Needs 2 or more CPUs and CPU hotplug for some cases (SKIP otherwise).
 * SKIPs when not root, without DAMON sysfs, or when the kernel has no
 * monitoring_attrs/sample/perf_events.
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
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace monitor;
using damon_sysfs::perf_event_attr;
using damon_sysfs::perf_event_stats;
using kmod::value_of;

const unsigned long page_sz = 4096;
const unsigned long mib = 1ul << 20;
const char *const event_files[] = {
	"type", "config", "config1", "config2", "sample_phys_addr",
	"exclude_kernel", "exclude_hv", "freq", "sample_freq",
	"sample_period", "precise_ip",
};
const char *const stat_files[] = {
	"nr_accepted", "nr_invalid", "nr_dropped", "nr_foreign", "nr_cpus",
	"nr_errored",
};
const char *const sample_stat_files[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
	"drained", "attributed", "unmatched", "stale",
};

bool file_mode(const std::string &path, mode_t mode)
{
	struct stat st;

	return !stat(path.c_str(), &st) && (st.st_mode & 07777) == mode;
}

/*
 * kdamond @kd, context 0: paddr monitoring of [@start, @end) with @events.
 */
int setup_paddr(const damon_sysfs::kdamond &kd, unsigned long start,
		unsigned long end, const std::vector<perf_event_attr> &events)
{
	damon_sysfs::paddr_monitor m;
	int err;

	m.start = start;
	m.end = end;
	err = damon_sysfs::configure_paddr_monitor(kd, m);
	return err ? err : kd.get_context(0).set_perf_events(events);
}

/* The stats of event @idx of kdamond @kd after an update_sample_stats. */
bool event_stats(const damon_sysfs::kdamond &kd, unsigned int idx,
		 perf_event_stats &st)
{
	return !kd.state("update_sample_stats") &&
	       !kd.get_context(0).get_perf_event(idx).get_stats(st);
}

void show_log(const ktap::writer &t, const std::vector<std::string> &lines)
{
	for (const std::string &l : lines)
		t.diag("log: " + l);
}

/* The tree, its modes and the defaults. */
void tree_cases(ktap::writer &t, const damon_sysfs::session &s)
{
	const damon_sysfs::context ctx = s.get_kdamond(0).get_context(0);
	const std::string dir = ctx.sample().dir();
	bool shape = file_mode(dir + "/perf_events/nr_perf_events", 0600);
	std::string v;

	for (const char *f : sample_stat_files)
		shape &= file_mode(dir + "/stats/" + f, 0400);
	shape &= !ctx.set_nr_perf_events(2);
	for (unsigned int i = 0; i < 2; i++) {
		const damon_sysfs::perf_event e = ctx.get_perf_event(i);

		for (const char *f : event_files)
			shape &= file_mode(e.path(f), 0600);
		for (const char *f : stat_files)
			shape &= file_mode(e.path(std::string("stats/") + f),
					   0400);
	}
	shape &= !ctx.set_nr_perf_events(1) &&
		 !damon_sysfs::exists(ctx.get_perf_event(1).dir());
	t.result(shape, "tree_shape");

	const damon_sysfs::perf_event e = ctx.get_perf_event(0);
	const std::pair<const char *, const char *> defaults[] = {
		{ "type", "none" }, { "config", "0x0" }, { "config1", "0x0" },
		{ "config2", "0x0" }, { "sample_phys_addr", "N" },
		{ "exclude_kernel", "N" }, { "exclude_hv", "N" },
		{ "freq", "Y" }, { "sample_freq", "4000" },
		{ "sample_period", "100000" }, { "precise_ip", "0" },
	};
	bool ok = true;

	for (const auto &d : defaults) {
		if (e.get(d.first, v) || v != d.second) {
			t.diagf("%s is '%s', expected '%s'", d.first,
				v.c_str(), d.second);
			ok = false;
		}
	}
	t.result(ok, "defaults");

	const std::pair<const char *, const char *> formats[][2] = {
		{ { "config", "461" }, { "config", "0x1cd" } },
		{ { "config1", "0xFFFFFFFFFFFFFFFF" },
		  { "config1", "0xffffffffffffffff" } },
		{ { "type", "0x10" }, { "type", "16" } },
		{ { "type", "2147483647" }, { "type", "2147483647" } },
		{ { "type", "none" }, { "type", "none" } },
		{ { "exclude_kernel", "1" }, { "exclude_kernel", "Y" } },
		{ { "exclude_kernel", "off" }, { "exclude_kernel", "N" } },
		{ { "freq", "n" }, { "freq", "N" } },
		{ { "sample_period", "0x100" }, { "sample_period", "256" } },
		{ { "precise_ip", "3" }, { "precise_ip", "3" } },
	};
	ok = true;
	for (const auto &f : formats) {
		if (e.set(f[0].first, f[0].second) ||
		    e.get(f[1].first, v) || v != f[1].second) {
			t.diagf("wrote '%s' to %s, read '%s'", f[0].second,
				f[0].first, v.c_str());
			ok = false;
		}
	}
	t.result(ok, "read_back_formats");
}

/* Every file refuses what it must, with the errno, keeping its value. */
void bad_input_cases(ktap::writer &t, const damon_sysfs::session &s)
{
	const damon_sysfs::context ctx = s.get_kdamond(0).get_context(0);
	const damon_sysfs::perf_event e = ctx.get_perf_event(0);
	struct bad {
		std::string file;
		const char *val;
		int err;
	};
	const std::string nr = "../nr_perf_events";
	const bad matrix[] = {
		{ nr, "-1", -EINVAL }, { nr, "17", -EINVAL },
		{ nr, "abc", -EINVAL }, { nr, "99999999999", -ERANGE },
		{ "type", "4294967296", -EINVAL }, { "type", "-1", -EINVAL },
		{ "type", "x", -ENODEV }, { "type", "2147483648", -EINVAL },
		{ "type", "nonee", -ENODEV }, { "type", "+", -EINVAL },
		{ "config", "18446744073709551616", -ERANGE },
		{ "config", "0x1g", -EINVAL }, { "config", "\n", -EINVAL },
		{ "config1", "-5", -EINVAL }, { "config2", "1.5", -EINVAL },
		{ "sample_phys_addr", "maybe", -EINVAL },
		{ "exclude_kernel", "2", -EINVAL },
		{ "exclude_hv", "\n", -EINVAL }, { "freq", "x", -EINVAL },
		{ "sample_freq", "0", -EINVAL },
		{ "sample_freq", "2147483648", -EINVAL },
		{ "sample_period", "0", -EINVAL },
		{ "sample_period", "9223372036854775808", -EINVAL },
		{ "precise_ip", "4", -EINVAL }, { "precise_ip", "-1", -EINVAL },
	};
	bool ok = !ctx.set_nr_perf_events(1);
	monitor::kmsg log;

	for (const bad &b : matrix) {
		std::string before, after;
		int err;

		e.get(b.file, before);
		err = e.set(b.file, b.val);
		e.get(b.file, after);
		if (err != b.err || before != after) {
			std::string shown = b.val;

			std::replace(shown.begin(), shown.end(), '\n', '|');
			t.diagf("%s <- '%s': %s (expected %s), '%s' -> '%s'",
				b.file.c_str(), shown.c_str(),
				err_name(err).c_str(),
				err_name(b.err).c_str(), before.c_str(),
				after.c_str());
			ok = false;
		}
	}
	t.result(ok, "bad_input_rejected");

	const std::vector<std::string> lines = log.lines();

	show_log(t, lines);
	t.result(lines.empty(), "bad_input_quiet");
}

/*
 * "on" with an event whose type was never written: no default event, which
 * on most machines would give no data address and make every region idle.
 */
void no_type_case(ktap::writer &t, const damon_sysfs::session &s)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	monitor::kmsg log;
	int err;

	s.reset();
	err = s.set_nr_kdamonds(1);
	if (!err)
		err = setup_paddr(kd, 256 * mib, 320 * mib, {});
	if (!err)
		err = kd.get_context(0).set_nr_perf_events(1);
	if (!err)
		err = kd.start();
	t.diagf("event without type: %s", err_name(err).c_str());
	const std::vector<std::string> lines = log.lines();

	show_log(t, lines);
	t.result(err == -EINVAL && !kd.running() &&
			 log_has(lines, "perf event 0", "no PMU type"),
		 "start_no_type_einval");
	s.reset();
}

/* "on" with an event that no PMU takes. */
void unknown_type_cases(ktap::writer &t, const damon_sysfs::session &s)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	perf_event_attr a;
	monitor::kmsg log;
	int err;

	a.type = 0x7ffffff0;
	s.reset();
	err = s.set_nr_kdamonds(1);
	if (!err)
		err = setup_paddr(kd, 256 * mib, 320 * mib, { a });
	if (!err)
		err = kd.start();
	t.diagf("unknown type: %s", err_name(err).c_str());
	t.result(err == -ENOENT && !kd.running(), "start_unknown_type_enoent");
	const std::vector<std::string> lines = log.lines();

	show_log(t, lines);
	t.result(log_has(lines, "perf event 0", "type 2147483632"),
		 "start_unknown_type_logged");
	s.reset();
}

/*
 * Start with @events and expect @expect_err; the kernel log must name
 * the last of @events and "CPU @cpu" when @cpu >= 0.  Nothing may be left
 * running.
 */
bool start_fails(const ktap::writer &t, const damon_sysfs::session &s,
		 const test_pmu::pmu &pmu,
		 const std::vector<perf_event_attr> &events, int expect_err,
		 int cpu)
{
	const std::string event = "perf event " + num(events.size() - 1);

	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	monitor::kmsg log;
	int err;
	bool ok;

	s.reset();
	err = s.set_nr_kdamonds(1);
	if (!err)
		err = setup_paddr(kd, 256 * mib, 320 * mib, events);
	if (!err)
		err = kd.start();
	ok = err == expect_err && !kd.running() && pmu.events_active() == 0;
	if (ok && cpu >= 0) {
		const std::vector<std::string> lines = log.lines();

		ok = log_has(lines, event, "CPU " + std::to_string(cpu));
		if (!ok)
			show_log(t, lines);
	}
	if (!ok)
		t.diagf("expected %s, got %s; running %d, events left %lu",
			err_name(expect_err).c_str(), err_name(err).c_str(),
			kd.running(), pmu.events_active());
	return ok;
}

void start_failure_cases(ktap::writer &t, const damon_sysfs::session &s,
			 const test_pmu::pmu &pmu)
{
	const unsigned int cpus = nr_cpus();
	const std::string all = "0-" + num(cpus - 1);
	perf_event_attr bad = pmu.event();
	bool ok = true;

	/* the test PMU takes config 0 only */
	bad.config = 1;
	t.result(start_fails(t, s, pmu, { bad }, -EINVAL, 0),
		 "start_config_rejected");

	ok = !pmu.set_param("fail_errno", "5") &&
	     !pmu.set_param("fail_cpus", all);
	t.result(ok && start_fails(t, s, pmu, { pmu.event() }, -EIO, 0),
		 "start_fail_every_cpu");

	/* failing on CPU k releases the counters of CPUs before it */
	ok = !pmu.set_param("fail_errno", "22");
	for (unsigned int k = 0; ok && k < cpus; k++) {
		ok = !pmu.set_param("fail_cpus", num(k)) &&
		     start_fails(t, s, pmu, { pmu.event() }, -EINVAL,
				 static_cast<int>(k));
		if (!ok)
			t.diagf("failing CPU %u", k);
	}
	t.result(ok, "start_fail_each_cpu_rolled_back");
	pmu.set_param("fail_cpus", "\n");

	/* the second event is refused: the first one's counters go too */
	t.result(start_fails(t, s, pmu, { pmu.event(), bad }, -EINVAL, 0),
		 "start_second_event_rolled_back");

	/* -ENODEV: the PMU does not cover that CPU; the others sample */
	ok = !pmu.set_param("fail_errno", "19") &&
	     !pmu.set_param("fail_cpus", num(cpus - 1));
	if (ok) {
		const damon_sysfs::kdamond kd = s.get_kdamond(0);
		perf_event_stats st;

		s.reset();
		ok = !s.set_nr_kdamonds(1) &&
		     !setup_paddr(kd, 256 * mib, 320 * mib, { pmu.event() }) &&
		     start_kdamond(t, kd) && event_stats(kd, 0, st) &&
		     st.nr_cpus == cpus - 1 && pmu.events_active() == cpus - 1;
		t.diagf("uncovered CPU %u: nr_cpus %lu, events %lu", cpus - 1,
			st.nr_cpus, pmu.events_active());
		ok &= !kd.stop() && pmu.events_active() == 0;
	}
	t.result(ok, "uncovered_cpu_skipped");
	pmu.set_param("fail_cpus", "\n");
	pmu.set_param("fail_errno", "19");

	/* after all that, the access reports are free */
	s.reset();
	damon_sysfs::paddr_monitor m;

	m.report_sink = true;
	ok = !damon_sysfs::setup_paddr_monitor(s, m) &&
	     start_kdamond(t, s.get_kdamond(0));
	t.result(ok, "ownership_free_after_failures");
	s.reset();
}

void ownership_cases(ktap::writer &t, const damon_sysfs::session &s,
		     const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd0 = s.get_kdamond(0), kd1 = s.get_kdamond(1);
	int err;

	s.reset();
	err = s.set_nr_kdamonds(2);
	if (!err)
		err = setup_paddr(kd0, 256 * mib, 320 * mib, { pmu.event() });
	if (!err)
		err = setup_paddr(kd1, 512 * mib, 576 * mib, { pmu.event() });
	if (!err && !start_kdamond(t, kd0))
		err = -EIO;
	if (!err)
		err = kd1.start();
	t.diagf("second context on: %s", err_name(err).c_str());
	t.result(err == -EBUSY && kd0.running() && !kd1.running(),
		 "ebusy_second_start");

	/* kd1 runs without perf events, then asks for them by commit */
	err = kd1.get_context(0).set_nr_perf_events(0);
	if (!err && !start_kdamond(t, kd1))
		err = -EIO;
	if (!err)
		err = kd1.get_context(0).set_perf_events({ pmu.event() });
	if (!err)
		err = kd1.state("commit");
	t.diagf("second context commit: %s", err_name(err).c_str());
	t.result(err == -EBUSY && kd0.running() && kd1.running() &&
			 pmu.events_active() == nr_cpus(),
		 "ebusy_commit");
	s.reset();
}

/* The test PMU's count of event_init calls that succeeded. */
unsigned long events_inited(const test_pmu::pmu &pmu)
{
	kmod::values v;

	return pmu.read_stats(v) ? 0 : value_of(v, "events_inited");
}

/*
 * perf lowers perf_event_max_sample_rate by itself when sampling interrupts
 * take too long.  An event that already samples keeps its counters: a
 * commit that does not change it must not fail on the new ceiling, while a
 * commit that asks for a frequency above it must.  Runs on @kd's context 0,
 * which samples with one test PMU event at 200 per second.
 */
void commit_lowered_max_rate_case(ktap::writer &t,
				  const damon_sysfs::kdamond &kd,
				  const test_pmu::pmu &pmu)
{
	const damon_sysfs::context ctx = kd.get_context(0);
	const std::string sysctl = perf_max_rate_sysctl;
	const unsigned long cpus = nr_cpus();
	unsigned long inited;
	std::string orig;
	int err;
	bool ok;

	if (damon_sysfs::read_file(sysctl, orig)) {
		t.result(false, "commit_keeps_event_above_lowered_max_rate");
		return;
	}
	/* the sysfs files still hold the refused second event: drop it */
	ok = kd.running() && !ctx.set_perf_events({ pmu.event() }) &&
	     !kd.state("commit") && pmu.events_active() == cpus;
	ok = ok && !damon_sysfs::write_file(sysctl, "100");
	inited = events_inited(pmu);
	/* a commit of other settings keeps the event and its counters */
	ok = ok && !ctx.set_intervals(5000, 200000, 1000000);
	err = ok ? kd.state("commit") : -EINVAL;
	t.diagf("max rate 100, event at 200/s, interval commit: %s; running %d, events %lu of %lu, new counters %lu",
		err_name(err).c_str(), kd.running(), pmu.events_active(), cpus,
		events_inited(pmu) - inited);
	ok = ok && !err && kd.running() && pmu.events_active() == cpus &&
	     events_inited(pmu) == inited;
	/* a new frequency above the ceiling is refused, the old one stays */
	ok = ok && !ctx.get_perf_event(0).set("sample_freq", "150");
	err = ok ? kd.state("commit") : 0;
	t.diagf("sample_freq 150 commit: %s", err_name(err).c_str());
	ok = ok && err == -EINVAL && kd.running() &&
	     pmu.events_active() == cpus && events_inited(pmu) == inited;
	ctx.get_perf_event(0).set("sample_freq", "200");
	ctx.set_intervals(5000, 100000, 1000000);
	if (damon_sysfs::write_file(sysctl, orig))
		ok = false;
	t.result(ok, "commit_keeps_event_above_lowered_max_rate");
}

void commit_cases(ktap::writer &t, const damon_sysfs::session &s,
		  const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	const unsigned long cpus = nr_cpus();
	perf_event_stats st0, st1;
	unsigned long inited;
	bool ok;

	s.reset();
	ok = !s.set_nr_kdamonds(1) &&
	     !setup_paddr(kd, 256 * mib, 320 * mib, { pmu.event() }) &&
	     start_kdamond(t, kd) && pmu.events_active() == cpus;

	/* add */
	inited = events_inited(pmu);
	ok = ok && !ctx.set_perf_events({ pmu.event(), pmu.event(100) }) &&
	     !kd.state("commit") && pmu.events_active() == 2 * cpus &&
	     events_inited(pmu) - inited == cpus;
	ok = ok && event_stats(kd, 1, st1) && st1.nr_cpus == cpus;
	t.diagf("after add: events %lu", pmu.events_active());

	/* change event 1 only: event 0 keeps its counters */
	inited = events_inited(pmu);
	ok = ok && !ctx.get_perf_event(1).set("sample_freq", "150") &&
	     !kd.state("commit") && pmu.events_active() == 2 * cpus &&
	     events_inited(pmu) - inited == cpus;
	t.diagf("after change: events %lu, new %lu", pmu.events_active(),
		events_inited(pmu) - inited);

	/* a commit that changes nothing touches no counter */
	inited = events_inited(pmu);
	ok = ok && !kd.state("commit") && events_inited(pmu) == inited;

	/* remove */
	ok = ok && !ctx.set_nr_perf_events(1) &&
	     !ctx.get_perf_event(0).set_attr(pmu.event()) &&
	     !kd.state("commit") && pmu.events_active() == cpus && kd.running();
	t.result(ok, "commit_add_change_remove");

	/* a commit the PMU refuses leaves the old event sampling */
	ok = ok && event_stats(kd, 0, st0) &&
	     !pmu.set_param("fail_errno", "22") &&
	     !pmu.set_param("fail_cpus", "0");
	if (ok) {
		int err = ctx.set_perf_events({ pmu.event(),
						pmu.event(100) });

		if (!err)
			err = kd.state("commit");
		t.diagf("refused commit: %s", err_name(err).c_str());
		ok = err == -EINVAL && kd.running() && pmu.events_active() == cpus;
		std::this_thread::sleep_for(1s);
		/* no addresses are set: its samples are invalid, but many */
		ok = ok && event_stats(kd, 0, st1) &&
		     st1.nr_invalid + st1.nr_accepted >
			     st0.nr_invalid + st0.nr_accepted;
		t.diagf("old event samples %lu then %lu",
			st0.nr_invalid + st0.nr_accepted,
			st1.nr_invalid + st1.nr_accepted);
	}
	pmu.set_param("fail_cpus", "\n");
	pmu.set_param("fail_errno", "19");
	t.result(ok, "commit_failure_keeps_old");
	commit_lowered_max_rate_case(t, kd, pmu);
	s.reset();
}

void hotplug_cases(ktap::writer &t, const damon_sysfs::session &s,
		   const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const unsigned long cpus = nr_cpus();
	const unsigned int victim = static_cast<unsigned int>(cpus - 1);
	const std::string cpu_key = "samples_cpu" + num(victim);
	perf_event_stats st;
	kmod::values v0, v1;
	bool ok;

	if (cpus < 2 || !damon_sysfs::exists("/sys/devices/system/cpu/cpu" +
					     num(victim) + "/online")) {
		t.skip("cpu_hotplug_follows", "needs a second, hotpluggable CPU");
		return;
	}
	s.reset();
	ok = !s.set_nr_kdamonds(1) &&
	     !setup_paddr(kd, 256 * mib, 320 * mib, { pmu.event() }) &&
	     start_kdamond(t, kd);
	ok = ok && !set_cpu_online(victim, false) &&
	     pmu.wait_events_active(cpus - 1) && event_stats(kd, 0, st) &&
	     st.nr_cpus == cpus - 1;
	t.diagf("CPU %u offline: events %lu, nr_cpus %lu", victim,
		pmu.events_active(), st.nr_cpus);
	ok = !set_cpu_online(victim, true) && ok &&
	     pmu.wait_events_active(cpus) && event_stats(kd, 0, st) &&
	     st.nr_cpus == cpus;
	/* the new counter is armed: the CPU samples again */
	ok = ok && !pmu.read_stats(v0);
	std::this_thread::sleep_for(1s);
	ok = ok && !pmu.read_stats(v1) && value_of(v1, cpu_key.c_str()) >
						  value_of(v0, cpu_key.c_str());
	t.diagf("CPU %u online: events %lu, nr_cpus %lu, samples %lu -> %lu",
		victim, pmu.events_active(), st.nr_cpus,
		value_of(v0, cpu_key.c_str()), value_of(v1, cpu_key.c_str()));
	t.result(ok && !kd.stop() && pmu.events_active() == 0,
		 "cpu_hotplug_follows");
	s.reset();
}

void cycle_cases(ktap::writer &t, const damon_sysfs::session &s,
		 const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const unsigned int nr_cycles = 200;
	unsigned int i;
	int err;

	s.reset();
	err = s.set_nr_kdamonds(1);
	if (!err)
		err = setup_paddr(kd, 256 * mib, 320 * mib, { pmu.event() });
	for (i = 0; !err && i < nr_cycles; i++) {
		err = kd.start();
		if (!err)
			err = kd.stop();
	}
	t.diagf("%u cycles, last: %s, events left %lu", i,
		err_name(err).c_str(), pmu.events_active());
	t.result(!err && i == nr_cycles && pmu.events_active() == 0 &&
			 !kd.running(),
		 "on_off_200_cycles");
	s.reset();
}

/*
 * What the paddr cases share: the physical pages of the buffer that the
 * test PMU samples, and the stats read last (a case that fails before it
 * reads them prints those of the case before, as it always did).
 */
struct paddr_target {
	/* at most 1 MiB of the run, and its virtual address */
	unsigned long lo = 0, hi = 0, va = 0;
	perf_event_stats st0, st1;
};

/*
 * The test PMU samples the buffer's pages, 8 MiB of other memory around
 * them monitored too: DAMON rates the buffer hot, and only it.  Leaves
 * the context running for the cases after it.
 */
void paddr_buffer_hot_case(ktap::writer &t, const damon_sysfs::session &s,
			   const test_pmu::pmu &pmu, paddr_target &pt)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const unsigned long lo = pt.lo, hi = pt.hi;
	const unsigned long mon_lo = lo > 8 * mib ? lo - 8 * mib : 0;
	bool ok;

	s.reset();
	ok = !pmu.set_addrs("clear") &&
	     !pmu.set_addrs("paddr=" + num(lo) + " len=" + num(hi - lo)) &&
	     !s.set_nr_kdamonds(1) &&
	     !setup_paddr(kd, mon_lo, hi + 8 * mib, { pmu.event() }) &&
	     start_kdamond(t, kd) && wait_regions(t, kd);
	t.diagf("buffer pages %#lx-%#lx, monitored %#lx-%#lx", lo, hi, mon_lo,
		hi + 8 * mib);
	hot_judge judge(t, lo, hi);

	if (ok)
		watch(kd, judge, 10 * poll_period, [] { return true; });
	ok = judge.verdict() && ok;
	ok = ok && event_stats(kd, 0, pt.st0) && pt.st0.nr_accepted > 0;
	t.diagf("accepted %lu invalid %lu dropped %lu", pt.st0.nr_accepted,
		pt.st0.nr_invalid, pt.st0.nr_dropped);
	t.result(ok, "paddr_buffer_hot");
}

/*
 * Samples that carry addresses without marking them valid: counted
 * invalid, and the regions cool down, as nothing is attributed.
 */
void paddr_invalid_case(ktap::writer &t, const damon_sysfs::kdamond &kd,
			const test_pmu::pmu &pmu, paddr_target &pt)
{
	perf_event_stats &st0 = pt.st0, &st1 = pt.st1;
	bool ok;

	ok = !pmu.set_omit_flags(true) && event_stats(kd, 0, st0);
	ok = ok && wait_all_cold(t, kd);
	ok = ok && event_stats(kd, 0, st1);
	t.diagf("without flags: invalid %lu -> %lu, accepted %lu -> %lu",
		st0.nr_invalid, st1.nr_invalid, st0.nr_accepted,
		st1.nr_accepted);
	/* a sample in flight when omit_flags was set may still be accepted */
	ok = ok && st1.nr_invalid > st0.nr_invalid &&
	     st1.nr_accepted - st0.nr_accepted <= nr_cpus();
	pmu.set_omit_flags(false);
	pmu.set_addrs("clear");
	t.result(ok, "paddr_invalid_not_attributed");
}

/*
 * Virtual addresses only, as Intel PEBS gives them: the handler
 * translates them.  The test PMU gives the buffer's addresses when it
 * interrupts this process, which a thread keeps busy.
 */
void paddr_virtual_case(ktap::writer &t, const damon_sysfs::kdamond &kd,
			const test_pmu::pmu &pmu, paddr_target &pt)
{
	const unsigned long lo = pt.lo, hi = pt.hi, va = pt.va;
	perf_event_stats &st1 = pt.st1;
	perf_event_attr virt = pmu.event();
	std::atomic<bool> stop{ false };
	bool ok;

	virt.sample_phys_addr = false;
	ok = wait_all_cold(t, kd) &&
	     !pmu.set_addrs("vaddr=" + num(va) + " len=" +
			    num(hi - lo) + " pid=" + num(getpid())) &&
	     !kd.get_context(0).get_perf_event(0).set_attr(virt) &&
	     !kd.state("commit");
	std::thread spinner([va, &stop, lo, hi] {
		volatile const char *p = reinterpret_cast<const char *>(va);

		while (!stop)
			for (unsigned long off = 0; off < hi - lo; off += page_sz)
				(void)p[off];
	});
	hot_judge vjudge(t, lo, hi);

	if (ok)
		watch(kd, vjudge, 10 * poll_period, [] { return true; });
	stop = true;
	spinner.join();
	ok = vjudge.verdict() && ok && event_stats(kd, 0, st1) &&
	     st1.nr_accepted > 0;
	t.diagf("translated: accepted %lu invalid %lu", st1.nr_accepted,
		st1.nr_invalid);
	pmu.set_addrs("clear");
	t.result(ok, "paddr_virtual_only_translated");
}

void paddr_cases(ktap::writer &t, const damon_sysfs::session &s,
		 const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	/* its pages must stay mapped through all three cases */
	phys_buffer pb(4 * mib);
	paddr_target pt;

	if (pb.run_end - pb.run_start < 16 * page_sz) {
		t.diagf("longest physical run %#lx-%#lx", pb.run_start,
			pb.run_end);
		t.skip("paddr_buffer_hot", "no physically contiguous 64 KiB");
		t.skip("paddr_invalid_not_attributed", "as above");
		t.skip("paddr_virtual_only_translated", "as above");
		return;
	}
	/* at most 1 MiB of the run, and 8 MiB of other memory around it */
	pt.lo = pb.run_start;
	pt.hi = std::min(pb.run_end, pt.lo + mib);
	pt.va = pb.run_va;
	paddr_buffer_hot_case(t, s, pmu, pt);
	paddr_invalid_case(t, kd, pmu, pt);
	paddr_virtual_case(t, kd, pmu, pt);
	s.reset();
}

void vaddr_cases(ktap::writer &t, const damon_sysfs::session &s)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
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
	s.reset();
	m.pid = child.pid();
	ok = child.ok() && !damon_sysfs::setup_vaddr_monitor(s, m) &&
	     !ctx.set_perf_events({ pf }) && start_kdamond(t, kd) &&
	     wait_regions(t, kd);
	for (int i = 0; ok && i < 15; i++) {
		std::this_thread::sleep_for(poll_period);
		if (!snapshot(kd, regions))
			continue;
		hot = std::max(hot, damon_sysfs::peak_accesses(regions,
				child.hot_start(),
				child.hot_start() + child.hot_size()));
		cold = std::max(cold, damon_sysfs::peak_accesses(regions,
				child.cold_start(),
				child.cold_start() + child.cold_size()));
	}
	ok = ok && event_stats(kd, 0, st);
	t.diagf("peak nr_accesses: hot %u cold %u; accepted %lu invalid %lu dropped %lu",
		hot, cold, st.nr_accepted, st.nr_invalid, st.nr_dropped);
	/*
	 * The child refaults its hot pages in a sweep, a few hundred faults a
	 * second under TCG: each aggregation interval samples a window of a
	 * few dozen pages, and DAMON splits off the rest of the hot area as
	 * not accessed in that interval (as it is).  So the peak of the
	 * regions in the hot area, not their average over it, tells that
	 * the samples land there.
	 */
	t.result(ok && hot > 1 && hot > 4 * std::max(cold, 1u) &&
			 st.nr_accepted > 0,
		 "vaddr_page_faults_hot");
	s.reset();
}

void unload_cases(ktap::writer &t, const damon_sysfs::session &s,
		  test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	bool ok;
	int err = -EIO;

	s.reset();
	ok = !s.set_nr_kdamonds(1) &&
	     !setup_paddr(kd, 256 * mib, 320 * mib, { pmu.event() }) &&
	     start_kdamond(t, kd);
	if (ok)
		err = pmu.unload();
	t.diagf("unloading the PMU in use: %s", err_name(err).c_str());
	t.result(ok && (err == -EWOULDBLOCK || err == -EBUSY) && kd.running(),
		 "pmu_unload_refused_while_running");
	ok = ok && !kd.stop();
	err = pmu.unload();
	t.result(ok && !err, "pmu_unload_after_stop");

	/*
	 * An unpinned PMU goes away under DAMON: perf revokes the events.
	 * DAMON keeps running without samples and releases them at stop.
	 */
	test_pmu::pmu unpinned("pin=N");
	perf_event_stats st;

	s.reset();
	ok = unpinned.ok() && !s.set_nr_kdamonds(1) &&
	     !setup_paddr(kd, 256 * mib, 320 * mib, { unpinned.event() }) &&
	     start_kdamond(t, kd);
	err = ok ? unpinned.unload() : -EIO;
	t.diagf("unloading the unpinned PMU in use: %s", err_name(err).c_str());
	std::this_thread::sleep_for(1s);
	ok = ok && !err && kd.running() && event_stats(kd, 0, st) &&
	     !kd.stop() && !kd.running();
	t.result(ok, "pmu_removed_while_running");
}

int run()
{
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);

	ktap::writer t(29);

	tree_cases(t, s);
	bad_input_cases(t, s);
	no_type_case(t, s);
	unknown_type_cases(t, s);

	test_pmu::pmu pmu;

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
		return t.exit_code();
	}
	start_failure_cases(t, s, pmu);
	ownership_cases(t, s, pmu);
	commit_cases(t, s, pmu);
	hotplug_cases(t, s, pmu);
	cycle_cases(t, s, pmu);
	paddr_cases(t, s, pmu);
	vaddr_cases(t, s);
	unload_cases(t, s, pmu);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
