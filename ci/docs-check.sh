#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: docs-check.sh LOG
#
# Build the HTML documentation of the directories the series documents
# (Documentation/mm/damon, with the kernel-doc of the API, and
# Documentation/admin-guide/mm/damon) with the tree's own Sphinx setup, and
# fail on any warning about a file there.  Building only those directories
# leaves references into the rest of Documentation/ unresolved; such a
# warning is accepted only when the label or document exists in the tree.
# Prints one line: what was built, or the first offending warnings.
# KTREE= another tree (a commit of the series checked out elsewhere),
# DOCS_OUT= its output directory (default $BUILD/docs).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

log=${1:?usage: $0 LOG}
dirs="mm/damon admin-guide/mm/damon"
out=${DOCS_OUT:-$BUILD/docs}

if ! make -C "$KTREE" O="$out" SPHINXDIRS="$dirs" htmldocs > "$log" 2>&1; then
	echo "htmldocs failed: $(grep -m 2 -iE 'error' "$log" | tr '\n' ' ')"
	exit 1
fi

label_exists() {
	grep -rqsE "^\.\. _$1:" "$KTREE/Documentation"
}

doc_exists() {
	local d=${1#/}

	[ -e "$KTREE/Documentation/$d.rst" ] ||
		[ -e "$KTREE/Documentation/$d/index.rst" ]
}

bad=()
while IFS= read -r w; do
	case $w in
	*"undefined label: '"*)
		l=${w#*undefined label: \'}
		label_exists "${l%\'*}" && continue ;;
	*"unknown document: '"*)
		d=${w#*unknown document: \'}
		d=${d%\'*}
		# relative documents: resolve against the warning file's directory
		if [ "${d#/}" = "$d" ]; then
			f=${w%%:*}
			d=$(realpath -m --relative-to="$KTREE/Documentation" \
				"$(dirname "$f")/$d")
		fi
		doc_exists "$d" && continue ;;
	esac
	bad+=("$w")
done < <(grep -E '/Documentation/(mm/damon|admin-guide/mm/damon)/[^:]*:[0-9]*: (WARNING|ERROR)' "$log" || true)

nr_html=$(find "$out/Documentation/output" -path "*damon*" -name "*.html" 2>/dev/null | wc -l)
if [ ${#bad[@]} -gt 0 ]; then
	printf '%s\n' "${bad[@]}" > "$log.new"
	echo "${#bad[@]} warning(s): $(printf '%s ' "${bad[@]:0:2}")"
	exit 1
fi
echo "$dirs: $nr_html pages, no warning"
