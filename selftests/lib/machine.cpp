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

std::string accelerator()
{
	const char *a = std::getenv("HWS_ACCEL");
	std::string cmdline;
	size_t pos;

	if (a && *a)
		return a;
	std::ifstream f("/proc/cmdline");
	std::getline(f, cmdline);
	pos = cmdline.find("HWS_ACCEL=");
	if (pos == std::string::npos)
		return "unknown";
	cmdline = cmdline.substr(pos + 10);
	return cmdline.substr(0, cmdline.find(' '));
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
