#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Exit codes and messages of coloctl that need no kernel module: help,
# version and usage errors (all rejected before any netlink traffic).
#
# Usage: test_coloctl_cli.sh [path/to/coloctl]

COLOCTL=${1:-./coloctl}
pass=0
fail=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect RC PATTERN ARGS...: exit code RC, PATTERN in stdout+stderr.
expect()
{
	want_rc=$1
	pattern=$2
	shift 2
	"$COLOCTL" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && cat "$out" "$err" | grep -qF -- "$pattern"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: coloctl $*: rc $rc (want $want_rc), want '$pattern' in:"
		cat "$out" "$err"
	fi
}

expect 0 "Usage: coloctl [-j] COMMAND" help
expect 0 "Usage: coloctl [-j] COMMAND" --help
expect 0 "stand in for the hypervisor" help
expect 0 "--queue-limit N" run --help
expect 0 "coloctl " --version
for cmd in init reset destroy checkpoint checkpoint-begin failover status \
	monitor run; do
	expect 0 "  $cmd " help
done

expect 2 "coloctl: missing COMMAND"
expect 2 "Try 'coloctl help'." frobnicate
expect 2 "coloctl: init: missing INDEX" init --mode primary
expect 2 "coloctl: init: missing --mode" init 1
expect 2 "coloctl: init: invalid INDEX '0' (expected 1..65535)" init 0 -m primary
expect 2 "coloctl: init: invalid --mode 'both'" init 1 --mode both
expect 2 "coloctl: run: invalid --timeout '5'" run 1 -m primary --timeout 5
expect 2 "coloctl: status: unexpected argument '2'" status 1 2
expect 2 "coloctl: checkpoint-begin: missing INDEX" checkpoint-begin
expect 2 "coloctl: monitor: invalid --count 'x'" monitor --count x
expect 2 "coloctl: reset: unknown option '--force'" reset 1 --force

# Nothing on stdout for usage errors: it may be parsed as JSON.
"$COLOCTL" status 0 --json >"$out" 2>/dev/null
"$COLOCTL" -j status 0 >>"$out" 2>/dev/null
if [ -s "$out" ]; then
	fail=$((fail + 1))
	echo "FAIL: usage error wrote to stdout"
else
	pass=$((pass + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
