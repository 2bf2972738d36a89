/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Workload processes for the DAMON selftests.
 *
 * hot_cold_child forks a process that maps a "hot" and a "cold" buffer
 * separated by an unmapped gap, writes every page of both once, and then
 * keeps writing the hot buffer only; with @refault it drops the hot pages
 * (MADV_DONTNEED) before each pass, so that every write page faults.  The
 * destructor kills and reaps it.
 */
#ifndef DAMON_HWS_WORKLOAD_H
#define DAMON_HWS_WORKLOAD_H

#include <sys/types.h>

#include <cstddef>

namespace workload {

class hot_cold_child {
public:
	hot_cold_child(size_t hot_bytes, size_t cold_bytes,
		       bool refault = false);
	hot_cold_child(const hot_cold_child &) = delete;
	hot_cold_child &operator=(const hot_cold_child &) = delete;
	~hot_cold_child();

	/* False when the child could not be started or set up. */
	bool ok() const { return pid_ > 0; }
	pid_t pid() const { return pid_; }
	unsigned long hot_start() const { return hot; }
	unsigned long cold_start() const { return cold; }
	size_t hot_size() const { return hot_sz; }
	size_t cold_size() const { return cold_sz; }

private:
	pid_t pid_ = -1;
	unsigned long hot = 0;
	unsigned long cold = 0;
	size_t hot_sz;
	size_t cold_sz;
};

/* A child that only sleeps: a target whose memory does not change. */
class sleeper {
public:
	sleeper();
	sleeper(const sleeper &) = delete;
	sleeper &operator=(const sleeper &) = delete;
	~sleeper();

	bool ok() const { return pid_ > 0; }
	pid_t pid() const { return pid_; }

private:
	pid_t pid_ = -1;
};

/*
 * Run @argv (argv[0] is looked up in PATH) with stdout and stderr
 * redirected to @out_path; return its exit status, or -errno when it could
 * not run, or -ETIMEDOUT when it ran longer than @timeout_s (it is killed).
 */
int run_command(const char *const argv[], const char *out_path,
		unsigned int timeout_s);

} /* namespace workload */

#endif /* DAMON_HWS_WORKLOAD_H */
