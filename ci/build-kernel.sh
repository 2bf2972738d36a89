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
#   kasan, kcsan    the debug profiles of make check-kasan / check-kcsan:
#                   the test kernel plus configs/<name>.config; bzImage
#                   and modules, into $BUILD/profile-<name>/kernel/
#   no-perf-events  UML (ARCH=um), DAMON without perf events; vmlinux
#   no-damon-vaddr, no-damon-paddr, no-hugetlb
#                   vm + damon + variant-common fragments (no debug info,
#                   no lock debugging: they are only compiled) plus
#                   configs/variant-<name>.config; vmlinux
#
# Dependencies: gcc, make, flex, bison, bc, libelf-dev, libssl-dev, ccache,
# dwarves.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

readonly CFG=$PROJ_ROOT/configs
readonly MAIN_FRAGS=("$CFG/vm.config" "$CFG/damon.config" "$CFG/debug.config"
	"$CFG/guest.config")

variant=${1:-}
[ -d "$KTREE/.git" ] || die "no kernel-tree/: run 'make kernel-tree' first"

build_main() {
	local out=$BUILD/kernel
	"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig "${MAIN_FRAGS[@]}"
	kmake "$out" ARCH=x86_64 bzImage modules
}

build_bench() {
	local out=$BUILD/kernel-bench
	"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig \
		"$CFG/vm.config" "$CFG/damon.config"
	kmake "$out" ARCH=x86_64 bzImage modules
}

build_profile() {
	local out=$BUILD/profile-$1/kernel
	"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig \
		"${MAIN_FRAGS[@]}" "$CFG/$1.config"
	kmake "$out" ARCH=x86_64 bzImage modules
}

build_variant() {
	local name=$1 frag=$CFG/variant-$1.config out=$BUILD/variant-$1
	[ -r "$frag" ] || die "unknown variant '$name' (no $frag)"
	if grep -q '^# ARCH=um$' "$frag"; then
		"$PROJ_ROOT/ci/merge-config.sh" "$out" um allnoconfig \
			"$CFG/damon.config" "$frag"
		kmake "$out" ARCH=um vmlinux
	else
		"$PROJ_ROOT/ci/merge-config.sh" "$out" x86_64 tinyconfig \
			"$CFG/vm.config" "$CFG/damon.config" \
			"$CFG/variant-common.config" "$frag"
		kmake "$out" ARCH=x86_64 vmlinux
	fi
}

run() {
	local out=$BUILD/kernel key
	case $variant in
	"") ;;
	bench) out=$BUILD/kernel-bench ;;
	kasan | kcsan) out=$BUILD/profile-$variant/kernel ;;
	*) out=$BUILD/variant-$variant ;;
	esac
	key=$(state_key "$CFG"/*.config "$PROJ_ROOT/ci/build-kernel.sh" \
		"$PROJ_ROOT/ci/merge-config.sh")
	if [ "$(cat "$out/.hws-built" 2>/dev/null)" = "$key" ]; then
		info "${variant:-test kernel}: up to date"
		return
	fi
	rm -f "$out/.hws-built"
	if [ -z "$variant" ]; then
		build_main
	elif [ "$variant" = bench ]; then
		build_bench
	elif [ "$variant" = kasan ] || [ "$variant" = kcsan ]; then
		build_profile "$variant"
	else
		build_variant "$variant"
	fi
	echo "$key" > "$out/.hws-built"
}

if [ "${DAMON_HWS_LOCKED:-}" = 1 ]; then
	run
else
	DAMON_HWS_LOCKED=1 with_build_lock "$0" "$@"
fi
