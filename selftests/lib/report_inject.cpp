// SPDX-License-Identifier: GPL-2.0
/*
 * The test_damon_report test module, seen from the C++ tests.  See
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

} /* namespace */

std::string module_path()
{
	return kmod::module_path(name, "DAMON_HWS_INJECT_KO");
}

module::module() : mod(name, module_path())
{
	if (!mod.loaded())
		return;
	if (!damon_sysfs::exists(debugfs_dir))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
	if (!damon_sysfs::exists(inject_file))
		err_msg = std::string("no ") + inject_file + " (debugfs?)";
	else
		usable = true;
}

module::~module()
{
	if (mod.loaded())
		stop();
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
	int err = kmod::read_values(stats_file, s);

	if (err)
		return err;
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

bool balanced(const stats &s)
{
	auto get = [&s](const char *key) { return kmod::value_of(s, key); };

	return get("pushed") == get("drained") + get("dropped_full") +
				get("dropped_nested") +
				get("dropped_no_owner") &&
	       get("drained") == get("attributed") + get("unmatched") +
				 get("stale");
}

int wait_balanced(const module &m, stats &s, std::chrono::milliseconds timeout)
{
	const auto end = std::chrono::steady_clock::now() + timeout;
	stats last;

	for (;;) {
		int err = m.read_stats(s);

		if (err)
			return err;
		/*
		 * The kernel adds pushed up from drained, dropped and queued,
		 * read one by one: a reading that raced a drain can look
		 * balanced with drained short.  Two equal readings in a row
		 * did not.
		 */
		if (balanced(s) && s == last)
			return 0;
		last = s;
		if (std::chrono::steady_clock::now() > end)
			return -ETIMEDOUT;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

} /* namespace report_inject */
