// SPDX-License-Identifier: GPL-2.0
/*
 * Test module loading and "key value" files.  See kmod.h.
 */
#include "kmod.h"

#include "damon_sysfs.h"
#include "drgn.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/syscall.h>
#include <unistd.h>

namespace kmod {

namespace {

int finit_module(const std::string &path, const std::string &params)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -errno;
	ret = static_cast<int>(syscall(SYS_finit_module, fd, params.c_str(), 0));
	err = ret ? -errno : 0;
	close(fd);
	return err;
}

} /* namespace */

int read_values(const std::string &path, values &v)
{
	std::string text, key;
	unsigned long val;
	int err = damon_sysfs::read_file(path, text);

	if (err)
		return err;
	v.clear();
	std::istringstream in(text);
	while (in >> key >> val)
		v[key] = val;
	return 0;
}

unsigned long value_of(const values &v, const char *key,
		       unsigned long missing)
{
	auto it = v.find(key);

	return it == v.end() ? missing : it->second;
}

values delta(const values &before, const values &after)
{
	values d;

	for (const auto &kv : after) {
		auto it = before.find(kv.first);

		d[kv.first] = kv.second - (it == before.end() ? 0 : it->second);
	}
	return d;
}

std::string format(const values &v)
{
	std::string out;

	for (const auto &kv : v) {
		if (!out.empty())
			out += ' ';
		out += kv.first + "=" + std::to_string(kv.second);
	}
	return out;
}

std::string module_path(const char *name, const char *env)
{
	const char *path = std::getenv(env);

	if (path)
		return path;
	return drgn::exe_dir() + "/" + name + ".ko";
}

int unload(const char *name)
{
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		return -errno;
	return 0;
}

module::module(const char *name, const std::string &path,
	       const std::string &params)
	: name_(name)
{
	int err;

	if (access(path.c_str(), R_OK)) {
		err_msg = path + " not found (built only against a kernel with damon_report_access in its System.map)";
		return;
	}
	err = finit_module(path, params);
	if (err == -EEXIST) {
		/* left behind by an earlier run: start from a fresh one */
		kmod::unload(name);
		err = finit_module(path, params);
	}
	if (err) {
		err_msg = "loading " + path + ": " + std::strerror(-err);
		return;
	}
	loaded_ = true;
}

module::~module()
{
	if (loaded_)
		kmod::unload(name_);
}

int module::unload()
{
	int err = kmod::unload(name_);

	if (!err)
		loaded_ = false;
	return err;
}

} /* namespace kmod */
