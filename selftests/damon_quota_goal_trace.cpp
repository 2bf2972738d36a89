// SPDX-License-Identifier: GPL-2.0
/*
 * The damon:damos_node_eligible_mem_bp tracepoint, which reports every
 * evaluation of a node_eligible_mem_bp DAMOS quota goal with the value the
 * kernel computed (sysfs does not show it).
 *
 * While this process keeps 64 MiB of anonymous memory bound to node 1 (and
 * 512 MiB to node 0, see node0_buf_sz), two paddr kdamonds run at once:
 * kdamond 0 on one region spanning both nodes' memory, its scheme 0
 * without quota and its scheme 1 with the goals node 0 / 3000 bp and
 * node 1 / 7000 bp; kdamond 1 on node 1's memory only, its one scheme with
 * the goals node 1 / 5000 bp and node 0 / 4000 bp (kd_cfgs).  They run
 * until every goal was evaluated three times (see run_and_collect()).
 *
 * The events, read from /sys/kernel/tracing/trace, must come from the two
 * kdamonds (common_pid is the kdamond's pid) and from nothing else, carry
 * the scheme and goal indices, node and target value of the sysfs
 * configuration, be emitted at least three times a goal, show the node
 * shares of kdamond 0 summing to 10000 bp in each evaluation, and show
 * kdamond 1's memory as entirely node 1's.  With the event disabled, the
 * same configuration adds no event.
 *
 * SKIPs without root, DAMON sysfs, NUMA nodes 0 and 1 online and with
 * memory, tracefs at /sys/kernel/tracing or the event.  The tracefs
 * settings it changes (the event's enable, tracing_on, trace_clock) are
 * restored at the end.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/test_util.h"

#include <linux/mempolicy.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;

const std::string tracing_dir = "/sys/kernel/tracing";
const std::string trace_path = tracing_dir + "/trace";
const char event_name[] = "damos_node_eligible_mem_bp";
const std::string event_enable = tracing_dir + "/events/damon/" + event_name + "/enable";
/* what precedes the fields on a trace line of the event */
const std::string event_tag = std::string(" ") + event_name + ":";

const size_t page_sz = static_cast<size_t>(sysconf(_SC_PAGESIZE));
const size_t node1_buf_sz = 64ul << 20;
/*
 * The two node shares of one evaluation come from two scans of the
 * physical memory, one a goal, up to seconds apart under TCG.  Pages that
 * join or leave the LRU in between (the guest's page cache, per-CPU LRU
 * batches being drained) skew their sum: with some 70 MiB on the LRU,
 * about 15 pages made it 9991.  Ballast on node 0 makes the LRU large
 * enough (some 600 MiB) for such churn to stay below 1 bp.
 */
const size_t node0_buf_sz = 512ul << 20;
const unsigned long reset_interval_ms = 100;
const unsigned int min_evaluations = 3;
/* rounding of the two mult_frac()s: each share is floored */
const unsigned long sum_slack_bp = 2;
const auto run_time = 2s;
/* under TCG one evaluation of kdamond 0, a scan of all memory a goal, takes 1-2 s */
const auto run_deadline = 30s;
const auto disabled_run_time = 500ms;

/* The scheme with the goals (those before it have no quota) and its goals. */
struct kdamond_cfg {
	unsigned int scheme_idx;
	std::vector<damon_sysfs::quota_goal> goals;
};

const char metric[] = "node_eligible_mem_bp";
/* goals: { metric, target_value, current_value, nid } */
const kdamond_cfg kd_cfgs[2] = {
	{ 1, { { metric, 3000, 0, 0 }, { metric, 7000, 0, 1 } } },
	{ 0, { { metric, 5000, 0, 1 }, { metric, 4000, 0, 0 } } },
};

/* The lowest and highest value add()ed, and how many; or a node's page frames [lo, hi). */
struct bounds {
	unsigned long lo = ULONG_MAX, hi = 0;
	unsigned int nr = 0;

	void add(unsigned long v)
	{
		lo = std::min(lo, v);
		hi = std::max(hi, v);
		nr++;
	}
};

/* Each node's page frames in /proc/zoneinfo, empty zones left out. */
std::map<int, bounds> node_spans()
{
	std::map<int, bounds> spans;
	std::ifstream in("/proc/zoneinfo");
	std::string line;
	int nid = -1;
	unsigned long spanned = 0;

	while (std::getline(in, line)) {
		std::istringstream words(line);
		std::string key;
		unsigned long val;

		if (std::sscanf(line.c_str(), "Node %d, zone", &nid) == 1) {
			spanned = 0;
		} else if (nid >= 0 && words >> key >> val) {
			if (key == "spanned") {
				spanned = val;
			} else if (key == "start_pfn:" && spanned) {
				spans[nid].add(val);
				spans[nid].add(val + spanned);
			}
		}
	}
	return spans;
}

/* Are nodes 0 and 1 in /sys/devices/system/node/online ("0-1", "0,1")? */
bool nodes_0_and_1_online()
{
	std::ifstream in("/sys/devices/system/node/online");
	std::string item;
	bool seen[2] = { false, false };

	while (std::getline(in, item, ',')) {
		unsigned long lo = ULONG_MAX, hi = 0;

		if (std::sscanf(item.c_str(), "%lu-%lu", &lo, &hi) == 1)
			hi = lo;
		for (unsigned long n = lo; n <= hi && n < 2; n++)
			seen[n] = true;
	}
	return seen[0] && seen[1];
}

/* Anonymous memory bound to one node (MPOL_BIND), every page written. */
class node_buffer {
public:
	node_buffer(size_t bytes, int node) : size(bytes), nid(node)
	{
		unsigned long mask = 1ul << nid;
		auto bind = [&](unsigned int flags) {
			return syscall(SYS_mbind, buf, size, MPOL_BIND, &mask,
				       sizeof(mask) * CHAR_BIT, flags) ? -errno : 0;
		};
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED) {
			err = -errno;
			return;
		}
		buf = static_cast<char *>(p);
		err = bind(0);
		if (err)
			return;
		std::memset(buf, 0x5a, size);
		/*
		 * The pages are on the node already: MPOL_MF_MOVE moves
		 * nothing, but its lru_cache_disable() drains every CPU's
		 * LRU batches, so that all of them are on the LRU before
		 * the kdamonds look and none joins it later.
		 */
		err = bind(MPOL_MF_MOVE);
	}
	node_buffer(const node_buffer &) = delete;
	node_buffer &operator=(const node_buffer &) = delete;
	~node_buffer()
	{
		if (buf)
			munmap(buf, size);
	}

	/* Does move_pages() find all of it on its node?  Says what it found. */
	bool on_its_node(const ktap::writer &t) const
	{
		const size_t nr = size / page_sz;
		std::vector<void *> pages(nr);
		std::vector<int> status(nr, -1);
		long on = err;

		for (size_t i = 0; i < nr; i++)
			pages[i] = buf + i * page_sz;
		if (!on && syscall(SYS_move_pages, 0, nr, pages.data(), nullptr, status.data(), 0))
			on = -errno;
		if (on < 0) {
			t.diagf("node %d buffer: %s", nid, std::strerror(static_cast<int>(-on)));
			return false;
		}
		on = std::count(status.begin(), status.end(), nid);
		t.diagf("%ld of %zu pages of the node %d buffer on node %d", on, nr, nid, nid);
		return on == static_cast<long>(nr);
	}

private:
	char *buf = nullptr;
	size_t size;
	int nid;
	/* 0 or the -errno of mmap() or mbind() */
	int err = 0;
};

/* One damos_node_eligible_mem_bp line of the trace. */
struct event {
	pid_t pid = -1;
	double ts = 0;
	unsigned int scheme_idx = 0, goal_idx = 0;
	int nid = -1;
	unsigned long target = 0, current = 0;
};

/*
 * A trace line with event_tag at @tag_pos: "<comm>-<pid> [(<tgid>)] [<cpu>]
 * <flags> <ts>: <event>: <key>=<value> ...".  False if it does not parse,
 * lacks a field, or its context index is not that of a one-context kdamond.
 */
bool parse_event(const std::string &line, size_t tag_pos, event &e)
{
	static const std::regex prefix_re(
		R"(^\s*(.*)-([0-9]+)\s+(\(\s*[-0-9]+\)\s+)?\[[0-9]+\].*\s([0-9]+\.[0-9]+):\s*$)");
	static const char *const keys[] = {
		"ctx_idx", "scheme_idx", "goal_idx", "nid", "target_value", "current_value",
	};
	std::istringstream fields(line.substr(tag_pos + event_tag.size()));
	std::string word;
	unsigned long v[6] = {};
	unsigned int seen = 0;
	std::smatch m;

	if (!std::regex_match(line.cbegin(), line.cbegin() + tag_pos, m, prefix_re))
		return false;
	while (fields >> word) {
		const size_t eq = word.find('=');
		unsigned long val;
		char *end;

		if (eq == std::string::npos || eq + 1 == word.size())
			return false;
		errno = 0;
		val = std::strtoul(word.c_str() + eq + 1, &end, 10);
		if (*end || errno)
			return false;
		for (unsigned int i = 0; i < 6; i++) {
			if (!word.compare(0, eq, keys[i])) {
				v[i] = val;
				seen |= 1u << i;
			}
		}
	}
	e.pid = static_cast<pid_t>(std::stol(m[2].str()));
	e.ts = std::stod(m[4].str());
	e.scheme_idx = static_cast<unsigned int>(v[1]);
	e.goal_idx = static_cast<unsigned int>(v[2]);
	e.nid = static_cast<int>(v[3]);
	e.target = v[4];
	e.current = v[5];
	return seen == 63 && static_cast<unsigned int>(v[0]) == 0;
}

/*
 * The event's trace: the tracefs state the test changes, restored by the
 * destructor (the "global" clock keeps the events of one kdamond in order
 * when it migrates between CPUs), and the events in "trace", in order.
 *
 * The node shares of one evaluation come from two scans of the physical
 * memory, seconds apart under TCG, and every LRU page this process faults
 * in between skews their sum.  So the buffers are touched once, by the
 * constructor and warm_up(), and reading the trace while the kdamonds run
 * allocates no new pages.
 */
class trace {
public:
	std::vector<event> events;
	/* lines naming the event that did not parse */
	std::vector<std::string> bad;

	trace()
	{
		std::string enable, on, clocks;

		damon_sysfs::read_file(event_enable, enable);
		damon_sysfs::read_file(on_path, on);
		damon_sysfs::read_file(clock_path, clocks);
		/* "[local] global counter ...": the current one in brackets */
		const size_t lb = clocks.find('['), rb = clocks.find(']');

		if (!enable.empty())
			old.emplace_back(event_enable, enable == "1" ? "1" : "0");
		if (lb != std::string::npos && rb != std::string::npos && lb + 1 < rb)
			old.emplace_back(clock_path, clocks.substr(lb + 1, rb - lb - 1));
		if (!on.empty())
			old.emplace_back(on_path, on);
		text.assign(1ul << 20, ' ');
		text.clear();
		events.reserve(4096);
	}
	trace(const trace &) = delete;
	trace &operator=(const trace &) = delete;
	~trace()
	{
		for (const auto &[path, val] : old)
			damon_sysfs::write_file(path, val);
	}

	/* The global clock, tracing on, the event enabled, an empty trace. */
	int arm() const
	{
		int err = damon_sysfs::write_file(clock_path, "global");
		int fd;

		if (!err)
			err = damon_sysfs::write_file(on_path, "1");
		if (!err)
			err = damon_sysfs::write_file(event_enable, "1");
		if (err)
			return err;
		/* opening "trace" with O_TRUNC is what clears it */
		fd = open(trace_path.c_str(), O_WRONLY | O_TRUNC);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	}

	/* Parse a sample line (also checks the parser); before the run. */
	bool warm_up()
	{
		const std::string line = std::string(
			"   kdamond.0-42   (   42) [001] ..... 12.345678: ") + event_name +
			": ctx_idx=0 scheme_idx=1 goal_idx=0 nid=0 target_value=3000 current_value=1234";
		event e;

		return parse_event(line, line.find(event_tag), e) && e.pid == 42 &&
		       e.scheme_idx == 1 && e.goal_idx == 0 && e.nid == 0 && e.target == 3000 &&
		       e.current == 1234 && read() >= 0;
	}

	/* Fill events and bad: how many lines of the trace name the event, or -errno. */
	long read()
	{
		const int err = damon_sysfs::read_file(trace_path, text);

		events.clear();
		bad.clear();
		for (size_t pos = 0; !err && pos < text.size();) {
			const size_t nl = std::min(text.find('\n', pos), text.size());
			const std::string line = text.substr(pos, nl - pos);
			const size_t tag_pos = line.find(event_tag);
			event e;

			pos = nl + 1;
			if (line.empty() || line[0] == '#' || tag_pos == std::string::npos)
				continue;
			if (parse_event(line, tag_pos, e))
				events.push_back(e);
			else
				bad.push_back(line);
		}
		return err ? err : static_cast<long>(events.size() + bad.size());
	}

private:
	const std::string on_path = tracing_dir + "/tracing_on";
	const std::string clock_path = tracing_dir + "/trace_clock";
	/* the files to write back and their values, in this order */
	std::vector<std::pair<std::string, std::string>> old;
	std::string text;
};

/*
 * Kdamond @k: paddr on the page frames [@start, @end), "stat" schemes
 * (every region, every aggregation) up to the one with the goals.
 */
int setup_kdamond(const damon_sysfs::session &s, unsigned int k, unsigned long start,
		  unsigned long end)
{
	const kdamond_cfg &c = kd_cfgs[k];
	const damon_sysfs::kdamond kd = s.get_kdamond(k);
	const damon_sysfs::context ctx = kd.get_context(0);
	const damon_sysfs::scheme sch = ctx.get_scheme(c.scheme_idx);
	damon_sysfs::paddr_monitor m;

	m.start = start * page_sz;
	m.end = end * page_sz;
	/* this makes scheme 0 a "stat" one, but nr_schemes recreates it */
	int err = damon_sysfs::configure_paddr_monitor(kd, m);
	if (!err && c.scheme_idx)
		err = ctx.set_nr_schemes(c.scheme_idx + 1);
	for (unsigned int i = 0; c.scheme_idx && i <= c.scheme_idx; i++) {
		const damon_sysfs::scheme stat = ctx.get_scheme(i);

		if (!err)
			err = stat.set_action("stat");
		if (!err)
			err = stat.set_access_pattern(damon_sysfs::access_pattern());
		if (!err)
			err = stat.set("apply_interval_us", 0ul);
	}
	if (!err)
		err = sch.set_quota_reset_interval_ms(reset_interval_ms);
	return err ? err : sch.set_quota_goals(c.goals);
}

/* Start both kdamonds and read their pids; false (and said why) if not. */
bool start_both(const ktap::writer &t, const damon_sysfs::session &s, pid_t pids[2])
{
	for (unsigned int i = 0; i < 2; i++) {
		const damon_sysfs::kdamond kd = s.get_kdamond(i);

		if (!start_kdamond(t, kd))
			return false;
		pids[i] = kd.pid();
		if (pids[i] <= 0) {
			t.diagf("kdamond %u has no pid", i);
			return false;
		}
	}
	return true;
}

/* Stop the kdamonds that run; false (and said why) if one did not stop. */
bool stop_both(const ktap::writer &t, const damon_sysfs::session &s)
{
	bool ok = true;

	for (unsigned int i = 0; i < 2; i++) {
		const damon_sysfs::kdamond kd = s.get_kdamond(i);
		const int err = kd.running() ? kd.stop() : 0;

		if (err)
			t.diagf("stopping kdamond %u: %s", i, std::strerror(-err));
		ok = ok && !err;
	}
	return ok;
}

/* Did both kdamonds evaluate each goal min_evaluations times?  Says so to @t. */
bool each_goal_evaluated(const std::vector<event> &events, const pid_t pids[2],
			 const ktap::writer *t = nullptr)
{
	unsigned int nr[2][2] = {};	/* [goal][kdamond] */
	bool enough = true;

	for (const event &e : events)
		for (unsigned int k = 0; e.goal_idx < 2 && k < 2; k++)
			nr[e.goal_idx][k] += e.pid == pids[k];
	for (unsigned int g = 0; g < 2; g++) {
		if (t)
			t->diagf("goal %u evaluations: kdamond 0 %u, kdamond 1 %u", g, nr[g][0],
				 nr[g][1]);
		enough = enough && nr[g][0] >= min_evaluations && nr[g][1] >= min_evaluations;
	}
	return enough;
}

/* Run for run_time, and on until each_goal_evaluated() or run_deadline; how long it ran. */
double run_and_collect(const pid_t pids[2], trace &tr)
{
	const auto start = std::chrono::steady_clock::now();
	auto elapsed = [start]() { return std::chrono::steady_clock::now() - start; };

	std::this_thread::sleep_for(run_time);
	while (tr.read() >= 0 && !each_goal_evaluated(tr.events, pids) && elapsed() < run_deadline)
		std::this_thread::sleep_for(500ms);
	return std::chrono::duration<double>(elapsed()).count();
}

/* Do kdamond @k's events carry the scheme and goals of its configuration? */
bool events_match(const ktap::writer &t, unsigned int k, const std::vector<event> &events)
{
	const kdamond_cfg &c = kd_cfgs[k];
	unsigned int nr_bad = 0;

	for (const event &e : events) {
		const bool ok = e.scheme_idx == c.scheme_idx && e.goal_idx < c.goals.size() &&
				c.goals[e.goal_idx].nid == e.nid &&
				c.goals[e.goal_idx].target_value == e.target;

		if (!ok && nr_bad++ < 5)
			t.diagf("kdamond %u: unexpected scheme_idx=%u goal_idx=%u nid=%d target_value=%lu",
				k, e.scheme_idx, e.goal_idx, e.nid, e.target);
	}
	if (nr_bad)
		t.diagf("kdamond %u: %u of %zu events do not match the configuration", k, nr_bad,
			events.size());
	return !events.empty() && !nr_bad;
}

/*
 * kdamond 0's evaluations: a goal 0 event followed by a goal 1 event.  The
 * two node shares of one evaluation must sum to 10000 bp, within rounding.
 */
bool shares_sum_up(const ktap::writer &t, const std::vector<event> &events)
{
	bounds sums, share0, share1;
	unsigned int nr_unpaired = 0, nr_bad = 0;
	const event *pending = nullptr;

	for (const event &e : events) {
		if (e.goal_idx == 0 || !pending) {
			/* the pending goal 0 event had no goal 1 one, or this one no goal 0 one */
			nr_unpaired += pending != nullptr || e.goal_idx != 0;
			pending = e.goal_idx == 0 ? &e : nullptr;
			continue;
		}
		const unsigned long v0 = pending->current, v1 = e.current, sum = v0 + v1;
		const bool bad = v0 > 10000 || v1 > 10000 || sum + sum_slack_bp < 10000 ||
				 sum > 10000 + sum_slack_bp;

		t.diagf("kdamond 0 at %.3f s: node 0 %lu bp + node 1 %lu bp = %lu (goals %.3f s apart)%s",
			pending->ts, v0, v1, sum, e.ts - pending->ts, bad ? " BAD" : "");
		pending = nullptr;
		nr_bad += bad;
		sums.add(sum);
		share0.add(v0);
		share1.add(v1);
	}
	nr_unpaired += pending != nullptr;
	if (sums.nr)
		t.diagf("kdamond 0: %u evaluations, node 0 share %lu..%lu bp, node 1 share %lu..%lu bp, sums %lu..%lu",
			sums.nr, share0.lo, share0.hi, share1.lo, share1.hi, sums.lo, sums.hi);
	if (nr_unpaired)
		t.diagf("kdamond 0: %u goal events without the other goal's", nr_unpaired);
	return sums.nr && !nr_bad && !nr_unpaired;
}

/* kdamond 1 sees node 1's memory only: 10000 bp there, 0 on node 0. */
bool node1_only(const ktap::writer &t, const std::vector<event> &events)
{
	bounds cur[2];	/* [nid]: the goal for node nid */
	unsigned int nr_bad = 0;

	for (const event &e : events) {
		const bool known = e.nid == 0 || e.nid == 1;

		if (known)
			cur[e.nid].add(e.current);
		nr_bad += !known || e.current != (e.nid ? 10000ul : 0ul);
	}
	for (unsigned int n = 0; n < 2; n++)
		if (cur[n].nr)
			t.diagf("kdamond 1: node %u goal: %u evaluations, current_value %lu..%lu bp (expected %u)",
				n, cur[n].nr, cur[n].lo, cur[n].hi, n ? 10000 : 0);
	if (nr_bad)
		t.diagf("kdamond 1: %u events off", nr_bad);
	return cur[0].nr && cur[1].nr && !nr_bad;
}

/* The SKIPs of the test before any case; returns the spans of nodes 0 and 1. */
std::pair<bounds, bounds> require_two_nodes_or_skip()
{
	require_damon_sysfs_or_skip();
	if (!nodes_0_and_1_online())
		ktap::exit_skip("needs NUMA nodes 0 and 1 online");
	if (!damon_sysfs::exists(trace_path))
		ktap::exit_skip("no tracefs at /sys/kernel/tracing");
	if (!damon_sysfs::exists(event_enable))
		ktap::exit_skip("kernel has no damon:damos_node_eligible_mem_bp event");

	std::map<int, bounds> spans = node_spans();
	const bounds node0 = spans[0], node1 = spans[1];

	if (!node0.nr || !node1.nr)
		ktap::exit_skip("no memory on node 0 or 1 in /proc/zoneinfo");
	if (node0.lo < node1.hi && node1.lo < node0.hi)
		ktap::exit_skip("the spans of nodes 0 and 1 overlap");
	return { node0, node1 };
}

/* The cases on the events of the run with the event enabled (@rd_err: of reading them). */
void enabled_run_cases(ktap::writer &t, const trace &tr, int rd_err, const pid_t pids[2])
{
	std::vector<event> ev[2];

	for (size_t i = 0; i < tr.bad.size() && i < 3; i++)
		t.diagf("unparsable: %s", tr.bad[i].c_str());
	for (const event &e : tr.events)
		for (unsigned int k = 0; k < 2; k++)
			if (e.pid == pids[k])
				ev[k].push_back(e);

	const size_t nr_other = tr.events.size() - ev[0].size() - ev[1].size();

	t.diagf("%zu events from kdamond 0, %zu from kdamond 1, %zu from other tasks",
		ev[0].size(), ev[1].size(), nr_other);
	t.result(!rd_err && !ev[0].empty() && !ev[1].empty() && !nr_other && tr.bad.empty(),
		 "events_from_both_kdamonds_only");
	t.result(events_match(t, 0, ev[0]), "kdamond0_fields_match_config");
	t.result(events_match(t, 1, ev[1]), "kdamond1_fields_match_config");
	t.result(each_goal_evaluated(tr.events, pids, &t), "each_goal_evaluated_3_times");
	t.result(shares_sum_up(t, ev[0]), "kdamond0_node_shares_sum_to_10000");
	t.result(node1_only(t, ev[1]), "kdamond1_node1_region_is_all_node1");
}

int run()
{
	const auto [node0, node1] = require_two_nodes_or_skip();

	ktap::writer t(10);
	trace tr;
	damon_sysfs::session s;
	const node_buffer ballast(node0_buf_sz, 0);
	const node_buffer buf(node1_buf_sz, 1);
	pid_t pids[2] = { -1, -1 };

	t.diagf("node 0: pfn [%#lx, %#lx), node 1: pfn [%#lx, %#lx)", node0.lo, node0.hi,
		node1.lo, node1.hi);
	t.result(ballast.on_its_node(t) && buf.on_its_node(t), "buffers_on_their_nodes");

	/* kdamond 0 on both nodes' memory, kdamond 1 on node 1's only */
	int err = s.set_nr_kdamonds(2);
	if (!err)
		err = setup_kdamond(s, 0, std::min(node0.lo, node1.lo),
				    std::max(node0.hi, node1.hi));
	if (!err)
		err = setup_kdamond(s, 1, node1.lo, node1.hi);
	if (err)
		t.diagf("configuration: %s", std::strerror(-err));
	if (!t.result(!err, "configure")) {
		t.skip_rest("configuration failed");
		return t.exit_code();
	}

	err = tr.arm();
	if (err)
		t.diagf("tracefs: %s", std::strerror(-err));
	else if (!tr.warm_up())
		t.diag("the trace parser does not parse a sample line");
	if (!t.result(!err && start_both(t, s, pids), "start")) {
		t.skip_rest("kdamonds or tracing not started");
		return t.exit_code();
	}
	t.diagf("kdamond pids %d and %d", pids[0], pids[1]);

	const double secs = run_and_collect(pids, tr);
	bool ran = stop_both(t, s);
	const int dis_err = damon_sysfs::write_file(event_enable, "0");
	const int rd_err = static_cast<int>(std::min(tr.read(), 0l));

	if (rd_err)
		t.diagf("reading the trace: %s", std::strerror(-rd_err));
	t.diagf("ran %.1f s: %zu events, %zu unparsable lines", secs, tr.events.size(),
		tr.bad.size());
	enabled_run_cases(t, tr, rd_err, pids);

	/* the same configuration with the event disabled adds no event */
	const long before = tr.read();

	ran = ran && !dis_err && before >= 0 && start_both(t, s, pids);
	if (ran)
		std::this_thread::sleep_for(disabled_run_time);
	ran = stop_both(t, s) && ran;
	const long after = tr.read();

	t.diagf("event disabled: %ld event lines before a %lld ms run, %ld after", before,
		static_cast<long long>(disabled_run_time.count()), after);
	t.result(ran && after == before, "no_events_while_disabled");
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
