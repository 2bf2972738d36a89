// SPDX-License-Identifier: GPL-2.0
/*
 * Running the drgn scripts from the C++ selftests.  See drgn.h.
 */
#include "drgn.h"

#include "workload.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace drgn {

temp_file::temp_file()
{
	char tmpl[] = "/tmp/damon_drgn.XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd >= 0) {
		close(fd);
		path_ = tmpl;
	}
}

temp_file::~temp_file()
{
	if (!path_.empty())
		unlink(path_.c_str());
}

std::string exe_dir()
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	std::string dir;

	if (n <= 0)
		return ".";
	self[n] = '\0';
	dir = self;
	return dir.substr(0, dir.rfind('/'));
}

std::string script_dir()
{
	const char *env = std::getenv("DAMON_HWS_DRGN_DIR");

	if (env)
		return env;
	return exe_dir() + "/../../drgn-scripts";
}

std::string unavailable(std::string &vmlinux)
{
	const char *env = std::getenv("DAMON_HWS_VMLINUX");

	if (access("/usr/bin/drgn", X_OK) && access("/usr/local/bin/drgn", X_OK))
		return "drgn not installed";
	if (!env || access(env, R_OK))
		return "DAMON_HWS_VMLINUX does not name a readable vmlinux";
	if (access("/proc/kcore", R_OK))
		return "no /proc/kcore (CONFIG_PROC_KCORE)";
	vmlinux = env;
	return "";
}

std::vector<std::string> command(const std::string &vmlinux,
				 const std::string &script,
				 const std::vector<std::string> &args)
{
	std::vector<std::string> cmd = {
		"drgn", "-q", "-c", "/proc/kcore", "-s", vmlinux,
		script_dir() + "/" + script,
	};

	cmd.insert(cmd.end(), args.begin(), args.end());
	return cmd;
}

bool run_json(const ktap::writer &t, const std::string &vmlinux,
	      const std::string &script, const std::vector<std::string> &args,
	      nlohmann::json &out)
{
	const std::vector<std::string> cmd = command(vmlinux, script, args);
	temp_file json_file, log;
	std::vector<const char *> argv;
	int ret;

	if (json_file.path().empty() || log.path().empty()) {
		t.diag("cannot create temporary files");
		return false;
	}
	for (const std::string &a : cmd)
		argv.push_back(a.c_str());
	argv.push_back("-o");
	argv.push_back(json_file.path().c_str());
	argv.push_back(nullptr);

	ret = workload::run_command(argv.data(), log.path().c_str(), 300);
	if (ret) {
		std::ifstream l(log.path());
		std::string line;

		t.diagf("drgn %s exited with %d", script.c_str(), ret);
		while (std::getline(l, line))
			t.diag("drgn: " + line);
		return false;
	}
	std::ifstream f(json_file.path());
	out = nlohmann::json::parse(f, nullptr, false);
	if (out.is_discarded() || !out.is_object()) {
		t.diagf("drgn %s wrote no JSON object", script.c_str());
		return false;
	}
	return true;
}

server::server(const std::vector<std::string> &argv)
{
	std::vector<const char *> args;
	int to[2], from[2];

	for (const std::string &a : argv)
		args.push_back(a.c_str());
	args.push_back(nullptr);
	std::signal(SIGPIPE, SIG_IGN);
	if (errors.path().empty() || pipe2(to, O_CLOEXEC))
		return;
	if (pipe2(from, O_CLOEXEC)) {
		close(to[0]);
		close(to[1]);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int err_fd = open(errors.path().c_str(), O_WRONLY | O_TRUNC);

		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		if (err_fd >= 0)
			dup2(err_fd, STDERR_FILENO);
		execvp(args[0], const_cast<char *const *>(args.data()));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		close(to[1]);
		close(from[0]);
		return;
	}
	to_fd = to[1];
	from_fd = from[0];
}

server::~server()
{
	if (to_fd >= 0)
		close(to_fd);
	if (from_fd >= 0)
		close(from_fd);
	if (pid <= 0)
		return;
	/* the end of its input ends it */
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, nullptr, WNOHANG) != 0)
			return;
		usleep(100 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, nullptr, 0);
}

bool server::read_line(std::string &line, std::chrono::milliseconds timeout)
{
	const auto end = std::chrono::steady_clock::now() + timeout;

	for (;;) {
		size_t nl = pending.find('\n');
		struct pollfd p = { from_fd, POLLIN, 0 };
		char buf[4096];
		ssize_t n;
		long left;

		if (nl != std::string::npos) {
			line = pending.substr(0, nl);
			pending.erase(0, nl + 1);
			return true;
		}
		if (dead || from_fd < 0)
			return false;
		left = std::chrono::duration_cast<std::chrono::milliseconds>(
			end - std::chrono::steady_clock::now()).count();
		if (poll(&p, 1, static_cast<int>(std::max(0l, left))) <= 0)
			return false;
		n = read(from_fd, buf, sizeof(buf));
		if (n <= 0) {
			dead = true;
			return false;
		}
		pending.append(buf, static_cast<size_t>(n));
	}
}

bool server::ready(std::chrono::milliseconds timeout)
{
	std::string line;

	while (!is_ready && read_line(line, timeout))
		is_ready = line == "ready";
	return is_ready;
}

void server::show_errors(const ktap::writer &t) const
{
	std::ifstream l(errors.path());
	std::string line;

	while (std::getline(l, line))
		t.diag("drgn: " + line);
}

bool server::request(const ktap::writer &t, nlohmann::json &out,
		     std::chrono::milliseconds timeout)
{
	std::string line;

	if (!ready(timeout)) {
		t.diag(dead || pid < 0 ? "the drgn server is gone" :
					 "the drgn server is not ready");
		show_errors(t);
		return false;
	}
	if (write(to_fd, "\n", 1) != 1 || !read_line(line, timeout)) {
		t.diag("the drgn server did not answer");
		show_errors(t);
		return false;
	}
	out = nlohmann::json::parse(line, nullptr, false);
	if (out.is_discarded() || !out.is_object()) {
		t.diag("the drgn server answered no JSON object: " + line);
		return false;
	}
	return true;
}

} /* namespace drgn */
