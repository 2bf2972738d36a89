// SPDX-License-Identifier: GPL-2.0
/*
 * make hw-report: DAMON's perf events sampler checked with the sampling PMUs of this machine,
 * for testers of the series on real hardware.
 *   damon_hw_report --report [-o FILE] [--event <pmu>:<config>[:<config1>[:<precise_ip>]]]...
 * runs the checklist of run_checks() and accuracy_check() with each PMU detect_events() finds
 * or each event given, writes a plain-text report (FILE, default stdout) to paste on the list
 * and prints KTAP.  Without --report: the self-test (make check) of self_test().
 */
#include "lib/damon_sysfs.h"
#include "lib/drgn.h"
#include "lib/ktap.h"
#include "lib/machine.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using damon_sysfs::perf_event_attr;

const char *const devices = "/sys/bus/event_source/devices/";

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

/* What the command line asked for: --event SPEC..., -o FILE */
struct {
	std::vector<std::string> events;
	std::string out;
} args;

/* SPEC parsed into @a (type from the PMU's name when it is not a number): "" or what's wrong. */
std::string parse_spec(const std::string &spec, perf_event_attr &a)
{
	std::vector<std::string> f;
	std::stringstream in(spec);
	std::string field;
	char *end;

	while (std::getline(in, field, ':'))
		f.push_back(field);
	if (f.size() < 2 || f.size() > 4)
		return "an event is <pmu>:<config>[:<config1>[:<precise_ip>]]";
	a.type = std::strtoul(f[0].c_str(), &end, 0);
	if ((*end || f[0].empty()) && damon_sysfs::read_ulong(devices + f[0] + "/type", a.type))
		return "no PMU " + f[0] + " in " + devices;
	a.config = std::strtoul(f[1].c_str(), nullptr, 0);
	a.config1 = f.size() > 2 ? std::strtoul(f[2].c_str(), nullptr, 0) : 0;
	a.precise_ip = f.size() > 3 ? std::strtoul(f[3].c_str(), nullptr, 0) : 0;
	a.freq = true;
	a.sample_freq = 4000;
	return "";
}

bool cpu_has_flag(const std::string &flag)
{
	std::ifstream f("/proc/cpuinfo");
	std::string line;

	while (std::getline(f, line))
		if (line.rfind("flags", 0) == 0)
			return (line + " ").find(" " + flag + " ") != std::string::npos;
	return false;
}

/* The sampling PMUs of this machine, as event specs. */
std::vector<std::string> detect_events()
{
	const auto has = [](const std::string &pmu) { return damon_sysfs::exists(devices + pmu); };
	const std::string core = has("cpu_core") ? "cpu_core" : "cpu";
	std::vector<std::string> specs;

	/* MEM_INST_RETIRED.ALL_LOADS, precise: gives data addresses */
	if (cpu_has_flag("pebs") && has(core))
		specs.push_back(core + ":0x81d0:0:1");
	for (const char *pmu : { "ibs_op", "ibs_mprof" })
		if (has(pmu))
			specs.push_back(pmu + std::string(":0"));
	return specs;
}

/*
 * open: "on" succeeds; coverage: every online CPU has a counter the PMU did not refuse;
 * samples: in 3 s, samples are accepted and none dropped; commit: an online commit that
 * changes the rate keeps every CPU sampling.
 */
void run_checks(const damon_sysfs::session &s, const perf_event_attr &a, event_report &r)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::perf_event e = kd.get_context(0).get_perf_event(0);
	unsigned long cpus = monitor::nr_cpus();
	workload::hot_cold_child child(16ul << 20, 64ul << 20);
	damon_sysfs::vaddr_monitor m;
	damon_sysfs::perf_event_stats st;
	const auto read_stats = [&] {
		return !kd.state("update_sample_stats") && !e.get_stats(st);
	};
	const auto counts = [&st] {
		return "accepted " + num(st.nr_accepted) + ", invalid " + num(st.nr_invalid) +
		       ", foreign " + num(st.nr_foreign) + ", dropped " + num(st.nr_dropped) +
		       "; CPUs " + num(st.nr_cpus) + ", errored " + num(st.nr_errored);
	};
	int err;

	s.reset();
	m.pid = child.pid();
	err = child.ok() ? damon_sysfs::setup_vaddr_monitor(s, m) : -ECHILD;
	if (!err)
		err = kd.get_context(0).set_perf_events({ a });
	if (!err)
		err = kd.start();
	r.checks.push_back({ "open", !err,
			     "on: " + (err ? monitor::errno_symbol(err) : std::string("ok")) });
	if (err)
		return;
	std::this_thread::sleep_for(3s);
	if (!read_stats()) {
		r.checks.push_back({ "coverage", false, "no stats" });
	} else {
		r.checks.push_back({ "coverage", st.nr_cpus == cpus && !st.nr_errored,
				     counts() + " of " + std::to_string(cpus) + " online" });
		r.checks.push_back({ "samples", st.nr_accepted > 0 && !st.nr_dropped,
				     "in 3 s: " + counts() });
	}
	cpus = monitor::nr_cpus();
	err = a.freq ? e.set("sample_freq", a.sample_freq / 2 + 1) :
		       e.set("sample_period", a.sample_period * 2);
	if (!err)
		err = kd.state("commit");
	if (!err)
		std::this_thread::sleep_for(2s);
	if (err)
		r.checks.push_back({ "commit", false, "commit: " + monitor::errno_symbol(err) });
	else if (!read_stats())
		r.checks.push_back({ "commit", false, "no stats after the commit" });
	else
		r.checks.push_back({ "commit", st.nr_accepted + st.nr_invalid > 0 &&
						       st.nr_cpus == cpus && !st.nr_errored,
				     "after a commit of a new rate: " + counts() });
	kd.stop();
	s.reset();
}

/* damon_accuracy --demo with @spec, next to this program. */
check accuracy_check(const std::string &spec)
{
	const std::string prog = drgn::exe_dir() + "/damon_accuracy";
	const std::string out = "/tmp/damon_hw_report.accuracy";
	const char *const argv[] = { prog.c_str(), "--demo", nullptr };
	std::string text, last;
	int rc;

	if (access(prog.c_str(), X_OK))
		return { "accuracy", false, "no " + prog };
	setenv("DAMON_DEMO_EVENT", spec.c_str(), 1);
	rc = workload::run_command(argv, out.c_str(), 300);
	unsetenv("DAMON_DEMO_EVENT");
	for (std::ifstream f(out); std::getline(f, text);)
		if (text.find("precision") != std::string::npos)
			last = text;
	return { "accuracy", rc == 0, last.empty() ? "exit " + std::to_string(rc) : last };
}

std::string format_report(const std::vector<event_report> &reports)
{
	const std::string model = machine::cpu_model();
	/* the report says "unknown CPU" when /proc/cpuinfo has no model name */
	std::string s = "DAMON perf events sampler: hardware report\nkernel " +
			machine::kernel_release() + ", " + (model == "unknown" ? "unknown CPU" : model) +
			", " + std::to_string(monitor::nr_cpus()) + " online CPUs\n";

	if (reports.empty())
		s += "no sampling PMU found (Intel PEBS, AMD ibs_op, ibs_mprof): nothing to check\n";
	for (const event_report &r : reports) {
		s += "\nevent " + r.spec + "\n";
		for (const check &c : r.checks)
			s += std::string("  ") + (c.pass ? "PASS " : "FAIL ") + c.name + ": " +
			     c.detail + "\n";
	}
	return s;
}

/* --report: the checklist on this machine's PMUs. */
int report()
{
	const std::vector<std::string> specs = args.events.empty() ? detect_events() : args.events;
	std::vector<event_report> reports;

	require_damon_sysfs_or_skip(true);
	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	for (const std::string &spec : specs) {
		event_report &r = reports.emplace_back(event_report{ spec, {} });
		perf_event_attr a;
		const std::string why = parse_spec(spec, a);

		if (!why.empty()) {
			r.checks.push_back({ "open", false, why });
		} else {
			run_checks(s, a, r);
			r.checks.push_back(accuracy_check(spec));
		}
	}
	const std::string text = format_report(reports);

	if (args.out.empty()) {
		std::fputs(text.c_str(), stdout);
	} else {
		std::ofstream(args.out) << text;
		std::printf("# report written to %s\n", args.out.c_str());
	}
	if (reports.empty())
		ktap::exit_skip("no sampling PMU (Intel PEBS, AMD ibs_op, ibs_mprof)");
	ktap::writer t(static_cast<unsigned int>(reports.size()));

	for (const event_report &r : reports)
		t.result(std::all_of(r.checks.begin(), r.checks.end(),
				     [](const check &c) { return c.pass; }),
			 "checklist " + r.spec);
	return t.exit_code();
}

/*
 * The self-test: no sampling PMU is detected in the VM; the checklist on the test PMU passes,
 * and fails the right check when its rules bite: a CPU whose unit another user holds
 * (coverage), every CPU held (open, EBUSY).
 */
int self_test()
{
	require_damon_sysfs_or_skip(true);
	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	ktap::writer t(6);
	const std::string text = format_report({});
	const std::string last = std::to_string(monitor::nr_cpus() - 1);
	perf_event_attr a;
	event_report r;

	t.diag(text);
	t.result(detect_events().empty() && text.find("no sampling PMU found") != std::string::npos,
		 "no_sampling_pmu_in_the_vm");

	test_pmu::pmu pmu;
	/* The checklist again, with the test PMU's units of CPUs @busy taken. */
	const auto run_busy = [&](const std::string &busy) {
		r = {};
		pmu.set_param("busy_cpus", busy);
		run_checks(s, a, r);
		pmu.set_param("busy_cpus", "\n");
	};

	if (!t.result(pmu.ok(), "test_pmu_loaded")) {
		t.diag(pmu.error());
		t.skip_rest("no test PMU");
		return t.exit_code();
	}
	t.result(parse_spec(std::to_string(pmu.type()) + ":0", a).empty(), "spec_parsed");
	run_checks(s, a, r);
	for (const check &c : r.checks)
		t.diagf("%s %s: %s", c.pass ? "PASS" : "FAIL", c.name.c_str(), c.detail.c_str());
	t.result(r.checks.size() == 4 && r.find("open")->pass && r.find("coverage")->pass &&
		 r.find("commit")->pass, "checklist_passes_on_a_sound_pmu");

	run_busy(last);
	t.diagf("CPU %s busy: coverage %s", last.c_str(),
		r.find("coverage") ? r.find("coverage")->detail.c_str() : "-");
	t.result(r.find("open") && r.find("open")->pass && r.find("coverage") &&
		 !r.find("coverage")->pass, "checklist_flags_a_refused_cpu");

	run_busy("0-" + last);
	t.diagf("every CPU busy: open %s", r.find("open") ? r.find("open")->detail.c_str() : "-");
	t.result(r.find("open") && !r.find("open")->pass &&
			 r.find("open")->detail.find("EBUSY") != std::string::npos,
		 "checklist_flags_a_busy_pmu");
	return t.exit_code();
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
			std::fprintf(stderr, "usage: %s [--report [-o FILE] [--event SPEC]...]\n",
				     argv[0]);
			return 2;
		}
	}
	return ktap::guarded_main(rep ? report : self_test);
}
