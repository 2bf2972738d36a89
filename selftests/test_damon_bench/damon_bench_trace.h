/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the test_damon_bench test module: one that a producer writes
 * for every access it sees (the "tracepoint write" of the benchmark), and
 * the overflow event of the in-module model of Ravi v2's ring push.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM damon_bench

#if !defined(_DAMON_BENCH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DAMON_BENCH_TRACE_H

#include <linux/damon.h>
#include <linux/tracepoint.h>

TRACE_EVENT(damon_bench_access,

	TP_PROTO(const struct damon_access_report *report),

	TP_ARGS(report),

	TP_STRUCT__entry(
		__field(u64, paddr)
		__field(unsigned long, vaddr)
		__field(unsigned int, size)
		__field(unsigned int, flags)
	),

	TP_fast_assign(
		__entry->paddr = report->paddr;
		__entry->vaddr = report->vaddr;
		__entry->size = report->size;
		__entry->flags = report->flags;
	),

	TP_printk("paddr=0x%llx vaddr=0x%lx size=%u flags=0x%x",
		  __entry->paddr, __entry->vaddr, __entry->size, __entry->flags)
);

TRACE_EVENT(damon_bench_ring_overflow,

	TP_PROTO(int cpu),

	TP_ARGS(cpu),

	TP_STRUCT__entry(
		__field(int, cpu)
	),

	TP_fast_assign(
		__entry->cpu = cpu;
	),

	TP_printk("cpu=%d", __entry->cpu)
);

#endif /* _DAMON_BENCH_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE damon_bench_trace
#include <trace/define_trace.h>
