// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmarks of DAMON's access report path, side by side in one boot, with
 * the test module test_damon_bench (selftests/test_damon_bench/):
 *
 * - Producer cost: damon_report_access() per call from hard-IRQ context
 *   with interrupts off (IPIs to a CPU that a thread of this program keeps
 *   busy), with a paddr context owning the rings ("owned") and without one
 *   ("no_owner"), next to a bare this_cpu_inc(), a tracepoint write (the
 *   module's own event, enabled through tracefs), models of SJ's original
 *   mutex_trylock() report array and of Ravi v2's per-CPU ring push, and a
 *   copy of damon_report_access() without CONFIG_PROVE_RCU's lockdep check
 *   (an estimate for production kernels; the test kernel has the check).
 * - Attribution cost per report for 10, 100, 1000 and 10000 regions of
 *   1 GiB: a copy of report.c's binary search, SJ's linear drain, and
 *   Mita's RFC v1 per-page histogram (record, walk every page, destroy),
 *   amortized over 4096 reports per sampling interval.
 *
 * Absolute numbers from a TCG guest are not real; the ratios of methods
 * measured side by side are the results.  Every point is the median and
 * p99 of timed batches.
 *
 * Usage: damon_bench [--smoke | --full]
 *   --smoke (the default, what make check runs): short runs, and the
 *     cases fail when a ratio fell to its "fails at" value in the baseline
 *     file (damon_bench.baseline next to this program, or
 *     $DAMON_BENCH_BASELINE) for this accelerator, or below (a regression
 *     beyond the spread of the runs the baseline was made of); they SKIP
 *     when the file is empty (the runs a baseline is made of), has no
 *     value for the accelerator or was made on another host
 *     (machine::host()).
 *   --full: the whole benchmark, with one case per goal of the issue
 *     (they fail when a goal is not met) and the same regression cases.
 *
 * Results go to $DAMON_BENCH_RESULTS (default
 * /tmp/damon_bench-<mode>.json) as JSON; the module is looked for in
 * $DAMON_HWS_BENCH_KO, else next to this program.  SKIPs when not root,
 * without DAMON sysfs or perf events, or with a single CPU.
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/kmod.h"
#include "lib/machine.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using json = nlohmann::json;
using monitor::err_name;
using kmod::value_of;

const char *const mod_name = "test_damon_bench";
const std::string dbg_dir = "/sys/kernel/debug/test_damon_bench";
const std::string tp_event = "events/damon_bench/damon_bench_access";

/* The physical range of the owning paddr context (the VM has 2 GiB). */
const unsigned long mib = 1ul << 20;
const unsigned long mon_start = 256 * mib;
const unsigned long mon_end = 320 * mib;

bool full_mode;

/* How much of everything each mode runs. */
struct plan {
	unsigned int prod_rounds;
	unsigned int prod_batch;
	bool no_owner;
	std::vector<unsigned int> regions;
	unsigned int attr_rounds;
	unsigned int attr_batch;
	unsigned int walks;
	unsigned int intervals;
	/* regions count of the end-to-end per-page interval, 0 for none */
	unsigned int direct_regions;
	unsigned int direct;
};

plan make_plan()
{
	if (full_mode)
		return { 3000, 32, true, { 10, 100, 1000, 10000 }, 1000, 64,
			 5, 8, 10, 2 };
	return { 500, 32, false, { 10, 1000 }, 300, 64, 2, 2, 0, 0 };
}

/* Reports of the linear scan per timed batch: batches of similar length. */
unsigned int linear_batch(unsigned int regions)
{
	return std::clamp(6400u / regions, 1u, 64u);
}

/* Regions at which each ratio is taken. */
const unsigned int linear_at = 1000;
const unsigned int per_page_at = 10;

struct summary {
	double median = 0, p99 = 0, mean = 0, min = 0;
	size_t n = 0;
};

/* One series of the module: nanoseconds per operation of each sample. */
struct series {
	std::string clock;
	unsigned int per = 1;
	std::vector<double> ns;
	summary sum;
};

using series_map = std::map<std::string, series>;

summary summarize(std::vector<double> v)
{
	summary s;

	if (v.empty())
		return s;
	std::sort(v.begin(), v.end());
	s.n = v.size();
	s.min = v.front();
	s.median = median(v);
	/* nearest rank */
	s.p99 = v[static_cast<size_t>(std::ceil(0.99 * v.size())) - 1];
	double total = 0;
	for (double x : v)
		total += x;
	s.mean = total / v.size();
	return s;
}

json to_json(const summary &s)
{
	return { { "median_ns", s.median }, { "p99_ns", s.p99 },
		 { "mean_ns", s.mean },    { "min_ns", s.min },
		 { "n", s.n } };
}

int read_series(series_map &out)
{
	std::string text;
	int err = damon_sysfs::read_file(dbg_dir + "/samples", text);

	if (err)
		return err;
	out.clear();
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		std::istringstream l(line);
		std::string name;
		series s;
		size_t nr = 0;
		unsigned long long ps;

		if (!(l >> name >> s.clock >> s.per >> nr) || !s.per)
			return -EINVAL;
		while (l >> ps)
			s.ns.push_back(static_cast<double>(ps) / 1000.0 / s.per);
		if (s.ns.size() != nr)
			return -EINVAL;
		s.sum = summarize(s.ns);
		out[name] = std::move(s);
	}
	return 0;
}

int read_info(kmod::values &v)
{
	return kmod::read_values(dbg_dir + "/info", v);
}

/* Run one command of the module; 0 or -errno. */
int run_cmd(const ktap::writer &t, const std::string &cmd)
{
	auto t0 = std::chrono::steady_clock::now();
	int err = damon_sysfs::write_file(dbg_dir + "/run", cmd);
	std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;

	t.diagf("run '%s': %s in %.1f s", cmd.c_str(), err_name(err).c_str(),
		d.count());
	return err;
}

/* ---- tracefs ---- */

/* Events written to @cpu's trace buffer so far (entries + overrun). */
long trace_written(const std::string &tdir, unsigned int cpu)
{
	std::ifstream f(tdir + "/per_cpu/cpu" + std::to_string(cpu) + "/stats");
	std::string line;
	long total = 0;
	bool seen = false;

	while (std::getline(f, line)) {
		long v;

		if (std::sscanf(line.c_str(), "entries: %ld", &v) == 1 ||
		    std::sscanf(line.c_str(), "overrun: %ld", &v) == 1) {
			total += v;
			seen = true;
		}
	}
	return seen ? total : -1;
}

/* ---- baseline ---- */

std::string baseline_path()
{
	const char *p = std::getenv("DAMON_BENCH_BASELINE");

	return p ? p : drgn::exe_dir() + "/damon_bench.baseline";
}

struct baseline {
	std::string host;
	/* "accel.ratio": median and the value at or below which it fails */
	std::map<std::string, std::pair<double, double>> ratios;
};

/*
 * A "host KEY" line and "accel.ratio median fails_at" lines, '#' comments:
 * 0 or -errno; -ENODATA for a file with neither (/dev/null, as the runs
 * that make a baseline use).
 */
int read_baseline(const std::string &path, baseline &b)
{
	std::ifstream f(path);
	std::string line;

	if (!f)
		return -ENOENT;
	while (std::getline(f, line)) {
		std::istringstream l(line);
		std::string key, extra;
		double median, fail_at;

		if (line.empty() || line[0] == '#')
			continue;
		if (line.rfind("host ", 0) == 0) {
			if (!(l >> key >> b.host) || l >> extra)
				return -EINVAL;
			continue;
		}
		if (!(l >> key >> median >> fail_at) || l >> extra ||
		    fail_at >= median)
			return -EINVAL;
		b.ratios[key] = { median, fail_at };
	}
	if (b.host.empty())
		return b.ratios.empty() ? -ENODATA : -EINVAL;
	return 0;
}

/* ---- the runs ---- */

struct producer_result {
	bool ran = false;
	unsigned int rounds = 0;
	series_map s;
	kmod::values info;
	long trace_delta = -1;
};

/* One producer run, the tracepoint enabled for it. */
/* Pin the calling thread to @cpu. */
bool pin_to(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return !sched_setaffinity(0, sizeof(set), &set);
}

/*
 * A thread that keeps @cpu busy in user space while it lives, so that the
 * module's IPIs interrupt it (hard IRQ) instead of being picked up by a
 * polling idle loop.
 */
class spinner {
public:
	explicit spinner(unsigned int cpu)
		: thread([this, cpu] {
			  pin_to(cpu);
			  while (!stop.load(std::memory_order_relaxed))
				  ;
		  })
	{
	}
	spinner(const spinner &) = delete;
	spinner &operator=(const spinner &) = delete;
	~spinner()
	{
		stop = true;
		thread.join();
	}

private:
	std::atomic<bool> stop{ false };
	std::thread thread;
};

bool run_producer(const ktap::writer &t, const plan &p, unsigned int cpu,
		  const std::string &tdir, bool owned, producer_result &r)
{
	const std::string enable = tdir + "/" + tp_event + "/enable";
	long before = trace_written(tdir, cpu), after;
	int err = damon_sysfs::write_file(enable, "1");

	if (err) {
		t.diagf("enabling %s: %s", enable.c_str(), err_name(err).c_str());
		return false;
	}
	{
		spinner busy(cpu);

		err = run_cmd(t, "producer cpu=" + std::to_string(cpu) +
				 " rounds=" + std::to_string(p.prod_rounds) +
				 " batch=" + std::to_string(p.prod_batch) +
				 " owned=" + (owned ? "1" : "0"));
	}
	damon_sysfs::write_file(enable, "0");
	after = trace_written(tdir, cpu);
	/* drop the events again: truncating "trace" clears the buffers */
	std::ofstream(tdir + "/trace", std::ios::trunc);
	if (err)
		return false;
	if (read_series(r.s) || read_info(r.info)) {
		t.diag("reading the module's results failed");
		return false;
	}
	r.rounds = p.prod_rounds;
	if (before >= 0 && after >= 0)
		r.trace_delta = after - before;
	r.ran = true;
	return true;
}

const char *const prod_methods[] = { "empty",	    "percpu_inc", "report_access",
				     "tracepoint",  "mutex_array",	  "ring256",
				     "rcu_deref_sched", "report_copy" };

void print_producer(const ktap::writer &t, const char *phase,
		    const producer_result &r)
{
	t.diagf("producer (%s): ns per call, batches of %lu, hard-IRQ, irqs off",
		phase, value_of(r.info, "batch"));
	for (const char *m : prod_methods) {
		auto it = r.s.find(m);

		if (it == r.s.end())
			continue;
		const summary &s = it->second.sum;
		t.diagf("  %-14s median %9.2f  p99 %9.2f  mean %9.2f  min %9.2f  n %zu",
			m, s.median, s.p99, s.mean, s.min, s.n);
	}
	t.diagf("  info: %s trace_written=%ld", kmod::format(r.info).c_str(),
		r.trace_delta);
	if (r.s.count("report_copy")) {
		const double est = r.s.at("report_copy").sum.median;

		t.diagf("  estimate without CONFIG_PROVE_RCU (report_copy): %.2f ns, tracepoint/report_copy %.2f, ring256/report_copy %.2f",
			est, r.s.at("tracepoint").sum.median / est,
			r.s.at("ring256").sum.median / est);
	}
}

struct attribution_result {
	bool ran = false;
	unsigned int regions = 0;
	series_map s;
	kmod::values info;
	/* per report, amortized over one sampling interval's reports */
	double bsearch_amortized = 0;
	/* the same with the bsearch batches timed between the walk chunks */
	double bsearch_pp_amortized = 0;
	double per_page = 0;
	double per_page_xas = 0;
	double per_page_direct = 0;
};

bool run_attribution(const ktap::writer &t, const plan &p, unsigned int regions,
		     attribution_result &r)
{
	const bool direct = regions == p.direct_regions && p.direct;
	std::ostringstream cmd;

	cmd << "attribution regions=" << regions << " rounds=" << p.attr_rounds
	    << " batch=" << p.attr_batch
	    << " linear_batch=" << linear_batch(regions)
	    << " walks=" << (regions == per_page_at || full_mode ? p.walks : 0)
	    << " intervals=" << p.intervals << " direct=" << (direct ? p.direct : 0);
	if (run_cmd(t, cmd.str()))
		return false;
	if (read_series(r.s) || read_info(r.info)) {
		t.diag("reading the module's results failed");
		return false;
	}
	r.regions = regions;

	const double reports =
		static_cast<double>(value_of(r.info, "reports_per_interval"));
	const summary &bs = r.s["bsearch"].sum, &snap = r.s["snapshot"].sum;
	const summary &rec = r.s["pp_record"].sum, &des = r.s["pp_destroy"].sum;
	const summary &walk = r.s["pp_walk"].sum, &wxas = r.s["pp_walk_xas"].sum;

	if (reports <= 0)
		return false;
	r.bsearch_amortized = bs.median + snap.median / reports;
	const summary &bpp = r.s["bsearch_pp"].sum;
	r.bsearch_pp_amortized = (bpp.n ? bpp.median : bs.median) +
				 snap.median / reports;
	if (walk.n) {
		r.per_page = rec.median + (regions * walk.median + des.median) / reports;
		r.per_page_xas = rec.median +
			(regions * wxas.median + des.median) / reports;
	}
	if (r.s.count("pp_interval") && r.s["pp_interval"].sum.n)
		r.per_page_direct = r.s["pp_interval"].sum.median / reports;
	r.ran = true;
	return true;
}

void print_attribution(const ktap::writer &t, const attribution_result &r)
{
	t.diagf("attribution, %u regions of 1 GiB, %lu reports per interval:",
		r.regions, value_of(r.info, "reports_per_interval"));
	for (const auto &kv : r.s) {
		const summary &s = kv.second.sum;
		const char *unit = kv.first == "pp_walk" || kv.first == "pp_walk_xas" ?
			"ns per 1 GiB region" : kv.first == "snapshot" ||
			kv.first == "pp_destroy" || kv.first == "pp_interval" ?
			"ns per interval" : "ns per report";

		t.diagf("  %-12s median %12.1f  p99 %12.1f  n %zu  (%s)",
			kv.first.c_str(), s.median, s.p99, s.n, unit);
	}
	t.diagf("  per report, amortized: bsearch %.1f ns (%.1f ns next to the walks), per-page %.1f ns (xas walk %.1f ns)",
		r.bsearch_amortized, r.bsearch_pp_amortized, r.per_page,
		r.per_page_xas);
	if (r.per_page_direct > 0)
		t.diagf("  per-page measured end to end: %.1f ns per report (model above: %.1f)",
			r.per_page_direct, r.per_page);
	t.diagf("  info: %s", kmod::format(r.info).c_str());
}

/* ---- ratios and cases ---- */

struct ratio {
	const char *key;
	const char *what;
	double goal;
	double value = NAN;
};

json attribution_json(const attribution_result &r)
{
	json j;

	for (const auto &kv : r.s)
		j["series"][kv.first] = to_json(kv.second.sum);
	j["info"] = r.info;
	j["per_report_ns"] = { { "bsearch", r.s.at("bsearch").sum.median },
			       { "bsearch_amortized", r.bsearch_amortized },
			       { "bsearch_pp_amortized", r.bsearch_pp_amortized },
			       { "linear", r.s.at("linear").sum.median },
			       { "per_page", r.per_page },
			       { "per_page_xas", r.per_page_xas },
			       { "per_page_direct", r.per_page_direct } };
	return j;
}

json producer_json(const producer_result &r)
{
	json j;

	for (const auto &kv : r.s)
		j["series"][kv.first] = to_json(kv.second.sum);
	j["info"] = r.info;
	j["trace_written"] = r.trace_delta;
	return j;
}

bool producer_sane(const ktap::writer &t, const producer_result &r, bool owned)
{
	/* every attempt made each method's calls; the hard-IRQ ones count */
	const unsigned long calls =
		value_of(r.info, "attempts") * value_of(r.info, "batch");
	const unsigned long pushed = value_of(r.info, "report_pushed");
	bool ok = r.ran && value_of(r.info, "rounds") == r.rounds && calls &&
		  pushed == calls && !value_of(r.info, "report_dropped_nested") &&
		  !value_of(r.info, "mutex_dropped") && !value_of(r.info, "ring256_dropped") &&
		  !value_of(r.info, "copy_dropped") &&
		  value_of(r.info, "tracepoint_enabled") == 1 &&
		  r.trace_delta >= static_cast<long>(calls);

	if (owned)
		/* the writer waits for room: nothing is dropped */
		ok = ok && !value_of(r.info, "report_dropped_no_owner") &&
		     !value_of(r.info, "report_dropped_full") &&
		     r.s.at("report_access").sum.n == r.rounds;
	else
		ok = ok && value_of(r.info, "report_dropped_no_owner") == calls;
	if (!ok)
		t.diagf("expected %u rounds in hard IRQ, the tracepoint written each time and %s",
			r.rounds,
			owned ? "every report queued" : "every report dropped_no_owner");
	return ok;
}

bool attribution_sane(const ktap::writer &t, const attribution_result &r)
{
	bool ok = r.ran &&
		  value_of(r.info, "bsearch_marked") ==
			  value_of(r.info, "bsearch_reports") &&
		  value_of(r.info, "bsearch_pp_marked") ==
			  value_of(r.info, "bsearch_pp_reports") &&
		  value_of(r.info, "linear_found") ==
			  value_of(r.info, "linear_reports") &&
		  value_of(r.info, "bsearch_reports") > 0;

	if (r.per_page_direct > 0)
		ok = ok && value_of(r.info, "pp_direct_found") ==
			   r.s.at("pp_interval").sum.n *
				   value_of(r.info, "reports_per_interval");
	if (!ok)
		t.diag("every report must fall into a region, for every method");
	return ok;
}

/* The ratios the benchmark is for, not measured yet. */
std::vector<ratio> make_ratios()
{
	return {
		{ "tracepoint_over_report_access",
		  "report_access median <= 1/10 of a tracepoint write", 10 },
		{ "ring256_over_report_access",
		  "report_access median no slower than Ravi v2's ring push", 1 },
		{ "linear_over_bsearch_1000",
		  "binary search >= 10x faster than linear at 1000 regions", 10 },
		{ "per_page_over_bsearch_10",
		  "binary search >= 100x faster than per-page on 1 GiB regions", 100 },
	};
}

/* What run() measured, for the cases and the results file. */
struct bench_results {
	producer_result owned, no_owner;
	std::map<unsigned int, attribution_result> attr;
	std::vector<ratio> ratios = make_ratios();
	/* the baseline medians the regression cases compared with */
	json baseline;
};

/*
 * The producer runs on @cpu, first with a paddr context that owns the
 * rings, then (@p.no_owner) without one, and their sanity cases.
 */
void producer_cases(ktap::writer &t, const damon_sysfs::session &s,
		    const plan &p, unsigned int cpu, const std::string &tdir,
		    bench_results &res)
{
	/* producer, with a context that owns the rings */
	damon_sysfs::paddr_monitor pm;
	pm.start = mon_start;
	pm.end = mon_end;
	pm.report_sink = true;
	int err = damon_sysfs::setup_paddr_monitor(s, pm);
	if (err)
		t.diagf("paddr setup: %s", err_name(err).c_str());
	else if (start_kdamond(t, s.get_kdamond(0)))
		run_producer(t, p, cpu, tdir, true, res.owned);
	s.reset();
	if (res.owned.ran)
		print_producer(t, "owned ring", res.owned);
	t.result(producer_sane(t, res.owned, true), "producer_owned_ring");

	if (p.no_owner) {
		run_producer(t, p, cpu, tdir, false, res.no_owner);
		if (res.no_owner.ran)
			print_producer(t, "no owner", res.no_owner);
		t.result(producer_sane(t, res.no_owner, false), "producer_no_owner");
	}
}

/* An attribution run and its sanity case for each count of regions. */
void attribution_cases(ktap::writer &t, const plan &p, bench_results &res)
{
	for (unsigned int n : p.regions) {
		attribution_result &r = res.attr[n];

		if (run_attribution(t, p, n, r))
			print_attribution(t, r);
		t.result(attribution_sane(t, r),
			 "attribution_" + std::to_string(n) + "_regions");
	}
}

/*
 * The ratios from the runs that ran; NAN stays for the others.  The
 * series and runs are looked up with [] as they always were: a missing
 * one reads as empty.
 */
void compute_ratios(bench_results &res)
{
	std::vector<ratio> &ratios = res.ratios;
	producer_result &owned = res.owned;
	std::map<unsigned int, attribution_result> &attr = res.attr;

	/* the ratios: how many times cheaper ours is */
	if (owned.ran) {
		const double rep = owned.s["report_access"].sum.median;

		ratios[0].value = owned.s["tracepoint"].sum.median / rep;
		ratios[1].value = owned.s["ring256"].sum.median / rep;
	}
	if (attr[linear_at].ran)
		ratios[2].value = attr[linear_at].s["linear"].sum.median /
				  attr[linear_at].s["bsearch"].sum.median;
	if (attr[per_page_at].ran && attr[per_page_at].per_page_xas > 0)
		/*
		 * the per-page method's lower bound, the xas walk, against the
		 * binary search timed between its chunks
		 */
		ratios[3].value = attr[per_page_at].per_page_xas /
				  attr[per_page_at].bsearch_pp_amortized;
}

/* The ratios_measured case, and each ratio against its goal. */
void report_ratios(ktap::writer &t, const std::vector<ratio> &ratios)
{
	t.result(std::none_of(ratios.begin(), ratios.end(),
			      [](const ratio &r) { return std::isnan(r.value); }),
		 "ratios_measured");
	for (const ratio &r : ratios)
		t.diagf("ratio %s = %.2f (goal >= %g: %s)", r.key, r.value, r.goal,
			std::isnan(r.value) ? "not measured" :
			r.value >= r.goal ? "met" : "NOT met");
}

/* --full: a case per goal of the issue, failing when it is not met. */
void goal_cases(ktap::writer &t, const std::vector<ratio> &ratios)
{
	for (const ratio &r : ratios) {
		if (std::isnan(r.value)) {
			t.skip(std::string("goal_") + r.key, "not measured");
			continue;
		}
		t.diagf("goal: %s: measured %.2f, wanted >= %g", r.what,
			r.value, r.goal);
		t.result(r.value >= r.goal, std::string("goal_") + r.key);
	}
}

/*
 * A no_regression_ case per ratio, against the baseline file's value for
 * @accel when it was made on @host; the baseline medians compared with.
 */
json regression_cases(ktap::writer &t, const std::vector<ratio> &ratios,
		      const std::string &accel, const std::string &host)
{
	baseline base;
	const std::string bpath = baseline_path();
	const int err = read_baseline(bpath, base);
	if (err)
		t.diagf("baseline %s: %s", bpath.c_str(), err_name(err).c_str());
	json jbase;
	/*
	 * The baselines are from kernels without a sanitizer: KASAN's and
	 * KCSAN's hooks slow each method by a different factor (the per-page
	 * walk touches far more memory than the search), so a ratio measured
	 * under them is no regression of the series.
	 */
	const std::string san = machine::sanitizer();
	for (const ratio &r : ratios) {
		const std::string name = std::string("no_regression_") + r.key;
		auto it = base.ratios.find(accel + "." + r.key);

		if (!san.empty()) {
			t.skip(name, "baselines are for kernels without " + san);
			continue;
		}
		if (err == -ENODATA) {
			t.skip(name, "no baseline in " + bpath);
			continue;
		}
		if (err) {
			t.result(false, name);
			continue;
		}
		if (it == base.ratios.end()) {
			t.skip(name, "no baseline for accelerator " + accel);
			continue;
		}
		if (base.host != host) {
			t.skip(name, "baseline made on host " + base.host + ", this is " +
				     host + " (make bench BENCH_KERNEL=test makes one here)");
			continue;
		}
		jbase[r.key] = it->second.first;
		if (std::isnan(r.value)) {
			t.result(false, name);
			continue;
		}
		t.diagf("%s: %.2f, baseline %.2f, fails at %.2f or below", r.key,
			r.value, it->second.first, it->second.second);
		t.result(r.value > it->second.second, name);
	}
	return jbase;
}

/* The results file: the machine, every run's series, ratios and baseline. */
void write_results(const ktap::writer &t, const bench_results &res,
		   const std::string &accel, const std::string &host,
		   unsigned int bench_cpu, double took)
{
	json out;
	out["mode"] = full_mode ? "full" : "smoke";
	out["accelerator"] = accel;
	out["cpu_model"] = machine::cpu_model();
	out["host"] = host;
	out["kernel"] = machine::kernel_release();
	out["nr_cpus"] = monitor::nr_cpus();
	out["bench_cpu"] = bench_cpu;
	out["seconds"] = took;
	if (res.owned.ran)
		out["producer"]["owned"] = producer_json(res.owned);
	if (res.no_owner.ran)
		out["producer"]["no_owner"] = producer_json(res.no_owner);
	for (const auto &kv : res.attr)
		if (kv.second.ran)
			out["attribution"][std::to_string(kv.first)] =
				attribution_json(kv.second);
	for (const ratio &r : res.ratios) {
		out["ratios"][r.key] = std::isnan(r.value) ? json() : json(r.value);
		out["goals"][r.key] = r.goal;
	}
	out["baseline"] = res.baseline;
	const std::string rpath = results_path("DAMON_BENCH_RESULTS", "damon_bench",
					       full_mode ? "full" : "smoke");
	const bool written = write_results_file(rpath, out.dump(1));
	t.diagf("results in %s; %.1f s", rpath.c_str(), took);
	if (!written)
		t.diagf("writing %s failed", rpath.c_str());
}

int run()
{
	require_damon_sysfs_or_skip(true);
	if (monitor::nr_cpus() < 2)
		ktap::exit_skip("needs two CPUs");

	const plan p = make_plan();
	const std::string accel = machine::accelerator();
	bench_results res;
	/* sanity cases, then goals (full only), then regressions */
	unsigned int nr_cases = 1 + 2 + p.regions.size() + (p.no_owner ? 1 : 0) +
				(full_mode ? res.ratios.size() : 0) + res.ratios.size();
	ktap::writer t(nr_cases);
	damon_sysfs::session s;
	const auto start = std::chrono::steady_clock::now();

	t.diagf("mode %s, accelerator %s, cpu '%s', kernel %s, %u CPUs",
		full_mode ? "full" : "smoke", accel.c_str(), machine::cpu_model().c_str(),
		machine::kernel_release().c_str(), monitor::nr_cpus());

	kmod::module mod(mod_name, kmod::module_path(mod_name, "DAMON_HWS_BENCH_KO"));
	if (mod.loaded() && !damon_sysfs::exists(dbg_dir))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
	if (!t.result(mod.loaded() && damon_sysfs::exists(dbg_dir), "module_loaded")) {
		t.diag(mod.loaded() ? "no " + dbg_dir : mod.error());
		t.skip_rest("no benchmark module");
		return t.exit_code();
	}
	const std::string tdir = monitor::tracefs_dir();
	if (tdir.empty() || !damon_sysfs::exists(tdir + "/" + tp_event))
		t.diag("no tracefs or no test_damon_bench tracepoint in it");

	/* the writer on CPU 0, the IPIs to CPU 1 */
	const unsigned int bench_cpu = 1;
	if (!pin_to(0))
		t.diag("could not pin to CPU 0");

	producer_cases(t, s, p, bench_cpu, tdir, res);
	attribution_cases(t, p, res);
	compute_ratios(res);
	report_ratios(t, res.ratios);
	if (full_mode)
		goal_cases(t, res.ratios);

	const std::string host = machine::host();

	res.baseline = regression_cases(t, res.ratios, accel, host);

	std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
	write_results(t, res, accel, host, bench_cpu, took.count());
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
