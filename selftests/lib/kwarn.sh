#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel log patterns that mean a test hurt the kernel, shared by the host
# VM runner and the in-guest suite driver. Sourced, it defines kwarn_scan;
# run, it scans stdin (or FILE) and exits 0 when something matched:
#   kwarn.sh [FILE]   prints the matching lines with a little context

# One extended regex; "Call Trace" catches splats whose header line differs,
# "Kernel panic" is for the console log (a panic never reaches a dmesg file).
# slub_debug reports start "BUG <cache> (<taint>): <what>" or "FIX <cache>:".
KWARN_RE='Kernel panic|WARNING:|BUG:|Oops|general protection|Call Trace|kernel BUG|KASAN|refcount_t:|BUG [^ ]+ \(|FIX [^ ]+: '

# kwarn_scan [FILE]: print matching lines (2 lines of context after each,
# at most 60 lines) and return 0 if any, 1 if the log is clean.
kwarn_scan() {
	local hits
	hits=$(grep -E -A2 -- "$KWARN_RE" "${1:--}") || return 1
	printf '%s\n' "$hits" | head -n 60
	return 0
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	kwarn_scan "$@"
fi
