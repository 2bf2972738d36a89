// SPDX-License-Identifier: GPL-2.0
/*
 * A masim-like workload generator.  See masim.h.
 */
#include "masim.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace masim {

namespace {

const size_t page_sz = 4096;
const unsigned int line_sz = 64;
/* Writes between two looks at the shared state (a page fault each: 64). */
const unsigned int batch = 4096;
const unsigned int refault_batch = 64;
/* A share of 1 as a threshold for the low 32 bits of the PRNG. */
const uint64_t one = 1ull << 32;

} /* namespace */

/*
 * The memory parent and child share.  The parent writes cum[] and then
 * bumps seq; the child, between batches of writes, sees the new seq,
 * copies cum[] and acknowledges with ack = seq.  The parent waits for the
 * acknowledgement before it writes cum[] again, so the child never copies
 * a half-written table.
 */
struct generator::shared {
	std::atomic<uint32_t> seq;
	std::atomic<uint32_t> ack;
	/* 1: set up and idle; 2: setting up failed */
	std::atomic<uint32_t> state;
	pid_t parent;
	unsigned int nr;
	size_t gap;
	bool refault;
	bool sleeper;
	size_t size[max_regions];
	unsigned long start[max_regions];
	/*
	 * Cumulative shares in units of 1/2^32: region i is picked when
	 * the PRNG's low 32 bits are below cum[i] and not below cum[i - 1].
	 */
	std::atomic<uint64_t> cum[max_regions];
	std::atomic<uint64_t> writes[max_regions];
};

namespace {

/* The child's second thread, with @sleeper: it only sleeps. */
int sleep_forever(void *)
{
	for (;;)
		syscall(SYS_pause);
}

/*
 * Start sleep_forever() as a thread of the child, on a static stack (no
 * malloc in the child); it dies with the child.  It shares the child's
 * TLS (no CLONE_SETTLS), so it starts with every signal blocked: no
 * handler inherited from the parent ever runs on it, and pause() never
 * returns to write errno.
 */
bool start_sleeper()
{
	alignas(16) static char stack[64 << 10];
	sigset_t all, old;
	bool ok;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	ok = clone(sleep_forever, stack + sizeof(stack),
		   CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		   CLONE_THREAD | CLONE_SYSVSEM, nullptr) > 0;
	sigprocmask(SIG_SETMASK, &old, nullptr);
	return ok;
}

/*
 * The child's set-up: map the regions (one reservation, then the gaps
 * unmapped: one VMA a region), write every page once, start the sleeper
 * if asked.  Exits, with state 2, on failure.
 */
template <typename S>
void set_up_child(S *sh, unsigned long *lines)
{
	size_t total = 0;
	char *base;

	for (unsigned int i = 0; i < sh->nr; i++)
		total += sh->size[i] + (i ? sh->gap : 0);
	base = static_cast<char *>(mmap(nullptr, total, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (base == MAP_FAILED)
		goto fail;
	for (unsigned int i = 0; i < sh->nr; i++) {
		sh->start[i] = reinterpret_cast<unsigned long>(base);
		lines[i] = sh->size[i] / line_sz;
		std::memset(base, 1, sh->size[i]);
		base += sh->size[i];
		if (i + 1 < sh->nr && sh->gap && munmap(base, sh->gap))
			goto fail;
		base += sh->gap;
	}
	if (sh->sleeper && !start_sleeper())
		goto fail;
	return;
fail:
	sh->state.store(2);
	_exit(1);
}

/* Runs in the child (fork of a possibly multi-threaded parent): no malloc. */
template <typename S>
[[noreturn]] void run_child(S *sh)
{
	uint64_t cum[max_regions] = {}, count[max_regions] = {};
	unsigned long lines[max_regions];
	uint64_t x = 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(getpid());
	uint32_t seq = 0;
	bool idle = true;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sh->parent)
		_exit(1);
	set_up_child(sh, lines);
	sh->state.store(1, std::memory_order_release);

	for (;;) {
		uint32_t s = sh->seq.load(std::memory_order_acquire);

		if (s != seq) {
			idle = true;
			for (unsigned int i = 0; i < sh->nr; i++) {
				cum[i] = sh->cum[i].load(std::memory_order_relaxed);
				if (cum[i])
					idle = false;
			}
			seq = s;
			sh->ack.store(s, std::memory_order_release);
		}
		if (idle) {
			usleep(1000);
			continue;
		}
		for (unsigned int n = 0; n < (sh->refault ? refault_batch : batch);
		     n++) {
			unsigned int r = 0;
			uint64_t line;
			char *p;

			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			while (r + 1 < sh->nr && (x & 0xffffffffu) >= cum[r])
				r++;
			line = ((x >> 32) * lines[r]) >> 32;
			p = reinterpret_cast<char *>(sh->start[r] + line * line_sz);
			if (sh->refault)
				madvise(reinterpret_cast<void *>(
						reinterpret_cast<unsigned long>(p) &
						~(page_sz - 1)),
					page_sz, MADV_DONTNEED);
			*reinterpret_cast<volatile char *>(p) = static_cast<char>(n);
			count[r]++;
		}
		for (unsigned int i = 0; i < sh->nr; i++)
			sh->writes[i].store(count[i], std::memory_order_relaxed);
	}
}

} /* namespace */

std::vector<region_spec> default_regions(size_t size)
{
	return { { "A", size }, { "B", size }, { "C", size }, { "D", size } };
}

std::vector<bool> hot_set(const phase &p)
{
	std::vector<bool> hot;

	for (double s : p.shares)
		hot.push_back(s > 0);
	return hot;
}

std::string describe(const std::vector<region> &regions, const phase &p)
{
	std::string out;
	char buf[32];

	for (size_t i = 0; i < regions.size() && i < p.shares.size(); i++) {
		std::snprintf(buf, sizeof(buf), "%s%s %g", i ? " " : "",
			      regions[i].name.c_str(), p.shares[i]);
		out += buf;
	}
	return out;
}

generator::generator(const std::vector<region_spec> &specs, size_t gap,
		     bool refault, bool sleeper)
{
	void *mem;
	pid_t pid;

	if (specs.empty() || specs.size() > max_regions) {
		err_msg = "1 to 16 regions";
		return;
	}
	mem = mmap(nullptr, sizeof(shared), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		err_msg = std::string("mmap: ") + std::strerror(errno);
		return;
	}
	sh = new (mem) shared();
	sh->parent = getpid();
	sh->nr = specs.size();
	sh->gap = (gap + page_sz - 1) & ~(page_sz - 1);
	sh->refault = refault;
	sh->sleeper = sleeper;
	for (size_t i = 0; i < specs.size(); i++) {
		sh->size[i] = (specs[i].size + page_sz - 1) & ~(page_sz - 1);
		if (!sh->size[i])
			sh->size[i] = page_sz;
	}

	pid = fork();
	if (pid < 0) {
		err_msg = std::string("fork: ") + std::strerror(errno);
		return;
	}
	if (pid == 0)
		run_child(sh);
	pid_ = pid;

	/* touching the pages takes a while in a TCG guest */
	const auto end = steady::now() + std::chrono::seconds(120);

	while (sh->state.load(std::memory_order_acquire) != 1) {
		int status;

		if (sh->state.load() == 2 || steady::now() > end ||
		    waitpid(pid_, &status, WNOHANG) == pid_) {
			err_msg = "the generator child did not set up";
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
			pid_ = -1;
			return;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	for (size_t i = 0; i < specs.size(); i++)
		regions_.push_back({ specs[i].name, sh->start[i],
				     sh->start[i] + sh->size[i] });
}

generator::~generator()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}
	if (sh) {
		sh->~shared();
		munmap(sh, sizeof(*sh));
	}
}

int generator::set_shares(const std::vector<double> &shares,
			  steady::time_point &when)
{
	double sum = 0, acc = 0;
	unsigned int last = 0;
	uint32_t seq;

	if (!ok() || shares.size() != regions_.size())
		return -EINVAL;
	for (size_t i = 0; i < shares.size(); i++) {
		if (!(shares[i] >= 0))
			return -EINVAL;
		sum += shares[i];
		if (shares[i] > 0)
			last = i;
	}
	for (size_t i = 0; i < shares.size(); i++) {
		uint64_t c;

		acc += shares[i];
		/* the last accessed region ends the table at exactly 1 */
		if (sum <= 0)
			c = 0;
		else if (i >= last)
			c = one;
		else
			c = static_cast<uint64_t>(acc / sum * static_cast<double>(one));
		sh->cum[i].store(c, std::memory_order_relaxed);
	}
	seq = sh->seq.load() + 1;
	when = steady::now();
	sh->seq.store(seq, std::memory_order_release);

	const auto end = when + std::chrono::seconds(1);

	while (sh->ack.load(std::memory_order_acquire) != seq) {
		if (steady::now() > end)
			return -ETIMEDOUT;
		std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
	return 0;
}

std::vector<uint64_t> generator::writes() const
{
	std::vector<uint64_t> w;

	for (size_t i = 0; ok() && i < regions_.size(); i++)
		w.push_back(sh->writes[i].load(std::memory_order_relaxed));
	return w;
}

} /* namespace masim */
