// SPDX-License-Identifier: GPL-2.0
/*
 * The security properties of what the DAMON perf events series adds to the
 * sysfs interface and the tracepoints (see Documentation/security.md):
 *
 * (a) Root only: every new file is owned by root with mode 0600 (rw) or
 *     0400 (ro), as the existing DAMON files (monitoring_attrs/intervals/
 *     sample_us, a scheme's stats); the new directories have the mode of
 *     their siblings; no file of the whole /sys/kernel/mm/damon/admin tree,
 *     with a context, a target, a scheme and two perf events configured,
 *     has a group or other permission bit.
 * (b) An unprivileged process (a child that switched to uid/gid 65534 and
 *     so lost every capability) can neither read nor write those files,
 *     nor read the damos_node_eligible_mem_bp tracepoint (tracefs is root
 *     only): every attempt fails with EACCES.
 * (c) No address leaks: the tracepoint's format has no address or pointer
 *     field; the stats files hold plain counters; the kernel log lines the
 *     series prints on bad configurations (an unknown PMU type, a config
 *     the PMU refuses, a PMU failing on every CPU or covering none, a rate
 *     above perf_event_max_sample_rate, a second consumer of the access
 *     reports) hold no kernel pointer (ffff followed by 12 hex digits) and
 *     no other long hexadecimal number.
 * (d) exclude_kernel=N (kernel samples) needs no more privilege than DAMON
 *     itself: for root it starts exactly like exclude_kernel=Y, also with
 *     kernel.perf_event_paranoid at 3 (restored after); the unprivileged
 *     process cannot configure anything, and nothing it tried changed a
 *     value.
 *
 * The test asserts the secure outcome, whatever the kernel does.  SKIPs
 * when not root, without DAMON sysfs or its perf_events; the cases that
 * need the test PMU module damon_test_pmu or the tracepoint SKIP without
 * them.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <regex>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
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
const std::string tp_dir =
	"/sys/kernel/tracing/events/damon/damos_node_eligible_mem_bp";

const char *const event_files[] = {
	"type", "config", "config1", "config2", "sample_phys_addr",
	"exclude_kernel", "exclude_hv", "freq", "sample_freq",
	"sample_period", "precise_ip",
};
const char *const event_stat_files[] = {
	"nr_accepted", "nr_invalid", "nr_dropped", "nr_foreign", "nr_cpus",
	"nr_errored",
};
const char *const sample_stat_files[] = {
	"pushed", "dropped_full", "dropped_nested", "dropped_no_owner",
	"drained", "attributed", "unmatched", "stale",
};

/* A file the series adds, with the mode it must have. */
struct new_file {
	std::string path;
	mode_t mode;
};

/* Every file the series adds below context 0 (with @nr_events events). */
std::vector<new_file> new_files(unsigned int nr_events)
{
	std::vector<new_file> v;

	for (const char *f : sample_stat_files)
		v.push_back({ sample_dir + "/stats/" + f, 0400 });
	v.push_back({ pe_dir + "/nr_perf_events", 0600 });
	for (unsigned int i = 0; i < nr_events; i++) {
		const std::string d = pe_dir + "/" + std::to_string(i) + "/";

		for (const char *f : event_files)
			v.push_back({ d + f, 0600 });
		for (const char *f : event_stat_files)
			v.push_back({ d + "stats/" + f, 0400 });
	}
	return v;
}

std::vector<std::string> new_dirs(unsigned int nr_events)
{
	std::vector<std::string> v = { sample_dir, sample_dir + "/stats",
				       pe_dir };

	for (unsigned int i = 0; i < nr_events; i++) {
		v.push_back(pe_dir + "/" + std::to_string(i));
		v.push_back(pe_dir + "/" + std::to_string(i) + "/stats");
	}
	return v;
}

bool stat_of(const std::string &p, struct stat &st)
{
	return !lstat(p.c_str(), &st);
}

/* kdamond 0: vaddr monitoring of @pid, one stat scheme, @events. */
int setup_vaddr_with_events(const damon_sysfs::session &s, pid_t pid,
			    const std::vector<perf_event_attr> &events)
{
	damon_sysfs::vaddr_monitor m;
	int err;

	m.pid = pid;
	err = damon_sysfs::setup_vaddr_monitor(s, m);
	if (!err)
		err = s.get_kdamond(0).get_context(0).set_perf_events(events);
	return err;
}

/* (a) */
void mode_cases(ktap::writer &t, const damon_sysfs::session &s, pid_t pid)
{
	struct stat ref_file, ref_ro, ref_dir, st;
	bool ok;

	ok = !setup_vaddr_with_events(s, pid, { perf_event_attr(),
						 perf_event_attr() }) &&
	     stat_of(ctx_dir + "/monitoring_attrs/intervals/sample_us",
		     ref_file) &&
	     stat_of(ctx_dir + "/schemes/0/stats/nr_tried", ref_ro) &&
	     stat_of(ctx_dir + "/monitoring_attrs/intervals", ref_dir);
	if (!ok) {
		t.diag("cannot configure a context with two perf events");
		t.skip("new_files_root_only_0600_0400", "no configuration");
		t.skip("new_dirs_like_siblings", "no configuration");
		return;
	}
	t.diagf("reference: sample_us %04o uid %u, nr_tried %04o, intervals/ %04o",
		ref_file.st_mode & 07777, ref_file.st_uid,
		ref_ro.st_mode & 07777, ref_dir.st_mode & 07777);

	unsigned int nr = 0;

	ok = (ref_file.st_mode & 07777) == 0600 &&
	     (ref_ro.st_mode & 07777) == 0400;
	for (const new_file &f : new_files(2)) {
		nr++;
		if (!stat_of(f.path, st) || !S_ISREG(st.st_mode) ||
		    (st.st_mode & 07777) != f.mode || st.st_uid != 0 ||
		    st.st_gid != 0) {
			t.diagf("%s: mode %04o uid %u gid %u, expected %04o root",
				f.path.c_str(), st.st_mode & 07777, st.st_uid,
				st.st_gid, f.mode);
			ok = false;
		}
	}
	t.diagf("%u new files checked", nr);
	t.result(ok, "new_files_root_only_0600_0400");

	ok = true;
	for (const std::string &d : new_dirs(2)) {
		if (!stat_of(d, st) || !S_ISDIR(st.st_mode) ||
		    (st.st_mode & 07777) != (ref_dir.st_mode & 07777) ||
		    st.st_uid != ref_dir.st_uid) {
			t.diagf("%s: mode %04o uid %u, siblings %04o uid %u",
				d.c_str(), st.st_mode & 07777, st.st_uid,
				ref_dir.st_mode & 07777, ref_dir.st_uid);
			ok = false;
		}
	}
	t.result(ok, "new_dirs_like_siblings");
}

/* Walk @dir: regular files with a group or other bit. */
void walk_modes(const std::string &dir, unsigned int &nr_files,
		std::vector<std::string> &bad, unsigned int depth)
{
	DIR *d = opendir(dir.c_str());
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		const std::string name = de->d_name;
		const std::string p = dir + "/" + name;
		struct stat st;

		if (name == "." || name == ".." || !stat_of(p, st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 16)
				walk_modes(p, nr_files, bad, depth + 1);
			continue;
		}
		nr_files++;
		if ((st.st_mode & 077) || st.st_uid != 0)
			bad.push_back(p + " " + std::to_string(st.st_mode & 07777));
	}
	closedir(d);
}

void tree_walk_case(ktap::writer &t)
{
	std::vector<std::string> bad;
	unsigned int nr = 0;

	walk_modes(admin, nr, bad, 0);
	for (const std::string &b : bad)
		t.diag("group/other bits: " + b);
	t.diagf("%u files below %s", nr, admin.c_str());
	t.result(nr > 100 && bad.empty(), "admin_tree_no_group_other_bits");
}

/* One thing the unprivileged child tries. */
struct attempt {
	std::string path;
	bool write;
};

/*
 * Fork a child that becomes uid/gid 65534 without capabilities and tries
 * @attempts; @results gets 0 or -errno of each (open, then write "1" for
 * a write).  @dropped tells whether the child really was unprivileged.
 */
bool run_unprivileged(const std::vector<attempt> &attempts,
		      std::vector<int> &results, bool &dropped)
{
	int fds[2];
	pid_t pid;

	results.assign(attempts.size(), 1);
	dropped = false;
	if (pipe(fds))
		return false;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		int ok = !setgroups(0, nullptr) &&
			 !setresgid(nobody, nobody, nobody) &&
			 !setresuid(nobody, nobody, nobody) &&
			 !prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		std::string status;

		/* no capability left: CapEff, CapPrm and CapAmb are all 0 */
		ok = ok && !damon_sysfs::read_file("/proc/self/status", status) &&
		     status.find("CapEff:\t0000000000000000") != std::string::npos &&
		     status.find("CapPrm:\t0000000000000000") != std::string::npos &&
		     geteuid() == nobody;
		if (write(fds[1], &ok, sizeof(ok)) != sizeof(ok))
			_exit(1);
		for (const attempt &a : attempts) {
			int fd = open(a.path.c_str(),
				      (a.write ? O_WRONLY : O_RDONLY) |
					      O_NONBLOCK | O_CLOEXEC);
			int r = 0;
			char buf[64];

			if (fd < 0) {
				r = -errno;
			} else {
				if (a.write ? write(fd, "1", 1) < 0 :
					      read(fd, buf, sizeof(buf)) < 0)
					r = -errno;
				close(fd);
			}
			if (write(fds[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);

	int ok = 0, status = 0;
	bool got = read(fds[0], &ok, sizeof(ok)) == sizeof(ok);

	for (size_t i = 0; got && i < attempts.size(); i++)
		got = read(fds[0], &results[i], sizeof(int)) == sizeof(int);
	close(fds[0]);
	waitpid(pid, &status, 0);
	dropped = ok;
	return got && WIFEXITED(status) && !WEXITSTATUS(status);
}

/* Were all of @attempts refused with EACCES?  Report those that were not. */
bool all_eacces(const ktap::writer &t, const std::vector<attempt> &attempts,
		const std::vector<int> &results, size_t from, size_t to)
{
	bool ok = true;

	for (size_t i = from; i < to; i++) {
		if (results[i] != -EACCES) {
			t.diagf("%s %s as nobody: %s",
				attempts[i].write ? "writing" : "reading",
				attempts[i].path.c_str(),
				monitor::errno_symbol(results[i]).c_str());
			ok = false;
		}
	}
	return ok;
}

/* (b) and the unprivileged half of (d) */
void unprivileged_cases(ktap::writer &t, const damon_sysfs::session &s,
			pid_t pid)
{
	const damon_sysfs::perf_event e0 =
		s.get_kdamond(0).get_context(0).get_perf_event(0);
	std::vector<attempt> attempts;
	std::vector<int> results;
	std::string before_ek, before_type, before_nr, after;
	bool dropped, ok;
	size_t nr_reads, nr_writes, nr_tp;

	/* exclude_kernel N: a successful write of "1" would show as Y */
	ok = !setup_vaddr_with_events(s, pid, { perf_event_attr(),
						 perf_event_attr() }) &&
	     !e0.set("exclude_kernel", "N") && !e0.get("type", before_type) &&
	     !e0.get("exclude_kernel", before_ek) &&
	     !damon_sysfs::read_file(pe_dir + "/nr_perf_events", before_nr);
	for (const new_file &f : new_files(2))
		attempts.push_back({ f.path, false });
	nr_reads = attempts.size();
	for (const new_file &f : new_files(2))
		attempts.push_back({ f.path, true });
	attempts.push_back({ kd_dir + "/state", true });
	attempts.push_back({ admin + "/kdamonds/nr_kdamonds", true });
	attempts.push_back({ ctx_dir + "/monitoring_attrs/intervals/sample_us",
			     true });
	nr_writes = attempts.size();
	for (const char *f : { "format", "enable", "id", "filter", "trigger" })
		attempts.push_back({ tp_dir + "/" + f, false });
	attempts.push_back({ tp_dir + "/enable", true });
	attempts.push_back({ "/sys/kernel/tracing/trace", false });
	attempts.push_back({ "/sys/kernel/tracing/trace_pipe", false });
	attempts.push_back({ "/sys/kernel/tracing/events/damon/enable", true });
	nr_tp = attempts.size();

	ok = ok && run_unprivileged(attempts, results, dropped);
	t.result(ok && dropped, "child_is_unprivileged");
	if (!ok || !dropped) {
		t.skip("unprivileged_read_denied", "no unprivileged child");
		t.skip("unprivileged_write_denied", "no unprivileged child");
		t.skip("unprivileged_tracepoint_denied", "no unprivileged child");
		t.skip("unprivileged_cannot_configure", "no unprivileged child");
		return;
	}
	t.result(all_eacces(t, attempts, results, 0, nr_reads),
		 "unprivileged_read_denied");
	t.result(all_eacces(t, attempts, results, nr_reads, nr_writes),
		 "unprivileged_write_denied");
	if (!damon_sysfs::exists(tp_dir + "/format"))
		t.skip("unprivileged_tracepoint_denied",
		       "no tracefs or no damos_node_eligible_mem_bp event");
	else
		t.result(all_eacces(t, attempts, results, nr_writes, nr_tp),
			 "unprivileged_tracepoint_denied");

	/* nothing it tried changed a value */
	ok = !e0.get("exclude_kernel", after) && after == before_ek &&
	     !e0.get("type", after) && after == before_type &&
	     !damon_sysfs::read_file(pe_dir + "/nr_perf_events", after) &&
	     after == before_nr && !s.get_kdamond(0).running();
	t.result(ok, "unprivileged_cannot_configure");
	s.reset();
}

/* (c) the tracepoint */
void tracepoint_case(ktap::writer &t)
{
	std::string fmt, fields;
	const std::regex field_re("field:([^;]*);");
	const std::regex bad_name("addr|ptr|pfn|phys|page|start|end|ip\\b|"
				  "\\*|\\[",
				  std::regex::icase);
	bool ok = true;
	unsigned int nr = 0;

	if (damon_sysfs::read_file(tp_dir + "/format", fmt)) {
		t.skip("tracepoint_format_no_address_fields",
		       "no tracefs or no damos_node_eligible_mem_bp event");
		return;
	}
	for (std::sregex_iterator it(fmt.begin(), fmt.end(), field_re), end;
	     it != end; ++it) {
		const std::string decl = (*it)[1];
		const std::string name = decl.substr(decl.rfind(' ') + 1);

		nr++;
		fields += " " + name;
		if (name.rfind("common_", 0) == 0)
			continue;
		if (std::regex_search(decl, bad_name)) {
			t.diag("address-like field: " + decl);
			ok = false;
		}
	}
	t.diag("fields:" + fields);
	t.result(ok && nr >= 5, "tracepoint_format_no_address_fields");
}

/* (c) the stats files */
void stats_case(ktap::writer &t, const damon_sysfs::session &s,
		const test_pmu::pmu &pmu, const workload::hot_cold_child &child)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const std::regex counter("[0-9]{1,20}");
	std::vector<std::string> files;
	unsigned long nr_accepted = 0;
	bool ok;

	ok = !pmu.set_addrs("clear") &&
	     !pmu.set_addrs("vaddr=" + std::to_string(child.hot_start()) +
			    " len=" + std::to_string(child.hot_size()) +
			    " pid=" + std::to_string(child.pid())) &&
	     !setup_vaddr_with_events(s, child.pid(), { pmu.event(200, false) }) &&
	     start_kdamond(t, kd);
	std::this_thread::sleep_for(2s);
	ok = ok && !kd.state("update_sample_stats");
	for (const char *f : sample_stat_files)
		files.push_back(sample_dir + "/stats/" + f);
	for (const char *f : event_stat_files)
		files.push_back(pe_dir + "/0/stats/" + f);
	for (const std::string &f : files) {
		std::string v;

		if (damon_sysfs::read_file(f, v) ||
		    !std::regex_match(v, counter) ||
		    std::strtoull(v.c_str(), nullptr, 10) >= (1ull << 47)) {
			t.diag(f + ": '" + v + "' is not a plain counter");
			ok = false;
		}
		if (f.find("nr_accepted") != std::string::npos)
			nr_accepted = std::strtoul(v.c_str(), nullptr, 10);
	}
	t.diagf("nr_accepted %lu", nr_accepted);
	/* the stats directories hold the counters and nothing else */
	ok = ok && nr_accepted > 0;
	for (const std::string &d : { sample_dir + "/stats",
				      pe_dir + "/0/stats" }) {
		unsigned int nr = 0;
		std::vector<std::string> bad;

		walk_modes(d, nr, bad, 0);
		if (nr != (d == sample_dir + "/stats" ?
				   std::size(sample_stat_files) :
				   std::size(event_stat_files))) {
			t.diagf("%s has %u files", d.c_str(), nr);
			ok = false;
		}
	}
	t.result(ok, "stats_files_plain_counters");
	s.reset();
	pmu.set_addrs("clear");
}

/* Start kdamond 0 with @events; the errno. */
int try_start(const damon_sysfs::session &s, pid_t pid,
	      const std::vector<perf_event_attr> &events)
{
	int err;

	s.reset();
	err = setup_vaddr_with_events(s, pid, events);
	if (!err)
		err = s.get_kdamond(0).start();
	s.reset();
	return err;
}

/* (c) the kernel log */
void kmsg_case(ktap::writer &t, const damon_sysfs::session &s,
	       const test_pmu::pmu *pmu, pid_t pid)
{
	/*
	 * A raw address.  Not one: what %p prints, a hash with the upper 32
	 * bits cleared "to make explicit that we have modified the address"
	 * (lib/vsprintf.c), or NULL; DEBUG_KOBJECT_RELEASE (make
	 * check-kasan) logs the kobjects of DAMON's directories that way.
	 */
	const std::regex pointer("(0x)?ffff[0-9a-f]{12}|"
				 "(?!00000000)[0-9a-f]{16}|0x[0-9a-f]{9,}",
				 std::regex::icase);
	monitor::kmsg log;
	perf_event_attr a;
	unsigned int nr_damon = 0;
	bool ok = true;
	std::vector<std::pair<std::string, int>> provoked;

	/* an unknown PMU type */
	a.type = 0x7ffffff0;
	provoked.push_back({ "unknown type", try_start(s, pid, { a }) });
	/* a rate above the sysctl */
	a.type = 1;
	a.sample_freq = perf_max_sample_rate(100000) + 1;
	provoked.push_back({ "rate above max", try_start(s, pid, { a }) });
	if (pmu) {
		perf_event_attr p = pmu->event(200, false);
		const std::string all = "0-" + std::to_string(monitor::nr_cpus() - 1);

		p.config = 1;
		provoked.push_back({ "config refused", try_start(s, pid, { p }) });
		p.config = 0;
		pmu->set_param("fail_errno", "5");
		pmu->set_param("fail_cpus", all);
		provoked.push_back({ "fail every CPU", try_start(s, pid, { p }) });
		pmu->set_param("fail_errno", "19");
		provoked.push_back({ "no CPU covered", try_start(s, pid, { p }) });
		pmu->set_param("fail_cpus", "\n");

		/* a second consumer of the access reports */
		const damon_sysfs::kdamond kd0 = s.get_kdamond(0);
		const damon_sysfs::kdamond kd1 = s.get_kdamond(1);
		damon_sysfs::paddr_monitor m;
		int err;

		s.reset();
		m.report_sink = true;
		err = s.set_nr_kdamonds(2);
		if (!err)
			err = damon_sysfs::configure_paddr_monitor(kd0, m);
		if (!err)
			err = damon_sysfs::configure_paddr_monitor(kd1, m);
		if (!err)
			err = kd0.start();
		if (!err)
			err = kd1.start();
		provoked.push_back({ "second consumer", err });
		s.reset();
	}
	for (const auto &p : provoked) {
		t.diagf("%s: %s", p.first.c_str(), monitor::errno_symbol(p.second).c_str());
		ok &= p.second != 0;
	}
	for (const std::string &l : log.lines()) {
		const bool damon = l.find("perf event") != std::string::npos ||
				   l.find("access reports") != std::string::npos ||
				   l.find("damon") != std::string::npos;

		nr_damon += damon;
		t.diag("log: " + l);
		if (std::regex_search(l, pointer)) {
			t.diag("^ looks like an address");
			ok = false;
		}
	}
	t.diagf("%u DAMON lines", nr_damon);
	t.result(ok && nr_damon >= (pmu ? 4u : 1u), "kmsg_no_kernel_pointers");
}

/* (d) for root */
void exclude_kernel_case(ktap::writer &t, const damon_sysfs::session &s,
			 const test_pmu::pmu &pmu, pid_t pid)
{
	const char paranoid[] = "/proc/sys/kernel/perf_event_paranoid";
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	std::string old_paranoid;
	bool ok = true, raised;

	raised = !damon_sysfs::read_file(paranoid, old_paranoid) &&
		 !damon_sysfs::write_file(paranoid, "3");
	t.diagf("perf_event_paranoid %s -> %s", old_paranoid.c_str(),
		raised ? "3" : "(unchanged)");
	for (bool ek : { false, true }) {
		perf_event_attr a = pmu.event(200, false);
		damon_sysfs::perf_event_stats st;
		int err;

		a.exclude_kernel = ek;
		s.reset();
		err = setup_vaddr_with_events(s, pid, { a });
		if (!err)
			err = kd.start();
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
	require_damon_sysfs_or_skip(false);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	s.reset();

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
