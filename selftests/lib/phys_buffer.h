/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A locked, touched buffer of the calling process and the longest run of
 * physically contiguous pages in it, from /proc/self/pagemap (needs root
 * for the page frame numbers).  Physical address tests let a PMU sample
 * that run and look for it in DAMON's regions.
 */
#ifndef DAMON_HWS_PHYS_BUFFER_H
#define DAMON_HWS_PHYS_BUFFER_H

#include <cstddef>

class phys_buffer {
public:
	/* Anonymous memory, or shared memory of a memfd if @shmem. */
	explicit phys_buffer(size_t bytes, bool shmem = false);
	phys_buffer(const phys_buffer &) = delete;
	phys_buffer &operator=(const phys_buffer &) = delete;
	~phys_buffer();

	/* [run_start, run_end): physical; empty if pagemap gave no PFNs */
	unsigned long run_start = 0, run_end = 0;
	/* the virtual address of run_start */
	unsigned long run_va = 0;
	unsigned long run_size() const { return run_end - run_start; }

private:
	void *buf = nullptr;
	size_t size;
	int fd = -1;

	void find_run();
};

#endif /* DAMON_HWS_PHYS_BUFFER_H */
