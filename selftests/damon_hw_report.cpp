// SPDX-License-Identifier: GPL-2.0
/*
 * A report on DAMON's perf events sampler with the sampling PMUs of this
 * machine, for testers of the series on real hardware.
 *
 * Usage:
 *   damon_hw_report --report [-o FILE] [--event SPEC]...
 *     On a kernel with the series, as root: finds the sampling PMUs
 *     (Intel PEBS on the core PMU, AMD IBS Op, the AMD IBS Memory
 *     Profiler), or takes SPEC = <pmu>:<config>[:<config1>[:<precise_ip>]],
 *     and runs a fixed checklist with each on a workload of its own
 *     (a vaddr context on a process with a hot and a cold buffer):
 *       open       "on" succeeds;
 *       coverage   every online CPU has a counter the PMU did not refuse
 *                  (nr_cpus, nr_errored);
 *       samples    in 3 s, samples are accepted and none dropped (counts
 *                  of accepted, invalid, foreign and dropped samples);
 *       commit     an online commit that changes the rate keeps the event
 *                  sampling, on every CPU;
 *       accuracy   damon_accuracy --demo with the event (hot set
 *                  precision and recall, phase change detection), when
 *                  that program is next to this one.
 *     Writes one plain-text report (FILE, default stdout) to paste into
 *     a reply on the list, and prints KTAP; a machine without a sampling
 *     PMU gets "1..0 # SKIP" and a report that says so.
 *   damon_hw_report
 *     The self-test (make check): the detection finds no sampling PMU in
 *     the VM, and the checklist, run on the test PMU, passes when the PMU
 *     behaves and fails the right check when its rules bite: a CPU whose
 *     unit another user holds (coverage), every CPU held (open, EBUSY).
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using damon_sysfs::perf_event_attr;
using damon_sysfs::perf_event_stats;

const char *const devices = "/sys/bus/event_source/devices/";

/* One check of the checklist. */
struct check {
	std::string name;
	bool pass;
	std::string detail;
};

/* The checklist's outcome for one event. */
struct event_report {
	std::string spec;
	std::vector<check> checks;

	const check *find(const std::string &name) const
	{
		for (const check &c : checks)
			if (c.name == name)
				return &c;
		return nullptr;
	}
};

/* SPEC parsed into @a (type from the PMU's name when it is not a number). */
bool parse_spec(const std::string &spec, perf_event_attr &a, std::string &why)
{
	std::vector<std::string> f;
	std::stringstream in(spec);
	std::string field;
	char *end;

	while (std::getline(in, field, ':'))
		f.push_back(field);
	if (f.size() < 2 || f.size() > 4) {
		why = "an event is <pmu>:<config>[:<config1>[:<precise_ip>]]";
		return false;
	}
	a.type = std::strtoul(f[0].c_str(), &end, 0);
	if ((*end || f[0].empty()) &&
	    damon_sysfs::read_ulong(devices + f[0] + "/type", a.type)) {
		why = "no PMU " + f[0] + " in " + devices;
		return false;
	}
	a.config = std::strtoul(f[1].c_str(), nullptr, 0);
	a.config1 = f.size() > 2 ? std::strtoul(f[2].c_str(), nullptr, 0) : 0;
	a.precise_ip = f.size() > 3 ? std::strtoul(f[3].c_str(), nullptr, 0) : 0;
	a.freq = true;
	a.sample_freq = 4000;
	return true;
}

bool cpu_has_flag(const std::string &flag)
{
	std::ifstream f("/proc/cpuinfo");
	std::string line;

	while (std::getline(f, line))
		if (line.rfind("flags", 0) == 0)
			return (line + " ").find(" " + flag + " ") !=
			       std::string::npos;
	return false;
}

/* The sampling PMUs of this machine, as event specs. */
std::vector<std::string> detect_events()
{
	std::vector<std::string> specs;
	const std::string core = damon_sysfs::exists(std::string(devices) +
						     "cpu_core") ?
					 "cpu_core" : "cpu";

	/* MEM_INST_RETIRED.ALL_LOADS, precise: gives data addresses */
	if (cpu_has_flag("pebs") &&
	    damon_sysfs::exists(std::string(devices) + core))
		specs.push_back(core + ":0x81d0:0:1");
	if (damon_sysfs::exists(std::string(devices) + "ibs_op"))
		specs.push_back("ibs_op:0");
	if (damon_sysfs::exists(std::string(devices) + "ibs_mprof"))
		specs.push_back("ibs_mprof:0");
	return specs;
}

/* vaddr monitoring of @pid with the one event @a. */
int setup(const damon_sysfs::session &s, pid_t pid, const perf_event_attr &a)
{
	damon_sysfs::vaddr_monitor m;
	int err;

	s.reset();
	m.pid = pid;
	err = damon_sysfs::setup_vaddr_monitor(s, m);
	return err ? err : s.get_kdamond(0).get_context(0).set_perf_events({ a });
}

bool read_stats(const damon_sysfs::kdamond &kd, perf_event_stats &st)
{
	return !kd.state("update_sample_stats") &&
	       !kd.get_context(0).get_perf_event(0).get_stats(st);
}

std::string counts(const perf_event_stats &st)
{
	char buf[200];

	std::snprintf(buf, sizeof(buf),
		      "accepted %lu, invalid %lu, foreign %lu, dropped %lu; CPUs %lu, errored %lu",
		      st.nr_accepted, st.nr_invalid, st.nr_foreign,
		      st.nr_dropped, st.nr_cpus, st.nr_errored);
	return buf;
}

/* The commit check: a new rate, then samples on every CPU. */
check commit_check(const damon_sysfs::kdamond &kd, const perf_event_attr &a)
{
	const damon_sysfs::perf_event e = kd.get_context(0).get_perf_event(0);
	const unsigned long cpus = monitor::nr_cpus();
	perf_event_stats st;
	int err;

	err = a.freq ? e.set("sample_freq", a.sample_freq / 2 + 1) :
		       e.set("sample_period", a.sample_period * 2);
	if (!err)
		err = kd.state("commit");
	if (err)
		return { "commit", false, "commit: " + monitor::errno_symbol(err) };
	std::this_thread::sleep_for(2s);
	if (!read_stats(kd, st))
		return { "commit", false, "no stats after the commit" };
	return { "commit",
		 st.nr_accepted + st.nr_invalid > 0 && st.nr_cpus == cpus &&
			 !st.nr_errored,
		 "after a commit of a new rate: " + counts(st) };
}

/* The open, coverage, samples and commit checks of @a. */
void run_checks(const damon_sysfs::session &s, const perf_event_attr &a,
		event_report &r)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const unsigned long cpus = monitor::nr_cpus();
	workload::hot_cold_child child(16ul << 20, 64ul << 20);
	perf_event_stats st;
	int err;

	err = child.ok() ? setup(s, child.pid(), a) : -ECHILD;
	if (!err)
		err = kd.start();
	r.checks.push_back({ "open", !err,
			     "on: " + (err ? monitor::errno_symbol(err) :
					     std::string("ok")) });
	if (err)
		return;
	std::this_thread::sleep_for(3s);
	if (!read_stats(kd, st)) {
		r.checks.push_back({ "coverage", false, "no stats" });
	} else {
		r.checks.push_back({ "coverage",
				     st.nr_cpus == cpus && !st.nr_errored,
				     counts(st) + " of " + std::to_string(cpus) +
					     " online" });
		r.checks.push_back({ "samples",
				     st.nr_accepted > 0 && !st.nr_dropped,
				     "in 3 s: " + counts(st) });
	}
	r.checks.push_back(commit_check(kd, a));
	kd.stop();
	s.reset();
}

/* damon_accuracy --demo with @spec, next to this program. */
check accuracy_check(const std::string &self_dir, const std::string &spec)
{
	const std::string prog = self_dir + "/damon_accuracy";
	const std::string out = "/tmp/damon_hw_report.accuracy";
	const char *const argv[] = { prog.c_str(), "--demo", nullptr };
	std::string text, last;
	int rc;

	if (access(prog.c_str(), X_OK))
		return { "accuracy", false, "no " + prog };
	setenv("DAMON_DEMO_EVENT", spec.c_str(), 1);
	rc = workload::run_command(argv, out.c_str(), 300);
	unsetenv("DAMON_DEMO_EVENT");
	std::ifstream f(out);
	while (std::getline(f, text))
		if (text.find("precision") != std::string::npos)
			last = text;
	return { "accuracy", rc == 0, last.empty() ? "exit " + std::to_string(rc) : last };
}

std::string header()
{
	std::ifstream f("/proc/cpuinfo");
	struct utsname u;
	std::string line, model = "unknown CPU";

	while (std::getline(f, line))
		if (line.rfind("model name", 0) == 0) {
			model = line.substr(line.find(':') + 2);
			break;
		}
	uname(&u);
	return std::string("DAMON perf events sampler: hardware report\nkernel ") +
	       u.release + ", " + model + ", " +
	       std::to_string(monitor::nr_cpus()) + " online CPUs\n";
}

std::string format_report(const std::vector<event_report> &reports)
{
	std::string s = header();

	if (reports.empty())
		s += "no sampling PMU found (Intel PEBS, AMD ibs_op, ibs_mprof): nothing to check\n";
	for (const event_report &r : reports) {
		s += "\nevent " + r.spec + "\n";
		for (const check &c : r.checks)
			s += std::string("  ") + (c.pass ? "PASS " : "FAIL ") +
			     c.name + ": " + c.detail + "\n";
	}
	return s;
}

std::string self_dir(const char *argv0)
{
	std::string p(argv0);
	size_t slash = p.rfind('/');

	return slash == std::string::npos ? "." : p.substr(0, slash);
}

/* --report: the checklist on this machine's PMUs. */
int report(const std::vector<std::string> &asked, const std::string &path,
	   const std::string &dir)
{
	const std::vector<std::string> specs = asked.empty() ? detect_events() :
							       asked;
	std::vector<event_report> reports;

	require_damon_sysfs_or_skip(true);
	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	for (const std::string &spec : specs) {
		event_report r{ spec, {} };
		perf_event_attr a;
		std::string why;

		if (!parse_spec(spec, a, why)) {
			r.checks.push_back({ "open", false, why });
		} else {
			run_checks(s, a, r);
			r.checks.push_back(accuracy_check(dir, spec));
		}
		reports.push_back(r);
	}
	const std::string text = format_report(reports);

	if (path.empty()) {
		std::fputs(text.c_str(), stdout);
	} else {
		std::ofstream(path) << text;
		std::printf("# report written to %s\n", path.c_str());
	}
	if (reports.empty())
		ktap::exit_skip("no sampling PMU (Intel PEBS, AMD ibs_op, ibs_mprof)");
	ktap::writer t(static_cast<unsigned int>(reports.size()));

	for (const event_report &r : reports) {
		bool ok = true;

		for (const check &c : r.checks)
			ok &= c.pass;
		t.result(ok, "checklist " + r.spec);
	}
	return t.exit_code();
}

/* Self-test: the checklist against the test PMU, with its rules biting. */
void self_test_checks(ktap::writer &t, const damon_sysfs::session &s,
		      const test_pmu::pmu &pmu)
{
	const std::string spec = std::to_string(pmu.type()) + ":0";
	const std::string last = std::to_string(monitor::nr_cpus() - 1);
	const std::string all = "0-" + last;
	perf_event_attr a;
	std::string why;
	event_report r;

	t.result(parse_spec(spec, a, why), "spec_parsed");
	run_checks(s, a, r);
	for (const check &c : r.checks)
		t.diagf("%s %s: %s", c.pass ? "PASS" : "FAIL", c.name.c_str(),
			c.detail.c_str());
	t.result(r.checks.size() == 4 && r.find("open")->pass &&
			 r.find("coverage")->pass && r.find("commit")->pass,
		 "checklist_passes_on_a_sound_pmu");

	r = {};
	pmu.set_param("busy_cpus", last);
	run_checks(s, a, r);
	pmu.set_param("busy_cpus", "\n");
	t.diagf("CPU %s busy: coverage %s", last.c_str(),
		r.find("coverage") ? r.find("coverage")->detail.c_str() : "-");
	t.result(r.find("open") && r.find("open")->pass && r.find("coverage") &&
			 !r.find("coverage")->pass,
		 "checklist_flags_a_refused_cpu");

	r = {};
	pmu.set_param("busy_cpus", all);
	run_checks(s, a, r);
	pmu.set_param("busy_cpus", "\n");
	t.diagf("every CPU busy: open %s",
		r.find("open") ? r.find("open")->detail.c_str() : "-");
	t.result(r.find("open") && !r.find("open")->pass &&
			 r.find("open")->detail.find("EBUSY") != std::string::npos,
		 "checklist_flags_a_busy_pmu");
}

int self_test()
{
	require_damon_sysfs_or_skip(true);
	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	ktap::writer t(6);
	const std::string text = format_report({});

	t.diag(text);
	t.result(detect_events().empty() &&
			 text.find("no sampling PMU found") != std::string::npos,
		 "no_sampling_pmu_in_the_vm");

	test_pmu::pmu pmu;

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
		return t.exit_code();
	}
	self_test_checks(t, s, pmu);
	return t.exit_code();
}

/* What the command line asked for, for report_main(). */
struct {
	std::vector<std::string> events;
	std::string out;
	std::string dir;
} args;

int report_main()
{
	return report(args.events, args.out, args.dir);
}

} /* namespace */

int main(int argc, char **argv)
{
	bool rep = false;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--report")) {
			rep = true;
		} else if (!std::strcmp(argv[i], "-o") && i + 1 < argc) {
			args.out = argv[++i];
		} else if (!std::strcmp(argv[i], "--event") && i + 1 < argc) {
			args.events.push_back(argv[++i]);
		} else {
			std::fprintf(stderr,
				     "usage: %s [--report [-o FILE] [--event SPEC]...]\n",
				     argv[0]);
			return 2;
		}
	}
	args.dir = self_dir(argv[0]);
	return ktap::guarded_main(rep ? report_main : self_test);
}
