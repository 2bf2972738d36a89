#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: build-kernel.sh [VARIANT]
#
# Build kernel-tree/ with ccache into $BUILD/<variant>/ under the global
# build lock (never two kernel builds at once).
#   (none)          the test kernel: tinyconfig + vm + damon + debug + guest
#                   fragments; bzImage and modules
#   bench           the benchmark kernel: the test kernel without the
#                   debug fragment (no lockdep, PROVE_RCU, kmemleak or
#                   debug objects, which distort timings) and without the
#                   guest fragment (KVM, only for a test); bzImage and
#                   modules, into $BUILD/kernel-bench/
#   demo            the demo kernel of make demo: the benchmark kernel's
#                   configuration plus configs/demo.config (no debug info,
#                   no KUnit); bzImage and modules, into $BUILD/kernel-demo/
#   kasan, kcsan    the debug profiles of make check-kasan / check-kcsan:
#                   the test kernel plus configs/<name>.config; bzImage
#                   and modules, into $BUILD/profile-<name>/kernel/
#   no-perf-events  UML (ARCH=um), DAMON without perf events; vmlinux
#   no-damon-vaddr, no-damon-paddr
#                   the test kernel's configuration with one DAMON
#                   operations set off (configs/variant-<name>.config);
#                   vmlinux, in $BUILD/variant-x86/, a copy of the test
#                   kernel's build directory
#   minimal         the smallest x86_64 kernel the series builds in:
#                   tinyconfig + damon + configs/variant-minimal.config
#                   (no SMP, NUMA, hugetlb, AMD support or tracing, no
#                   debug info); vmlinux, into $BUILD/variant-minimal/
#
# The two DAMON variants differ from the test kernel in an option a few
# objects depend on, so they start from a copy of its build directory
# (made again when the test kernel was rebuilt) and are built one after
# the other there: kbuild's per-option dependencies (fixdep,
# include/config/) recompile only the objects that depend on an option
# that changed, and vmlinux is linked again each time.  A variant is up to
# date when its own stamp, .hws-built-<name>, holds the current key: "this
# variant built from this state", true whichever variant the directory
# holds now.
#
# Dependencies: gcc, make, flex, bison, bc, libelf-dev, libssl-dev, ccache,
# dwarves.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

readonly CFG=$PROJ_ROOT/configs
readonly MAIN_FRAGS=("$CFG/vm.config" "$CFG/damon.config" "$CFG/debug.config"
	"$CFG/guest.config")

variant=${1:-}
have_ktree || die "no kernel-tree/: run 'make kernel-tree' first"

build_main() {
	local out=$BUILD/kernel
	"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig "${MAIN_FRAGS[@]}"
	kmake "$out" ARCH=x86_64 bzImage modules
}

# the benchmark kernel ($1 = bench) or the demo kernel ($1 = demo)
build_lean() {
	local out=$BUILD/kernel-$1
	local -a frags=("$CFG/vm.config" "$CFG/damon.config")
	[ "$1" = bench ] || frags+=("$CFG/$1.config")
	"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig "${frags[@]}"
	kmake "$out" ARCH=x86_64 bzImage modules
}

build_profile() {
	local out=$BUILD/profile-$1/kernel
	"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig \
		"${MAIN_FRAGS[@]}" "$CFG/$1.config"
	kmake "$out" ARCH=x86_64 bzImage modules
}

# How a variant's fragment says it is built: "um", "test" (on the test
# kernel's configuration) or "tiny" (tinyconfig + damon).
variant_base() {
	local frag=$CFG/variant-$1.config
	[ -r "$frag" ] || die "unknown variant '$1' (no $frag)"
	sed -nE 's/^# BASE=(um|test|tiny)$/\1/p' "$frag" | grep . ||
		die "$frag: no '# BASE=um|test|tiny' line"
}

# The output directory of a variant.
variant_dir() {
	case $(variant_base "$1") in
	test) echo "$BUILD/variant-x86" ;;
	*) echo "$BUILD/variant-$1" ;;
	esac
}

# $1, the shared directory of the test-based variants, as a copy of the
# test kernel's build directory (built first if it is not up to date),
# made again when the test kernel was rebuilt since the last copy.
seed_from_test_kernel() {
	local out=$1 main=$BUILD/kernel
	variant="" run
	if [ "$(cat "$out/.hws-seed" 2>/dev/null)" != "$(cat "$main/.hws-built")" ]; then
		info "copying the test kernel's build directory to $out"
		clone_kernel_build "$main" "$out"
		rm -f "$out"/.hws-built*
		cp "$main/.hws-built" "$out/.hws-seed"
	fi
}

build_variant() {
	local name=$1 frag=$CFG/variant-$1.config out
	out=$(variant_dir "$name")
	case $(variant_base "$name") in
	um)
		"$PROJ_ROOT/ci/merge-config.sh" "$out" um allnoconfig \
			"$CFG/damon.config" "$frag"
		kmake "$out" ARCH=um vmlinux
		;;
	test)
		seed_from_test_kernel "$out"
		"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig \
			"${MAIN_FRAGS[@]}" "$frag"
		kmake "$out" ARCH=x86_64 vmlinux
		;;
	tiny)
		"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig \
			"$CFG/damon.config" "$frag"
		kmake "$out" ARCH=x86_64 vmlinux
		;;
	esac
}

run() {
	local out=$BUILD/kernel key stamp
	case $variant in
	"") ;;
	bench | demo) out=$BUILD/kernel-$variant ;;
	kasan | kcsan) out=$BUILD/profile-$variant/kernel ;;
	*) out=$(variant_dir "$variant") ;;
	esac
	stamp=$out/.hws-built
	# a shared variant directory: one stamp per variant
	[ "$out" != "$BUILD/variant-x86" ] || stamp=$out/.hws-built-$variant
	key=$(state_key "$CFG"/*.config "$PROJ_ROOT/ci/build-kernel.sh" \
		"$PROJ_ROOT/ci/merge-config.sh")
	if [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
		info "${variant:-test kernel}: up to date"
		return
	fi
	rm -f "$stamp"
	if [ -z "$variant" ]; then
		build_main
	elif [ "$variant" = bench ] || [ "$variant" = demo ]; then
		build_lean "$variant"
	elif [ "$variant" = kasan ] || [ "$variant" = kcsan ]; then
		build_profile "$variant"
	else
		build_variant "$variant"
	fi
	echo "$key" > "$stamp"
}

if [ "${DAMON_HWS_LOCKED:-}" = 1 ]; then
	run
else
	DAMON_HWS_LOCKED=1 with_build_lock "$0" "$@"
fi
