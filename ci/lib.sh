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
# Paths below the checkout become relative and the build directory is not
# hashed, so the test kernel, the config variants and other checkouts of
# this project share cache entries (kbuild with O= passes relative paths
# for the object tree).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PROJ_ROOT}
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}
# Kernel builds must never overlap on a 2-core machine: every build takes
# this lock (flock), whichever checkout it comes from.
BUILD_LOCK=$CACHE/kernel-build.lock
JOBS=${JOBS:-$(nproc)}

# kernel-tree/ is a git submodule of this project: its .git is a file
# naming .git/modules/kernel-tree (or, in trees provisioned before it was
# one, a directory).  Test for it with have_ktree, not with -d .git; an
# empty kernel-tree/ (a fresh clone) is not a tree: git -C would find the
# superproject.
have_ktree() { [ -e "$KTREE/.git" ]; }
ktree_gitdir() { git -C "$KTREE" rev-parse --absolute-git-dir; }

# Kernel parameters of every VM run on a debug profile's kernel (make
# check-kasan/kcsan, make soak SOAK_PROFILE=).  pci=noacpi: under KASAN or
# KCSAN in TCG the ACPI interpreter is so slow that QEMU's PCI routing
# method (_PRT) hits ACPICA's 30 s loop timeout and the virtio devices (the
# 9p root) get no interrupt; the BIOS's routing table gives the same
# routing without running AML.  panic_on_warn=1, the usual rule for
# sanitizer runs: the first KASAN or KCSAN report or WARN panics the guest
# (panic=-1 and -no-reboot end QEMU at once), and the verdict reads the
# report from the console log.
PROFILE_VM_PARAMS="pci=noacpi panic_on_warn=1"

# The timeout of each of upstream's DAMON kselftests under TCG, where the
# collection's 45 s (kselftest's default) is meant for hardware: sysfs.sh
# took 664 s on the test kernel here (4 vCPUs, 2026-12-06).  make check and
# ci/kselftest-base.sh pass it as HWS_KSELFTEST_TIMEOUT.
KSELFTEST_TCG_TIMEOUT=1200

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

die() { echo "error: $*" >&2; exit "$KSFT_FAIL"; }
info() { echo ">> $*" >&2; }

# The host as benchmark baselines name it (selftests/damon_bench.baseline):
# CPU vendor, family and model and the number of CPUs, e.g.
# GenuineIntel-6-143-2cpus.  TCG's speed ratios between kinds of work
# differ between host CPUs, so a baseline holds on its host only.
host_key() {
	awk -F'\t*: ' -v n="$(nproc)" '
		$1 == "vendor_id" { v = $2 } $1 == "cpu family" { f = $2 }
		$1 == "model" { m = $2 } /^$/ { exit }
		END { printf "%s-%s-%s-%scpus\n", v, f, m, n }' /proc/cpuinfo
}

# Run a command under the global kernel-build lock.
with_build_lock() {
	mkdir -p "$CACHE"
	flock "$BUILD_LOCK" "$@"
}

# Copy the kernel build directory $1 to $2 (replacing it) so that a build
# there with a configuration a few options apart recompiles only what
# depends on them.  objtool is built with absolute output paths, so kbuild
# rebuilds it in the copy, and every object depends on the objtool binary
# (scripts/Makefile.lib, cmd_gen_objtooldep): the rebuilt binary, the same
# program, and its objects get the original binary's time back so that
# neither objtool is linked again nor the whole kernel recompiled.
clone_kernel_build() {
	local src=$1 dst=$2
	rm -rf "$dst"
	cp -a "$src" "$dst"
	kmake "$dst" ARCH=x86_64 tools/objtool > /dev/null
	find "$dst/tools/objtool" -exec touch -h -r "$src/tools/objtool/objtool" {} +
}

# kbuild wrapper for the main build directory or a variant one.
kmake() {
	local out=$1; shift
	make -C "$KTREE" O="$out" -j"$JOBS" CC="ccache gcc" \
		KBUILD_BUILD_USER=ci \
		KBUILD_BUILD_HOST=damon-hwsample "$@"
}

# A key for "nothing changed": the kernel tree's HEAD commit (none when the
# tree has uncommitted changes, so that edits are always rebuilt), plus the
# contents of the given project files.
state_key() {
	local head
	if [ -n "$(git -C "$KTREE" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		echo "dirty-$(date +%s%N)"
		return
	fi
	head=$(git -C "$KTREE" rev-parse HEAD 2>/dev/null) || head=none
	local f
	for f in "$@"; do
		if [ -f "$f" ]; then
			echo "== $f"
			cat "$f"
		fi
	done | { echo "$head"; cat; } | sha1sum | cut -d' ' -f1
}

# The static checks' verdict into $1 (the output in $2): reused from
# $BUILD/static.ktap when $3, the state_key of what the checks read, is the
# one it was made with, else ci/static-checks.sh runs.  Only a full run is
# reused or stored: a restricted one (STATIC_CHECKS=...) is neither.
static_checks_cached() {
	local out=$1 log=$2 key=$3
	[ -z "${STATIC_CHECKS:-}" ] || key=
	if [ -n "$key" ] && [ -f "$BUILD/static.ktap" ] &&
	   [ "$(cat "$BUILD/static.key" 2>/dev/null)" = "$key" ]; then
		info "static checks: nothing changed, reusing $BUILD/static.ktap"
		cp "$BUILD/static.ktap" "$out"
		return 0
	fi
	[ -n "$key" ] || info "static checks: restricted to STATIC_CHECKS=$STATIC_CHECKS, not cached"
	"$PROJ_ROOT/ci/static-checks.sh" "$out" > "$log" 2>&1 || return
	[ -n "$key" ] || return 0
	cp "$out" "$BUILD/static.ktap"
	echo "$key" > "$BUILD/static.key"
}

# apt-get/apt-cache against one extra Debian suite, with a private
# configuration under $CACHE/apt-<suite>: the machine's own sources and
# package state are not touched.  Downloads are verified against the
# suite's signed index as usual.  The index is refreshed at most hourly.
#   private_apt SUITE apt-get download PKG=VER
private_apt() {
	local suite=$1 tool=$2 d=$CACHE/apt-$1
	shift 2
	local -a opts=(-o "Dir::Etc::sourcelist=$d/sources.list"
		-o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$d/lists"
		-o "Dir::Cache=$d/cache" -o APT::Sandbox::User=root)

	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb $KSRC_MIRROR $suite main" > "$d/sources.list"
	if [ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null)" ]; then
		info "updating the $suite package index"
		apt-get "${opts[@]}" -q update >&2 || die "apt-get update for $suite failed"
	fi
	"$tool" "${opts[@]}" "$@"
}
