#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: demo.sh
#
# Boot the test kernel and run the DAMON demo in it: a process with a hot
# and a cold buffer, monitored through DAMON's sysfs interface; prints
# DAMON's view of its address space and a verdict.  Expects `make kernel
# selftests` to have run (the Makefile's demo target does that).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$PROJ_ROOT/ci/vm-run.sh" -c 2 -m 1024 -t 600 -r "$RESULTS/demo" -- \
	/bin/sh -c "$BUILD/selftests/damon_demo > \$HWS_RESULTS/demo.txt 2>&1; rc=\$?; dmesg > \$HWS_RESULTS/dmesg.txt; exit \$rc" || rc=$?
cat "$RESULTS/demo/demo.txt" 2>/dev/null
exit "${rc:-0}"
