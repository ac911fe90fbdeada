#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs shellcheck on every shell script of the project: the *.sh files and every
# file whose first line starts a shell, tracked or new (not ignored), with
# the settings of .shellcheckrc. One test per script; ends with
# "shellcheck: N passed, N failed".
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
command -v shellcheck >/dev/null ||
	{ echo "shellcheck.sh: shellcheck missing: apt-get install shellcheck" >&2; exit 1; }
pass=0 fail=0

scripts=()
while IFS= read -r -d '' f; do
	[[ -f $f ]] || continue
	if [[ $f == *.sh ]] || head -n 1 "$f" | grep -qE '^#!.*[/ ](ba|da|a)?sh( |$)'; then
		scripts+=("$f")
	fi
done < <(git ls-files -z --cached --others --exclude-standard)

for f in "${scripts[@]}"; do
	if out=$(shellcheck "$f" 2>&1); then
		echo "ok: $f"
		pass=$((pass + 1))
	else
		echo "FAIL: $f"
		printf '%s\n' "$out" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "shellcheck: $pass passed, $fail failed"
((fail == 0))
