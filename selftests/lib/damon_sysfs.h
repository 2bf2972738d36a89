/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small typed library for DAMON's sysfs interface
 * (/sys/kernel/mm/damon/admin), shared by all C++ selftests.
 *
 * Every setter writes one file and returns 0 or a negative errno, so tests
 * can assert on the exact error.  Nothing throws on I/O errors.
 * damon_sysfs::session is the RAII guard a test holds: its destructor turns
 * every kdamond off and resets nr_kdamonds to 0, also when the test failed
 * half way, so one test never leaves DAMON running for the next.
 */
#ifndef DAMON_HWS_DAMON_SYSFS_H
#define DAMON_HWS_DAMON_SYSFS_H

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace damon_sysfs {

inline constexpr const char *admin_dir = "/sys/kernel/mm/damon/admin";

/* Raw file access: 0 or -errno. */
int write_file(const std::string &path, const std::string &val);
int read_file(const std::string &path, std::string &val);
int read_ulong(const std::string &path, unsigned long &val);
bool exists(const std::string &path);

/* Is DAMON sysfs there and writable by us? */
bool available();

/*
 * Read every file below @dir, recursively, with one read() of up to a page
 * each, and give @fn each file's path with 0 or the -errno of its open()
 * or read(); a directory that cannot be opened is given the same way.
 * For readers that race writers which remove directories (ENOENT, ENODEV).
 */
void read_tree(const std::string &dir,
	       const std::function<void(const std::string &path, int err)> &fn);

class node {
public:
	explicit node(std::string dir) : dir_(std::move(dir)) {}
	const std::string &dir() const { return dir_; }
	std::string path(const std::string &file) const
	{
		return dir_ + "/" + file;
	}
	int set(const std::string &file, const std::string &val) const;
	int set(const std::string &file, unsigned long val) const;
	/* Value with the trailing newline removed. */
	int get(const std::string &file, std::string &val) const;
	int get(const std::string &file, unsigned long &val) const;

private:
	std::string dir_;
};

struct region {
	unsigned long start;
	unsigned long end;
	unsigned long nr_accesses;
	unsigned long age;
	/* probes/<P>/hits of a tried region, when the context has probes */
	std::vector<unsigned long> probe_hits;
};

struct access_pattern {
	unsigned long sz_min = 0;
	unsigned long sz_max = ~0ul;
	unsigned long nr_accesses_min = 0;
	unsigned long nr_accesses_max = ~0ul;
	unsigned long age_min = 0;
	unsigned long age_max = ~0ul;
};

/*
 * One DAMOS quota goal (schemes/<S>/quotas/goals/<G>/).  @nid is used by
 * the node_* metrics, @current_value only by user_input.  The kernel drops
 * a goal whose target_value is 0.
 */
struct quota_goal {
	std::string metric = "user_input";
	unsigned long target_value = 0;
	unsigned long current_value = 0;
	int nid = 0;
};

/*
 * Average nr_accesses over [start, end), each region weighted by how many
 * of its bytes fall in the range; -1 when no region overlaps it.
 */
double weighted_accesses(const std::vector<region> &regions,
			 unsigned long start, unsigned long end);

/* The highest nr_accesses of a region that overlaps [start, end); 0 if none. */
unsigned int peak_accesses(const std::vector<region> &regions,
			   unsigned long start, unsigned long end);

class scheme : public node {
public:
	using node::node;
	int set_action(const std::string &action) const;
	int set_access_pattern(const access_pattern &p) const;
	/* quotas/reset_interval_ms: how often the goals are evaluated */
	int set_quota_reset_interval_ms(unsigned long ms) const;
	/* Write quotas/goals/nr_goals and each goal's files, in order. */
	int set_quota_goals(const std::vector<quota_goal> &goals) const;
	/* Read tried_regions/ (after an update_schemes_tried_regions). */
	int tried_regions(std::vector<region> &regions) const;
};

/* An address range [start, end), e.g. an initial monitoring region. */
struct range {
	unsigned long start;
	unsigned long end;
};

class target : public node {
public:
	using node::node;
	int set_pid(pid_t pid) const;
	/* Write the initial monitoring regions (regions/). */
	int set_regions(const std::vector<range> &ranges) const;
};

/*
 * What a perf event directory (monitoring_attrs/sample/perf_events/<E>/)
 * holds; the member defaults are the kernel's.
 */
struct perf_event_attr {
	unsigned long type = 0;
	unsigned long config = 0;
	unsigned long config1 = 0;
	unsigned long config2 = 0;
	bool sample_phys_addr = false;
	bool exclude_kernel = false;
	bool exclude_hv = false;
	bool freq = true;
	unsigned long sample_freq = 4000;
	unsigned long sample_period = 100000;
	unsigned long precise_ip = 0;
};

/*
 * The report sink: the software dummy event (PERF_TYPE_SOFTWARE,
 * PERF_COUNT_SW_DUMMY, period 1), which never samples.  A context consumes
 * the access reports of damon_report_access() (owns the per-CPU rings,
 * drains them, takes nr_accesses from them) if and only if it has a perf
 * event; the sink lets a test have that without a sampler, for reports
 * that a test module makes.
 */
perf_event_attr report_sink_event();
bool is_report_sink(const perf_event_attr &a);

/* A perf event's stats/ files (after an update_sample_stats). */
struct perf_event_stats {
	unsigned long nr_accepted = 0;
	unsigned long nr_invalid = 0;
	unsigned long nr_dropped = 0;
	unsigned long nr_foreign = 0;
	unsigned long nr_cpus = 0;
	unsigned long nr_errored = 0;
};

class perf_event : public node {
public:
	using node::node;
	/* Write every file of @a: 0 or the first -errno. */
	int set_attr(const perf_event_attr &a) const;
	int get_stats(perf_event_stats &st) const;
};

class context : public node {
public:
	using node::node;
	int set_operations(const std::string &ops) const;
	int set_intervals(unsigned long sample_us, unsigned long aggr_us,
			  unsigned long update_us) const;
	int set_nr_regions(unsigned long min, unsigned long max) const;
	int set_nr_targets(unsigned int nr) const;
	target get_target(unsigned int idx) const;
	int set_nr_schemes(unsigned int nr) const;
	scheme get_scheme(unsigned int idx) const;
	int set_addr_unit(unsigned long unit) const;
	/* The context's pause file ("commit" applies it to a running one). */
	int set_pause(bool pause) const;
	/* monitoring_attrs/sample/ */
	node sample() const { return node(path("monitoring_attrs/sample")); }
	bool has_perf_events() const;
	int get_nr_perf_events(unsigned int &nr) const;
	int set_nr_perf_events(unsigned int nr) const;
	perf_event get_perf_event(unsigned int idx) const;
	/* Write nr_perf_events and each event's files. */
	int set_perf_events(const std::vector<perf_event_attr> &events) const;
	/*
	 * The report sink (see report_sink_event()), on: a context without
	 * perf events gets the sink as its one event, so that it consumes
	 * damon_report_access()'s reports; one with other events consumes
	 * them already and is left alone.  Off: a context whose only event
	 * is the sink loses it; any other is left alone.
	 */
	int set_report_sink(bool on) const;
	/* Is the context's only perf event the sink? */
	bool has_report_sink() const;
};

class kdamond : public node {
public:
	using node::node;
	int set_nr_contexts(unsigned int nr) const;
	context get_context(unsigned int idx) const;
	/* Write a state command: on, off, commit, update_schemes_... */
	int state(const std::string &cmd) const;
	int start() const { return state("on"); }
	int stop() const { return state("off"); }
	bool running() const;
	/* The kdamond's pid, or -1 when it is not running. */
	pid_t pid() const;
};

/*
 * What setup_vaddr_monitor() writes: kdamond 0, context 0, vaddr
 * operations on one target, and one "stat" scheme whose tried regions
 * expose DAMON's view.
 */
struct vaddr_monitor {
	pid_t pid = -1;
	unsigned long sample_us = 5000;
	unsigned long aggr_us = 100000;
	unsigned long update_us = 1000000;
	unsigned long min_nr_regions = 10;
	unsigned long max_nr_regions = 1000;
	access_pattern pattern;
	/* 0: the scheme is applied every aggregation interval. */
	unsigned long apply_interval_us = 0;
};

/*
 * What setup_paddr_monitor() writes: paddr operations on one target whose
 * one initial region is [start, end) (in units of addr_unit), and one
 * "stat" scheme as for vaddr_monitor.
 */
struct paddr_monitor {
	unsigned long start = 256ul << 20;
	unsigned long end = 320ul << 20;
	unsigned long addr_unit = 1;
	unsigned long sample_us = 5000;
	unsigned long aggr_us = 100000;
	unsigned long update_us = 1000000;
	unsigned long min_nr_regions = 8;
	unsigned long max_nr_regions = 100;
	access_pattern pattern;
	unsigned long apply_interval_us = 0;
	/* Consume access reports through the report sink. */
	bool report_sink = false;
};

class session;

/* Write @m below kdamond 0; returns 0 or the first -errno. */
int setup_vaddr_monitor(const session &s, const vaddr_monitor &m);

/* Write @m below kdamond 0 (nr_kdamonds becomes 1). */
int setup_paddr_monitor(const session &s, const paddr_monitor &m);
/* Write @m below @kd, which must exist (for tests with several kdamonds). */
int configure_paddr_monitor(const kdamond &kd, const paddr_monitor &m);

/*
 * Can a context consume access reports, that is does the kernel have
 * monitoring_attrs/sample/perf_events?  Creates kdamond 0 with one context
 * to look, and removes it again: call it before configuring anything.
 */
bool access_reports_supported(const session &s);

/*
 * RAII owner of the kdamonds directory for one test program.  Construction
 * starts from a clean state (stops and removes leftovers); destruction
 * does it again.
 */
class session {
public:
	session();
	session(const session &) = delete;
	session &operator=(const session &) = delete;
	~session();

	int set_nr_kdamonds(unsigned int nr) const;
	kdamond get_kdamond(unsigned int idx) const;
	/* Stop every running kdamond and set nr_kdamonds to 0. */
	int reset() const;
};

} /* namespace damon_sysfs */

#endif /* DAMON_HWS_DAMON_SYSFS_H */
