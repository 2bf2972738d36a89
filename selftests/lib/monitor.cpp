// SPDX-License-Identifier: GPL-2.0
/*
 * Watching DAMON's regions and the kernel log.  See monitor.h.
 */
#include "monitor.h"

#include "drgn.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/mount.h>
#include <thread>
#include <unistd.h>

namespace monitor {

unsigned int nr_cpus()
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? static_cast<unsigned int>(n) : 1;
}

std::string err_name(int err)
{
	return err ? std::strerror(-err) : "success";
}

std::string errno_symbol(int err)
{
	const char *n;

	if (!err)
		return "OK";
	n = strerrorname_np(-err);
	return n ? n : "E" + std::to_string(-err);
}

/* DAMON's current regions (of the "stat" scheme, kdamond @kd, context 0). */
bool snapshot(const damon_sysfs::kdamond &kd, std::vector<region> &regions)
{
	return !kd.state("update_schemes_tried_regions") &&
	       !kd.get_context(0).get_scheme(0).tried_regions(regions) &&
	       !regions.empty();
}

bool wait_regions(const ktap::writer &t, const damon_sysfs::kdamond &kd)
{
	const auto end = steady::now() + regions_timeout;
	std::vector<region> regions;

	while (steady::now() < end) {
		if (snapshot(kd, regions))
			return true;
		std::this_thread::sleep_for(poll_period);
	}
	t.diag("DAMON showed no regions");
	return false;
}

/* Wait until DAMON rates every region cold (no report in flight). */
bool wait_all_cold(const ktap::writer &t, const damon_sysfs::kdamond &kd)
{
	const auto end = steady::now() + settle_timeout;
	std::vector<region> regions;

	while (steady::now() < end) {
		bool cold = true;

		std::this_thread::sleep_for(poll_period);
		if (!snapshot(kd, regions))
			continue;
		for (const region &r : regions)
			cold &= r.nr_accesses == 0;
		if (cold)
			return true;
	}
	t.diag("regions did not all cool down after the reports stopped");
	return false;
}

void hot_judge::look(const std::vector<region> &regions)
{
	bool inside_hot = true, any_hot = false;

	nr_snapshots++;
	for (const region &r : regions) {
		if (r.end <= lo || r.start >= hi) {
			if (r.nr_accesses && outside_clean) {
				t.diagf("region %#lx-%#lx outside %#lx-%#lx has %lu accesses",
					r.start, r.end, lo, hi,
					r.nr_accesses);
				outside_clean = false;
			}
			continue;
		}
		any_hot |= r.nr_accesses > 0;
		if (r.start >= lo && r.end <= hi)
			inside_hot &= r.nr_accesses > 0;
	}
	if (any_hot && inside_hot)
		nr_hot++;
	last = regions;
}

bool hot_judge::verdict() const
{
	if (!nr_hot) {
		t.diagf("no snapshot of %u rated %#lx-%#lx hot; the last one:",
			nr_snapshots, lo, hi);
		for (const region &r : last)
			t.diagf("  %#lx-%#lx: %lu", r.start, r.end,
				r.nr_accesses);
	} else {
		t.diagf("%u of %u snapshots rated %#lx-%#lx hot",
			nr_hot, nr_snapshots, lo, hi);
	}
	return outside_clean && nr_hot > 0;
}

double task_cpu_ms(pid_t pid)
{
	static const long ticks = sysconf(_SC_CLK_TCK);
	unsigned long long utime, stime;
	std::string text, skip;

	if (pid <= 0 || ticks <= 0 ||
	    damon_sysfs::read_file("/proc/" + std::to_string(pid) + "/stat", text))
		return -1;
	/* the fields after "(comm)": state is field 3, utime 14, stime 15 */
	const size_t paren = text.rfind(')');
	if (paren == std::string::npos)
		return -1;
	std::istringstream in(text.substr(paren + 2));
	for (int i = 3; i <= 13; i++)
		in >> skip;
	if (!(in >> utime >> stime))
		return -1;
	return static_cast<double>(utime + stime) * 1000.0 /
	       static_cast<double>(ticks);
}

std::string tracefs_dir(const char *sub)
{
	const std::string tail = std::string("/") + sub;

	for (const char *d : { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" })
		if (damon_sysfs::exists(d + tail))
			return d;
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr);
	if (damon_sysfs::exists("/sys/kernel/tracing" + tail))
		return "/sys/kernel/tracing";
	return "";
}

kmsg::kmsg()
{
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
}

kmsg::~kmsg()
{
	if (fd >= 0)
		close(fd);
}

/*
 * CONFIG_DEBUG_KOBJECT_RELEASE (the KASAN profile) logs every kobject
 * release it delays, "kobject: 'stats' (...): kobject_release, parent ...
 * (delayed 250)", whoever removed the directory and when: not a message of
 * the series, and left out of kmsg::lines().
 */
static bool kobject_release_notice(const std::string &l)
{
	return !l.compare(0, 10, "kobject: '") &&
	       l.find("): kobject_release, parent ") != std::string::npos &&
	       l.find(" (delayed ") != std::string::npos;
}

std::vector<std::string> kmsg::lines()
{
	std::vector<std::string> out;
	char buf[8192];

	for (;;) {
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		const char *text;

		if (n < 0) {
			/* EPIPE: records were overwritten; go on with the next */
			if (errno == EPIPE)
				continue;
			break;
		}
		buf[n] = '\0';
		/* "prio,seq,time,flags;message\n" */
		text = std::strchr(buf, ';');
		text = text ? text + 1 : buf;
		std::string line(text, std::strcspn(text, "\n"));

		if (!kobject_release_notice(line))
			out.push_back(std::move(line));
	}
	return out;
}

bool log_has(const std::vector<std::string> &lines, const std::string &a,
	     const std::string &b)
{
	for (const std::string &l : lines)
		if (l.find(a) != std::string::npos &&
		    l.find(b) != std::string::npos)
			return true;
	return false;
}

namespace {

struct log_pattern {
	std::string cls;
	bool clean_only;
	std::regex re;
};

struct log_patterns {
	std::vector<log_pattern> list;
	std::string error;
};

/*
 * ci/kernel-log-patterns, installed next to the programs: the list
 * ci/vm-verdict.sh judges a VM run's whole log with.
 */
const log_patterns &patterns()
{
	static const log_patterns p = [] {
		const char *env = std::getenv("DAMON_HWS_KERNEL_LOG_PATTERNS");
		const std::string path = env && *env ? env :
			drgn::exe_dir() + "/kernel-log-patterns";
		std::ifstream f(path);
		log_patterns out;
		std::string line;

		while (f && std::getline(f, line)) {
			std::istringstream in(line);
			std::string cls, when, re;

			if (line.empty() || line[0] == '#')
				continue;
			in >> cls >> when;
			std::getline(in >> std::ws, re);
			if (re.empty() || (when != "always" && when != "clean")) {
				out.error = path + ": bad line: " + line;
				break;
			}
			try {
				out.list.push_back({ cls, when == "clean",
						     std::regex(re, std::regex::extended) });
			} catch (const std::regex_error &e) {
				out.error = path + ": " + cls + ": " + e.what();
				break;
			}
		}
		if (out.error.empty() && out.list.empty())
			out.error = "no kernel log patterns in " + path;
		return out;
	}();
	return p;
}

} /* namespace */

bool bad_log_line(const std::string &l, bool faults_injected)
{
	for (const log_pattern &p : patterns().list) {
		if (p.clean_only && faults_injected)
			continue;
		if (std::regex_search(l, p.re))
			return true;
	}
	return false;
}

std::string log_patterns_error()
{
	return patterns().error;
}

std::vector<std::string> log_watch::poll(const std::string &when)
{
	std::vector<std::string> lines = log.lines();

	/* without the patterns nothing is judged: that is a failure */
	if (!log_patterns_error().empty() && bad.empty()) {
		first_when = when;
		bad.push_back(log_patterns_error());
	}

	for (const std::string &l : lines) {
		if (!bad_log_line(l, injected))
			continue;
		if (bad.empty())
			first_when = when;
		if (bad.size() < 40)
			bad.push_back(l);
	}
	return lines;
}

bool kmemleak_clear()
{
	return !damon_sysfs::write_file(kmemleak_path, "clear");
}

int kmemleak_damon(const ktap::writer &t, unsigned int &nr_all, bool settle)
{
	std::string text, line, entry;
	int nr = 0;

	nr_all = 0;
	if (!damon_sysfs::exists(kmemleak_path))
		return -1;
	if (settle)
		std::this_thread::sleep_for(std::chrono::seconds(5));
	if (damon_sysfs::write_file(kmemleak_path, "scan"))
		return -1;
	if (settle)
		std::this_thread::sleep_for(std::chrono::seconds(3));
	if (damon_sysfs::write_file(kmemleak_path, "scan") ||
	    damon_sysfs::read_file(kmemleak_path, text))
		return -1;

	std::istringstream in(text + "\nunreferenced object ");
	auto flush = [&]() {
		if (entry.compare(0, 20, "unreferenced object ")) {
			entry.clear();
			return;
		}
		nr_all++;
		if (entry.find("damon") != std::string::npos ||
		    entry.find("damos") != std::string::npos) {
			std::istringstream el(entry);
			std::string l;

			while (nr < 5 && std::getline(el, l))
				t.diag("kmemleak: " + l);
			nr++;
		}
		entry.clear();
	};
	while (std::getline(in, line)) {
		if (!line.compare(0, 20, "unreferenced object "))
			flush();
		if (!line.empty())
			entry += line + "\n";
	}
	return nr;
}

} /* namespace monitor */
