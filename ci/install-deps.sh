#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian/Ubuntu packages the project needs, when any is
# missing.  Uses sudo when not root.  Everything else (the kernel source)
# is fetched by ci/provision.sh.

set -euo pipefail

readonly PKGS=(
	# kernel build
	bc bison ccache cpio dwarves flex gcc g++ libelf-dev libssl-dev make
	perl python3 xz-utils kmod rsync git
	# series tooling (sparse: ci/setup-sparse.sh): b4 for the b4_shazam and
	# posting_b4_shazam checks and for posting; python3-ply and python3-git
	# for checkpatch's SPDX check (scripts/spdxcheck.py, silently skipped
	# without them)
	b4 python3-ply python3-git
	# the htmldocs check (ci/docs-check.sh)
	python3-sphinx python3-yaml
	# plots of make bench and make demo (ci/bench-report.py, also --heatmap)
	python3-matplotlib
	# VM and tests
	qemu-system-x86 busybox-static python3-drgn nlohmann-json3-dev
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo ">> installing: ${missing[*]}" >&2
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
	"${missing[@]}" >&2
