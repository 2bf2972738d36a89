// SPDX-License-Identifier: GPL-2.0
/*
 * Perf events as data attribute probe filters: the "perf_event" type of
 * monitoring_attrs/probes/<P>/filters/<F>/, with the synthetic test PMU damon_test_pmu
 * (selftests/damon_test_pmu/) on a physical address context: the filter's files
 * (filter_file_cases()), bad filters refused at "on" (bad_filter_cases()) and the memory such
 * probes hit, also as weighted probes (hit_cases()).  SKIPs when not root, without DAMON
 * sysfs, without perf events or probes in the kernel, or without physically contiguous buffers.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/phys_buffer.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace monitor;
using damon_sysfs::node;
using damon_sysfs::perf_event_attr;

const unsigned long page_sz = 4096, mib = 1ul << 20;
/* snapshots the hit judgements look at */
const unsigned int nr_looks = 7;

bool file_mode(const std::string &path, mode_t mode)
{
	struct stat st;

	return !stat(path.c_str(), &st) && (st.st_mode & 07777) == mode;
}

/* Does @file of @n read back as @want? */
bool reads(const node &n, const std::string &file, const std::string &want)
{
	std::string v;

	return !n.get(file, v) && v == want;
}

/* A filter's files, written in this order; an empty value is not written. */
const char *const filter_files[] = { "type", "matching", "allow", "perf_event_type", "perf_event" };
using filter_spec = std::array<std::string, std::size(filter_files)>;

/* kdamond 0 on paddr over @ranges, sampling with @events, with @probes (their filters). */
int setup(const damon_sysfs::session &s, const std::vector<perf_event_attr> &events,
	  const std::vector<std::vector<filter_spec>> &probes,
	  const std::vector<damon_sysfs::range> &ranges = { { 256 * mib, 320 * mib } })
{
	const damon_sysfs::context ctx = s.get_kdamond(0).get_context(0);
	const node dir(ctx.path("monitoring_attrs/probes"));
	damon_sysfs::paddr_monitor m;
	int err;

	m.start = ranges.front().start;
	m.end = ranges.back().end;
	/* DAMON wants at least 3 */
	m.min_nr_regions = std::max<size_t>(3, ranges.size());
	err = damon_sysfs::setup_paddr_monitor(s, m);
	if (!err)
		err = ctx.get_target(0).set_regions(ranges);
	if (!err)
		err = ctx.set_perf_events(events);
	if (!err)
		err = dir.set("nr_probes", probes.size());
	for (size_t p = 0; !err && p < probes.size(); p++) {
		const std::string filters = num(p) + "/filters/";

		err = dir.set(filters + "nr_filters", probes[p].size());
		for (size_t i = 0; !err && i < probes[p].size(); i++)
			for (size_t j = 0; !err && j < std::size(filter_files); j++)
				if (!probes[p][i][j].empty())
					err = dir.set(filters + num(i) + "/" + filter_files[j],
						      probes[p][i][j]);
	}
	return err;
}

void filter_file_cases(ktap::writer &t, const damon_sysfs::session &s, const test_pmu::pmu &pmu)
{
	const damon_sysfs::context ctx = s.get_kdamond(0).get_context(0);
	const node f(ctx.path("monitoring_attrs/probes/0/filters/0"));
	const damon_sysfs::perf_event e = ctx.get_perf_event(0);
	unsigned long type = 0;
	bool ok;

	ok = !setup(s, { pmu.event() }, { { { "perf_event", "Y", "Y", "", "" } } }) &&
	     file_mode(f.path("perf_event_type"), 0600) && file_mode(f.path("perf_event"), 0600) &&
	     reads(f, "type", "perf_event") && reads(f, "perf_event_type", "") &&
	     reads(f, "perf_event", "none");
	ok = ok && !f.set("perf_event", "3") && reads(f, "perf_event", "3") &&
	     f.set("perf_event", "-1") == -EINVAL && f.set("perf_event", "16") == -EINVAL &&
	     f.set("perf_event", "x") == -EINVAL && reads(f, "perf_event", "3") &&
	     !f.set("perf_event", "none") && reads(f, "perf_event", "none");
	ok = ok && !f.set("perf_event_type", "damon_test_pmu") &&
	     reads(f, "perf_event_type", "damon_test_pmu") && !f.set("perf_event_type", "\n") &&
	     reads(f, "perf_event_type", "");
	t.result(ok, "filter_files");

	ok = !e.set("type", "none") && !e.set("type", "damon_test_pmu") && !e.get("type", type) &&
	     type == static_cast<unsigned long>(pmu.type());
	t.diagf("type after writing the name: %lu (PMU type %d)", type, pmu.type());
	ok = ok && e.set("type", "no_such_pmu") == -ENODEV && reads(e, "type", num(type));
	t.result(ok, "event_type_takes_pmu_name");
	s.reset();
}

/* "on" with one bad perf_event filter each: the errno of its mistake, nothing started. */
void bad_filter_cases(ktap::writer &t, const damon_sysfs::session &s, const test_pmu::pmu &pmu)
{
	/* name, perf_event_type, perf_event, errno of "on" */
	static const std::tuple<const char *, const char *, const char *, int> cases[] = {
		{ "nothing_named", "", "", -EINVAL },
		{ "unknown_pmu", "no_such_pmu", "", -ENODEV },
		{ "index_past_events", "", "1", -EINVAL },
		{ "index_of_other_pmu", "software", "0", -EINVAL },
		{ "pmu_without_default_event", "software", "", -EINVAL },
		{ "ibs_op_absent", "ibs_op", "", -ENODEV },
	};
	const damon_sysfs::kdamond kd = s.get_kdamond(0);

	for (const auto &[name, pmu_name, idx, want] : cases) {
		int err = -EIO;

		if (pmu_name == std::string("ibs_op") &&
		    damon_sysfs::exists("/sys/bus/event_source/devices/ibs_op")) {
			t.skip(name, "this machine has IBS Op");
			continue;
		}
		if (!setup(s, { pmu.event() }, { { { "perf_event", "Y", "Y", pmu_name, idx } } }))
			err = kd.start();
		t.diagf("%s: on gave %s", name, err_name(err).c_str());
		t.result(err == want && !kd.running(), name);
		s.reset();
	}
}

/* [probe][buffer A, F or B]: in how many of nr_looks snapshots the probe hit the buffer */
enum { A, F, B };
using hit_counts = std::array<std::array<unsigned int, 3>, 3>;

/* Snapshots of @kd's probe hits in the buffers at @starts, @len bytes each. */
hit_counts look(const ktap::writer &t, const damon_sysfs::kdamond &kd,
		const unsigned long (&starts)[3], unsigned long len)
{
	std::vector<region> regions;
	hit_counts c{};
	/* probe hits of @p summed over the regions that overlap [lo, hi) */
	const auto hits_in = [&regions](unsigned int p, unsigned long lo, unsigned long hi) {
		unsigned long sum = 0;

		for (const region &r : regions)
			if (r.start < hi && r.end > lo && p < r.probe_hits.size())
				sum += r.probe_hits[p];
		return sum;
	};

	for (unsigned int i = 0; i < nr_looks; i++) {
		std::this_thread::sleep_for(poll_period);
		if (!snapshot(kd, regions))
			continue;
		for (unsigned int p = 0; p < 3; p++) {
			unsigned long h[3];

			for (int b : { A, F, B }) {
				h[b] = hits_in(p, starts[b], starts[b] + len);
				c[p][b] += h[b] > 0;
			}
			t.diagf("look %u probe %u: hits A %lu F %lu B %lu", i, p, h[A], h[F], h[B]);
		}
	}
	return c;
}

void hit_cases(ktap::writer &t, const damon_sysfs::session &s, const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	/*
	 * F's shmem pages are allocated one at a time, first from the per-CPU free lists, which
	 * hold scattered pages after a busy run (upstream's kselftests, dropped caches): 16 MiB
	 * outlasts them and reaches pages taken from the buddy allocator in batches, which are
	 * contiguous.
	 */
	phys_buffer a(2 * mib), f(16 * mib, true), b(2 * mib);
	const unsigned long starts[] = { a.run_start, f.run_start, b.run_start };
	const unsigned long len = std::min({ a.run_size(), f.run_size(), b.run_size(), mib });
	const char *const names[] = { "hits_sampled_memory_only", "hits_sampled_anon_only",
				      "anon_filter_alone_hits_unsampled",
				      "weighted_probes_with_perf_event" };
	const auto most = [](unsigned int n) { return n > nr_looks / 2; };
	std::vector<damon_sysfs::range> ranges;
	hit_counts c{};
	bool ok;

	if (len < 16 * page_sz) {
		t.diagf("runs: A %lu F %lu B %lu bytes", a.run_size(), f.run_size(), b.run_size());
		for (const char *n : names)
			t.skip(n, "no physically contiguous 64 KiB buffers");
		return;
	}
	for (unsigned long start : starts)
		ranges.push_back({ start, start + len });
	std::sort(ranges.begin(), ranges.end(),
		  [](const auto &x, const auto &y) { return x.start < y.start; });
	t.diagf("A %#lx F %#lx B %#lx, %lu bytes each", starts[A], starts[F], starts[B], len);
	/*
	 * The test PMU walks the ranges' addresses in order, one per sample: with eight addresses
	 * per buffer, every CPU goes through both buffers every 16 ms, so every aggregation
	 * interval sees samples in each part of both, whatever phase the CPUs' walks are in.
	 */
	ok = !pmu.set_addrs("clear");
	for (unsigned long start : { starts[A], starts[F] })
		ok = ok && !pmu.set_addrs("paddr=" + num(start) + " len=" + num(len) +
					  " stride=" + num(len / 8));
	/*
	 * A and F are sampled, B is not.  Probe 0 (a sample of the test PMU, by PMU name) hits A
	 * and F, never B.  Probe 1 (not anonymous: reject; then event 0 by index) hits A only:
	 * sampled anonymous memory, which probe 2 (the anon filter alone) cannot tell from B.
	 * "Hits": in most of the snapshots; "never": in none.
	 */
	ok = ok && !setup(s, { pmu.event(1000) },
			  { { { "perf_event", "Y", "Y", "damon_test_pmu", "" } },
			    { { "anon", "N", "N", "", "" }, { "perf_event", "Y", "Y", "", "0" } },
			    { { "anon", "Y", "Y", "", "" } } }, ranges) &&
	     start_kdamond(t, kd) && wait_regions(t, kd);
	if (ok)
		c = look(t, kd, starts, len);
	t.result(ok && most(c[0][A]) && most(c[0][F]) && !c[0][B], names[0]);
	t.result(ok && most(c[1][A]) && !c[1][F] && !c[1][B], names[1]);
	t.result(ok && most(c[2][A]) && most(c[2][B]) && !c[2][F], names[2]);

	/* attributes-only monitoring on the samples: weighted probes with a perf_event filter */
	ok = ok && !kd.get_context(0).set("monitoring_attrs/probes/0/weight", 1) &&
	     !kd.state("commit") && kd.running();
	if (ok)
		c = look(t, kd, starts, len);
	t.result(ok && most(c[0][A]) && !c[0][B], names[3]);
	pmu.set_addrs("clear");
	s.reset();
}

int run()
{
	require_damon_sysfs_or_skip(true);
	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	if (!damon_sysfs::exists(s.get_kdamond(0).get_context(0).path("monitoring_attrs/probes")))
		ktap::exit_skip("kernel has no monitoring_attrs/probes");

	ktap::writer t(13);
	test_pmu::pmu pmu;

	if (t.result(pmu.ok(), "test_pmu_loaded")) {
		filter_file_cases(t, s, pmu);
		bad_filter_cases(t, s, pmu);
		hit_cases(t, s, pmu);
	} else {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
	}
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
