// SPDX-License-Identifier: GPL-2.0
/*
 * The AMD IBS Memory Profiler PMU (ibs_mprof) as user space sees it.
 *
 * Without the unit (every VM, every pre-Zen 6 CPU) the driver must leave
 * no trace (the reason it is absent is a pr_debug): no PMU, no hotplug state.
 * With it, perf_event_open() must accept a valid per-CPU sampling event and
 * refuse, with EINVAL, what the unit cannot do.  Only one of the two sets
 * of cases can run on a machine; the plan says which.
 */
#include "lib/ktap.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

const char *const pmu_dir = "/sys/bus/event_source/devices/ibs_mprof";
const char *const log_prefix = "ibs_mprof: ";

bool path_exists(const std::string &p)
{
	return access(p.c_str(), F_OK) == 0;
}

std::string read_all(const std::string &p)
{
	std::ifstream f(p);
	std::stringstream ss;

	ss << f.rdbuf();
	return ss.str();
}

/* The first value of @key in /proc/cpuinfo ("" if there is none). */
std::string cpuinfo_field(const std::string &key)
{
	std::ifstream f("/proc/cpuinfo");
	std::string line;

	while (std::getline(f, line)) {
		if (line.compare(0, key.size(), key) != 0)
			continue;
		auto colon = line.find(':');

		return colon == std::string::npos ? "" : line.substr(colon + 2);
	}
	return "";
}

bool cpu_has_flag(const std::string &flag)
{
	std::istringstream flags(cpuinfo_field("flags"));
	std::string f;

	while (flags >> f)
		if (f == flag)
			return true;
	return false;
}

/*
 * The kernel log records (text only) that start with @prefix, read from
 * /dev/kmsg from the first record on.
 */
std::vector<std::string> kmsg_lines(const std::string &prefix)
{
	std::vector<std::string> lines;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char buf[8192];

	if (fd < 0)
		return lines;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten meanwhile */
		if (n <= 0)
			break;
		buf[n] = '\0';
		const char *msg = strchr(buf, ';');

		if (!msg)
			continue;
		std::string text(msg + 1);

		text = text.substr(0, text.find('\n'));
		if (text.compare(0, prefix.size(), prefix) == 0)
			lines.push_back(text);
	}
	close(fd);
	return lines;
}

int perf_open(perf_event_attr &attr, pid_t pid, int cpu)
{
	long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);

	return fd < 0 ? -errno : static_cast<int>(fd);
}

/* Open @attr on CPU 0; the errno (0 on success, the fd closed). */
int open_errno(perf_event_attr attr, pid_t pid = -1, int cpu = 0)
{
	int fd = perf_open(attr, pid, cpu);

	if (fd < 0)
		return -fd;
	close(fd);
	return 0;
}

bool contains(const std::string &s, const std::string &what)
{
	return s.find(what) != std::string::npos;
}

void absent_cases(ktap::writer &t)
{
	const bool amd = cpuinfo_field("vendor_id") == "AuthenticAMD";
	const bool ibs = cpu_has_flag("ibs");
	const auto lines = kmsg_lines(log_prefix);

	t.diagf("vendor %s, CPU %s IBS", cpuinfo_field("vendor_id").c_str(),
		ibs ? "has" : "has no");
	for (const auto &l : lines)
		t.diagf("log: %s", l.c_str());

	/*
	 * An absent unit is the common case (every CPU before Zen 6): the
	 * reason is a pr_debug, so no vendor gets a line at the default log
	 * level.
	 */
	t.result(lines.empty(), "absent:no_log_line");
	/* the reason given is the one CPUID shows, when dynamic debug shows it */
	if (lines.empty())
		t.skip("absent:reason_matches_cpuid",
		       std::string("the reason is a pr_debug, not enabled (") +
			       (amd ? (ibs ? "AMD with IBS" : "AMD without IBS") :
				      "not AMD") + ")");
	else
		t.result(ibs ? !contains(lines[0], "no IBS on this CPU") :
			       contains(lines[0], "no IBS on this CPU"),
			 "absent:reason_matches_cpuid");
	t.result(!contains(read_all("/sys/devices/system/cpu/hotplug/states"),
			   "ibs_mprof"),
		 "absent:no_hotplug_state");
}

void present_cases(ktap::writer &t)
{
	unsigned long type = 0;
	perf_event_attr attr{};

	std::istringstream(read_all(std::string(pmu_dir) + "/type")) >> type;
	attr.size = sizeof(attr);
	attr.type = static_cast<__u32>(type);
	attr.sample_period = 0x10000;
	attr.sample_type = PERF_SAMPLE_ADDR | PERF_SAMPLE_PHYS_ADDR |
		PERF_SAMPLE_DATA_SRC;

	t.result(read_all(std::string(pmu_dir) + "/format/l3missonly")
			 .rfind("config:16", 0) == 0,
		 "present:format_l3missonly");
	t.result(open_errno(attr) == 0, "present:valid_event_opens");

	perf_event_attr a = attr;

	a.freq = 1;
	a.sample_freq = 4000;
	t.result(open_errno(a) == EINVAL, "present:freq_refused");
	a = attr;
	a.sample_period = 0x95;
	t.result(open_errno(a) == EINVAL, "present:unaligned_period_refused");
	a.sample_period = 0x8000000;
	t.result(open_errno(a) == EINVAL, "present:too_long_period_refused");
	a = attr;
	a.precise_ip = 2;
	t.result(open_errno(a) == EINVAL, "present:precise_ip_refused");
	t.result(open_errno(attr, 0, -1) == EINVAL,
		 "present:per_task_refused");
}

int run()
{
	const bool present = path_exists(pmu_dir);

	if (geteuid())
		ktap::exit_skip("needs root (kernel log, perf_event_open)");

	ktap::writer t(present ? 7 : 3);

	t.diagf("ibs_mprof PMU %s", present ? "registered" : "not registered");
	if (present)
		present_cases(t);
	else
		absent_cases(t);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
