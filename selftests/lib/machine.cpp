// SPDX-License-Identifier: GPL-2.0
#include "machine.h"

#include <cstdlib>
#include <fstream>
#include <sys/utsname.h>

namespace machine {

std::string cpu_model()
{
	std::ifstream f("/proc/cpuinfo");
	std::string line;

	while (std::getline(f, line))
		if (line.rfind("model name", 0) == 0)
			return line.substr(line.find(':') + 2);
	return "unknown";
}

/* $name, or name= of the kernel command line, or "unknown" */
static std::string vm_setting(const std::string &name)
{
	const char *v = std::getenv(name.c_str());
	std::string cmdline;
	size_t pos;

	if (v && *v)
		return v;
	std::ifstream f("/proc/cmdline");
	std::getline(f, cmdline);
	pos = (" " + cmdline).find(" " + name + "=");
	if (pos == std::string::npos)
		return "unknown";
	cmdline = cmdline.substr(pos + name.size() + 1);
	return cmdline.substr(0, cmdline.find(' '));
}

std::string accelerator()
{
	return vm_setting("HWS_ACCEL");
}

std::string host()
{
	return vm_setting("HWS_HOST");
}

std::string kernel_release()
{
	struct utsname u;

	return uname(&u) ? "unknown" : u.release;
}

std::string sanitizer()
{
	std::ifstream f("/proc/kallsyms");
	std::string line;

	while (std::getline(f, line)) {
		if (line.find(" __asan_load8") != std::string::npos)
			return "KASAN";
		if (line.find(" __tsan_read8") != std::string::npos)
			return "KCSAN";
	}
	return "";
}

} /* namespace machine */
