// SPDX-License-Identifier: GPL-2.0
/*
 * The security properties, (a) to (d) below, of what the DAMON perf events series adds to sysfs
 * and the tracepoints (Documentation/security.md maps them to these cases).  The test asserts
 * the secure outcome, whatever the kernel does; it SKIPs what needs root, DAMON's perf_events,
 * the test PMU module damon_test_pmu or the tracepoint where they lack.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <grp.h>
#include <regex>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using damon_sysfs::perf_event_attr;

const uid_t nobody = 65534;
const std::string admin = damon_sysfs::admin_dir;
const std::string kd_dir = admin + "/kdamonds/0";
const std::string ctx_dir = kd_dir + "/contexts/0";
const std::string sample_dir = ctx_dir + "/monitoring_attrs/sample";
const std::string pe_dir = sample_dir + "/perf_events";
const std::string tracing = "/sys/kernel/tracing/";
const std::string tp_dir = tracing + "events/damon/damos_node_eligible_mem_bp";
const char *const no_tp = "no tracefs or no damos_node_eligible_mem_bp event";

const char *const event_files[] = {
	"type", "config", "config1", "config2", "sample_phys_addr", "exclude_kernel",
	"exclude_hv", "freq", "sample_freq", "sample_period", "precise_ip",
};
const char *const event_stat_files[] = {
	"nr_accepted", "nr_invalid", "nr_dropped", "nr_foreign", "nr_cpus", "nr_errored",
};
const char *const sample_stat_files[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
	"drained", "attributed", "unmatched", "stale",
};

/* (a) and (b) look at the files and directories of more than one event */
const std::vector<perf_event_attr> two_events(2);

/* A file the series adds, and the mode it must have. */
using new_file = std::pair<std::string, mode_t>;

/* Every file the series adds below context 0 (with two_events: 0 and 1). */
std::vector<new_file> new_files()
{
	std::vector<new_file> v;

	for (const char *f : sample_stat_files)
		v.push_back({ sample_dir + "/stats/" + f, 0400 });
	v.push_back({ pe_dir + "/nr_perf_events", 0600 });
	for (const std::string &e : { pe_dir + "/0", pe_dir + "/1" }) {
		for (const char *f : event_files)
			v.push_back({ e + "/" + f, 0600 });
		for (const char *f : event_stat_files)
			v.push_back({ e + "/stats/" + f, 0400 });
	}
	return v;
}

unsigned int perm(const struct stat &st)
{
	return st.st_mode & 07777;
}

/* kdamond 0: vaddr monitoring of @pid, one stat scheme, @events; @start: from scratch, on. */
int setup_with_events(const damon_sysfs::session &s, pid_t pid,
		      const std::vector<perf_event_attr> &events, bool start = false)
{
	damon_sysfs::vaddr_monitor m;
	int err;

	m.pid = pid;
	if (start)
		s.reset();
	err = damon_sysfs::setup_vaddr_monitor(s, m);
	if (!err)
		err = s.get_kdamond(0).get_context(0).set_perf_events(events);
	if (!err && start)
		err = s.get_kdamond(0).start();
	return err;
}

/* (a) New files are root's, 0600 or 0400 like DAMON's own; new directories like siblings. */
void mode_cases(ktap::writer &t, const damon_sysfs::session &s, pid_t pid)
{
	const std::vector<new_file> files = new_files();
	const std::string dirs[] = { sample_dir, sample_dir + "/stats", pe_dir, pe_dir + "/0",
				     pe_dir + "/0/stats", pe_dir + "/1", pe_dir + "/1/stats" };
	struct stat ref_file, ref_ro, ref_dir, st;
	bool ok = !setup_with_events(s, pid, two_events) &&
		  !lstat((ctx_dir + "/monitoring_attrs/intervals/sample_us").c_str(), &ref_file) &&
		  !lstat((ctx_dir + "/schemes/0/stats/nr_tried").c_str(), &ref_ro) &&
		  !lstat((ctx_dir + "/monitoring_attrs/intervals").c_str(), &ref_dir);

	if (!ok) {
		t.diag("cannot configure a context with two perf events");
		t.skip("new_files_root_only_0600_0400", "no configuration");
		t.skip("new_dirs_like_siblings", "no configuration");
		return;
	}
	t.diagf("reference: sample_us %04o uid %u, nr_tried %04o, intervals/ %04o",
		perm(ref_file), ref_file.st_uid, perm(ref_ro), perm(ref_dir));

	ok = perm(ref_file) == 0600 && perm(ref_ro) == 0400;
	for (const auto &[path, mode] : files) {
		if (lstat(path.c_str(), &st) || !S_ISREG(st.st_mode) || perm(st) != mode ||
		    st.st_uid != 0 || st.st_gid != 0) {
			t.diagf("%s: mode %04o uid %u gid %u, expected %04o root",
				path.c_str(), perm(st), st.st_uid, st.st_gid, mode);
			ok = false;
		}
	}
	t.diagf("%zu new files checked", files.size());
	t.result(ok, "new_files_root_only_0600_0400");

	ok = true;
	for (const std::string &d : dirs) {
		if (lstat(d.c_str(), &st) || !S_ISDIR(st.st_mode) || perm(st) != perm(ref_dir) ||
		    st.st_uid != ref_dir.st_uid) {
			t.diagf("%s: mode %04o uid %u, siblings %04o uid %u", d.c_str(),
				perm(st), st.st_uid, perm(ref_dir), ref_dir.st_uid);
			ok = false;
		}
	}
	t.result(ok, "new_dirs_like_siblings");
}

/* (a) No file of the configured admin tree has a group or other bit. */
void tree_walk_case(ktap::writer &t)
{
	unsigned int nr = 0;
	bool ok = true;

	damon_sysfs::read_tree(admin, [&](const std::string &p, int) {
		struct stat st;

		if (lstat(p.c_str(), &st) || S_ISDIR(st.st_mode))
			return;
		nr++;
		if ((st.st_mode & 077) || st.st_uid != 0) {
			t.diag("group/other bits: " + p + " " + std::to_string(perm(st)));
			ok = false;
		}
	});
	t.diagf("%u files below %s", nr, admin.c_str());
	t.result(nr > 100 && ok, "admin_tree_no_group_other_bits");
}

/* A file the unprivileged child opens, and whether it then writes "1" (else reads). */
using attempt = std::pair<std::string, bool>;

/* In the child: were all @attempts refused with EACCES?  Report the others. */
bool all_eacces(const ktap::writer &t, const std::vector<attempt> &attempts)
{
	bool ok = true;

	for (const auto &[p, wr] : attempts) {
		const int fd = open(p.c_str(), (wr ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
		char buf[64];
		const ssize_t n = fd < 0 ? -1 : wr ? write(fd, "1", 1) : read(fd, buf, sizeof(buf));
		const int err = n < 0 ? -errno : 0;

		if (fd >= 0)
			close(fd);
		if (err != -EACCES) {
			t.diagf("%s %s as nobody: %s", wr ? "writing" : "reading", p.c_str(),
				monitor::errno_symbol(err).c_str());
			ok = false;
		}
	}
	return ok;
}

/*
 * Fork a child that becomes uid/gid 65534 without capabilities and, if that worked, makes the
 * attempts of each of @cases.  Its exit status (-1 if it did not exit): bit 0 tells whether it
 * was unprivileged, bit i + 1 whether all attempts of @cases[i] were refused with EACCES.
 * The writer flushes every line, so the child's diagnostics do not repeat the parent's.
 */
int run_unprivileged(const ktap::writer &t, const std::vector<std::vector<attempt>> &cases)
{
	const pid_t pid = fork();
	int status;

	if (pid == 0) {
		std::string st;
		/* CapAmb needs no look: it is always a subset of CapPrm */
		int bits = !setgroups(0, nullptr) && !setresgid(nobody, nobody, nobody) &&
			   !setresuid(nobody, nobody, nobody) &&
			   !prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) &&
			   !damon_sysfs::read_file("/proc/self/status", st) &&
			   st.find("CapEff:\t0000000000000000") != std::string::npos &&
			   st.find("CapPrm:\t0000000000000000") != std::string::npos &&
			   geteuid() == nobody;

		for (size_t i = 0; bits && i < cases.size(); i++)
			bits |= all_eacces(t, cases[i]) << (i + 1);
		_exit(bits);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ?
		WEXITSTATUS(status) : -1;
}

/*
 * (b) An unprivileged child gets EACCES for every read or write of the new files and of the
 * tracepoint (tracefs is root only), and (d) it cannot configure anything.
 */
void unprivileged_cases(ktap::writer &t, const damon_sysfs::session &s, pid_t pid)
{
	const char *const names[] = { "unprivileged_read_denied", "unprivileged_write_denied",
				      "unprivileged_tracepoint_denied",
				      "unprivileged_cannot_configure" };
	const damon_sysfs::perf_event e0 = s.get_kdamond(0).get_context(0).get_perf_event(0);
	const bool has_tp = damon_sysfs::exists(tp_dir + "/format");
	/* names[i]'s attempts: reads, writes and, with the tracepoint, tracefs */
	std::vector<std::vector<attempt>> cases(has_tp ? 3 : 2);
	std::string before_ek, before_type, before_nr, after;
	int bits = -1;

	/* exclude_kernel N: a successful write of "1" would show as Y */
	if (!setup_with_events(s, pid, two_events) && !e0.set("exclude_kernel", "N") &&
	    !e0.get("type", before_type) && !e0.get("exclude_kernel", before_ek) &&
	    !damon_sysfs::read_file(pe_dir + "/nr_perf_events", before_nr)) {
		for (const new_file &f : new_files()) {
			cases[0].push_back({ f.first, false });
			cases[1].push_back({ f.first, true });
		}
		for (const std::string &p : { kd_dir + "/state", admin + "/kdamonds/nr_kdamonds",
					      ctx_dir + "/monitoring_attrs/intervals/sample_us" })
			cases[1].push_back({ p, true });
		if (has_tp)
			cases[2] = {
				{ tp_dir + "/format", false }, { tp_dir + "/enable", false },
				{ tp_dir + "/id", false }, { tp_dir + "/filter", false },
				{ tp_dir + "/trigger", false }, { tp_dir + "/enable", true },
				{ tracing + "trace", false }, { tracing + "trace_pipe", false },
				{ tracing + "events/damon/enable", true },
			};
		bits = run_unprivileged(t, cases);
	}
	if (!t.result(bits >= 0 && (bits & 1), "child_is_unprivileged")) {
		for (const char *c : names)
			t.skip(c, "no unprivileged child");
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		if (i < cases.size())
			t.result(bits & (2 << i), names[i]);
		else
			t.skip(names[i], no_tp);
	}
	t.result(!e0.get("exclude_kernel", after) && after == before_ek &&
		 !e0.get("type", after) && after == before_type &&
		 !damon_sysfs::read_file(pe_dir + "/nr_perf_events", after) &&
		 after == before_nr && !s.get_kdamond(0).running(), names[3]);
	s.reset();
}

/* (c) No address leaks from the tracepoint: its format has no address or pointer field. */
void tracepoint_case(ktap::writer &t)
{
	const std::regex field_re("field:([^;]*);");
	const std::regex bad("addr|ptr|pfn|phys|page|start|end|ip\\b|\\*|\\[", std::regex::icase);
	std::string fmt, fields;
	unsigned int nr = 0;
	bool ok = true;

	if (damon_sysfs::read_file(tp_dir + "/format", fmt)) {
		t.skip("tracepoint_format_no_address_fields", no_tp);
		return;
	}
	for (std::sregex_iterator it(fmt.begin(), fmt.end(), field_re), end; it != end; ++it) {
		const std::string decl = (*it)[1];
		const std::string name = decl.substr(decl.rfind(' ') + 1);

		nr++;
		fields += " " + name;
		if (name.rfind("common_", 0) != 0 && std::regex_search(decl, bad)) {
			t.diag("address-like field: " + decl);
			ok = false;
		}
	}
	t.diag("fields:" + fields);
	t.result(ok && nr >= 5, "tracepoint_format_no_address_fields");
}

/* (c) No address leaks from the stats files: they hold plain counters. */
void stats_case(ktap::writer &t, const damon_sysfs::session &s, const test_pmu::pmu &pmu,
		const workload::hot_cold_child &child)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const std::regex counter("[0-9]{1,20}");
	unsigned long nr_accepted = 0;
	bool ok;
	/* the counters of @dir are plain numbers, and it holds nothing else */
	const auto check_dir = [&](const std::string &dir, const auto &names) {
		unsigned int nr = 0;

		for (const char *f : names) {
			std::string v;

			if (damon_sysfs::read_file(dir + "/" + f, v) ||
			    !std::regex_match(v, counter) ||
			    std::strtoull(v.c_str(), nullptr, 10) >= (1ull << 47)) {
				t.diag(dir + "/" + f + ": '" + v + "' is not a plain counter");
				ok = false;
			}
		}
		damon_sysfs::read_tree(dir, [&](const std::string &, int) { nr++; });
		if (nr != std::size(names)) {
			t.diagf("%s has %u files", dir.c_str(), nr);
			ok = false;
		}
	};

	ok = !pmu.set_addrs("clear") &&
	     !pmu.set_addrs("vaddr=" + num(child.hot_start()) + " len=" + num(child.hot_size()) +
			    " pid=" + std::to_string(child.pid())) &&
	     !setup_with_events(s, child.pid(), { pmu.event(200, false) }) &&
	     start_kdamond(t, kd);
	std::this_thread::sleep_for(2s);
	ok = ok && !kd.state("update_sample_stats");
	check_dir(sample_dir + "/stats", sample_stat_files);
	check_dir(pe_dir + "/0/stats", event_stat_files);
	kd.get_context(0).get_perf_event(0).get("stats/nr_accepted", nr_accepted);
	t.diagf("nr_accepted %lu", nr_accepted);
	t.result(ok && nr_accepted > 0, "stats_files_plain_counters");
	s.reset();
	pmu.set_addrs("clear");
}

/* (c) The log lines of the bad configurations below hold no kernel pointer or long hex. */
void kmsg_case(ktap::writer &t, const damon_sysfs::session &s, const test_pmu::pmu *pmu,
	       pid_t pid)
{
	/*
	 * A raw address.  Not one: what %p prints (as DEBUG_KOBJECT_RELEASE, make check-kasan,
	 * does for the kobjects of DAMON's directories), a hash with the upper 32 bits cleared
	 * "to make explicit that we have modified the address" (lib/vsprintf.c), or NULL.
	 */
	const std::regex pointer("(0x)?ffff[0-9a-f]{12}|(?!00000000)[0-9a-f]{16}|0x[0-9a-f]{9,}",
				 std::regex::icase);
	const std::regex damon_line("perf event|access reports|damon");
	monitor::kmsg log;
	perf_event_attr a;
	unsigned int nr_damon = 0;
	bool ok = true;
	/* each bad configuration must fail to start */
	const auto provoke = [&](const char *what, int err) {
		t.diagf("%s: %s", what, monitor::errno_symbol(err).c_str());
		ok &= err != 0;
		s.reset();
	};

	a.type = 0x7ffffff0;
	provoke("unknown type", setup_with_events(s, pid, { a }, true));
	a.type = 1;
	a.sample_freq = perf_max_sample_rate(perf_default_max_rate) + 1;
	provoke("rate above max", setup_with_events(s, pid, { a }, true));
	if (pmu) {
		perf_event_attr p = pmu->event(200, false);
		damon_sysfs::paddr_monitor m;
		int err;

		p.config = 1;
		provoke("config refused", setup_with_events(s, pid, { p }, true));
		p.config = 0;
		pmu->set_param("fail_errno", "5");
		pmu->set_param("fail_cpus", "0-" + num(monitor::nr_cpus() - 1));
		provoke("fail every CPU", setup_with_events(s, pid, { p }, true));
		pmu->set_param("fail_errno", "19");
		provoke("no CPU covered", setup_with_events(s, pid, { p }, true));
		pmu->set_param("fail_cpus", "\n");

		/* a second consumer of the access reports */
		s.reset();
		m.report_sink = true;
		err = s.set_nr_kdamonds(2);
		for (unsigned int i = 0; i < 2 && !err; i++)
			err = damon_sysfs::configure_paddr_monitor(s.get_kdamond(i), m);
		for (unsigned int i = 0; i < 2 && !err; i++)
			err = s.get_kdamond(i).start();
		provoke("second consumer", err);
	}
	for (const std::string &l : log.lines()) {
		nr_damon += std::regex_search(l, damon_line);
		t.diag("log: " + l);
		if (std::regex_search(l, pointer)) {
			t.diag("^ looks like an address");
			ok = false;
		}
	}
	t.diagf("%u DAMON lines", nr_damon);
	t.result(ok && nr_damon >= (pmu ? 4u : 1u), "kmsg_no_kernel_pointers");
}

/* (d) For root, exclude_kernel=N starts exactly like =Y, also at perf_event_paranoid 3. */
void exclude_kernel_case(ktap::writer &t, const damon_sysfs::session &s,
			 const test_pmu::pmu &pmu, pid_t pid)
{
	const char paranoid[] = "/proc/sys/kernel/perf_event_paranoid";
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	std::string old_paranoid;
	bool ok = true;
	const bool raised = !damon_sysfs::read_file(paranoid, old_paranoid) &&
			    !damon_sysfs::write_file(paranoid, "3");

	t.diagf("perf_event_paranoid %s -> %s", old_paranoid.c_str(),
		raised ? "3" : "(unchanged)");
	for (bool ek : { false, true }) {
		perf_event_attr a = pmu.event(200, false);
		damon_sysfs::perf_event_stats st;
		int err;

		a.exclude_kernel = ek;
		err = setup_with_events(s, pid, { a }, true);
		if (!err) {
			std::this_thread::sleep_for(500ms);
			err = kd.state("update_sample_stats");
		}
		if (!err)
			err = kd.get_context(0).get_perf_event(0).get_stats(st);
		t.diagf("exclude_kernel=%c: %s, nr_cpus %lu", ek ? 'Y' : 'N',
			monitor::errno_symbol(err).c_str(), st.nr_cpus);
		ok &= !err && st.nr_cpus == monitor::nr_cpus() && !kd.stop();
	}
	s.reset();
	if (raised)
		damon_sysfs::write_file(paranoid, old_paranoid);
	t.result(ok, "exclude_kernel_n_like_y_for_root");
}

int run()
{
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;
	ktap::writer t(12);
	workload::hot_cold_child child(1ul << 20, 2ul << 20);

	if (!child.ok()) {
		t.skip_rest("cannot start a target process");
		return t.exit_code();
	}
	mode_cases(t, s, child.pid());
	tree_walk_case(t);
	s.reset();
	unprivileged_cases(t, s, child.pid());
	tracepoint_case(t);

	test_pmu::pmu pmu;

	if (!pmu.ok()) {
		t.diag("test PMU: " + pmu.error());
		t.skip("stats_files_plain_counters", "no test PMU");
		kmsg_case(t, s, nullptr, child.pid());
		t.skip("exclude_kernel_n_like_y_for_root", "no test PMU");
		return t.exit_code();
	}
	stats_case(t, s, pmu, child);
	kmsg_case(t, s, &pmu, child.pid());
	exclude_kernel_case(t, s, pmu, child.pid());
	return t.exit_code();
}

} /* namespace */

int main()
{
	return ktap::guarded_main(run);
}
