/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clock the test modules time short stretches of code with, on one CPU
 * (test_damon_bench's batches, damon_test_pmu's overflow handler calls):
 * the TSC with rdtsc_ordered() where its frequency is known, else ktime.
 * Not local_clock(): QEMU's TCG gives the guest the host's TSC but the
 * guest marks its TSCs unstable across CPUs, and then local_clock() does
 * not run past the end of the current tick window, so a stretch timed
 * while the tick is late counts short.
 */
#ifndef DAMON_TEST_CLOCK_H
#define DAMON_TEST_CLOCK_H

#include <linux/ktime.h>
#include <linux/math64.h>
#ifdef CONFIG_X86_TSC
#include <asm/msr.h>
#include <asm/tsc.h>
#endif

/* The TSC's frequency, 0 where damon_test_clock() counts nanoseconds. */
static inline unsigned int damon_test_tsc_khz(void)
{
#ifdef CONFIG_X86_TSC
	if (boot_cpu_has(X86_FEATURE_TSC))
		return tsc_khz;
#endif
	return 0;
}

/* The unit of damon_test_clock(): "tsc" or "ktime" (nanoseconds). */
static inline const char *damon_test_clock_name(void)
{
	return damon_test_tsc_khz() ? "tsc" : "ktime";
}

static __always_inline u64 damon_test_clock(void)
{
#ifdef CONFIG_X86_TSC
	if (likely(tsc_khz))
		return rdtsc_ordered();
#endif
	return ktime_get_ns();
}

/* A difference of two damon_test_clock() readings, in picoseconds. */
static inline u64 damon_test_clock_to_ps(u64 t)
{
	unsigned int khz = damon_test_tsc_khz();

	return khz ? mul_u64_u32_div(t, NSEC_PER_SEC, khz) : t * 1000;
}

#endif /* DAMON_TEST_CLOCK_H */
