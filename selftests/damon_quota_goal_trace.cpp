// SPDX-License-Identifier: GPL-2.0
/*
 * The damon:damos_node_eligible_mem_bp tracepoint, which reports every
 * evaluation of a node_eligible_mem_bp DAMOS quota goal with the value the
 * kernel computed (sysfs does not show it).
 *
 * Two paddr kdamonds run at once on a two-node guest while this process
 * keeps 64 MiB of anonymous memory bound to node 1 (and 512 MiB bound to
 * node 0, see below):
 *
 * - kdamond 0 monitors one region spanning both nodes' memory; its scheme
 *   0 is a "stat" scheme without quota, its scheme 1 a "stat" scheme with a
 *   100 ms quota reset interval and the goals node 0 / 3000 bp and
 *   node 1 / 7000 bp;
 * - kdamond 1 monitors node 1's memory only; its one scheme has the goals
 *   node 1 / 5000 bp and node 0 / 4000 bp.
 *
 * The kdamonds run for 2 s, and on until every goal was evaluated three
 * times (at most 30 s: under TCG one evaluation of kdamond 0, a scan of
 * all physical memory a goal, takes a second or two).
 *
 * The events, read from /sys/kernel/tracing/trace, must come from the two
 * kdamonds (common_pid is the kdamond's pid) and from nothing else, carry
 * the scheme and goal indices, node and target value of the sysfs
 * configuration, be emitted at least three times a goal, show the node
 * shares of kdamond 0 summing to 10000 bp in each evaluation, and show
 * kdamond 1's memory as entirely node 1's.  With the event disabled, the
 * same configuration adds no event.
 *
 * SKIPs when not root, without DAMON sysfs, with fewer than two online
 * NUMA nodes (or no memory on node 0 or 1), without tracefs at
 * /sys/kernel/tracing, or when the kernel has no such event.  The
 * tracefs settings the test changes (the event's enable, tracing_on,
 * trace_clock) are restored when it ends.
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
using damon_sysfs::quota_goal;
using steady = std::chrono::steady_clock;

const std::string tracing_dir = "/sys/kernel/tracing";
const char event_name[] = "damos_node_eligible_mem_bp";
const std::string event_dir = tracing_dir + "/events/damon/" + event_name;

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
/* TCG guests are slow: wait this long for min_evaluations at most */
const auto run_deadline = 30s;
const auto disabled_run_time = 500ms;

/* A node_eligible_mem_bp goal; its index is its place in the vector. */
struct goal_cfg {
	int nid;
	unsigned long target;
};

const unsigned int kd0_scheme_idx = 1;
const std::vector<goal_cfg> kd0_goals = { { 0, 3000 }, { 1, 7000 } };
const unsigned int kd1_scheme_idx = 0;
const std::vector<goal_cfg> kd1_goals = { { 1, 5000 }, { 0, 4000 } };

/* Physical page frames [start, end) of a node's zones. */
struct pfn_span {
	unsigned long start = ULONG_MAX;
	unsigned long end = 0;

	bool empty() const { return start >= end; }
};

/*
 * Each node's span from /proc/zoneinfo: the union of its zones'
 * [start_pfn, start_pfn + spanned), empty zones left out.
 */
std::map<int, pfn_span> node_spans()
{
	std::map<int, pfn_span> spans;
	std::string text, line;
	int nid = -1;
	unsigned long spanned = 0;

	if (damon_sysfs::read_file("/proc/zoneinfo", text))
		return spans;
	std::istringstream in(text);
	while (std::getline(in, line)) {
		std::istringstream words(line);
		std::string key;
		unsigned long val;
		int n;

		if (std::sscanf(line.c_str(), "Node %d, zone", &n) == 1) {
			nid = n;
			spanned = 0;
			continue;
		}
		if (!(words >> key >> val) || nid < 0)
			continue;
		if (key == "spanned") {
			spanned = val;
		} else if (key == "start_pfn:" && spanned) {
			pfn_span &s = spans[nid];

			s.start = std::min(s.start, val);
			s.end = std::max(s.end, val + spanned);
		}
	}
	return spans;
}

/* Are nodes 0 and 1 in /sys/devices/system/node/online ("0-1", "0,1")? */
bool nodes_0_and_1_online()
{
	std::string s;
	bool seen[2] = { false, false };

	if (damon_sysfs::read_file("/sys/devices/system/node/online", s))
		return false;
	std::istringstream in(s);
	std::string item;
	while (std::getline(in, item, ',')) {
		unsigned long lo, hi;
		int nr = std::sscanf(item.c_str(), "%lu-%lu", &lo, &hi);

		if (nr < 1)
			continue;
		if (nr == 1)
			hi = lo;
		for (unsigned long n = lo; n <= hi && n < 2; n++)
			seen[n] = true;
	}
	return seen[0] && seen[1];
}

/*
 * Anonymous memory bound to one node (MPOL_BIND through mbind()), every
 * page written, kept until destruction.
 */
class node_buffer {
public:
	node_buffer(size_t bytes, int nid) : size(bytes)
	{
		unsigned long mask = 1ul << nid;
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			err = -errno;
			return;
		}
		buf = static_cast<char *>(p);
		if (syscall(SYS_mbind, buf, size, MPOL_BIND, &mask,
			    sizeof(mask) * CHAR_BIT, 0)) {
			err = -errno;
			return;
		}
		std::memset(buf, 0x5a, size);
		/*
		 * The pages are on node 1 already: MPOL_MF_MOVE moves
		 * nothing, but its lru_cache_disable() drains every CPU's
		 * LRU batches, so that all of them are on the LRU before
		 * the kdamonds look and none joins it later.
		 */
		if (syscall(SYS_mbind, buf, size, MPOL_BIND, &mask,
			    sizeof(mask) * CHAR_BIT, MPOL_MF_MOVE))
			err = -errno;
	}
	node_buffer(const node_buffer &) = delete;
	node_buffer &operator=(const node_buffer &) = delete;
	~node_buffer()
	{
		if (buf)
			munmap(buf, size);
	}

	/* 0 or the -errno of mmap() or mbind() */
	int error() const { return err; }

	/* How many of the pages move_pages() finds on @nid; -errno on error. */
	long pages_on(int nid) const
	{
		const size_t page_sz = static_cast<size_t>(sysconf(_SC_PAGESIZE));
		const size_t nr = size / page_sz;
		std::vector<void *> pages(nr);
		std::vector<int> status(nr, -1);
		long on = 0;

		for (size_t i = 0; i < nr; i++)
			pages[i] = buf + i * page_sz;
		if (syscall(SYS_move_pages, 0, nr, pages.data(), nullptr,
			    status.data(), 0))
			return -errno;
		for (int st : status)
			on += st == nid;
		return on;
	}

	size_t nr_pages() const
	{
		return size / static_cast<size_t>(sysconf(_SC_PAGESIZE));
	}

private:
	char *buf = nullptr;
	size_t size;
	int err = 0;
};

/* Is all of @buf on node @nid?  Says what it found. */
bool on_its_node(const ktap::writer &t, const node_buffer &buf, int nid)
{
	const long on = buf.error() ? buf.error() : buf.pages_on(nid);

	if (on < 0) {
		t.diagf("node %d buffer: %s", nid,
			std::strerror(static_cast<int>(-on)));
		return false;
	}
	t.diagf("%ld of %zu pages of the node %d buffer on node %d", on,
		buf.nr_pages(), nid, nid);
	return on == static_cast<long>(buf.nr_pages());
}

/* Write @val to a tracefs file with O_TRUNC (clears "trace"). */
int write_trunc(const std::string &path, const std::string &val)
{
	int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
	ssize_t ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val.data(), val.size());
	if (ret < 0)
		ret = -errno;
	close(fd);
	return ret < 0 ? static_cast<int>(ret) : 0;
}

/*
 * The tracefs state the test changes: the event's enable, tracing_on and
 * trace_clock, restored by the destructor.  The test uses the "global"
 * clock so that the events of one kdamond stay in order when it migrates
 * between CPUs.
 */
class trace_state {
public:
	trace_state()
	{
		std::string clocks;

		damon_sysfs::read_file(event_dir + "/enable", old_enable);
		damon_sysfs::read_file(tracing_dir + "/tracing_on", old_on);
		damon_sysfs::read_file(tracing_dir + "/trace_clock", clocks);
		/* "[local] global counter ...": the current one in brackets */
		size_t lb = clocks.find('['), rb = clocks.find(']');
		if (lb != std::string::npos && rb != std::string::npos && lb < rb)
			old_clock = clocks.substr(lb + 1, rb - lb - 1);
	}
	trace_state(const trace_state &) = delete;
	trace_state &operator=(const trace_state &) = delete;
	~trace_state()
	{
		if (!old_enable.empty())
			damon_sysfs::write_file(event_dir + "/enable",
						old_enable == "1" ? "1" : "0");
		if (!old_clock.empty())
			damon_sysfs::write_file(tracing_dir + "/trace_clock",
						old_clock);
		if (!old_on.empty())
			damon_sysfs::write_file(tracing_dir + "/tracing_on",
						old_on);
	}

	int prepare() const
	{
		int err = damon_sysfs::write_file(tracing_dir + "/trace_clock",
						  "global");

		if (!err)
			err = damon_sysfs::write_file(tracing_dir + "/tracing_on",
						      "1");
		return err;
	}
	int enable(bool on) const
	{
		return damon_sysfs::write_file(event_dir + "/enable",
					       on ? "1" : "0");
	}
	int clear() const { return write_trunc(tracing_dir + "/trace", ""); }

private:
	std::string old_enable, old_on, old_clock;
};

/* One damos_node_eligible_mem_bp line of the trace. */
struct event {
	pid_t pid = -1;
	double ts = 0;
	unsigned int ctx_idx = ~0u;
	unsigned int scheme_idx = 0;
	unsigned int goal_idx = 0;
	int nid = -1;
	unsigned long target = 0;
	unsigned long current = 0;
};

struct trace_events {
	std::vector<event> events;
	/* lines naming the event that did not parse */
	std::vector<std::string> bad;
};

bool parse_fields(const std::string &fields, event &e)
{
	std::istringstream in(fields);
	std::string word;
	unsigned int seen = 0;

	while (in >> word) {
		size_t eq = word.find('=');
		std::string key, val;
		char *end;
		unsigned long v;

		if (eq == std::string::npos)
			return false;
		key = word.substr(0, eq);
		val = word.substr(eq + 1);
		errno = 0;
		v = std::strtoul(val.c_str(), &end, 10);
		if (val.empty() || *end || errno)
			return false;
		if (key == "ctx_idx") {
			e.ctx_idx = static_cast<unsigned int>(v);
			seen |= 32;
		} else if (key == "scheme_idx") {
			e.scheme_idx = static_cast<unsigned int>(v);
			seen |= 1;
		} else if (key == "goal_idx") {
			e.goal_idx = static_cast<unsigned int>(v);
			seen |= 2;
		} else if (key == "nid") {
			e.nid = static_cast<int>(v);
			seen |= 4;
		} else if (key == "target_value") {
			e.target = v;
			seen |= 8;
		} else if (key == "current_value") {
			e.current = v;
			seen |= 16;
		}
	}
	/* every field, and the context index of a one-context kdamond */
	return seen == 63 && e.ctx_idx == 0;
}

/*
 * A trace line naming the event: "<comm>-<pid> [(<tgid>)] [<cpu>] <flags>
 * <ts>: <event>: <fields>".  False when it names the event but does not
 * parse.
 */
bool parse_line(const std::string &line, size_t tag_pos, size_t tag_len,
		event &e)
{
	static const std::regex prefix_re(
		R"(^\s*(.*)-([0-9]+)\s+(\(\s*[-0-9]+\)\s+)?\[[0-9]+\].*\s([0-9]+\.[0-9]+):\s*$)");
	const std::string prefix = line.substr(0, tag_pos);
	std::smatch m;

	if (!std::regex_match(prefix, m, prefix_re) ||
	    !parse_fields(line.substr(tag_pos + tag_len), e))
		return false;
	e.pid = static_cast<pid_t>(std::stol(m[2].str()));
	e.ts = std::stod(m[4].str());
	return true;
}

/*
 * Reads the events in /sys/kernel/tracing/trace, in trace order.
 *
 * The node shares of one evaluation are computed by two scans of the
 * physical memory, seconds apart under TCG, and every LRU page this
 * process faults in between skews their sum.  So the reader keeps its
 * buffers, touched once by warm_up(), and reading the trace while the
 * kdamonds run allocates no new pages.
 */
class trace_reader {
public:
	trace_reader()
	{
		text.assign(1ul << 20, ' ');
		text.clear();
		te.events.reserve(4096);
	}

	/* Parse a sample line (also checks the parser); before the run. */
	bool warm_up()
	{
		const std::string line = std::string(
			"   kdamond.0-42   (   42) [001] ..... 12.345678: ") +
			event_name +
			": ctx_idx=0 scheme_idx=1 goal_idx=0 nid=0 target_value=3000 current_value=1234";
		event e;

		return parse_line(line, line.find(tag), tag.size(), e) &&
		       e.pid == 42 && e.scheme_idx == 1 && e.goal_idx == 0 &&
		       e.nid == 0 && e.target == 3000 && e.current == 1234 &&
		       !read();
	}

	/* 0 or -errno; the result is in events(). */
	int read()
	{
		int err = damon_sysfs::read_file(tracing_dir + "/trace", text);
		size_t pos = 0;

		te.events.clear();
		te.bad.clear();
		if (err)
			return err;
		while (pos < text.size()) {
			size_t nl = text.find('\n', pos);
			size_t len = (nl == std::string::npos ? text.size() : nl) - pos;

			take_line(text.substr(pos, len));
			pos += len + 1;
		}
		return 0;
	}

	const trace_events &events() const { return te; }

	/* How many lines of the trace name the event; -errno on error. */
	long count_lines()
	{
		int err = read();

		return err ? err : static_cast<long>(te.events.size() +
						     te.bad.size());
	}

private:
	const std::string tag = std::string(" ") + event_name + ":";
	std::string text;
	trace_events te;

	void take_line(const std::string &line)
	{
		size_t pos = line.find(tag);
		event e;

		if (line.empty() || line[0] == '#' || pos == std::string::npos)
			return;
		if (parse_line(line, pos, tag.size(), e))
			te.events.push_back(e);
		else
			te.bad.push_back(line);
	}
};

std::vector<event> events_of(const std::vector<event> &events, pid_t pid)
{
	std::vector<event> out;

	for (const event &e : events)
		if (e.pid == pid)
			out.push_back(e);
	return out;
}

/* scheme stat, matching every region, applied every aggregation */
int configure_stat_scheme(const damon_sysfs::scheme &sch)
{
	int err = sch.set_action("stat");

	if (!err)
		err = sch.set_access_pattern(damon_sysfs::access_pattern());
	if (!err)
		err = sch.set("apply_interval_us", 0ul);
	return err;
}

std::vector<quota_goal> to_sysfs_goals(const std::vector<goal_cfg> &goals)
{
	std::vector<quota_goal> out;

	for (const goal_cfg &g : goals) {
		quota_goal q;

		q.metric = "node_eligible_mem_bp";
		q.target_value = g.target;
		q.nid = g.nid;
		out.push_back(q);
	}
	return out;
}

damon_sysfs::paddr_monitor paddr_config(unsigned long start,
					unsigned long end)
{
	damon_sysfs::paddr_monitor m;

	m.start = start;
	m.end = end;
	return m;
}

int setup_two_kdamonds(const damon_sysfs::session &s, const pfn_span &node0,
		       const pfn_span &node1)
{
	const unsigned long page_sz = static_cast<unsigned long>(
			sysconf(_SC_PAGESIZE));
	const damon_sysfs::kdamond kd0 = s.get_kdamond(0);
	const damon_sysfs::kdamond kd1 = s.get_kdamond(1);
	const damon_sysfs::context ctx0 = kd0.get_context(0);
	const damon_sysfs::scheme sch1 = ctx0.get_scheme(kd0_scheme_idx);
	const damon_sysfs::scheme kd1_sch =
		kd1.get_context(0).get_scheme(kd1_scheme_idx);
	int err = s.set_nr_kdamonds(2);

	/* kdamond 0: both nodes, schemes 0 (no quota) and 1 (goals) */
	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd0,
				paddr_config(std::min(node0.start, node1.start) * page_sz,
					     std::max(node0.end, node1.end) * page_sz));
	if (!err)
		err = ctx0.set_nr_schemes(2);
	if (!err)
		err = configure_stat_scheme(ctx0.get_scheme(0));
	if (!err)
		err = configure_stat_scheme(sch1);
	if (!err)
		err = sch1.set_quota_reset_interval_ms(reset_interval_ms);
	if (!err)
		err = sch1.set_quota_goals(to_sysfs_goals(kd0_goals));
	/* kdamond 1: node 1 only, one scheme with goals */
	if (!err)
		err = damon_sysfs::configure_paddr_monitor(kd1,
				paddr_config(node1.start * page_sz,
					     node1.end * page_sz));
	if (!err)
		err = kd1_sch.set_quota_reset_interval_ms(reset_interval_ms);
	if (!err)
		err = kd1_sch.set_quota_goals(to_sysfs_goals(kd1_goals));
	return err;
}

/* Start both kdamonds and read their pids; false (and said why) if not. */
bool start_both(const ktap::writer &t, const damon_sysfs::session &s,
		pid_t pids[2])
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
		int err = kd.running() ? kd.stop() : 0;

		if (err) {
			t.diagf("stopping kdamond %u: %s", i,
				std::strerror(-err));
			ok = false;
		}
	}
	return ok;
}

/* Evaluations of goal @goal_idx among @events. */
unsigned int nr_evaluations(const std::vector<event> &events,
			    unsigned int goal_idx)
{
	return static_cast<unsigned int>(std::count_if(events.begin(),
			events.end(), [goal_idx](const event &e) {
				return e.goal_idx == goal_idx;
			}));
}

bool enough_evaluations(const std::vector<event> &events, pid_t pids[2])
{
	for (unsigned int k = 0; k < 2; k++) {
		const std::vector<event> mine = events_of(events, pids[k]);

		for (unsigned int g = 0; g < 2; g++)
			if (nr_evaluations(mine, g) < min_evaluations)
				return false;
	}
	return true;
}

/*
 * Run for run_time, and on until every goal was evaluated min_evaluations
 * times or run_deadline passed (TCG).  Returns how long it ran.
 */
double run_and_collect(pid_t pids[2], trace_reader &tr)
{
	const auto start = steady::now();

	std::this_thread::sleep_for(run_time);
	while (!tr.read() && !enough_evaluations(tr.events().events, pids) &&
	       steady::now() - start < run_deadline)
		std::this_thread::sleep_for(500ms);
	return std::chrono::duration<double>(steady::now() - start).count();
}

bool events_match(const ktap::writer &t, const char *who,
		  const std::vector<event> &events, unsigned int scheme_idx,
		  const std::vector<goal_cfg> &goals)
{
	unsigned int nr_bad = 0;

	for (const event &e : events) {
		bool ok = e.scheme_idx == scheme_idx && e.goal_idx < goals.size() &&
			  goals[e.goal_idx].nid == e.nid &&
			  goals[e.goal_idx].target == e.target;

		if (!ok && nr_bad++ < 5)
			t.diagf("%s: unexpected scheme_idx=%u goal_idx=%u nid=%d target_value=%lu",
				who, e.scheme_idx, e.goal_idx, e.nid, e.target);
	}
	if (nr_bad)
		t.diagf("%s: %u of %zu events do not match the configuration",
			who, nr_bad, events.size());
	return !events.empty() && !nr_bad;
}

/*
 * kdamond 0's evaluations: a goal 0 event followed by a goal 1 event.  The
 * two node shares of one evaluation must sum to 10000 bp, within rounding.
 */
bool shares_sum_up(const ktap::writer &t, const std::vector<event> &events)
{
	unsigned long min_sum = ULONG_MAX, max_sum = 0;
	unsigned long min0 = ULONG_MAX, max0 = 0, min1 = ULONG_MAX, max1 = 0;
	unsigned int nr_pairs = 0, nr_unpaired = 0, nr_bad = 0;
	const event *pending = nullptr;

	for (const event &e : events) {
		if (e.goal_idx == 0) {
			nr_unpaired += pending != nullptr;
			pending = &e;
			continue;
		}
		if (!pending) {
			nr_unpaired++;
			continue;
		}
		const unsigned long v0 = pending->current, v1 = e.current;
		const unsigned long sum = v0 + v1;
		const bool bad = v0 > 10000 || v1 > 10000 ||
				 sum + sum_slack_bp < 10000 ||
				 sum > 10000 + sum_slack_bp;

		t.diagf("kdamond 0 at %.3f s: node 0 %lu bp + node 1 %lu bp = %lu (goals %.3f s apart)%s",
			pending->ts, v0, v1, sum, e.ts - pending->ts,
			bad ? " BAD" : "");
		pending = nullptr;
		nr_pairs++;
		nr_bad += bad;
		min_sum = std::min(min_sum, sum);
		max_sum = std::max(max_sum, sum);
		min0 = std::min(min0, v0);
		max0 = std::max(max0, v0);
		min1 = std::min(min1, v1);
		max1 = std::max(max1, v1);
	}
	nr_unpaired += pending != nullptr;
	if (nr_pairs)
		t.diagf("kdamond 0: %u evaluations, node 0 share %lu..%lu bp, node 1 share %lu..%lu bp, sums %lu..%lu",
			nr_pairs, min0, max0, min1, max1, min_sum, max_sum);
	if (nr_unpaired)
		t.diagf("kdamond 0: %u goal events without the other goal's",
			nr_unpaired);
	return nr_pairs && !nr_bad && !nr_unpaired;
}

/* kdamond 1 sees node 1's memory only: 10000 bp there, 0 on node 0. */
bool node1_only(const ktap::writer &t, const std::vector<event> &events)
{
	/* [0]: the node 0 goal, [1]: the node 1 goal */
	unsigned long lo[2] = { ULONG_MAX, ULONG_MAX }, hi[2] = { 0, 0 };
	unsigned int nr[2] = { 0, 0 }, nr_bad = 0;

	for (const event &e : events) {
		const unsigned int n = e.nid == 1;

		if (e.nid != 0 && e.nid != 1) {
			nr_bad++;
			continue;
		}
		nr[n]++;
		lo[n] = std::min(lo[n], e.current);
		hi[n] = std::max(hi[n], e.current);
		nr_bad += e.current != (n ? 10000ul : 0ul);
	}
	for (unsigned int n = 0; n < 2; n++)
		if (nr[n])
			t.diagf("kdamond 1: node %u goal: %u evaluations, current_value %lu..%lu bp (expected %u)",
				n, nr[n], lo[n], hi[n], n ? 10000 : 0);
	if (nr_bad)
		t.diagf("kdamond 1: %u events off", nr_bad);
	return nr[0] && nr[1] && !nr_bad;
}

/*
 * The SKIPs of the test before any case; returns the spans of nodes 0
 * and 1.
 */
std::pair<pfn_span, pfn_span> require_two_nodes_or_skip()
{
	require_damon_sysfs_or_skip();
	if (!nodes_0_and_1_online())
		ktap::exit_skip("needs NUMA nodes 0 and 1 online");
	if (!damon_sysfs::exists(tracing_dir + "/trace"))
		ktap::exit_skip("no tracefs at /sys/kernel/tracing");
	if (!damon_sysfs::exists(event_dir + "/enable"))
		ktap::exit_skip("kernel has no damon:damos_node_eligible_mem_bp event");

	const std::map<int, pfn_span> spans = node_spans();
	const auto n0 = spans.find(0), n1 = spans.find(1);

	if (n0 == spans.end() || n1 == spans.end() || n0->second.empty() ||
	    n1->second.empty())
		ktap::exit_skip("no memory on node 0 or 1 in /proc/zoneinfo");
	const pfn_span node0 = n0->second, node1 = n1->second;
	if (node0.start < node1.end && node1.start < node0.end)
		ktap::exit_skip("the spans of nodes 0 and 1 overlap");
	return { node0, node1 };
}

/*
 * Enable the event on an empty trace and start both kdamonds: the "start"
 * case.  False (and the rest skipped) if they did not start.
 */
bool start_traced(ktap::writer &t, const trace_state &ts, trace_reader &tr,
		  const damon_sysfs::session &s, pid_t pids[2])
{
	int err = ts.prepare();

	if (!err)
		err = ts.enable(true);
	if (!err)
		err = ts.clear();
	if (err)
		t.diagf("tracefs: %s", std::strerror(-err));
	else if (!tr.warm_up())
		t.diag("the trace parser does not parse a sample line");
	if (!t.result(!err && start_both(t, s, pids), "start")) {
		t.skip_rest("kdamonds or tracing not started");
		return false;
	}
	return true;
}

/*
 * Did both kdamonds evaluate each goal min_evaluations times?  Shows how
 * often they did.
 */
bool each_goal_evaluated(const ktap::writer &t, const std::vector<event> &ev0,
			 const std::vector<event> &ev1)
{
	bool enough = true;

	for (unsigned int g = 0; g < 2; g++) {
		unsigned int e0 = nr_evaluations(ev0, g);
		unsigned int e1 = nr_evaluations(ev1, g);

		t.diagf("goal %u evaluations: kdamond 0 %u, kdamond 1 %u", g,
			e0, e1);
		enough = enough && e0 >= min_evaluations &&
			 e1 >= min_evaluations;
	}
	return enough;
}

/*
 * The cases on the events of the run with the event enabled: @te as read
 * (@rd_err: the -errno of reading it), @pids those of the kdamonds.
 */
void enabled_run_cases(ktap::writer &t, const trace_events &te, int rd_err,
		       const pid_t pids[2])
{
	for (size_t i = 0; i < te.bad.size() && i < 3; i++)
		t.diagf("unparsable: %s", te.bad[i].c_str());

	const std::vector<event> ev0 = events_of(te.events, pids[0]);
	const std::vector<event> ev1 = events_of(te.events, pids[1]);
	const size_t nr_other = te.events.size() - ev0.size() - ev1.size();

	t.diagf("%zu events from kdamond 0, %zu from kdamond 1, %zu from other tasks",
		ev0.size(), ev1.size(), nr_other);
	t.result(!rd_err && !ev0.empty() && !ev1.empty() && !nr_other &&
		 te.bad.empty(), "events_from_both_kdamonds_only");
	t.result(events_match(t, "kdamond 0", ev0, kd0_scheme_idx, kd0_goals),
		 "kdamond0_fields_match_config");
	t.result(events_match(t, "kdamond 1", ev1, kd1_scheme_idx, kd1_goals),
		 "kdamond1_fields_match_config");
	t.result(each_goal_evaluated(t, ev0, ev1),
		 "each_goal_evaluated_3_times");
	t.result(shares_sum_up(t, ev0), "kdamond0_node_shares_sum_to_10000");
	t.result(node1_only(t, ev1), "kdamond1_node1_region_is_all_node1");
}

/*
 * The same configuration with the event disabled adds no event; @may_run
 * says the kdamonds stopped and the event was disabled.
 */
void disabled_run_case(ktap::writer &t, const damon_sysfs::session &s,
		       trace_reader &tr, pid_t pids[2], bool may_run)
{
	const long before = tr.count_lines();
	bool ran = may_run && before >= 0 && start_both(t, s, pids);

	if (ran)
		std::this_thread::sleep_for(disabled_run_time);
	ran = stop_both(t, s) && ran;
	const long after = tr.count_lines();

	t.diagf("event disabled: %ld event lines before a %lld ms run, %ld after",
		before, static_cast<long long>(disabled_run_time.count()),
		after);
	t.result(ran && after == before, "no_events_while_disabled");
}

int run()
{
	const auto [node0, node1] = require_two_nodes_or_skip();

	ktap::writer t(10);
	trace_state ts;
	damon_sysfs::session s;
	const node_buffer ballast(node0_buf_sz, 0);
	const node_buffer buf(node1_buf_sz, 1);
	trace_reader tr;
	pid_t pids[2] = { -1, -1 };

	t.diagf("node 0: pfn [%#lx, %#lx), node 1: pfn [%#lx, %#lx)",
		node0.start, node0.end, node1.start, node1.end);
	t.result(on_its_node(t, ballast, 0) && on_its_node(t, buf, 1),
		 "buffers_on_their_nodes");

	int err = setup_two_kdamonds(s, node0, node1);
	if (err)
		t.diagf("configuration: %s", std::strerror(-err));
	if (!t.result(!err, "configure")) {
		t.skip_rest("configuration failed");
		return t.exit_code();
	}

	if (!start_traced(t, ts, tr, s, pids))
		return t.exit_code();
	t.diagf("kdamond pids %d and %d", pids[0], pids[1]);
	const double secs = run_and_collect(pids, tr);
	const bool stopped = stop_both(t, s);
	const int dis_err = ts.enable(false);
	const int rd_err = tr.read();
	const trace_events te = tr.events();

	if (rd_err)
		t.diagf("reading the trace: %s", std::strerror(-rd_err));
	t.diagf("ran %.1f s: %zu events, %zu unparsable lines", secs,
		te.events.size(), te.bad.size());
	enabled_run_cases(t, te, rd_err, pids);
	disabled_run_case(t, s, tr, pids, stopped && !dis_err);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
