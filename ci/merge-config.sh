#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: merge-config.sh OUTDIR ARCH BASE_TARGET FRAGMENT...
#
# Make OUTDIR/.config from `make BASE_TARGET` (tinyconfig, allnoconfig)
# plus the fragments, in order (a later fragment wins), with the tree's
# scripts/kconfig/merge_config.sh (without -m, so it runs alldefconfig on
# the merged values).  merge_config.sh only warns when a requested value is
# dropped; this script fails instead, naming every such option.  A config
# that already matches the fragments is left untouched (no rebuild).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 4 ] || die "usage: $0 OUTDIR ARCH BASE_TARGET FRAGMENT..."
out=$1 arch=$2 base=$3
shift 3

# Print "CONFIG_X=value" (or "CONFIG_X=n" for "is not set") for every
# option the fragments request; the last request for an option wins.
requested() {
	sed -nE -e 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/\1=\2/p' \
		-e 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1=n/p' "$@" |
		awk -F= '{v[$1]=$0; if (!($1 in o)) {o[$1]=n++; k[n-1]=$1}}
			 END {for (i = 0; i < n; i++) print v[k[i]]}'
}

# Check the final .config against the requests; print the misses.
misses() {
	local cfg=$1 line sym val have
	shift
	while IFS= read -r line; do
		sym=${line%%=*} val=${line#*=}
		have=$(sed -nE "s/^$sym=(.*)$/\1/p" "$cfg")
		[ -n "$have" ] || have=n
		[ "$have" = "$val" ] || echo "$sym: requested $val, got $have"
	done < <(requested "$@")
}

mkdir -p "$out"
frags=("$@")
for f in "${frags[@]}"; do
	[ -r "$f" ] || die "no config fragment $f"
done
stamp=$out/.merge-config.stamp
want=$( (echo "$arch $base"; cat "${frags[@]}"; cat "$(ktree_gitdir)/BASE_INFO" 2>/dev/null) | sha1sum)
if [ -f "$out/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
   [ -z "$(misses "$out/.config" "${frags[@]}")" ]; then
	exit 0
fi

kmake "$out" ARCH="$arch" -s "$base" >/dev/null
cp "$out/.config" "$out/.config.base"
(cd "$KTREE" && ARCH=$arch CC="ccache gcc" scripts/kconfig/merge_config.sh \
	-O "$out" "$out/.config.base" "${frags[@]}") > "$out/merge-config.log" 2>&1 ||
	{ cat "$out/merge-config.log" >&2; die "merge_config.sh failed for $out"; }
bad=$(misses "$out/.config" "${frags[@]}")
if [ -n "$bad" ]; then
	echo "$bad" | sed 's/^/  /' >&2
	die "requested config values did not land in $out/.config (fragments: ${frags[*]##*/})"
fi
echo "$want" > "$stamp"
