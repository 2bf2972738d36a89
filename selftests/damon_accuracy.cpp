// SPDX-License-Identifier: GPL-2.0
/*
 * How accurately DAMON finds a hot set that moves, with page table
 * Accessed bits and with perf sampling, measured side by side in one boot.
 *
 * A masim-like generator (lib/masim.h) maps four 32 MiB regions A-D and
 * writes random cache lines of them by per-phase access shares; the hot
 * set moves at each phase change (e.g. A 0.8 B 0.2, then C 0.8 D 0.2).
 * DAMON monitors it (vaddr, sampling 5 ms, aggregation 100 ms, 10 to 1000
 * regions) once a method:
 *
 * - "pte": the page table Accessed bits (plain vaddr);
 * - "perf": monitoring_attrs/sample/perf_events with the synthetic test
 *   PMU damon_test_pmu at 40000 samples per second and CPU (see
 *   nr_pmu_events);
 * - "perf_4k": the same at 4000 samples per second and CPU, perf's
 *   default frequency;
 * - in --full only, "pte_refault" and "pagefault": a generator whose every
 *   access drops its page and faults it in again, monitored with Accessed
 *   bits and with the software page-fault event at 4000 samples per
 *   second (perf's frequency mode): samples from the real perf path,
 *   not a replay of the ground truth;
 * - in --full only, "numa_hint": the plain generator (with a second,
 *   sleeping thread: NUMA balancing leaves alone the pages of a
 *   single-threaded process on the node it runs on), with NUMA
 *   balancing on (kernel.numa_balancing=1, a scan every 100 ms of the
 *   generator's run time) and transparent huge pages off: the kernel's
 *   scanner makes the generator's pages inaccessible and its next access
 *   to each faults (a NUMA hinting fault), which the software page-fault
 *   event samples as for "pagefault".  A second real sample source, with
 *   a sampling bias of its own: at most one fault per page and scan.
 *
 * The test PMU cannot see real accesses: at every phase change this
 *   program rewrites its "addrs" list to REPLAY the generator's access
 *   distribution, each region getting sample positions in proportion to
 *   its share, each sample at a random cache line of the region (see
 *   replay()).  Only samples that interrupt the generator carry an
 *   address, as with a real PMU.  So the "perf" numbers measure how DAMON
 *   attributes and aggregates samples drawn from the true distribution,
 *   not the sampling bias of a real PMU (skid, load/store mix, which
 *   instructions are tagged).
 *
 * DAMON's regions come from the damon:damon_aggregated tracepoint, in a
 * trace instance of its own (clock "mono", the clock of steady_clock):
 * every aggregation interval gives a full, timestamped snapshot.  For
 * each snapshot, over the bytes of the generator's regions only:
 *
 * - DAMON's hot set: its regions with nr_accesses >= 1 (an access seen in
 *   at least one sampling interval of the aggregation interval), as the
 *   truth is "share > 0";
 * - precision: bytes DAMON calls hot that are truly hot / bytes DAMON
 *   calls hot (0 when it calls nothing hot);
 * - recall: truly hot bytes DAMON calls hot / truly hot bytes.
 *
 * A run reports the median precision and recall over the steady part of
 * each phase (from 1 s after the phase started), the detection time of
 * each phase (from the switch to the first snapshot with precision and
 * recall >= 90%; the first phase starts from an idle generator), and the
 * kdamond's CPU time (utime + stime) per second of monitoring.  The
 * perf samples themselves are handled in interrupts on every CPU, not in
 * the kdamond, and the tracepoint adds the same cost to every method.
 *
 * Usage: damon_accuracy [--smoke | --full | --demo]
 *			 [--method pte|perf|perf_4k|pte_refault|pagefault|numa_hint]
 *   --smoke (the default): 2 phases of 4 s per method; the cases fail when
 *     the median precision or recall is below 0.9 (recall 0.98 for the
 *     test PMU's methods, see good_replay_recall), or a phase is not
 *     detected within half its length.
 *   --full: 5 phases of 10 s (4 changes) per method, the same cases.
 *   --demo: one phase change (2 phases of 5 s) under "perf" (or --method),
 *     an access heatmap of the snapshots in the terminal and a verdict;
 *     exits 0 when precision and recall are >= 90%.
 *     DAMON_DEMO_EVENT=<pmu>:<config>[:<config1>[:<precise_ip>]] (pmu a
 *     name in /sys/bus/event_source/devices or a type number, configs
 *     as the PMU's format/ says, e.g. ibs_op:0 or cpu:0x20d1:0:1 for
 *     PEBS MEM_LOAD_RETIRED.L3_MISS) samples with that real
 *     PMU instead of the test PMU, without replay, at
 *     $DAMON_DEMO_FREQ (default 4000) samples per second and CPU.
 *
 * Results go to $DAMON_ACCURACY_RESULTS (default
 * /tmp/damon_accuracy-<mode>.json) as JSON; the test module is looked for
 * in $DAMON_HWS_TEST_PMU_KO, else next to this program.  SKIPs when not
 * root, without DAMON sysfs, the perf_events ABI, the test module (for
 * "perf") or the tracepoint.
 */
#include "lib/damon_sysfs.h"
#include "lib/kmod.h"
#include "lib/machine.h"
#include "lib/ktap.h"
#include "lib/masim.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <poll.h>
#include <string>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using masim::phase;
using monitor::tracefs_dir;

enum run_mode { MODE_SMOKE, MODE_FULL, MODE_DEMO };

run_mode mode = MODE_SMOKE;
/* "": every method of the mode */
std::string only_method;

const char *mode_name()
{
	return mode == MODE_FULL ? "full" : mode == MODE_DEMO ? "demo" : "smoke";
}

/* Monitoring attributes: the same for every method. */
const unsigned long sample_us = 5000;
const unsigned long aggr_us = 100000;
const unsigned long update_us = 1000000;
const unsigned long min_nr_regions = 10;
const unsigned long max_nr_regions = 1000;
/*
 * The test PMU's events: 16 (the most a context takes) of 2500 samples per
 * second each, 40000 samples per second and CPU (perf's default ceiling,
 * perf_event_max_sample_rate, is 100000).  Documentation/benchmarks.md
 * has a sweep of the rate (make bench, $DAMON_ACCURACY_PMU_HZ).  The JSON
 * has the rate measured from the module's counters.
 */
const unsigned int nr_pmu_events = 16;
const unsigned long default_pmu_event_hz = 2500;

/* $DAMON_ACCURACY_PMU_HZ overrides the rate of each test PMU event. */
unsigned long pmu_event_hz_get()
{
	const char *v = std::getenv("DAMON_ACCURACY_PMU_HZ");
	unsigned long hz = v ? std::strtoul(v, nullptr, 0) : 0;

	return hz ? hz : default_pmu_event_hz;
}

const unsigned long pmu_event_hz = pmu_event_hz_get();

/*
 * The "perf_4k" method: the "perf" method at 4000 samples per second and
 * CPU, perf's default frequency, where sparse samples test how DAMON
 * adjusts its regions to them.
 */
const unsigned long low_rate_per_cpu = 4000;

/* NUMA balancing's scan period for "numa_hint", in ms of run time. */
const unsigned int numa_scan_ms = 100;

/* Whether @method samples with the test PMU ("perf" or "perf_4k"). */
bool is_perf(const std::string &method)
{
	return method.rfind("perf", 0) == 0;
}

/*
 * The methods on a generator whose every access is a page fault (--full
 * only): "pte_refault" with Accessed bits, and "pagefault" with the
 * software page-fault event, a sample source that is not the ground
 * truth: its samples come from the real perf path, where the workload
 * faults.
 */
bool refaults(const std::string &method)
{
	return method == "pte_refault" || method == "pagefault";
}

/* Whether @method samples with perf events. */
bool samples(const std::string &method)
{
	return is_perf(method) || method == "pagefault" ||
	       method == "numa_hint";
}

/*
 * The page-fault event of "pagefault" and "numa_hint": perf's default
 * frequency.
 */
damon_sysfs::perf_event_attr pagefault_event()
{
	damon_sysfs::perf_event_attr a;

	a.type = 1;	/* PERF_TYPE_SOFTWARE */
	a.config = 2;	/* PERF_COUNT_SW_PAGE_FAULTS */
	a.sample_phys_addr = false;
	a.freq = true;
	a.sample_freq = low_rate_per_cpu;
	return a;
}

/* The period of each test PMU event of @method. */
unsigned long pmu_period_ns(const std::string &method)
{
	const unsigned long hz = method == "perf_4k" ?
		low_rate_per_cpu / nr_pmu_events : pmu_event_hz;

	return 1000000000ul / hz;
}
/* A real PMU's event in the demo: samples per second and CPU. */
const unsigned long real_freq = 4000;
/* DAMON calls a region hot from this nr_accesses on. */
const unsigned int hot_min_accesses = 1;
/* Snapshots this long after a phase switch are not "steady". */
const double settle_s = 1.0;
/* Precision and recall that count as found (cases and detection). */
const double good = 0.9;
/*
 * The median recall the test PMU's methods want.  They replay the true
 * access distribution, so the hot bytes they miss are lost by DAMON's
 * regions adjustment alone.  With the rules of "mm/damon/core: fit the
 * regions adjustment to sampled accesses", perf_4k measured 99.3-99.7% in
 * nine --smoke runs, and at ~4k samples/s/CPU 99.2-99.5% in four --full
 * runs; without them (make mutants' 29-sampled-regions-split-always)
 * 90.5-96.9% in eight --smoke runs, which "good" let pass (2026-12-08,
 * family 25 host).
 */
const double good_replay_recall = 0.98;

const ktap::writer *tw;

/* A diagnostic: a KTAP "# " line, or a plain line in the demo. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (tw)
		tw->diag(buf);
	else
		std::printf("%s\n", buf);
}

std::vector<phase> make_phases()
{
	const std::vector<double> ab = { 0.8, 0.2, 0, 0 };
	const std::vector<double> cd = { 0, 0, 0.8, 0.2 };

	switch (mode) {
	case MODE_FULL:
		return { { 10, ab }, { 10, cd }, { 10, { 0, 0.8, 0.2, 0 } },
			 { 10, { 0.2, 0, 0, 0.8 } }, { 10, { 0.5, 0, 0.5, 0 } } };
	case MODE_DEMO:
		return { { 5, ab }, { 5, cd } };
	default:
		return { { 4, ab }, { 4, cd } };
	}
}

double secs(steady::time_point tp)
{
	return std::chrono::duration<double>(tp.time_since_epoch()).count();
}

/* ---- DAMON's snapshots from the damon:damon_aggregated tracepoint ---- */

struct dregion {
	unsigned long start, end;
	unsigned int nr_accesses;
};

struct snapshot {
	double t;	/* CLOCK_MONOTONIC seconds, of the first event */
	std::vector<dregion> regions;
};

const char *const event_path = "events/damon/damon_aggregated";

/* Why the tracepoint cannot be used, or "". */
std::string tracepoint_unavailable()
{
	const std::string tdir = tracefs_dir("instances");
	std::string format;

	if (tdir.empty())
		return "no tracefs with instances/";
	if (damon_sysfs::read_file(tdir + "/" + event_path + "/format", format))
		return "no damon:damon_aggregated tracepoint";
	for (const char *field : { "target_id", "nr_regions", "start", "end",
				   "nr_accesses", "age" })
		if (format.find(std::string(" ") + field + ";") == std::string::npos)
			return std::string("damon:damon_aggregated has no field ") +
			       field;
	return "";
}

/*
 * A trace instance with only damon:damon_aggregated enabled, and a thread
 * that reads its trace_pipe into snapshots of target 0.  The destructor
 * stops the thread and removes the instance.
 */
class tracer {
public:
	tracer() : dir(tracefs_dir("instances") + "/instances/damon_accuracy")
	{
		rmdir(dir.c_str());
		if (mkdir(dir.c_str(), 0700)) {
			err_msg = "mkdir " + dir + ": " + std::strerror(errno);
			return;
		}
		made = true;
		if (damon_sysfs::write_file(dir + "/trace_clock", "mono") ||
		    damon_sysfs::write_file(dir + "/buffer_size_kb", "4096") ||
		    damon_sysfs::write_file(dir + "/" + event_path + "/enable", "1") ||
		    damon_sysfs::write_file(dir + "/tracing_on", "1")) {
			err_msg = "setting up " + dir + " failed";
			return;
		}
		fd = open((dir + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK);
		if (fd < 0) {
			err_msg = "open trace_pipe: " + std::string(std::strerror(errno));
			return;
		}
		reader = std::thread([this] { read_loop(); });
	}
	tracer(const tracer &) = delete;
	tracer &operator=(const tracer &) = delete;
	~tracer()
	{
		stop = true;
		if (reader.joinable())
			reader.join();
		if (fd >= 0)
			close(fd);
		if (made) {
			damon_sysfs::write_file(dir + "/" + event_path + "/enable", "0");
			rmdir(dir.c_str());
		}
	}

	bool ok() const { return err_msg.empty(); }
	const std::string &error() const { return err_msg; }

	/* Forget what was read so far. */
	void reset()
	{
		std::lock_guard<std::mutex> lock(mu);
		snaps.clear();
		cur.regions.clear();
		nr_lost = 0;
	}
	/* Complete snapshots read so far. */
	std::vector<snapshot> taken()
	{
		std::lock_guard<std::mutex> lock(mu);
		return snaps;
	}
	size_t count()
	{
		std::lock_guard<std::mutex> lock(mu);
		return snaps.size();
	}
	/* Snapshots dropped as incomplete (lost events). */
	unsigned long lost()
	{
		std::lock_guard<std::mutex> lock(mu);
		return nr_lost;
	}

private:
	std::string dir;
	std::string err_msg;
	bool made = false;
	int fd = -1;
	std::atomic<bool> stop{ false };
	std::thread reader;
	std::mutex mu;
	std::vector<snapshot> snaps;
	snapshot cur;
	unsigned int cur_nr = 0;
	unsigned long nr_lost = 0;

	void finish_cur()
	{
		if (cur.regions.empty())
			return;
		if (cur.regions.size() == cur_nr)
			snaps.push_back(std::move(cur));
		else
			nr_lost++;
		cur = snapshot();
	}

	void parse(const std::string &line)
	{
		static const char tag[] = " damon_aggregated: ";
		size_t pos = line.find(tag), sp;
		unsigned long target, start, end;
		unsigned int nr, acc, age;
		double ts;

		if (pos == std::string::npos || pos < 2 || line[pos - 1] != ':')
			return;
		sp = line.rfind(' ', pos - 1);
		if (sp == std::string::npos)
			return;
		ts = std::strtod(line.c_str() + sp + 1, nullptr);
		if (std::sscanf(line.c_str() + pos + sizeof(tag) - 1,
				"target_id=%lu nr_regions=%u %lu-%lu: %u %u",
				&target, &nr, &start, &end, &acc, &age) != 6 ||
		    target != 0)
			return;

		std::lock_guard<std::mutex> lock(mu);

		if (!cur.regions.empty() &&
		    (start < cur.regions.back().end || nr != cur_nr))
			finish_cur();
		if (cur.regions.empty()) {
			cur.t = ts;
			cur_nr = nr;
		}
		cur.regions.push_back({ start, end, acc });
		if (cur.regions.size() >= cur_nr)
			finish_cur();
	}

	void read_loop()
	{
		std::string pending;
		char buf[65536];

		for (;;) {
			struct pollfd p = { fd, POLLIN, 0 };
			ssize_t n;

			poll(&p, 1, 50);
			while ((n = read(fd, buf, sizeof(buf))) > 0) {
				size_t nl;

				pending.append(buf, static_cast<size_t>(n));
				while ((nl = pending.find('\n')) != std::string::npos) {
					parse(pending.substr(0, nl));
					pending.erase(0, nl + 1);
				}
			}
			if (stop)
				return;
		}
	}
};

/* ---- the test PMU's replay of the generator's access shares ---- */

/*
 * Rewrite the test PMU's vaddr list so that its samples fall in the
 * regions by @shares, each at a random cache line of its region, as the
 * generator writes: 256 positions a cycle (random= ranges, see the
 * module), each region's count in proportion to its share.  A region's
 * positions are split into "lanes" (8 divided among the accessed regions;
 * each write to "addrs" takes ~10 ms in a TCG guest, so not more), and the
 * lanes of the regions alternate in the list, so that every 32 consecutive
 * samples of an event visit every accessed region.  An event steps one
 * position a sample, and the 16 events, created at different times (see
 * stagger_events()), sample different places of the cycle at once.
 *
 * The replay of the sets up to 2026-12-07 evening listed fixed addresses
 * instead (256 a cycle, at a region's stride plus a random offset, moved
 * every 500 ms): a lattice that DAMON's splitting converged to within the
 * 500 ms, the parts between its addresses turning cold; at 10k and 40k
 * samples/s/CPU that cost recall that random samples do not
 * (Documentation/benchmarks.md, "Accuracy").
 * The list is briefly partial while it is rewritten ("clear" first).
 */
int replay(const test_pmu::pmu &pmu, const masim::generator &gen,
	   const std::vector<double> &shares)
{
	const unsigned long per_cycle = 256;
	std::vector<size_t> active;
	double sum = 0;
	int err;

	for (size_t i = 0; i < shares.size(); i++) {
		if (shares[i] > 0) {
			active.push_back(i);
			sum += shares[i];
		}
	}
	err = pmu.set_addrs("clear");
	if (err || active.empty())
		return err;

	const unsigned long lanes = std::max<unsigned long>(1, 8 / active.size());

	for (unsigned long l = 0; !err && l < lanes; l++) {
		for (size_t i : active) {
			const masim::region &r = gen.regions()[i];
			const unsigned long n = std::max(
				std::lround(shares[i] / sum * per_cycle / lanes), 1l);

			err = pmu.set_addrs("vaddr=" + std::to_string(r.start) +
					    " len=" + std::to_string(r.end - r.start) +
					    " pid=" + std::to_string(gen.pid()) +
					    " stride=64 random=" + std::to_string(n));
			if (err)
				break;
		}
	}
	return err;
}

/*
 * Add test PMU events to the running context of @kd, one a commit, until
 * it has nr_pmu_events.  Each event steps through the address list one
 * address a sample, counting from when it was created: created ~64 ms
 * apart, the events sample different addresses at once (which, depends on
 * the commit latency; two may coincide).
 */
int stagger_events(const damon_sysfs::kdamond &kd, const test_pmu::pmu &pmu,
		   const std::string &method)
{
	const damon_sysfs::context ctx = kd.get_context(0);
	const auto ev = pmu.event_with_period(pmu_period_ns(method));
	std::vector<damon_sysfs::perf_event_attr> events = { ev };

	while (events.size() < nr_pmu_events) {
		int err;

		std::this_thread::sleep_for(std::chrono::milliseconds(64));
		events.push_back(ev);
		err = ctx.set_perf_events(events);
		if (!err)
			err = kd.state("commit");
		if (err)
			return err;
	}
	return 0;
}

/* ---- a real PMU's event for the demo ---- */

/* DAMON_DEMO_EVENT parsed into @a; false (with @why) when it is bad. */
bool demo_event(const char *spec, damon_sysfs::perf_event_attr &a,
		std::string &why)
{
	std::vector<std::string> f;
	std::string s(spec), name;
	size_t pos;
	char *end;

	while ((pos = s.find(':')) != std::string::npos) {
		f.push_back(s.substr(0, pos));
		s.erase(0, pos + 1);
	}
	f.push_back(s);
	if (f.size() < 2 || f.size() > 4) {
		why = "DAMON_DEMO_EVENT is <pmu>:<config>[:<config1>[:<precise_ip>]]";
		return false;
	}
	a.type = std::strtoul(f[0].c_str(), &end, 0);
	if (*end || f[0].empty()) {
		if (damon_sysfs::read_ulong("/sys/bus/event_source/devices/" +
					    f[0] + "/type", a.type)) {
			why = "no PMU " + f[0] + " in /sys/bus/event_source/devices";
			return false;
		}
	}
	a.config = std::strtoul(f[1].c_str(), nullptr, 0);
	if (f.size() > 2)
		a.config1 = std::strtoul(f[2].c_str(), nullptr, 0);
	if (f.size() > 3)
		a.precise_ip = std::strtoul(f[3].c_str(), nullptr, 0);
	a.sample_phys_addr = false;
	a.freq = true;
	a.sample_freq = real_freq;
	if (const char *fq = std::getenv("DAMON_DEMO_FREQ"))
		a.sample_freq = std::strtoul(fq, nullptr, 0);
	return true;
}

/* ---- one monitoring run ---- */

struct scored {
	double t;	/* since the run's start */
	int phase;
	double precision, recall;
	const snapshot *snap;
};

struct run_result {
	std::string method;
	bool ran = false;
	std::string error;
	/* not run: the kernel lacks what the method needs (a SKIP) */
	std::string skip;
	std::vector<masim::region> regions;
	std::vector<phase> phases;
	std::vector<double> t_start;	/* of each phase, since the start */
	double t_end = 0;
	std::vector<snapshot> snaps;
	std::vector<scored> scores;
	double precision_median = NAN, recall_median = NAN;
	std::vector<double> detect_ms;	/* NAN: not detected */
	double detect_bound_ms = 0;
	double cpu_ms_per_s = NAN;
	double accepted_per_s = NAN, invalid_per_s = NAN;
	/* measured (test PMU), or the real event's sample_freq */
	double samples_per_s = NAN;
	/*
	 * The test PMU's timing of DAMON's overflow handler: per sample, and
	 * its CPU time (all CPUs) per second of the run.
	 */
	double handler_ns_per_sample = NAN, handler_cpu_ms_per_s = NAN;
	unsigned int nr_events = 0;
	bool replayed = false;
	json j;
};

/* Precision and recall of @s against the hot set @hot of @regions. */
void score(const snapshot &s, const std::vector<masim::region> &regions,
	   const std::vector<bool> &hot, double &precision, double &recall)
{
	double called = 0, true_pos = 0, truth = 0;

	for (size_t i = 0; i < regions.size(); i++) {
		const masim::region &g = regions[i];

		if (hot[i])
			truth += g.end - g.start;
		for (const dregion &d : s.regions) {
			unsigned long lo = std::max(d.start, g.start);
			unsigned long hi = std::min(d.end, g.end);

			if (lo >= hi || d.nr_accesses < hot_min_accesses)
				continue;
			called += hi - lo;
			if (hot[i])
				true_pos += hi - lo;
		}
	}
	precision = called > 0 ? true_pos / called : 0;
	recall = truth > 0 ? true_pos / truth : 1;
}

json num_or_null(double v)
{
	return std::isnan(v) ? json() : json(v);
}

/* The phase of @r that the time @t (since the start) falls in, or -1. */
int phase_at(const run_result &r, double t)
{
	int ph = -1;

	for (size_t i = 0; i < r.t_start.size(); i++)
		if (t >= r.t_start[i])
			ph = static_cast<int>(i);
	return ph;
}

/*
 * Score every snapshot of @r up to its end against the hot set of its
 * phase; the medians over the steady part of the phases.
 */
void score_snapshots(run_result &r, double t0)
{
	std::vector<double> steady_p, steady_r;

	for (const snapshot &s : r.snaps) {
		const double t = s.t - t0;

		if (t > r.t_end)
			continue;
		const int ph = phase_at(r, t);

		if (ph < 0)
			continue;

		scored sc = { t, ph, 0, 0, &s };

		score(s, r.regions, masim::hot_set(r.phases[ph]), sc.precision,
		      sc.recall);
		r.scores.push_back(sc);
		if (t >= r.t_start[ph] + settle_s) {
			steady_p.push_back(sc.precision);
			steady_r.push_back(sc.recall);
		}
	}
	r.precision_median = median(steady_p);
	r.recall_median = median(steady_r);
}

/* Each phase's detection time: to its first good snapshot, NAN if none. */
void detect_phases(run_result &r)
{
	for (size_t i = 0; i < r.phases.size(); i++) {
		double d = NAN;

		for (const scored &sc : r.scores) {
			if (sc.phase != static_cast<int>(i))
				continue;
			if (sc.precision >= good && sc.recall >= good) {
				d = (sc.t - r.t_start[i]) * 1000;
				break;
			}
		}
		r.detect_ms.push_back(d);
	}
}

/* The phases of @r with the medians of their steady parts. */
json phases_json(const run_result &r)
{
	json phases = json::array();

	for (size_t i = 0; i < r.phases.size(); i++) {
		std::vector<double> pp, rr;

		for (const scored &sc : r.scores) {
			if (sc.phase == static_cast<int>(i) &&
			    sc.t >= r.t_start[i] + settle_s) {
				pp.push_back(sc.precision);
				rr.push_back(sc.recall);
			}
		}
		phases.push_back({ { "t_start_s", r.t_start[i] },
				   { "seconds", r.phases[i].seconds },
				   { "shares", r.phases[i].shares },
				   { "precision_median", num_or_null(median(pp)) },
				   { "recall_median", num_or_null(median(rr)) } });
	}
	return phases;
}

/* The scored snapshots of @r with their regions. */
json snapshots_json(const run_result &r)
{
	json snaps = json::array();

	for (const scored &sc : r.scores) {
		json regs = json::array();

		for (const dregion &d : sc.snap->regions)
			regs.push_back({ d.start, d.end, d.nr_accesses });
		snaps.push_back({ { "t_s", sc.t },
				  { "phase", sc.phase },
				  { "precision", sc.precision },
				  { "recall", sc.recall },
				  { "regions", regs } });
	}
	return snaps;
}

/* The run's settings, the generator's regions and the results in r.j. */
void fill_json(run_result &r)
{
	json &j = r.j;
	j["method"] = r.method;
	j["sample_us"] = sample_us;
	j["aggr_us"] = aggr_us;
	j["min_nr_regions"] = min_nr_regions;
	j["max_nr_regions"] = max_nr_regions;
	if (samples(r.method)) {
		j["samples_per_s_per_cpu"] = num_or_null(r.samples_per_s);
		j["nr_perf_events"] = r.nr_events;
		j["replayed"] = r.replayed;
		j["accepted_per_s"] = num_or_null(r.accepted_per_s);
		j["invalid_per_s"] = num_or_null(r.invalid_per_s);
		j["handler_ns_per_sample"] = num_or_null(r.handler_ns_per_sample);
		j["handler_cpu_ms_per_s"] = num_or_null(r.handler_cpu_ms_per_s);
	}
	j["hot_min_accesses"] = hot_min_accesses;
	j["settle_s"] = settle_s;
	j["gen_regions"] = json::array();
	for (const masim::region &g : r.regions)
		j["gen_regions"].push_back({ { "name", g.name },
					     { "start", g.start },
					     { "end", g.end } });
	j["phases"] = phases_json(r);
	j["t_end_s"] = r.t_end;
	j["snapshots"] = snapshots_json(r);
	j["precision_median"] = num_or_null(r.precision_median);
	j["recall_median"] = num_or_null(r.recall_median);
	j["detect_ms"] = json::array();
	for (double d : r.detect_ms)
		j["detect_ms"].push_back(num_or_null(d));
	j["detect_bound_ms"] = r.detect_bound_ms;
	j["kdamond_cpu_ms_per_s"] = num_or_null(r.cpu_ms_per_s);
}

/* Score the snapshots of @r and fill in its summary and JSON. */
void evaluate(run_result &r, double t0)
{
	score_snapshots(r, t0);
	detect_phases(r);
	fill_json(r);
}

/*
 * Set DAMON up to monitor the generator @pid with r.method, without a
 * scheme; "perf" gets its first event: the test PMU's (its address list
 * cleared) when @pmu, else @real.  0 or -errno.
 */
int setup_monitoring(const damon_sysfs::session &s,
		     const damon_sysfs::context &ctx, pid_t pid,
		     const test_pmu::pmu *pmu,
		     const damon_sysfs::perf_event_attr &real, run_result &r)
{
	damon_sysfs::vaddr_monitor m;
	int err;

	s.reset();
	m.pid = pid;
	m.sample_us = sample_us;
	m.aggr_us = aggr_us;
	m.update_us = update_us;
	m.min_nr_regions = min_nr_regions;
	m.max_nr_regions = max_nr_regions;
	err = damon_sysfs::setup_vaddr_monitor(s, m);
	/* no scheme: only the monitoring's cost counts */
	if (!err)
		err = ctx.set_nr_schemes(0);
	if (!err && samples(r.method)) {
		damon_sysfs::perf_event_attr a =
			is_perf(r.method) ? real : pagefault_event();

		if (pmu) {
			a = pmu->event_with_period(pmu_period_ns(r.method));
			err = pmu->set_addrs("clear");
			r.replayed = true;
		}
		/* the other test PMU events come in stagger_events() */
		if (!err)
			err = ctx.set_perf_events({ a });
		r.nr_events = 1;
		if (!pmu)
			r.samples_per_s = a.freq ? a.sample_freq : NAN;
	}
	return err;
}

/*
 * DAMON is running and traced since @start: wait for its first snapshot,
 * give a replayed run all its test PMU events, and let it settle.  False,
 * with the kdamond stopped and r.error set, when either fails.
 */
bool wait_sampling(const damon_sysfs::kdamond &kd, tracer &tr,
		   const test_pmu::pmu *pmu, steady::time_point start,
		   run_result &r)
{
	int err;

	while (!tr.count()) {
		if (steady::now() - start > std::chrono::seconds(30)) {
			kd.stop();
			r.error = "no damon_aggregated event within 30 s";
			return false;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	if (pmu) {
		err = stagger_events(kd, *pmu, r.method);
		if (err) {
			kd.stop();
			r.error = "adding test PMU events: " + monitor::err_name(err);
			return false;
		}
		r.nr_events = nr_pmu_events;
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(500));
	return true;
}

/*
 * Switch the generator (and the test PMU's replay, with @pmu) through
 * the phases of @r, each for its length, and note when each started
 * (since @t0).  False, with the kdamond stopped and r.error set, when a
 * switch fails.
 */
bool play_phases(const damon_sysfs::kdamond &kd, masim::generator &gen,
		 const test_pmu::pmu *pmu, double t0, run_result &r)
{
	int err;

	for (const phase &p : r.phases) {
		steady::time_point when = steady::now();
		steady::time_point gen_when;

		if (pmu) {
			err = replay(*pmu, gen, p.shares);
			if (err) {
				kd.stop();
				r.error = "writing the test PMU's addrs: " +
					  monitor::err_name(err);
				return false;
			}
		}
		err = gen.set_shares(p.shares, gen_when);
		if (err) {
			kd.stop();
			r.error = "switching the generator: " + monitor::err_name(err);
			return false;
		}
		/* the switch is when the first of the two was written */
		r.t_start.push_back(secs(when) - t0);
		note("%s: phase %zu at %.3f s: %s (switch took %.1f ms)",
		     r.method.c_str(), r.t_start.size(), r.t_start.back(),
		     masim::describe(r.regions, p).c_str(),
		     std::chrono::duration<double, std::milli>(gen_when - when).count());
		const steady::time_point next = when +
			std::chrono::duration_cast<steady::duration>(
				std::chrono::duration<double>(p.seconds));
		std::this_thread::sleep_until(next);
	}
	return true;
}

/* The samples the perf events of @ctx accepted and the sampler's stats. */
void read_sample_stats(const damon_sysfs::kdamond &kd,
		       const damon_sysfs::context &ctx, run_result &r)
{
	damon_sysfs::perf_event_stats st;
	std::string sst;

	if (kd.state("update_sample_stats"))
		return;
	for (unsigned int i = 0; i < r.nr_events; i++) {
		damon_sysfs::perf_event_stats e;

		if (ctx.get_perf_event(i).get_stats(e))
			continue;
		st.nr_accepted += e.nr_accepted;
		st.nr_invalid += e.nr_invalid;
		st.nr_dropped += e.nr_dropped;
		st.nr_cpus = std::max(st.nr_cpus, e.nr_cpus);
	}

	for (const char *f : { "pushed", "drained", "attributed",
			       "unmatched", "stale" }) {
		unsigned long v = 0;

		ctx.sample().get(std::string("stats/") + f, v);
		sst += std::string(" ") + f + " " + std::to_string(v);
	}
	note("perf: sample stats:%s", sst.c_str());
	r.accepted_per_s = st.nr_accepted / r.t_end;
	r.invalid_per_s = st.nr_invalid / r.t_end;
	note("perf: %lu samples accepted (%.0f/s), %lu invalid, %lu dropped, %lu CPUs",
	     st.nr_accepted, r.accepted_per_s, st.nr_invalid,
	     st.nr_dropped, st.nr_cpus);
}

/*
 * What "perf" sampled over the run: with @pmu, the test PMU's samples
 * since @pmu_v0 (a rate per second and CPU); DAMON's counts.
 */
void note_perf_stats(const damon_sysfs::kdamond &kd,
		     const damon_sysfs::context &ctx, const test_pmu::pmu *pmu,
		     const kmod::values &pmu_v0, run_result &r)
{
	if (pmu) {
		kmod::values v1;

		if (!pmu->read_stats(v1)) {
			kmod::values d = kmod::delta(pmu_v0, v1);

			note("perf: test PMU: %s", kmod::format(d).c_str());
			r.samples_per_s = d["samples"] / r.t_end /
					  monitor::nr_cpus();
			if (d["handled"] > 0) {
				const double ns = d["handler_ns"];

				r.handler_ns_per_sample = ns / d["handled"];
				r.handler_cpu_ms_per_s = ns / 1e6 / r.t_end;
			}
		}
	}
	read_sample_stats(kd, ctx, r);
}

/* How many accesses a second the generator made, and where. */
void note_generator_writes(const masim::generator &gen, const run_result &r)
{
	std::vector<uint64_t> w = gen.writes();
	uint64_t total = 0;
	std::string ws;

	for (size_t i = 0; i < w.size(); i++) {
		total += w[i];
		ws += " " + r.regions[i].name + " " + std::to_string(w[i]);
	}
	note("%s: generator made %.0f %s/s:%s", r.method.c_str(),
	     total / (r.t_end - r.t_start[0]),
	     refaults(r.method) ? "page faults" : "cache line writes",
	     ws.c_str());
}

/* The snapshots @tr took during the run, scored into @r. */
void collect_snapshots(tracer &tr, double t0, run_result &r)
{
	r.snaps = tr.taken();
	if (tr.lost())
		note("%s: %lu snapshots incomplete (trace events lost)",
		     r.method.c_str(), tr.lost());
	r.ran = true;
	evaluate(r, t0);
	note("%s: %zu snapshots, %zu regions in the last", r.method.c_str(),
	     r.scores.size(), r.scores.empty() ? 0 :
	     r.scores.back().snap->regions.size());
}

/*
 * Monitor a fresh generator with @method ("pte" or "perf") through
 * @phases.  @pmu is the test PMU for a replayed "perf" run; without it,
 * "perf" samples with @real.
 */
run_result run_method(const damon_sysfs::session &s, tracer &tr,
		      const std::string &method, const std::vector<phase> &phases,
		      const test_pmu::pmu *pmu,
		      const damon_sysfs::perf_event_attr &real)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	masim::generator gen(masim::default_regions(), 16ul << 20,
			     refaults(method), method == "numa_hint");
	run_result r;
	int err;

	r.method = method;
	r.phases = phases;
	r.detect_bound_ms = phases.empty() ? 0 : phases[0].seconds * 500;
	if (!gen.ok()) {
		r.error = "generator: " + gen.error();
		return r;
	}
	r.regions = gen.regions();
	for (const masim::region &g : r.regions)
		note("%s: region %s %#lx-%#lx (%lu MiB)", method.c_str(),
		     g.name.c_str(), g.start, g.end, (g.end - g.start) >> 20);

	err = setup_monitoring(s, ctx, gen.pid(), pmu, real, r);
	if (err) {
		r.error = "DAMON setup: " + monitor::err_name(err);
		return r;
	}

	kmod::values pmu_v0;

	if (pmu)
		pmu->read_stats(pmu_v0);
	tr.reset();
	err = kd.start();
	if (err) {
		r.error = "writing 'on': " + monitor::err_name(err);
		return r;
	}
	const steady::time_point start = steady::now();
	const double t0 = secs(start);
	const pid_t kpid = kd.pid();

	if (!wait_sampling(kd, tr, pmu, start, r))
		return r;

	/* the kdamond's CPU time from here: without the set-up commits */
	const double cpu0 = monitor::task_cpu_ms(kpid);
	const steady::time_point cpu_start = steady::now();

	if (!play_phases(kd, gen, pmu, t0, r))
		return r;
	const steady::time_point stop = steady::now();
	const double cpu1 = monitor::task_cpu_ms(kpid);

	r.t_end = secs(stop) - t0;
	if (cpu0 >= 0 && cpu1 >= 0)
		r.cpu_ms_per_s = (cpu1 - cpu0) /
			std::chrono::duration<double>(stop - cpu_start).count();
	if (samples(method))
		note_perf_stats(kd, ctx, pmu, pmu_v0, r);
	/* the aggregation interval in flight at the end */
	std::this_thread::sleep_for(std::chrono::microseconds(3 * aggr_us));
	kd.stop();
	if (pmu)
		pmu->set_addrs("clear");
	note_generator_writes(gen, r);
	collect_snapshots(tr, t0, r);
	return r;
}

/*
 * NUMA balancing on for "numa_hint", with a fixed scan period of
 * numa_scan_ms (of a task's run time) and a scan of up to 256 MiB, which
 * covers the generator; its other settings are the kernel's.  Transparent
 * huge pages off: NUMA balancing marks a huge page as one, so the
 * generator's hot set would fault a few times a second (14 samples/s in a
 * trial of 2026-12-07, precision 63%, recall 91%).  The destructor restores
 * every setting it changed.
 */
class numa_balancing {
public:
	numa_balancing()
	{
		static const char *const dir =
			"/sys/kernel/debug/sched/numa_balancing/";
		const std::string ms = std::to_string(numa_scan_ms);

		if (!set(std::string(dir) + "scan_period_min_ms", ms) ||
		    !set(std::string(dir) + "scan_period_max_ms", ms) ||
		    !set(std::string(dir) + "scan_size_mb", "256") ||
		    !set("/sys/kernel/mm/transparent_hugepage/enabled", "never"))
			return;
		set("/proc/sys/kernel/numa_balancing", "1");
	}
	~numa_balancing()
	{
		for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
			damon_sysfs::write_file(it->first, it->second);
	}
	numa_balancing(const numa_balancing &) = delete;
	numa_balancing &operator=(const numa_balancing &) = delete;
	const std::string &error() const { return error_; }

private:
	bool set(const std::string &path, const std::string &val)
	{
		std::string old;
		int err = damon_sysfs::read_file(path, old);

		/* "always [madvise] never": the choice in brackets */
		const size_t lb = old.find('['), rb = old.find(']');

		if (!err && lb != std::string::npos && rb > lb)
			old = old.substr(lb + 1, rb - lb - 1);
		if (!err)
			err = damon_sysfs::write_file(path, val);
		if (err) {
			error_ = path + ": " + monitor::err_name(err);
			return false;
		}
		saved_.emplace_back(path, old);
		return true;
	}

	std::vector<std::pair<std::string, std::string>> saved_;
	std::string error_;
};

/*
 * "numa_hint": run_method() on the plain generator with NUMA balancing on
 * and the page-fault event.
 */
run_result run_numa_hint(const damon_sysfs::session &s, tracer &tr,
			 const std::vector<phase> &phases,
			 const damon_sysfs::perf_event_attr &real)
{
	static const char *const sysctl = "/proc/sys/kernel/numa_balancing";
	run_result r;

	r.method = "numa_hint";
	if (!damon_sysfs::exists(sysctl)) {
		r.skip = std::string("no ") + sysctl +
			 " (CONFIG_NUMA_BALANCING)";
		r.error = r.skip;
		return r;
	}

	numa_balancing nb;

	if (!nb.error().empty()) {
		r.error = "NUMA balancing: " + nb.error();
		return r;
	}
	return run_method(s, tr, "numa_hint", phases, nullptr, real);
}

std::string fmt_detect(const run_result &r)
{
	std::string out;
	char buf[32];

	for (size_t i = 0; i < r.detect_ms.size(); i++) {
		if (std::isnan(r.detect_ms[i]))
			std::snprintf(buf, sizeof(buf), "%s-", i ? " " : "");
		else
			std::snprintf(buf, sizeof(buf), "%s%.0f", i ? " " : "",
				      r.detect_ms[i]);
		out += buf;
	}
	return out;
}

bool all_detected(const run_result &r)
{
	if (r.detect_ms.empty())
		return false;
	for (double d : r.detect_ms)
		if (std::isnan(d) || d > r.detect_bound_ms)
			return false;
	return true;
}

/* ---- the heatmap ---- */

const unsigned int heat_cells = 64;
const char shades[] = " .:-=+*#%@";
/* ANSI 256-colour backgrounds, cold to hot */
const int palette[] = { 16, 17, 19, 26, 32, 37, 106, 178, 208, 196 };

/* Byte-weighted nr_accesses of @s over [lo, hi). */
double cell_value(const snapshot &s, unsigned long lo, unsigned long hi)
{
	double sum = 0;

	for (const dregion &d : s.regions) {
		unsigned long a = std::max(d.start, lo), b = std::min(d.end, hi);

		if (a < b)
			sum += static_cast<double>(b - a) * d.nr_accesses;
	}
	return sum / (hi - lo);
}

void print_heatmap(const run_result &r, bool tty)
{
	const unsigned int per = heat_cells / r.regions.size();
	const double max_acc = static_cast<double>(aggr_us) / sample_us;
	std::string labels = "          ";
	int last_phase = -1;

	for (const masim::region &g : r.regions) {
		std::string l(per, ' ');

		l.replace((per - g.name.size()) / 2, g.name.size(), g.name);
		labels += "|" + l;
	}
	std::printf("\nDAMON's view (%s): one row per aggregation interval, the "
		    "generator's regions in %u cells each, shaded by nr_accesses "
		    "(0 to %.0f)\n", r.method.c_str(), per, max_acc);
	std::printf("shades: '%s' (low to high)\n", shades);
	std::printf("%s|\n", labels.c_str());
	for (const scored &sc : r.scores) {
		std::string row;
		char head[64];

		if (sc.phase != last_phase) {
			const phase &p = r.phases[sc.phase];
			std::string hot;

			for (size_t i = 0; i < r.regions.size(); i++)
				if (p.shares[i] > 0)
					hot += " " + r.regions[i].name;
			std::printf("---- phase %d at %.2f s: %s (hot:%s) %s\n",
				    sc.phase + 1, r.t_start[sc.phase],
				    masim::describe(r.regions, p).c_str(),
				    hot.c_str(), sc.phase ? "<== PHASE SWITCH" : "");
			last_phase = sc.phase;
		}
		std::snprintf(head, sizeof(head), "%7.2fs  ", sc.t);
		row = head;
		for (const masim::region &g : r.regions) {
			const unsigned long step = (g.end - g.start) / per;

			row += "|";
			for (unsigned int c = 0; c < per; c++) {
				unsigned long lo = g.start + c * step;
				unsigned long hi = c + 1 == per ? g.end : lo + step;
				double v = cell_value(*sc.snap, lo, hi);
				int lvl = v <= 0 ? 0 :
					std::min(9, 1 + static_cast<int>(v / max_acc * 9));

				if (tty)
					row += "\033[48;5;" + std::to_string(palette[lvl]) +
					       "m \033[0m";
				else
					row += shades[lvl];
			}
		}
		std::snprintf(head, sizeof(head), "|  P %3.0f%% R %3.0f%%",
			      sc.precision * 100, sc.recall * 100);
		row += head;
		std::printf("%s\n", row.c_str());
	}
}

/* ---- results ---- */

void write_results(const std::vector<run_result> &runs, double seconds)
{
	json out;

	out["mode"] = mode_name();
	out["accel"] = machine::accelerator();
	out["cpu_model"] = machine::cpu_model();
	out["kernel"] = machine::kernel_release();
	out["nr_cpus"] = monitor::nr_cpus();
	out["seconds"] = seconds;
	out["runs"] = json::array();
	for (const run_result &r : runs)
		if (r.ran)
			out["runs"].push_back(r.j);

	const std::string path = results_path("DAMON_ACCURACY_RESULTS",
					      "damon_accuracy", mode_name());
	const bool written = write_results_file(path, out.dump(1));

	note("results in %s", path.c_str());
	if (!written)
		note("writing %s failed", path.c_str());
}

void summarize(const run_result &r)
{
	note("%s: precision median %.3f, recall median %.3f, detection ms [%s] (bound %.0f), kdamond CPU %.1f ms/s",
	     r.method.c_str(), r.precision_median, r.recall_median,
	     fmt_detect(r).c_str(), r.detect_bound_ms, r.cpu_ms_per_s);
	if (!std::isnan(r.handler_ns_per_sample))
		note("%s: overflow handler %.0f ns a sample, %.1f ms/s of CPU",
		     r.method.c_str(), r.handler_ns_per_sample,
		     r.handler_cpu_ms_per_s);
}

std::vector<std::string> methods()
{
	if (!only_method.empty())
		return { only_method };
	if (mode == MODE_DEMO)
		return { "perf" };
	if (mode == MODE_FULL)
		return { "pte", "perf", "perf_4k", "pte_refault", "pagefault",
			 "numa_hint" };
	return { "pte", "perf", "perf_4k" };
}

/* What run() needs before it starts; skips (or fails the demo) otherwise. */
[[noreturn]] void cannot_run(const std::string &why)
{
	if (mode != MODE_DEMO)
		ktap::exit_skip(why);
	std::fprintf(stderr, "damon_accuracy: %s\n", why.c_str());
	std::exit(ktap::KSFT_SKIP);
}

/*
 * Skip (or fail the demo) when not root, without DAMON sysfs or the
 * tracepoint, or with a bad DAMON_DEMO_EVENT (@real_spec, parsed into
 * @real).
 */
void check_environment(const char *real_spec, damon_sysfs::perf_event_attr &real)
{
	std::string why;

	if (geteuid())
		cannot_run("needs root");
	if (!damon_sysfs::available())
		cannot_run("DAMON sysfs (CONFIG_DAMON_SYSFS) not available");
	if (real_spec && *real_spec && !demo_event(real_spec, real, why))
		cannot_run(why);
	why = tracepoint_unavailable();
	if (!why.empty())
		cannot_run(why);
}

/* Skip (or fail the demo) when the kernel has no perf events ABI. */
void check_perf_events(const damon_sysfs::session &s)
{
	if (s.set_nr_kdamonds(1) || s.get_kdamond(0).set_nr_contexts(1) ||
	    !s.get_kdamond(0).get_context(0).has_perf_events()) {
		s.reset();
		cannot_run("kernel has no monitoring_attrs/sample/perf_events");
	}
	s.reset();
}

/* Load the test PMU, or skip (or fail the demo) without it. */
std::unique_ptr<test_pmu::pmu> load_test_pmu()
{
	auto pmu = std::make_unique<test_pmu::pmu>();

	if (!pmu->ok()) {
		const std::string why = std::string(test_pmu::name) + ": " +
					pmu->error();

		/* cannot_run() exits without running destructors */
		pmu.reset();
		cannot_run(why);
	}
	return pmu;
}

/* The settings of this run and how "perf" samples, as diagnostics. */
void note_settings(bool use_test_pmu, bool want_perf,
		   const damon_sysfs::perf_event_attr &real)
{
	note("mode %s, accelerator %s, cpu '%s', kernel %s, %u CPUs",
	     mode_name(), machine::accelerator().c_str(), machine::cpu_model().c_str(),
	     machine::kernel_release().c_str(), monitor::nr_cpus());
	note("hot: nr_accesses >= %u of %lu per aggregation; steady: from %.1f s after a switch; detected: precision and recall >= %.0f%%",
	     hot_min_accesses, aggr_us / sample_us, settle_s, good * 100);
	if (use_test_pmu)
		note("perf: %u test PMU events of %lu samples/s per CPU each; perf_4k: of %lu", nr_pmu_events, pmu_event_hz, low_rate_per_cpu / nr_pmu_events);
	if (use_test_pmu)
		note("perf: the test PMU replays the generator's access shares: this measures DAMON's attribution and aggregation of samples drawn from the true distribution, not a real PMU's sampling bias");
	else if (want_perf)
		note("perf: real PMU event type %lu config %#lx config1 %#lx precise_ip %lu, %lu samples/s per CPU, no replay",
		     real.type, real.config, real.config1, real.precise_ip,
		     real.sample_freq);
}

/*
 * Each phase of @r: when it was detected or, if not within the bound, the
 * snapshots of the bound (how many, the best one's scores and time), so
 * that a failed detection case says which phase and how close it came.
 */
void note_detection(const run_result &r)
{
	for (size_t i = 0; i < r.detect_ms.size(); i++) {
		const double d = r.detect_ms[i];
		const scored *best = nullptr;
		unsigned int n = 0;

		if (!std::isnan(d) && d <= r.detect_bound_ms)
			continue;
		for (const scored &sc : r.scores) {
			if (sc.phase != static_cast<int>(i) ||
			    (sc.t - r.t_start[i]) * 1000 > r.detect_bound_ms)
				continue;
			n++;
			if (!best || std::min(sc.precision, sc.recall) >
				     std::min(best->precision, best->recall))
				best = &sc;
		}
		if (!best) {
			note("%s: phase %zu: no snapshot within %.0f ms of its start",
			     r.method.c_str(), i + 1, r.detect_bound_ms);
			continue;
		}
		note("%s: phase %zu: not detected within %.0f ms (%s): %u snapshots, best precision %.3f recall %.3f at +%.0f ms",
		     r.method.c_str(), i + 1, r.detect_bound_ms,
		     std::isnan(d) ? "never" : "later", n, best->precision,
		     best->recall, (best->t - r.t_start[i]) * 1000);
	}
}

/*
 * Note how the run @r went and, with @t (not the demo), its three cases,
 * each after its own diagnostics.
 */
void report_run(ktap::writer *t, const run_result &r)
{
	const std::string &method = r.method;
	const double want_recall = is_perf(method) ? good_replay_recall : good;

	if (!r.ran) {
		note("%s: %s", method.c_str(), r.error.c_str());
	} else {
		summarize(r);
	}
	if (!t)
		return;
	if (!r.skip.empty()) {
		for (const char *c : { "_precision", "_recall",
				       "_phase_change_detected" })
			t->skip(method + c, r.skip);
		return;
	}
	t->result(r.ran && r.precision_median >= good, method + "_precision");
	if (r.ran)
		note("%s: recall median %.3f, wanted >= %.2f", method.c_str(),
		     r.recall_median, want_recall);
	t->result(r.ran && r.recall_median >= want_recall, method + "_recall");
	if (r.ran) {
		note("%s: detection ms [%s], bound %.0f", method.c_str(),
		     fmt_detect(r).c_str(), r.detect_bound_ms);
		note_detection(r);
	}
	t->result(r.ran && all_detected(r), method + "_phase_change_detected");
}

/* The demo's heatmap and verdict for its one run @r; the exit code. */
int demo_verdict(const run_result &r)
{
	if (!r.ran) {
		std::printf("verdict: the run failed: %s\n", r.error.c_str());
		return ktap::KSFT_FAIL;
	}
	print_heatmap(r, isatty(STDOUT_FILENO));

	const bool found = r.precision_median >= good && r.recall_median >= good;
	const double change = r.detect_ms.size() > 1 ? r.detect_ms[1] : NAN;
	char det[96];

	if (std::isnan(change))
		std::snprintf(det, sizeof(det), "phase change NOT detected");
	else
		std::snprintf(det, sizeof(det), "phase change detected in %.0f ms",
			      change);
	std::printf("\n%s: precision %.0f%%, recall %.0f%%, %s\n",
		    found ? "hot set found" : "hot set NOT found",
		    r.precision_median * 100, r.recall_median * 100, det);
	return found ? ktap::KSFT_PASS : ktap::KSFT_FAIL;
}

int run()
{
	const std::vector<std::string> ms = methods();
	const bool want_perf = std::any_of(ms.begin(), ms.end(), samples);
	const bool want_test_pmu = std::any_of(ms.begin(), ms.end(), is_perf);
	const char *real_spec = mode == MODE_DEMO ? std::getenv("DAMON_DEMO_EVENT") : nullptr;
	damon_sysfs::perf_event_attr real;
	std::string why;

	check_environment(real_spec, real);

	damon_sysfs::session s;

	if (want_perf)
		check_perf_events(s);

	const bool use_test_pmu = want_test_pmu && !(real_spec && *real_spec);
	/* loaded only when used; the destructor unloads it */
	std::unique_ptr<test_pmu::pmu> pmu;

	if (use_test_pmu)
		pmu = load_test_pmu();

	auto tr = std::make_unique<tracer>();

	if (!tr->ok()) {
		why = "trace instance: " + tr->error();
		tr.reset();
		pmu.reset();
		cannot_run(why);
	}

	const std::vector<phase> phases = make_phases();
	std::unique_ptr<ktap::writer> t;
	std::vector<run_result> runs;
	const auto start = steady::now();

	if (mode != MODE_DEMO) {
		t = std::make_unique<ktap::writer>(3 * ms.size());
		tw = t.get();
	}
	note_settings(use_test_pmu, want_perf, real);

	for (const std::string &method : ms) {
		run_result r = method == "numa_hint" ?
			run_numa_hint(s, *tr, phases, real) :
			run_method(s, *tr, method, phases,
				   is_perf(method) ? pmu.get() : nullptr, real);

		s.reset();
		report_run(t.get(), r);
		runs.push_back(std::move(r));
	}

	const double took = std::chrono::duration<double>(steady::now() - start).count();

	write_results(runs, took);
	note("%s mode took %.1f s", mode_name(), took);
	if (t)
		return t->exit_code();
	return demo_verdict(runs.front());
}

} /* namespace */

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--full")) {
			mode = MODE_FULL;
		} else if (!std::strcmp(argv[i], "--smoke")) {
			mode = MODE_SMOKE;
		} else if (!std::strcmp(argv[i], "--demo")) {
			mode = MODE_DEMO;
		} else if (!std::strcmp(argv[i], "--method") && i + 1 < argc &&
			   (!std::strcmp(argv[i + 1], "pte") ||
			    !std::strcmp(argv[i + 1], "perf") ||
			    !std::strcmp(argv[i + 1], "perf_4k") ||
			    !std::strcmp(argv[i + 1], "pte_refault") ||
			    !std::strcmp(argv[i + 1], "pagefault") ||
			    !std::strcmp(argv[i + 1], "numa_hint"))) {
			only_method = argv[++i];
		} else {
			std::fprintf(stderr,
				     "usage: %s [--smoke | --full | --demo] [--method pte|perf|perf_4k|pte_refault|pagefault|numa_hint]\n",
				     argv[0]);
			return ktap::KSFT_FAIL;
		}
	}
	return ktap::guarded_main(run);
}
