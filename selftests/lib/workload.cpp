// SPDX-License-Identifier: GPL-2.0
/*
 * Workload processes for the DAMON selftests.  See workload.h.
 */
#include "workload.h"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <cstring>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace workload {

namespace {

const size_t page_sz = 4096;

/* Runs in the child: never returns. */
[[noreturn]] void run_child(int wfd, size_t hot_sz, size_t cold_sz,
			    bool refault)
{
	/* hot | gap | cold, the gap unmapped so DAMON sees two areas. */
	const size_t gap = 64ul << 20;
	unsigned long addrs[2] = { 0, 0 };
	char *base, *hot, *cold;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	base = static_cast<char *>(mmap(nullptr, hot_sz + gap + cold_sz,
					PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (base == MAP_FAILED)
		_exit(1);
	hot = base;
	cold = base + hot_sz + gap;
	if (munmap(hot + hot_sz, gap))
		_exit(1);
	std::memset(hot, 1, hot_sz);
	std::memset(cold, 1, cold_sz);
	addrs[0] = reinterpret_cast<unsigned long>(hot);
	addrs[1] = reinterpret_cast<unsigned long>(cold);
	if (write(wfd, addrs, sizeof(addrs)) != sizeof(addrs))
		_exit(1);
	close(wfd);
	for (unsigned char v = 0;; v++) {
		/* drop the pages so that every write below faults again */
		if (refault)
			madvise(hot, hot_sz, MADV_DONTNEED);
		for (size_t off = 0; off < hot_sz; off += page_sz)
			*(volatile char *)(hot + off) = static_cast<char>(v);
	}
}

} /* namespace */

hot_cold_child::hot_cold_child(size_t hot_bytes, size_t cold_bytes,
			       bool refault)
	: hot_sz(hot_bytes), cold_sz(cold_bytes)
{
	unsigned long addrs[2];
	int fds[2];
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		run_child(fds[1], hot_sz, cold_sz, refault);
	}
	close(fds[1]);
	n = read(fds[0], addrs, sizeof(addrs));
	close(fds[0]);
	if (n != sizeof(addrs)) {
		kill(pid, SIGKILL);
		waitpid(pid, nullptr, 0);
		return;
	}
	hot = addrs[0];
	cold = addrs[1];
	pid_ = pid;
}

hot_cold_child::~hot_cold_child()
{
	if (pid_ <= 0)
		return;
	kill(pid_, SIGKILL);
	waitpid(pid_, nullptr, 0);
}

sleeper::sleeper()
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	pid_ = pid;
}

sleeper::~sleeper()
{
	if (pid_ <= 0)
		return;
	kill(pid_, SIGKILL);
	waitpid(pid_, nullptr, 0);
}

int run_command(const char *const argv[], const char *out_path,
		unsigned int timeout_s)
{
	const time_t end = time(nullptr) + timeout_s;
	int status, fd;
	pid_t pid, ret;

	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (pid == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(argv[0], const_cast<char *const *>(argv));
		_exit(127);
	}
	close(fd);
	while ((ret = waitpid(pid, &status, WNOHANG)) == 0) {
		if (time(nullptr) > end) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
			return -ETIMEDOUT;
		}
		usleep(100 * 1000);
	}
	if (ret < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} /* namespace workload */
