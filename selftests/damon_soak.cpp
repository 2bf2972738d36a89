// SPDX-License-Identifier: GPL-2.0
/*
 * A soak test of DAMON's perf events sampler: for a given time, a kdamond
 * samples a workload through perf events while a controller thread changes
 * whatever the series lets change under it, other threads read and write
 * the kdamond's sysfs tree, and the kernel's books are checked all along
 * (Documentation/testing.md, "Soak test", has the design and long runs).
 *
 * The load: a child re-faulting its hot buffer, monitored by kdamond 0 with
 * vaddr or (a third of the cycles) paddr operations, through one to three
 * perf events: the test PMU damon_test_pmu (pin=N) sampling the hot buffer
 * or physical pages of the monitored range and, in some cycles, the software
 * page-faults event.  A cycle configures the kdamond while off, turns it on,
 * runs 4 to 12 random actions (controller::action()) and turns it off.
 * Two reader threads read every file of the kdamond's tree; two writers
 * write state commands and write configuration files back with the values
 * they hold.  The write-backs and update_tuned_intervals (which writes
 * sample_us and aggr_us) never come while the controller writes the
 * configuration (a reader-writer lock): amid its writes of the intervals,
 * update_tuned_intervals made a sample_us above aggr_us, which its commit
 * refused with EINVAL.
 *
 * Errnos; anything else fails the test:
 * - controller: a write that finds damon_sysfs_lock taken (state, the nr_*
 *   files) fails with EBUSY and is retried, for up to 20 s; so is a CPU
 *   hotplug write.  "on" and "commit": 0, or ENOENT when an event of the
 *   test PMU's type must be created while the PMU is unloaded, or EINVAL
 *   for the refused config (or for a sample_freq above what perf lowered
 *   perf_event_max_sample_rate to).  "off", every file write, CPU online
 *   and offline, update_sample_stats, loading the test PMU: 0.  Unloading
 *   the test PMU: 0 (anything else is a module that something still holds).
 * - writers: state commands 0 or EBUSY; while the kdamond is not steadily
 *   on (off, or being turned on or off), also EINVAL (no DAMON context),
 *   ECANCELED (the kdamond stopped under the command) and ENOENT/ENODEV
 *   (the directory is being recreated).  File write-backs: 0.
 * - readers: 0, ENOENT or ENODEV (a directory removed under the reader),
 *   EBUSY (files that take damon_sysfs_lock with a trylock).
 *
 * Invariants:
 * - while running, after each update_sample_stats of the controller:
 *   drained = attributed + unmatched + stale, and no counter goes back
 *   while the context keeps the report rings.  pushed is not checked: the
 *   kernel counts no calls and reports drained + dropped_* + queued as
 *   pushed, true by definition;
 * - whenever the kdamond is off (once no burst runs): drained = attributed
 *   + unmatched + stale exactly, in total (test_damon_report) and per CPU
 *   with every ring freed and no owner (drgn-scripts/damon_report_rings.py
 *   --serve, from when drgn has loaded the debug info, up to a minute in a
 *   TCG guest, and at the end, waiting for it); no live test PMU event;
 * - no kernel bug in the kernel log (monitor::bad_log_line());
 * - at the end: the kdamond off, every CPU online, a clean start with a
 *   fresh, pinning test PMU samples on every CPU and stops, that PMU
 *   unloads (no perf event left to pin it), and kmemleak reports no DAMON
 *   object.
 *
 * Usage: damon_soak [--duration S] [--seed N]
 *   The cycles run for the duration, from $DAMON_SOAK_SECS, else 45 s; the
 *   setup and the end add about 25 s in a TCG guest, more while drgn still
 *   loads.  The seed defaults to $DAMON_SOAK_SEED, else one from the time.
 *   The controller's choices follow the seed; the threads' interleaving
 *   does not.
 *
 * SKIPs when not root, without DAMON sysfs, without perf_events in DAMON
 * sysfs, or without the test PMU module.
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/kmod.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/report_inject.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using damon_sysfs::perf_event_attr;
using kmod::value_of;
using monitor::errno_symbol;
using steady = std::chrono::steady_clock;
using json = nlohmann::json;

int g_argc;
char **g_argv;

const std::string kd_dir = std::string(damon_sysfs::admin_dir) + "/kdamonds/0";
const std::string ctx_dir = kd_dir + "/contexts/0";

const unsigned long mib = 1ul << 20;
/* the paddr monitoring range and the test PMU's physical addresses in it */
const unsigned long mon_start = 256 * mib;
const unsigned long mon_end = 320 * mib;
const unsigned long pmu_paddr = 260 * mib;
const unsigned long pmu_paddr_len = 8 * mib;
const unsigned int max_events = 4;
/* how long a write may keep finding damon_sysfs_lock taken */
const auto busy_timeout = 20s;

const char *const counters[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
	"drained", "attributed", "unmatched", "stale",
};

double secs_since(steady::time_point t)
{
	return std::chrono::duration<double>(steady::now() - t).count();
}

std::string cpu_dir(unsigned int cpu)
{
	return "/sys/devices/system/cpu/cpu" + num(cpu);
}

/* The number of possible CPUs (the rings' count), from sysfs ("0-N" or "0"). */
unsigned int nr_possible_cpus()
{
	std::string s;
	unsigned long last = 0;

	/* without a '-', npos + 1 is 0: the whole string */
	if (!damon_sysfs::read_file("/sys/devices/system/cpu/possible", s))
		last = std::strtoul(s.c_str() + s.rfind('-') + 1, nullptr, 10);
	return std::max(static_cast<unsigned int>(last) + 1, monitor::nr_cpus());
}

/* The test PMU's "addrs" line that has it sample the workload's hot buffer. */
std::string hot_addrs(const workload::hot_cold_child &c)
{
	return "vaddr=" + num(c.hot_start()) + " len=" + num(c.hot_size()) +
	       " pid=" + std::to_string(c.pid());
}

/* Errno counts of one kind of operation. */
using errno_hist = std::map<int, unsigned long>;

unsigned long total(const errno_hist &h)
{
	unsigned long nr = 0;

	for (const auto &e : h)
		nr += e.second;
	return nr;
}

std::string format_hist(const errno_hist &h)
{
	std::string out;

	for (const auto &e : h)
		out += " " + errno_symbol(e.first) + "=" + num(e.second);
	return out.empty() ? " none" : out;
}

/*
 * The findings of every thread, by the test case they fail, and the
 * controller's last actions, kept at the first finding for a reproducer.
 */
class journal {
public:
	enum kind { controller, running, off, nr_kinds };

	explicit journal(steady::time_point start) : t0(start) {}

	void note(const std::string &what)
	{
		std::lock_guard<std::mutex> l(m);

		history.push_back(stamp() + what);
		if (history.size() > 40)
			history.pop_front();
	}

	void finding(kind k, const std::string &what)
	{
		std::lock_guard<std::mutex> l(m);

		if (!nr_findings++)
			first_history.assign(history.begin(), history.end());
		if (findings[k].size() < 20)
			findings[k].push_back(stamp() + what);
	}

	std::vector<std::string> get(kind k) { return locked(findings[k]); }
	std::vector<std::string> history_at_first() { return locked(first_history); }
	unsigned long total() { return locked(nr_findings); }

private:
	steady::time_point t0;
	std::mutex m;
	std::deque<std::string> history;
	std::vector<std::string> first_history;
	std::vector<std::string> findings[nr_kinds];
	unsigned long nr_findings = 0;

	template <typename T> T locked(const T &v)
	{
		std::lock_guard<std::mutex> l(m);

		return v;
	}

	std::string stamp() const
	{
		char b[32];

		std::snprintf(b, sizeof(b), "[%7.2f] ", secs_since(t0));
		return b;
	}
};

/* What every thread shares. */
struct soak {
	const ktap::writer &t;
	const damon_sysfs::session &s;
	const workload::hot_cold_child &child;
	const report_inject::module *ri;
	/* drgn-scripts/damon_report_rings.py --serve, or nullptr: no drgn */
	drgn::server *rings;
	journal &jr;
	/*
	 * What the threads know of the kdamond.  @gen is odd while the
	 * controller turns it on or off; @on tells whether it runs.  A command
	 * written between two equal even readings of @gen, the first followed
	 * by a true @on, found the kdamond steadily on.
	 */
	std::atomic<unsigned long> gen{ 0 };
	std::atomic<bool> on{ false };
	/* the controller writes the configuration holding it exclusively */
	std::shared_mutex config_lock;
	std::atomic<bool> stop{ false };
};

struct controller_counts {
	unsigned long cycles = 0, vaddr_cycles = 0, paddr_cycles = 0, page_fault_cycles = 0;
	unsigned long actions = 0, ons = 0, offs = 0, commits = 0, interval_commits = 0;
	unsigned long event_ups = 0, event_downs = 0, event_changes = 0;
	unsigned long refused_commits = 0, report_sink_toggles = 0;
	unsigned long cpu_offlines = 0, cpu_onlines = 0, pmu_unloads = 0, pmu_loads = 0;
	unsigned long bursts = 0, burst_reports = 0, sample_stats = 0, busy_retries = 0;
	unsigned long off_checks = 0, drgn_checks = 0, drgn_not_ready = 0;
	unsigned long events_waits = 0;
	double drgn_ready_at = -1;
	std::map<std::string, errno_hist> errs;
	/* seconds spent in state commands, CPU hotplug, the PMU, drgn */
	std::map<std::string, double> secs;
};

/* The errnos of a reader's or a writer's reads, state writes and write-backs. */
struct io_counts {
	errno_hist read_errs, state_errs, writeback_errs;
	unsigned long absent = 0;

	void merge(const io_counts &o)
	{
		for (const auto &e : o.read_errs)
			read_errs[e.first] += e.second;
		for (const auto &e : o.state_errs)
			state_errs[e.first] += e.second;
		for (const auto &e : o.writeback_errs)
			writeback_errs[e.first] += e.second;
		absent += o.absent;
	}
};

/* One perf event of the controller's configuration. */
struct event {
	bool on_pmu = true;	/* the test PMU's; else page faults */
	perf_event_attr a;

	/* what the controller sets (perf_event_attr has no operator==) */
	auto key() const
	{
		return std::tie(on_pmu, a.type, a.config, a.sample_phys_addr,
				a.exclude_kernel, a.freq, a.sample_freq, a.sample_period);
	}
	bool operator==(const event &o) const { return key() == o.key(); }
};

/* The kdamond's configuration as the controller wrote it. */
struct config {
	bool paddr = false;
	bool page_faults = false;	/* the page-faults event allowed */
	bool report_sink = false;	/* after @events */
	unsigned long sample_us = 5000, aggr_us = 100000, update_us = 1000000;
	std::vector<event> events;
};

/*
 * The controller: owns the test PMU it loads and unloads, the kdamond's
 * configuration and every on, off and commit.
 */
class controller {
public:
	controller(soak &shared, uint64_t seed, unsigned long duration_s)
		: sk(shared), rng(seed), duration(std::chrono::seconds(duration_s)),
		  kd(shared.s.get_kdamond(0)), ctx(kd.get_context(0)),
		  possible(nr_possible_cpus())
	{
		for (unsigned int cpu = 1; cpu < possible; cpu++)
			if (damon_sysfs::exists(cpu_dir(cpu) + "/online"))
				hotpluggable.push_back(cpu);
	}

	controller_counts n;
	/* the sysfs readings of the report counters: the first and the last */
	kmod::values first_reading, last_reading;
	unsigned long nr_readings = 0, nr_inconsistent = 0;

	/* Case 1's start: the test PMU, the first configuration, on and off. */
	bool setup()
	{
		if (!load_pmu())
			return false;
		new_config();
		return configure() && !turn_on() && turn_off();
	}

	/*
	 * The checks of an off kdamond, per CPU too once drgn is ready; @last
	 * waits for drgn if it is still loading.
	 */
	void check_off(const std::string &where, bool last)
	{
		report_inject::stats before, after;
		json dump;

		n.off_checks++;
		if (sk.ri) {
			const int err = sk.ri->wait_idle(30s) ? sk.ri->read_stats(before) :
								-ETIMEDOUT;

			if (err)
				off_finding(where, "reading the report stats: " +
						   errno_symbol(err));
			else if (!report_inject::balanced(before))
				off_finding(where, "counters off with the kdamond off: " +
						   kmod::format(before));
		}
		check_no_pmu_event(where);
		if (!sk.rings)
			return;
		if (!sk.rings->ready(last ? 300s : 0s)) {
			n.drgn_not_ready++;
			if (!last)
				return;
		} else if (n.drgn_ready_at < 0) {
			n.drgn_ready_at = secs_since(start);
		}
		n.drgn_checks++;
		if (!timed("drgn", [&] { return sk.rings->request(sk.t, dump, 60s); })) {
			off_finding(where, "no dump of the rings from drgn");
			return;
		}
		check_rings(where, dump);
		if (sk.ri && !sk.ri->read_stats(after))
			check_totals(where, dump, before, after);
	}

	/*
	 * The soak: cycles until the end time or a stop; ends with the
	 * kdamond off and checked, per CPU too.
	 */
	void run()
	{
		const auto end = steady::now() + duration;
		auto done = [this, end] { return sk.stop || steady::now() >= end; };

		while (!done()) {
			/* mostly with the test PMU; sometimes without */
			if (!pmu_present() && chance(75) && !load_pmu())
				break;
			n.cycles++;
			new_config();
			n.paddr_cycles += cfg.paddr;
			n.vaddr_cycles += !cfg.paddr;
			n.page_fault_cycles += cfg.page_faults;
			note("cycle " + num(n.cycles) + ": " + describe());
			if (!configure())
				break;
			if (turn_on()) {
				check_off("after a failed on", false);
				continue;
			}
			const uint64_t nr_actions = 4 + rnd(9);

			for (uint64_t i = 0; i < nr_actions && sk.on && !done(); i++) {
				n.actions++;
				action();
				std::this_thread::sleep_for(
					std::chrono::milliseconds(50 + rnd(200)));
			}
			if (sk.on)
				sample_stats_check();
			if (sk.on && turn_off())
				check_off("end of cycle " + num(n.cycles), false);
		}
		/* the last check waits for drgn if it is still loading */
		if (sk.on)
			turn_off();
		check_off("end of the soak", true);
	}

	/* Bring every CPU back, unload the PMU: the controller's own end. */
	void finish(const cpus_online_guard &cpus)
	{
		expect("cpu_online", cpus.restore());
		if (pmu_present()) {
			check_no_pmu_event("end");
			unload_pmu(nullptr);
		}
	}

private:
	soak &sk;
	std::mt19937_64 rng;
	std::chrono::seconds duration;
	const damon_sysfs::kdamond kd;
	const damon_sysfs::context ctx;
	unsigned int possible;
	std::vector<unsigned int> hotpluggable, offline;
	std::unique_ptr<test_pmu::pmu> pmu;
	unsigned long pmu_type = 0;
	config cfg;
	/* the events the kernel has, as of the last successful on or commit */
	std::vector<event> committed;
	const steady::time_point start = steady::now();
	/*
	 * The counters of sample/stats/ are those of the context's ownership
	 * of the report rings, which starts again from zero at "on" and at a
	 * commit that gives a context without events its first one: counted
	 * per successful "on" and commit, they only grow within one count.
	 */
	unsigned long ownership_epoch = 0, last_reading_epoch = 0;

	uint64_t rnd(uint64_t nr) { return nr ? rng() % nr : 0; }
	bool chance(unsigned int percent) { return rnd(100) < percent; }
	bool pmu_present() const { return pmu && pmu->ok(); }
	void note(const std::string &what) { sk.jr.note(what); }

	void off_finding(const std::string &where, const std::string &what)
	{
		sk.jr.finding(journal::off, where + ": " + what);
	}

	/* Count @err for @what; a finding unless it is @want. */
	bool expect(const std::string &what, int err, int want = 0)
	{
		n.errs[what][err]++;
		if (err == want)
			return true;
		sk.jr.finding(journal::controller, what + ": " + errno_symbol(err) +
			      " (" + describe() + ")");
		return false;
	}

	/* Run @fn until it does not fail with EBUSY, for busy_timeout. */
	int retry_busy(const std::function<int()> &fn)
	{
		const auto deadline = steady::now() + busy_timeout;
		int err;

		while ((err = fn()) == -EBUSY && steady::now() < deadline) {
			n.busy_retries++;
			std::this_thread::sleep_for(5ms);
		}
		return err;
	}

	/* Run @fn, adding the time it took to @what's. */
	template <typename Fn> auto timed(const std::string &what, Fn fn) -> decltype(fn())
	{
		const auto t0 = steady::now();
		const auto ret = fn();

		n.secs[what] += secs_since(t0);
		return ret;
	}

	int state(const std::string &cmd)
	{
		return timed(cmd, [this, &cmd] {
			return retry_busy([this, &cmd] { return kd.state(cmd); });
		});
	}

	/* Load the test PMU (pin=N) and point it at the workload. */
	bool load_pmu()
	{
		/* the old one unloads first, within pmu_load's time */
		const bool ok = timed("pmu_load", [this] {
			pmu.reset();
			pmu = std::make_unique<test_pmu::pmu>("pin=N");
			return pmu->ok();
		});

		if (!ok) {
			sk.jr.finding(journal::controller, "loading the test PMU: " + pmu->error());
			pmu.reset();
			return false;
		}
		n.pmu_loads++;
		pmu_type = static_cast<unsigned long>(pmu->type());
		int err = pmu->set_addrs(hot_addrs(sk.child));

		if (!err)
			err = pmu->set_addrs("paddr=" + num(pmu_paddr) + " len=" +
					     num(pmu_paddr_len));
		return expect("pmu_addrs", err);
	}

	/* Unload the test PMU; @why, if not nullptr, for the journal. */
	void unload_pmu(const char *why)
	{
		const int err = timed("pmu_unload", [this] { return pmu->unload(); });

		if (!err)
			pmu.reset();
		n.pmu_unloads++;
		if (why)
			note(std::string("pmu unloaded ") + why + ": " + errno_symbol(err));
		expect("pmu_unload", err);
	}

	/* "on" or "off", the other threads told that it is under way. */
	int switch_state(bool on)
	{
		sk.gen++;
		const int err = state(on ? "on" : "off");

		sk.on = on == !err;
		sk.gen++;
		return err;
	}

	/* Turn the kdamond off; true when it went off. */
	bool turn_off()
	{
		const int err = switch_state(false);

		n.offs++;
		return expect("off", err);
	}

	/* Turn the kdamond on: 0 or the accepted -errno. */
	int turn_on()
	{
		const int err = switch_state(true);

		n.ons++;
		note(std::string("on: ") + errno_symbol(err));
		applied("on", err, creation_errno({}));
		return err;
	}

	/*
	 * Commit, counted under @why, @what for the journal; @refused: the
	 * test PMU refuses an event (EINVAL).
	 */
	void commit(const char *why, const std::string &what, bool refused = false)
	{
		const int err = state("commit");
		const int want = refused ? -EINVAL : creation_errno(committed);

		n.commits++;
		note(std::string(why) + " " + what + ": commit " + errno_symbol(err));
		applied(std::string("commit(") + why + ")", err, want);
	}

	/* An "on" or a commit (@what) ended with @err, @want expected. */
	void applied(const std::string &what, int err, int want)
	{
		expect(what, err, want);
		if (err)
			return;
		ownership_epoch++;
		committed = cfg.events;
	}

	/*
	 * The errno of creating the events that are new or changed against
	 * @old: ENOENT if one of them is of the test PMU's type while it is
	 * unloaded, EINVAL if a sample_freq is above
	 * perf_event_max_sample_rate (which perf lowers when its interrupts
	 * take long), else 0.
	 */
	int creation_errno(const std::vector<event> &old) const
	{
		const unsigned long max_rate = perf_max_sample_rate(~0ul);
		int err = 0;

		for (size_t i = 0; i < cfg.events.size(); i++) {
			const event &e = cfg.events[i];

			if (i < old.size() && old[i] == e)
				continue;
			if (e.a.freq && e.a.sample_freq > max_rate)
				return -EINVAL;
			if (e.on_pmu && !pmu_present())
				err = -ENOENT;
		}
		return err;
	}

	std::string describe_event(const event &e) const
	{
		const perf_event_attr &a = e.a;
		std::string s = e.on_pmu ? "pmu" : "pf";

		if (a.config)
			s += " config=" + num(a.config);
		s += a.freq ? " freq=" + num(a.sample_freq) : " period=" + num(a.sample_period);
		if (a.sample_phys_addr)
			s += " phys";
		if (a.exclude_kernel)
			s += " user";
		return s;
	}

	std::string describe() const
	{
		std::string s = cfg.paddr ? "paddr" : "vaddr";

		s += " sample " + num(cfg.sample_us) + " aggr " + num(cfg.aggr_us) +
		     " update " + num(cfg.update_us);
		if (cfg.report_sink)
			s += " report_sink";
		s += " events [";
		for (size_t i = 0; i < cfg.events.size(); i++)
			s += (i ? ", " : "") + describe_event(cfg.events[i]);
		s += "]";
		if (!pmu_present())
			s += " (pmu unloaded)";
		if (!offline.empty()) {
			s += " (offline:";
			for (unsigned int c : offline)
				s += " " + num(c);
			s += ")";
		}
		return s;
	}

	/* the test PMU's period is in nanoseconds: 50 to 400 a second */
	unsigned long pmu_period() { return 2500000 + rnd(17500001); }
	/* every page fault, or every 4th, 16th or 64th */
	unsigned long fault_period() { return 1ul << (2 * rnd(4)); }

	/* A random event of the test PMU or, with @faults, of page faults. */
	event random_event(bool faults)
	{
		event e;
		perf_event_attr &a = e.a;

		e.on_pmu = !faults;
		a.sample_freq = 50 + rnd(351);
		a.exclude_kernel = chance(30);
		if (e.on_pmu) {
			a.type = pmu_type;
			a.freq = chance(60);
			a.sample_period = pmu_period();
			a.sample_phys_addr = cfg.paddr && chance(70);
		} else {
			/* PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS */
			a.type = 1;
			a.config = 2;
			a.freq = chance(30);
			a.sample_period = fault_period();
		}
		return e;
	}

	/* The test PMU's, or page faults in the cycles that allow them. */
	event random_event() { return random_event(cfg.page_faults && chance(40)); }

	void new_config()
	{
		cfg.paddr = chance(33);
		cfg.page_faults = chance(35);
		cfg.report_sink = chance(20);
		random_intervals();
		cfg.events.clear();
		for (uint64_t i = 1 + rnd(3); i; i--)
			cfg.events.push_back(random_event());
		/* a page faults cycle has at least one such event */
		if (cfg.page_faults && std::all_of(cfg.events.begin(), cfg.events.end(),
						   [](const event &e) { return e.on_pmu; }))
			cfg.events.back() = random_event(true);
	}

	void random_intervals()
	{
		/* now and then long ones, in which page faults can fill a ring */
		cfg.sample_us = chance(15) ? 50000 + 10000 * rnd(6) : 2000 + 1000 * rnd(9);
		cfg.aggr_us = cfg.sample_us * (5 + rnd(16));
		cfg.update_us = cfg.aggr_us * (2 + rnd(9));
	}

	std::vector<perf_event_attr> attrs() const
	{
		std::vector<perf_event_attr> v;

		for (const event &e : cfg.events)
			v.push_back(e.a);
		/* last: the indices of the others do not move */
		if (cfg.report_sink)
			v.push_back(damon_sysfs::report_sink_event());
		return v;
	}

	/* Write configuration files with @fn (-errno), the writers held off. */
	template <typename Fn> bool write_config(const char *what, Fn fn)
	{
		std::unique_lock<std::shared_mutex> l(sk.config_lock);

		return expect(what, fn());
	}

	/* @m with the configured intervals, written below kdamond 0 by @write. */
	template <typename M>
	int setup_monitor(M m, int (*write)(const damon_sysfs::session &, const M &))
	{
		m.sample_us = cfg.sample_us;
		m.aggr_us = cfg.aggr_us;
		m.update_us = cfg.update_us;
		return retry_busy([this, &m, write] { return write(sk.s, m); });
	}

	int set_events() { return retry_busy([this] { return ctx.set_perf_events(attrs()); }); }

	/* Write the whole configuration (the kdamond is off). */
	bool configure()
	{
		return write_config("configure", [this] {
			damon_sysfs::paddr_monitor pm;
			damon_sysfs::vaddr_monitor vm;

			pm.start = mon_start;
			pm.end = mon_end;
			vm.pid = sk.child.pid();
			const int err = cfg.paddr ?
				setup_monitor(pm, damon_sysfs::setup_paddr_monitor) :
				setup_monitor(vm, damon_sysfs::setup_vaddr_monitor);

			return err ? err : set_events();
		});
	}

	void write_events() { write_config("write_events", [this] { return set_events(); }); }

	void write_event(unsigned int idx)
	{
		write_config("write_event", [this, idx] {
			return ctx.get_perf_event(idx).set_attr(cfg.events[idx].a);
		});
	}

	void action()
	{
		const uint64_t r = rnd(100);

		if (r < 10)
			on_off();
		else if (r < 22)
			intervals();
		else if (r < 50)
			events();
		else if (r < 56)
			report_sink();
		else if (r < 68)
			hotplug();
		else if (r < 76)
			pmu_action();
		else if (r < 86 && sk.ri)
			burst();
		else
			sample_stats_check();
	}

	/* The CPUs that can go offline and are online. */
	std::vector<unsigned int> online_hotpluggable() const
	{
		std::vector<unsigned int> v;

		for (unsigned int c : hotpluggable)
			if (std::find(offline.begin(), offline.end(), c) == offline.end())
				v.push_back(c);
		return v;
	}

	/*
	 * More reports at once on one CPU than its ring holds (in a long
	 * sampling interval): test_damon_report, from process context (the
	 * test PMU's interrupts can land on a report: nested) or from a
	 * hrtimer.
	 */
	void burst()
	{
		const unsigned long count = 1500 + rnd(2501);
		std::vector<unsigned int> online = online_hotpluggable();
		std::string line = cfg.paddr ?
			"kind=paddr addr=" + num(mon_start) + " span=" + num(mon_end - mon_start) :
			"kind=vaddr addr=" + num(sk.child.hot_start()) + " span=" +
				num(sk.child.hot_size()) + " pid=" + std::to_string(sk.child.pid());

		online.insert(online.begin(), 0);
		line += " count=" + num(count) + " cpu=" + num(online[rnd(online.size())]);
		if (chance(50))
			line += " ctx=irq rate=50000 burst=256";
		const int err = sk.ri->wait_idle(30s) ? sk.ri->inject(line) : -ETIMEDOUT;

		n.bursts++;
		n.burst_reports += err ? 0 : count;
		note("burst " + line + ": " + errno_symbol(err));
		expect("burst", err);
	}

	void on_off()
	{
		note("on_off");
		if (turn_off())
			check_off("on_off", false);
		if (turn_on())
			check_off("after a failed on", false);
	}

	void intervals()
	{
		random_intervals();
		write_config("write_intervals", [this] {
			return ctx.set_intervals(cfg.sample_us, cfg.aggr_us, cfg.update_us);
		});
		n.interval_commits++;
		commit("intervals", num(cfg.sample_us) + "/" + num(cfg.aggr_us) + "/" +
		       num(cfg.update_us));
	}

	void add_event(const event &e)
	{
		cfg.events.push_back(e);
		write_events();
		commit("event_added", describe_event(e));
	}

	void events()
	{
		const uint64_t r = rnd(100);
		const size_t nr = cfg.events.size();

		if (r < 25 && nr < max_events) {
			n.event_ups++;
			add_event(random_event());
		} else if (r < 45 && nr > 0) {
			n.event_downs++;
			cfg.events.pop_back();
			write_events();
			commit("event_removed", num(nr - 1) + " left");
		} else if (r < 90 && nr > 0) {
			const unsigned int idx = static_cast<unsigned int>(rnd(nr));
			event &e = cfg.events[idx];

			n.event_changes++;
			switch (rnd(4)) {
			case 0:	/* type and config: the other kind, if allowed */
				e = random_event(cfg.page_faults && e.on_pmu);
				break;
			case 1:
				e.a.freq = !e.a.freq;
				break;
			case 2:
				e.a.freq = true;
				e.a.sample_freq = 50 + rnd(351);
				break;
			default:
				e.a.freq = false;
				e.a.sample_period = e.on_pmu ? pmu_period() : fault_period();
				break;
			}
			write_event(idx);
			commit("event_changed", num(idx) + ": " + describe_event(e));
		} else if (pmu_present()) {
			refused();
		} else {
			intervals();
		}
	}

	/* A config the test PMU refuses; the kdamond keeps running. */
	void refused()
	{
		auto it = std::find_if(cfg.events.begin(), cfg.events.end(),
				       [](const event &e) { return e.on_pmu; });
		std::string st;

		if (it == cfg.events.end()) {
			if (cfg.events.size() >= max_events)
				return;
			add_event(random_event(false));
			it = cfg.events.end() - 1;
		}
		const unsigned int idx = static_cast<unsigned int>(it - cfg.events.begin());
		const event good = *it;

		n.refused_commits++;
		it->a.config = 1;
		write_event(idx);
		commit("refused", num(idx) + ": config 1", true);
		/* reading state takes damon_sysfs_lock with a trylock: retried */
		if (retry_busy([this, &st] { return kd.get("state", st); }) || st != "on")
			sk.jr.finding(journal::controller,
				      "the kdamond stopped after a refused commit");
		cfg.events[idx] = good;
		write_event(idx);
		commit("restored", num(idx));
	}

	void report_sink()
	{
		n.report_sink_toggles++;
		cfg.report_sink = !cfg.report_sink;
		write_events();
		commit("report_sink", cfg.report_sink ? "on" : "off");
	}

	/* A CPU offline (at most all hotpluggable ones but one) or back online. */
	void hotplug()
	{
		const size_t max_offline = hotpluggable.size() > 1 ? hotpluggable.size() - 1 : 1;

		if (hotpluggable.empty())
			return;
		const bool up = !offline.empty() && (offline.size() >= max_offline || chance(50));
		const std::vector<unsigned int> from = up ? offline : online_hotpluggable();
		const size_t i = rnd(from.size());
		const unsigned int cpu = from[i];
		const char *what = up ? "cpu_online" : "cpu_offline";
		const int err = timed(what, [this, cpu, up] {
			return retry_busy([cpu, up] { return set_cpu_online(cpu, up); });
		});

		(up ? n.cpu_onlines : n.cpu_offlines)++;
		note("cpu" + num(cpu) + (up ? " online: " : " offline: ") + errno_symbol(err));
		if (!expect(what, err))
			return;
		if (up)
			offline.erase(offline.begin() + static_cast<long>(i));
		else
			offline.push_back(cpu);
	}

	void pmu_action()
	{
		if (pmu_present()) {
			unload_pmu("under the running kdamond");
			return;
		}
		if (!load_pmu())
			return;
		note("pmu loaded, type " + num(pmu_type));
		/* new counters for every test PMU event: the old are revoked */
		for (event &e : cfg.events) {
			if (!e.on_pmu)
				continue;
			e.a.type = pmu_type;
			e.a.sample_freq = e.a.sample_freq % 400 + 1;
			e.a.sample_period += 1000;
		}
		write_events();
		commit("pmu_reloaded", "type " + num(pmu_type));
	}

	/* No live test PMU event, after up to 5 s for perf to let them go. */
	void check_no_pmu_event(const std::string &where)
	{
		const auto deadline = steady::now() + 5s;
		kmod::values v;
		int err;

		if (!pmu_present())
			return;
		while (!(err = pmu->read_stats(v)) && value_of(v, "events_active") &&
		       steady::now() <= deadline) {
			n.events_waits++;
			std::this_thread::sleep_for(50ms);
		}
		if (err)
			off_finding(where, "test PMU stats: " + errno_symbol(err));
		else if (value_of(v, "events_active"))
			off_finding(where, num(value_of(v, "events_active")) +
					   " test PMU events still live with the kdamond off");
	}

	/* Every ring freed, no owner, and each CPU's counters balanced. */
	void check_rings(const std::string &where, const json &dump)
	{
		if (!dump["owner"].is_null())
			off_finding(where, "drgn: the rings have an owner: " +
					   dump["owner_pid"].dump());
		if (!dump["cpus"].is_array() || dump["cpus"].size() < possible) {
			off_finding(where, "drgn: " + num(dump["cpus"].size()) +
					   " CPUs in the dump, " + num(possible) + " possible");
			return;
		}
		for (const json &c : dump["cpus"]) {
			unsigned long v[std::size(counters)];
			bool numbers = true;

			for (size_t i = 0; i < std::size(counters); i++) {
				numbers &= c[counters[i]].is_number_unsigned();
				v[i] = numbers ? c[counters[i]].get<unsigned long>() : 0;
			}
			/* drained = attributed + unmatched + stale */
			if (!numbers || c["ring"] != false || c["consumer_ring"] != false ||
			    c["busy"] != 0 || v[4] != v[5] + v[6] + v[7])
				off_finding(where, "drgn: cpu " + c["cpu"].dump() + ": " +
						   c.dump());
		}
	}

	/* drgn's totals are the kernel's, if those did not move meanwhile. */
	void check_totals(const std::string &where, const json &dump,
			  const report_inject::stats &before, const report_inject::stats &after)
	{
		for (const char *c : counters) {
			const json &v = dump["totals"][c];

			if (value_of(before, c) != value_of(after, c))
				return;
			if (!v.is_number_unsigned() ||
			    v.get<unsigned long>() != value_of(before, c))
				off_finding(where, std::string("drgn total ") + c + " " + v.dump() +
						   ", kernel " + num(value_of(before, c)));
		}
	}

	/*
	 * The sample stats files, read until two passes agree (a writer's
	 * update_sample_stats may come between two files).
	 */
	bool read_sample_stats(kmod::values &v)
	{
		const damon_sysfs::node stats(ctx.sample().path("stats"));
		auto read = [&stats](kmod::values &pass) {
			for (const char *c : counters)
				if (const int err = stats.get(c, pass[c]))
					return err;
			return 0;
		};

		for (int attempt = 0; attempt < 10; attempt++) {
			kmod::values a, b;
			int err = read(a);

			if (!err)
				err = read(b);
			if (err) {
				expect("read_sample_stats", err);
				return false;
			}
			if (a == b) {
				v = a;
				return true;
			}
		}
		nr_inconsistent++;
		return false;
	}

	/* update_sample_stats, and the invariants of a running kdamond. */
	void sample_stats_check()
	{
		const int err = state("update_sample_stats");
		kmod::values v;
		std::string why;

		n.sample_stats++;
		if (!expect("update_sample_stats", err) || !read_sample_stats(v))
			return;
		/* compare with the last reading only within one ownership */
		const bool same = !last_reading.empty() && ownership_epoch == last_reading_epoch;

		nr_readings++;
		if (first_reading.empty())
			first_reading = v;
		if (value_of(v, "drained") != value_of(v, "attributed") +
					      value_of(v, "unmatched") + value_of(v, "stale"))
			why = "drained is not attributed + unmatched + stale";
		for (const char *c : counters)
			if (same && value_of(v, c) < value_of(last_reading, c))
				why = std::string(c) + " went back from " +
				      num(value_of(last_reading, c));
		if (!why.empty())
			sk.jr.finding(journal::running, why + ": " + kmod::format(v));
		last_reading = v;
		last_reading_epoch = ownership_epoch;
	}
};

/* A reader of the whole kdamond tree. */
void reader(soak &sk, io_counts &c)
{
	while (!sk.stop) {
		damon_sysfs::read_tree(kd_dir, [&](const std::string &p, int err) {
			c.read_errs[err]++;
			if (err && err != -ENOENT && err != -ENODEV && err != -EBUSY)
				sk.jr.finding(journal::running,
					      "read " + p + ": " + errno_symbol(err));
		});
		std::this_thread::sleep_for(20ms);
	}
}

/* Files below the context a writer writes back, with the value they hold. */
const char *const writeback_files[] = {
	"monitoring_attrs/intervals/sample_us", "monitoring_attrs/intervals/aggr_us",
	"monitoring_attrs/intervals/update_us", "monitoring_attrs/nr_regions/min",
	"monitoring_attrs/nr_regions/max", "targets/0/pid_target",
	"schemes/0/action", "schemes/0/apply_interval_us",
	"schemes/0/access_pattern/sz/min", "schemes/0/access_pattern/nr_accesses/max",
	"schemes/0/access_pattern/age/min", "schemes/0/quotas/ms",
	"schemes/0/quotas/bytes", "schemes/0/quotas/reset_interval_ms",
};
const char *const writer_cmds[] = {
	"update_sample_stats", "update_sample_stats", "update_sample_stats",
	"update_schemes_stats", "update_schemes_stats",
	"update_schemes_tried_bytes", "update_schemes_tried_regions",
	"clear_schemes_tried_regions", "update_schemes_effective_quotas",
	"update_tuned_intervals", "commit_schemes_quota_goals",
};

/* A state command of a writer, its errno judged by how steadily on the kdamond was. */
void write_state(soak &sk, io_counts &c, const std::string &cmd)
{
	/* it writes sample_us and aggr_us: not amid the controller's */
	std::shared_lock<std::shared_mutex> l(sk.config_lock, std::defer_lock);

	if (cmd == "update_tuned_intervals")
		l.lock();
	const unsigned long g = sk.gen;
	const bool on = sk.on;
	const int err = damon_sysfs::write_file(kd_dir + "/state", cmd);
	const bool steady_on = g % 2 == 0 && on && sk.gen == g;

	c.state_errs[err]++;
	if (err && err != -EBUSY && (steady_on || (err != -EINVAL && err != -ECANCELED &&
						   err != -ENOENT && err != -ENODEV)))
		sk.jr.finding(journal::running, "state " + cmd + ": " + errno_symbol(err) +
			      (steady_on ? " (kdamond steadily on)" : ""));
}

/* A write-back of a file below the context, a third of them of a perf event's. */
void write_back(soak &sk, io_counts &c, std::mt19937_64 &rng)
{
	const damon_sysfs::node ctx(ctx_dir);
	const std::string events = "monitoring_attrs/sample/perf_events/";
	std::shared_lock<std::shared_mutex> l(sk.config_lock);
	std::vector<std::string> files;
	std::string file, val;
	unsigned long nr = 0;
	auto add = [&files](const std::string &p, int err) {
		if (!err && p.find("/stats/") == std::string::npos)
			files.push_back(p.substr(ctx_dir.size() + 1));
	};

	if (rng() % 3 == 0 && !ctx.get(events + "nr_perf_events", nr) && nr)
		damon_sysfs::read_tree(ctx.path(events + num(rng() % nr)), add);
	file = files.empty() ? writeback_files[rng() % std::size(writeback_files)] :
			       files[rng() % files.size()];
	if (ctx.get(file, val)) {
		c.absent++;
		return;
	}
	const int err = ctx.set(file, val);

	c.writeback_errs[err]++;
	if (err)
		sk.jr.finding(journal::running, "write back " + file + " '" + val + "': " +
			      errno_symbol(err));
}

/* A writer of state commands and of write-backs. */
void writer(soak &sk, io_counts &c, uint64_t seed)
{
	std::mt19937_64 rng(seed);

	while (!sk.stop) {
		if (rng() % 2)
			write_state(sk, c, writer_cmds[rng() % std::size(writer_cmds)]);
		else
			write_back(sk, c, rng);
		std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 25));
	}
}

/* Run @fn; an exception becomes a finding of @k. */
void guarded(soak &sk, journal::kind k, const char *who, const std::function<void()> &fn)
{
	try {
		fn();
	} catch (const std::exception &e) {
		sk.jr.finding(k, std::string(who) + ": exception: " + e.what());
	} catch (...) {
		sk.jr.finding(k, std::string(who) + ": exception");
	}
}

/* @lines from the @from-th on as diagnostics, each after @prefix. */
void show(const ktap::writer &t, const std::vector<std::string> &lines,
	  const std::string &prefix, size_t from = 0)
{
	for (size_t i = from; i < lines.size(); i++)
		t.diag(prefix + lines[i]);
}

/*
 * The end: a fresh, pinning test PMU samples on every online CPU through a
 * clean start and stop, and unloads after.
 */
bool clean_end(const ktap::writer &t, const damon_sysfs::session &s,
	       const workload::hot_cold_child &child, unsigned int nr_online)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	test_pmu::pmu pinned;
	damon_sysfs::vaddr_monitor m;
	damon_sysfs::perf_event_stats st;
	int err_reset, err_setup = -EIO, err_on = -EIO, err_stats = -EIO;
	int err_off = -EIO, err_unload;

	if (!pinned.ok()) {
		t.diag("loading the test PMU again: " + pinned.error());
		return false;
	}
	err_reset = s.reset();
	m.pid = child.pid();
	if (!err_reset)
		err_setup = pinned.set_addrs(hot_addrs(child));
	if (!err_setup)
		err_setup = damon_sysfs::setup_vaddr_monitor(s, m);
	if (!err_setup)
		err_setup = ctx.set_perf_events({ pinned.event(200, false) });
	if (!err_setup)
		err_on = kd.start();
	if (!err_on) {
		std::this_thread::sleep_for(1s);
		err_stats = kd.state("update_sample_stats");
		if (!err_stats)
			err_stats = ctx.get_perf_event(0).get_stats(st);
		err_off = kd.stop();
	}
	err_unload = pinned.unload();
	t.diagf("clean end: reset %s, setup %s, on %s, stats %s (nr_cpus %lu of %u online, accepted %lu, invalid %lu), off %s, pinned test PMU unload %s",
		errno_symbol(err_reset).c_str(), errno_symbol(err_setup).c_str(),
		errno_symbol(err_on).c_str(), errno_symbol(err_stats).c_str(),
		st.nr_cpus, nr_online, st.nr_accepted, st.nr_invalid,
		errno_symbol(err_off).c_str(), errno_symbol(err_unload).c_str());
	return !err_reset && !err_setup && !err_on && !err_stats && !err_off && !err_unload &&
	       st.nr_cpus == nr_online && st.nr_accepted + st.nr_invalid > 0;
}

/* cpuN/online of every CPU but cpu0 reads 1. */
bool all_cpus_online(const ktap::writer &t)
{
	bool ok = true;
	std::string v;

	for (unsigned int cpu = 1; damon_sysfs::exists(cpu_dir(cpu)); cpu++) {
		if (!damon_sysfs::read_file(cpu_dir(cpu) + "/online", v) && v != "1") {
			t.diagf("cpu%u is still offline", cpu);
			ok = false;
		}
	}
	return ok;
}

/*
 * Case 1: a running kdamond sampling the workload, off again; the counters
 * of test_damon_report at its end in @ri_start.  False (the rest of the
 * plan skipped) if there is no kdamond to soak.
 */
bool setup_case(ktap::writer &t, controller &ctl, journal &jr, monitor::log_watch &watch,
		const workload::hot_cold_child &child, const report_inject::module &ri,
		report_inject::stats &ri_start)
{
	const bool ok = child.ok() && ctl.setup();

	if (ok)
		ctl.check_off("setup", false);
	if (ok && ri.ok())
		ri.read_stats(ri_start);
	watch.poll("setup");
	if (t.result(ok && jr.total() == 0 && watch.bad.empty(), "setup"))
		return true;
	show(t, jr.get(journal::controller), "setup: ");
	show(t, jr.get(journal::off), "setup: ");
	show(t, watch.bad, "kmsg: ");
	t.skip_rest("no kdamond to soak");
	return false;
}

/*
 * The soak: the controller, two readers, two writers, until the controller
 * is done or the kernel log goes bad.  The readers' and writers' counts
 * are merged into @io; returns the seconds it took.
 */
double soak_threads(soak &sk, controller &ctl, monitor::log_watch &watch,
		    steady::time_point t0, uint64_t seed, io_counts &io)
{
	io_counts rc[2], wc[2];
	std::vector<std::thread> threads;
	std::atomic<bool> controller_done{ false };
	const auto soak_start = steady::now();

	threads.emplace_back([&] {
		guarded(sk, journal::controller, "controller", [&] { ctl.run(); });
		controller_done = true;
	});
	for (unsigned int i = 0; i < 2; i++) {
		threads.emplace_back([&, i] {
			guarded(sk, journal::running, "reader", [&] { reader(sk, rc[i]); });
		});
		threads.emplace_back([&, i] {
			guarded(sk, journal::running, "writer",
				[&] { writer(sk, wc[i], seed + 1 + i); });
		});
	}
	while (!controller_done) {
		std::this_thread::sleep_for(500ms);
		watch.poll("at " + std::to_string(static_cast<int>(secs_since(t0))) + " s");
		/* a kernel bug: stop here, the log says the rest */
		if (!watch.bad.empty())
			sk.stop = true;
	}
	sk.stop = true;
	for (std::thread &th : threads)
		th.join();
	const double soak_s = secs_since(soak_start);

	for (unsigned int i = 0; i < 2; i++) {
		io.merge(rc[i]);
		io.merge(wc[i]);
	}
	return soak_s;
}

/* Case 2: the controller's actions, each with an accepted errno. */
void soak_cycles_case(ktap::writer &t, const controller &ctl, journal &jr,
		      const io_counts &io, double soak_s)
{
	const controller_counts &n = ctl.n;
	std::string times;

	t.diagf("soak: %.1f s, %lu cycles (vaddr %lu, paddr %lu, with page faults %lu), %lu actions",
		soak_s, n.cycles, n.vaddr_cycles, n.paddr_cycles, n.page_fault_cycles, n.actions);
	t.diagf("soak: on %lu, off %lu, commits %lu (intervals %lu, events up %lu, down %lu, changed %lu, refused %lu, report_sink %lu)",
		n.ons, n.offs, n.commits, n.interval_commits, n.event_ups, n.event_downs,
		n.event_changes, n.refused_commits, n.report_sink_toggles);
	t.diagf("soak: hotplug offline %lu, online %lu; test PMU unloads %lu, loads %lu; bursts %lu (%lu reports); update_sample_stats %lu; EBUSY retries %lu",
		n.cpu_offlines, n.cpu_onlines, n.pmu_unloads, n.pmu_loads, n.bursts,
		n.burst_reports, n.sample_stats, n.busy_retries);
	t.diagf("soak: sysfs reads %lu, state writes %lu, write-backs %lu",
		total(io.read_errs), total(io.state_errs), total(io.writeback_errs));
	for (const auto &e : n.secs)
		times += " " + e.first + " " + std::to_string(static_cast<int>(e.second + 0.5));
	t.diagf("soak: seconds in%s", times.c_str());
	for (const auto &e : n.errs)
		t.diagf("controller %-28s%s", e.first.c_str(), format_hist(e.second).c_str());
	show(t, jr.get(journal::controller), "finding: ");
	t.result(jr.get(journal::controller).empty() && n.cycles > 0, "soak_cycles");
}

/* Case 3: the running kdamond's books and the threads' errnos. */
void running_case(ktap::writer &t, const controller &ctl, journal &jr, const io_counts &io)
{
	t.diagf("reads:%s", format_hist(io.read_errs).c_str());
	t.diagf("state writes:%s", format_hist(io.state_errs).c_str());
	t.diagf("write-backs:%s (%lu files absent)", format_hist(io.writeback_errs).c_str(),
		io.absent);
	t.diagf("running: %lu sample stats readings checked (%lu not read consistently)",
		ctl.nr_readings, ctl.nr_inconsistent);
	show(t, jr.get(journal::running), "finding: ");
	t.result(jr.get(journal::running).empty() && ctl.nr_readings > 0,
		 "invariants_while_running");
}

/*
 * Case 4: exact accounting whenever the kdamond was off; skipped unless
 * @can_account (test_damon_report or drgn counted the rings).
 */
void off_case(ktap::writer &t, const controller_counts &n, journal &jr, bool can_account)
{
	t.diagf("off: %lu checks, %lu also per CPU (drgn ready after %.0f s, %lu checks before), %lu waits for the test PMU's events to go",
		n.off_checks, n.drgn_checks, n.drgn_ready_at, n.drgn_not_ready, n.events_waits);
	show(t, jr.get(journal::off), "finding: ");
	if (!can_account)
		t.skip("accounting_exact_when_off", "neither test_damon_report nor drgn");
	else
		t.result(jr.get(journal::off).empty() && n.off_checks > 0,
			 "accounting_exact_when_off");
}

/* The samples: the report counters from @from to @to, over @span. */
void show_samples(const ktap::writer &t, const kmod::values &from, const kmod::values &to,
		  const char *span)
{
	auto d = [&](const char *c) { return value_of(to, c) - value_of(from, c); };

	t.diagf("reports (%s): pushed %lu, drained %lu (attributed %lu, unmatched %lu, stale %lu), dropped %lu (full %lu, nested %lu, no owner %lu)",
		span, d("pushed"), d("drained"), d("attributed"), d("unmatched"), d("stale"),
		d("dropped_full") + d("dropped_nested") + d("dropped_no_owner"),
		d("dropped_full"), d("dropped_nested"), d("dropped_no_owner"));
}

/* Case 5: the kernel log, with the controller's actions before a finding. */
void kernel_log_case(ktap::writer &t, const monitor::log_watch &watch, journal &jr)
{
	const bool bad = !watch.bad.empty();

	if (bad || jr.total()) {
		t.diag((bad ? "the kernel log went bad " + watch.first_when + "; " : "") +
		       "the controller's last actions before the first finding:");
		show(t, jr.history_at_first(), "  ");
	}
	show(t, watch.bad, "kmsg: ");
	t.result(!bad, "kernel_log_clean");
}

/*
 * Case 6: the end: the controller finishes (the kdamond off, every CPU
 * back online) without a new finding, then clean_end().
 */
void clean_end_case(ktap::writer &t, const damon_sysfs::session &s,
		    const workload::hot_cold_child &child, controller &ctl,
		    const cpus_online_guard &cpus, journal &jr, monitor::log_watch &watch)
{
	const auto e0 = steady::now();
	const unsigned long nr_findings = jr.total();
	const size_t nr_controller = jr.get(journal::controller).size();
	const size_t nr_off = jr.get(journal::off).size();
	std::string state_val;

	ctl.finish(cpus);
	damon_sysfs::read_file(kd_dir + "/state", state_val);
	t.diag("state at the end: " + state_val);
	bool ok = state_val == "off" && all_cpus_online(t) && jr.total() == nr_findings;

	show(t, jr.get(journal::controller), "finding: ", nr_controller);
	show(t, jr.get(journal::off), "finding: ", nr_off);
	ok = clean_end(t, s, child, monitor::nr_cpus()) && ok;
	ok = !s.reset() && ok;
	watch.poll("end");
	show(t, watch.bad, "kmsg: ");
	t.result(ok && watch.bad.empty(), "clean_end");
	t.diagf("clean end: %.1f s", secs_since(e0));
}

/* Case 7: kmemleak finds no unreferenced DAMON object. */
void kmemleak_case(ktap::writer &t, bool has_kmemleak)
{
	if (!has_kmemleak) {
		t.skip("kmemleak_no_damon_leak", "no kmemleak, or it is disabled");
		return;
	}
	const auto k0 = steady::now();
	unsigned int nr_all = 0;
	int nr = monitor::kmemleak_damon(t, nr_all, true);

	t.diagf("kmemleak: %d DAMON objects of %u unreferenced, %.1f s", nr, nr_all,
		secs_since(k0));
	t.result(nr == 0, "kmemleak_no_damon_leak");
}

int run()
{
	uint64_t seed;
	unsigned long duration = 45;

	if (!parse_seed_args(g_argc, g_argv, "duration", "DAMON_SOAK_SECS", seed, duration,
			     "DAMON_SOAK_SEED") || !duration) {
		std::printf("usage: damon_soak [--duration S] [--seed N]\n");
		return ktap::KSFT_FAIL;
	}
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	s.reset();
	{
		/* pin=N: it must unload again */
		test_pmu::pmu probe("pin=N");

		if (!probe.ok())
			ktap::exit_skip("test PMU: " + probe.error());
	}

	ktap::writer t(7);
	const auto t0 = steady::now();
	monitor::log_watch watch;
	cpus_online_guard cpus;
	workload::hot_cold_child child(4 * mib, 16 * mib, true);
	report_inject::module ri;
	std::string vmlinux, why_no_drgn = drgn::unavailable(vmlinux);
	/* drgn loads the debug info while the soak starts */
	std::unique_ptr<drgn::server> rings;

	if (why_no_drgn.empty())
		rings = std::make_unique<drgn::server>(drgn::command(vmlinux,
				"damon_report_rings.py", { "--serve" }));
	const bool has_kmemleak = monitor::kmemleak_clear();
	journal jr(t0);
	soak sk{ t, s, child, ri.ok() ? &ri : nullptr, rings.get(), jr, {}, {}, {}, {} };
	report_inject::stats ri_start, ri_end;
	io_counts io;

	/* the seed to rerun with, and what the checks of an off kdamond can use */
	t.diagf("seed %" PRIu64 " duration %lu s (rerun: --seed %" PRIu64 " --duration %lu)",
		seed, duration, seed, duration);
	t.diagf("%u CPUs online, %u possible; ring accounting when off: %s, per CPU: %s",
		monitor::nr_cpus(), nr_possible_cpus(),
		ri.ok() ? "test_damon_report" : ("none (" + ri.error() + ")").c_str(),
		why_no_drgn.empty() ? "drgn" : ("none (" + why_no_drgn + ")").c_str());

	controller ctl(sk, seed, duration);

	if (!setup_case(t, ctl, jr, watch, child, ri, ri_start))
		return t.exit_code();
	const double soak_s = soak_threads(sk, ctl, watch, t0, seed, io);

	watch.poll("end of the soak");
	if (ri.ok())
		ri.read_stats(ri_end);
	/* whether anything counted the rings, before drgn goes */
	const bool can_account = ri.ok() || rings;

	/* drgn is done: its memory back before the end */
	rings.reset();
	soak_cycles_case(t, ctl, jr, io, soak_s);
	running_case(t, ctl, jr, io);
	off_case(t, ctl.n, jr, can_account);
	show_samples(t, ri.ok() ? ri_start : ctl.first_reading,
		     ri.ok() ? ri_end : ctl.last_reading,
		     ri.ok() ? "the soak" : "first to last sysfs reading");
	kernel_log_case(t, watch, jr);
	clean_end_case(t, s, child, ctl, cpus, jr, watch);
	kmemleak_case(t, has_kmemleak);
	t.diagf("total: %.1f s", secs_since(t0));
	return t.exit_code();
}

} /* namespace */

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	return ktap::guarded_main(run);
}
