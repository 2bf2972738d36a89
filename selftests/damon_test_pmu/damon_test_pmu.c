// SPDX-License-Identifier: GPL-2.0
/*
 * damon_test_pmu - a synthetic perf PMU that samples chosen addresses
 *
 * A test-only perf PMU for exercising consumers of memory access samples
 * (DAMON's perf events sampler) without PEBS or IBS hardware.  It registers
 * the PMU "damon_test_pmu" with a dynamic type, which user space finds in
 * /sys/bus/event_source/devices/damon_test_pmu/type like any other PMU's.
 *
 * Events
 *	Per-CPU events only (event->cpu >= 0); task events fail with -EINVAL.
 *	attr.config, config1 and config2 must be 0 (sysfs: format/event and
 *	events/mem).  Branch stacks and sigtrap are not supported
 *	(-EOPNOTSUPP).  A sampling event gets one hrtimer, pinned to its CPU
 *	and running in hard IRQ context, started by pmu->start and cancelled
 *	by pmu->stop/del.  Each expiry makes the samples of every period that
 *	passed since the last one (at most DTP_MAX_PER_EXPIRY, counted from
 *	the clock, not with hrtimer_forward(), which rounds periods up to a
 *	tick without high resolution timers): without high resolution timers,
 *	hrtimers expire on ticks only and the rate holds on average.
 *
 *	Non-freq mode: attr.sample_period is the time between two samples in
 *	nanoseconds.  Freq mode: attr.sample_freq is in samples per second;
 *	event_init turns it into the period NSEC_PER_SEC / sample_freq and
 *	clears attr.freq, as the cpu-clock software event does, so perf's
 *	frequency feedback does not apply.  Periods are clamped to
 *	[DTP_MIN_PERIOD_NS, DTP_MAX_PERIOD_NS].  The event's count is the
 *	number of samples it made, and every sample has period 1.
 *
 *	perf_event_overflow() is not exported to modules (v7.3), so samples
 *	go straight to event->overflow_handler: an in-kernel consumer's
 *	handler, or perf's ring buffer output for user space.  perf's
 *	throttling (perf_event_max_sample_rate), event limits
 *	(PERF_EVENT_IOC_REFRESH), BPF programs, sigtrap and SIGIO do not
 *	apply; the period clamp and DTP_MAX_PER_EXPIRY bound the rate.  Samples
 *	honour exclude_user, exclude_kernel and exclude_idle like perf's
 *	software events; they carry the interrupted registers
 *	(get_irq_regs()), or zeroed registers when there are none.
 *
 *	By default events pin this module (pmu->module): while a consumer
 *	holds events, the module cannot be removed (delete_module() fails with
 *	EWOULDBLOCK, kmod's rmmod says the module is in use).  With pin=N it
 *	can: unloading unregisters the PMU, and perf revokes the events that
 *	are left (they stop and stay in the REVOKED state until their owner
 *	releases them), as a driver unbinding from its hardware would.
 *
 * Module parameters (also writable in /sys/module/damon_test_pmu/parameters/)
 *	fail_cpus=<cpulist>	event_init fails for events on these CPUs, to
 *				emulate hybrid PMUs and rollback paths
 *				(default: empty)
 *	fail_errno=<n>		the errno it fails with, 1..4095, given with or
 *				without the minus sign (default ENODEV, 19)
 *	pin=<bool>		events pin the module (default Y; load time
 *				only, read-only afterwards)
 *
 *	The next three make the PMU follow rules of real ones that an
 *	idealized PMU does not, each from what the real driver looks at:
 *
 *	exclusive=<bool>	one active event per CPU, as AMD IBS Op and
 *				the IBS Memory Profiler: pmu->add fails with
 *				-ENOSPC while another event of this PMU is
 *				active on the CPU (perf_ibs_add()), and perf
 *				puts a pinned event into the error state
 *				(default N)
 *	busy_cpus=<cpulist>	pmu->add fails with -ENOSPC on these CPUs, as
 *				when another user (perf record) holds the
 *				one unit of an exclusive PMU (default: empty)
 *	batch=<n>		emulate Intel large PEBS: an event that
 *				intel_pmu_hw_config() would give auto-reload
 *				and large PEBS (precise_ip set, not freq,
 *				not wakeup_events without watermark, and
 *				sample_type within the large PEBS flags that
 *				matter here: ADDR, DATA_SRC, PHYS_ADDR, ...)
 *				hands only the last sample of each <n> to the
 *				overflow handler; the others go where
 *				__intel_pmu_pebs_events() sends them,
 *				perf_event_output(), which a kernel counter
 *				has no buffer for: they are lost
 *				(default 0: off)
 *	guest=<percent>		this share of the samples is taken "in a
 *				guest": the module registers perf's guest
 *				callbacks (perf_register_guest_info_callbacks(),
 *				as KVM does) and its state callback answers
 *				PERF_GUEST_ACTIVE while the overflow handler
 *				runs for such a sample, so perf_guest_state()
 *				tells, as for a sample whose NMI hit a vCPU.
 *				Needs CONFIG_GUEST_PERF_EVENTS (selected by
 *				KVM) and no KVM module that registered them;
 *				load time only (default 0)
 *
 * debugfs, /sys/kernel/debug/damon_test_pmu/
 *	addrs (read, write)
 *		The addresses samples carry.  Each write is one line:
 *
 *		vaddr=<start> len=<bytes> pid=<pid> [stride=<bytes>] [random=<n>]
 *		paddr=<start> len=<bytes> [stride=<bytes>] [random=<n>]
 *		clear
 *
 *		A vaddr or paddr line appends a range to that kind's list (at
 *		most DTP_MAX_RANGES each); the addresses of a range are start,
 *		start + stride, ... below start + len (len 0: start only;
 *		stride defaults to PAGE_SIZE).  Sample n of an event takes the
 *		address (n modulo the number of addresses) of each list, so a
 *		list of one-address ranges is a list of addresses.  A range
 *		with random=<n> counts as n addresses of its list instead, and
 *		each of them is one of the range's addresses drawn at random
 *		for every sample (uniformly, by the event's own generator): a
 *		sampler of accesses spread over the whole range, where a fixed
 *		list is a lattice that region splitting can converge to.  All vaddr
 *		ranges belong to one process, @pid (a thread group id in the
 *		writer's pid namespace).  "clear" empties both lists.  Reads
 *		show the ranges in the same syntax.  Bad input: -EINVAL
 *		(-ESRCH for a pid without a process), and a warning.
 *
 *		A sample carries data->addr from the vaddr list, with
 *		PERF_SAMPLE_ADDR in data->sample_flags, only when
 *		attr.sample_type has PERF_SAMPLE_ADDR, the list is not empty,
 *		and the interrupted task belongs to @pid (or any_task is set);
 *		data->phys_addr from the paddr list, with PERF_SAMPLE_PHYS_ADDR,
 *		only when attr.sample_type has PERF_SAMPLE_PHYS_ADDR and the
 *		list is not empty; data->data_src, with PERF_SAMPLE_DATA_SRC,
 *		when attr.sample_type has PERF_SAMPLE_DATA_SRC: a load on even
 *		samples, a store on odd ones, everything else "not available".
 *	any_task (bool, default N)
 *		Give vaddr samples whatever task was interrupted.
 *	omit_flags (bool, default N)
 *		Fill data->addr, data->phys_addr and data->data_src whatever
 *		attr.sample_type asks (with the listed addresses, or
 *		DTP_POISON when a list is empty or the task is not @pid's) and
 *		set none of their bits in data->sample_flags: a consumer that
 *		does not check sample_flags uses values it must not.
 *	stats (read)
 *		"key value" lines: samples (total), samples_cpu<N> for every
 *		possible CPU, samples_addr, samples_phys_addr,
 *		samples_data_src, samples_omitted (made with omit_flags),
 *		samples_foreign (no vaddr: another task was interrupted),
 *		samples_excluded (not made: exclude_* matched),
 *		samples_no_regs (made with zeroed registers),
 *		samples_batch_lost (made but not handed to the overflow
 *		handler, see batch=), samples_guest (made "in a guest", see
 *		guest=), events_inited, events_failed (every
 *		event_init of this PMU's type that failed),
 *		events_fail_injected (those failed by fail_cpus),
 *		events_active (inited and not destroyed yet), events_batched
 *		(inited as large PEBS, see batch=), handled (samples handed
 *		to the overflow handler), handler_ns (the time spent in it,
 *		summed over CPUs, damon_test_clock.h: the TSC around each
 *		call where its frequency is known), adds_refused (pmu->add
 *		calls refused by exclusive= or busy_cpus=).
 *
 * The hrtimer path takes no lock, allocates nothing and does not print.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/perf_event.h>
#include <linux/pid.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched/clock.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <asm/irq_regs.h>
#include <asm/ptrace.h>

#include "damon_test_clock.h"

#define DTP_MIN_PERIOD_NS	(10 * NSEC_PER_USEC)
#define DTP_MAX_PERIOD_NS	(3600ULL * NSEC_PER_SEC)
/* Most samples one timer expiry makes, catching up or not. */
#define DTP_MAX_PER_EXPIRY	256U
/* Most ranges in each of the vaddr and paddr lists. */
#define DTP_MAX_RANGES		64
/* Most positions a random= range takes in its list. */
#define DTP_MAX_RANDOM		65536
/* Longest line accepted by "addrs". */
#define DTP_LINE_MAX		256
/* What omit_flags puts in a field that has no address to show. */
#define DTP_POISON		0xdead00000000beefULL

/*
 * One range of addresses: start + i * stride for i < addrs.  It takes slots
 * positions of its list: addrs, or the n of random=<n>, in which case each
 * position carries one of the addresses at random.
 */
struct dtp_range {
	u64 start;
	u64 len;
	u64 stride;
	u64 addrs;
	u64 slots;
	bool random;
};

struct dtp_list {
	unsigned int nr;
	/* sum of the ranges' slots */
	u64 slots;
	struct dtp_range ranges[DTP_MAX_RANGES];
};

/* The address configuration; replaced whole, read under RCU. */
struct dtp_addrs {
	/* the process of the vaddr list (a reference), NULL when empty */
	struct pid *pid;
	struct dtp_list vaddr;
	struct dtp_list paddr;
};

/* Per-event state, in event->pmu_private. */
struct dtp_event {
	struct hrtimer timer;
	struct perf_event *event;
	/* samples this event made; selects the addresses of the next one */
	u64 seq;
	/* state of the generator of random= ranges, never 0 */
	u64 rng;
	/* when the next sample is due, in ktime_get_ns() time */
	u64 due;
	/* Intel would run this event with large PEBS (see batch=) */
	bool large_pebs;
};

static struct dtp_addrs __rcu *dtp_addrs;
/* Serializes writers of dtp_addrs. */
static DEFINE_MUTEX(dtp_addrs_lock);
static bool dtp_any_task;
static bool dtp_omit_flags;
static struct dentry *dtp_dir;

static DEFINE_PER_CPU(unsigned long, dtp_samples);
/* samples handed to the overflow handler, and the time it took */
static DEFINE_PER_CPU(unsigned long, dtp_handled);
/* in damon_test_clock() units */
static DEFINE_PER_CPU(u64, dtp_handler_time);
/* Handed to perf when a sample has no interrupted registers; never written. */
static DEFINE_PER_CPU(struct pt_regs, dtp_zero_regs);

static atomic_long_t dtp_samples_addr = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_phys_addr = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_data_src = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_omitted = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_foreign = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_excluded = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_no_regs = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_events_inited = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_events_failed = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_events_fail_injected = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_events_active = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_batch_lost = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_events_batched = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_adds_refused = ATOMIC_LONG_INIT(0);
static atomic_long_t dtp_samples_guest = ATOMIC_LONG_INIT(0);

/* guest */

static unsigned int dtp_guest;
module_param_named(guest, dtp_guest, uint, 0444);
MODULE_PARM_DESC(guest,
		 "percent of samples taken in a guest, 0..100 (default 0; needs CONFIG_GUEST_PERF_EVENTS)");

/* Set while the overflow handler runs for a sample taken "in a guest". */
static DEFINE_PER_CPU(bool, dtp_in_guest);

#ifdef CONFIG_GUEST_PERF_EVENTS
static unsigned int dtp_guest_state(void)
{
	return this_cpu_read(dtp_in_guest) ? PERF_GUEST_ACTIVE | PERF_GUEST_USER :
					     0;
}

static unsigned long dtp_guest_get_ip(void)
{
	return 0;
}

static struct perf_guest_info_callbacks dtp_guest_cbs = {
	.state		= dtp_guest_state,
	.get_ip		= dtp_guest_get_ip,
};

static int dtp_guest_register(void)
{
	if (!dtp_guest)
		return 0;
	if (dtp_guest > 100) {
		pr_err("guest=%u is not a percentage\n", dtp_guest);
		return -EINVAL;
	}
	perf_register_guest_info_callbacks(&dtp_guest_cbs);
	return 0;
}

static void dtp_guest_unregister(void)
{
	if (dtp_guest)
		perf_unregister_guest_info_callbacks(&dtp_guest_cbs);
}
#else
static int dtp_guest_register(void)
{
	if (!dtp_guest)
		return 0;
	pr_err("guest= needs CONFIG_GUEST_PERF_EVENTS\n");
	return -EOPNOTSUPP;
}

static void dtp_guest_unregister(void)
{
}
#endif

/* Whether sample @seq is taken in a guest (see guest=). */
static bool dtp_sample_in_guest(u64 seq)
{
	u64 rem;

	if (!dtp_guest)
		return false;
	div64_u64_rem(seq, 100, &rem);
	return rem < dtp_guest;
}

/* exclusive, busy_cpus and batch */

static bool dtp_exclusive;
module_param_named(exclusive, dtp_exclusive, bool, 0644);
MODULE_PARM_DESC(exclusive,
		 "one active event per CPU, as AMD IBS (default N)");

static unsigned int dtp_batch;
module_param_named(batch, dtp_batch, uint, 0644);
MODULE_PARM_DESC(batch,
		 "emulate Intel large PEBS: 1 sample in <batch> reaches the handler (default 0: off)");

/* The event that holds a CPU's unit in exclusive mode. */
static DEFINE_PER_CPU(struct perf_event *, dtp_unit_owner);
/*
 * Read by pmu->add with IRQs off and perf's raw context lock held, so no
 * lock: its bits are set and cleared one by one, atomically.
 */
static struct cpumask dtp_busy_cpus;

/* Parse the cpulist module parameter @val into @mask. */
static int dtp_parse_cpulist(const char *val, struct cpumask *mask)
{
	char *buf = kstrdup(val, GFP_KERNEL);
	int err;

	if (!buf)
		return -ENOMEM;
	err = cpulist_parse(strim(buf), mask);
	kfree(buf);
	return err;
}

static int dtp_busy_cpus_set(const char *val, const struct kernel_param *kp)
{
	cpumask_var_t mask;
	int err, cpu;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	err = dtp_parse_cpulist(val, mask);
	if (!err)
		for_each_possible_cpu(cpu)
			assign_bit(cpu, cpumask_bits(&dtp_busy_cpus),
				   cpumask_test_cpu(cpu, mask));
	free_cpumask_var(mask);
	return err;
}

static int dtp_busy_cpus_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%*pbl\n",
			 cpumask_pr_args(&dtp_busy_cpus));
}

static const struct kernel_param_ops dtp_busy_cpus_ops = {
	.set = dtp_busy_cpus_set,
	.get = dtp_busy_cpus_get,
};
module_param_cb(busy_cpus, &dtp_busy_cpus_ops, NULL, 0644);
MODULE_PARM_DESC(busy_cpus,
		 "CPUs (a cpulist) on which pmu->add fails with -ENOSPC (default: none)");

/*
 * The sample types that keep large PEBS possible, of those a consumer of
 * this PMU may ask for (LARGE_PEBS_FLAGS in arch/x86/events/perf_event.h).
 */
#define DTP_LARGE_PEBS_FLAGS						\
	(PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_ADDR |		\
	 PERF_SAMPLE_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_STREAM_ID |	\
	 PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_IDENTIFIER |		\
	 PERF_SAMPLE_TRANSACTION | PERF_SAMPLE_PHYS_ADDR |		\
	 PERF_SAMPLE_REGS_INTR | PERF_SAMPLE_REGS_USER |		\
	 PERF_SAMPLE_PERIOD | PERF_SAMPLE_CODE_PAGE_SIZE |		\
	 PERF_SAMPLE_WEIGHT_TYPE)

/* Whether intel_pmu_hw_config() would give @attr large PEBS. */
static bool dtp_large_pebs(const struct perf_event_attr *attr)
{
	if (!attr->precise_ip)
		return false;
	if (attr->freq || (attr->wakeup_events && !attr->watermark))
		return false;
	return !(attr->sample_type & ~DTP_LARGE_PEBS_FLAGS);
}

/* fail_cpus and fail_errno */

/* Protects dtp_fail_cpus. */
static DEFINE_SPINLOCK(dtp_fail_lock);
static struct cpumask dtp_fail_cpus;
static int dtp_fail_errno = ENODEV;

static int dtp_fail_cpus_set(const char *val, const struct kernel_param *kp)
{
	cpumask_var_t mask;
	int err;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	err = dtp_parse_cpulist(val, mask);
	if (!err) {
		spin_lock(&dtp_fail_lock);
		cpumask_copy(&dtp_fail_cpus, mask);
		spin_unlock(&dtp_fail_lock);
	}
	free_cpumask_var(mask);
	return err;
}

static int dtp_fail_cpus_get(char *buffer, const struct kernel_param *kp)
{
	int len;

	spin_lock(&dtp_fail_lock);
	len = scnprintf(buffer, PAGE_SIZE, "%*pbl\n",
			cpumask_pr_args(&dtp_fail_cpus));
	spin_unlock(&dtp_fail_lock);
	return len;
}

static const struct kernel_param_ops dtp_fail_cpus_ops = {
	.set = dtp_fail_cpus_set,
	.get = dtp_fail_cpus_get,
};
module_param_cb(fail_cpus, &dtp_fail_cpus_ops, NULL, 0644);
MODULE_PARM_DESC(fail_cpus,
		 "CPUs (a cpulist) on which event_init fails (default: none)");

static int dtp_fail_errno_set(const char *val, const struct kernel_param *kp)
{
	int n;

	if (kstrtoint(val, 0, &n))
		return -EINVAL;
	if (n < 0)
		n = -n;
	if (n < 1 || n > MAX_ERRNO)
		return -EINVAL;
	WRITE_ONCE(dtp_fail_errno, n);
	return 0;
}

static const struct kernel_param_ops dtp_fail_errno_ops = {
	.set = dtp_fail_errno_set,
	.get = param_get_int,
};
module_param_cb(fail_errno, &dtp_fail_errno_ops, &dtp_fail_errno, 0644);
MODULE_PARM_DESC(fail_errno,
		 "errno of event_init on fail_cpus, 1..4095 (default ENODEV)");

static bool dtp_fail_cpu(int cpu)
{
	bool fail;

	spin_lock(&dtp_fail_lock);
	fail = cpumask_test_cpu(cpu, &dtp_fail_cpus);
	spin_unlock(&dtp_fail_lock);
	return fail;
}

/* Sampling */

/* The next number of the xorshift64* generator whose state is @state. */
static u64 dtp_next_random(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Address of position @idx of @list, which is not empty; the random=
 * ranges draw theirs with the generator @rng.
 */
static u64 dtp_list_addr(const struct dtp_list *list, u64 idx, u64 *rng)
{
	const struct dtp_range *r;
	unsigned int i;

	div64_u64_rem(idx, list->slots, &idx);
	for (i = 0; i < list->nr; i++) {
		r = &list->ranges[i];
		if (idx >= r->slots) {
			idx -= r->slots;
			continue;
		}
		if (r->random)
			idx = mul_u64_u64_shr(dtp_next_random(rng), r->addrs,
					      64);
		return r->start + idx * r->stride;
	}
	/* not reached: the slots of the ranges add up to list->slots */
	return DTP_POISON;
}

static bool dtp_excluded(struct perf_event *event, struct pt_regs *regs)
{
	if (event->attr.exclude_idle && is_idle_task(current))
		return true;
	if (!regs)
		return false;
	if (event->attr.exclude_user && user_mode(regs))
		return true;
	if (event->attr.exclude_kernel && !user_mode(regs))
		return true;
	return false;
}

/*
 * Fill the address fields of @data for sample @seq of @event.  Called from
 * the event's hrtimer, in hard IRQ context.
 */
static void dtp_fill(struct perf_event *event, u64 seq, u64 *rng,
		     struct perf_sample_data *data)
{
	u64 type = event->attr.sample_type;
	bool omit = READ_ONCE(dtp_omit_flags);
	const struct dtp_addrs *addrs;
	union perf_mem_data_src src;
	bool have_vaddr = false;
	bool have_paddr = false;
	u64 vaddr = DTP_POISON;
	u64 paddr = DTP_POISON;

	rcu_read_lock();
	addrs = rcu_dereference(dtp_addrs);
	if (addrs && addrs->vaddr.nr) {
		if (READ_ONCE(dtp_any_task) ||
		    task_tgid(current) == addrs->pid) {
			vaddr = dtp_list_addr(&addrs->vaddr, seq, rng);
			have_vaddr = true;
		} else {
			atomic_long_inc(&dtp_samples_foreign);
		}
	}
	if (addrs && addrs->paddr.nr) {
		paddr = dtp_list_addr(&addrs->paddr, seq, rng);
		have_paddr = true;
	}
	rcu_read_unlock();

	src.val = PERF_MEM_NA;
	src.mem_op = seq & 1 ? PERF_MEM_OP_STORE : PERF_MEM_OP_LOAD;

	if (omit) {
		data->addr = vaddr;
		data->phys_addr = paddr;
		data->data_src.val = src.val;
		atomic_long_inc(&dtp_samples_omitted);
		return;
	}
	if ((type & PERF_SAMPLE_ADDR) && have_vaddr) {
		data->addr = vaddr;
		data->sample_flags |= PERF_SAMPLE_ADDR;
		atomic_long_inc(&dtp_samples_addr);
	}
	if ((type & PERF_SAMPLE_PHYS_ADDR) && have_paddr) {
		data->phys_addr = paddr;
		data->sample_flags |= PERF_SAMPLE_PHYS_ADDR;
		atomic_long_inc(&dtp_samples_phys_addr);
	}
	if (type & PERF_SAMPLE_DATA_SRC) {
		data->data_src.val = src.val;
		data->sample_flags |= PERF_SAMPLE_DATA_SRC;
		atomic_long_inc(&dtp_samples_data_src);
	}
}

/*
 * Hand a sample to @event's overflow handler and time it: what a PMU's
 * interrupt costs its consumer per sample, without the interrupt itself.
 */
static void dtp_handle(struct perf_event *event, perf_overflow_handler_t handler,
		       struct perf_sample_data *data, struct pt_regs *regs)
{
	u64 t0 = damon_test_clock();

	handler(event, data, regs);
	this_cpu_add(dtp_handler_time, damon_test_clock() - t0);
	this_cpu_inc(dtp_handled);
}

/* Make one sample, unless the event excludes it. */
static void dtp_sample(struct dtp_event *pe)
{
	struct perf_event *event = pe->event;
	struct pt_regs *regs = get_irq_regs();
	perf_overflow_handler_t handler;
	struct perf_sample_data data;
	unsigned int batch;

	if (dtp_excluded(event, regs)) {
		atomic_long_inc(&dtp_samples_excluded);
		return;
	}
	if (!regs) {
		regs = this_cpu_ptr(&dtp_zero_regs);
		atomic_long_inc(&dtp_samples_no_regs);
	}

	/* address 0: perf_sample_data_init() sets no PERF_SAMPLE_ADDR */
	perf_sample_data_init(&data, 0, 1);
	dtp_fill(event, pe->seq, &pe->rng, &data);
	pe->seq++;
	local64_inc(&event->count);
	this_cpu_inc(dtp_samples);
	batch = READ_ONCE(dtp_batch);
	if (pe->large_pebs && batch > 1) {
		u64 rem;

		div64_u64_rem(pe->seq, batch, &rem);
		if (rem) {
			/* perf_event_output() of a record, no buffer */
			atomic_long_inc(&dtp_samples_batch_lost);
			return;
		}
	}
	/*
	 * perf_event_overflow() is not exported to modules: hand the sample
	 * to the event's overflow handler directly (a kernel counter's
	 * handler, or perf_event_output_*() for user space).
	 */
	handler = READ_ONCE(event->overflow_handler);
	if (dtp_sample_in_guest(pe->seq)) {
		atomic_long_inc(&dtp_samples_guest);
		this_cpu_write(dtp_in_guest, true);
		dtp_handle(event, handler, &data, regs);
		this_cpu_write(dtp_in_guest, false);
		return;
	}
	dtp_handle(event, handler, &data, regs);
}

static u64 dtp_period_ns(const struct perf_event *event)
{
	return clamp_t(u64, READ_ONCE(event->hw.sample_period),
		       DTP_MIN_PERIOD_NS, DTP_MAX_PERIOD_NS);
}

/*
 * The samples due by now, at least one and at most DTP_MAX_PER_EXPIRY (the
 * rest are not made), and when the next one is due.  Counted here rather
 * than with hrtimer_forward(): without high resolution timers that rounds
 * a period shorter than a tick up to a tick, so a timer would make one
 * sample a tick whatever the period.
 */
static u64 dtp_samples_due(struct dtp_event *pe, u64 period)
{
	u64 now = ktime_get_ns(), n = 1;

	if (now > pe->due)
		n = div64_u64(now - pe->due, period) + 1;
	n = min_t(u64, n, DTP_MAX_PER_EXPIRY);
	pe->due += n * period;
	if (pe->due <= now)
		pe->due = now + period;
	return n;
}

static enum hrtimer_restart dtp_timer_fn(struct hrtimer *timer)
{
	struct dtp_event *pe = container_of(timer, struct dtp_event, timer);
	struct perf_event *event = pe->event;
	struct hw_perf_event *hwc = &event->hw;
	u64 n;

	if (event->state != PERF_EVENT_STATE_ACTIVE ||
	    (hwc->state & PERF_HES_STOPPED))
		return HRTIMER_NORESTART;

	n = dtp_samples_due(pe, dtp_period_ns(event));
	hrtimer_set_expires(timer, ns_to_ktime(pe->due));
	while (n--) {
		dtp_sample(pe);
		/*
		 * An overflow handler may stop the event (a group's siblings
		 * too): dtp_stop() cannot cancel this running timer and
		 * leaves PERF_HES_STOPPED for us to see.
		 */
		if (hwc->state & PERF_HES_STOPPED)
			return HRTIMER_NORESTART;
	}
	return HRTIMER_RESTART;
}

/* PMU callbacks; but for event_init, on the event's CPU, IRQs disabled. */

static void dtp_start(struct perf_event *event, int flags)
{
	struct dtp_event *pe = event->pmu_private;

	event->hw.state = 0;
	if (!is_sampling_event(event))
		return;
	pe->due = ktime_get_ns() + dtp_period_ns(event);
	hrtimer_start(&pe->timer, ns_to_ktime(pe->due),
		      HRTIMER_MODE_ABS_PINNED_HARD);
}

/*
 * May be called from the event's own timer callback (by an overflow
 * handler), where hrtimer_cancel() would wait for itself forever: try to
 * cancel only, the callback stops on PERF_HES_STOPPED.
 */
static void dtp_stop(struct perf_event *event, int flags)
{
	struct dtp_event *pe = event->pmu_private;

	event->hw.state |= PERF_HES_STOPPED | PERF_HES_UPTODATE;
	hrtimer_try_to_cancel(&pe->timer);
}

/*
 * Take the CPU's unit, as perf_ibs_add() does, when the PMU is exclusive or
 * the CPU is busy.  perf puts a pinned event that fails here into the error
 * state, a flexible one waits for its next turn.
 */
static int dtp_add(struct perf_event *event, int flags)
{
	if (cpumask_test_cpu(smp_processor_id(), &dtp_busy_cpus) ||
	    (READ_ONCE(dtp_exclusive) && this_cpu_read(dtp_unit_owner))) {
		atomic_long_inc(&dtp_adds_refused);
		return -ENOSPC;
	}
	if (READ_ONCE(dtp_exclusive))
		this_cpu_write(dtp_unit_owner, event);
	event->hw.state = PERF_HES_STOPPED | PERF_HES_UPTODATE;
	if (flags & PERF_EF_START)
		dtp_start(event, PERF_EF_RELOAD);
	perf_event_update_userpage(event);
	return 0;
}

/*
 * Not called from a timer callback of this PMU: perf defers disabling and
 * removing events from overflow handlers to irq_work.  The timer is pinned
 * to this CPU, whose IRQs are disabled, so its callback is not running and
 * hrtimer_cancel() does not wait.
 */
static void dtp_del(struct perf_event *event, int flags)
{
	struct dtp_event *pe = event->pmu_private;

	dtp_stop(event, PERF_EF_UPDATE);
	hrtimer_cancel(&pe->timer);
	if (this_cpu_read(dtp_unit_owner) == event)
		this_cpu_write(dtp_unit_owner, NULL);
}

/* The count is kept up to date by the timer callback. */
static void dtp_read(struct perf_event *event)
{
}

/* Process context; the event is in no context yet, or no longer. */
static void dtp_destroy(struct perf_event *event)
{
	struct dtp_event *pe = event->pmu_private;

	hrtimer_cancel(&pe->timer);
	event->pmu_private = NULL;
	kfree(pe);
	atomic_long_dec(&dtp_events_active);
}

static struct pmu dtp_pmu;

static int dtp_check_event(struct perf_event *event)
{
	struct perf_event_attr *attr = &event->attr;

	if (event->cpu < 0 || (event->attach_state & PERF_ATTACH_TASK))
		return -EINVAL;
	if (dtp_fail_cpu(event->cpu)) {
		atomic_long_inc(&dtp_events_fail_injected);
		return -READ_ONCE(dtp_fail_errno);
	}
	if (attr->config || attr->config1 || attr->config2)
		return -EINVAL;
	if (has_branch_stack(event) || attr->sigtrap)
		return -EOPNOTSUPP;
	if (attr->precise_ip > 3)
		return -EOPNOTSUPP;

	if (attr->freq) {
		if (!attr->sample_freq)
			return -EINVAL;
		attr->sample_period = div64_u64(NSEC_PER_SEC, attr->sample_freq);
		attr->sample_period = max_t(u64, attr->sample_period, 1);
		attr->freq = 0;
		event->hw.sample_period = attr->sample_period;
		event->hw.last_period = attr->sample_period;
		local64_set(&event->hw.period_left, attr->sample_period);
	}
	return 0;
}

static int dtp_event_init(struct perf_event *event)
{
	struct dtp_event *pe;
	bool large_pebs;
	int err;

	if (event->attr.type != dtp_pmu.type)
		return -ENOENT;

	/* from the attributes as given, before freq mode is converted */
	large_pebs = dtp_large_pebs(&event->attr);
	err = dtp_check_event(event);
	if (err)
		goto err_out;

	pe = kzalloc_obj(*pe);
	if (!pe) {
		err = -ENOMEM;
		goto err_out;
	}
	hrtimer_setup(&pe->timer, dtp_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_PINNED_HARD);
	pe->event = event;
	pe->rng = get_random_u64() | 1;
	pe->large_pebs = large_pebs;
	if (large_pebs)
		atomic_long_inc(&dtp_events_batched);
	event->pmu_private = pe;
	event->destroy = dtp_destroy;
	atomic_long_inc(&dtp_events_inited);
	atomic_long_inc(&dtp_events_active);
	return 0;

err_out:
	atomic_long_inc(&dtp_events_failed);
	return err;
}

PMU_FORMAT_ATTR(event, "config:0-63");

static struct attribute *dtp_format_attrs[] = {
	&format_attr_event.attr,
	NULL,
};

static const struct attribute_group dtp_format_group = {
	.name	= "format",
	.attrs	= dtp_format_attrs,
};

PMU_EVENT_ATTR_STRING(mem, dtp_event_attr_mem, "event=0x0");

static struct attribute *dtp_events_attrs[] = {
	&dtp_event_attr_mem.attr.attr,
	NULL,
};

static const struct attribute_group dtp_events_group = {
	.name	= "events",
	.attrs	= dtp_events_attrs,
};

static const struct attribute_group *dtp_attr_groups[] = {
	&dtp_format_group,
	&dtp_events_group,
	NULL,
};

static bool dtp_pin = true;
module_param_named(pin, dtp_pin, bool, 0444);
MODULE_PARM_DESC(pin, "events pin the module (default Y)");

static struct pmu dtp_pmu = {
	.module		= THIS_MODULE,
	.task_ctx_nr	= perf_invalid_context,
	/* samples come from a hard-IRQ hrtimer, never from an NMI */
	.capabilities	= PERF_PMU_CAP_NO_NMI,
	.attr_groups	= dtp_attr_groups,
	.event_init	= dtp_event_init,
	.add		= dtp_add,
	.del		= dtp_del,
	.start		= dtp_start,
	.stop		= dtp_stop,
	.read		= dtp_read,
};

/* debugfs: addrs */

static void dtp_addrs_free(struct dtp_addrs *addrs)
{
	if (!addrs)
		return;
	put_pid(addrs->pid);
	kfree(addrs);
}

static int dtp_bad(const char *key, const char *val)
{
	pr_warn_ratelimited("bad value '%s' for %s\n", val, key);
	return -EINVAL;
}

/* A parsed "vaddr=" or "paddr=" line. */
struct dtp_req {
	bool vaddr;
	bool have_kind;
	bool have_len;
	int pid;
	struct dtp_range range;
};

static int dtp_parse_word(char *word, struct dtp_req *req)
{
	char *val = strchr(word, '=');

	if (!val) {
		pr_warn_ratelimited("'%s' is not key=value\n", word);
		return -EINVAL;
	}
	*val++ = '\0';

	if (!strcmp(word, "vaddr") || !strcmp(word, "paddr")) {
		if (req->have_kind) {
			pr_warn_ratelimited("one of vaddr= or paddr= per line\n");
			return -EINVAL;
		}
		req->vaddr = word[0] == 'v';
		req->have_kind = true;
		if (kstrtou64(val, 0, &req->range.start))
			return dtp_bad(word, val);
	} else if (!strcmp(word, "len")) {
		if (kstrtou64(val, 0, &req->range.len))
			return dtp_bad(word, val);
		req->have_len = true;
	} else if (!strcmp(word, "stride")) {
		if (kstrtou64(val, 0, &req->range.stride) ||
		    !req->range.stride)
			return dtp_bad(word, val);
	} else if (!strcmp(word, "random")) {
		if (kstrtou64(val, 0, &req->range.slots) ||
		    !req->range.slots || req->range.slots > DTP_MAX_RANDOM)
			return dtp_bad(word, val);
		req->range.random = true;
	} else if (!strcmp(word, "pid")) {
		if (kstrtoint(val, 0, &req->pid) || req->pid <= 0)
			return dtp_bad(word, val);
	} else {
		pr_warn_ratelimited("unknown key '%s'\n", word);
		return -EINVAL;
	}
	return 0;
}

static int dtp_parse(char *line, struct dtp_req *req)
{
	struct dtp_range *r = &req->range;
	char *word;
	int err;

	memset(req, 0, sizeof(*req));
	r->stride = PAGE_SIZE;
	while ((word = strsep(&line, " \t\n"))) {
		if (!*word)
			continue;
		err = dtp_parse_word(word, req);
		if (err)
			return err;
	}
	if (!req->have_kind || !req->have_len) {
		pr_warn_ratelimited("need vaddr= or paddr=, and len=\n");
		return -EINVAL;
	}
	if (req->vaddr != !!req->pid) {
		pr_warn_ratelimited("pid= goes with vaddr=, and only with it\n");
		return -EINVAL;
	}
	if (r->len && r->len - 1 > U64_MAX - r->start) {
		pr_warn_ratelimited("start + len overflows\n");
		return -EINVAL;
	}
	r->addrs = r->len ? div64_u64(r->len - 1, r->stride) + 1 : 1;
	if (!r->random)
		r->slots = r->addrs;
	return 0;
}

/* Append the range of @req to a copy of @old and return the copy. */
static struct dtp_addrs *dtp_addrs_append(const struct dtp_addrs *old,
					  const struct dtp_req *req)
{
	struct dtp_addrs *addrs;
	struct dtp_list *list;
	struct pid *pid = NULL;
	int err = -EINVAL;

	if (req->vaddr) {
		pid = find_get_pid(req->pid);
		if (!pid || !pid_has_task(pid, PIDTYPE_TGID)) {
			pr_warn_ratelimited("no process %d\n", req->pid);
			err = -ESRCH;
			goto err_put_pid;
		}
		if (old && old->pid && old->pid != pid) {
			pr_warn_ratelimited("vaddr ranges of another pid are listed\n");
			goto err_put_pid;
		}
	}

	addrs = old ? kmemdup(old, sizeof(*old), GFP_KERNEL) :
		      kzalloc_obj(*addrs);
	if (!addrs) {
		err = -ENOMEM;
		goto err_put_pid;
	}
	/* the copy holds its own reference */
	get_pid(addrs->pid);

	list = req->vaddr ? &addrs->vaddr : &addrs->paddr;
	if (list->nr >= DTP_MAX_RANGES) {
		pr_warn_ratelimited("more than %d ranges\n", DTP_MAX_RANGES);
		goto err_free;
	}
	if (check_add_overflow(list->slots, req->range.slots, &list->slots)) {
		pr_warn_ratelimited("too many addresses\n");
		goto err_free;
	}
	list->ranges[list->nr++] = req->range;
	if (pid && !addrs->pid)
		addrs->pid = pid;
	else
		put_pid(pid);
	return addrs;

err_free:
	dtp_addrs_free(addrs);
err_put_pid:
	put_pid(pid);
	return ERR_PTR(err);
}

static ssize_t dtp_addrs_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct dtp_addrs *old, *addrs = NULL;
	struct dtp_req req;
	char *line;
	int err;

	if (!len || len >= DTP_LINE_MAX) {
		pr_warn_ratelimited("write 1 to %d bytes to addrs\n",
				    DTP_LINE_MAX - 1);
		return -EINVAL;
	}
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);

	mutex_lock(&dtp_addrs_lock);
	old = rcu_dereference_protected(dtp_addrs,
					lockdep_is_held(&dtp_addrs_lock));
	if (!sysfs_streq(line, "clear")) {
		err = dtp_parse(line, &req);
		if (err)
			goto out_unlock;
		addrs = dtp_addrs_append(old, &req);
		if (IS_ERR(addrs)) {
			err = PTR_ERR(addrs);
			goto out_unlock;
		}
	}
	rcu_assign_pointer(dtp_addrs, addrs);
	mutex_unlock(&dtp_addrs_lock);
	/* timer callbacks read the old configuration under RCU */
	synchronize_rcu();
	dtp_addrs_free(old);
	kfree(line);
	return len;

out_unlock:
	mutex_unlock(&dtp_addrs_lock);
	kfree(line);
	return err;
}

static void dtp_show_list(struct seq_file *m, const char *kind,
			  const struct dtp_list *list, pid_t pid)
{
	const struct dtp_range *r;
	unsigned int i;

	for (i = 0; i < list->nr; i++) {
		r = &list->ranges[i];
		seq_printf(m, "%s=0x%llx len=0x%llx stride=0x%llx", kind,
			   r->start, r->len, r->stride);
		if (r->random)
			seq_printf(m, " random=%llu", r->slots);
		if (pid)
			seq_printf(m, " pid=%d", pid);
		seq_putc(m, '\n');
	}
}

static int dtp_addrs_show(struct seq_file *m, void *unused)
{
	const struct dtp_addrs *addrs;

	mutex_lock(&dtp_addrs_lock);
	addrs = rcu_dereference_protected(dtp_addrs,
					  lockdep_is_held(&dtp_addrs_lock));
	if (addrs) {
		dtp_show_list(m, "vaddr", &addrs->vaddr,
			      pid_vnr(addrs->pid));
		dtp_show_list(m, "paddr", &addrs->paddr, 0);
	}
	mutex_unlock(&dtp_addrs_lock);
	return 0;
}

static int dtp_addrs_open(struct inode *inode, struct file *file)
{
	return single_open(file, dtp_addrs_show, NULL);
}

static const struct file_operations dtp_addrs_fops = {
	.owner		= THIS_MODULE,
	.open		= dtp_addrs_open,
	.read		= seq_read,
	.write		= dtp_addrs_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};

/* debugfs: stats */

static void dtp_show_counter(struct seq_file *m, const char *key,
			     atomic_long_t *counter)
{
	seq_printf(m, "%s %ld\n", key, atomic_long_read(counter));
}

static int dtp_stats_show(struct seq_file *m, void *unused)
{
	unsigned long total = 0, handled = 0;
	u64 handler_ns = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		total += per_cpu(dtp_samples, cpu);
	seq_printf(m, "samples %lu\n", total);
	for_each_possible_cpu(cpu)
		seq_printf(m, "samples_cpu%d %lu\n", cpu,
			   per_cpu(dtp_samples, cpu));
	dtp_show_counter(m, "samples_addr", &dtp_samples_addr);
	dtp_show_counter(m, "samples_phys_addr", &dtp_samples_phys_addr);
	dtp_show_counter(m, "samples_data_src", &dtp_samples_data_src);
	dtp_show_counter(m, "samples_omitted", &dtp_samples_omitted);
	dtp_show_counter(m, "samples_foreign", &dtp_samples_foreign);
	dtp_show_counter(m, "samples_excluded", &dtp_samples_excluded);
	dtp_show_counter(m, "samples_no_regs", &dtp_samples_no_regs);
	dtp_show_counter(m, "samples_batch_lost", &dtp_samples_batch_lost);
	dtp_show_counter(m, "samples_guest", &dtp_samples_guest);
	dtp_show_counter(m, "events_inited", &dtp_events_inited);
	dtp_show_counter(m, "events_failed", &dtp_events_failed);
	dtp_show_counter(m, "events_fail_injected", &dtp_events_fail_injected);
	dtp_show_counter(m, "events_active", &dtp_events_active);
	dtp_show_counter(m, "events_batched", &dtp_events_batched);
	dtp_show_counter(m, "adds_refused", &dtp_adds_refused);
	for_each_possible_cpu(cpu) {
		handled += per_cpu(dtp_handled, cpu);
		handler_ns += div_u64(damon_test_clock_to_ps(
			per_cpu(dtp_handler_time, cpu)), 1000);
	}
	seq_printf(m, "handled %lu\nhandler_ns %llu\n", handled, handler_ns);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dtp_stats);

static int __init dtp_init(void)
{
	struct dentry *dir;
	int err;

	dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(dir)) {
		err = PTR_ERR(dir);
		pr_err("cannot create the debugfs directory: %d\n", err);
		goto err_out;
	}
	debugfs_create_file("addrs", 0600, dir, NULL, &dtp_addrs_fops);
	debugfs_create_bool("any_task", 0600, dir, &dtp_any_task);
	debugfs_create_bool("omit_flags", 0600, dir, &dtp_omit_flags);
	debugfs_create_file("stats", 0444, dir, NULL, &dtp_stats_fops);
	dtp_dir = dir;

	err = dtp_guest_register();
	if (err)
		goto err_debugfs;
	if (!dtp_pin)
		dtp_pmu.module = NULL;
	err = perf_pmu_register(&dtp_pmu, KBUILD_MODNAME, -1);
	if (err) {
		pr_err("cannot register the PMU: %d\n", err);
		goto err_guest;
	}
	return 0;

err_guest:
	dtp_guest_unregister();
err_debugfs:
	debugfs_remove_recursive(dtp_dir);
err_out:
	return err;
}

static void __exit dtp_exit(void)
{
	/* no event is left: each one holds a reference to this module */
	perf_pmu_unregister(&dtp_pmu);
	dtp_guest_unregister();
	/* waits for the file operations in progress; no new ones start */
	debugfs_remove_recursive(dtp_dir);
	dtp_addrs_free(rcu_dereference_protected(dtp_addrs, true));
}

module_init(dtp_init);
module_exit(dtp_exit);

MODULE_DESCRIPTION("Synthetic perf PMU sampling chosen addresses (test only)");
MODULE_LICENSE("GPL");
