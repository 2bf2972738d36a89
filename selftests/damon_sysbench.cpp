// SPDX-License-Identifier: GPL-2.0
/*
 * System-level benchmarks of DAMON's access reports, in one boot.
 *
 * Timers.  The test kernel has HZ=250 and no high resolution timers:
 * hrtimers expire on ticks, and hrtimer_forward() rounds every interval up
 * to the tick (hrtimer_resolution), so a timer that asks for a period below
 * a tick fires once a tick and sees one period passed.  The producers below
 * therefore make their reports in one burst a tick and a CPU.
 *
 * 1. Throughput and loss of the per-CPU report rings.  A paddr context
 *    with the report sink (a perf event that never samples) owns the
 *    rings (sampling 5 ms, aggregation 100 ms, 10..1000 regions over
 *    [256 MiB, 320 MiB)).  For 10k, 50k,
 *    100k, 200k and 400k reports per second per CPU, test_damon_report
 *    makes reports from its pinned hard-IRQ hrtimer (ctx=irq, rate=R,
 *    burst=R/HZ: one burst a tick, at most 1024, so 400k gets 256k) on
 *    each CPU in turn: the module runs one injection at a time, so the
 *    CPUs cannot inject at once, and the other CPUs are idle meanwhile.
 *    The reports cycle over the pages of the monitored range.  Then the
 *    kdamond drains the rings, and the module's "stats"
 *    (damon_report_read_stats()) tell the loss: pushed, drained,
 *    dropped_full, dropped_nested, dropped_no_owner, and whether pushed ==
 *    drained + dropped (exact accounting).  The achieved rate is the
 *    injected reports over the time the CPUs injected; the kdamond's CPU
 *    time is taken over the same time.
 *
 * 2. The kdamond's CPU time for one workload, a child with 384 MiB in
 *    stripes of 4 MiB whose first 1 MiB it keeps writing (a byte a page)
 *    and whose rest it wrote once, monitored with the same intervals (5 ms,
 *    100 ms) and regions (10..1000) three ways, one after the other:
 *    vaddr   page table Accessed bits of the child's address space;
 *    paddr   Accessed bits (through rmap) over the physical span of the
 *            child's pages, from the lowest to the highest page frame that
 *            /proc/<child>/pagemap shows: the smallest range that holds
 *            the whole workload.  DAMON's cost follows the number of
 *            regions, not the size of the range, so the span (most of RAM
 *            anyway: the pages are scattered) costs what System RAM would;
 *    perf    vaddr with perf events of the test PMU damon_test_pmu that
 *            sample the hot stripes at perf's default 4000 samples a
 *            second a CPU: a test PMU event samples once a tick at most
 *            (see above), so 4000/HZ events (16, DAMON's maximum) of HZ
 *            samples a second each.  Samples that interrupt another task
 *            than the child carry no address and are not reported, as with
 *            a real PMU.
 *    After a warm-up, the kdamond's CPU time over a steady window comes
 *    from /proc/<kdamond>/stat (utime + stime, clock ticks) and from
 *    se.sum_exec_runtime of /proc/<kdamond>/sched (the same time in
 *    nanoseconds, used for the ratios when it is there).  The number of
 *    regions is the nr_regions of the damon:damon_aggregated tracepoint,
 *    enabled for short bursts right before and after the window only
 *    (tracing up to a thousand regions ten times a second would cost the
 *    kdamond itself), median of the aggregations seen.  The results are
 *    the ratios perf/vaddr and perf/paddr.  The samples' own cost is paid
 *    in the interrupted tasks, not by the kdamond, and is not counted.
 *
 * Cases
 *   throughput_<R>_accounting  (every rate, both modes)
 *	pushed == drained + dropped_full + dropped_nested + dropped_no_owner
 *	(and drained == attributed + unmatched + stale) over the run, once
 *	the kdamond drained the rings; must always hold.
 *   throughput_<R>_no_drops  (--smoke: R <= 10k; --full: R <= 100k;
 *	on a KASAN or KCSAN kernel R <= 10k)
 *	nothing dropped, and the injection reached at least 90% of R (a rate
 *	that was not reached proves nothing).  In --full these are the goal
 *	and fail when the guest cannot meet it.
 *   throughput_<R>_few_drops  (--smoke: 10k < R <= 50k; not on a KASAN
 *	or KCSAN kernel)
 *	at most 1% dropped, and R reached as above.  The sink samples per
 *	period, so its rings are sized for perf's ceiling, which the runs
 *	set to its default, 100k a second, before the kdamond starts (perf
 *	lowers it in a TCG guest): 4096 reports, two sampling intervals and
 *	20 ms at 100k/s, 80 ms at 50k/s.  A drain later than that drops
 *	some: in a TCG guest whose 4 vCPUs share 2 host cores the kdamond
 *	can be that late now and then; a drain that got slower drops far
 *	more.
 *   cputime_<method>_measured
 *	the kdamond ran through the window and DAMON had regions (perf: and
 *	accepted samples).
 *   --smoke: cputime_perf_below_vaddr, cputime_perf_below_paddr
 *	perf's kdamond CPU time is below the Accessed bit methods'.
 *   --full: cputime_perf_tenth_of_vaddr, cputime_perf_tenth_of_paddr
 *	the goal: perf / vaddr <= 1/10 and perf / paddr <= 1/10.
 *
 * Usage: damon_sysbench [--smoke | --full]
 *   --smoke (the default): 1.5 s a rate a CPU, and a 5 s window after a
 *     3 s warm-up for each method; about a minute in a TCG guest.
 *   --full: 10 s a rate a CPU, and a 30 s window after a 10 s warm-up.
 *
 * Results go to $DAMON_SYSBENCH_RESULTS (default
 * /tmp/damon_sysbench-<mode>.json) as JSON.  The modules are looked for in
 * $DAMON_HWS_INJECT_KO and $DAMON_HWS_TEST_PMU_KO, else next to this
 * program.  SKIPs when not root, without DAMON sysfs, access reports or
 * perf events, or without the modules.
 */
#include "lib/damon_sysfs.h"
#include "lib/kmod.h"
#include "lib/machine.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/report_inject.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <string>
#include <csignal>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using json = nlohmann::json;
using monitor::err_name;
using kmod::value_of;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

const unsigned long page_sz = 4096;
const unsigned long mib = 1ul << 20;

/* The physical range the throughput context monitors (the VM has 2 GiB). */
const unsigned long tp_start = 256 * mib;
const unsigned long tp_end = 320 * mib;

/* The workload of the CPU time runs. */
const size_t workload_bytes = 384 * mib;

/* DAMON's settings for everything here. */
const unsigned long sample_us = 5000;
const unsigned long aggr_us = 100000;
const unsigned long update_us = 1000000;
const unsigned long min_nr_regions = 10;
const unsigned long max_nr_regions = 1000;

/* test_damon_report's most reports a timer expiry (DRI_MAX_BURST) */
const unsigned long max_burst = 1024;
/* DAMON_MAX_PERF_EVENTS */
const unsigned long max_events = 16;
/* The perf method's sampling rate per CPU: perf's default frequency. */
const unsigned long perf_rate = 4000;

const char *const stat_keys[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
	"drained", "attributed", "unmatched", "stale",
};

bool full_mode;

struct plan {
	std::vector<unsigned long> rates;
	/* seconds of injection on each CPU */
	double tp_seconds;
	/* no_drops cases up to this rate, few_drops cases up to this one */
	unsigned long no_drop_max;
	unsigned long few_drops_max;
	double warmup_seconds;
	double window_seconds;
};

plan make_plan()
{
	const std::vector<unsigned long> rates = { 10000, 50000, 100000,
						   200000, 400000 };

	if (full_mode)
		return { rates, 10, 100000, 100000, 10, 30 };
	return { rates, 1.5, 10000, 50000, 3, 5 };
}

double seconds_since(steady::time_point t0)
{
	return std::chrono::duration<double>(steady::now() - t0).count();
}

void sleep_s(double s)
{
	std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

struct pipe_closer {
	void operator()(FILE *f) const
	{
		pclose(f);
	}
};

/* CONFIG_HZ from /proc/config.gz, 0 when it cannot be read. */
unsigned long kernel_hz()
{
	std::unique_ptr<FILE, pipe_closer> p(
		popen("gzip -dc /proc/config.gz 2>/dev/null", "r"));
	char line[256];
	unsigned long hz = 0;

	if (!p)
		return 0;
	while (std::fgets(line, sizeof(line), p.get()))
		if (std::sscanf(line, "CONFIG_HZ=%lu", &hz) == 1)
			break;
	return hz;
}

/* ---- the kdamond's CPU time ---- */

struct cpu_time {
	bool ok = false;
	/* utime + stime of /proc/<pid>/stat, in ms */
	double stat_ms = 0;
	/* se.sum_exec_runtime of /proc/<pid>/sched, in ms; < 0: none */
	double sched_ms = -1;
};

cpu_time read_cpu_time(pid_t pid)
{
	const std::string dir = "/proc/" + std::to_string(pid);
	cpu_time c;

	c.stat_ms = monitor::task_cpu_ms(pid);
	c.ok = c.stat_ms >= 0;
	if (!c.ok)
		return c;

	std::ifstream sched(dir + "/sched");
	std::string line;
	while (std::getline(sched, line)) {
		double ms;

		if (line.rfind("se.sum_exec_runtime", 0))
			continue;
		auto colon = line.find(':');
		if (colon != std::string::npos &&
		    std::sscanf(line.c_str() + colon + 1, "%lf", &ms) == 1)
			c.sched_ms = ms;
		break;
	}
	return c;
}

/* What the kdamond used between @a and @b, in ms. */
struct cpu_used {
	double stat_ms = 0;
	double sched_ms = -1;

	/* the finer one when there is one */
	double best() const { return sched_ms >= 0 ? sched_ms : stat_ms; }
};

cpu_used cpu_between(const cpu_time &a, const cpu_time &b)
{
	cpu_used u;

	u.stat_ms = b.stat_ms - a.stat_ms;
	if (a.sched_ms >= 0 && b.sched_ms >= 0)
		u.sched_ms = b.sched_ms - a.sched_ms;
	return u;
}

/* ---- report counters ---- */

unsigned long dropped(const kmod::values &v)
{
	return value_of(v, "dropped_full") + value_of(v, "dropped_nested") +
	       value_of(v, "dropped_no_owner");
}

/*
 * Test PMU events for perf_rate samples a second a CPU: an event samples
 * at most once a tick (see the top), so HZ each.
 */
unsigned int perf_events_for(unsigned long hz)
{
	return static_cast<unsigned int>(
		std::min(max_events, (perf_rate + hz - 1) / hz));
}

/* The nr_accepted of @nr perf events of kdamond @kd's context 0, summed. */
int accepted(const damon_sysfs::kdamond &kd, unsigned int nr,
	     unsigned long &sum)
{
	int err = kd.state("update_sample_stats");

	sum = 0;
	for (unsigned int i = 0; !err && i < nr; i++) {
		damon_sysfs::perf_event_stats st;

		err = kd.get_context(0).get_perf_event(i).get_stats(st);
		sum += st.nr_accepted;
	}
	return err;
}

/* ---- part 1: ring throughput and loss ---- */

struct tp_result {
	bool ran = false;
	unsigned long rate = 0;
	unsigned int burst = 0;
	double seconds = 0;
	double achieved_per_cpu = 0;
	kmod::values d;
	bool balanced = false;
	cpu_used cpu;
	double cpu_ms_per_s = 0;
};

/* A paddr context that owns the rings, for the throughput runs. */
int setup_throughput(const damon_sysfs::session &s)
{
	damon_sysfs::paddr_monitor pm;

	pm.start = tp_start;
	pm.end = tp_end;
	pm.min_nr_regions = min_nr_regions;
	pm.max_nr_regions = max_nr_regions;
	pm.sample_us = sample_us;
	pm.aggr_us = aggr_us;
	pm.update_us = update_us;
	pm.report_sink = true;

	s.reset();
	return damon_sysfs::setup_paddr_monitor(s, pm);
}

/*
 * Inject @count reports at r.rate a second, r.burst a tick, on each of
 * @ncpus CPUs in turn, waiting for one CPU to finish (or stopping it) before
 * the next; false when an injection could not start.
 */
bool inject_each_cpu(const ktap::writer &t, const report_inject::module &inj,
		     const plan &p, unsigned int ncpus, unsigned long count,
		     const tp_result &r)
{
	const unsigned long rate = r.rate;
	const auto limit = std::chrono::milliseconds(
		static_cast<long>(p.tp_seconds * 3000) + 10000);
	int err;

	for (unsigned int cpu = 0; cpu < ncpus; cpu++) {
		const std::string line = "kind=paddr addr=" + std::to_string(tp_start) +
			" span=" + std::to_string(tp_end - tp_start) +
			" ctx=irq cpu=" + std::to_string(cpu) +
			" rate=" + std::to_string(rate) +
			" burst=" + std::to_string(r.burst) +
			" count=" + std::to_string(count);

		err = inj.inject(line);
		if (err) {
			t.diagf("rate %lu: '%s': %s", rate, line.c_str(),
				err_name(err).c_str());
			return false;
		}
		if (!inj.wait_idle(limit)) {
			t.diagf("rate %lu: CPU %u did not finish in time", rate, cpu);
			inj.stop();
			inj.wait_idle(5s);
		}
	}
	return true;
}

/*
 * Inject @rate reports a second on every CPU in turn, @p.tp_seconds each,
 * into a paddr context that owns the rings; the counters' deltas over the
 * run, once drained, in @r.
 */
bool run_throughput(const ktap::writer &t, const damon_sysfs::session &s,
		    const report_inject::module &inj, const plan &p,
		    unsigned long hz, unsigned long rate, tp_result &r)
{
	const unsigned int ncpus = monitor::nr_cpus();
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const unsigned long count = static_cast<unsigned long>(rate * p.tp_seconds);
	report_inject::stats before, after;
	int err;

	r.rate = rate;
	/* one burst a tick: hrtimers cannot fire in between */
	r.burst = static_cast<unsigned int>(
		std::min(max_burst, (rate + hz - 1) / hz));

	err = setup_throughput(s);
	if (err) {
		t.diagf("rate %lu: setup: %s", rate, err_name(err).c_str());
		return false;
	}
	{
		/*
		 * The sink's rings are sized from perf's ceiling when the
		 * kdamond starts: its default, not what perf lowered it to
		 * in this guest.
		 */
		perf_max_rate_setting ceiling(perf_default_max_rate);

		if (!ceiling.ok()) {
			t.diagf("rate %lu: cannot set %s", rate,
				perf_max_rate_sysctl);
			return false;
		}
		if (!start_kdamond(t, kd))
			return false;
	}
	/* the rings are the kdamond's once it runs: nothing is in flight */
	err = report_inject::wait_balanced(inj, before, 10s);
	if (err) {
		t.diagf("rate %lu: counters before: %s", rate, err_name(err).c_str());
		return false;
	}

	const pid_t kpid = kd.pid();
	const cpu_time c0 = read_cpu_time(kpid);
	const auto t0 = steady::now();
	if (!inject_each_cpu(t, inj, p, ncpus, count, r))
		return false;
	r.seconds = seconds_since(t0);
	const cpu_time c1 = read_cpu_time(kpid);

	/* the kdamond drains what was pushed within two sampling intervals */
	err = report_inject::wait_balanced(inj, after, 10s);
	if (err && err != -ETIMEDOUT) {
		t.diagf("rate %lu: counters after: %s", rate, err_name(err).c_str());
		return false;
	}
	r.d = kmod::delta(before, after);
	r.balanced = !err && report_inject::balanced(r.d);
	/* one CPU at a time: the rate of the CPU that injected */
	r.achieved_per_cpu = static_cast<double>(value_of(r.d, "injected")) / r.seconds;
	if (c0.ok && c1.ok) {
		r.cpu = cpu_between(c0, c1);
		r.cpu_ms_per_s = r.cpu.best() / r.seconds;
	} else {
		r.cpu_ms_per_s = -1;
	}
	r.ran = true;
	kd.stop();
	return true;
}

json tp_json(const tp_result &r)
{
	json j;

	j["rate_per_cpu"] = r.rate;
	j["seconds"] = r.seconds;
	j["achieved_per_cpu"] = r.achieved_per_cpu;
	j["injected"] = value_of(r.d, "injected");
	for (const char *key : stat_keys)
		j[key] = value_of(r.d, key);
	j["drop_fraction"] = value_of(r.d, "pushed") ?
		static_cast<double>(dropped(r.d)) / value_of(r.d, "pushed") : 0.0;
	j["balanced"] = r.balanced;
	j["kdamond_cpu_ms_per_s"] = r.cpu_ms_per_s >= 0 ? json(r.cpu_ms_per_s) :
							  json();
	j["kdamond_cpu_ms"] = r.cpu.best();
	j["kdamond_cpu_ms_stat"] = r.cpu.stat_ms;
	j["producer"] = "test_damon_report irq, CPUs in turn";
	j["burst"] = r.burst;
	return j;
}

/* ---- part 2: the kdamond's CPU time ---- */

/*
 * The workload: a child with a buffer of @size bytes in stripes of
 * stripe_period, the first stripe_hot bytes of each hot (written over and
 * over, a byte a page) and the rest cold (written once).  The stripes give
 * DAMON a few hundred region boundaries to find.  The destructor kills
 * and reaps it.
 */
class striped_child {
public:
	static constexpr size_t stripe_period = 4 * mib;
	static constexpr size_t stripe_hot = 1 * mib;

	explicit striped_child(size_t size);
	striped_child(const striped_child &) = delete;
	striped_child &operator=(const striped_child &) = delete;
	~striped_child();

	bool ok() const { return pid_ > 0; }
	pid_t pid() const { return pid_; }
	unsigned long start() const { return base; }
	size_t size() const { return size_; }
	size_t nr_stripes() const { return size_ / stripe_period; }

private:
	pid_t pid_ = -1;
	unsigned long base = 0;
	size_t size_;
};

[[noreturn]] void striped_child_main(int wfd, size_t size)
{
	char *buf;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	buf = static_cast<char *>(mmap(nullptr, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (buf == MAP_FAILED)
		_exit(1);
	/* no huge pages: DAMON and the samples see 4 KiB pages */
	madvise(buf, size, MADV_NOHUGEPAGE);
	std::memset(buf, 1, size);
	const unsigned long addr = reinterpret_cast<unsigned long>(buf);
	if (write(wfd, &addr, sizeof(addr)) != sizeof(addr))
		_exit(1);
	close(wfd);
	for (unsigned char v = 0;; v++)
		for (size_t s = 0; s + striped_child::stripe_period <= size;
		     s += striped_child::stripe_period)
			for (size_t off = 0; off < striped_child::stripe_hot;
			     off += page_sz)
				*(volatile char *)(buf + s + off) =
					static_cast<char>(v);
}

striped_child::striped_child(size_t size) : size_(size)
{
	unsigned long addr;
	int fds[2];
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (!pid) {
		close(fds[0]);
		striped_child_main(fds[1], size);
	}
	close(fds[1]);
	n = read(fds[0], &addr, sizeof(addr));
	close(fds[0]);
	if (n != sizeof(addr)) {
		kill(pid, SIGKILL);
		waitpid(pid, nullptr, 0);
		return;
	}
	base = addr;
	pid_ = pid;
}

striped_child::~striped_child()
{
	if (pid_ <= 0)
		return;
	kill(pid_, SIGKILL);
	waitpid(pid_, nullptr, 0);
}

/*
 * Point the test PMU's vaddr samples at the hot stripes of @wl: range i
 * has the page at i * 16 KiB of every stripe (a quarter of the hot pages,
 * every stripe alike, in 64 ranges, the most the PMU takes).
 */
int set_hot_addrs(const test_pmu::pmu &pmu, const striped_child &wl)
{
	const size_t step = 16 * 1024;
	int err = pmu.set_addrs("clear");

	for (size_t off = 0; !err && off < striped_child::stripe_hot; off += step)
		err = pmu.set_addrs("vaddr=" + std::to_string(wl.start() + off) +
				    " len=" + std::to_string((wl.nr_stripes() - 1) *
							     striped_child::stripe_period + 1) +
				    " pid=" + std::to_string(wl.pid()) +
				    " stride=" + std::to_string(striped_child::stripe_period));
	return err;
}


/*
 * Widen [@lo, @hi) to the physical span of @pid's pages in
 * [start, start + len); false when none of them has a frame number.
 */
bool phys_span(pid_t pid, unsigned long start, unsigned long len,
	       unsigned long &lo, unsigned long &hi)
{
	const std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
	const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	std::vector<uint64_t> ents(len / page_sz);
	const size_t bytes = ents.size() * sizeof(uint64_t);
	bool found = false;

	if (fd < 0)
		return false;
	const ssize_t n = pread(fd, ents.data(), bytes,
				static_cast<off_t>(start / page_sz * sizeof(uint64_t)));
	close(fd);
	if (n != static_cast<ssize_t>(bytes))
		return false;
	for (uint64_t e : ents) {
		const uint64_t pfn = e & ((1ull << 55) - 1);

		/* present, and a frame number (CAP_SYS_ADMIN sees them) */
		if (!(e >> 63) || !pfn)
			continue;
		lo = std::min<unsigned long>(lo, pfn * page_sz);
		hi = std::max<unsigned long>(hi, (pfn + 1) * page_sz);
		found = true;
	}
	return found;
}

/* ---- tracefs, for the number of regions ---- */

const char *const aggregated_event = "events/damon/damon_aggregated/enable";

/*
 * Trace damon:damon_aggregated for @seconds and append the number of
 * regions of every aggregation seen to @out.  An aggregation writes one
 * event a region, all with the same nr_regions: a run of n events with
 * nr_regions n is one aggregation.  Aggregations cut by the start or end
 * of the burst are left out.
 */
int trace_regions(const std::string &tdir, double seconds,
		  std::vector<unsigned long> &out)
{
	int err;

	if (tdir.empty())
		return -ENOENT;
	err = damon_sysfs::write_file(tdir + "/" + aggregated_event, "0");
	if (!err)
		err = damon_sysfs::write_file(tdir + "/trace", "");
	if (!err)
		err = damon_sysfs::write_file(tdir + "/" + aggregated_event, "1");
	if (err)
		return err;
	sleep_s(seconds);
	err = damon_sysfs::write_file(tdir + "/" + aggregated_event, "0");
	if (err)
		return err;

	std::ifstream f(tdir + "/trace");
	std::string line;
	unsigned long group_val = 0, group_len = 0, prev_start = 0;
	auto close_group = [&]() {
		/* complete aggregations only: the burst may cut the first and last */
		if (group_val && group_len == group_val)
			out.push_back(group_val);
		group_len = 0;
	};
	while (std::getline(f, line)) {
		const size_t pos = line.find("nr_regions=");
		unsigned long v, rstart, rend;

		if (line.find("damon_aggregated:") == std::string::npos ||
		    pos == std::string::npos ||
		    std::sscanf(line.c_str() + pos + 11, "%lu %lu-%lu", &v,
				&rstart, &rend) != 3)
			continue;
		/* one aggregation lists the regions in address order */
		if (v != group_val || (group_len && rstart <= prev_start)) {
			close_group();
			group_val = v;
		}
		group_len++;
		prev_start = rstart;
	}
	close_group();
	return 0;
}

struct ct_result {
	bool ran = false;
	std::string method;
	double seconds = 0;
	cpu_used cpu;
	double cpu_ms_per_s = 0;
	std::vector<unsigned long> regions;
	double nr_regions_median = 0;
	/* perf: samples that carried an address of the child, per second */
	double valid_samples_per_s = 0;
	double samples_per_s_per_cpu = 0;
	unsigned int nr_events = 0;
	unsigned long accepted = 0;
	unsigned long start = 0, end = 0;
};

/*
 * Set up the context of r.method for the workload @wl: paddr over
 * [@pstart, @pend), else vaddr, and "perf" with its test PMU events
 * sampling the hot stripes.  0 or -errno.
 */
int setup_cputime(const damon_sysfs::session &s, const test_pmu::pmu &pmu,
		  unsigned long hz, const striped_child &wl,
		  unsigned long pstart, unsigned long pend, ct_result &r)
{
	const damon_sysfs::context ctx = s.get_kdamond(0).get_context(0);
	int err;

	s.reset();
	if (r.method == "paddr") {
		damon_sysfs::paddr_monitor pm;

		pm.start = r.start = pstart;
		pm.end = r.end = pend;
		pm.min_nr_regions = min_nr_regions;
		pm.max_nr_regions = max_nr_regions;
		pm.sample_us = sample_us;
		pm.aggr_us = aggr_us;
		pm.update_us = update_us;
		err = damon_sysfs::setup_paddr_monitor(s, pm);
	} else {
		damon_sysfs::vaddr_monitor vm;

		vm.pid = wl.pid();
		vm.min_nr_regions = min_nr_regions;
		vm.max_nr_regions = max_nr_regions;
		vm.sample_us = sample_us;
		vm.aggr_us = aggr_us;
		vm.update_us = update_us;
		err = damon_sysfs::setup_vaddr_monitor(s, vm);
	}
	if (!err && r.method == "perf") {
		r.nr_events = perf_events_for(hz);
		err = set_hot_addrs(pmu, wl);
		if (!err)
			err = ctx.set_perf_events(std::vector<damon_sysfs::perf_event_attr>(
				r.nr_events, pmu.event(hz, false)));
	}
	return err;
}

/* A burst of damon:damon_aggregated, its numbers of regions into @r. */
void trace_nr_regions(const ktap::writer &t, const std::string &tdir,
		      ct_result &r)
{
	const int err = trace_regions(tdir, 0.6, r.regions);

	if (err)
		t.diagf("%s: tracing damon_aggregated: %s", r.method.c_str(),
			err_name(err).c_str());
}

/* The perf method's counters at one end of the window. */
struct perf_counts {
	kmod::values pmu;
	unsigned long accepted = 0;
};

/* The test PMU's stats and the @nr perf events' nr_accepted, summed. */
bool read_perf_counts(const test_pmu::pmu &pmu, const damon_sysfs::kdamond &kd,
		      unsigned int nr, perf_counts &c)
{
	return !pmu.read_stats(c.pmu) && !accepted(kd, nr, c.accepted);
}

bool run_cputime(const ktap::writer &t, const damon_sysfs::session &s,
		 const test_pmu::pmu &pmu, const plan &p,
		 unsigned long hz, const striped_child &wl,
		 const std::string &tdir,
		 const std::string &method, unsigned long pstart,
		 unsigned long pend, ct_result &r)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const unsigned int ncpus = monitor::nr_cpus();
	int err;

	r.method = method;
	err = setup_cputime(s, pmu, hz, wl, pstart, pend, r);
	if (err) {
		t.diagf("%s: setup: %s", method.c_str(), err_name(err).c_str());
		return false;
	}
	if (!start_kdamond(t, kd))
		return false;
	if (method == "perf" && !pmu.wait_events_active(r.nr_events * ncpus)) {
		t.diag("perf: the test PMU did not get an event on every CPU");
		return false;
	}
	sleep_s(p.warmup_seconds);

	trace_nr_regions(t, tdir, r);

	const pid_t kpid = kd.pid();
	perf_counts pc0, pc1;
	const bool perf = method == "perf";
	bool perf_ok = !perf || read_perf_counts(pmu, kd, r.nr_events, pc0);
	const cpu_time c0 = read_cpu_time(kpid);
	const auto t0 = steady::now();
	sleep_s(p.window_seconds);
	const cpu_time c1 = read_cpu_time(kpid);
	r.seconds = seconds_since(t0);
	perf_ok = perf_ok && (!perf || read_perf_counts(pmu, kd, r.nr_events, pc1));

	trace_nr_regions(t, tdir, r);
	r.nr_regions_median = median(r.regions, 0);

	if (!c0.ok || !c1.ok || !kd.running()) {
		t.diagf("%s: kdamond %d did not run through the window",
			method.c_str(), static_cast<int>(kpid));
		return false;
	}
	if (perf) {
		if (!perf_ok) {
			t.diag("perf: could not read the sample counters");
			return false;
		}
		r.samples_per_s_per_cpu =
			(value_of(pc1.pmu, "samples") - value_of(pc0.pmu, "samples")) /
			r.seconds / ncpus;
		r.valid_samples_per_s =
			(value_of(pc1.pmu, "samples_addr") -
			 value_of(pc0.pmu, "samples_addr")) / r.seconds;
		r.accepted = pc1.accepted - pc0.accepted;
	}
	r.cpu = cpu_between(c0, c1);
	r.cpu_ms_per_s = r.cpu.best() / r.seconds;
	r.ran = true;
	kd.stop();
	if (perf)
		pmu.set_addrs("clear");
	return true;
}

json ct_json(const ct_result &r)
{
	json j;

	j["method"] = r.method;
	j["seconds"] = r.seconds;
	j["kdamond_cpu_ms"] = r.cpu.stat_ms;
	j["kdamond_cpu_ms_sched"] = r.cpu.sched_ms >= 0 ? json(r.cpu.sched_ms) :
							     json();
	j["kdamond_cpu_ms_per_s"] = r.cpu_ms_per_s;
	j["nr_regions_median"] = r.nr_regions_median;
	j["nr_aggregations_traced"] = r.regions.size();
	if (r.method == "paddr") {
		j["paddr_start"] = r.start;
		j["paddr_end"] = r.end;
	}
	if (r.method == "perf") {
		j["samples_per_s_per_cpu"] = r.samples_per_s_per_cpu;
		j["valid_samples_per_s"] = r.valid_samples_per_s;
		j["nr_events"] = r.nr_events;
		j["nr_accepted"] = r.accepted;
	}
	return j;
}

/* What run() measured, for the cases and the results file. */
struct sysbench_results {
	std::vector<tp_result> tps;
	/* vaddr, paddr and perf, in that order: three once the cases ran */
	std::vector<ct_result> cts;
	/* perf's kdamond CPU time over vaddr's and paddr's; NAN: not measured */
	double ratio_v = NAN, ratio_p = NAN;
};

/* How many cases @p makes: see "Cases" at the top. */
unsigned int nr_cases(const plan &p)
{
	unsigned int nr_drop_cases = 0;

	for (unsigned long rate : p.rates)
		nr_drop_cases += rate <= std::max(p.no_drop_max, p.few_drops_max);
	return p.rates.size() + nr_drop_cases + 3 + 2;
}

/* The counters of one throughput run, as a diagnostic. */
void print_throughput(const ktap::writer &t, const tp_result &r)
{
	const unsigned long pushed = value_of(r.d, "pushed");

	t.diagf("rate %lu/s/cpu (burst %u): %.1f s, achieved %.0f/s/cpu, pushed %lu drained %lu dropped full %lu nested %lu no_owner %lu (%.3f%%), attributed %lu unmatched %lu stale %lu, kdamond %.1f ms/s",
		r.rate, r.burst, r.seconds,
		r.achieved_per_cpu, pushed, value_of(r.d, "drained"),
		value_of(r.d, "dropped_full"),
		value_of(r.d, "dropped_nested"),
		value_of(r.d, "dropped_no_owner"),
		pushed ? 100.0 * dropped(r.d) / pushed : 0.0,
		value_of(r.d, "attributed"), value_of(r.d, "unmatched"),
		value_of(r.d, "stale"), r.cpu_ms_per_s);
}

/* Part 1: a throughput run for each rate of @p. */
std::vector<tp_result> throughput_runs(const ktap::writer &t,
				       const damon_sysfs::session &s,
				       const report_inject::module &inj,
				       const plan &p, unsigned long hz)
{
	std::vector<tp_result> tps;

	for (unsigned long rate : p.rates) {
		tp_result r;

		run_throughput(t, s, inj, p, hz, rate, r);
		s.reset();
		if (r.ran)
			print_throughput(t, r);
		tps.push_back(r);
	}
	return tps;
}

/* The accounting case of each rate, and the drop case of those that have one. */
void throughput_cases(ktap::writer &t, const plan &p,
		      const std::vector<tp_result> &tps)
{
	for (const tp_result &r : tps) {
		const std::string name = "throughput_" + std::to_string(r.rate / 1000) + "k";

		t.result(r.ran && r.balanced && value_of(r.d, "pushed") > 0,
			 name + "_accounting");
		if (r.rate > std::max(p.no_drop_max, p.few_drops_max))
			continue;
		const bool reached = r.achieved_per_cpu >= 0.9 * r.rate;
		if (r.ran && !reached)
			t.diagf("%s: achieved %.0f/s/cpu, below 90%% of %lu",
				name.c_str(), r.achieved_per_cpu, r.rate);
		if (r.rate <= p.no_drop_max)
			t.result(r.ran && reached && !dropped(r.d), name + "_no_drops");
		else
			t.result(r.ran && reached &&
				 dropped(r.d) * 100 <= value_of(r.d, "pushed"),
				 name + "_few_drops");
	}
}

/* The kdamond's CPU time and regions of one method, as a diagnostic. */
void print_cputime(const ktap::writer &t, const ct_result &r)
{
	t.diagf("%s: kdamond %.1f ms in %.1f s (%.2f ms/s; stat %.0f ms), regions median %.0f of %zu aggregations%s",
		r.method.c_str(), r.cpu.best(), r.seconds,
		r.cpu_ms_per_s, r.cpu.stat_ms,
		r.nr_regions_median,
		r.regions.size(),
		r.method == "perf" ?
		(", " + std::to_string(r.nr_events) + " events, " +
		 std::to_string(static_cast<long>(r.samples_per_s_per_cpu)) +
		 " samples/s/cpu, " +
		 std::to_string(static_cast<long>(r.valid_samples_per_s)) +
		 " with an address, " + std::to_string(r.accepted) +
		 " accepted").c_str() : "");
}

/*
 * Part 2: the CPU time runs of each method on one workload, which lives
 * (and is killed) within this call; none when it cannot start.
 */
std::vector<ct_result> cputime_runs(const ktap::writer &t,
				    const damon_sysfs::session &s,
				    const test_pmu::pmu &pmu, const plan &p,
				    unsigned long hz, const std::string &tdir)
{
	std::vector<ct_result> cts;
	striped_child wl(workload_bytes);
	unsigned long lo = ~0ul, hi = 0;

	if (!wl.ok()) {
		t.diag("the workload did not start");
		return cts;
	}
	if (!phys_span(wl.pid(), wl.start(), wl.size(), lo, hi)) {
		t.diag("no page frame numbers in the workload's pagemap");
		return cts;
	}
	t.diagf("workload pid %d: %zu MiB in %zu stripes of %zu MiB, %zu MiB of each hot; physical span [%#lx, %#lx) (%lu MiB)",
		static_cast<int>(wl.pid()), wl.size() / mib,
		wl.nr_stripes(), striped_child::stripe_period / mib,
		striped_child::stripe_hot / mib, lo, hi,
		(hi - lo) / mib);
	for (const char *m : { "vaddr", "paddr", "perf" }) {
		ct_result r;

		run_cputime(t, s, pmu, p, hz, wl, tdir, m, lo, hi, r);
		s.reset();
		if (r.ran)
			print_cputime(t, r);
		cts.push_back(r);
	}
	return cts;
}

/* The measured case of each method, and perf's ratios against the goal. */
void cputime_cases(ktap::writer &t, sysbench_results &res)
{
	res.cts.resize(3);
	const ct_result &cv = res.cts[0], &cpa = res.cts[1], &cpe = res.cts[2];
	for (const ct_result *r : { &cv, &cpa, &cpe }) {
		bool ok = r->ran && r->nr_regions_median > 0;

		if (r == &cpe)
			ok = ok && r->accepted > 0;
		t.result(ok, "cputime_" + std::string(r == &cv ? "vaddr" :
				r == &cpa ? "paddr" : "perf") + "_measured");
	}
	double &ratio_v = res.ratio_v, &ratio_p = res.ratio_p;
	if (cv.ran && cpe.ran && cv.cpu_ms_per_s > 0)
		ratio_v = cpe.cpu_ms_per_s / cv.cpu_ms_per_s;
	if (cpa.ran && cpe.ran && cpa.cpu_ms_per_s > 0)
		ratio_p = cpe.cpu_ms_per_s / cpa.cpu_ms_per_s;
	t.diagf("kdamond CPU ratio perf/vaddr %.3f, perf/paddr %.3f (goal <= 0.1)",
		ratio_v, ratio_p);
	if (full_mode) {
		t.result(!std::isnan(ratio_v) && ratio_v <= 0.1,
			 "cputime_perf_tenth_of_vaddr");
		t.result(!std::isnan(ratio_p) && ratio_p <= 0.1,
			 "cputime_perf_tenth_of_paddr");
	} else {
		t.result(!std::isnan(ratio_v) && ratio_v < 1, "cputime_perf_below_vaddr");
		t.result(!std::isnan(ratio_p) && ratio_p < 1, "cputime_perf_below_paddr");
	}
}

/* The results file: the machine, the settings and every run that ran. */
void write_results(const ktap::writer &t, const sysbench_results &res,
		   const std::string &accel, unsigned int ncpus,
		   unsigned long hz_read, double took)
{
	json out;
	out["mode"] = full_mode ? "full" : "smoke";
	out["accel"] = accel;
	out["cpu_model"] = machine::cpu_model();
	out["kernel"] = machine::kernel_release();
	out["nr_cpus"] = ncpus;
	out["hz"] = hz_read ? json(hz_read) : json();
	out["seconds"] = took;
	out["settings"] = { { "sample_us", sample_us }, { "aggr_us", aggr_us },
			    { "min_nr_regions", min_nr_regions },
			    { "max_nr_regions", max_nr_regions } };
	out["throughput"] = json::array();
	for (const tp_result &r : res.tps)
		if (r.ran)
			out["throughput"].push_back(tp_json(r));
	out["cputime"] = json::array();
	for (const ct_result &r : res.cts)
		if (r.ran)
			out["cputime"].push_back(ct_json(r));
	out["ratios"] = {
		{ "perf_over_vaddr", std::isnan(res.ratio_v) ? json() : json(res.ratio_v) },
		{ "perf_over_paddr", std::isnan(res.ratio_p) ? json() : json(res.ratio_p) },
	};
	out["cpu_source"] = res.cts[2].cpu.sched_ms >= 0 ? "sched" : "stat";
	const std::string rpath = results_path("DAMON_SYSBENCH_RESULTS",
					       "damon_sysbench",
					       full_mode ? "full" : "smoke");
	const bool written = write_results_file(rpath, out.dump(1));
	t.diagf("results in %s; %.1f s", rpath.c_str(), took);
	if (!written)
		t.diagf("writing %s failed", rpath.c_str());
}

int run()
{
	require_damon_sysfs_or_skip(true);

	plan p = make_plan();
	/* KASAN's or KCSAN's kdamond drains too slowly for 50k */
	const std::string sanitizer = machine::sanitizer();
	if (!sanitizer.empty()) {
		p.no_drop_max = std::min(p.no_drop_max, 10000UL);
		p.few_drops_max = p.no_drop_max;
	}
	const unsigned int ncpus = monitor::nr_cpus();
	const std::string accel = machine::accelerator();
	const unsigned long hz_read = kernel_hz();
	/* without /proc/config.gz, the test kernel's */
	const unsigned long hz = hz_read ? hz_read : 250;
	const auto start = steady::now();

	/* the modules outlive the session: events pin the PMU's */
	test_pmu::pmu pmu;
	if (!pmu.ok())
		ktap::exit_skip("test PMU: " + pmu.error());
	report_inject::module inj;
	if (!inj.ok())
		ktap::exit_skip("report injection: " + inj.error());
	damon_sysfs::session s;
	require_perf_events_or_skip(s);
	s.reset();

	ktap::writer t(nr_cases(p));

	t.diagf("mode %s, accelerator %s, cpu '%s', kernel %s, %u CPUs, HZ %lu",
		full_mode ? "full" : "smoke", accel.c_str(), machine::cpu_model().c_str(),
		machine::kernel_release().c_str(), ncpus, hz_read);
	if (!sanitizer.empty())
		t.diagf("%s kernel: no drops required up to %luk/s/cpu only",
			sanitizer.c_str(), p.no_drop_max / 1000);
	t.diagf("sampling %lu us, aggregation %lu us, regions %lu..%lu",
		sample_us, aggr_us, min_nr_regions, max_nr_regions);

	sysbench_results res;

	/* part 1 */
	res.tps = throughput_runs(t, s, inj, p, hz);
	throughput_cases(t, p, res.tps);

	/* part 2 */
	const std::string tdir = monitor::tracefs_dir();
	res.cts = cputime_runs(t, s, pmu, p, hz, tdir);
	cputime_cases(t, res);

	write_results(t, res, accel, ncpus, hz_read, seconds_since(start));
	return t.exit_code();
}

} /* namespace */

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--full")) {
			full_mode = true;
		} else if (!std::strcmp(argv[i], "--smoke")) {
			full_mode = false;
		} else {
			std::fprintf(stderr, "usage: %s [--smoke | --full]\n", argv[0]);
			return ktap::KSFT_FAIL;
		}
	}
	return ktap::guarded_main(run);
}
