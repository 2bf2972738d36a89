// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON access reports end to end: the test module test_damon_report
 * (selftests/test_damon_report/) calls damon_report_access() with
 * addresses this test chooses, from hard-IRQ and process context, and
 * DAMON's sysfs interface shows where the reports landed.
 *
 * - The module's input checks, and -EBUSY while an injection runs.
 * - Without a consuming context every report is dropped_no_owner.
 * - A context consumes reports if and only if it has a perf event: there
 *   is no monitoring_attrs/sample/access_reports; a running paddr context
 *   without perf events leaves reports dropped_no_owner, drains them once
 *   a commit gave it the report sink (the software dummy event, which
 *   never samples), and no longer once a commit took the sink away.
 * - A paddr context with the report sink rates the 4 MiB sub-range that
 *   gets reports hot and everything else cold, for reports from a pinned
 *   hrtimer and from process context (the writer and a kworker).
 * - The counters of damon_report_read_stats() add up: injected = pushed,
 *   pushed = drained + dropped_*, drained = attributed + unmatched + stale.
 * - Only one context consumes reports: a second one gets -EBUSY on "on"
 *   and on "commit" while the first keeps running, and takes over by
 *   "commit" once the first stopped.
 * - A vaddr context attributes reports that name its target's address
 *   space and counts those naming another one as unmatched.
 *
 * SKIPs when not root, without DAMON sysfs, or when the kernel has no
 * monitoring_attrs/sample/perf_events.
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
#include <cstring>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using namespace monitor;
using damon_sysfs::region;
using kmod::value_of;
using report_inject::stats;
using steady = std::chrono::steady_clock;

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
 * A stride of an odd number of pages, about 0.618 of @span: report i goes
 * to page (i * stride) % span, which visits every page of a power-of-two
 * span in a well scattered order, so that a few hundred reports cover the
 * whole span evenly.
 */
unsigned long scatter_stride(unsigned long span)
{
	return ((span / page_sz * 618 / 1000) | 1) * page_sz;
}

void skip_cases(ktap::writer &t, std::initializer_list<const char *> names,
		const std::string &why)
{
	for (const char *n : names)
		t.skip(n, why);
}

/*
 * Reports from process context: a thread that writes batches of 64 to
 * "inject" until it is destroyed, alternating between the writer itself
 * (cpu=-1) and kworkers on the CPUs, each batch continuing the scattered
 * sequence where the previous one ended.
 */
class process_pump {
public:
	process_pump(const report_inject::module &m, unsigned long lo,
		     unsigned long span)
		: thread([this, &m, lo, span] { run(m, lo, span); })
	{
	}
	process_pump(const process_pump &) = delete;
	process_pump &operator=(const process_pump &) = delete;
	~process_pump()
	{
		stop = true;
		thread.join();
	}
	int error() const { return err; }

private:
	static const unsigned long batch = 64;
	std::atomic<bool> stop{ false };
	std::atomic<int> err{ 0 };
	std::thread thread;

	void run(const report_inject::module &m, unsigned long lo,
		 unsigned long span)
	{
		const unsigned long stride = scatter_stride(span);
		const unsigned int cpus = nr_cpus();

		for (unsigned long k = 0; !stop; k++) {
			const int cpu = k % 2 ? static_cast<int>(k / 2 % cpus) : -1;
			const int ret = m.inject(
				"kind=paddr addr=" + num(lo) + " span=" + num(span) +
				" stride=" + num(stride) +
				" offset=" + num(k * batch * stride % span) +
				" count=" + num(batch) + " size=8" +
				" ctx=process cpu=" + std::to_string(cpu));

			if (ret && !err)
				err = ret;
			std::this_thread::sleep_for(4ms);
		}
	}
};

bool bad_input_rejected(const ktap::writer &t, const report_inject::module &m)
{
	static const char *const lines[] = {
		"kind=paddr addr",
		"kind=foo",
		"addr=4096",
		"kind=paddr count=0",
		"kind=paddr bogus=1",
		"kind=paddr pid=1",
		"kind=vaddr addr=4096",
		"kind=paddr cpu=100000",
		"kind=paddr cpu=-2",
		"kind=paddr ctx=softirq",
		"kind=paddr ctx=irq rate=0",
		"kind=paddr ctx=irq burst=0",
		"kind=paddr ctx=irq rate=1000000",
		"kind=paddr addr=0xffffffffffffffff span=2",
	};
	bool ok = true;

	for (const char *l : lines) {
		int err = m.inject(l);

		if (err != -EINVAL) {
			t.diagf("'%s': %s, not EINVAL", l, err_name(err).c_str());
			ok = false;
		}
	}
	return ok;
}

bool busy_rejected(const ktap::writer &t, const report_inject::module &m)
{
	const std::string slow = "kind=paddr addr=" + num(mon_start) +
				 " count=100000 ctx=irq rate=100";
	stats s;
	int err, busy_err, stop_err;
	bool idle;

	err = m.inject(slow);
	if (err) {
		t.diagf("starting a slow irq injection: %s", err_name(err).c_str());
		return false;
	}
	busy_err = m.inject("kind=paddr addr=" + num(mon_start));
	stop_err = m.stop();
	idle = m.wait_idle(5s);
	if (busy_err != -EBUSY)
		t.diagf("inject while busy: %s, not EBUSY", err_name(busy_err).c_str());
	if (stop_err || !idle)
		t.diagf("stop: %s, idle afterwards: %d", err_name(stop_err).c_str(),
			idle);
	if (m.read_stats(s) || value_of(s, "irq_pending")) {
		t.diagf("after stop: %s", report_inject::format(s).c_str());
		return false;
	}
	return busy_err == -EBUSY && !stop_err && idle;
}

/* Run with no kdamond: every report must be dropped for lack of an owner. */
bool no_owner_dropped(const ktap::writer &t, const report_inject::module &m)
{
	const std::string where = "kind=paddr addr=" + num(irq_sub) +
				  " span=" + num(sub_sz) + " size=8";
	const unsigned int last_cpu = nr_cpus() - 1;
	stats before, after, d;
	int err;

	if (m.read_stats(before))
		return false;
	err = m.inject(where + " count=1000 ctx=process");
	if (!err)
		err = m.inject(where + " count=100 ctx=process cpu=" + num(last_cpu));
	if (!err)
		err = m.inject(where + " count=200 ctx=irq rate=2000 burst=2 cpu=" +
			       num(last_cpu));
	if (err) {
		t.diagf("inject: %s", err_name(err).c_str());
		return false;
	}
	if (!m.wait_idle(idle_timeout) || m.read_stats(after)) {
		t.diag("the irq injection did not end");
		return false;
	}
	d = report_inject::delta(before, after);
	if (value_of(d, "injected") == 1300 && value_of(d, "pushed") == 1300 &&
	    value_of(d, "dropped_no_owner") == 1300 && value_of(d, "drained") == 0 &&
	    value_of(d, "dropped_full") == 0 && value_of(d, "dropped_nested") == 0)
		return true;
	t.diagf("deltas: %s", report_inject::format(d).c_str());
	return false;
}

/*
 * 100 reports into irq_sub from process context; @d gets the deltas of
 * the stats once the rings are drained.  0 or -errno.
 */
int inject_100(const report_inject::module &m, stats &d)
{
	stats before, after;
	int err = m.read_stats(before);

	if (!err)
		err = m.inject("kind=paddr addr=" + num(irq_sub) + " span=" +
			       num(sub_sz) + " size=8 count=100 ctx=process");
	if (!err)
		err = report_inject::wait_balanced(m, after, balance_timeout);
	if (!err)
		d = report_inject::delta(before, after);
	return err;
}

/*
 * A context consumes access reports if and only if it has a perf event:
 * there is no access_reports file, and the same running paddr context
 * leaves reports to dropped_no_owner without perf events, drains them
 * with the report sink (added by commit), and leaves them again once a
 * commit removed the sink.
 */
bool consumes_reports_iff_perf_event(const ktap::writer &t,
				     const damon_sysfs::session &s,
				     const report_inject::module &m)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	const std::string knob = ctx.sample().path("access_reports");
	damon_sysfs::paddr_monitor pm;
	bool ok = true;
	int err;

	pm.start = mon_start;
	pm.end = mon_end;
	s.reset();
	err = damon_sysfs::setup_paddr_monitor(s, pm);
	if (!err && damon_sysfs::exists(knob)) {
		t.diagf("%s exists", knob.c_str());
		ok = false;
	}
	if (err || !start_kdamond(t, kd)) {
		t.diagf("paddr setup without perf events: %s",
			err_name(err).c_str());
		s.reset();
		return false;
	}
	for (const bool sink : { false, true, false }) {
		stats d;

		if (sink != ctx.has_report_sink()) {
			err = ctx.set_report_sink(sink);
			if (!err)
				err = kd.state("commit");
		}
		if (!err)
			err = inject_100(m, d);
		if (err) {
			t.diagf("%s the report sink: %s", sink ? "with" : "without",
				err_name(err).c_str());
			ok = false;
			break;
		}
		if (value_of(d, "pushed") != 100 ||
		    value_of(d, sink ? "drained" : "dropped_no_owner") != 100 ||
		    value_of(d, sink ? "dropped_no_owner" : "drained") != 0) {
			t.diagf("%s the report sink: %s", sink ? "with" : "without",
				report_inject::format(d).c_str());
			ok = false;
		}
	}
	if (!kd.running()) {
		t.diag("the kdamond stopped");
		ok = false;
	}
	s.reset();
	return ok;
}

/*
 * Reports from a pinned hrtimer into irq_sub, 4000 a second, while DAMON
 * looks: for at least 2.5 s and until DAMON rated the sub-range hot in
 * watch_hot_wanted snapshots (at most 25 s of reports), then the
 * injection is stopped, and must stop.
 */
bool irq_reports_hot(const ktap::writer &t, const report_inject::module &m,
		     const damon_sysfs::kdamond &kd)
{
	const unsigned int cpu = nr_cpus() - 1;
	hot_judge judge(t, irq_sub, irq_sub + sub_sz);
	bool read_failed = false;
	stats s;
	int err;

	err = m.inject("kind=paddr addr=" + num(irq_sub) + " span=" + num(sub_sz) +
		       " stride=" + num(scatter_stride(sub_sz)) +
		       " size=8 count=100000 ctx=irq rate=4000 burst=4 cpu=" +
		       num(cpu));
	if (err) {
		t.diagf("inject: %s", err_name(err).c_str());
		return false;
	}
	watch(kd, judge, 2500ms, [&] {
		read_failed = m.read_stats(s) != 0;
		return !read_failed && value_of(s, "busy");
	});
	err = m.stop();
	if (err || !m.wait_idle(idle_timeout) || read_failed) {
		t.diagf("stopping the injection: %s, stats %s",
			err_name(err).c_str(), report_inject::format(s).c_str());
		return false;
	}
	return judge.verdict();
}

/*
 * Reports from process context into proc_sub while DAMON looks, for at
 * least pump_time and until DAMON rated the sub-range hot in
 * watch_hot_wanted snapshots.
 */
bool process_reports_hot(const ktap::writer &t, const report_inject::module &m,
			 const damon_sysfs::kdamond &kd)
{
	hot_judge judge(t, proc_sub, proc_sub + sub_sz);
	int err;

	/* the irq sub-range must have cooled down: it is outside now */
	if (!wait_all_cold(t, kd))
		return false;
	{
		process_pump pump(m, proc_sub, sub_sz);

		watch(kd, judge, pump_time, [] { return true; });
		err = pump.error();
	}
	if (err) {
		t.diagf("inject from process context: %s", err_name(err).c_str());
		return false;
	}
	return judge.verdict();
}

void accounting(ktap::writer &t, const stats &before, const stats &after)
{
	const stats d = report_inject::delta(before, after);
	const unsigned long dropped = value_of(d, "dropped_full") +
				      value_of(d, "dropped_nested") +
				      value_of(d, "dropped_no_owner");

	t.diagf("deltas: %s", report_inject::format(d).c_str());
	t.result(value_of(d, "injected") == value_of(d, "pushed"),
		 "accounting_injected_is_pushed");
	t.result(value_of(d, "pushed") == value_of(d, "drained") + dropped,
		 "accounting_pushed_is_drained_plus_dropped");
	t.result(value_of(d, "drained") == value_of(d, "attributed") +
				      value_of(d, "unmatched") + value_of(d, "stale"),
		 "accounting_drained_is_attributed_unmatched_stale");
	t.result(value_of(d, "attributed") > 0, "accounting_attributed");
}

void paddr_cases(ktap::writer &t, const damon_sysfs::session &s,
		 const report_inject::module &m)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	damon_sysfs::paddr_monitor pm;
	stats before, after;
	int err;

	pm.start = mon_start;
	pm.end = mon_end;
	pm.report_sink = true;
	err = damon_sysfs::setup_paddr_monitor(s, pm);
	if (err)
		t.diagf("paddr setup: %s", err_name(err).c_str());
	if (!t.result(!err && !m.read_stats(before), "paddr_configure")) {
		t.skip("paddr_start", "configuration failed");
		err = -EINVAL;
	} else if (!t.result(start_kdamond(t, kd), "paddr_start")) {
		err = -EINVAL;
	}
	if (err) {
		skip_cases(t, { "paddr_irq_reports_hot", "paddr_process_reports_hot",
				"paddr_stop", "accounting_injected_is_pushed",
				"accounting_pushed_is_drained_plus_dropped",
				"accounting_drained_is_attributed_unmatched_stale",
				"accounting_attributed" },
			   "paddr context did not start");
		s.reset();
		return;
	}
	if (!wait_regions(t, kd)) {
		t.result(false, "paddr_irq_reports_hot");
		t.skip("paddr_process_reports_hot", "no regions");
	} else {
		t.result(irq_reports_hot(t, m, kd), "paddr_irq_reports_hot");
		t.result(process_reports_hot(t, m, kd),
			 "paddr_process_reports_hot");
	}
	err = kd.stop();
	if (err)
		t.diagf("off: %s", err_name(err).c_str());
	t.result(!err && !kd.running(), "paddr_stop");
	/* stopped: whatever was left on the rings is counted as stale */
	m.wait_idle(idle_timeout);
	if (m.read_stats(after)) {
		skip_cases(t, { "accounting_injected_is_pushed",
				"accounting_pushed_is_drained_plus_dropped",
				"accounting_drained_is_attributed_unmatched_stale",
				"accounting_attributed" },
			   "cannot read the stats");
		return;
	}
	accounting(t, before, after);
	s.reset();
}

void second_owner_cases(ktap::writer &t, const damon_sysfs::session &s,
			const report_inject::module &m)
{
	const damon_sysfs::kdamond kd0 = s.get_kdamond(0);
	const damon_sysfs::kdamond kd1 = s.get_kdamond(1);
	const damon_sysfs::context ctx1 = kd1.get_context(0);
	damon_sysfs::paddr_monitor pm;
	stats before, after, d;
	int err;

	pm.start = mon_start;
	pm.end = mon_end;
	pm.report_sink = true;
	s.reset();
	err = s.set_nr_kdamonds(2);
	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd0, pm);
	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd1, pm);
	if (err || !start_kdamond(t, kd0)) {
		t.diagf("setting up two kdamonds: %s", err_name(err).c_str());
		skip_cases(t, { "second_owner_start_ebusy",
				"first_owner_survives_start",
				"second_owner_commit_ebusy",
				"first_owner_survives_commit",
				"commit_takes_over_after_owner_stops" },
			   "first kdamond did not start");
		s.reset();
		return;
	}

	err = kd1.start();
	if (err != -EBUSY)
		t.diagf("second owner 'on': %s, not EBUSY", err_name(err).c_str());
	t.result(err == -EBUSY, "second_owner_start_ebusy");
	t.result(kd0.running() && !kd1.running(), "first_owner_survives_start");

	err = ctx1.set_report_sink(false);
	if (!err)
		err = kd1.start();
	if (!err)
		err = ctx1.set_report_sink(true);
	if (err) {
		t.diagf("starting the second kdamond without reports: %s",
			err_name(err).c_str());
		skip_cases(t, { "second_owner_commit_ebusy",
				"first_owner_survives_commit",
				"commit_takes_over_after_owner_stops" },
			   "second kdamond did not start");
		s.reset();
		return;
	}
	err = kd1.state("commit");
	if (err != -EBUSY)
		t.diagf("second owner 'commit': %s, not EBUSY", err_name(err).c_str());
	t.result(err == -EBUSY, "second_owner_commit_ebusy");
	t.result(kd0.running(), "first_owner_survives_commit");

	/* once the owner stopped, the second context takes the rings over */
	err = kd0.stop();
	if (!err)
		err = kd1.state("commit");
	if (!err)
		err = m.read_stats(before);
	if (!err)
		err = m.inject("kind=paddr addr=" + num(irq_sub) + " count=100");
	if (!err)
		err = report_inject::wait_balanced(m, after, balance_timeout);
	d = report_inject::delta(before, after);
	if (err)
		t.diagf("take over: %s", err_name(err).c_str());
	else if (value_of(d, "drained") != 100)
		t.diagf("after take-over: %s", report_inject::format(d).c_str());
	t.result(!err && kd1.running() && value_of(d, "drained") == 100,
		 "commit_takes_over_after_owner_stops");
	s.reset();
}

void vaddr_cases(ktap::writer &t, const damon_sysfs::session &s,
		 const report_inject::module &m)
{
	workload::hot_cold_child child(8 * mib, 32 * mib);
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	damon_sysfs::vaddr_monitor vm;
	stats s0, s1, s2;
	int err = -ESRCH;

	s.reset();
	vm.pid = child.pid();
	if (child.ok())
		err = damon_sysfs::setup_vaddr_monitor(s, vm);
	if (!err)
		err = kd.get_context(0).set_report_sink(true);
	if (err)
		t.diagf("vaddr setup: %s", err_name(err).c_str());
	if (!t.result(!err, "vaddr_configure")) {
		t.skip("vaddr_start", "configuration failed");
		err = -EINVAL;
	} else if (!t.result(start_kdamond(t, kd), "vaddr_start")) {
		err = -EINVAL;
	}
	if (err) {
		skip_cases(t, { "vaddr_own_mm_attributed",
				"vaddr_other_mm_unmatched", "vaddr_stop" },
			   "vaddr context did not start");
		s.reset();
		return;
	}
	wait_regions(t, kd);

	const std::string where = " addr=" + num(child.hot_start()) +
		" span=" + num(child.hot_size()) +
		" stride=" + num(scatter_stride(child.hot_size())) +
		" size=8 count=2000 ctx=irq rate=2000 burst=2";
	const auto round = [&](pid_t pid, stats &before, stats &after) {
		int e = m.read_stats(before);

		if (!e)
			e = m.inject("kind=vaddr pid=" + std::to_string(pid) + where);
		if (!e && !m.wait_idle(idle_timeout))
			e = -ETIMEDOUT;
		if (!e)
			e = report_inject::wait_balanced(m, after, balance_timeout);
		if (e)
			t.diagf("injecting for pid %d: %s", pid, err_name(e).c_str());
		return !e;
	};

	if (round(child.pid(), s0, s1)) {
		const stats d = report_inject::delta(s0, s1);

		t.diagf("own mm: %s", report_inject::format(d).c_str());
		t.result(value_of(d, "attributed") > 0 && value_of(d, "unmatched") == 0,
			 "vaddr_own_mm_attributed");
	} else {
		t.result(false, "vaddr_own_mm_attributed");
	}
	if (round(getpid(), s1, s2)) {
		const stats d = report_inject::delta(s1, s2);

		t.diagf("other mm: %s", report_inject::format(d).c_str());
		t.result(value_of(d, "unmatched") > 0 && value_of(d, "attributed") == 0,
			 "vaddr_other_mm_unmatched");
	} else {
		t.result(false, "vaddr_other_mm_unmatched");
	}
	err = kd.stop();
	t.result(!err && !kd.running(), "vaddr_stop");
	s.reset();
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
	t.result(consumes_reports_iff_perf_event(t, s, m),
		 "consumes_reports_iff_perf_event");
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
