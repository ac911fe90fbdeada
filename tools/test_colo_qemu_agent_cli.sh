#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Exit codes and messages of colo-qemu-agent that need no kernel module:
# help, version and usage errors (all rejected before any netlink traffic).
#
# Usage: test_colo_qemu_agent_cli.sh [path/to/colo-qemu-agent]

AGENT=${1:-./colo-qemu-agent}
pass=0
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# expect RC PATTERN ARGS...: exit code RC, PATTERN in stdout+stderr.
expect()
{
	want_rc=$1
	pattern=$2
	shift 2
	"$AGENT" "$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && grep -qF -- "$pattern" "$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: colo-qemu-agent $*: rc $rc (want $want_rc), want '$pattern' in:"
		cat "$out"
	fi
}

expect 0 "usage: colo-qemu-agent --index N" --help
expect 0 "4 QEMU went away" --help
expect 0 "colo-qemu-agent " --version
expect 2 "--index, --mode and --qmp are needed" --mode primary --qmp /q
expect 2 "--index, --mode and --qmp are needed" --index 1 --qmp /q
expect 2 "--index, --mode and --qmp are needed" --index 1 --mode primary
expect 2 "and nothing else" --index 1 --mode primary --qmp /q extra
expect 2 "bad value for --index: '0'" --index 0 --mode primary --qmp /q
expect 2 "bad value for --index: '65536'" --index 65536 --mode primary --qmp /q
expect 2 "bad value for --mode: 'both'" --index 1 --mode both --qmp /q
expect 2 "bad value for --checkpoint-interval: '0'" --index 1 --mode primary --qmp /q --checkpoint-interval 0
expect 2 "bad value for --checkpoint-interval: '-5'" --index 1 --mode primary --qmp /q --checkpoint-interval -5
expect 2 "bad value for --wait: 'x'" --index 1 --mode primary --qmp /q --wait x
expect 2 "bad value for --compare-timeout: '5'" --index 1 --mode primary --qmp /q --compare-timeout 5
expect 2 "bad value for --queue-limit: '15'" --index 1 --mode primary --qmp /q --queue-limit 15
expect 2 "bad value for --realtime: '0'" --index 1 --mode secondary --qmp /q --realtime 0
expect 2 "bad value for --realtime: '100'" --index 1 --mode secondary --qmp /q --realtime 100
expect 0 "[--realtime PRIO]" --help
expect 2 "apply to a primary only" --index 1 --mode secondary --qmp /q --queue-limit 16
expect 2 "usage:" --index 1 --mode primary --qmp /q --bogus

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
