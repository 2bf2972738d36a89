// SPDX-License-Identifier: GPL-2.0
/*
 * test_damon_bench - side-by-side micro-benchmarks of DAMON's access report path
 *
 * Measures, in one boot and interleaved, what making an access report costs
 * a sampler and what attributing it to a region costs the kdamond, next to
 * the alternatives the series is compared with.  Test only: it makes
 * reports with damon_report_access() and takes no part in monitoring.
 *
 * Producer cost ("producer" command)
 *	Rounds of IPIs to one CPU: each round runs, in hard-IRQ context with
 *	interrupts off (smp_call_function_single()), one timed batch of every
 *	method below, in an order that rotates from round to round:
 *
 *	empty		the timing loop alone
 *	percpu_inc	this_cpu_inc() of a per-CPU counter
 *	report_access	damon_report_access() of the kernel under test,
 *			called through a pointer (it is not exported, see
 *			damon_report_syms.h): one indirect call more than
 *			the built-in sampler's direct call
 *	tracepoint	trace_damon_bench_access() of this module, which user
 *			space enables through tracefs for the run
 *	mutex_array	a model of SJ's original damon_report_access(): a fixed
 *			array of 1000 reports behind mutex_trylock(), dropped
 *			all at once when it wraps, report_jiffies stamped
 *	ring256		a model of Ravi's v2 per-CPU ring push: 256 entries,
 *			head, tail and entries on their own cache lines, a
 *			local_t nesting guard, smp_wmb() before the head store,
 *			a per-CPU pending flag, and an overflow tracepoint on
 *			drops (not enabled)
 *	rcu_deref_sched	rcu_dereference_sched() of a pointer, as
 *			damon_report_access() does for its ring: with
 *			CONFIG_PROVE_RCU, the lockdep check a debug kernel adds
 *			to every report
 *	report_copy	a copy of damon_report_access() and its ring push
 *			(mm/damon/report.c), its own 1024-entry vmalloc'd rings
 *			and counters, that reads the ring pointer with
 *			rcu_dereference_raw(): what rcu_dereference_sched()
 *			compiles to without CONFIG_PROVE_RCU, so an estimate of
 *			damon_report_access() in a production kernel
 *
 *	Every method but percpu_inc is a call per report, and all take the
 *	same 40-byte reports (struct damon_access_report) from one array.  The
 *	writer drains the rings of ring256 and report_copy between rounds
 *	(from its own CPU);
 *	damon_report_access()'s rings are drained by the kdamond of the context
 *	that owns them, if user space started one, and before each round the
 *	writer waits until the rings have room for the round, so that the
 *	timed pushes take the queueing path and not the ring-full one.
 *	Without an owner, damon_report_access() takes its no-owner path, and
 *	so does report_copy with owned=0.  Rounds that the target CPU ran
 *	from its idle loop (a polling idle CPU gets no IPI) instead of a hard
 *	IRQ are not recorded, and more rounds are made, up to twice the number
 *	asked for plus 1000.
 *
 * Attribution cost ("attribution" command)
 *	@regions regions of 1 GiB each, physical addresses [0, regions GiB),
 *	allocated one by one and linked in address order like a paddr
 *	target's, and 4096 reports at random addresses in them:
 *
 *	bsearch		attributing one report with a copy of mm/damon/report.c's
 *			damon_report_attribute(), damon_report_paddr_range() and
 *			damon_report_mark() (static there, so copied here
 *			faithfully: same snapshot layout, same search) against a
 *			snapshot taken as damon_report_take_snapshot() does
 *	snapshot	taking that snapshot, once per sampling interval
 *	linear		the drain of SJ's original: walking the region list of
 *			the target until the region holding the report
 *	pp_record	Mita's RFC v1 per-page histogram: one xa_load() and
 *			one GFP_KERNEL xa_store() of the page's count per report
 *	pp_walk		its access check: xa_load() of every page of one 1 GiB
 *			region (262144 lookups), in chunks of 4096 pages
 *	bsearch_pp	bsearch again, one batch after each chunk of the walks,
 *			for ratios that do not depend on when the (virtual)
 *			CPU was fast
 *	pp_walk_xas	the same walk with one RCU read section and xas_load(),
 *			a lower bound of the per-page method's cost
 *	pp_destroy	xa_destroy() of the histogram of 4096 reports
 *	pp_interval	with direct=1: one whole interval measured end to end
 *			(record 4096 reports, walk every region, destroy)
 *
 *	bsearch and linear run interleaved, in timed batches with preemption
 *	disabled; the per-page parts may sleep and are timed with ktime.
 *
 * debugfs, /sys/kernel/debug/test_damon_bench/
 *	run (write)
 *		One line: a command and key=value words.  The write returns
 *		when the run is over.
 *
 *		producer cpu=<cpu> rounds=<n> batch=<n> owned=<0|1>
 *			cpu: where the IPIs go (not the writer's CPU);
 *			batch: calls per timed batch (1..512); owned:
 *			whether report_copy's rings are there (default 1)
 *		attribution regions=<n> rounds=<n> batch=<n>
 *			    linear_batch=<n> walks=<n> intervals=<n>
 *			    direct=<0|1>
 *			rounds: timed batches of bsearch and of linear, of
 *			batch and linear_batch reports; walks: pp_walk and
 *			pp_walk_xas samples; intervals: histograms of 4096
 *			reports recorded (pp_record batches of batch reports,
 *			one pp_destroy each) and snapshots taken
 *
 *	samples (read)
 *		One line per series of the last run: its name, the clock
 *		("tsc" or "ktime"), the operations each sample timed, the
 *		number of samples, then each sample's duration in picoseconds.
 *	info (read)
 *		"key value" lines about the last run: tsc_khz, the rounds that
 *		did not run in hard-IRQ context with interrupts off, the
 *		deltas of the report counters of all CPUs over it, drops of the
 *		models, whether the tracepoint was enabled, and the like.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/damon.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include <asm/local.h>

#include "damon_report_syms.h"
#include "damon_test_clock.h"

#define CREATE_TRACE_POINTS
#include "damon_bench_trace.h"

#define DBENCH_LINE_MAX		256
#define DBENCH_MAX_SERIES	16
#define DBENCH_MAX_INFO		32
#define DBENCH_MAX_ROUNDS	100000U
#define DBENCH_MAX_PROD_BATCH	512U
#define DBENCH_MAX_ATTR_BATCH	4096U
#define DBENCH_MAX_REGIONS	100000U
#define DBENCH_MAX_WALKS	1000U
#define DBENCH_MAX_INTERVALS	1000U

/* Reports the producers cycle through (a power of two). */
#define DBENCH_NR_PROD_REPORTS	64
/* Reports per sampling interval for the attribution benchmarks. */
#define DBENCH_NR_ATTR_REPORTS	4096
#define DBENCH_REGION_SHIFT	30

/* Entries of damon_report_access()'s per-CPU rings (mm/damon/report.c). */
#define DBENCH_REPORT_RING_ENTRIES	1024
/* How long a producer round waits for the kdamond to drain the rings. */
#define DBENCH_DRAIN_TIMEOUT_MS	5000

/* One series of timed samples. */
struct dbench_series {
	char name[32];
	const char *clock;
	/* operations each sample timed */
	unsigned int per;
	unsigned int nr;
	unsigned int cap;
	/* duration of each sample, in picoseconds */
	u64 *ps;
};

struct dbench_info {
	const char *key;
	u64 val;
};

/* Serializes runs and readers of their results. */
static DEFINE_MUTEX(dbench_lock);
static struct dbench_series dbench_series[DBENCH_MAX_SERIES];
static unsigned int dbench_nr_series;
static struct dbench_info dbench_info[DBENCH_MAX_INFO];
static unsigned int dbench_nr_info;
static struct dentry *dbench_dir;

static DEFINE_PER_CPU(unsigned long, dbench_counter);
static struct damon_access_report dbench_prod_reports[DBENCH_NR_PROD_REPORTS];

/* ---- results ---- */

static void dbench_reset_results(void)
{
	unsigned int i;

	for (i = 0; i < dbench_nr_series; i++)
		kvfree(dbench_series[i].ps);
	memset(dbench_series, 0, sizeof(dbench_series));
	dbench_nr_series = 0;
	dbench_nr_info = 0;
}

static struct dbench_series *dbench_new_series(const char *name,
					       const char *clock,
					       unsigned int per,
					       unsigned int cap)
{
	struct dbench_series *s;

	if (dbench_nr_series == DBENCH_MAX_SERIES)
		return NULL;
	s = &dbench_series[dbench_nr_series];
	s->ps = kvcalloc(max(cap, 1U), sizeof(*s->ps), GFP_KERNEL);
	if (!s->ps)
		return NULL;
	strscpy(s->name, name);
	s->clock = clock;
	s->per = per;
	s->cap = cap;
	s->nr = 0;
	dbench_nr_series++;
	return s;
}

static void dbench_add(struct dbench_series *s, u64 ps)
{
	if (s->nr < s->cap)
		s->ps[s->nr++] = ps;
}

static void dbench_set_info(const char *key, u64 val)
{
	if (dbench_nr_info < DBENCH_MAX_INFO)
		dbench_info[dbench_nr_info++] = (struct dbench_info){ key, val };
}

/* ---- producers ---- */

/* A model of SJ's original damon_report_access(). */
#define DBENCH_MUTEX_CAP		1000

static struct damon_access_report dbench_mutex_reports[DBENCH_MUTEX_CAP];
static unsigned int dbench_mutex_nr;
static unsigned long dbench_mutex_dropped;
/* Only ever trylocked, from the benchmark's IPIs. */
static DEFINE_MUTEX(dbench_mutex_lock);

static noinline bool dbench_mutex_report(const struct damon_access_report *report)
{
	struct damon_access_report *entry;

	if (!mutex_trylock(&dbench_mutex_lock)) {
		dbench_mutex_dropped++;
		return false;
	}
	/* no room: drop every report queued so far */
	if (dbench_mutex_nr == DBENCH_MUTEX_CAP)
		dbench_mutex_nr = 0;
	entry = &dbench_mutex_reports[dbench_mutex_nr++];
	*entry = *report;
	/* the report_jiffies of the original */
	entry->epoch = (unsigned int)jiffies;
	mutex_unlock(&dbench_mutex_lock);
	return true;
}

/* A model of the per-CPU ring push of Ravi's v2. */
#define DBENCH_RING256_ENTRIES	256

struct dbench_ring256_ring {
	unsigned long head ____cacheline_aligned_in_smp;
	unsigned long tail ____cacheline_aligned_in_smp;
	struct damon_access_report entries[DBENCH_RING256_ENTRIES]
		____cacheline_aligned_in_smp;
};

/* 10 KiB a CPU, beyond the static per-CPU area modules may use */
static struct dbench_ring256_ring __percpu *dbench_ring256_rings;
static DEFINE_PER_CPU(unsigned long, dbench_ring256_pending);
static DEFINE_PER_CPU(local_t, dbench_ring256_busy);
static DEFINE_PER_CPU(unsigned long, dbench_ring256_dropped);

static noinline bool dbench_ring256_push(const struct damon_access_report *report)
{
	local_t *busy = this_cpu_ptr(&dbench_ring256_busy);
	struct dbench_ring256_ring *ring;
	unsigned long head, next;
	bool queued = false;

	if (local_inc_return(busy) != 1)
		goto drop;
	ring = this_cpu_ptr(dbench_ring256_rings);
	head = ring->head;
	next = (head + 1) & (DBENCH_RING256_ENTRIES - 1);
	if (next == READ_ONCE(ring->tail))
		goto drop;
	ring->entries[head] = *report;
	ring->entries[head].epoch = (unsigned int)jiffies;
	/* pairs with smp_rmb() in dbench_ring256_drain() */
	smp_wmb();
	WRITE_ONCE(ring->head, next);
	this_cpu_write(dbench_ring256_pending, 1);
	queued = true;
	goto out;
drop:
	this_cpu_inc(dbench_ring256_dropped);
	trace_damon_bench_ring_overflow(smp_processor_id());
out:
	local_dec(busy);
	return queued;
}

static unsigned long dbench_ring256_sink;

/* The consumer of the model rings: the writer, between rounds. */
static void dbench_ring256_drain(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dbench_ring256_ring *ring = per_cpu_ptr(dbench_ring256_rings, cpu);
		unsigned long tail = ring->tail, head = READ_ONCE(ring->head);

		/* pairs with smp_wmb() in dbench_ring256_push() */
		smp_rmb();
		for (; tail != head; tail = (tail + 1) & (DBENCH_RING256_ENTRIES - 1))
			dbench_ring256_sink += ring->entries[tail].paddr;
		/* the entries are read before the producer may reuse them */
		smp_mb();
		WRITE_ONCE(ring->tail, tail);
		WRITE_ONCE(*per_cpu_ptr(&dbench_ring256_pending, cpu), 0);
	}
}

enum dbench_prod_method {
	DBENCH_EMPTY,
	DBENCH_PERCPU_INC,
	DBENCH_REPORT_ACCESS,
	DBENCH_TRACEPOINT,
	DBENCH_MUTEX_ARRAY,
	DBENCH_RING256,
	DBENCH_RCU_DEREF,
	DBENCH_REPORT_COPY,
	NR_DBENCH_PROD,
};

static const char * const dbench_prod_names[NR_DBENCH_PROD] = {
	[DBENCH_EMPTY]		= "empty",
	[DBENCH_PERCPU_INC]	= "percpu_inc",
	[DBENCH_REPORT_ACCESS]	= "report_access",
	[DBENCH_TRACEPOINT]	= "tracepoint",
	[DBENCH_MUTEX_ARRAY]	= "mutex_array",
	[DBENCH_RING256]	= "ring256",
	[DBENCH_RCU_DEREF]	= "rcu_deref_sched",
	[DBENCH_REPORT_COPY]	= "report_copy",
};

#define dbench_report(i) (&dbench_prod_reports[(i) & (DBENCH_NR_PROD_REPORTS - 1)])

static noinline u64 dbench_batch_empty(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		barrier();
	return damon_test_clock() - t0;
}

static noinline u64 dbench_batch_percpu_inc(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		this_cpu_inc(dbench_counter);
	return damon_test_clock() - t0;
}

static noinline u64 dbench_batch_report_access(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		damon_report_access_fn(dbench_report(i));
	return damon_test_clock() - t0;
}

static noinline u64 dbench_batch_tracepoint(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		trace_damon_bench_access(dbench_report(i));
	return damon_test_clock() - t0;
}

static noinline u64 dbench_batch_mutex_array(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		dbench_mutex_report(dbench_report(i));
	return damon_test_clock() - t0;
}

static noinline u64 dbench_batch_ring256(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		dbench_ring256_push(dbench_report(i));
	return damon_test_clock() - t0;
}

static struct damon_access_report __rcu *dbench_rcu_ptr;
static unsigned long dbench_rcu_sink;

static noinline u64 dbench_batch_rcu_deref(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		dbench_rcu_sink += (unsigned long)rcu_dereference_sched(dbench_rcu_ptr);
	return damon_test_clock() - t0;
}

/*
 * A copy of mm/damon/report.c's damon_report_access() and
 * damon_report_ring_push(), with dbench_copy_ for damon_report_, except
 * that the ring pointer is read with rcu_dereference_raw(); the static
 * check bench_copy_in_step (ci/bench-copy-check.py) fails when it no
 * longer matches report.c.
 */
/* the size of the rings of perf's default frequency and sampling interval */
#define DBENCH_COPY_RING_ENTRIES	1024

struct dbench_copy_ring {
	unsigned long head ____cacheline_aligned_in_smp;
	unsigned long nr_entries;
	unsigned long tail ____cacheline_aligned_in_smp;
	struct damon_access_report entries[] ____cacheline_aligned_in_smp;
};

struct dbench_copy_cpu {
	struct dbench_copy_ring __rcu *ring;
	struct dbench_copy_ring *consumer_ring;
	int busy;
	local_t nr_dropped_full;
	local_t nr_dropped_nested;
	local_t nr_dropped_no_owner;
	unsigned long nr_drained;
	unsigned long nr_attributed;
	unsigned long nr_unmatched;
	unsigned long nr_stale;
};

static DEFINE_PER_CPU(struct dbench_copy_cpu, dbench_copy_cpus);
static unsigned int dbench_copy_epoch;

static __always_inline bool
dbench_copy_ring_push(struct dbench_copy_ring *ring,
		      const struct damon_access_report *report,
		      unsigned int epoch)
{
	unsigned long head = ring->head;
	/* pairs with smp_store_release() in dbench_copy_drain() */
	unsigned long tail = smp_load_acquire(&ring->tail);
	struct damon_access_report *entry;

	if (head - tail >= ring->nr_entries)
		return false;
	entry = &ring->entries[head & (ring->nr_entries - 1)];
	*entry = *report;
	entry->epoch = epoch;
	/* pairs with smp_load_acquire() in dbench_copy_drain() */
	smp_store_release(&ring->head, head + 1);
	return true;
}

static noinline bool dbench_report_copy(struct damon_access_report *report)
{
	struct dbench_copy_cpu *rc = this_cpu_ptr(&dbench_copy_cpus);
	struct dbench_copy_ring *ring;
	unsigned int epoch;
	bool queued = false;

	if (READ_ONCE(rc->busy)) {
		local_inc(&rc->nr_dropped_nested);
		return false;
	}
	WRITE_ONCE(rc->busy, 1);
	barrier();

	ring = rcu_dereference_raw(rc->ring);
	epoch = READ_ONCE(dbench_copy_epoch);
	if (!ring)
		local_inc(&rc->nr_dropped_no_owner);
	else if (dbench_copy_ring_push(ring, report, epoch))
		queued = true;
	else
		local_inc(&rc->nr_dropped_full);

	barrier();
	WRITE_ONCE(rc->busy, 0);
	return queued;
}

/* End of the copy of report.c. */

/* The consumer of the copy's rings: the writer, between rounds. */
static void dbench_copy_drain(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dbench_copy_cpu *rc = per_cpu_ptr(&dbench_copy_cpus, cpu);
		struct dbench_copy_ring *ring = rc->consumer_ring;
		unsigned long head;

		if (!ring)
			continue;
		/* pairs with smp_store_release() in dbench_copy_ring_push() */
		head = smp_load_acquire(&ring->head);
		rc->nr_drained += head - ring->tail;
		/* pairs with smp_load_acquire() in dbench_copy_ring_push() */
		smp_store_release(&ring->tail, head);
	}
}

/* Publish the copy's rings (@owned) or take them away. */
static void dbench_copy_set_owned(bool owned)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dbench_copy_cpu *rc = per_cpu_ptr(&dbench_copy_cpus, cpu);

		rcu_assign_pointer(rc->ring, owned ? rc->consumer_ring : NULL);
	}
	synchronize_rcu();
}

static unsigned long dbench_copy_dropped(void)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dbench_copy_cpu *rc = per_cpu_ptr(&dbench_copy_cpus, cpu);

		sum += local_read(&rc->nr_dropped_full) +
		       local_read(&rc->nr_dropped_nested);
	}
	return sum;
}

static void dbench_copy_free_rings(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dbench_copy_cpu *rc = per_cpu_ptr(&dbench_copy_cpus, cpu);

		vfree(rc->consumer_ring);
		rc->consumer_ring = NULL;
	}
}

static int dbench_copy_alloc_rings(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dbench_copy_cpu *rc = per_cpu_ptr(&dbench_copy_cpus, cpu);

		rc->consumer_ring = vzalloc_node(struct_size(rc->consumer_ring,
							     entries,
							     DBENCH_COPY_RING_ENTRIES),
						 cpu_to_node(cpu));
		if (!rc->consumer_ring) {
			dbench_copy_free_rings();
			return -ENOMEM;
		}
		rc->consumer_ring->nr_entries = DBENCH_COPY_RING_ENTRIES;
	}
	return 0;
}

static noinline u64 dbench_batch_report_copy(unsigned int n)
{
	u64 t0 = damon_test_clock();
	unsigned int i;

	for (i = 0; i < n; i++)
		dbench_report_copy(dbench_report(i));
	return damon_test_clock() - t0;
}

static u64 (* const dbench_prod_batch[NR_DBENCH_PROD])(unsigned int) = {
	[DBENCH_EMPTY]		= dbench_batch_empty,
	[DBENCH_PERCPU_INC]	= dbench_batch_percpu_inc,
	[DBENCH_REPORT_ACCESS]	= dbench_batch_report_access,
	[DBENCH_TRACEPOINT]	= dbench_batch_tracepoint,
	[DBENCH_MUTEX_ARRAY]	= dbench_batch_mutex_array,
	[DBENCH_RING256]	= dbench_batch_ring256,
	[DBENCH_RCU_DEREF]	= dbench_batch_rcu_deref,
	[DBENCH_REPORT_COPY]	= dbench_batch_report_copy,
};

struct dbench_prod_run {
	unsigned int batch;
	unsigned int round;
	/* the round ran in hard-IRQ context with irqs off */
	bool hardirq;
	u64 ticks[NR_DBENCH_PROD];
};

/* One round, on the benchmark CPU, from its IPI handler. */
static void dbench_prod_round(void *arg)
{
	struct dbench_prod_run *run = arg;
	unsigned int k;

	run->hardirq = in_hardirq() && irqs_disabled();
	for (k = 0; k < NR_DBENCH_PROD; k++) {
		unsigned int m = (run->round + k) % NR_DBENCH_PROD;

		run->ticks[m] = dbench_prod_batch[m](run->batch);
	}
}

/* Reports on damon_report_access()'s rings, not yet drained. */
static unsigned long dbench_reports_queued(const struct damon_report_stats *st)
{
	return st->pushed - st->dropped_full - st->dropped_nested -
		st->dropped_no_owner - st->drained;
}

/* Wait until the rings have room for @room more reports. */
static int dbench_wait_room(unsigned long room, struct damon_report_stats *st)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(DBENCH_DRAIN_TIMEOUT_MS);

	for (;;) {
		damon_report_sum_stats_fn(st);
		if (dbench_reports_queued(st) + room <= DBENCH_REPORT_RING_ENTRIES)
			return 0;
		if (fatal_signal_pending(current))
			return -EINTR;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		usleep_range(200, 500);
	}
}

static void dbench_init_prod_reports(void)
{
	unsigned int i;

	for (i = 0; i < DBENCH_NR_PROD_REPORTS; i++) {
		struct damon_access_report *r = &dbench_prod_reports[i];

		memset(r, 0, sizeof(*r));
		/* in the 256..320 MiB range the tests' paddr contexts watch */
		r->paddr = (256ULL << 20) + (u64)i * 7 * PAGE_SIZE + 64 * (i % 8);
		r->size = 8;
		r->flags = DAMON_ACCESS_REPORT_PADDR;
	}
}

struct dbench_prod_args {
	unsigned int cpu;
	unsigned int rounds;
	unsigned int batch;
	unsigned int owned;
};

/* The drop counters of the producer benchmark, read before and after. */
struct dbench_prod_counts {
	struct damon_report_stats st;
	unsigned long mutex_dropped;
	unsigned long ring256_dropped;
	unsigned long copy_dropped;
};

/*
 * The counters of all CPUs.  The kernel adds pushed up from the counters
 * and the rings, read one by one, while the kdamond of an owning context
 * drains: a reading that raced a drain is off by the reports drained, so
 * read until two readings in a row agree on pushed.
 */
static void dbench_read_stats(struct damon_report_stats *st)
{
	struct damon_report_stats prev;
	int i;

	damon_report_sum_stats_fn(st);
	for (i = 0; i < 1000; i++) {
		prev = *st;
		damon_report_sum_stats_fn(st);
		if (st->pushed == prev.pushed)
			break;
	}
}

static void dbench_prod_read_counts(struct dbench_prod_counts *c)
{
	int cpu;

	dbench_read_stats(&c->st);
	c->mutex_dropped = dbench_mutex_dropped;
	c->ring256_dropped = 0;
	for_each_possible_cpu(cpu)
		c->ring256_dropped += per_cpu(dbench_ring256_dropped, cpu);
	c->copy_dropped = dbench_copy_dropped();
}

static void dbench_prod_set_counts_info(const struct dbench_prod_counts *c0,
					const struct dbench_prod_counts *c1)
{
	dbench_set_info("report_pushed", c1->st.pushed - c0->st.pushed);
	dbench_set_info("report_dropped_full",
			c1->st.dropped_full - c0->st.dropped_full);
	dbench_set_info("report_dropped_nested",
			c1->st.dropped_nested - c0->st.dropped_nested);
	dbench_set_info("report_dropped_no_owner",
			c1->st.dropped_no_owner - c0->st.dropped_no_owner);
	dbench_set_info("mutex_dropped", c1->mutex_dropped - c0->mutex_dropped);
	dbench_set_info("ring256_dropped",
			c1->ring256_dropped - c0->ring256_dropped);
	dbench_set_info("copy_dropped", c1->copy_dropped - c0->copy_dropped);
}

static int dbench_run_producer(const struct dbench_prod_args *a)
{
	struct dbench_series *series[NR_DBENCH_PROD];
	struct damon_report_stats before, after;
	struct dbench_prod_counts c0, c1;
	struct dbench_prod_run run = { .batch = a->batch };
	unsigned int full_rounds = 0, not_hardirq = 0, done = 0, m;
	const unsigned int max_attempts = 2 * a->rounds + 1000;
	const char *clock = damon_test_clock_name();
	bool tp_enabled = trace_damon_bench_access_enabled();
	int err = 0;

	if (!cpu_online(a->cpu))
		return -EINVAL;
	for (m = 0; m < NR_DBENCH_PROD; m++) {
		series[m] = dbench_new_series(dbench_prod_names[m], clock,
					      a->batch, a->rounds);
		if (!series[m])
			return -ENOMEM;
	}
	dbench_init_prod_reports();
	dbench_ring256_drain();
	dbench_copy_set_owned(a->owned);
	dbench_copy_drain();
	dbench_prod_read_counts(&c0);

	for (run.round = 0; done < a->rounds && run.round < max_attempts;
	     run.round++) {
		err = dbench_wait_room(a->batch, &before);
		if (err)
			break;
		err = smp_call_function_single(a->cpu, dbench_prod_round, &run, 1);
		if (err)
			break;
		damon_report_sum_stats_fn(&after);
		dbench_ring256_drain();
		dbench_copy_drain();
		if (!run.hardirq) {
			not_hardirq++;
			continue;
		}
		done++;
		for (m = 0; m < NR_DBENCH_PROD; m++) {
			/* a push that found the ring full is not the one timed */
			if (m == DBENCH_REPORT_ACCESS &&
			    after.dropped_full != before.dropped_full) {
				full_rounds++;
				continue;
			}
			dbench_add(series[m], damon_test_clock_to_ps(run.ticks[m]));
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}

	dbench_prod_read_counts(&c1);
	dbench_copy_set_owned(false);
	dbench_set_info("tsc_khz", damon_test_tsc_khz());
	dbench_set_info("rounds", done);
	dbench_set_info("attempts", run.round);
	dbench_set_info("batch", a->batch);
	dbench_set_info("cpu", a->cpu);
	dbench_set_info("not_hardirq_rounds", not_hardirq);
	dbench_set_info("report_full_rounds", full_rounds);
	dbench_set_info("tracepoint_enabled", tp_enabled);
	dbench_prod_set_counts_info(&c0, &c1);
	return err;
}

/* ---- attribution ---- */

/* A region of the benchmark's target, with the flag of SJ's linear drain. */
struct dbench_region {
	struct damon_region r;
	bool reported;
};

static struct kmem_cache *dbench_region_cache;
/* A paddr context with one target, which only the benchmark uses. */
static struct damon_ctx dbench_ctx;
static struct damon_target dbench_target;

/*
 * What follows down to dbench_report_attribute() is a copy of
 * mm/damon/report.c's attribution (its functions are static), with
 * dbench_report_ for damon_report_; the static check bench_copy_in_step
 * (ci/bench-copy-check.py) fails when it no longer matches report.c,
 * except where that check lists why the copy differs.
 */
struct dbench_report_target {
	struct damon_target *target;
	struct mm_struct *mm;
	struct damon_region **regions;
	unsigned int nr_regions;
	unsigned int first;
};

struct dbench_report_snapshot {
	struct dbench_report_target *targets;
	unsigned int nr_targets;
	unsigned int max_targets;
	struct damon_region **regions;
	u32 *sources;
	unsigned int max_regions;
};

static struct dbench_report_snapshot dbench_snapshot;

static void dbench_report_free_snapshot(struct dbench_report_snapshot *snap)
{
	kvfree(snap->targets);
	kvfree(snap->regions);
	kvfree(snap->sources);
	memset(snap, 0, sizeof(*snap));
}

static int dbench_report_reserve_snapshot(struct dbench_report_snapshot *snap,
					  unsigned int nr_targets,
					  unsigned int nr_regions)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NOWARN;

	if (nr_targets > snap->max_targets) {
		kvfree(snap->targets);
		snap->max_targets = 0;
		snap->targets = kvmalloc_array(nr_targets,
					       sizeof(*snap->targets), gfp);
		if (!snap->targets)
			return -ENOMEM;
		snap->max_targets = nr_targets;
	}
	if (nr_regions > snap->max_regions) {
		kvfree(snap->regions);
		kvfree(snap->sources);
		snap->max_regions = 0;
		snap->regions = kvmalloc_array(nr_regions,
					       sizeof(*snap->regions), gfp);
		snap->sources = kvmalloc_array(nr_regions,
					       sizeof(*snap->sources), gfp);
		if (!snap->regions || !snap->sources)
			return -ENOMEM;
		snap->max_regions = nr_regions;
	}
	return 0;
}

static int dbench_report_take_snapshot(struct damon_ctx *ctx,
				       struct dbench_report_snapshot *snap)
{
	struct damon_target *t;
	struct damon_region *r;
	unsigned int nr_targets = 0, nr_regions = 0;
	int err;

	damon_for_each_target(t, ctx) {
		nr_targets++;
		nr_regions += t->nr_regions;
	}
	snap->nr_targets = 0;
	err = dbench_report_reserve_snapshot(snap, nr_targets, nr_regions);
	if (err)
		return err;

	nr_regions = 0;
	damon_for_each_target(t, ctx) {
		struct dbench_report_target *rt = &snap->targets[snap->nr_targets++];

		rt->target = t;
		/* paddr: no address space (report.c looks it up for vaddr) */
		rt->mm = NULL;
		rt->regions = &snap->regions[nr_regions];
		rt->first = nr_regions;
		rt->nr_regions = 0;
		damon_for_each_region(r, t)
			rt->regions[rt->nr_regions++] = r;
		nr_regions += rt->nr_regions;
	}
	if (nr_regions)
		memset(snap->sources, 0, nr_regions * sizeof(*snap->sources));
	return 0;
}

/* damon_region_add_reported() of mm/damon/report.h */
static void dbench_region_add_reported(struct damon_region *r,
				       unsigned long start, unsigned long end)
{
	if (start >= end)
		return;
	if (r->reported.start >= r->reported.end) {
		r->reported.start = start;
		r->reported.end = end;
		return;
	}
	r->reported.start = min(r->reported.start, start);
	r->reported.end = max(r->reported.end, end);
}

static bool dbench_report_mark(struct dbench_report_snapshot *snap,
			       struct dbench_report_target *rt,
			       unsigned long start, unsigned long last,
			       u32 source)
{
	unsigned int lo = 0, hi = rt->nr_regions;
	bool marked = false;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (rt->regions[mid]->ar.end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rt->nr_regions && rt->regions[lo]->ar.start <= last; lo++) {
		struct damon_region *r = rt->regions[lo];

		snap->sources[rt->first + lo] |= source;
		dbench_region_add_reported(r, max(start, r->ar.start),
					   min(last, r->ar.end - 1) + 1);
		marked = true;
	}
	return marked;
}

static bool dbench_report_paddr_range(const struct damon_access_report *report,
				      unsigned long addr_unit,
				      unsigned long *start, unsigned long *last)
{
	u64 first = report->paddr;
	u64 end = first + max(report->size, 1U) - 1;

	if (end < first)
		end = U64_MAX;
	first = div64_ul(first, addr_unit);
	end = div64_ul(end, addr_unit);
	if (first > ULONG_MAX)
		return false;
	*start = first;
	*last = min_t(u64, end, ULONG_MAX);
	return true;
}

static u32 dbench_report_source_bit(const struct damon_access_report *report)
{
	if (report->source && report->source <= DAMON_MAX_PERF_EVENTS)
		return BIT(report->source - 1);
	return DAMON_REPORT_SOURCE_OTHER;
}

static noinline bool dbench_report_attribute(struct damon_ctx *ctx,
					     struct dbench_report_snapshot *snap,
					     const struct damon_access_report *report)
{
	unsigned long start, last;
	bool marked = false;
	unsigned int i;
	u32 source = dbench_report_source_bit(report);

	if (damon_target_has_pid(ctx)) {
		if (!(report->flags & DAMON_ACCESS_REPORT_VADDR) || !report->mm)
			return false;
		start = report->vaddr;
		last = start + max(report->size, 1U) - 1;
		if (last < start)
			last = ULONG_MAX;
	} else {
		if (!(report->flags & DAMON_ACCESS_REPORT_PADDR))
			return false;
		if (!dbench_report_paddr_range(report, ctx->addr_unit, &start,
					       &last))
			return false;
	}

	for (i = 0; i < snap->nr_targets; i++) {
		struct dbench_report_target *rt = &snap->targets[i];

		if (damon_target_has_pid(ctx) && rt->mm != report->mm)
			continue;
		if (dbench_report_mark(snap, rt, start, last, source))
			marked = true;
	}
	return marked;
}

/* End of the copy of report.c. */

/*
 * The drain of SJ's original, per report: walk each target's region list
 * until the region that holds the reported address.
 */
static noinline bool dbench_linear_attribute(struct damon_ctx *ctx,
					     const struct damon_access_report *report)
{
	struct damon_target *t;
	struct damon_region *r;
	bool found = false;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			if (r->ar.start <= report->paddr &&
			    report->paddr < r->ar.end) {
				container_of(r, struct dbench_region, r)->reported = true;
				found = true;
				break;
			}
		}
	}
	return found;
}

/* Mita's RFC v1 per-page histogram: count one report of its page. */
static noinline void dbench_pp_record(struct xarray *hist,
				      const struct damon_access_report *report)
{
	unsigned long idx = report->paddr >> PAGE_SHIFT;
	void *entry = xa_load(hist, idx);
	unsigned long cnt = entry ? xa_to_value(entry) : 0;

	/* errors ignored, as in the original */
	xa_store(hist, idx, xa_mk_value(cnt + 1), GFP_KERNEL);
}

/* Its access check: look every page of [@first, @end) up. */
static noinline unsigned long dbench_pp_walk(struct xarray *hist,
					     unsigned long first,
					     unsigned long end)
{
	unsigned long idx, nr = 0;

	for (idx = first; idx < end; idx++) {
		void *entry = xa_load(hist, idx);

		if (entry)
			nr += xa_to_value(entry);
	}
	return nr;
}

/* The same walk in one RCU read section, with an xa_state. */
static noinline unsigned long dbench_pp_walk_xas(struct xarray *hist,
						 unsigned long first,
						 unsigned long end)
{
	XA_STATE(xas, hist, 0);
	unsigned long idx, nr = 0;

	rcu_read_lock();
	for (idx = first; idx < end; idx++) {
		void *entry;

		xas_set(&xas, idx);
		do {
			entry = xas_load(&xas);
		} while (xas_retry(&xas, entry));
		if (entry)
			nr += xa_to_value(entry);
	}
	rcu_read_unlock();
	return nr;
}

struct dbench_attr_args {
	unsigned int regions;
	unsigned int rounds;
	unsigned int batch;
	unsigned int linear_batch;
	unsigned int walks;
	unsigned int intervals;
	unsigned int direct;
};

static void dbench_free_regions(void)
{
	struct damon_region *r, *next;

	list_for_each_entry_safe(r, next, &dbench_target.regions_list, list) {
		list_del(&r->list);
		kmem_cache_free(dbench_region_cache,
				container_of(r, struct dbench_region, r));
	}
	dbench_target.nr_regions = 0;
	dbench_report_free_snapshot(&dbench_snapshot);
}

static int dbench_alloc_regions(unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct dbench_region *br = kmem_cache_zalloc(dbench_region_cache,
							     GFP_KERNEL);

		if (!br)
			return -ENOMEM;
		br->r.ar.start = (unsigned long)i << DBENCH_REGION_SHIFT;
		br->r.ar.end = (unsigned long)(i + 1) << DBENCH_REGION_SHIFT;
		list_add_tail(&br->r.list, &dbench_target.regions_list);
		dbench_target.nr_regions++;
	}
	return 0;
}

static struct damon_access_report *dbench_attr_reports(unsigned int nr_regions)
{
	u64 span = (u64)nr_regions << DBENCH_REGION_SHIFT;
	struct damon_access_report *reports;
	unsigned int i;

	reports = kvcalloc(DBENCH_NR_ATTR_REPORTS, sizeof(*reports), GFP_KERNEL);
	if (!reports)
		return NULL;
	for (i = 0; i < DBENCH_NR_ATTR_REPORTS; i++) {
		reports[i].paddr = (get_random_u64() % span) & ~7ULL;
		reports[i].size = 8;
		reports[i].flags = DAMON_ACCESS_REPORT_PADDR;
	}
	return reports;
}

#define dbench_attr_report(reports, i) \
	(&(reports)[(i) & (DBENCH_NR_ATTR_REPORTS - 1)])

/* Pages the per-page walks look up between two bsearch_pp batches. */
#define DBENCH_WALK_CHUNK	4096UL

/*
 * Attribute @n reports, from the @idx-th on, by binary search; add how
 * many were marked to @marked.  Return the ticks it took.
 */
static u64 dbench_bsearch_batch(const struct damon_access_report *reports,
				unsigned long *idx, unsigned long *marked,
				unsigned int n)
{
	unsigned int k;
	u64 t0, t1;

	preempt_disable();
	t0 = damon_test_clock();
	for (k = 0; k < n; k++)
		*marked += dbench_report_attribute(&dbench_ctx, &dbench_snapshot,
				dbench_attr_report(reports, (*idx)++));
	t1 = damon_test_clock();
	preempt_enable();
	return t1 - t0;
}

/* The series and counters of one attribution run. */
struct dbench_attr_run {
	const struct dbench_attr_args *a;
	struct damon_access_report *reports;
	unsigned int nr_batches;
	struct dbench_series *bsearch, *linear, *snapshot, *record, *destroy;
	struct dbench_series *walk, *walk_xas, *bsearch_pp, *interval;
	unsigned long b_idx, l_idx, b_marked, l_found;
	unsigned long walk_found, direct_found, bp_idx, bp_marked;
};

static int dbench_attr_new_series(struct dbench_attr_run *run)
{
	const struct dbench_attr_args *a = run->a;
	const unsigned long region_pages = 1UL << (DBENCH_REGION_SHIFT - PAGE_SHIFT);
	const char *clock = damon_test_clock_name();

	run->bsearch = dbench_new_series("bsearch", clock, a->batch, a->rounds);
	run->linear = dbench_new_series("linear", clock, a->linear_batch,
					a->rounds);
	run->snapshot = dbench_new_series("snapshot", clock, 1, a->intervals);
	run->record = dbench_new_series("pp_record", "ktime", a->batch,
					a->intervals * run->nr_batches);
	run->destroy = dbench_new_series("pp_destroy", "ktime", 1, a->intervals);
	run->walk = dbench_new_series("pp_walk", "ktime", 1, a->walks);
	run->walk_xas = dbench_new_series("pp_walk_xas", "ktime", 1, a->walks);
	run->bsearch_pp = dbench_new_series("bsearch_pp", clock, a->batch,
					    a->walks * DIV_ROUND_UP(region_pages,
								    DBENCH_WALK_CHUNK));
	if (a->direct)
		run->interval = dbench_new_series("pp_interval", "ktime", 1,
						  a->direct);
	if (!run->bsearch || !run->linear || !run->snapshot || !run->record ||
	    !run->destroy || !run->walk || !run->walk_xas || !run->bsearch_pp ||
	    (a->direct && !run->interval))
		return -ENOMEM;
	return 0;
}

/* Binary search and linear batches, interleaved, starting in turn. */
static int dbench_attr_interleaved(struct dbench_attr_run *run)
{
	const struct dbench_attr_args *a = run->a;
	unsigned int i, j, k;

	for (i = 0; i < a->rounds; i++) {
		for (j = 0; j < 2; j++) {
			u64 t0, t1;

			if ((i + j) % 2 == 0) {
				t0 = dbench_bsearch_batch(run->reports,
							  &run->b_idx,
							  &run->b_marked,
							  a->batch);
				dbench_add(run->bsearch, damon_test_clock_to_ps(t0));
				continue;
			}
			preempt_disable();
			t0 = damon_test_clock();
			for (k = 0; k < a->linear_batch; k++)
				run->l_found += dbench_linear_attribute(&dbench_ctx,
					dbench_attr_report(run->reports,
							   run->l_idx++));
			t1 = damon_test_clock();
			preempt_enable();
			dbench_add(run->linear, damon_test_clock_to_ps(t1 - t0));
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* The snapshot that the drain takes once per sampling interval. */
static int dbench_attr_snapshots(struct dbench_attr_run *run)
{
	unsigned int i;
	int err;

	for (i = 0; i < run->a->intervals; i++) {
		u64 t0, t1;

		preempt_disable();
		t0 = damon_test_clock();
		err = dbench_report_take_snapshot(&dbench_ctx, &dbench_snapshot);
		t1 = damon_test_clock();
		preempt_enable();
		if (err)
			return err;
		dbench_add(run->snapshot, damon_test_clock_to_ps(t1 - t0));
	}
	return 0;
}

/*
 * The per-page method's walks of one region of @hist, the last interval's
 * histogram, in chunks with a bsearch batch after each, so that the two are
 * timed at the same speed of the (virtual) CPU.
 */
static int dbench_attr_walks(struct dbench_attr_run *run, struct xarray *hist)
{
	const struct dbench_attr_args *a = run->a;
	unsigned int j, k;

	for (j = 0; j < a->walks; j++) {
		unsigned int nth = (unsigned int)((u64)j * 7919 % a->regions);
		unsigned long idx, first, end;
		u64 t0, t_walk = 0, t_xas = 0;
		struct damon_region *r;

		k = 0;
		damon_for_each_region(r, &dbench_target)
			if (k++ == nth)
				break;
		first = r->ar.start >> PAGE_SHIFT;
		end = r->ar.end >> PAGE_SHIFT;
		for (idx = first; idx < end; idx += DBENCH_WALK_CHUNK) {
			unsigned long stop = min(idx + DBENCH_WALK_CHUNK, end);

			t0 = ktime_get_ns();
			run->walk_found += dbench_pp_walk(hist, idx, stop);
			t_walk += ktime_get_ns() - t0;
			t0 = ktime_get_ns();
			run->walk_found += dbench_pp_walk_xas(hist, idx, stop);
			t_xas += ktime_get_ns() - t0;
			t0 = dbench_bsearch_batch(run->reports, &run->bp_idx,
						  &run->bp_marked, a->batch);
			dbench_add(run->bsearch_pp, damon_test_clock_to_ps(t0));
			if (fatal_signal_pending(current))
				return -EINTR;
		}
		dbench_add(run->walk, t_walk * 1000);
		dbench_add(run->walk_xas, t_xas * 1000);
	}
	return 0;
}

/* The per-page method: record, walks (last interval only), destroy. */
static int dbench_attr_per_page(struct dbench_attr_run *run)
{
	const struct dbench_attr_args *a = run->a;
	struct xarray hist;
	unsigned int i, j, k;
	int err = 0;

	for (i = 0; i < a->intervals && !err; i++) {
		u64 t0;

		xa_init(&hist);
		for (j = 0; j < run->nr_batches; j++) {
			unsigned int n = min(a->batch,
					     DBENCH_NR_ATTR_REPORTS - j * a->batch);

			t0 = ktime_get_ns();
			for (k = 0; k < n; k++)
				dbench_pp_record(&hist,
						 &run->reports[j * a->batch + k]);
			if (n == a->batch)
				dbench_add(run->record,
					   (ktime_get_ns() - t0) * 1000);
		}
		if (i == a->intervals - 1)
			err = dbench_attr_walks(run, &hist);
		t0 = ktime_get_ns();
		xa_destroy(&hist);
		if (!err)
			dbench_add(run->destroy, (ktime_get_ns() - t0) * 1000);
		cond_resched();
	}
	return err;
}

/* Whole intervals of the per-page method, to check its model. */
static int dbench_attr_direct(struct dbench_attr_run *run)
{
	struct damon_region *r;
	struct xarray hist;
	unsigned int i, k;

	for (i = 0; i < run->a->direct; i++) {
		u64 t0 = ktime_get_ns();

		xa_init(&hist);
		for (k = 0; k < DBENCH_NR_ATTR_REPORTS; k++)
			dbench_pp_record(&hist, &run->reports[k]);
		damon_for_each_region(r, &dbench_target)
			run->direct_found += dbench_pp_walk(&hist,
						r->ar.start >> PAGE_SHIFT,
						r->ar.end >> PAGE_SHIFT);
		xa_destroy(&hist);
		dbench_add(run->interval, (ktime_get_ns() - t0) * 1000);
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

static void dbench_attr_set_info(const struct dbench_attr_run *run)
{
	dbench_set_info("tsc_khz", damon_test_tsc_khz());
	dbench_set_info("regions", run->a->regions);
	dbench_set_info("reports_per_interval", DBENCH_NR_ATTR_REPORTS);
	dbench_set_info("region_bytes", 1UL << DBENCH_REGION_SHIFT);
	dbench_set_info("bsearch_reports", run->b_idx);
	dbench_set_info("bsearch_marked", run->b_marked);
	dbench_set_info("bsearch_pp_reports", run->bp_idx);
	dbench_set_info("bsearch_pp_marked", run->bp_marked);
	dbench_set_info("linear_reports", run->l_idx);
	dbench_set_info("linear_found", run->l_found);
	dbench_set_info("pp_walk_found", run->walk_found);
	dbench_set_info("pp_direct_found", run->direct_found);
}

static int dbench_run_attribution(const struct dbench_attr_args *a)
{
	struct dbench_attr_run run = {
		.a = a,
		.nr_batches = DIV_ROUND_UP(DBENCH_NR_ATTR_REPORTS, a->batch),
	};
	int err;

	err = dbench_attr_new_series(&run);
	if (err)
		return err;
	run.reports = dbench_attr_reports(a->regions);
	if (!run.reports)
		return -ENOMEM;
	err = dbench_alloc_regions(a->regions);
	if (err)
		goto out;
	/* the first snapshot allocates its buffers; the timed ones do not */
	err = dbench_report_take_snapshot(&dbench_ctx, &dbench_snapshot);
	if (!err)
		err = dbench_attr_interleaved(&run);
	if (!err)
		err = dbench_attr_snapshots(&run);
	if (!err)
		err = dbench_attr_per_page(&run);
	if (!err)
		err = dbench_attr_direct(&run);
	if (!err)
		dbench_attr_set_info(&run);
out:
	dbench_free_regions();
	kvfree(run.reports);
	return err;
}

/* ---- debugfs ---- */

struct dbench_key {
	const char *name;
	unsigned int *val;
	unsigned int min;
	unsigned int max;
};

/* Parse "key=value" words of @line into @keys. */
static int dbench_parse(char *line, const struct dbench_key *keys,
			unsigned int nr_keys)
{
	char *word;

	while ((word = strsep(&line, " \t")) != NULL) {
		char *val;
		unsigned int i, v;

		if (!*word)
			continue;
		val = strchr(word, '=');
		if (!val)
			goto bad;
		*val++ = '\0';
		for (i = 0; i < nr_keys; i++)
			if (!strcmp(word, keys[i].name))
				break;
		if (i == nr_keys || kstrtouint(val, 0, &v) ||
		    v < keys[i].min || v > keys[i].max)
			goto bad;
		*keys[i].val = v;
	}
	return 0;
bad:
	pr_warn("bad or out of range: '%s'\n", word);
	return -EINVAL;
}

static int dbench_cmd_producer(char *args)
{
	struct dbench_prod_args a = {
		.cpu = 1, .rounds = 1000, .batch = 32, .owned = 1,
	};
	const struct dbench_key keys[] = {
		{ "cpu", &a.cpu, 0, nr_cpu_ids - 1 },
		{ "rounds", &a.rounds, 1, DBENCH_MAX_ROUNDS },
		{ "batch", &a.batch, 1, DBENCH_MAX_PROD_BATCH },
		{ "owned", &a.owned, 0, 1 },
	};
	int err = dbench_parse(args, keys, ARRAY_SIZE(keys));

	return err ? err : dbench_run_producer(&a);
}

static int dbench_cmd_attribution(char *args)
{
	struct dbench_attr_args a = {
		.regions = 1000, .rounds = 500, .batch = 64, .linear_batch = 8,
		.walks = 3, .intervals = 4, .direct = 0,
	};
	const struct dbench_key keys[] = {
		{ "regions", &a.regions, 1, DBENCH_MAX_REGIONS },
		{ "rounds", &a.rounds, 1, DBENCH_MAX_ROUNDS },
		{ "batch", &a.batch, 1, DBENCH_MAX_ATTR_BATCH },
		{ "linear_batch", &a.linear_batch, 1, DBENCH_MAX_ATTR_BATCH },
		{ "walks", &a.walks, 0, DBENCH_MAX_WALKS },
		{ "intervals", &a.intervals, 1, DBENCH_MAX_INTERVALS },
		{ "direct", &a.direct, 0, 100 },
	};
	int err = dbench_parse(args, keys, ARRAY_SIZE(keys));

	return err ? err : dbench_run_attribution(&a);
}

static ssize_t dbench_run_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	char *line, *args, *cmd;
	int err;

	if (count >= DBENCH_LINE_MAX)
		return -EINVAL;
	line = memdup_user_nul(ubuf, count);
	if (IS_ERR(line))
		return PTR_ERR(line);
	args = strim(line);
	cmd = strsep(&args, " \t");
	if (!args)
		args = cmd + strlen(cmd);

	mutex_lock(&dbench_lock);
	dbench_reset_results();
	if (!strcmp(cmd, "producer")) {
		err = dbench_cmd_producer(args);
	} else if (!strcmp(cmd, "attribution")) {
		err = dbench_cmd_attribution(args);
	} else {
		pr_warn("unknown command '%s'\n", cmd);
		err = -EINVAL;
	}
	mutex_unlock(&dbench_lock);
	kfree(line);
	return err ? err : count;
}

static const struct file_operations dbench_run_fops = {
	.owner = THIS_MODULE,
	.write = dbench_run_write,
	.llseek = noop_llseek,
};

static int dbench_samples_show(struct seq_file *m, void *v)
{
	unsigned int i, j;

	mutex_lock(&dbench_lock);
	for (i = 0; i < dbench_nr_series; i++) {
		const struct dbench_series *s = &dbench_series[i];

		seq_printf(m, "%s %s %u %u", s->name, s->clock, s->per, s->nr);
		for (j = 0; j < s->nr; j++)
			seq_printf(m, " %llu", s->ps[j]);
		seq_putc(m, '\n');
	}
	mutex_unlock(&dbench_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dbench_samples);

static int dbench_info_show(struct seq_file *m, void *v)
{
	unsigned int i;

	mutex_lock(&dbench_lock);
	for (i = 0; i < dbench_nr_info; i++)
		seq_printf(m, "%s %llu\n", dbench_info[i].key, dbench_info[i].val);
	mutex_unlock(&dbench_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dbench_info);

static int __init dbench_init(void)
{
	int err = damon_report_syms_init();

	if (err)
		return err;
	err = dbench_copy_alloc_rings();
	if (err)
		return err;
	dbench_ring256_rings = alloc_percpu(struct dbench_ring256_ring);
	if (!dbench_ring256_rings)
		goto free_copy_rings_out;
	dbench_region_cache = KMEM_CACHE(dbench_region, 0);
	if (!dbench_region_cache)
		goto free_ring256_rings_out;
	dbench_ctx.ops.id = DAMON_OPS_PADDR;
	dbench_ctx.addr_unit = 1;
	INIT_LIST_HEAD(&dbench_ctx.adaptive_targets);
	INIT_LIST_HEAD(&dbench_target.regions_list);
	list_add_tail(&dbench_target.list, &dbench_ctx.adaptive_targets);

	dbench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0200, dbench_dir, NULL, &dbench_run_fops);
	debugfs_create_file("samples", 0400, dbench_dir, NULL,
			    &dbench_samples_fops);
	debugfs_create_file("info", 0400, dbench_dir, NULL, &dbench_info_fops);
	return 0;

free_ring256_rings_out:
	free_percpu(dbench_ring256_rings);
free_copy_rings_out:
	dbench_copy_free_rings();
	return -ENOMEM;
}

static void __exit dbench_exit(void)
{
	debugfs_remove_recursive(dbench_dir);
	mutex_lock(&dbench_lock);
	dbench_reset_results();
	mutex_unlock(&dbench_lock);
	kmem_cache_destroy(dbench_region_cache);
	free_percpu(dbench_ring256_rings);
	dbench_copy_free_rings();
}

module_init(dbench_init);
module_exit(dbench_exit);

MODULE_DESCRIPTION("Benchmarks of DAMON's access report path (test only)");
MODULE_LICENSE("GPL");
