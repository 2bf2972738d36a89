// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sysfs library for the C++ selftests.  See damon_sysfs.h.
 */
#include "damon_sysfs.h"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <utility>

namespace damon_sysfs {

namespace {

const std::string kdamonds_dir = std::string(admin_dir) + "/kdamonds";
const char nr_perf_events_file[] = "monitoring_attrs/sample/perf_events/nr_perf_events";
/* PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY (<linux/perf_event.h>) */
const unsigned long perf_type_software = 1;
const unsigned long perf_count_sw_dummy = 9;

/* Closes the descriptor on every path. */
class fd_guard {
public:
	explicit fd_guard(int f) : fd(f) {}
	fd_guard(const fd_guard &) = delete;
	fd_guard &operator=(const fd_guard &) = delete;
	~fd_guard()
	{
		if (fd >= 0)
			close(fd);
	}
	int get() const { return fd; }

private:
	int fd;
};

int parse_ulong(const std::string &s, unsigned long &val)
{
	char *end;

	if (s.empty())
		return -EINVAL;
	errno = 0;
	val = std::strtoul(s.c_str(), &end, 0);
	if (errno)
		return -errno;
	if (*end && *end != '\n')
		return -EINVAL;
	return 0;
}

} /* namespace */

int write_file(const std::string &path, const std::string &val)
{
	fd_guard fd(open(path.c_str(), O_WRONLY));
	ssize_t ret;

	if (fd.get() < 0)
		return -errno;
	ret = write(fd.get(), val.data(), val.size());
	if (ret < 0)
		return -errno;
	if (static_cast<size_t>(ret) != val.size())
		return -EIO;
	return 0;
}

int read_file(const std::string &path, std::string &val)
{
	fd_guard fd(open(path.c_str(), O_RDONLY));
	char buf[4096];
	ssize_t ret;

	if (fd.get() < 0)
		return -errno;
	val.clear();
	while ((ret = read(fd.get(), buf, sizeof(buf))) > 0)
		val.append(buf, static_cast<size_t>(ret));
	if (ret < 0)
		return -errno;
	while (!val.empty() && val.back() == '\n')
		val.pop_back();
	return 0;
}

int read_ulong(const std::string &path, unsigned long &val)
{
	std::string s;
	int err = read_file(path, s);

	return err ? err : parse_ulong(s, val);
}

bool exists(const std::string &path)
{
	return access(path.c_str(), F_OK) == 0;
}

bool available()
{
	return access((kdamonds_dir + "/nr_kdamonds").c_str(), R_OK | W_OK) == 0;
}

static void read_tree_at(const std::string &dir,
			 const std::function<void(const std::string &, int)> &fn,
			 unsigned int depth)
{
	std::unique_ptr<DIR, int (*)(DIR *)> d(opendir(dir.c_str()), closedir);
	struct dirent *de;

	if (!d) {
		fn(dir, -errno);
		return;
	}
	while ((de = readdir(d.get()))) {
		const std::string name = de->d_name;
		const std::string p = dir + "/" + name;
		char buf[4096];
		int err = 0;

		if (name == "." || name == "..")
			continue;
		if (de->d_type == DT_DIR) {
			if (depth < 12)
				read_tree_at(p, fn, depth + 1);
			continue;
		}
		fd_guard fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));

		if (fd.get() < 0)
			err = -errno;
		else if (read(fd.get(), buf, sizeof(buf)) < 0)
			err = -errno;
		fn(p, err);
	}
}

void read_tree(const std::string &dir,
	       const std::function<void(const std::string &path, int err)> &fn)
{
	read_tree_at(dir, fn, 0);
}

int node::set(const std::string &file, const std::string &val) const
{
	return write_file(path(file), val);
}

int node::set(const std::string &file, unsigned long val) const
{
	return write_file(path(file), std::to_string(val));
}

int node::get(const std::string &file, std::string &val) const
{
	return read_file(path(file), val);
}

int node::get(const std::string &file, unsigned long &val) const
{
	return read_ulong(path(file), val);
}

double weighted_accesses(const std::vector<region> &regions,
			 unsigned long start, unsigned long end)
{
	double sum = 0, bytes = 0;

	for (const region &r : regions) {
		unsigned long lo = r.start > start ? r.start : start;
		unsigned long hi = r.end < end ? r.end : end;

		if (lo >= hi)
			continue;
		sum += static_cast<double>(r.nr_accesses) * (hi - lo);
		bytes += hi - lo;
	}
	return bytes > 0 ? sum / bytes : -1;
}

unsigned int peak_accesses(const std::vector<region> &regions,
			   unsigned long start, unsigned long end)
{
	unsigned int peak = 0;

	for (const region &r : regions)
		if (r.start < end && r.end > start && r.nr_accesses > peak)
			peak = r.nr_accesses;
	return peak;
}

int scheme::set_action(const std::string &action) const
{
	return set("action", action);
}

int scheme::set_access_pattern(const access_pattern &p) const
{
	const node ap(path("access_pattern"));
	const struct {
		const char *file;
		unsigned long val;
	} files[] = {
		{ "sz/min", p.sz_min },
		{ "sz/max", p.sz_max },
		{ "nr_accesses/min", p.nr_accesses_min },
		{ "nr_accesses/max", p.nr_accesses_max },
		{ "age/min", p.age_min },
		{ "age/max", p.age_max },
	};

	for (const auto &f : files) {
		int err = ap.set(f.file, f.val);

		if (err)
			return err;
	}
	return 0;
}

int scheme::set_quota_reset_interval_ms(unsigned long ms) const
{
	return set("quotas/reset_interval_ms", ms);
}

int scheme::set_quota_goals(const std::vector<quota_goal> &goals) const
{
	const node dir(path("quotas/goals"));
	int err = dir.set("nr_goals", goals.size());

	for (size_t i = 0; !err && i < goals.size(); i++) {
		const node g(dir.path(std::to_string(i)));
		const quota_goal &q = goals[i];

		err = g.set("target_metric", q.metric);
		if (!err)
			err = g.set("target_value", q.target_value);
		if (!err)
			err = g.set("current_value", q.current_value);
		if (!err)
			err = g.set("nid", std::to_string(q.nid));
	}
	return err;
}

int scheme::tried_regions(std::vector<region> &regions) const
{
	regions.clear();
	for (unsigned int i = 0;; i++) {
		const node r(path("tried_regions/" + std::to_string(i)));
		region reg;
		int err;

		if (!exists(r.dir()))
			return 0;
		err = r.get("start", reg.start);
		if (!err)
			err = r.get("end", reg.end);
		if (!err)
			err = r.get("nr_accesses", reg.nr_accesses);
		if (!err)
			err = r.get("age", reg.age);
		for (unsigned int p = 0;
		     !err && exists(r.path("probes/" + std::to_string(p)));
		     p++) {
			unsigned long hits;

			err = r.get("probes/" + std::to_string(p) + "/hits",
				    hits);
			reg.probe_hits.push_back(hits);
		}
		if (err)
			return err;
		regions.push_back(reg);
	}
}

int target::set_pid(pid_t pid) const
{
	return set("pid_target", static_cast<unsigned long>(pid));
}

int target::set_regions(const std::vector<range> &ranges) const
{
	const node regions(path("regions"));
	int err = regions.set("nr_regions", ranges.size());

	for (size_t i = 0; !err && i < ranges.size(); i++) {
		const node r(regions.path(std::to_string(i)));

		err = r.set("start", ranges[i].start);
		if (!err)
			err = r.set("end", ranges[i].end);
	}
	return err;
}

int context::set_operations(const std::string &ops) const
{
	return set("operations", ops);
}

int context::set_intervals(unsigned long sample_us, unsigned long aggr_us,
			   unsigned long update_us) const
{
	const node iv(path("monitoring_attrs/intervals"));
	int err = iv.set("sample_us", sample_us);

	if (!err)
		err = iv.set("aggr_us", aggr_us);
	if (!err)
		err = iv.set("update_us", update_us);
	return err;
}

int context::set_nr_regions(unsigned long min, unsigned long max) const
{
	const node nr(path("monitoring_attrs/nr_regions"));
	int err;

	/* Order the writes so that min <= max holds at every step. */
	err = nr.set("max", max);
	if (!err)
		err = nr.set("min", min);
	return err;
}

int context::set_nr_targets(unsigned int nr) const
{
	return set("targets/nr_targets", nr);
}

target context::get_target(unsigned int idx) const
{
	return target(path("targets/" + std::to_string(idx)));
}

int context::set_nr_schemes(unsigned int nr) const
{
	return set("schemes/nr_schemes", nr);
}

scheme context::get_scheme(unsigned int idx) const
{
	return scheme(path("schemes/" + std::to_string(idx)));
}

int context::set_addr_unit(unsigned long unit) const
{
	return set("addr_unit", unit);
}

int context::set_pause(bool pause) const
{
	return set("pause", pause ? "Y" : "N");
}

perf_event_attr report_sink_event()
{
	perf_event_attr a;

	a.type = perf_type_software;
	a.config = perf_count_sw_dummy;
	a.freq = false;
	a.sample_period = 1;
	return a;
}

bool is_report_sink(const perf_event_attr &a)
{
	return a.type == perf_type_software && a.config == perf_count_sw_dummy;
}

bool context::has_perf_events() const
{
	return exists(path(nr_perf_events_file));
}

int context::get_nr_perf_events(unsigned int &nr) const
{
	unsigned long val;
	int err = get(nr_perf_events_file, val);

	if (!err)
		nr = static_cast<unsigned int>(val);
	return err;
}

int context::set_nr_perf_events(unsigned int nr) const
{
	return set(nr_perf_events_file, nr);
}

bool context::has_report_sink() const
{
	const perf_event e = get_perf_event(0);
	perf_event_attr a;
	unsigned int nr;

	return !get_nr_perf_events(nr) && nr == 1 &&
	       !e.get("type", a.type) && !e.get("config", a.config) &&
	       is_report_sink(a);
}

int context::set_report_sink(bool on) const
{
	unsigned int nr;
	int err = get_nr_perf_events(nr);

	if (err)
		return err;
	if (on)
		return nr ? 0 : set_perf_events({ report_sink_event() });
	return has_report_sink() ? set_nr_perf_events(0) : 0;
}

perf_event context::get_perf_event(unsigned int idx) const
{
	return perf_event(path("monitoring_attrs/sample/perf_events/" +
			       std::to_string(idx)));
}

int context::set_perf_events(const std::vector<perf_event_attr> &events) const
{
	int err = set_nr_perf_events(static_cast<unsigned int>(events.size()));

	for (size_t i = 0; !err && i < events.size(); i++)
		err = get_perf_event(static_cast<unsigned int>(i)).set_attr(events[i]);
	return err;
}

int perf_event::set_attr(const perf_event_attr &a) const
{
	const std::pair<const char *, std::string> files[] = {
		{ "type", std::to_string(a.type) },
		{ "config", std::to_string(a.config) },
		{ "config1", std::to_string(a.config1) },
		{ "config2", std::to_string(a.config2) },
		{ "sample_phys_addr", a.sample_phys_addr ? "Y" : "N" },
		{ "exclude_kernel", a.exclude_kernel ? "Y" : "N" },
		{ "exclude_hv", a.exclude_hv ? "Y" : "N" },
		{ "freq", a.freq ? "Y" : "N" },
		{ "sample_freq", std::to_string(a.sample_freq) },
		{ "sample_period", std::to_string(a.sample_period) },
		{ "precise_ip", std::to_string(a.precise_ip) },
	};

	for (const auto &f : files) {
		int err = set(f.first, f.second);

		if (err)
			return err;
	}
	return 0;
}

int perf_event::get_stats(perf_event_stats &st) const
{
	int err = get("stats/nr_accepted", st.nr_accepted);

	if (!err)
		err = get("stats/nr_invalid", st.nr_invalid);
	if (!err)
		err = get("stats/nr_dropped", st.nr_dropped);
	if (!err)
		err = get("stats/nr_cpus", st.nr_cpus);
	/*
	 * Newer than the others: a kernel without them reads as 0, so that
	 * a test's verdict on an older series shows what it was written for
	 * (damon_perf_events' tree_shape requires the files).
	 */
	for (auto f : { std::make_pair("stats/nr_foreign", &st.nr_foreign),
			std::make_pair("stats/nr_errored", &st.nr_errored) }) {
		int e = err ? 0 : get(f.first, *f.second);

		if (e == -ENOENT)
			*f.second = 0;
		else if (e)
			err = e;
	}
	return err;
}

int kdamond::set_nr_contexts(unsigned int nr) const
{
	return set("contexts/nr_contexts", nr);
}

context kdamond::get_context(unsigned int idx) const
{
	return context(path("contexts/" + std::to_string(idx)));
}

int kdamond::state(const std::string &cmd) const
{
	return set("state", cmd);
}

bool kdamond::running() const
{
	std::string s;

	return !get("state", s) && s == "on";
}

pid_t kdamond::pid() const
{
	std::string s;
	long pid;

	if (get("pid", s))
		return -1;
	pid = std::strtol(s.c_str(), nullptr, 10);
	return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

/* One 'stat' scheme for @pattern, so that tried regions can be read. */
static int add_stat_scheme(const context &ctx, const access_pattern &pattern,
			   unsigned long apply_interval_us)
{
	const scheme sch = ctx.get_scheme(0);
	int err = ctx.set_nr_schemes(1);

	if (!err)
		err = sch.set_action("stat");
	if (!err)
		err = sch.set_access_pattern(pattern);
	if (!err)
		err = sch.set("apply_interval_us", apply_interval_us);
	return err;
}

int setup_vaddr_monitor(const session &s, const vaddr_monitor &m)
{
	const kdamond kd = s.get_kdamond(0);
	const context ctx = kd.get_context(0);
	int err;

	err = s.set_nr_kdamonds(1);
	if (!err)
		err = kd.set_nr_contexts(1);
	if (!err)
		err = ctx.set_operations("vaddr");
	if (!err)
		err = ctx.set_intervals(m.sample_us, m.aggr_us, m.update_us);
	if (!err)
		err = ctx.set_nr_regions(m.min_nr_regions, m.max_nr_regions);
	if (!err)
		err = ctx.set_nr_targets(1);
	if (!err)
		err = ctx.get_target(0).set_pid(m.pid);
	if (!err)
		err = add_stat_scheme(ctx, m.pattern, m.apply_interval_us);
	return err;
}

int configure_paddr_monitor(const kdamond &kd, const paddr_monitor &m)
{
	const context ctx = kd.get_context(0);
	int err;

	err = kd.set_nr_contexts(1);
	if (!err)
		err = ctx.set_operations("paddr");
	if (!err)
		err = ctx.set_addr_unit(m.addr_unit);
	if (!err)
		err = ctx.set_intervals(m.sample_us, m.aggr_us, m.update_us);
	if (!err)
		err = ctx.set_nr_regions(m.min_nr_regions, m.max_nr_regions);
	if (!err)
		err = ctx.set_nr_targets(1);
	if (!err)
		err = ctx.get_target(0).set_regions({ { m.start, m.end } });
	if (!err)
		err = add_stat_scheme(ctx, m.pattern, m.apply_interval_us);
	if (!err && m.report_sink)
		err = ctx.set_report_sink(true);
	return err;
}

int setup_paddr_monitor(const session &s, const paddr_monitor &m)
{
	int err = s.set_nr_kdamonds(1);

	return err ? err : configure_paddr_monitor(s.get_kdamond(0), m);
}

bool access_reports_supported(const session &s)
{
	const kdamond kd = s.get_kdamond(0);
	bool ret;

	if (s.set_nr_kdamonds(1) || kd.set_nr_contexts(1)) {
		s.reset();
		return false;
	}
	ret = kd.get_context(0).has_perf_events();
	s.reset();
	return ret;
}

session::session()
{
	reset();
}

session::~session()
{
	reset();
}

int session::set_nr_kdamonds(unsigned int nr) const
{
	return write_file(kdamonds_dir + "/nr_kdamonds", std::to_string(nr));
}

kdamond session::get_kdamond(unsigned int idx) const
{
	return kdamond(kdamonds_dir + "/" + std::to_string(idx));
}

int session::reset() const
{
	unsigned long nr = 0;
	int err, ret = 0;

	err = read_ulong(kdamonds_dir + "/nr_kdamonds", nr);
	if (err)
		return err;
	for (unsigned long i = 0; i < nr; i++) {
		const kdamond kd = get_kdamond(static_cast<unsigned int>(i));

		if (kd.running()) {
			err = kd.stop();
			if (err && !ret)
				ret = err;
		}
	}
	err = set_nr_kdamonds(0);
	return ret ? ret : err;
}

} /* namespace damon_sysfs */
