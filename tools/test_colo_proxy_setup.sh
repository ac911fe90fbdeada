#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# colo-proxy-setup's refusals that change nothing on the host: usage,
# missing or bad environment variables, a missing tool, a missing device.
# What it sets up is tested in the guest: selftests/proxy_setup.sh.
#
# Usage: test_colo_proxy_setup.sh [path/to/colo-proxy-setup]

SETUP=$(realpath "${1:-./colo-proxy-setup}")
pass=0
fail=0
# The variables of the script's interface, all valid, none a real device.
ok_env=(vifname=colo-nodev0 forwarddev=colo-nodev1 mode=secondary index=7 bridge=colo-nodev2)

# expect RC PATTERN [VAR=VAL...] -- ARGS...: run the script in a clean
# environment (plus VARs), want exit code RC and PATTERN on stderr.
expect() {
	local want_rc=$1 pattern=$2 envs=() err rc
	shift 2
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	err=$(env -i PATH="${TEST_PATH:-$PATH}" "${envs[@]}" "$SETUP" "$@" 2>&1 >/dev/null)
	rc=$?
	if [[ $rc == "$want_rc" && $err == *"$pattern"* ]]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: ${envs[*]} colo-proxy-setup $*: rc $rc (want $want_rc), want '$pattern' in:"
		echo "$err"
	fi
}

expect 2 "no command given" --
expect 2 "usage: vifname=VIF" --
expect 2 "unknown command 'start'" "${ok_env[@]}" -- start
expect 2 "too many arguments" "${ok_env[@]}" -- setup now
expect 2 "setup: the environment variable vifname is not set" -- setup
expect 2 "teardown: the environment variable forwarddev is not set" vifname=vif1.0 -- teardown
expect 2 "the environment variable mode is not set" vifname=vif1.0 forwarddev=eth1 -- setup
expect 2 "the environment variable index is not set" vifname=vif1.0 forwarddev=eth1 mode=primary -- setup
expect 2 "mode='both': want primary or secondary" "${ok_env[@]}" mode=both -- setup
expect 2 "index='0': want a decimal number from 1 to 65535" "${ok_env[@]}" index=0 -- setup
expect 2 "index='65536'" "${ok_env[@]}" index=65536 -- teardown
expect 2 "index='1x'" "${ok_env[@]}" index=1x -- setup
expect 2 "the environment variable bridge is not set" "${ok_env[@]}" bridge= -- teardown
expect 2 "vifname='a/b' is not a network interface name" "${ok_env[@]}" vifname=a/b -- setup
expect 2 "forwarddev='sixteen-chars-xx' is not a network interface name" \
	"${ok_env[@]}" forwarddev=sixteen-chars-xx -- setup
# Checks that come before any change: a tool missing, a device missing.
TEST_PATH=/nonexistent expect 1 "setup: ip not found" "${ok_env[@]}" -- setup
TEST_PATH=/nonexistent expect 1 "teardown: ip not found" "${ok_env[@]}" mode=primary -- teardown
if command -v tc ip modprobe rmmod iptables ip6tables arptables >/dev/null 2>&1; then
	expect 1 "setup: no network device colo-nodev0 (vifname)" "${ok_env[@]}" -- setup
	expect 1 "setup: no network device colo-nodev0 (vifname)" "${ok_env[@]}" mode=primary -- setup
fi

echo "setup: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
