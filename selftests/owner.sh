#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Instance lifetime: an owned instance follows its socket (a primary goes
# away, a secondary fails over and stays), namespaces are independent, and
# deleting a namespace with live instances leaks nothing.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip
load_colo_modules
mkns nsa nsb
tmp=$(mktemp -d)

ca() { ip netns exec "$nsa" "$COLOCTL" "$@"; }
cb() { ip netns exec "$nsb" "$COLOCTL" "$@"; }
# json EXPR: EXPR on the one instance of a status --json array (as d).
json() { python3 -c 'import json,sys; [d]=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# run_owner NS INDEX MODE: the hypervisor stand-in owns INDEX; sets owner_pid.
run_owner() {
	colo_run "$1" "$2" "$3" "$tmp/run-$2.log"
	owner_pid=$COLO_RUN_PID
}

gone() { ! ca status "$1" >/dev/null 2>&1; }
failed_over_persistent() {
	[[ $(ca status "$1" --json | json '"%s %s" % (d["state"], d["persistent"])') == "failed-over True" ]]
}

run_owner "$nsa" 5 primary
check "owned primary: status names its owner" \
	'[[ $(ca status 5 --json | json "\"%s %s\" % (d[\"owner\"] is not None, d[\"persistent\"])") == "True False" ]]'
kill -TERM "$owner_pid"; wait "$owner_pid" || true
check "owner closes: the primary instance is torn down" "wait_until gone 5"

run_owner "$nsa" 6 primary
{ kill -KILL "$owner_pid"; wait "$owner_pid"; } 2>/dev/null || true
check "owner killed: the primary instance is torn down" "wait_until gone 6"

run_owner "$nsa" 7 secondary
kill -TERM "$owner_pid"; wait "$owner_pid" || true
check "owner closes: the secondary fails over and stays, persistent" \
	"wait_until failed_over_persistent 7"
ca destroy 7

ca init 1 --mode primary
cb init 1 --mode secondary
ca destroy 1
check "same index in two namespaces: independent" \
	'[[ $(cb status 1 --json | json "d[\"mode\"]") == secondary ]] && gone 1'
cb destroy 1

mkns nsc
ip netns exec "$nsc" "$COLOCTL" init 1 --mode primary
ip netns exec "$nsc" "$COLOCTL" init 2 --mode secondary
run_owner "$nsc" 3 secondary
{ kill -KILL "$owner_pid"; wait "$owner_pid"; } 2>/dev/null || true
ip netns del "$nsc"
# Unloading waits for namespace cleanup and warns about leaked instances;
# a warning fails the suite.
check "namespace deleted with live instances: every module unloads" \
	"unload_colo_modules && ! lsmod | grep -q colo"
rm -rf "$tmp"
ksft_exit
