#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: build-selftests.sh [OUTPUT [KBUILD [FILE...]]]
#
# The one way the project builds selftests/ (make selftests, make check,
# make demo, make bench, make soak, make mutants): the C++ programs into
# OUTPUT (default $BUILD/selftests) and the test modules against the
# kernel build directory KBUILD (default $BUILD/kernel), under the build
# lock, then OUTPUT/tests.list, the build's TEST_GEN_PROGS (what
# ci/guest-tests.sh runs), and OUTPUT/settings, the collection's timeout.  With FILEs (names in OUTPUT, e.g.
# damon_accuracy damon_test_pmu.ko), only those are built.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:-$BUILD/selftests} kbuild=${2:-$BUILD/kernel}
shift $(($# < 2 ? $# : 2))
have_ktree || die "no kernel-tree/: run 'make kernel-tree' first"

st() { make -s -C "$PROJ_ROOT/selftests" KDIR="$KTREE" OUTPUT="$out" "$@"; }
st -j"$JOBS" KBUILD_OUTPUT_DIR="$kbuild" BUILD_LOCK="$BUILD_LOCK" "${@/#/$out/}"
st list_tests > "$out/tests.list"
# the collection's kselftest settings, next to the programs as an install
# puts them (ci/guest-tests.sh takes each program's timeout from it)
cp "$PROJ_ROOT/selftests/settings" "$out/settings"
