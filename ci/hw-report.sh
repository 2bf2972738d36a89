#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: hw-report.sh [--event <pmu>:<config>[:<config1>[:<precise_ip>]]]...
#
# make hw-report: on a machine that runs a kernel with the series, as root,
# build damon_hw_report and damon_accuracy for this machine (plain g++, no
# kernel tree needed) and run the checklist of damon_hw_report --report with
# each sampling PMU found (Intel PEBS, AMD IBS Op, the IBS Memory Profiler)
# or with the events given.  The plain-text report, to paste into a reply
# on the list, goes to $RESULTS/hw-report.txt.  Without a sampling PMU (a
# VM) it says so and the run SKIPs.  EVENT=spec (make hw-report EVENT=...)
# adds an event.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "make hw-report needs root (DAMON's sysfs files are root only)"
out=$BUILD/hw-report
mkdir -p "$out" "$RESULTS"
src=$PROJ_ROOT/selftests
libs=("$src"/lib/*.cpp)
flags=(-std=gnu++17 -O2 -Wall -Wextra -Werror -I"$src")
for prog in damon_hw_report damon_accuracy; do
	info "building $prog"
	g++ "${flags[@]}" "$src/$prog.cpp" "${libs[@]}" -o "$out/$prog" -lpthread
done
args=(--report -o "$RESULTS/hw-report.txt")
[ -z "${EVENT:-}" ] || args+=(--event "$EVENT")
args+=("$@")
rc=0
"$out/damon_hw_report" "${args[@]}" || rc=$?
info "report: $RESULTS/hw-report.txt"
cat "$RESULTS/hw-report.txt"
exit $rc
