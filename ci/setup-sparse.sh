#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: setup-sparse.sh
#
# Print the path of a sparse that Linux 7.3 accepts.  7.3 needs sparse with
# __typeof_unqual__ (scripts/checker-valid.sh); Debian bookworm's 0.6.4
# lacks it and the kernel then silently skips C=1/C=2.  Debian sid's sparse
# package has it, but needs sid's glibc, so both binary packages are
# fetched with apt (verified against sid's signed index) and unpacked into
# $CACHE/sparse-<version>, and a wrapper runs sparse with that glibc's own
# loader.  Nothing is installed system-wide.  A system sparse that passes
# the kernel's own check is used as it is.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

probe() {
	local tmp rc
	tmp=$(mktemp --suffix=.c)
	printf 'static inline int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' > "$tmp"
	rc=$("$1" "$tmp" 2>&1 | awk -v c=1 '/error/{c=0}END{print c}')
	rm -f "$tmp"
	[ "$rc" = 1 ]
}

if command -v sparse >/dev/null && probe "$(command -v sparse)"; then
	command -v sparse
	exit 0
fi

ver=$(private_apt sid apt-cache madison sparse | awk -F'|' 'NR==1 {gsub(/ /,"",$2); print $2}')
[ -n "$ver" ] || die "no sparse package in Debian sid"
dir=$CACHE/sparse-${ver//[^A-Za-z0-9.+-]/_}
wrapper=$dir/sparse
if [ -x "$wrapper" ] && probe "$wrapper"; then
	echo "$wrapper"
	exit 0
fi

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs"
(cd "$dir.tmp/debs" && private_apt sid apt-get -q download "sparse=$ver" libc6/sid >&2) ||
	die "apt-get download of sid's sparse and libc6 failed"
for d in "$dir.tmp"/debs/*.deb; do
	dpkg-deb -x "$d" "$dir.tmp/root"
done
cat > "$dir.tmp/sparse" <<WRAP
#!/bin/sh
# sparse $ver from Debian sid, run with sid's glibc (see ci/setup-sparse.sh)
root=$dir/root
lib=\$root/usr/lib/x86_64-linux-gnu
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "\$root/usr/bin/sparse" "\$@"
WRAP
chmod +x "$dir.tmp/sparse"
rm -rf "$dir.tmp/debs"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
probe "$wrapper" || die "sparse $ver from sid does not pass the kernel's checker test"
info "using sparse $ver from Debian sid ($wrapper)"
echo "$wrapper"
