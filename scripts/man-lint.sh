#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# man-lint.sh PAGE...: render each man page as man(1) would, with groff's
# warnings on (as Debian's lintian does); any warning fails. Ends with
# "man: N passed, N failed".
set -uo pipefail

for t in man groff; do
	command -v "$t" >/dev/null || { echo "man-lint: $t missing: apt-get install man-db groff-base" >&2; exit 1; }
done

passed=0 failed=0
for page in "$@"; do
	if ! out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null); then
		out="man exited non-zero${out:+: $out}"
	elif [[ -z $out ]]; then
		# groff itself, all warnings, no output
		out=$(groff -ww -z -man -Tutf8 "$page" 2>&1)
	fi
	if [[ -z $out ]]; then
		echo "ok: $page"
		passed=$((passed + 1))
	else
		echo "FAIL: $page:"
		printf '%s\n' "$out" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "man: $passed passed, $failed failed"
((failed == 0))
