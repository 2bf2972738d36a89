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
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

const std::string pmu_dir = "/sys/bus/event_source/devices/ibs_mprof";

/* The first value of @key in /proc/cpuinfo ("" if there is none). */
std::string cpuinfo_field(const std::string &key)
{
	std::ifstream f("/proc/cpuinfo");
	std::string line;

	while (std::getline(f, line)) {
		const size_t colon = line.find(':');

		if (line.compare(0, key.size(), key) == 0)
			return colon == std::string::npos ? "" : line.substr(colon + 2);
	}
	return "";
}

/* The "ibs_mprof: " log lines from the oldest record on (monitor::kmsg sees only new ones). */
std::vector<std::string> kmsg_lines()
{
	const std::string prefix = "ibs_mprof: ";
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
		/* "prio,seq,time,flags;message\n" */
		const char *msg = strchr(buf, ';');

		if (msg && !strncmp(msg + 1, prefix.c_str(), prefix.size()))
			lines.emplace_back(msg + 1, strcspn(msg + 1, "\n"));
	}
	close(fd);
	return lines;
}

/* perf_event_open() of @attr (on CPU 0 by default): 0 or the errno; the fd is closed. */
int open_errno(perf_event_attr attr, pid_t pid = -1, int cpu = 0)
{
	long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);

	if (fd < 0)
		return errno;
	close(static_cast<int>(fd));
	return 0;
}

void absent_cases(ktap::writer &t)
{
	const std::string vendor = cpuinfo_field("vendor_id");
	const bool ibs = (" " + cpuinfo_field("flags") + " ").find(" ibs ") != std::string::npos;
	const auto lines = kmsg_lines();
	std::string hp_states;

	t.diagf("vendor %s, CPU %s IBS", vendor.c_str(), ibs ? "has" : "has no");
	for (const auto &l : lines)
		t.diagf("log: %s", l.c_str());

	/* absence is common (pre-Zen 6), so its reason is a pr_debug: no line by default */
	t.result(lines.empty(), "absent:no_log_line");
	/* the reason given is the one CPUID shows, when dynamic debug shows it */
	if (lines.empty()) {
		t.skip("absent:reason_matches_cpuid",
		       std::string("the reason is a pr_debug, not enabled (") +
			       (vendor != "AuthenticAMD" ? "not AMD" :
				ibs ? "AMD with IBS" : "AMD without IBS") + ")");
	} else {
		t.result((lines[0].find("no IBS on this CPU") == std::string::npos) == ibs,
			 "absent:reason_matches_cpuid");
	}
	damon_sysfs::read_file("/sys/devices/system/cpu/hotplug/states", hp_states);
	t.result(hp_states.find("ibs_mprof") == std::string::npos, "absent:no_hotplug_state");
}

void present_cases(ktap::writer &t)
{
	unsigned long type = 0;
	std::string l3missonly;
	perf_event_attr attr{}, a;

	damon_sysfs::read_ulong(pmu_dir + "/type", type);
	damon_sysfs::read_file(pmu_dir + "/format/l3missonly", l3missonly);
	attr.size = sizeof(attr);
	attr.type = static_cast<__u32>(type);
	attr.sample_period = 0x10000;
	attr.sample_type = PERF_SAMPLE_ADDR | PERF_SAMPLE_PHYS_ADDR | PERF_SAMPLE_DATA_SRC;

	t.result(l3missonly.rfind("config:16", 0) == 0, "present:format_l3missonly");
	t.result(open_errno(attr) == 0, "present:valid_event_opens");
	a = attr;
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
	t.result(open_errno(attr, 0, -1) == EINVAL, "present:per_task_refused");
}

int run()
{
	const bool present = damon_sysfs::exists(pmu_dir);

	if (geteuid())
		ktap::exit_skip("needs root (kernel log, perf_event_open)");

	ktap::writer t(present ? 7 : 3);

	t.diagf("ibs_mprof PMU %s", present ? "registered" : "not registered");
	(present ? present_cases : absent_cases)(t);
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
