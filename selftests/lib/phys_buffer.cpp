// SPDX-License-Identifier: GPL-2.0
#include "phys_buffer.h"

#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

const unsigned long page_sz = 4096;
const uint64_t pfn_mask = (1ull << 55) - 1;

} /* namespace */

phys_buffer::phys_buffer(size_t bytes, bool shmem) : size(bytes)
{
	int flags = MAP_POPULATE;

	if (shmem) {
		fd = memfd_create("phys_buffer", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)))
			return;
		flags |= MAP_SHARED;
	} else {
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	}
	buf = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (buf == MAP_FAILED) {
		buf = nullptr;
		return;
	}
	mlock(buf, size);
	std::memset(buf, 1, size);
	find_run();
}

phys_buffer::~phys_buffer()
{
	if (buf)
		munmap(buf, size);
	if (fd >= 0)
		close(fd);
}

void phys_buffer::find_run()
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	const uintptr_t va = reinterpret_cast<uintptr_t>(buf);
	unsigned long best = 0, len = 0, start = 0, prev = 0;

	if (pm < 0)
		return;
	for (size_t off = 0; off < size; off += page_sz) {
		uint64_t e;
		unsigned long pfn;

		if (pread(pm, &e, sizeof(e),
			  static_cast<off_t>((va + off) / page_sz * 8)) !=
			    sizeof(e) ||
		    !(e >> 63) || !(e & pfn_mask))
			break;
		pfn = static_cast<unsigned long>(e & pfn_mask);
		if (len && pfn == prev + 1) {
			len++;
		} else {
			start = pfn;
			len = 1;
		}
		prev = pfn;
		if (len > best) {
			best = len;
			run_start = start * page_sz;
			run_end = (start + len) * page_sz;
			run_va = va + off - (len - 1) * page_sz;
		}
	}
	close(pm);
}
