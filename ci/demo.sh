#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: demo.sh
#
# The demo: a workload generator with four 32 MiB regions whose hot set
# moves (phase change), monitored by DAMON through the perf_events ABI,
# shown as an access heatmap over time in the terminal, with a one-line
# verdict (hot set found, precision and recall, phase change detection
# time); the same heatmap as a PNG in $RESULTS/demo/heatmap.png.
#
# Without EVENT, the demo kernel (ci/build-kernel.sh demo: the benchmark
# kernel's configuration without debug info and KUnit, a short cold build;
# make check keeps the debug test kernel) boots in a VM and the samples
# come from the test PMU (selftests/damon_test_pmu/), which replays the
# generator's access distribution: there is no sampling PMU in a TCG
# guest.  Only damon_accuracy and the test PMU module are built
# ($BUILD/selftests-demo).
#
# With EVENT=<pmu>:<config>[:<config1>[:<precise_ip>]] the demo runs on
# this machine instead, which must run a kernel with the series, as root,
# and the named PMU samples the generator for real, e.g.
#   EVENT=ibs_op:0                  AMD IBS Op (type from
#                                   /sys/bus/event_source/devices/ibs_op)
#   EVENT=cpu:0x20d1:0:1            Intel PEBS, MEM_LOAD_RETIRED.L3_MISS
#                                   (precise_ip 1; cpu_core on hybrid
#                                   parts).  Not mem-loads (0x1cd, ldlat in
#                                   config1): on Sapphire Rapids and the
#                                   P-cores of Alder/Raptor Lake it needs
#                                   its aux event as group leader, which
#                                   DAMON does not create (-ENODATA)

set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$RESULTS/demo
kbuild=$BUILD/kernel-demo sdir=$BUILD/selftests-demo
prog=$sdir/damon_accuracy
mkdir -p "$out"
if [ -z "${EVENT:-}" ]; then
	info "the demo kernel (log: $out/build-kernel.log)"
	"$PROJ_ROOT/ci/build-kernel.sh" demo > "$out/build-kernel.log" 2>&1 ||
		{ tail -n 40 "$out/build-kernel.log" >&2; die "demo kernel build failed"; }
	"$PROJ_ROOT/ci/build-selftests.sh" "$sdir" "$kbuild" damon_accuracy damon_test_pmu.ko
else
	"$PROJ_ROOT/ci/build-selftests.sh" "$sdir" "$kbuild" damon_accuracy 2>/dev/null
fi

rc=0
if [ -n "${EVENT:-}" ]; then
	[ "$(id -u)" -eq 0 ] || die "EVENT=: the demo runs on this machine and needs root"
	info "demo on this machine with the PMU event $EVENT"
	DAMON_DEMO_EVENT=$EVENT DAMON_ACCURACY_RESULTS=$out/demo.json \
		"$prog" --demo | tee "$out/demo.txt" || rc=$?
else
	info "demo in the VM (test PMU; under a minute under TCG)"
	"$PROJ_ROOT/ci/vm-run.sh" -k "$kbuild/arch/x86/boot/bzImage" -c 2 -m 2048 -t 600 -r "$out/vm" -- \
		/bin/sh -c "cd /tmp && DAMON_ACCURACY_RESULTS=\$HWS_RESULTS/demo.json $prog --demo > \$HWS_RESULTS/demo.txt 2>&1; rc=\$?; dmesg > \$HWS_RESULTS/dmesg.txt; exit \$rc" || rc=$?
	cat "$out/vm/demo.txt" 2>/dev/null || true
	cp "$out/vm/demo.json" "$out/demo.json" 2>/dev/null || true
fi
if [ -s "$out/demo.json" ]; then
	/usr/bin/python3 "$PROJ_ROOT/ci/bench-report.py" --heatmap \
		"$out/demo.json" "$out/heatmap.png" >&2 &&
		info "heatmap: $out/heatmap.png"
fi
exit "$rc"
