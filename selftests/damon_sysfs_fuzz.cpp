// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer of the DAMON sysfs files that the perf events series adds
 * or touches (nr_perf_events and every file of a perf event directory, also
 * as the report sink) and of those they interact with (nr_contexts,
 * nr_targets, pid_target, operations, the state commands), while a kdamond
 * monitors a child process with samples from the test PMU damon_test_pmu.
 * Phase 1 is one writer, reproducible from the seed; phase 2 has three
 * writers and a reader, and its interleaving is not reproducible.
 *
 * Oracles: no WARN/BUG/lockdep/KASAN/refcount/... line in the kernel log
 * (checked all along), an errno accepted() for every write and a clean one
 * for every read, and afterwards a clean start and stop, state "off", the
 * test PMU unloading (no perf event pins it) and no DAMON object in kmemleak.
 *
 * Usage: damon_sysfs_fuzz [--seed N] [--iterations N]
 *   The seed defaults to the time; DAMON_FUZZ_ITERATIONS also sets the
 *   iterations of phase 1 (default 1500, about a minute in a TCG guest);
 *   phase 2 runs iterations / 2 operations a writer.  Phase 1 stops after
 *   45 s, phase 2 after 15 s, both times iterations / 1500.  SKIPs when not
 *   root, without DAMON sysfs or perf_events in it, or without the test PMU.
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
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using errno_hist = std::map<int, unsigned long>;

int g_argc;
char **g_argv;

const std::string kd_dir = std::string(damon_sysfs::admin_dir) + "/kdamonds/0";
const std::string ctx_dir = kd_dir + "/contexts/0";
const std::string pe_dir = ctx_dir + "/monitoring_attrs/sample/perf_events";
const damon_sysfs::kdamond fuzzed_kd(kd_dir);

/* the files of a perf event directory; fuzz_event_file() picks by index */
const char *const numeric_files[] = {
	"type", "config", "config1", "config2", "sample_freq", "sample_period", "precise_ip",
};
const char *const bool_files[] = { "sample_phys_addr", "exclude_kernel", "exclude_hv", "freq" };
/* every state command; the repeats weight fuzz_state()'s choice */
const char *const state_cmds[] = {
	"on", "on", "off", "commit", "commit", "commit", "update_sample_stats",
	"update_sample_stats", "update_sample_stats", "update_schemes_stats",
	"update_schemes_tried_regions", "update_schemes_tried_bytes",
	"clear_schemes_tried_regions", "update_schemes_effective_quotas",
	"update_tuned_intervals", "commit_schemes_quota_goals",
};

/* The values the fuzzer picks from (see fuzzer::hostile_value()). */
namespace values {
const char *const bools[] = { "Y", "N", "1", "0", "y", "n", "on", "off", "Y\n", "N\n" };
const char *const huge[] = {
	"18446744073709551615", "18446744073709551616", "2147483648", "2147483647", "4294967296",
	"4294967295", "9223372036854775808", "9223372036854775807",
	"99999999999999999999999999999999", "0xffffffffffffffff", "0x10000000000000000",
	"0x8000000000000000", "0x7fffffffffffffff",
};
const char *const negative[] = {
	"-1", "-0", "-2147483648", "-4294967296", "-18446744073709551615", "-9223372036854775808",
	"- 1", "--1",
};
const char *const garbage[] = {
	"abc", "Y", "yes", "true", "0x", "1e3", "1.5", "\x01\xff", "%s%n%p", "0b101", "NaN", "inf",
	"\t", "1 2", "0xg", "on", "off", "1,2", "one", "\xef\xbb\xbf" "1",
};
const char *const empty[] = { "", "\n", " ", "\n\n", " \n" };
const char *const octal[] = { "0777", "08", "0x0", "0X1F", "00", "0o7", "+1", "+0x10" };
const char *const precise_ip[] = { "0", "1", "2", "3", "4", "5", "255", "256", "-1" };
const char *const sample_period[] = {
	"0", "1", "9223372036854775807", "9223372036854775808", "18446744073709551615",
	"0x8000000000000001",
};
const char *const operations[] = {
	"vaddr", "paddr", "fvaddr", "vaddr\n", "VADDR", "", "paddr garbage", "x",
};
const char *const state_garbage[] = {
	"", "ON", "on garbage", " on", "commit\n\n", "offf", "update_sample_stat",
	"update_sample_statsx",
};
} /* namespace values */

double secs_since(steady::time_point t0)
{
	return std::chrono::duration<double>(steady::now() - t0).count();
}

void add(errno_hist &to, const errno_hist &from)
{
	for (const auto &e : from)
		to[e.first] += e.second;
}

/* " EINVAL=3 OK=12" */
std::string hist_str(const errno_hist &h)
{
	std::string s;

	for (const auto &e : h)
		s += " " + monitor::errno_symbol(e.first) + "=" + std::to_string(e.second);
	return s;
}

/* Writes of one file: how many, and how each ended (0: success). */
struct file_stats {
	unsigned long writes = 0, short_writes = 0;
	errno_hist errs;
};

/* Everything one thread observed. */
struct stats {
	std::map<std::string, file_stats> files;
	errno_hist read_errs;
	unsigned long reads = 0, absent = 0, ops = 0, starts = 0, starts_ok = 0;
	unsigned long commits = 0, commits_ok = 0, sample_stats = 0, sample_stats_ok = 0;
	unsigned long offs = 0, shrinks = 0, fast_guards = 0;
	std::vector<std::string> unexpected;	/* the first 20 */

	void flag(const std::string &what)
	{
		if (unexpected.size() < 20)
			unexpected.push_back(what);
	}

	void merge(const stats &o)
	{
		static unsigned long stats::*const counters[] = {
			&stats::reads, &stats::absent, &stats::ops, &stats::starts,
			&stats::starts_ok, &stats::commits, &stats::commits_ok,
			&stats::sample_stats, &stats::sample_stats_ok, &stats::offs,
			&stats::shrinks, &stats::fast_guards,
		};

		for (const auto &f : o.files) {
			files[f.first].writes += f.second.writes;
			files[f.first].short_writes += f.second.short_writes;
			add(files[f.first].errs, f.second.errs);
		}
		add(read_errs, o.read_errs);
		for (auto c : counters)
			this->*c += o.*c;
		for (const std::string &u : o.unexpected)
			flag(u);
	}
};

/* "perf_events/1/config" -> "event/config", "state" + cmd -> "state(on)" */
std::string file_key(const std::string &path, const std::string &val)
{
	const std::string rel = path.substr(path.rfind('/') + 1);

	if (path.find("/perf_events/") != std::string::npos && rel != "nr_perf_events")
		return "event/" + rel;
	if (rel != "state")
		return rel;
	const std::string cmd = val.substr(0, val.find('\n'));

	if (std::find(std::begin(state_cmds), std::end(state_cmds), cmd) == std::end(state_cmds))
		return "state(garbage)";
	return "state(" + cmd + ")";
}

/* Is @val short and without a number above 65536 (a count DAMON may allocate)? */
bool small_input(const std::string &val)
{
	const char *p = val.c_str() + std::min(val.find_first_not_of(" \t-+"), val.size());
	char *end;
	unsigned long v;

	if (val.size() > 32)
		return false;
	errno = 0;
	v = std::strtoul(p, &end, 0);
	return end == p || (!errno && v <= 65536);
}

/*
 * Is @err an acceptable outcome of writing @val to the file @key?  Never:
 * EFAULT, ENOMEM for small inputs, EIO, EPERM/EACCES (we are root), nor
 * anything not listed here.
 */
bool accepted(const std::string &key, int err, const std::string &val, bool concurrent)
{
	const auto one_of = [err](std::initializer_list<int> errnos) {
		return std::find(errnos.begin(), errnos.end(), -err) != errnos.end();
	};

	/* ENODEV: concurrently removed after open(); for a type, a PMU name no PMU has */
	if (!err || (err == -ENODEV && (concurrent || key == "event/type")))
		return true;
	/* not a number, out of range, not a bool; beyond 64 bits */
	if (key.rfind("event/", 0) == 0 || key == "pid_target")
		return one_of({ EINVAL, ERANGE });
	/* EBUSY: mutex_trylock(&damon_sysfs_lock); ENOMEM: a big count DAMON allocates */
	if (key == "nr_perf_events" || key == "nr_contexts" || key == "nr_targets" ||
	    key == "nr_schemes")
		return one_of({ EINVAL, ERANGE, EBUSY }) || (err == -ENOMEM && !small_input(val));
	if (key == "operations")
		return err == -EINVAL;
	/*
	 * EINVAL: bad command, no single context, not running, a configuration
	 * DAMON refuses; EBUSY: running, lock, the reports owned by another
	 * context; ENOENT/ENODEV: no PMU of the type, or it covers no CPU;
	 * EOPNOTSUPP: a feature the PMU lacks; ECANCELED: the kdamond stopped.
	 */
	if (key.rfind("state(", 0) == 0)
		return one_of({ EINVAL, EBUSY, ENOENT, ENODEV, EOPNOTSUPP, ECANCELED });
	return false;
}

std::string printable(const std::string &s)
{
	std::string out;

	for (char c : s.substr(0, 40)) {
		if (c == '\n' || c == '\0')
			out += c ? "\\n" : "\\0";
		else
			out += (c < 0x20 || c > 0x7e) ? '?' : c;
	}
	if (s.size() > 40)
		out += "...(" + std::to_string(s.size()) + ")";
	return out;
}

std::string hex(uint64_t v)
{
	char b[16];

	return std::string(b, std::to_chars(b, b + sizeof(b), v, 16).ptr);
}

/* The current number of perf event directories (at most 16), or 0. */
unsigned int nr_events()
{
	unsigned long nr = 0;

	damon_sysfs::read_ulong(pe_dir + "/nr_perf_events", nr);
	return static_cast<unsigned int>(std::min(nr, 16ul));
}

/*
 * The fuzzing context of one thread.  Phase 1 must stay reproducible from
 * the seed: keep the order of the rnd() calls when changing anything here.
 */
class fuzzer {
public:
	fuzzer(uint64_t seed, unsigned long test_pmu_type, pid_t target, bool concurrent_mode)
		: rng(seed), pmu_type(test_pmu_type), pid(target), concurrent(concurrent_mode) {}

	stats st;
	std::deque<std::string> history;	/* the last operations, for a reproducer */

	uint64_t rnd(uint64_t n) { return n ? rng() % n : 0; }
	bool chance(unsigned int percent) { return rnd(100) < percent; }
	template <size_t N> const char *pick(const char *const (&a)[N]) { return a[rnd(N)]; }

	/* Write @val to @path with one write(), record and judge it: 0, -errno, 1 if absent. */
	int put(const std::string &path, const std::string &val)
	{
		const std::string key = file_key(path, val);
		const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
		const ssize_t n = fd < 0 ? -1 : write(fd, val.data(), val.size());
		const int err = n < 0 ? -errno : 0;

		if (fd >= 0)
			close(fd);
		if (fd < 0 && err == -ENOENT) {
			st.absent++;
			return 1;
		}
		file_stats &f = st.files[key];

		f.short_writes += n >= 0 && static_cast<size_t>(n) < val.size();
		f.writes++;
		f.errs[err]++;
		note(key + " <- '" + printable(val) + "': " + monitor::errno_symbol(err));
		if (!accepted(key, err, val, concurrent))
			st.flag(history.back());
		return err;
	}

	/* put() each of @files below @dir, in order */
	void put_all(const std::string &dir,
		     std::initializer_list<std::pair<const char *, std::string>> files)
	{
		for (const auto &f : files)
			put(dir + f.first, f.second);
	}

	void note(const std::string &s)
	{
		history.push_back(s);
		if (history.size() > 24)
			history.pop_front();
	}

	int state(const std::string &cmd)
	{
		const int err = put(kd_dir + "/state", cmd);
		const auto count = [err](unsigned long &n, unsigned long &ok) {
			n++;
			ok += !err;
		};

		if (cmd == "on")
			count(st.starts, st.starts_ok);
		else if (cmd == "commit")
			count(st.commits, st.commits_ok);
		else if (cmd == "update_sample_stats")
			count(st.sample_stats, st.sample_stats_ok);
		else if (cmd == "off")
			st.offs++;
		if (!err && (cmd == "on" || cmd == "commit"))
			guard_fast();
		return err;
	}

	std::string valid_event_value(const std::string &f, bool boolean)
	{
		if (boolean)
			return pick(values::bools);
		if (f == "type")	/* mostly the test PMU, so that starts can succeed */
			return std::to_string(chance(70) ? pmu_type : rnd(8));
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

	/* Every class of bad or boundary input. */
	std::string hostile_value(const std::string &f, bool boolean)
	{
		/* drawn before the class, whether the class uses it or not */
		const std::string base = valid_event_value(f, boolean);

		switch (rnd(9)) {
		case 0:
			return pick(values::huge);
		case 1:
			return pick(values::negative);
		case 2:
			return pick(values::garbage);
		case 3:
			return pick(values::empty);
		case 4: {	/* partial: no newline, garbage after, spaces before */
			const std::string partial[] = {
				base + " garbage", "  " + base, base + "\n\n",
				base + std::string(1, '\0') + "junk", base + "x",
				"\t" + base + "\n",
			};

			return partial[rnd(std::size(partial))];
		}
		case 5:
			return pick(values::octal);
		case 6: {	/* long runs of digits, up to past a page */
			std::string d(chance(20) ? 4000 + rnd(200) : 20 + rnd(80), '0');

			for (size_t i = 0; i < d.size(); i++)
				d[i] = static_cast<char>('0' + (i ? rnd(10) : 1 + rnd(9)));
			return d;
		}
		case 7:
			return "0x" + hex(rng());
		}
		if (f == "precise_ip")
			return pick(values::precise_ip);
		if (f == "sample_freq" && !chance(50))
			return "0";
		if (f == "sample_freq")	/* around kernel.perf_event_max_sample_rate */
			return std::to_string(perf_max_sample_rate(perf_default_max_rate) +
					      rnd(3) - 1);
		if (f == "sample_period")
			return pick(values::sample_period);
		if (f == "type")
			return chance(50) ? "4294967295" : "2147483632";
		return pick(values::huge);
	}

	/* Write a random value to a random file of one of the first @idx_bias events. */
	void fuzz_event_file(unsigned int idx_bias = 16)
	{
		const uint64_t idx = rnd(std::min(nr_events(), idx_bias));
		const size_t nf = std::size(numeric_files);
		const size_t k = rnd(nf + std::size(bool_files));
		const bool boolean = k >= nf;
		const std::string f = boolean ? bool_files[k - nf] : numeric_files[k];

		put(pe_dir + "/" + std::to_string(idx) + "/" + f,
		    chance(45) ? valid_event_value(f, boolean) : hostile_value(f, boolean));
	}

	/* Write a random value to a file that shapes the tree. */
	void fuzz_shape_file()
	{
		/* a value for a count file: valid up to @n, or hostile */
		const auto count_value = [this](unsigned long n) {
			return chance(60) ? std::to_string(rnd(n + 1)) : hostile_value("nr", false);
		};
		const uint64_t r = rnd(7);

		if (r < 2)
			put(pe_dir + "/nr_perf_events", count_value(17));
		else if (r == 2)
			put(kd_dir + "/contexts/nr_contexts", count_value(2));
		else if (r == 3)
			put(ctx_dir + "/targets/nr_targets", count_value(3));
		else if (r == 4)
			put(ctx_dir + "/targets/0/pid_target",
			    chance(60) ? std::to_string(pid) : hostile_value("pid", false));
		else if (r == 5)
			put(ctx_dir + "/operations", pick(values::operations));
		else	/* the report sink (PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY) alone */
			put_all(pe_dir + "/", { { "nr_perf_events", "1" }, { "0/type", "1" },
						{ "0/config", "9" }, { "0/freq", "N" },
						{ "0/sample_period", "1" } });
	}

	void fuzz_state()
	{
		state(chance(5) ? pick(values::state_garbage) : pick(state_cmds));
	}

	/* A runnable setup sampling the target at a modest rate; then on, or commit if running. */
	void repair(bool go = true)
	{
		const unsigned int nr = 1 + static_cast<unsigned int>(rnd(2));

		put(kd_dir + "/contexts/nr_contexts", "1");
		put_all(ctx_dir + "/", {
			{ "operations", "vaddr" }, { "targets/nr_targets", "1" },
			{ "targets/0/pid_target", std::to_string(pid) },
			{ "schemes/nr_schemes", "1" }, { "schemes/0/action", "stat" },
		});
		put(pe_dir + "/nr_perf_events", std::to_string(nr));
		for (unsigned int i = 0; i < nr; i++)
			put_all(pe_dir + "/" + std::to_string(i) + "/", {
				{ "type", std::to_string(pmu_type) }, { "config", "0" },
				{ "config1", "0" }, { "config2", "0" }, { "sample_phys_addr", "N" },
				{ "exclude_kernel", chance(50) ? "Y" : "N" }, { "exclude_hv", "N" },
				{ "freq", "Y" }, { "sample_freq", std::to_string(100 + rnd(400)) },
				{ "sample_period", "100000" }, { "precise_ip", "0" },
			});
		if (go)
			state(fuzzed_kd.running() ? "commit" : "on");
	}

	/*
	 * The test PMU makes one hard IRQ a sample: a committed rate above a
	 * few thousand a second on a CPU slows a TCG guest to a crawl.  Let
	 * such a configuration run for one operation, then repair it.
	 */
	void guard_fast()
	{
		for (unsigned int i = 0, nr = nr_events(); i < nr; i++) {
			const damon_sysfs::node e(pe_dir + "/" + std::to_string(i));
			unsigned long v = 0, type = 0;
			std::string fr;

			if (e.get("type", type) || type != pmu_type || e.get("freq", fr))
				continue;
			if (fr == "Y" ? (!e.get("sample_freq", v) && v > 5000) :
					(!e.get("sample_period", v) && v < 200000)) {
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
		if (!fuzzed_kd.running())
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
		const uint64_t r = rnd(100);

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

	/*
	 * One operation of writer @w of phase 2: writer 1 on state commands and
	 * the directory shape, writers 0 and 2 on the same files of events 0, 1.
	 */
	void concurrent_step(unsigned int w)
	{
		st.ops++;
		if (w != 1 && chance(92))
			fuzz_event_file(2);
		else if (w != 1)
			fuzz_shape_file();
		else if (chance(55))
			fuzz_state();
		else if (chance(40))
			fuzz_shape_file();
		else if (chance(50))
			shrink_running();
		else
			repair();
	}

private:
	std::mt19937_64 rng;
	const unsigned long pmu_type;
	const pid_t pid;
	const bool concurrent;
};

/* What @st saw, and every write it did not accept. */
void show_stats(const ktap::writer &t, const char *phase, const stats &st)
{
	t.diagf("%s: %lu ops, %lu reads, %lu writes to absent files", phase,
		st.ops, st.reads, st.absent);
	t.diagf("%s: starts %lu (ok %lu), commits %lu (ok %lu), update_sample_stats %lu (ok %lu), offs %lu, shrinks %lu, fast configs repaired %lu",
		phase, st.starts, st.starts_ok, st.commits, st.commits_ok, st.sample_stats,
		st.sample_stats_ok, st.offs, st.shrinks, st.fast_guards);
	for (const auto &f : st.files)
		t.diagf("%s: %-36s writes %5lu:%s%s", phase, f.first.c_str(), f.second.writes,
			hist_str(f.second.errs).c_str(), f.second.short_writes ?
			(" short=" + std::to_string(f.second.short_writes)).c_str() : "");
	if (st.reads)
		t.diagf("%s: reads:%s", phase, hist_str(st.read_errs).c_str());
	for (const std::string &u : st.unexpected)
		t.diag("unexpected: " + u);
}

void show_history(const ktap::writer &t, const fuzzer &f)
{
	for (const std::string &h : f.history)
		t.diag("op: " + h);
}

/*
 * Phase 1, the "single_writer_errnos_accepted" case: @f alone, @iterations
 * operations or until @end (@t0: when the fuzzing began).
 */
void single_writer_phase(ktap::writer &t, fuzzer &f, unsigned long iterations,
			 steady::time_point t0, steady::time_point end, monitor::log_watch &watch)
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
		if (i % 32 == 31 && !fuzzed_kd.running())
			f.repair();
	}
	watch.poll("phase 1 end");
	t.diagf("phase 1: %lu of %lu iterations in %.1f s", i, iterations, secs_since(t0));
	show_stats(t, "phase 1", f.st);
	if (!watch.bad.empty()) {
		t.diag("kernel log went bad at " + watch.first_when + "; the operations before:");
		show_history(t, f);
	}
	t.result(f.st.unexpected.empty(), "single_writer_errnos_accepted");
}

/*
 * Phase 2: from the configuration @f repairs, three writers (seeded after
 * @seed) and a reader, until each writer did @per_writer operations, for
 * 15 s times @scale at most (none when the kernel log went bad); the
 * "concurrent_errnos_accepted" case.  Returns what they observed.
 */
stats concurrent_phase(ktap::writer &t, fuzzer &f, uint64_t seed, unsigned long per_writer,
		       long scale, unsigned long pmu_type, pid_t pid, monitor::log_watch &watch)
{
	const auto start = steady::now();
	const auto end = start + (watch.bad.empty() ? 15s * scale : 0s);
	const auto done = [per_writer](const fuzzer &w) { return w.st.ops >= per_writer; };
	std::atomic<bool> stop{ false };
	stats reader_st, all;
	const auto go_on = [&stop, end] { return !stop && steady::now() < end; };
	/* reads fail only with ENOENT/ENODEV (removed under the reader) or EBUSY */
	const auto read_one = [&reader_st](const std::string &p, int err) {
		reader_st.reads++;
		reader_st.read_errs[err]++;
		if (err && err != -ENOENT && err != -ENODEV && err != -EBUSY)
			reader_st.flag("read " + p + ": " + monitor::errno_symbol(err));
	};
	std::deque<fuzzer> writers;
	std::vector<std::thread> threads;

	f.repair();
	for (unsigned int w = 0; w < 3; w++)
		writers.emplace_back(seed + 1 + w, pmu_type, pid, true);
	for (unsigned int w = 0; w < 3; w++)
		threads.emplace_back([&, w] {
			try {
				for (unsigned long n = 0; n < per_writer && go_on(); n++)
					writers[w].concurrent_step(w);
			} catch (...) {
				writers[w].st.flag("exception in writer");
			}
		});
	threads.emplace_back([&] {	/* every file of the kdamond's tree, over and over */
		try {
			while (go_on())
				damon_sysfs::read_tree(kd_dir, read_one);
		} catch (...) {
			reader_st.flag("exception in reader");
		}
	});
	/* the writers end by count or time; the reader follows them */
	while (steady::now() < end) {
		std::this_thread::sleep_for(500ms);
		watch.poll("phase 2");
		if (!watch.bad.empty() || std::all_of(writers.begin(), writers.end(), done))
			break;
	}
	stop = true;
	for (std::thread &th : threads)
		th.join();
	watch.poll("phase 2 end");

	for (const fuzzer &w : writers)
		all.merge(w.st);
	all.merge(reader_st);
	t.diagf("phase 2: %.1f s", secs_since(start));
	show_stats(t, "phase 2", all);
	t.result(all.unexpected.empty(), "concurrent_errnos_accepted");
	return all;
}

/*
 * The end: no stuck -EBUSY (a clean start and stop), the kdamond is off,
 * the test PMU unloads (no perf event pins it), the kernel log stayed clean
 * and kmemleak finds no DAMON object.
 */
void after_fuzz_cases(ktap::writer &t, const damon_sysfs::session &s, test_pmu::pmu &pmu,
		      pid_t pid, monitor::log_watch &watch, bool has_kmemleak)
{
	const damon_sysfs::kdamond kd = s.get_kdamond(0);
	const damon_sysfs::context ctx = kd.get_context(0);
	damon_sysfs::vaddr_monitor m;
	damon_sysfs::perf_event_stats pst;
	const int err_reset = s.reset();
	int err_setup, err_on = -EIO, err_stats = -EIO, err_off = -EIO, err_unload;
	std::string state_val;

	m.pid = pid;
	err_setup = damon_sysfs::setup_vaddr_monitor(s, m);
	if (!err_setup)
		err_setup = ctx.set_perf_events({ pmu.event(200, false) });
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
	t.result(!err_reset && !err_setup && !err_on && !err_stats && !err_off &&
		 pst.nr_cpus == monitor::nr_cpus() && pst.nr_accepted + pst.nr_invalid > 0,
		 "clean_restart_after_fuzz");

	/* nothing is left behind */
	kd.get("state", state_val);
	t.diag("state at the end: " + state_val);
	t.result(state_val == "off" && !s.reset(), "state_off_at_end");

	err_unload = pmu.unload();
	t.diagf("unloading the test PMU: %s", monitor::errno_symbol(err_unload).c_str());
	t.result(!err_unload, "test_pmu_unloads");

	watch.poll("end");
	for (const std::string &l : watch.bad)
		t.diag("kmsg: " + l);
	t.result(watch.bad.empty(), "kernel_log_clean");

	if (!has_kmemleak) {
		t.skip("kmemleak_no_damon_leak", "no " + std::string(monitor::kmemleak_path));
		return;
	}
	const auto k0 = steady::now();
	unsigned int nr_all = 0;
	const int nr = monitor::kmemleak_damon(t, nr_all, false);

	t.diagf("kmemleak: %d DAMON entries of %u, scans took %.1f s", nr, nr_all,
		secs_since(k0));
	t.result(nr == 0, "kmemleak_no_damon_leak");
}

int run()
{
	uint64_t seed;
	unsigned long iterations = 1500;

	if (!parse_seed_args(g_argc, g_argv, "iterations", "DAMON_FUZZ_ITERATIONS", seed,
			     iterations)) {
		std::printf("usage: damon_sysfs_fuzz [--seed N] [--iterations N]\n");
		return ktap::KSFT_FAIL;
	}
	/* also skips without perf_events; leaves no kdamond */
	require_damon_sysfs_or_skip(true);

	damon_sysfs::session s;
	test_pmu::pmu pmu;

	if (!pmu.ok())
		ktap::exit_skip("test PMU: " + pmu.error());

	ktap::writer t(8);
	workload::hot_cold_child child(1ul << 20, 4ul << 20);
	const bool has_kmemleak = damon_sysfs::exists(monitor::kmemleak_path);
	const auto t0 = steady::now();
	monitor::log_watch watch;
	fuzzer f(seed, pmu.type(), child.pid(), false);
	unsigned long writes = 0;
	errno_hist hist;
	stats total;

	t.diagf("seed %" PRIu64 " iterations %lu (rerun: --seed %" PRIu64 " --iterations %lu)",
		seed, iterations, seed, iterations);
	if (has_kmemleak)
		monitor::kmemleak_clear();
	/* the starting point: a running kdamond whose events sample the hot buffer */
	const bool ok = child.ok() && !pmu.set_addrs("vaddr=" + std::to_string(child.hot_start()) +
						     " len=" + std::to_string(child.hot_size()) +
						     " pid=" + std::to_string(child.pid())) &&
			!s.set_nr_kdamonds(1);

	if (ok)
		f.repair();
	if (!t.result(ok && fuzzed_kd.running(), "setup_running")) {
		show_history(t, f);
		t.skip_rest("no running kdamond to fuzz");
		return t.exit_code();
	}

	/* the time caps grow with the iterations asked for */
	const long scale = static_cast<long>(std::max(1ul, iterations / 1500));

	single_writer_phase(t, f, iterations, t0, t0 + 45s * scale, watch);
	total.merge(f.st);
	total.merge(concurrent_phase(t, f, seed, iterations / 2, scale, pmu.type(), child.pid(),
				    watch));
	after_fuzz_cases(t, s, pmu, child.pid(), watch, has_kmemleak);

	for (const auto &fs : total.files) {
		writes += fs.second.writes;
		add(hist, fs.second.errs);
	}
	t.diagf("total: %lu ops, %lu writes, %lu reads, errnos:%s", total.ops, writes,
		total.reads, hist_str(hist).c_str());
	t.diagf("total: starts %lu (ok %lu), commits %lu (ok %lu), update_sample_stats %lu (ok %lu), %.1f s",
		total.starts, total.starts_ok, total.commits, total.commits_ok,
		total.sample_stats, total.sample_stats_ok, secs_since(t0));
	return t.exit_code();
}

} /* namespace */

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	return ktap::guarded_main(run);
}
