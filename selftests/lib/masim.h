/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A memory access workload generator in the spirit of masim, for measuring
 * how well DAMON finds a hot set that moves.
 *
 * masim::generator forks a child that maps one anonymous mapping a region
 * (separated by unmapped gaps, so that each region is its own VMA), writes
 * every page of them once, and then idles until the parent gives it access
 * shares.  With shares, the child loops: it picks a region with the
 * probability of its share (xorshift64), and writes one random cache line
 * of it.  A refaulting generator instead drops one random page of the
 * region (MADV_DONTNEED) and writes it, so that every access is a page
 * fault.  The parent drives the phases: set_shares() publishes the new
 * shares in memory both processes map, waits until the child took them
 * and returns when that was, so the parent knows the phase timeline
 * exactly.  The destructor kills and reaps the child.
 *
 * The ground truth of a phase is its hot set: the regions with a share
 * above 0.
 */
#ifndef DAMON_HWS_MASIM_H
#define DAMON_HWS_MASIM_H

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace masim {

using steady = std::chrono::steady_clock;

/* Most regions a generator has. */
inline constexpr unsigned int max_regions = 16;

struct region_spec {
	std::string name;
	size_t size;
};

/* A region of the running child: [start, end) of its address space. */
struct region {
	std::string name;
	unsigned long start;
	unsigned long end;
};

/* One phase: how long it lasts and the access share of each region. */
struct phase {
	double seconds;
	std::vector<double> shares;
};

/* Four regions A, B, C and D of @size bytes each. */
std::vector<region_spec> default_regions(size_t size = 32ul << 20);

/* The regions a phase accesses (share > 0), one flag a region. */
std::vector<bool> hot_set(const phase &p);

/* "A 0.8 B 0.2 C 0 D 0" */
std::string describe(const std::vector<region> &regions, const phase &p);

class generator {
public:
	/*
	 * Start the child; it is ready (pages touched, idle) when ok().
	 * With @refault, every access faults its page in again.  With
	 * @sleeper, the child has a second thread, which only sleeps: NUMA
	 * balancing marks for hinting faults the pages on the node a
	 * process runs on only when more than one user shares its memory
	 * (change_pte_range()).
	 */
	explicit generator(const std::vector<region_spec> &specs,
			   size_t gap = 16ul << 20, bool refault = false,
			   bool sleeper = false);
	generator(const generator &) = delete;
	generator &operator=(const generator &) = delete;
	~generator();

	bool ok() const { return pid_ > 0; }
	const std::string &error() const { return err_msg; }
	pid_t pid() const { return pid_; }
	const std::vector<region> &regions() const { return regions_; }

	/*
	 * Make the child access the regions by @shares (one a region, not
	 * negative; all 0 makes it idle).  @when is when the new shares were
	 * published; the child takes them within a few microseconds of
	 * running.  0, -EINVAL, or -ETIMEDOUT when the child did not take
	 * them within a second.
	 */
	int set_shares(const std::vector<double> &shares, steady::time_point &when);

	/*
	 * Cache line writes (refaulting: page faults) to each region so far
	 * (as of a few ms ago).
	 */
	std::vector<uint64_t> writes() const;

private:
	struct shared;

	pid_t pid_ = -1;
	shared *sh = nullptr;
	std::vector<region> regions_;
	std::string err_msg;
};

} /* namespace masim */

#endif /* DAMON_HWS_MASIM_H */
