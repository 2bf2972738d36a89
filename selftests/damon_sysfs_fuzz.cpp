// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer for the DAMON sysfs files that the perf events series
 * adds or touches: monitoring_attrs/sample/perf_events/nr_perf_events,
 * every file of a perf event directory (also as the report sink, the
 * dummy event that never samples but makes the context consume access
 * reports), and where they interact, nr_contexts, nr_targets,
 * pid_target, operations and the state commands (on, off, commit,
 * update_sample_stats, update_schemes_*, ...).
 *
 * A kdamond monitors a child process (vaddr) with the test PMU
 * damon_test_pmu producing samples of the child's addresses while the
 * fuzzer writes.  Inputs are random valid values, huge numbers (2^64-1,
 * 2^64, 2^31, 2^32, long runs of digits), negative, non-numeric, empty,
 * partial (no newline, trailing garbage, leading spaces, embedded NUL),
 * hexadecimal and octal, and values around the limits (precise_ip 0..4,
 * sample_freq around kernel.perf_event_max_sample_rate, sample_period 0,
 * 2^63 - 1 and 2^63).  Sequences shrink nr_perf_events and nr_contexts to 0
 * under the running kdamond and then commit and update the stats.
 *
 * Phase 1 is one writer, reproducible from the seed.  Phase 2 has three
 * writers (two on the same files of the same events, one on state commands
 * and the directory shape) and a reader of every file of the kdamond's
 * tree; its interleaving is not reproducible.
 *
 * Oracles: no WARN/BUG/Oops/lockdep/KASAN/refcount/... line in the kernel
 * log (checked all along); every write succeeds or fails with an errno
 * accepted for that file (see accepted() below); reads fail only with
 * ENOENT/ENODEV (removed under the reader) or EBUSY (a busy lock); after
 * the fuzzing, a clean configuration starts, samples and stops with no
 * error, the kdamond is "off", the test PMU module unloads (no perf event
 * left to pin it), and kmemleak reports no DAMON object.
 *
 * Usage: damon_sysfs_fuzz [--seed N] [--iterations N]
 *   The seed defaults to the time; DAMON_FUZZ_ITERATIONS also sets the
 *   iterations of phase 1 (default 1500, a run of about a minute in a TCG
 *   guest); phase 2 runs iterations / 2 operations a writer.  Phase 1
 *   stops after 45 s, phase 2 after 15 s, both times iterations / 1500.
 *
 * SKIPs when not root, without DAMON sysfs, without perf_events in DAMON
 * sysfs, or without the test PMU module.
 */
#include "lib/damon_sysfs.h"
#include "lib/ktap.h"
#include "lib/monitor.h"
#include "lib/test_pmu.h"
#include "lib/test_util.h"
#include "lib/workload.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int g_argc;
char **g_argv;

const std::string kd_dir = std::string(damon_sysfs::admin_dir) +
			   "/kdamonds/0";
const std::string ctx_dir = kd_dir + "/contexts/0";
const std::string sample_dir = ctx_dir + "/monitoring_attrs/sample";
const std::string pe_dir = sample_dir + "/perf_events";

const char *const numeric_files[] = {
	"type", "config", "config1", "config2", "sample_freq",
	"sample_period", "precise_ip",
};
const char *const bool_files[] = {
	"sample_phys_addr", "exclude_kernel", "exclude_hv", "freq",
};
const char *const state_cmds[] = {
	"on", "off", "commit", "update_sample_stats", "update_schemes_stats",
	"update_schemes_tried_bytes", "update_schemes_tried_regions",
	"clear_schemes_tried_regions", "update_schemes_effective_quotas",
	"update_tuned_intervals", "commit_schemes_quota_goals",
};

/* Writes of one file: how many, and how each ended (0: success). */
struct file_stats {
	unsigned long writes = 0;
	unsigned long short_writes = 0;
	std::map<int, unsigned long> errs;
};

/* Everything one thread observed. */
struct stats {
	std::map<std::string, file_stats> files;
	std::map<int, unsigned long> read_errs;
	unsigned long reads = 0;
	unsigned long absent = 0;
	unsigned long ops = 0;
	unsigned long starts = 0, starts_ok = 0;
	unsigned long commits = 0, commits_ok = 0;
	unsigned long sample_stats = 0, sample_stats_ok = 0;
	unsigned long offs = 0;
	unsigned long shrinks = 0;
	unsigned long fast_guards = 0;
	std::vector<std::string> unexpected;

	void merge(const stats &o)
	{
		for (const auto &f : o.files) {
			file_stats &d = files[f.first];

			d.writes += f.second.writes;
			d.short_writes += f.second.short_writes;
			for (const auto &e : f.second.errs)
				d.errs[e.first] += e.second;
		}
		for (const auto &e : o.read_errs)
			read_errs[e.first] += e.second;
		reads += o.reads;
		absent += o.absent;
		ops += o.ops;
		starts += o.starts;
		starts_ok += o.starts_ok;
		commits += o.commits;
		commits_ok += o.commits_ok;
		sample_stats += o.sample_stats;
		sample_stats_ok += o.sample_stats_ok;
		offs += o.offs;
		shrinks += o.shrinks;
		fast_guards += o.fast_guards;
		for (const std::string &u : o.unexpected)
			if (unexpected.size() < 20)
				unexpected.push_back(u);
	}
};

/* "perf_events/1/config" -> "event/config", "state" + cmd -> "state(on)" */
std::string file_key(const std::string &path, const std::string &val)
{
	std::string rel = path.substr(path.rfind('/') + 1);

	if (path.find("/perf_events/") != std::string::npos &&
	    rel != "nr_perf_events")
		return "event/" + rel;
	if (rel == "state") {
		std::string cmd = val.substr(0, val.find('\n'));

		for (const char *c : state_cmds)
			if (cmd == c)
				return "state(" + cmd + ")";
		return "state(garbage)";
	}
	return rel;
}

/* Does @val hold a number above @limit (or is it too long to be small)? */
bool small_input(const std::string &val, unsigned long limit = 65536)
{
	const char *p = val.c_str();
	char *end;
	unsigned long v;

	if (val.size() > 32)
		return false;
	while (*p == ' ' || *p == '\t' || *p == '-' || *p == '+')
		p++;
	errno = 0;
	v = std::strtoul(p, &end, 0);
	if (end == p)
		return true;
	return !errno && v <= limit;
}

/*
 * Is @err an acceptable outcome of writing @val to the file @key?
 *
 * All: success.  The attribute files of an event: EINVAL (not a number,
 * out of range, not a bool), ERANGE (beyond 64 bits), and for type ENODEV
 * (not a number: a PMU name no PMU has).  nr_perf_events,
 * nr_contexts, nr_targets, nr_schemes: EINVAL, ERANGE, EBUSY (their
 * mutex_trylock of damon_sysfs_lock), and ENOMEM only for an input above
 * 65536 (a count DAMON tries to allocate).  pid_target: EINVAL, ERANGE.
 * operations: EINVAL.  state: EINVAL (bad command, no
 * single context, not running, a configuration DAMON refuses), EBUSY
 * (running, lock, the access reports owned by another context), ENOENT and
 * ENODEV (no PMU of the type, the PMU covers no CPU), EOPNOTSUPP (a
 * feature the PMU lacks), ECANCELED (the kdamond stopped during the
 * command).  With @concurrent, ENODEV from a file removed between open()
 * and write() is also fine.  Never: EFAULT, ENOMEM for small inputs, EIO,
 * EPERM/EACCES (root), anything else.
 */
bool accepted(const std::string &key, int err, const std::string &val,
	      bool concurrent)
{
	if (!err)
		return true;
	if (concurrent && err == -ENODEV)
		return true;
	/* a type that is not a number is a PMU name, maybe an unknown one */
	if (key == "event/type" && err == -ENODEV)
		return true;
	if (key.rfind("event/", 0) == 0)
		return err == -EINVAL || err == -ERANGE;
	if (key == "nr_perf_events" || key == "nr_contexts" ||
	    key == "nr_targets" || key == "nr_schemes")
		return err == -EINVAL || err == -ERANGE || err == -EBUSY ||
		       (err == -ENOMEM && !small_input(val));
	if (key == "pid_target")
		return err == -EINVAL || err == -ERANGE;
	if (key == "operations")
		return err == -EINVAL;
	if (key.rfind("state(", 0) == 0)
		return err == -EINVAL || err == -EBUSY || err == -ENOENT ||
		       err == -ENODEV || err == -EOPNOTSUPP ||
		       err == -ECANCELED;
	return false;
}

std::string printable(const std::string &s)
{
	std::string out;

	for (char c : s.substr(0, 40)) {
		if (c == '\n')
			out += "\\n";
		else if (c == '\0')
			out += "\\0";
		else if (c < 0x20 || c > 0x7e)
			out += "?";
		else
			out += c;
	}
	if (s.size() > 40)
		out += "...(" + std::to_string(s.size()) + ")";
	return out;
}

/* The fuzzing context of one thread. */
class fuzzer {
public:
	fuzzer(uint64_t seed, const test_pmu::pmu &p, pid_t target,
	       bool concurrent_mode)
		: rng(seed), pmu(p), pid(target), concurrent(concurrent_mode)
	{
	}

	stats st;
	/* the last operations, for a reproducer */
	std::deque<std::string> history;

	uint64_t rnd(uint64_t n) { return n ? rng() % n : 0; }
	bool chance(unsigned int percent) { return rnd(100) < percent; }

	/*
	 * Write @val to @path with one write(); record and judge the result.
	 * Returns 0, -errno, or 1 when the file is absent.
	 */
	int put(const std::string &path, const std::string &val)
	{
		int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
		const std::string key = file_key(path, val);
		ssize_t n;
		int err = 0;

		if (fd < 0) {
			if (errno == ENOENT) {
				st.absent++;
				return 1;
			}
			err = -errno;
		} else {
			n = write(fd, val.data(), val.size());
			if (n < 0)
				err = -errno;
			else if (static_cast<size_t>(n) < val.size())
				st.files[key].short_writes++;
			close(fd);
		}
		file_stats &f = st.files[key];

		f.writes++;
		f.errs[err]++;
		note(key + " <- '" + printable(val) + "': " + monitor::errno_symbol(err));
		if (!accepted(key, err, val, concurrent) &&
		    st.unexpected.size() < 20)
			st.unexpected.push_back(history.back());
		return err;
	}

	void note(const std::string &s)
	{
		history.push_back(s);
		if (history.size() > 24)
			history.pop_front();
	}

	int state(const std::string &cmd)
	{
		int err = put(kd_dir + "/state", cmd);

		if (cmd == "on") {
			st.starts++;
			st.starts_ok += !err;
		} else if (cmd == "commit") {
			st.commits++;
			st.commits_ok += !err;
		} else if (cmd == "update_sample_stats") {
			st.sample_stats++;
			st.sample_stats_ok += !err;
		} else if (cmd == "off") {
			st.offs++;
		}
		if (!err && (cmd == "on" || cmd == "commit"))
			guard_fast();
		return err;
	}

	/* The current number of perf event directories, or 0. */
	unsigned int nr_events()
	{
		unsigned long nr = 0;

		damon_sysfs::read_ulong(pe_dir + "/nr_perf_events", nr);
		return static_cast<unsigned int>(std::min(nr, 16ul));
	}

	bool running()
	{
		std::string s;

		return !damon_sysfs::read_file(kd_dir + "/state", s) &&
		       s == "on";
	}

	/* A value for the file @f of an event: valid, or one of the classes. */
	std::string event_value(const std::string &f)
	{
		const bool boolean = std::find_if(std::begin(bool_files),
				std::end(bool_files), [&f](const char *b) {
					return f == b;
				}) != std::end(bool_files);

		if (chance(45))
			return valid_event_value(f, boolean);
		return hostile_value(f, boolean);
	}

	std::string valid_event_value(const std::string &f, bool boolean)
	{
		static const char *const bools[] = {
			"Y", "N", "1", "0", "y", "n", "on", "off", "Y\n", "N\n",
		};

		if (boolean)
			return bools[rnd(std::size(bools))];
		if (f == "type") {
			/* mostly the test PMU, so that starts can succeed */
			if (chance(70))
				return std::to_string(pmu.type());
			return std::to_string(rnd(8));
		}
		if (f.rfind("config", 0) == 0)
			return chance(70) ? "0" : "0x" + hex(rng() >> rnd(64));
		if (f == "sample_freq")
			return std::to_string(1 + rnd(2000));
		if (f == "sample_period")
			return std::to_string(1000000 + rnd(100000000));
		if (f == "precise_ip")
			return std::to_string(rnd(4));
		return "0";
	}

	std::string hex(uint64_t v)
	{
		char b[32];

		std::snprintf(b, sizeof(b), "%" PRIx64, v);
		return b;
	}

	std::string max_rate()
	{
		return std::to_string(perf_max_sample_rate(100000) + rnd(3) - 1);
	}

	std::string digits(size_t n)
	{
		std::string s;

		for (size_t i = 0; i < n; i++)
			s += static_cast<char>('0' + (i ? rnd(10) : 1 + rnd(9)));
		return s;
	}

	/* Every class of bad or boundary input. */
	std::string hostile_value(const std::string &f, bool boolean)
	{
		static const char *const huge[] = {
			"18446744073709551615", "18446744073709551616",
			"2147483648", "2147483647", "4294967296", "4294967295",
			"9223372036854775808", "9223372036854775807",
			"99999999999999999999999999999999",
			"0xffffffffffffffff", "0x10000000000000000",
			"0x8000000000000000", "0x7fffffffffffffff",
		};
		static const char *const negative[] = {
			"-1", "-0", "-2147483648", "-4294967296",
			"-18446744073709551615", "-9223372036854775808",
			"- 1", "--1",
		};
		static const char *const garbage[] = {
			"abc", "Y", "yes", "true", "0x", "1e3", "1.5", "\x01\xff",
			"%s%n%p", "0b101", "NaN", "inf", "\t", "1 2", "0xg",
			"on", "off", "1,2", "one", "\xef\xbb\xbf" "1",
		};
		static const char *const empty[] = {
			"", "\n", " ", "\n\n", " \n",
		};
		static const char *const octal[] = {
			"0777", "08", "0x0", "0X1F", "00", "0o7", "+1", "+0x10",
		};
		static const char *const limits_pi[] = {
			"0", "1", "2", "3", "4", "5", "255", "256", "-1",
		};
		static const char *const limits_period[] = {
			"0", "1", "9223372036854775807", "9223372036854775808",
			"18446744073709551615", "0x8000000000000001",
		};
		const std::string base = valid_event_value(f, boolean);

		switch (rnd(9)) {
		case 0:
			return huge[rnd(std::size(huge))];
		case 1:
			return negative[rnd(std::size(negative))];
		case 2:
			return garbage[rnd(std::size(garbage))];
		case 3:
			return empty[rnd(std::size(empty))];
		case 4:	/* partial: no newline, garbage after, spaces before */
			switch (rnd(6)) {
			case 0:
				return base + " garbage";
			case 1:
				return "  " + base;
			case 2:
				return base + "\n\n";
			case 3:
				return base + std::string(1, '\0') + "junk";
			case 4:
				return base + "x";
			default:
				return "\t" + base + "\n";
			}
		case 5:
			return octal[rnd(std::size(octal))];
		case 6:	/* long runs of digits, up to past a page */
			return digits(chance(20) ? 4000 + rnd(200) : 20 + rnd(80));
		case 7:
			return "0x" + hex(rng());
		default:
			if (f == "precise_ip")
				return limits_pi[rnd(std::size(limits_pi))];
			if (f == "sample_freq")
				return chance(50) ? max_rate() : "0";
			if (f == "sample_period")
				return limits_period[rnd(std::size(limits_period))];
			if (f == "type")
				return chance(50) ? "4294967295" : "2147483632";
			return huge[rnd(std::size(huge))];
		}
	}

	/* A value for a count file (nr_perf_events, nr_contexts, ...). */
	std::string count_value(unsigned long valid_max)
	{
		if (chance(60))
			return std::to_string(rnd(valid_max + 1));
		return hostile_value("nr", false);
	}

	/* Write a random value to a random file of a random event. */
	void fuzz_event_file(unsigned int idx_bias = 16)
	{
		unsigned int nr = nr_events();
		unsigned int idx = nr ? static_cast<unsigned int>(
				rnd(std::min(nr, idx_bias))) : 0;
		const size_t nf = std::size(numeric_files);
		const size_t nb = std::size(bool_files);
		size_t k = rnd(nf + nb);
		const std::string f = k < nf ? numeric_files[k] :
					       bool_files[k - nf];

		put(pe_dir + "/" + std::to_string(idx) + "/" + f,
		    event_value(f));
	}

	/*
	 * The report sink as the only event: the software dummy event
	 * (PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY), which never samples
	 * but makes the context consume access reports.
	 */
	void put_report_sink()
	{
		const std::string d = pe_dir + "/0/";

		put(pe_dir + "/nr_perf_events", "1");
		put(d + "type", "1");
		put(d + "config", "9");
		put(d + "freq", "N");
		put(d + "sample_period", "1");
	}

	/* Write a random value to a file that shapes the tree. */
	void fuzz_shape_file()
	{
		static const char *const ops[] = {
			"vaddr", "paddr", "fvaddr", "vaddr\n", "VADDR", "",
			"paddr garbage", "x",
		};

		switch (rnd(7)) {
		case 0:
		case 1:
			put(pe_dir + "/nr_perf_events", count_value(17));
			break;
		case 2:
			put(kd_dir + "/contexts/nr_contexts", count_value(2));
			break;
		case 3:
			put(ctx_dir + "/targets/nr_targets", count_value(3));
			break;
		case 4:
			put(ctx_dir + "/targets/0/pid_target",
			    chance(60) ? std::to_string(pid) :
					 hostile_value("pid", false));
			break;
		case 5:
			put(ctx_dir + "/operations", ops[rnd(std::size(ops))]);
			break;
		default:
			put_report_sink();
			break;
		}
	}

	void fuzz_state()
	{
		static const char *const weighted[] = {
			"on", "on", "off", "commit", "commit", "commit",
			"update_sample_stats", "update_sample_stats",
			"update_sample_stats", "update_schemes_stats",
			"update_schemes_tried_regions",
			"update_schemes_tried_bytes",
			"clear_schemes_tried_regions",
			"update_schemes_effective_quotas",
			"update_tuned_intervals", "commit_schemes_quota_goals",
		};
		static const char *const garbage[] = {
			"", "ON", "on garbage", " on", "commit\n\n", "offf",
			"update_sample_stat", "update_sample_statsx",
		};

		if (chance(5))
			state(garbage[rnd(std::size(garbage))]);
		else
			state(weighted[rnd(std::size(weighted))]);
	}

	/*
	 * A test PMU event that samples the target's hot buffer at a modest
	 * rate, in the files of event @idx.
	 */
	void write_good_event(unsigned int idx)
	{
		const std::string d = pe_dir + "/" + std::to_string(idx) + "/";

		put(d + "type", std::to_string(pmu.type()));
		put(d + "config", "0");
		put(d + "config1", "0");
		put(d + "config2", "0");
		put(d + "sample_phys_addr", "N");
		put(d + "exclude_kernel", chance(50) ? "Y" : "N");
		put(d + "exclude_hv", "N");
		put(d + "freq", "Y");
		put(d + "sample_freq", std::to_string(100 + rnd(400)));
		put(d + "sample_period", "100000");
		put(d + "precise_ip", "0");
	}

	/* A configuration that can run; then on, or commit if running. */
	void repair(bool go = true)
	{
		unsigned int nr = 1 + static_cast<unsigned int>(rnd(2));

		put(kd_dir + "/contexts/nr_contexts", "1");
		put(ctx_dir + "/operations", "vaddr");
		put(ctx_dir + "/targets/nr_targets", "1");
		put(ctx_dir + "/targets/0/pid_target", std::to_string(pid));
		put(ctx_dir + "/schemes/nr_schemes", "1");
		put(ctx_dir + "/schemes/0/action", "stat");
		put(pe_dir + "/nr_perf_events", std::to_string(nr));
		for (unsigned int i = 0; i < nr; i++)
			write_good_event(i);
		if (go)
			state(running() ? "commit" : "on");
	}

	/*
	 * The test PMU makes one hard IRQ a sample: a committed rate above a
	 * few thousand a second on a CPU slows a TCG guest to a crawl.  Let
	 * such a configuration run for one operation, then repair it.
	 */
	void guard_fast()
	{
		unsigned int nr = nr_events();

		for (unsigned int i = 0; i < nr; i++) {
			const damon_sysfs::node e(pe_dir + "/" +
						  std::to_string(i));
			std::string fr;
			unsigned long v = 0, type = 0;

			if (e.get("type", type) ||
			    type != static_cast<unsigned long>(pmu.type()) ||
			    e.get("freq", fr))
				continue;
			if (fr == "Y" ? (!e.get("sample_freq", v) && v > 5000) :
					(!e.get("sample_period", v) &&
					 v < 200000)) {
				st.fast_guards++;
				note("fast configuration: repairing");
				repair(false);
				put(kd_dir + "/state", "commit");
				return;
			}
		}
	}

	/* Shrink nr_perf_events or nr_contexts to 0 under a running kdamond. */
	void shrink_running()
	{
		if (!running())
			return;
		st.shrinks++;
		if (chance(60)) {
			put(pe_dir + "/nr_perf_events", "0");
		} else {
			put(kd_dir + "/contexts/nr_contexts", "0");
			state("update_schemes_stats");
			state("update_schemes_tried_regions");
		}
		state("commit");
		state("update_sample_stats");
		if (chance(30))
			state("off");
	}

	/* One random operation of the single writer phase. */
	void step()
	{
		unsigned int r = static_cast<unsigned int>(rnd(100));

		st.ops++;
		if (r < 50)
			fuzz_event_file();
		else if (r < 60)
			fuzz_shape_file();
		else if (r < 82)
			fuzz_state();
		else if (r < 88)
			shrink_running();
		else
			repair();
	}

private:
	std::mt19937_64 rng;
	const test_pmu::pmu &pmu;
	pid_t pid;
	bool concurrent;
};

void show_stats(const ktap::writer &t, const char *phase, const stats &st)
{
	t.diagf("%s: %lu ops, %lu reads, %lu writes to absent files", phase,
		st.ops, st.reads, st.absent);
	t.diagf("%s: starts %lu (ok %lu), commits %lu (ok %lu), update_sample_stats %lu (ok %lu), offs %lu, shrinks %lu, fast configs repaired %lu",
		phase, st.starts, st.starts_ok, st.commits, st.commits_ok,
		st.sample_stats, st.sample_stats_ok, st.offs, st.shrinks,
		st.fast_guards);
	for (const auto &f : st.files) {
		std::string h;

		for (const auto &e : f.second.errs)
			h += " " + monitor::errno_symbol(e.first) + "=" +
			     std::to_string(e.second);
		t.diagf("%s: %-36s writes %5lu:%s%s", phase, f.first.c_str(),
			f.second.writes, h.c_str(),
			f.second.short_writes ?
				(" short=" + std::to_string(f.second.short_writes)).c_str() :
				"");
	}
	if (st.reads) {
		std::string h;

		for (const auto &e : st.read_errs)
			h += " " + monitor::errno_symbol(e.first) + "=" +
			     std::to_string(e.second);
		t.diagf("%s: reads:%s", phase, h.c_str());
	}
}

void show_unexpected(const ktap::writer &t, const stats &st)
{
	for (const std::string &u : st.unexpected)
		t.diag("unexpected: " + u);
}

struct options {
	uint64_t seed;
	unsigned long iterations = 1500;
};

bool parse_options(options &o)
{
	return parse_seed_args(g_argc, g_argv, "iterations",
			       "DAMON_FUZZ_ITERATIONS", o.seed, o.iterations);
}

void show_history(const ktap::writer &t, const fuzzer &f)
{
	for (const std::string &h : f.history)
		t.diag("op: " + h);
}

/*
 * The starting point: a running kdamond whose events sample the hot
 * buffer of @child.  False if it does not run.
 */
bool start_fuzz_target(const damon_sysfs::session &s,
		       const test_pmu::pmu &pmu,
		       const workload::hot_cold_child &child, fuzzer &f)
{
	bool ok = child.ok() &&
		  !pmu.set_addrs("vaddr=" + std::to_string(child.hot_start()) +
				 " len=" + std::to_string(child.hot_size()) +
				 " pid=" + std::to_string(child.pid())) &&
		  !s.set_nr_kdamonds(1);

	if (ok) {
		f.repair();
		ok = f.running();
	}
	return ok;
}

/*
 * Phase 1: @f writes alone, @iterations operations or until @end (@t0:
 * when the fuzzing began); the "single_writer_errnos_accepted" case.
 */
void single_writer_phase(ktap::writer &t, fuzzer &f, unsigned long iterations,
			 steady::time_point t0, steady::time_point end,
			 monitor::log_watch &watch)
{
	unsigned long i;

	for (i = 0; i < iterations && steady::now() < end; i++) {
		f.step();
		if (i % 16 == 0) {
			watch.poll("phase 1 op " + std::to_string(i));
			if (!watch.bad.empty())
				break;
		}
		/* do not let the kdamond stay off for long */
		if (i % 32 == 31 && !f.running())
			f.repair();
	}
	watch.poll("phase 1 end");
	const double p1_s = std::chrono::duration<double>(steady::now() - t0).count();

	t.diagf("phase 1: %lu of %lu iterations in %.1f s", i, iterations, p1_s);
	show_stats(t, "phase 1", f.st);
	show_unexpected(t, f.st);
	if (!watch.bad.empty()) {
		t.diag("kernel log went bad at " + watch.first_when +
		       "; the operations before:");
		show_history(t, f);
	}
	t.result(f.st.unexpected.empty(), "single_writer_errnos_accepted");
}

/*
 * Writer @w of phase 2, for @per_writer operations or until @stop or
 * @end: writer 1 on state commands and the directory shape, writers 0 and
 * 2 on the same files of events 0 and 1.
 */
void concurrent_writer(fuzzer &me, unsigned int w, unsigned long per_writer,
		       const std::atomic<bool> &stop, steady::time_point end)
{
	try {
		for (unsigned long n = 0; n < per_writer && !stop &&
		     steady::now() < end; n++) {
			me.st.ops++;
			if (w == 1) {
				if (me.chance(55))
					me.fuzz_state();
				else if (me.chance(40))
					me.fuzz_shape_file();
				else if (me.chance(50))
					me.shrink_running();
				else
					me.repair();
			} else {
				/* writers 0 and 2: the same files of events 0, 1 */
				if (me.chance(92))
					me.fuzz_event_file(2);
				else
					me.fuzz_shape_file();
			}
		}
	} catch (...) {
		me.st.unexpected.push_back("exception in writer");
	}
}

/*
 * The reader of phase 2: every file of the kdamond's tree, over and over
 * until @stop or @end.
 */
void concurrent_reader(stats &st, const std::atomic<bool> &stop,
		       steady::time_point end)
{
	try {
		while (!stop && steady::now() < end)
			damon_sysfs::read_tree(kd_dir, [&st](
					const std::string &p, int err) {
				st.reads++;
				st.read_errs[err]++;
				if (err && err != -ENOENT && err != -ENODEV &&
				    err != -EBUSY &&
				    st.unexpected.size() < 20)
					st.unexpected.push_back(
						"read " + p + ": " +
						monitor::errno_symbol(err));
			});
	} catch (...) {
		st.unexpected.push_back("exception in reader");
	}
}

/* the writers end by count or time; the reader follows them */
void wait_for_writers(const std::vector<std::unique_ptr<fuzzer>> &writers,
		      unsigned long per_writer, monitor::log_watch &watch,
		      steady::time_point end)
{
	while (steady::now() < end) {
		std::this_thread::sleep_for(500ms);
		watch.poll("phase 2");
		bool done = true;

		for (unsigned int w = 0; w < 3; w++)
			done &= writers[w]->st.ops >= per_writer;
		if (done || !watch.bad.empty())
			break;
	}
}

/*
 * Three writers (seeded after @seed) and a reader until @end or each
 * writer did @per_writer operations; returns what they all observed.
 */
stats run_writers_and_reader(uint64_t seed, unsigned long per_writer,
			     const test_pmu::pmu &pmu, pid_t pid,
			     monitor::log_watch &watch, steady::time_point end)
{
	std::atomic<bool> stop{ false };
	std::vector<std::unique_ptr<fuzzer>> writers;
	std::vector<std::thread> threads;
	stats reader_st, all;

	for (unsigned int w = 0; w < 3; w++)
		writers.push_back(std::make_unique<fuzzer>(seed + 1 + w, pmu,
							   pid, true));
	for (unsigned int w = 0; w < 3; w++)
		threads.emplace_back([&, w] {
			concurrent_writer(*writers[w], w, per_writer, stop, end);
		});
	threads.emplace_back([&] { concurrent_reader(reader_st, stop, end); });
	wait_for_writers(writers, per_writer, watch, end);
	stop = true;
	for (std::thread &th : threads)
		th.join();
	watch.poll("phase 2 end");

	for (const auto &w : writers)
		all.merge(w->st);
	all.merge(reader_st);
	return all;
}

/*
 * Phase 2: three writers and a reader, from the configuration @f repairs,
 * for 15 s times @scale at most (none when the kernel log went bad); the
 * "concurrent_errnos_accepted" case.  Returns what they observed.
 */
stats concurrent_phase(ktap::writer &t, fuzzer &f, const options &o,
		       long scale, const test_pmu::pmu &pmu, pid_t pid,
		       monitor::log_watch &watch)
{
	const auto p2_start = steady::now();
	const auto p2_end = p2_start + (watch.bad.empty() ? 15s * scale : 0s);

	f.repair();

	const stats p2 = run_writers_and_reader(o.seed, o.iterations / 2, pmu,
						pid, watch, p2_end);

	t.diagf("phase 2: %.1f s",
		std::chrono::duration<double>(steady::now() - p2_start).count());
	show_stats(t, "phase 2", p2);
	show_unexpected(t, p2);
	t.result(p2.unexpected.empty(), "concurrent_errnos_accepted");
	return p2;
}

/* the end: no stuck -EBUSY, a clean start and stop */
void clean_restart_case(ktap::writer &t, const damon_sysfs::session &s,
			const test_pmu::pmu &pmu, pid_t pid)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	damon_sysfs::vaddr_monitor m;
	damon_sysfs::perf_event_attr a;
	damon_sysfs::perf_event_stats pst;
	int err_reset, err_setup = 0, err_on = -EIO, err_stats = -EIO;
	int err_off = -EIO;

	err_reset = s.reset();
	m.pid = pid;
	a.type = static_cast<unsigned long>(pmu.type());
	a.sample_freq = 200;
	err_setup = damon_sysfs::setup_vaddr_monitor(s, m);
	if (!err_setup)
		err_setup = ctx.set_perf_events({ a });
	if (!err_setup)
		err_on = kd.start();
	if (!err_on) {
		std::this_thread::sleep_for(1s);
		err_stats = kd.state("update_sample_stats");
		if (!err_stats)
			err_stats = ctx.get_perf_event(0).get_stats(pst);
		err_off = kd.stop();
	}
	t.diagf("clean restart: reset %s, setup %s, on %s, stats %s (nr_cpus %lu accepted %lu invalid %lu), off %s",
		monitor::errno_symbol(err_reset).c_str(), monitor::errno_symbol(err_setup).c_str(),
		monitor::errno_symbol(err_on).c_str(), monitor::errno_symbol(err_stats).c_str(),
		pst.nr_cpus, pst.nr_accepted, pst.nr_invalid,
		monitor::errno_symbol(err_off).c_str());
	t.result(!err_reset && !err_setup && !err_on && !err_stats &&
			 !err_off && pst.nr_cpus == monitor::nr_cpus() &&
			 pst.nr_accepted + pst.nr_invalid > 0,
		 "clean_restart_after_fuzz");
}

/*
 * Nothing is left behind: the kdamond is off, the test PMU unloads and
 * the kernel log stayed clean.
 */
void nothing_left_cases(ktap::writer &t, const damon_sysfs::session &s,
			test_pmu::pmu &pmu, monitor::log_watch &watch)
{
	std::string state_val;

	damon_sysfs::read_file(s.get_kdamond(0).path("state"), state_val);
	t.diag("state at the end: " + state_val);
	t.result(state_val == "off" && !s.reset(), "state_off_at_end");

	/* every perf event is gone: the pinned module unloads */
	int err_unload = pmu.unload();

	t.diagf("unloading the test PMU: %s", monitor::errno_symbol(err_unload).c_str());
	t.result(!err_unload, "test_pmu_unloads");

	watch.poll("end");
	for (const std::string &l : watch.bad)
		t.diag("kmsg: " + l);
	t.result(watch.bad.empty(), "kernel_log_clean");
}

void kmemleak_case(ktap::writer &t, bool has_kmemleak)
{
	if (!has_kmemleak) {
		t.skip("kmemleak_no_damon_leak", "no " + std::string(monitor::kmemleak_path));
	} else {
		const auto k0 = steady::now();
		unsigned int nr_all = 0;
		int nr = monitor::kmemleak_damon(t, nr_all, false);

		t.diagf("kmemleak: %d DAMON entries of %u, scans took %.1f s", nr,
			nr_all, std::chrono::duration<double>(steady::now() - k0).count());
		t.result(nr == 0, "kmemleak_no_damon_leak");
	}
}

/* The totals of both phases, @t0 when the fuzzing began. */
void show_total(const ktap::writer &t, const stats &total,
		steady::time_point t0)
{
	unsigned long writes = 0;

	for (const auto &fs : total.files)
		writes += fs.second.writes;
	std::map<int, unsigned long> hist;

	for (const auto &fs : total.files)
		for (const auto &e : fs.second.errs)
			hist[e.first] += e.second;
	std::string h;

	for (const auto &e : hist)
		h += " " + monitor::errno_symbol(e.first) + "=" + std::to_string(e.second);
	t.diagf("total: %lu ops, %lu writes, %lu reads, errnos:%s", total.ops,
		writes, total.reads, h.c_str());
	t.diagf("total: starts %lu (ok %lu), commits %lu (ok %lu), update_sample_stats %lu (ok %lu), %.1f s",
		total.starts, total.starts_ok, total.commits, total.commits_ok,
		total.sample_stats, total.sample_stats_ok,
		std::chrono::duration<double>(steady::now() - t0).count());
}

int run()
{
	options o;

	if (!parse_options(o)) {
		std::printf("usage: damon_sysfs_fuzz [--seed N] [--iterations N]\n");
		return ktap::KSFT_FAIL;
	}
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;

	require_perf_events_or_skip(s);
	s.reset();

	test_pmu::pmu pmu;

	if (!pmu.ok())
		ktap::exit_skip("test PMU: " + pmu.error());

	ktap::writer t(8);
	workload::hot_cold_child child(1ul << 20, 4ul << 20);
	const bool has_kmemleak = damon_sysfs::exists(monitor::kmemleak_path);
	const auto t0 = steady::now();
	monitor::log_watch watch;
	stats total;

	t.diagf("seed %" PRIu64 " iterations %lu (rerun: --seed %" PRIu64
		" --iterations %lu)", o.seed, o.iterations, o.seed,
		o.iterations);
	if (has_kmemleak)
		monitor::kmemleak_clear();

	/* the starting point: a running kdamond whose events sample */
	fuzzer f(o.seed, pmu, child.pid(), false);

	if (!t.result(start_fuzz_target(s, pmu, child, f), "setup_running")) {
		show_history(t, f);
		t.skip_rest("no running kdamond to fuzz");
		return t.exit_code();
	}

	/* phase 1: one writer, reproducible from the seed */
	/* the time caps grow with the iterations asked for */
	const long scale = static_cast<long>(std::max(1ul, o.iterations / 1500));

	single_writer_phase(t, f, o.iterations, t0, t0 + 45s * scale, watch);
	total.merge(f.st);

	/* phase 2: three writers and a reader */
	total.merge(concurrent_phase(t, f, o, scale, pmu, child.pid(), watch));

	clean_restart_case(t, s, pmu, child.pid());
	nothing_left_cases(t, s, pmu, watch);
	kmemleak_case(t, has_kmemleak);
	show_total(t, total, t0);
	return t.exit_code();
}

} /* namespace */

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	return ktap::guarded_main(run);
}
