/* SPDX-License-Identifier: GPL-2.0 */
/*
 * damon_report_access() and the access report counters of all CPUs
 * (damon_report_sum_stats(), static in mm/damon/report.c) for the test
 * modules (test_damon_report, test_damon_bench), found by name at load time.
 *
 * The series exports nothing for test modules: the only producer of access
 * reports is built in (the perf events sampler), so damon_report_access()
 * has no EXPORT_SYMBOL_GPL(), and the kernel shows the counters per
 * context only (damon_report_read_stats()), while the tests check the
 * counters of all CPUs, including reports that no context owned.  The
 * modules look them up with kallsyms_lookup_name() instead, which is not
 * exported either: a kprobe on it, registered and unregistered at once,
 * tells its address.  This needs CONFIG_KPROBES and CONFIG_KALLSYMS
 * (configs/vm.config), and a kernel without CONFIG_X86_KERNEL_IBT (the
 * test kernels have none): with IBT, functions whose address the kernel
 * never takes lose their ENDBR, and an indirect call to them faults.
 *
 * A module includes this once, calls damon_report_syms_init() first in
 * its module_init, and calls the functions through the two pointers.  The
 * access pointer has the type of the declaration in <linux/damon.h>, so a
 * changed signature breaks the build; damon_report_sum_stats() has no
 * declaration to check against (its signature is restated here).
 */
#ifndef DAMON_HWS_REPORT_SYMS_H
#define DAMON_HWS_REPORT_SYMS_H

#include <linux/cache.h>
#include <linux/damon.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/kprobes.h>
#include <linux/printk.h>

static typeof(damon_report_access) *damon_report_access_fn __ro_after_init;
static void (*damon_report_sum_stats_fn)(struct damon_report_stats *stats)
	__ro_after_init;

/* The address of kallsyms_lookup_name(), or 0 (with a message). */
static unsigned long __init damon_report_syms_lookup_fn(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;
	int err;

	err = register_kprobe(&kp);
	if (err) {
		pr_err("symbol kallsyms_lookup_name not found: register_kprobe() failed (%d), no CONFIG_KPROBES?\n",
		       err);
		return 0;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/*
 * Set damon_report_access_fn and damon_report_sum_stats_fn.  Returns 0,
 * or -ENOENT with a message naming the symbol that was not found.
 */
static int __init damon_report_syms_init(void)
{
	unsigned long (*lookup)(const char *name);
	unsigned long addr = damon_report_syms_lookup_fn();

	if (!addr)
		return -ENOENT;
	lookup = (unsigned long (*)(const char *))addr;
	addr = lookup("damon_report_access");
	if (!addr) {
		pr_err("symbol damon_report_access not found\n");
		return -ENOENT;
	}
	damon_report_access_fn = (typeof(damon_report_access_fn))addr;
	addr = lookup("damon_report_sum_stats");
	if (!addr) {
		pr_err("symbol damon_report_sum_stats not found\n");
		return -ENOENT;
	}
	damon_report_sum_stats_fn = (typeof(damon_report_sum_stats_fn))addr;
	return 0;
}

#endif /* DAMON_HWS_REPORT_SYMS_H */
