# SPDX-License-Identifier: GPL-2.0
# Common settings for the ci/ scripts.  Sourced, never run.
# shellcheck shell=bash

PROJ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../series.conf
. "$PROJ_ROOT/series.conf"

KTREE=${KTREE:-$PROJ_ROOT/kernel-tree}
BUILD=${BUILD:-$PROJ_ROOT/build}
RESULTS=${RESULTS:-$PROJ_ROOT/results}
CACHE=${DAMON_HWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/damon-hwsample}
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccache}
# Kernel builds must never overlap on a 2-core machine: every build takes
# this lock (flock), whichever checkout it comes from.
BUILD_LOCK=$CACHE/kernel-build.lock
JOBS=${JOBS:-$(nproc)}

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

die() { echo "error: $*" >&2; exit "$KSFT_FAIL"; }
info() { echo ">> $*" >&2; }

# Run a command under the global kernel-build lock.
with_build_lock() {
	mkdir -p "$CACHE"
	flock "$BUILD_LOCK" "$@"
}

# kbuild wrapper for the main build directory or a variant one.
kmake() {
	local out=$1; shift
	make -C "$KTREE" O="$out" -j"$JOBS" CC="ccache gcc" \
		KBUILD_BUILD_USER=ci \
		KBUILD_BUILD_HOST=damon-hwsample "$@"
}
