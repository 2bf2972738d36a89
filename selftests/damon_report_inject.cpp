// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON access reports end to end: the test module test_damon_report (selftests/
 * test_damon_report/) calls damon_report_access() with addresses this test chooses, from
 * hard-IRQ and process context, and DAMON's sysfs interface shows where the reports landed.
 *
 * - The module's input checks, and -EBUSY while an injection runs.
 * - Without a consuming context every report is dropped_no_owner.
 * - A context consumes reports if and only if it has a perf event: there is no
 *   monitoring_attrs/sample/access_reports; a running paddr context without perf events
 *   leaves reports dropped_no_owner, drains them once a commit gave it the report sink (the
 *   software dummy event, which never samples), and no longer once a commit took it away.
 * - A paddr context with the report sink rates the 4 MiB sub-range that gets reports hot and
 *   all else cold, for reports from a pinned hrtimer and from process context (the writer
 *   and kworkers).
 * - The counters of damon_report_read_stats() add up: injected = pushed,
 *   pushed = drained + dropped_*, drained = attributed + unmatched + stale.
 * - Only one context consumes reports: a second one gets -EBUSY on "on" and "commit" while
 *   the first keeps running, and takes over by "commit" once the first stopped.
 * - A vaddr context attributes reports naming its target's address space, others unmatched.
 *
 * SKIPs when not root, without DAMON sysfs, or without monitoring_attrs/sample/perf_events.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/report_inject.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <initializer_list>
#include <string>
#include <thread>
#include <utility>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using namespace monitor;
using kmod::value_of;
using report_inject::delta;
using report_inject::format;
using report_inject::stats;

const unsigned long page_sz = 4096;
const unsigned long mib = 1ul << 20;
/* The physical range the paddr context monitors (the VM has 2 GiB). */
const unsigned long mon_start = 256 * mib;
const unsigned long mon_end = 320 * mib;
/* The sub-ranges that get reports, from IRQ and from process context. */
const unsigned long sub_sz = 4 * mib;
const unsigned long irq_sub = mon_start + 8 * mib;
const unsigned long proc_sub = mon_start + 40 * mib;

/* TCG guests are slow: generous deadlines. */
const auto idle_timeout = std::chrono::milliseconds(60s);
const auto balance_timeout = std::chrono::milliseconds(10s);
const auto pump_time = 3s;

/*
 * A stride of an odd number of pages, about 0.618 of @span: report i goes to page
 * (i * stride) % span, which visits every page of a power-of-two span in a well scattered
 * order, so that a few hundred reports cover the whole span evenly.
 */
unsigned long scatter_stride(unsigned long span)
{
	return ((span / page_sz * 618 / 1000) | 1) * page_sz;
}

/* An "inject" line for 8-byte reports into the sub-range at @sub, followed by @rest. */
std::string into_sub(unsigned long sub, const std::string &rest)
{
	return "kind=paddr addr=" + num(sub) + " span=" + num(sub_sz) + " size=8 " + rest;
}

/* If @err, say on a diagnostic line that @what failed, and why. */
bool failed(const ktap::writer &t, const std::string &what, int err)
{
	if (err)
		t.diagf("%s: %s", what.c_str(), err_name(err).c_str());
	return err;
}

/* Is @err the error @want?  If not, say so on a diagnostic line. */
bool is_error(const ktap::writer &t, const std::string &what, int err, int want)
{
	if (err != want)
		t.diagf("%s: %s, not %s", what.c_str(), err_name(err).c_str(),
			errno_symbol(want).c_str());
	return err == want;
}

void skip_cases(ktap::writer &t, std::initializer_list<const char *> names, const char *why)
{
	for (const char *n : names)
		t.skip(n, why);
}

damon_sysfs::paddr_monitor paddr_mon(bool report_sink)
{
	damon_sysfs::paddr_monitor pm;

	pm.start = mon_start;
	pm.end = mon_end;
	pm.report_sink = report_sink;
	return pm;
}

/* A part of the test starts from a reset DAMON and leaves it reset, however it ends. */
struct reset_around {
	const damon_sysfs::session &s;

	explicit reset_around(const damon_sysfs::session &ses) : s(ses) { s.reset(); }
	~reset_around() { s.reset(); }
};

/*
 * Reports from process context into proc_sub for the pump's lifetime: batches of 64 every
 * 4 ms, alternately from the writer itself (cpu=-1) and from a kworker of each CPU in turn,
 * each batch continuing the scattered sequence where the previous one ended.
 */
struct process_pump {
	std::atomic<bool> stop{ false };
	std::atomic<int> err{ 0 };
	std::thread thread;

	explicit process_pump(const report_inject::module &m) : thread([this, &m] { run(m); })
	{
	}
	~process_pump()
	{
		stop = true;
		thread.join();
	}

	void run(const report_inject::module &m)
	{
		const unsigned long batch = 64, stride = scatter_stride(sub_sz);
		const unsigned int cpus = nr_cpus();

		for (unsigned long k = 0; !stop; k++) {
			const int cpu = k % 2 ? static_cast<int>(k / 2 % cpus) : -1;
			const int ret = m.inject(into_sub(proc_sub, "stride=" + num(stride) +
					" offset=" + num(k * batch * stride % sub_sz) +
					" count=" + num(batch) + " ctx=process cpu=" +
					std::to_string(cpu)));

			if (ret && !err)
				err = ret;
			std::this_thread::sleep_for(4ms);
		}
	}
};

bool bad_input_rejected(const ktap::writer &t, const report_inject::module &m)
{
	static const char *const lines[] = {
		"kind=paddr addr", "kind=foo", "addr=4096", "kind=paddr count=0",
		"kind=paddr bogus=1", "kind=paddr pid=1", "kind=vaddr addr=4096",
		"kind=paddr cpu=100000", "kind=paddr cpu=-2", "kind=paddr ctx=softirq",
		"kind=paddr ctx=irq rate=0", "kind=paddr ctx=irq burst=0",
		"kind=paddr ctx=irq rate=1000000", "kind=paddr addr=0xffffffffffffffff span=2",
	};
	bool ok = true;

	for (const char *l : lines)
		ok = is_error(t, "'" + std::string(l) + "'", m.inject(l), -EINVAL) && ok;
	return ok;
}

bool busy_rejected(const ktap::writer &t, const report_inject::module &m)
{
	const std::string one = "kind=paddr addr=" + num(mon_start);
	bool busy, idle;
	int stop_err;
	stats s;

	if (failed(t, "starting a slow irq injection",
		   m.inject(one + " count=100000 ctx=irq rate=100")))
		return false;
	busy = is_error(t, "inject while busy", m.inject(one), -EBUSY);
	stop_err = m.stop();
	idle = m.wait_idle(5s);
	if (stop_err || !idle)
		t.diagf("stop: %s, idle afterwards: %d", err_name(stop_err).c_str(), idle);
	if (m.read_stats(s) || value_of(s, "irq_pending")) {
		t.diagf("after stop: %s", format(s).c_str());
		return false;
	}
	return busy && !stop_err && idle;
}

/* Run with no kdamond: every report must be dropped for lack of an owner. */
bool no_owner_dropped(const ktap::writer &t, const report_inject::module &m)
{
	const std::string last_cpu = " cpu=" + num(nr_cpus() - 1);
	const std::string lines[] = {
		into_sub(irq_sub, "count=1000 ctx=process"),
		into_sub(irq_sub, "count=100 ctx=process" + last_cpu),
		into_sub(irq_sub, "count=200 ctx=irq rate=2000 burst=2" + last_cpu),
	};
	stats before, after, d;

	if (m.read_stats(before))
		return false;
	for (const std::string &l : lines)
		if (failed(t, "inject", m.inject(l)))
			return false;
	if (!m.wait_idle(idle_timeout) || m.read_stats(after)) {
		t.diag("the irq injection did not end");
		return false;
	}
	d = delta(before, after);
	if (value_of(d, "injected") == 1300 && value_of(d, "pushed") == 1300 &&
	    value_of(d, "dropped_no_owner") == 1300 && value_of(d, "drained") == 0 &&
	    value_of(d, "dropped_full") == 0 && value_of(d, "dropped_nested") == 0)
		return true;
	t.diagf("deltas: %s", format(d).c_str());
	return false;
}

/*
 * Write @line to "inject", wait until the injection ended (@irq) and the owner drained its
 * rings; @d gets the deltas of the stats.  0 or -errno.
 */
int inject_drained(const report_inject::module &m, const std::string &line, bool irq, stats &d)
{
	stats before, after;
	int err = m.read_stats(before);

	if (!err)
		err = m.inject(line);
	if (!err && irq && !m.wait_idle(idle_timeout))
		err = -ETIMEDOUT;
	if (!err)
		err = report_inject::wait_balanced(m, after, balance_timeout);
	if (!err)
		d = delta(before, after);
	return err;
}

/* One running paddr context: no perf events, the sink by commit, none again. */
bool consumes_reports_iff_perf_event(const ktap::writer &t, const damon_sysfs::session &s,
				     const report_inject::module &m)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	const std::string knob = ctx.sample().path("access_reports");
	const reset_around reset(s);
	int err = damon_sysfs::setup_paddr_monitor(s, paddr_mon(false));
	bool ok = true;

	if (!err && damon_sysfs::exists(knob)) {
		t.diagf("%s exists", knob.c_str());
		ok = false;
	}
	if (err || !start_kdamond(t, kd)) {
		t.diagf("paddr setup without perf events: %s", err_name(err).c_str());
		return false;
	}
	for (const bool sink : { false, true, false }) {
		const std::string with = sink ? "with" : "without";
		stats d;

		if (sink != ctx.has_report_sink()) {
			err = ctx.set_report_sink(sink);
			if (!err)
				err = kd.state("commit");
		}
		if (!err)
			err = inject_drained(m, into_sub(irq_sub, "count=100 ctx=process"),
					     false, d);
		if (failed(t, with + " the report sink", err)) {
			ok = false;
			break;
		}
		if (value_of(d, "pushed") != 100 ||
		    value_of(d, sink ? "drained" : "dropped_no_owner") != 100 ||
		    value_of(d, sink ? "dropped_no_owner" : "drained") != 0) {
			t.diagf("%s the report sink: %s", with.c_str(), format(d).c_str());
			ok = false;
		}
	}
	if (!kd.running()) {
		t.diag("the kdamond stopped");
		ok = false;
	}
	return ok;
}

/*
 * Reports from a pinned hrtimer into irq_sub, 4000 a second, while DAMON looks (see watch():
 * at least 2.5 s; the 100000 reports last 25 s), then the injection must stop when told to.
 */
bool irq_reports_hot(const ktap::writer &t, const report_inject::module &m,
		     const damon_sysfs::kdamond &kd)
{
	hot_judge judge(t, irq_sub, irq_sub + sub_sz);
	bool read_failed = false;
	stats s;
	int err = m.inject(into_sub(irq_sub, "stride=" + num(scatter_stride(sub_sz)) +
				    " count=100000 ctx=irq rate=4000 burst=4 cpu=" +
				    num(nr_cpus() - 1)));

	if (failed(t, "inject", err))
		return false;
	watch(kd, judge, 2500ms, [&] {
		read_failed = m.read_stats(s) != 0;
		return !read_failed && value_of(s, "busy");
	});
	err = m.stop();
	if (err || !m.wait_idle(idle_timeout) || read_failed) {
		t.diagf("stopping the injection: %s, stats %s", err_name(err).c_str(),
			format(s).c_str());
		return false;
	}
	return judge.verdict();
}

/* Reports from process context into proc_sub while DAMON looks (see watch()). */
bool process_reports_hot(const ktap::writer &t, const report_inject::module &m,
			 const damon_sysfs::kdamond &kd)
{
	hot_judge judge(t, proc_sub, proc_sub + sub_sz);
	int err;

	/* the irq sub-range must have cooled down: it is outside now */
	if (!wait_all_cold(t, kd))
		return false;
	{
		process_pump pump(m);

		watch(kd, judge, pump_time, [] { return true; });
		err = pump.err;
	}
	return !failed(t, "inject from process context", err) && judge.verdict();
}

/* The counter invariants over the paddr cases, or skip them for @why. */
void accounting(ktap::writer &t, const stats &before, const stats &after, const char *why)
{
	const stats d = delta(before, after);
	const auto v = [&d](const char *key) { return value_of(d, key); };
	const unsigned long dropped = v("dropped_full") + v("dropped_nested") +
				      v("dropped_no_owner");
	const std::pair<bool, const char *> cases[] = {
		{ v("injected") == v("pushed"), "accounting_injected_is_pushed" },
		{ v("pushed") == v("drained") + dropped,
		  "accounting_pushed_is_drained_plus_dropped" },
		{ v("drained") == v("attributed") + v("unmatched") + v("stale"),
		  "accounting_drained_is_attributed_unmatched_stale" },
		{ v("attributed") > 0, "accounting_attributed" },
	};

	if (!why)
		t.diagf("deltas: %s", format(d).c_str());
	for (const auto &[pass, name] : cases) {
		if (why)
			t.skip(name, why);
		else
			t.result(pass, name);
	}
}

void paddr_cases(ktap::writer &t, const damon_sysfs::session &s, const report_inject::module &m)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const reset_around reset(s);
	int err = damon_sysfs::setup_paddr_monitor(s, paddr_mon(true));
	stats before, after;
	const bool configured = !failed(t, "paddr setup", err) && !m.read_stats(before);

	if (!t.result(configured, "paddr_configure"))
		t.skip("paddr_start", "configuration failed");
	if (!configured || !t.result(start_kdamond(t, kd), "paddr_start")) {
		skip_cases(t, { "paddr_irq_reports_hot", "paddr_process_reports_hot",
				"paddr_stop" }, "paddr context did not start");
		accounting(t, before, after, "paddr context did not start");
		return;
	}
	if (!wait_regions(t, kd)) {
		t.result(false, "paddr_irq_reports_hot");
		t.skip("paddr_process_reports_hot", "no regions");
	} else {
		t.result(irq_reports_hot(t, m, kd), "paddr_irq_reports_hot");
		t.result(process_reports_hot(t, m, kd), "paddr_process_reports_hot");
	}
	t.result(!failed(t, "off", kd.stop()) && !kd.running(), "paddr_stop");
	/* stopped: whatever was left on the rings is counted as stale */
	m.wait_idle(idle_timeout);
	err = m.read_stats(after);
	accounting(t, before, after, err ? "cannot read the stats" : nullptr);
}

void second_owner_cases(ktap::writer &t, const damon_sysfs::session &s,
			const report_inject::module &m)
{
	const damon_sysfs::kdamond kd0 = s.get_kdamond(0), kd1 = s.get_kdamond(1);
	const damon_sysfs::context ctx1 = kd1.get_context(0);
	const reset_around reset(s);
	int err = s.set_nr_kdamonds(2);
	stats d;

	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd0, paddr_mon(true));
	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd1, paddr_mon(true));
	if (err || !start_kdamond(t, kd0)) {
		t.diagf("setting up two kdamonds: %s", err_name(err).c_str());
		skip_cases(t, { "second_owner_start_ebusy", "first_owner_survives_start",
				"second_owner_commit_ebusy", "first_owner_survives_commit",
				"commit_takes_over_after_owner_stops" },
			   "first kdamond did not start");
		return;
	}
	t.result(is_error(t, "second owner 'on'", kd1.start(), -EBUSY), "second_owner_start_ebusy");
	t.result(kd0.running() && !kd1.running(), "first_owner_survives_start");

	err = ctx1.set_report_sink(false);
	if (!err)
		err = kd1.start();
	if (!err)
		err = ctx1.set_report_sink(true);
	if (failed(t, "starting the second kdamond without reports", err)) {
		skip_cases(t, { "second_owner_commit_ebusy", "first_owner_survives_commit",
				"commit_takes_over_after_owner_stops" },
			   "second kdamond did not start");
		return;
	}
	t.result(is_error(t, "second owner 'commit'", kd1.state("commit"), -EBUSY),
		 "second_owner_commit_ebusy");
	t.result(kd0.running(), "first_owner_survives_commit");

	/* once the owner stopped, the second context takes the rings over */
	err = kd0.stop();
	if (!err)
		err = kd1.state("commit");
	if (!err)
		err = inject_drained(m, "kind=paddr addr=" + num(irq_sub) + " count=100", false, d);
	if (!failed(t, "take over", err) && value_of(d, "drained") != 100)
		t.diagf("after take-over: %s", format(d).c_str());
	t.result(!err && kd1.running() && value_of(d, "drained") == 100,
		 "commit_takes_over_after_owner_stops");
}

void vaddr_cases(ktap::writer &t, const damon_sysfs::session &s, const report_inject::module &m)
{
	workload::hot_cold_child child(8 * mib, 32 * mib);
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const reset_around reset(s);
	damon_sysfs::vaddr_monitor vm;
	int err = -ESRCH;

	vm.pid = child.pid();
	if (child.ok())
		err = damon_sysfs::setup_vaddr_monitor(s, vm);
	if (!err)
		err = kd.get_context(0).set_report_sink(true);
	failed(t, "vaddr setup", err);
	if (!t.result(!err, "vaddr_configure"))
		t.skip("vaddr_start", "configuration failed");
	if (err || !t.result(start_kdamond(t, kd), "vaddr_start")) {
		skip_cases(t, { "vaddr_own_mm_attributed", "vaddr_other_mm_unmatched",
				"vaddr_stop" }, "vaddr context did not start");
		return;
	}
	wait_regions(t, kd);

	const std::string where = " addr=" + num(child.hot_start()) + " span=" +
		num(child.hot_size()) + " stride=" + num(scatter_stride(child.hot_size())) +
		" size=8 count=2000 ctx=irq rate=2000 burst=2";
	/* reports naming the target's address space are attributed, others unmatched */
	const struct {
		pid_t pid;
		const char *what, *name, *hit, *miss;
	} rounds[] = {
		{ child.pid(), "own mm", "vaddr_own_mm_attributed", "attributed", "unmatched" },
		{ getpid(), "other mm", "vaddr_other_mm_unmatched", "unmatched", "attributed" },
	};

	for (const auto &r : rounds) {
		stats d;

		err = inject_drained(m, "kind=vaddr pid=" + std::to_string(r.pid) + where, true, d);
		if (!failed(t, "injecting for pid " + std::to_string(r.pid), err))
			t.diagf("%s: %s", r.what, format(d).c_str());
		t.result(!err && value_of(d, r.hit) > 0 && value_of(d, r.miss) == 0, r.name);
	}
	t.result(!kd.stop() && !kd.running(), "vaddr_stop");
}

int run()
{
	require_damon_sysfs_or_skip(true);

	ktap::writer t(24);
	damon_sysfs::session s;
	report_inject::module m;

	if (!t.result(m.ok(), "module_loaded")) {
		t.diag(m.error());
		t.skip_rest("no test module");
		return t.exit_code();
	}
	t.result(bad_input_rejected(t, m), "bad_input_rejected");
	t.result(busy_rejected(t, m), "busy_rejected");
	t.result(no_owner_dropped(t, m), "no_owner_dropped");
	t.result(consumes_reports_iff_perf_event(t, s, m), "consumes_reports_iff_perf_event");
	paddr_cases(t, s, m);
	second_owner_cases(t, s, m);
	vaddr_cases(t, s, m);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
