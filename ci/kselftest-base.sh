#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: kselftest-base.sh [--list]
#
# Measure which of upstream's DAMON kselftests fail on the unpatched base
# kernel and write them, each with the runner's reason, to
# ci/kselftest-damon-base-failures, which make check's verdict reads: a
# kselftest that fails on the patched kernel and is listed there is a SKIP
# saying that the base fails it too; any other failure fails.
#
#   1. the base kernel: a copy of the test kernel's build directory
#      ($BUILD/kernel-base/), built with the test kernel's configuration
#      while kernel-tree/ is checked out at 'base' (the objects the series
#      does not touch are up to date in the copy, and the checkout is
#      'series' again afterwards, also on failure);
#   2. the base's own tools/testing/selftests/damon, installed as
#      kselftest's install target does, into $BUILD/kernel-base-ks/;
#   3. one VM run of them with ci/guest-tests.sh, as make check runs the
#      patched kernel's (same CPUs, memory, nodes, timeouts);
#   4. the list: every test whose runner line is "not ok", with that
#      line's directive and the test's first line of output as the reason.
#
# --list writes the list again from the last run, without building or
# booting.  Not part of make check (a kernel build and a VM run of the
# whole suite):
# run it when the base, the test kernel's configuration or the suite's
# timeouts change, and commit the list.
#
# Dependencies: those of ci/build-kernel.sh and ci/vm-run.sh.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

readonly OUT=$BUILD/kernel-base
readonly RUN=$BUILD/kernel-base-ks
readonly LIST=$PROJ_ROOT/ci/kselftest-damon-base-failures

# Build the base kernel and install its kselftests; under the build lock,
# with kernel-tree/ on 'base' only inside this function.
build_base() {
	local main=$BUILD/kernel

	[ -z "$(git -C "$KTREE" status --porcelain --untracked-files=no)" ] ||
		die "kernel-tree/ has uncommitted changes: commit or stash them first"
	[ -s "$main/.config" ] || die "no test kernel in $main: run 'make kernel' first"
	info "copying the test kernel's build directory to $OUT"
	clone_kernel_build "$main" "$OUT"
	git -C "$KTREE" checkout -q --detach base
	trap 'git -C "$KTREE" checkout -q series' EXIT
	info "building the base kernel ($(git -C "$KTREE" log -1 --format='%h %s'))"
	kmake "$OUT" ARCH=x86_64 olddefconfig > /dev/null
	kmake "$OUT" ARCH=x86_64 bzImage
	rm -rf "$RUN"
	mkdir -p "$RUN/selftests"
	make -s -C "$KTREE/tools/testing/selftests" TARGETS=damon \
		O="$RUN/kselftest-obj" INSTALL_PATH="$RUN/kselftest-damon" install
	git -C "$KTREE" checkout -q series
	trap - EXIT
}

# "<test> <reason>" for each test of the run that failed.
failures() {
	local vmr=$1 t k why first
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		k=$vmr/kselftest-damon/${t#*:}.ktap
		if [ ! -s "$k" ]; then
			echo "${t#*:} no output"
			continue
		fi
		grep -q '^not ok ' "$k" || continue
		# the runner's directive (exit=1, TIMEOUT ...) and the test's
		# first line of output
		why=$(sed -n 's/^not ok [0-9]* [^#]*# *//p' "$k" | tail -n 1)
		first=$(sed -n '/^# selftests: /,$ { /^# selftests: /d; s/^# //p; }' "$k" |
			head -n 1)
		echo "${t#*:} ${why:-failed}${first:+: $first}"
	done < "$RUN/kselftest-damon/kselftest-list.txt"
}

# Write the list from the run in $RUN/vm.
write_list() {
	local base
	base=$(git -C "$KTREE" rev-parse --short=12 base)
	{
		echo "# Upstream's DAMON kselftests that fail on the unpatched base"
		echo "# kernel: written by ci/kselftest-base.sh, do not edit."
		echo "# base $base, the test kernel's configuration, $(host_key), $(date -u +%F)"
		echo "# <test> <the runner's reason>: <the test's first line of output>"
		failures "$RUN/vm"
	} > "$LIST"
	info "wrote $LIST:"
	grep -v '^#' "$LIST" >&2 || info "no test fails on the base"
}

main() {
	local lock

	# --list: only write the list again from the last run
	if [ "${1:-}" = --list ]; then
		write_list
		return
	fi
	mkdir -p "$CACHE"
	exec {lock}> "$BUILD_LOCK"
	flock "$lock"
	build_base
	exec {lock}>&-
	: > "$RUN/selftests/tests.list"
	ln -sfn "$OUT" "$RUN/kernel"
	${VM_LOCK:+flock "$VM_LOCK"} "$PROJ_ROOT/ci/vm-run.sh" \
		-k "$OUT/arch/x86/boot/bzImage" -c 4 -m 2048 -n 2 -t 3600 \
		-r "$RUN/vm" -a "HWS_KMEMLEAK=0 HWS_KSELFTEST_TIMEOUT=$KSELFTEST_TCG_TIMEOUT" -- \
		"$PROJ_ROOT/ci/guest-tests.sh" "$RUN" ||
		die "the base kernel's VM run failed (details: $RUN/vm/)"
	write_list
}

main "$@"
