// SPDX-License-Identifier: GPL-2.0
/*
 * Perf events as data attribute probe filters: the "perf_event" type of
 * monitoring_attrs/probes/<P>/filters/<F>/, with the synthetic test PMU
 * damon_test_pmu (selftests/damon_test_pmu/) on a physical address context.
 *
 * - The filter's files: perf_event_type (a PMU name, empty by default) and
 *   perf_event (an index of sample/perf_events/, "none" by default), their
 *   modes and the values they refuse; perf_events/<N>/type takes a PMU name
 *   and reads back that PMU's type.
 * - Bad filters fail "on" with the errno and message of their mistake and
 *   leave the kdamond off: nothing named (-EINVAL), an unknown PMU
 *   (-ENODEV), an index past the events (-EINVAL), an index whose event is
 *   of another PMU than the one named (-EINVAL), a PMU with no event and no
 *   default event (-EINVAL), and ibs_op where there is none (-ENODEV).
 * - Hits: three physically contiguous buffers of this process, A (anonymous,
 *   sampled by the test PMU), F (shared memory, sampled) and B (anonymous,
 *   not sampled), are the context's three regions.  Probe 0 ("a sample of
 *   the test PMU landed here", by PMU name) hits A and F, never B.  Probe 1
 *   (not anonymous: reject; then event 0 by index) hits A only: sampled
 *   anonymous memory, which probe 2 (the anon filter alone) cannot tell
 *   from B.  "Hits" means in most of the snapshots; "never" means in none.
 * - Weighted probes with a perf_event filter start and commit (they were
 *   refused before the filter type existed) and keep counting hits.
 *
 * SKIPs when not root, without DAMON sysfs, without perf events or probes
 * in the kernel, or without physically contiguous buffers.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/phys_buffer.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"

#include <algorithm>
#include <cerrno>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace monitor;
using damon_sysfs::node;
using damon_sysfs::perf_event_attr;

const unsigned long page_sz = 4096;
const unsigned long mib = 1ul << 20;
/* snapshots the hit judgements look at */
const unsigned int nr_looks = 7;

bool file_mode(const std::string &path, mode_t mode)
{
	struct stat st;

	return !stat(path.c_str(), &st) && (st.st_mode & 07777) == mode;
}

/* A filter's files, written in this order; a file left empty is skipped. */
struct filter_spec {
	std::string type;
	std::string matching = "Y";
	std::string allow = "Y";
	std::string perf_event_type;
	std::string perf_event;
};

node probes_dir(const damon_sysfs::context &ctx)
{
	return node(ctx.path("monitoring_attrs/probes"));
}

/* Write the probes: one vector of filters per probe. */
int set_probes(const damon_sysfs::context &ctx,
	       const std::vector<std::vector<filter_spec>> &probes)
{
	const node dir = probes_dir(ctx);
	int err = dir.set("nr_probes", probes.size());

	for (size_t p = 0; !err && p < probes.size(); p++) {
		const node filters(dir.path(num(p) + "/filters"));

		err = filters.set("nr_filters", probes[p].size());
		for (size_t i = 0; !err && i < probes[p].size(); i++) {
			const node f(filters.path(num(i)));
			const filter_spec &s = probes[p][i];

			err = f.set("type", s.type);
			if (!err)
				err = f.set("matching", s.matching);
			if (!err)
				err = f.set("allow", s.allow);
			if (!err && !s.perf_event_type.empty())
				err = f.set("perf_event_type",
					    s.perf_event_type);
			if (!err && !s.perf_event.empty())
				err = f.set("perf_event", s.perf_event);
		}
	}
	return err;
}

/* kdamond 0 on paddr over @ranges, sampling with @events. */
int setup(const damon_sysfs::session &s,
	  const std::vector<damon_sysfs::range> &ranges,
	  const std::vector<perf_event_attr> &events)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	damon_sysfs::paddr_monitor m;
	int err;

	m.start = ranges.front().start;
	m.end = ranges.back().end;
	/* DAMON wants at least 3 */
	m.min_nr_regions = std::max<size_t>(3, ranges.size());
	err = s.set_nr_kdamonds(1);
	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd, m);
	if (!err)
		err = kd.get_context(0).get_target(0).set_regions(ranges);
	if (!err)
		err = kd.get_context(0).set_perf_events(events);
	return err;
}

void filter_file_cases(ktap::writer &t, const damon_sysfs::session &s,
		       const test_pmu::pmu &pmu)
{
	const damon_sysfs::context ctx = s.get_kdamond(0).get_context(0);
	const node f(probes_dir(ctx).path("0/filters/0"));
	const node e(ctx.path("monitoring_attrs/sample/perf_events/0"));
	std::string v1, v2;
	unsigned long type = 0;
	bool ok;

	ok = !setup(s, { { 256 * mib, 320 * mib } }, { pmu.event() }) &&
	     !set_probes(ctx, { { { "perf_event", "Y", "Y", "", "" } } }) &&
	     file_mode(f.path("perf_event_type"), 0600) &&
	     file_mode(f.path("perf_event"), 0600) &&
	     !f.get("type", v1) && v1 == "perf_event" &&
	     !f.get("perf_event_type", v2) && v2.empty() &&
	     !f.get("perf_event", v1) && v1 == "none";
	ok = ok && !f.set("perf_event", "3") && !f.get("perf_event", v1) &&
	     v1 == "3" && f.set("perf_event", "-1") == -EINVAL &&
	     f.set("perf_event", "16") == -EINVAL &&
	     f.set("perf_event", "x") == -EINVAL &&
	     !f.get("perf_event", v2) && v2 == "3" &&
	     !f.set("perf_event", "none") && !f.get("perf_event", v1) &&
	     v1 == "none";
	ok = ok && !f.set("perf_event_type", "damon_test_pmu") &&
	     !f.get("perf_event_type", v1) && v1 == "damon_test_pmu" &&
	     !f.set("perf_event_type", "\n") &&
	     !f.get("perf_event_type", v2) && v2.empty();
	t.result(ok, "filter_files");

	ok = !e.set("type", "none") && !e.set("type", "damon_test_pmu") &&
	     !e.get("type", type) &&
	     type == static_cast<unsigned long>(pmu.type());
	t.diagf("type after writing the name: %lu (PMU type %d)", type,
		pmu.type());
	ok = ok && e.set("type", "no_such_pmu") == -ENODEV &&
	     !e.get("type", v1) && v1 == num(type);
	t.result(ok, "event_type_takes_pmu_name");
	s.reset();
}

/* "on" with one bad perf_event filter: @err, nothing started. */
void bad_filter_case(ktap::writer &t, const damon_sysfs::session &s,
		     const test_pmu::pmu &pmu, const filter_spec &spec,
		     int want, const std::string &name)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	int err = -EIO;

	if (!setup(s, { { 256 * mib, 320 * mib } }, { pmu.event() }) &&
	    !set_probes(kd.get_context(0), { { spec } }))
		err = kd.start();
	t.diagf("%s: on gave %s", name.c_str(), err_name(err).c_str());
	t.result(err == want && !kd.running(), name);
	s.reset();
}

void bad_filter_cases(ktap::writer &t, const damon_sysfs::session &s,
		      const test_pmu::pmu &pmu)
{
	filter_spec f;

	f.type = "perf_event";
	bad_filter_case(t, s, pmu, f, -EINVAL, "nothing_named");
	f.perf_event_type = "no_such_pmu";
	bad_filter_case(t, s, pmu, f, -ENODEV, "unknown_pmu");
	f.perf_event_type.clear();
	f.perf_event = "1";
	bad_filter_case(t, s, pmu, f, -EINVAL, "index_past_events");
	f.perf_event = "0";
	f.perf_event_type = "software";
	bad_filter_case(t, s, pmu, f, -EINVAL, "index_of_other_pmu");
	f.perf_event.clear();
	bad_filter_case(t, s, pmu, f, -EINVAL, "pmu_without_default_event");
	if (!access("/sys/bus/event_source/devices/ibs_op", F_OK)) {
		t.skip("ibs_op_absent", "this machine has IBS Op");
		return;
	}
	f.perf_event_type = "ibs_op";
	bad_filter_case(t, s, pmu, f, -ENODEV, "ibs_op_absent");
}

/* Probe hits of @p summed over the regions that overlap [lo, hi). */
unsigned long hits_in(const std::vector<region> &regions, unsigned int p,
		      unsigned long lo, unsigned long hi)
{
	unsigned long sum = 0;

	for (const region &r : regions)
		if (r.start < hi && r.end > lo && p < r.probe_hits.size())
			sum += r.probe_hits[p];
	return sum;
}

/* In how many of @nr_looks snapshots each buffer had hits, per probe. */
struct hit_counts {
	unsigned int a[3] = {}, f[3] = {}, b[3] = {};
};

hit_counts look(const ktap::writer &t, const damon_sysfs::kdamond &kd,
		const phys_buffer &a, const phys_buffer &f,
		const phys_buffer &b, unsigned long len)
{
	std::vector<region> regions;
	hit_counts c;

	for (unsigned int i = 0; i < nr_looks; i++) {
		std::this_thread::sleep_for(poll_period);
		if (!snapshot(kd, regions))
			continue;
		for (unsigned int p = 0; p < 3; p++) {
			unsigned long ha, hf, hb;

			ha = hits_in(regions, p, a.run_start,
				     a.run_start + len);
			hf = hits_in(regions, p, f.run_start,
				     f.run_start + len);
			hb = hits_in(regions, p, b.run_start,
				     b.run_start + len);
			t.diagf("look %u probe %u: hits A %lu F %lu B %lu", i,
				p, ha, hf, hb);
			c.a[p] += ha > 0;
			c.f[p] += hf > 0;
			c.b[p] += hb > 0;
		}
	}
	return c;
}

bool most(unsigned int n)
{
	return n > nr_looks / 2;
}

void hit_cases(ktap::writer &t, const damon_sysfs::session &s,
	       const test_pmu::pmu &pmu)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	/*
	 * F's shmem pages are allocated one at a time, first from the per-CPU
	 * free lists, which hold scattered pages after a busy run (upstream's
	 * kselftests, dropped caches): 16 MiB outlasts them and reaches pages
	 * taken from the buddy allocator in batches, which are contiguous.
	 */
	phys_buffer a(2 * mib), f(16 * mib, true), b(2 * mib);
	const unsigned long len = std::min({ a.run_size(), f.run_size(),
					     b.run_size(), mib });
	const char *const names[] = { "hits_sampled_memory_only",
				      "hits_sampled_anon_only",
				      "anon_filter_alone_hits_unsampled",
				      "weighted_probes_with_perf_event" };
	std::vector<damon_sysfs::range> ranges;
	hit_counts c;
	bool ok;

	if (len < 16 * page_sz) {
		t.diagf("runs: A %lu F %lu B %lu bytes", a.run_size(),
			f.run_size(), b.run_size());
		for (const char *n : names)
			t.skip(n, "no physically contiguous 64 KiB buffers");
		return;
	}
	for (const phys_buffer *pb : { &a, &f, &b })
		ranges.push_back({ pb->run_start, pb->run_start + len });
	std::sort(ranges.begin(), ranges.end(),
		  [](const auto &x, const auto &y) { return x.start < y.start; });
	t.diagf("A %#lx F %#lx B %#lx, %lu bytes each", a.run_start,
		f.run_start, b.run_start, len);
	/*
	 * The test PMU walks the ranges' addresses in order, one per sample:
	 * with eight addresses per buffer, every CPU goes through both
	 * buffers every 16 ms, so every aggregation interval sees samples in
	 * each part of both, whatever phase the CPUs' walks are in.
	 */
	ok = !pmu.set_addrs("clear") &&
	     !pmu.set_addrs("paddr=" + num(a.run_start) + " len=" + num(len) +
			    " stride=" + num(len / 8)) &&
	     !pmu.set_addrs("paddr=" + num(f.run_start) + " len=" + num(len) +
			    " stride=" + num(len / 8)) &&
	     !setup(s, ranges, { pmu.event(1000) }) &&
	     !set_probes(ctx, {
		     { { "perf_event", "Y", "Y", "damon_test_pmu", "" } },
		     { { "anon", "N", "N", "", "" },
		       { "perf_event", "Y", "Y", "", "0" } },
		     { { "anon", "Y", "Y", "", "" } } }) &&
	     start_kdamond(t, kd) && wait_regions(t, kd);
	if (ok)
		c = look(t, kd, a, f, b, len);
	t.result(ok && most(c.a[0]) && most(c.f[0]) && !c.b[0], names[0]);
	t.result(ok && most(c.a[1]) && !c.f[1] && !c.b[1], names[1]);
	t.result(ok && most(c.a[2]) && most(c.b[2]) && !c.f[2], names[2]);

	/* attributes-only monitoring on the samples */
	ok = ok && !probes_dir(ctx).set("0/weight", 1) && !kd.state("commit") &&
	     kd.running();
	if (ok)
		c = look(t, kd, a, f, b, len);
	t.result(ok && most(c.a[0]) && !c.b[0], names[3]);
	pmu.set_addrs("clear");
	s.reset();
}

int run()
{
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	if (access(probes_dir(s.get_kdamond(0).get_context(0)).dir().c_str(),
		   F_OK))
		ktap::exit_skip("kernel has no monitoring_attrs/probes");

	ktap::writer t(13);
	test_pmu::pmu pmu;

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
		return t.exit_code();
	}
	filter_file_cases(t, s, pmu);
	bad_filter_cases(t, s, pmu);
	hit_cases(t, s, pmu);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
