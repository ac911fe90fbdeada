#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The modules load and unload in every order modprobe allows, with and
# without live instances and rules; unloading the control plane tears its
# instances down.
source "$(dirname "$0")/lib/guest.sh"

require_cmd ip iptables python3
load_colo_modules
unload_colo_modules
top=(nfnetlink_colo xt_PMYCOLO xt_SECCOLO)
orders=("0 1 2" "0 2 1" "1 0 2" "1 2 0" "2 0 1" "2 1 0")

loaded() { [[ -d /sys/module/$1 ]]; }
none_loaded() {
	local m
	for m in nf_conntrack_colo "${top[@]}"; do
		loaded "$m" && return 1
	done
	return 0
}

for i in "${!orders[@]}"; do
	read -ra load <<<"${orders[$i]}"
	read -ra unload <<<"${orders[$(((i + 1) % 6))]}"
	ok=1
	for m in "${load[@]}"; do
		modprobe "${top[$m]}" || ok=0
	done
	for m in nf_conntrack_colo "${top[@]}"; do
		loaded "$m" || ok=0
	done
	loaded nf_conntrack_colo && modprobe -r nf_conntrack_colo 2>/dev/null && ok=0
	for m in "${unload[@]}"; do
		modprobe -r "${top[$m]}" || ok=0
	done
	none_loaded || ok=0
	names() { local m; for m in "$@"; do printf '%s ' "${top[$m]}"; done; }
	check "load $(names "${load[@]}")then unload $(names "${unload[@]}")" "((ok))"
done

check "modprobe xt_PMYCOLO pulls in the core and the control plane" \
	"modprobe xt_PMYCOLO && loaded nf_conntrack_colo && loaded nfnetlink_colo"
check "the core stays while a module uses it" \
	"! modprobe -r nf_conntrack_colo 2>/dev/null && loaded nf_conntrack_colo"

iptables -t mangle -A PREROUTING -j PMYCOLO --index 1 --forward-dev lo
check "a rule holds its target module" "! rmmod xt_PMYCOLO 2>/dev/null"
iptables -t mangle -D PREROUTING -j PMYCOLO --index 1 --forward-dev lo
check "the rule gone, the target unloads" "rmmod xt_PMYCOLO"

modprobe xt_PMYCOLO
modprobe xt_SECCOLO
"$COLOCTL" init 1 --mode primary
"$COLOCTL" init 2 --mode secondary
"$COLOCTL" run 3 --mode primary >/dev/null 2>&1 &
owner=$!
sleep 1
check "target modules unload under live instances, which stay" \
	"rmmod xt_PMYCOLO xt_SECCOLO && [[ \$(\"$COLOCTL\" status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 3 ]]"
check "the control plane unloads under live instances" "rmmod nfnetlink_colo"
kill -KILL "$owner" 2>/dev/null; wait "$owner" 2>/dev/null || true
modprobe nfnetlink_colo
check "...and took its instances with it" \
	"[[ \$(\"$COLOCTL\" status --json) == '[]' ]]"
unload_colo_modules
check "everything unloaded" none_loaded
ksft_exit
