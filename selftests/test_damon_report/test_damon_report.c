// SPDX-License-Identifier: GPL-2.0
/*
 * test_damon_report - make synthetic DAMON access reports, for tests only
 *
 * Calls damon_report_access() with addresses that a test chooses, from
 * process context or from a pinned hard-IRQ hrtimer, so that selftests can
 * drive DAMON's access report rings end to end without a PMU.  The kernel
 * exports neither damon_report_access() nor a sum of the report counters
 * over all CPUs: the module finds them by name when it loads
 * (damon_report_syms.h).
 * Everything is controlled through debugfs, in
 * /sys/kernel/debug/test_damon_report/:
 *
 * inject (write)
 *	One line of key=value words:
 *
 *	kind=paddr|vaddr  which address the reports carry (required)
 *	addr=<u64>        first address (default 0)
 *	span=<u64>        0 (default): every report has @addr; otherwise
 *	                  report i has addr + (offset + i * stride) % span
 *	stride=<u64>      default PAGE_SIZE
 *	offset=<u64>      default 0
 *	size=<u32>        size of each access (default 0, which means 1)
 *	count=<n>         number of reports (default 1)
 *	cpu=<cpu>         CPU to report from, -1 (default) for the current one
 *	ctx=process|irq   process (default): report from the writer (or from a
 *	                  kworker on @cpu) before the write returns; irq:
 *	                  report from a hrtimer pinned to @cpu and return at once
 *	rate=<n>          irq only: reports per second (default 1000), on
 *	                  average: the timer period is burst / rate seconds,
 *	                  and an expiry that comes late (on the next tick,
 *	                  without high resolution timers) makes the reports of
 *	                  every period that passed
 *	burst=<n>         irq only: reports per timer period (default 1)
 *	pid=<pid>         vaddr only (required): the process whose address
 *	                  space the reports name
 *
 *	or the single word "stop", which cancels a running irq injection.
 *	Bad input fails with -EINVAL and a warning naming the problem; a
 *	write while an injection runs fails with -EBUSY.
 *
 * stats (read)
 *	"key value" lines: injected (reports this module made since it was
 *	loaded), irq_pending (reports a running irq injection still has to
 *	make), busy, and the access report counters of all CPUs.
 *
 * wait (read)
 *	Blocks until no injection runs, then reads "idle".
 *
 * The irq path takes no lock, allocates nothing and does not print.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/damon.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "damon_report_syms.h"

/* Longest accepted line written to "inject". */
#define DRI_LINE_MAX		256
/* Most reports one injection makes. */
#define DRI_MAX_COUNT		BIT(24)
#define DRI_MAX_RATE		1000000U
#define DRI_MAX_BURST		1024U
#define DRI_DEFAULT_RATE	1000U
/* Most reports one timer expiry makes, catching up or not. */
#define DRI_MAX_PER_EXPIRY	4096U
/* Shortest hrtimer period accepted for irq injections. */
#define DRI_MIN_PERIOD_NS	(10 * NSEC_PER_USEC)
/* Process context injections look for fatal signals this often. */
#define DRI_RESCHED_EVERY	1024

/* How often a reader of "wait" looks whether the injection ended. */
#define DRI_WAIT_POLL_MS	10

/* Bit of dri_flags set while an injection runs. */
#define DRI_BUSY		0

enum dri_ctx {
	DRI_CTX_PROCESS,
	DRI_CTX_IRQ,
};

/* One injection: what a write to "inject" asked for, and its progress. */
struct dri_run {
	/* the fields that are the same in every report */
	struct damon_access_report tmpl;
	bool vaddr;
	u64 addr;
	u64 span;
	/* already reduced modulo @span */
	u64 stride;
	unsigned long count;
	int cpu;
	enum dri_ctx ctx;
	unsigned int rate;
	unsigned int burst;
	u64 period_ns;
	/* when the next period ends, in ktime_get_ns() time (irq only) */
	u64 due;
	/* offset of the next report from @addr, below @span */
	u64 off;
	/* reports made so far */
	unsigned long done;
};

static struct dentry *dri_dir;
static unsigned long dri_flags;
/* Serializes starting and stopping irq injections. */
static DEFINE_MUTEX(dri_irq_lock);
static struct hrtimer dri_timer;
/* The irq injection; written only while no timer is queued or running. */
static struct dri_run dri_irq_run;
static atomic_long_t dri_injected = ATOMIC_LONG_INIT(0);
static atomic_long_t dri_irq_pending = ATOMIC_LONG_INIT(0);

/* Make the next report of @run.  Called with preemption disabled. */
static void dri_push(struct dri_run *run)
{
	struct damon_access_report report = run->tmpl;
	u64 addr = run->addr + run->off;

	if (run->vaddr)
		report.vaddr = addr;
	else
		report.paddr = addr;
	damon_report_access_fn(&report);
	atomic_long_inc(&dri_injected);
	run->done++;
	if (run->span) {
		run->off += run->stride;
		if (run->off >= run->span)
			run->off -= run->span;
	}
}

static void dri_set_idle(void)
{
	clear_bit_unlock(DRI_BUSY, &dri_flags);
}

/*
 * The timer periods that ended by now, at least one, and when the next one
 * ends.  Counted here rather than with hrtimer_forward(): without
 * CONFIG_HIGH_RES_TIMERS that rounds a period shorter than a tick up to a
 * tick, so a short period would count once a tick.
 */
static u64 dri_periods_due(struct dri_run *run)
{
	u64 now = ktime_get_ns(), n = 1;

	if (now > run->due)
		n = div64_u64(now - run->due, run->period_ns) + 1;
	run->due += n * run->period_ns;
	if (run->due <= now)
		run->due = now + run->period_ns;
	return n;
}

/*
 * Make @burst reports for every timer period that passed since the last
 * expiry: without CONFIG_HIGH_RES_TIMERS, hrtimers expire on ticks only,
 * and several periods pass between two expiries.
 */
static enum hrtimer_restart dri_timer_fn(struct hrtimer *timer)
{
	struct dri_run *run = &dri_irq_run;
	u64 periods = dri_periods_due(run);
	unsigned long n;

	hrtimer_set_expires(timer, ns_to_ktime(run->due));

	n = min_t(u64, max_t(u64, periods, 1) * run->burst, DRI_MAX_PER_EXPIRY);
	for (; n && run->done < run->count; n--)
		dri_push(run);
	atomic_long_set(&dri_irq_pending, run->count - run->done);
	if (run->done >= run->count) {
		dri_set_idle();
		return HRTIMER_NORESTART;
	}
	return HRTIMER_RESTART;
}

/* Runs on the chosen CPU (IPI or local with interrupts off). */
static void dri_start_timer(void *unused)
{
	dri_irq_run.due = ktime_get_ns() + dri_irq_run.period_ns;
	hrtimer_start(&dri_timer, ns_to_ktime(dri_irq_run.due),
		      HRTIMER_MODE_ABS_PINNED_HARD);
}

static int dri_start_irq(const struct dri_run *req)
{
	int cpu = req->cpu < 0 ? raw_smp_processor_id() : req->cpu;
	int err;

	mutex_lock(&dri_irq_lock);
	/* a callback that just finished may still be returning */
	hrtimer_cancel(&dri_timer);
	dri_irq_run = *req;
	atomic_long_set(&dri_irq_pending, req->count);
	err = smp_call_function_single(cpu, dri_start_timer, NULL, 1);
	if (err)
		atomic_long_set(&dri_irq_pending, 0);
	mutex_unlock(&dri_irq_lock);
	return err;
}

/* Cancel a running irq injection, if any. */
static void dri_stop_irq(void)
{
	mutex_lock(&dri_irq_lock);
	if (hrtimer_cancel(&dri_timer)) {
		atomic_long_set(&dri_irq_pending, 0);
		dri_set_idle();
	}
	mutex_unlock(&dri_irq_lock);
}

static int dri_run_process(void *arg)
{
	struct dri_run *run = arg;

	while (run->done < run->count) {
		preempt_disable();
		dri_push(run);
		preempt_enable();
		if (!(run->done % DRI_RESCHED_EVERY)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

static int dri_inject(const struct dri_run *req)
{
	struct dri_run run;
	int err;

	if (test_and_set_bit_lock(DRI_BUSY, &dri_flags))
		return -EBUSY;
	if (req->ctx == DRI_CTX_IRQ) {
		err = dri_start_irq(req);
		if (err)
			goto out_idle;
		/* the timer callback sets the module idle when it is done */
		return 0;
	}
	run = *req;
	if (run.cpu < 0)
		err = dri_run_process(&run);
	else
		err = smp_call_on_cpu(run.cpu, dri_run_process, &run, false);
out_idle:
	dri_set_idle();
	return err;
}

/* The address space of process @nr: its identity only, no reference. */
static int dri_mm_of(pid_t nr, struct mm_struct **mmp)
{
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;

	pid = find_get_pid(nr);
	if (!pid)
		return -ESRCH;
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!task)
		return -ESRCH;
	mm = get_task_mm(task);
	put_task_struct(task);
	if (!mm)
		return -EINVAL;
	*mmp = mm;
	mmput(mm);
	return 0;
}

static int dri_bad(const char *key, const char *val)
{
	pr_warn_ratelimited("bad value '%s' for %s\n", val, key);
	return -EINVAL;
}

/* Parse one key=value word into @req. */
static int dri_parse_word(char *word, struct dri_run *req, bool *have_kind,
			  int *pid)
{
	char *val = strchr(word, '=');

	if (!val) {
		pr_warn_ratelimited("'%s' is not key=value\n", word);
		return -EINVAL;
	}
	*val++ = '\0';

	if (!strcmp(word, "kind")) {
		if (!strcmp(val, "paddr"))
			req->vaddr = false;
		else if (!strcmp(val, "vaddr"))
			req->vaddr = true;
		else
			return dri_bad(word, val);
		*have_kind = true;
	} else if (!strcmp(word, "addr")) {
		if (kstrtou64(val, 0, &req->addr))
			return dri_bad(word, val);
	} else if (!strcmp(word, "span")) {
		if (kstrtou64(val, 0, &req->span))
			return dri_bad(word, val);
	} else if (!strcmp(word, "stride")) {
		if (kstrtou64(val, 0, &req->stride))
			return dri_bad(word, val);
	} else if (!strcmp(word, "offset")) {
		if (kstrtou64(val, 0, &req->off))
			return dri_bad(word, val);
	} else if (!strcmp(word, "size")) {
		if (kstrtouint(val, 0, &req->tmpl.size))
			return dri_bad(word, val);
	} else if (!strcmp(word, "count")) {
		if (kstrtoul(val, 0, &req->count) || !req->count ||
		    req->count > DRI_MAX_COUNT)
			return dri_bad(word, val);
	} else if (!strcmp(word, "cpu")) {
		if (kstrtoint(val, 0, &req->cpu) || req->cpu < -1 ||
		    (req->cpu >= 0 && ((unsigned int)req->cpu >= nr_cpu_ids ||
				       !cpu_online(req->cpu))))
			return dri_bad(word, val);
	} else if (!strcmp(word, "ctx")) {
		if (!strcmp(val, "process"))
			req->ctx = DRI_CTX_PROCESS;
		else if (!strcmp(val, "irq"))
			req->ctx = DRI_CTX_IRQ;
		else
			return dri_bad(word, val);
	} else if (!strcmp(word, "rate")) {
		if (kstrtouint(val, 0, &req->rate) || !req->rate ||
		    req->rate > DRI_MAX_RATE)
			return dri_bad(word, val);
	} else if (!strcmp(word, "burst")) {
		if (kstrtouint(val, 0, &req->burst) || !req->burst ||
		    req->burst > DRI_MAX_BURST)
			return dri_bad(word, val);
	} else if (!strcmp(word, "pid")) {
		if (kstrtoint(val, 0, pid) || *pid <= 0)
			return dri_bad(word, val);
	} else {
		pr_warn_ratelimited("unknown key '%s'\n", word);
		return -EINVAL;
	}
	return 0;
}

/* Parse a line written to "inject" into @req and check it as a whole. */
static int dri_parse(char *line, struct dri_run *req)
{
	u64 addr_max = PHYS_ADDR_MAX;
	bool have_kind = false;
	char *word;
	int pid = 0;
	int err;

	memset(req, 0, sizeof(*req));
	req->stride = PAGE_SIZE;
	req->count = 1;
	req->cpu = -1;
	req->ctx = DRI_CTX_PROCESS;
	req->rate = DRI_DEFAULT_RATE;
	req->burst = 1;

	while ((word = strsep(&line, " \t\n"))) {
		if (!*word)
			continue;
		err = dri_parse_word(word, req, &have_kind, &pid);
		if (err)
			return err;
	}

	if (!have_kind) {
		pr_warn_ratelimited("kind= is missing\n");
		return -EINVAL;
	}
	if (req->vaddr) {
		addr_max = ULONG_MAX;
		if (!pid) {
			pr_warn_ratelimited("kind=vaddr needs pid=\n");
			return -EINVAL;
		}
		err = dri_mm_of(pid, &req->tmpl.mm);
		if (err) {
			pr_warn_ratelimited("no address space for pid %d\n",
					    pid);
			return -EINVAL;
		}
		req->tmpl.flags |= DAMON_ACCESS_REPORT_VADDR;
	} else {
		if (pid) {
			pr_warn_ratelimited("pid= is for kind=vaddr only\n");
			return -EINVAL;
		}
		req->tmpl.flags |= DAMON_ACCESS_REPORT_PADDR;
	}
	if (req->addr > addr_max ||
	    (req->span && req->span - 1 > addr_max - req->addr)) {
		pr_warn_ratelimited("addr + span does not fit the address type\n");
		return -EINVAL;
	}
	if (req->span) {
		div64_u64_rem(req->stride, req->span, &req->stride);
		div64_u64_rem(req->off, req->span, &req->off);
	} else {
		req->off = 0;
	}
	if (req->ctx == DRI_CTX_IRQ) {
		req->period_ns = div_u64((u64)NSEC_PER_SEC * req->burst,
					 req->rate);
		if (req->period_ns < DRI_MIN_PERIOD_NS) {
			pr_warn_ratelimited("rate / burst above %ld timer expiries per second\n",
					    NSEC_PER_SEC / DRI_MIN_PERIOD_NS);
			return -EINVAL;
		}
	}
	return 0;
}

static ssize_t dri_inject_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct dri_run req;
	char *line;
	int err;

	if (!len || len >= DRI_LINE_MAX) {
		pr_warn_ratelimited("write 1 to %d bytes to inject\n",
				    DRI_LINE_MAX - 1);
		return -EINVAL;
	}
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);

	if (sysfs_streq(line, "stop")) {
		dri_stop_irq();
		err = 0;
		goto out;
	}
	err = dri_parse(line, &req);
	if (err)
		goto out;
	err = dri_inject(&req);
out:
	kfree(line);
	return err ? err : len;
}

static const struct file_operations dri_inject_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= dri_inject_write,
	.llseek	= noop_llseek,
};

static int dri_stats_show(struct seq_file *m, void *unused)
{
	struct damon_report_stats st;

	damon_report_sum_stats_fn(&st);
	seq_printf(m, "injected %ld\n", atomic_long_read(&dri_injected));
	seq_printf(m, "irq_pending %ld\n", atomic_long_read(&dri_irq_pending));
	seq_printf(m, "busy %d\n", test_bit(DRI_BUSY, &dri_flags) ? 1 : 0);
	seq_printf(m, "pushed %lu\n", st.pushed);
	seq_printf(m, "dropped_full %lu\n", st.dropped_full);
	seq_printf(m, "dropped_nested %lu\n", st.dropped_nested);
	seq_printf(m, "dropped_no_owner %lu\n", st.dropped_no_owner);
	seq_printf(m, "drained %lu\n", st.drained);
	seq_printf(m, "attributed %lu\n", st.attributed);
	seq_printf(m, "unmatched %lu\n", st.unmatched);
	seq_printf(m, "stale %lu\n", st.stale);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dri_stats);

static ssize_t dri_wait_read(struct file *file, char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	static const char idle[] = "idle\n";

	if (*ppos)
		return 0;
	/* polled: the hard-IRQ path ends injections and wakes no one */
	while (test_bit(DRI_BUSY, &dri_flags)) {
		if (msleep_interruptible(DRI_WAIT_POLL_MS))
			return -ERESTARTSYS;
	}
	return simple_read_from_buffer(ubuf, len, ppos, idle,
				       sizeof(idle) - 1);
}

static const struct file_operations dri_wait_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= dri_wait_read,
	.llseek	= noop_llseek,
};

static int __init dri_init(void)
{
	struct dentry *dir;
	int err;

	err = damon_report_syms_init();
	if (err)
		return err;
	hrtimer_setup(&dri_timer, dri_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_PINNED_HARD);

	dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(dir)) {
		err = PTR_ERR(dir);
		goto err_out;
	}
	debugfs_create_file("inject", 0200, dir, NULL, &dri_inject_fops);
	debugfs_create_file("stats", 0444, dir, NULL, &dri_stats_fops);
	debugfs_create_file("wait", 0444, dir, NULL, &dri_wait_fops);
	dri_dir = dir;
	return 0;

err_out:
	pr_err("cannot create the debugfs directory: %d\n", err);
	return err;
}

static void __exit dri_exit(void)
{
	/* waits for the file operations in progress; no new ones start */
	debugfs_remove_recursive(dri_dir);
	hrtimer_cancel(&dri_timer);
}

module_init(dri_init);
module_exit(dri_exit);

MODULE_DESCRIPTION("Inject synthetic DAMON access reports (test only)");
MODULE_LICENSE("GPL");
