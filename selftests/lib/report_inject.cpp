// SPDX-License-Identifier: GPL-2.0
/*
 * The damon_report_inject test module, seen from the C++ tests.  See
 * report_inject.h.
 */
#include "report_inject.h"

#include "damon_sysfs.h"
#include "drgn.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace report_inject {

namespace {

const std::string inject_file = std::string(debugfs_dir) + "/inject";
const std::string stats_file = std::string(debugfs_dir) + "/stats";

int finit_module(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -errno;
	ret = static_cast<int>(syscall(SYS_finit_module, fd, "", 0));
	err = ret ? -errno : 0;
	close(fd);
	return err;
}

int delete_module(const char *mod)
{
	if (syscall(SYS_delete_module, mod, O_NONBLOCK))
		return -errno;
	return 0;
}

} /* namespace */

std::string module_path()
{
	const char *env = std::getenv("DAMON_HWS_INJECT_KO");

	if (env)
		return env;
	return drgn::exe_dir() + "/" + name + ".ko";
}

module::module()
{
	const std::string path = module_path();
	int err;

	if (access(path.c_str(), R_OK)) {
		err_msg = path + " not found (built only against a kernel that exports damon_report_access)";
		return;
	}
	err = finit_module(path);
	if (err == -EEXIST) {
		/* left behind by an earlier run: start from a fresh one */
		delete_module(name);
		err = finit_module(path);
	}
	if (err) {
		err_msg = "loading " + path + ": " + std::strerror(-err);
		return;
	}
	loaded = true;
	if (!damon_sysfs::exists(debugfs_dir))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
	if (!damon_sysfs::exists(inject_file))
		err_msg = std::string("no ") + inject_file + " (debugfs?)";
	else
		usable = true;
}

module::~module()
{
	if (!loaded)
		return;
	stop();
	delete_module(name);
}

int module::inject(const std::string &line) const
{
	return damon_sysfs::write_file(inject_file, line);
}

int module::stop() const
{
	return inject("stop");
}

int module::read_stats(stats &s) const
{
	std::string text, key;
	unsigned long val;
	int err = damon_sysfs::read_file(stats_file, text);

	if (err)
		return err;
	s.clear();
	std::istringstream in(text);
	while (in >> key >> val)
		s[key] = val;
	return s.count("pushed") && s.count("injected") ? 0 : -EINVAL;
}

bool module::wait_idle(std::chrono::milliseconds timeout) const
{
	const auto end = std::chrono::steady_clock::now() + timeout;
	stats s;

	for (;;) {
		if (!read_stats(s) && !s["busy"])
			return true;
		if (std::chrono::steady_clock::now() > end)
			return false;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

stats delta(const stats &before, const stats &after)
{
	stats d;

	for (const auto &kv : after) {
		auto it = before.find(kv.first);

		d[kv.first] = kv.second - (it == before.end() ? 0 : it->second);
	}
	return d;
}

bool balanced(const stats &s)
{
	auto get = [&s](const char *key) {
		auto it = s.find(key);

		return it == s.end() ? 0ul : it->second;
	};

	return get("pushed") == get("drained") + get("dropped_full") +
				get("dropped_nested") +
				get("dropped_no_owner") &&
	       get("drained") == get("attributed") + get("unmatched") +
				 get("stale");
}

int wait_balanced(const module &m, stats &s, std::chrono::milliseconds timeout)
{
	const auto end = std::chrono::steady_clock::now() + timeout;

	for (;;) {
		int err = m.read_stats(s);

		if (err)
			return err;
		if (balanced(s))
			return 0;
		if (std::chrono::steady_clock::now() > end)
			return -ETIMEDOUT;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

std::string format(const stats &s)
{
	std::string out;

	for (const auto &kv : s) {
		if (!out.empty())
			out += ' ';
		out += kv.first + "=" + std::to_string(kv.second);
	}
	return out;
}

} /* namespace report_inject */
