/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading the selftests' test modules, and reading their
 * "key value" files.
 *
 * kmod::module loads a module file when it is constructed (replacing a copy
 * left behind by an earlier run) and unloads it when it goes out of scope,
 * unless it was unloaded already.
 */
#ifndef DAMON_HWS_KMOD_H
#define DAMON_HWS_KMOD_H

#include <map>
#include <string>

namespace kmod {

/* "key value" lines of a file (debugfs stats and the like). */
using values = std::map<std::string, unsigned long>;

/* Read @path as "key value" lines into @v: 0 or -errno. */
int read_values(const std::string &path, values &v);

/* @key's value in @v, or @missing when @v has no @key. */
unsigned long value_of(const values &v, const char *key,
		       unsigned long missing = 0);

/* @after - @before, key by key. */
values delta(const values &before, const values &after);

/* "key=value ..." for a diagnostic line. */
std::string format(const values &v);

/* Where a test module named @name is expected: $@env, else next to us. */
std::string module_path(const char *name, const char *env);

/* delete_module(@name, O_NONBLOCK): 0 or -errno (-EWOULDBLOCK if in use). */
int unload(const char *name);

class module {
public:
	/* Load @path with the parameter string @params (may be ""). */
	module(const char *name, const std::string &path,
	       const std::string &params = "");
	module(const module &) = delete;
	module &operator=(const module &) = delete;
	~module();

	bool loaded() const { return loaded_; }
	/* Why loading failed. */
	const std::string &error() const { return err_msg; }
	/* Unload now: 0 or -errno; the destructor does nothing after a success. */
	int unload();

private:
	const char *name_;
	bool loaded_ = false;
	std::string err_msg;
};

} /* namespace kmod */

#endif /* DAMON_HWS_KMOD_H */
