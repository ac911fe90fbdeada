#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The SVM's packets held by PMYCOLO came in through the forward device and
# hold no reference to it: when it goes away they are dropped (counted as
# freed), not kept until a checkpoint (issue 11, item 13). The SVM's output
# is sent as raw frames into the forward device from the secondary's end
# (lib/rawflood.py); with no PVM copies and a long timeout, it stays held.
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd python3 iptables ip6tables
load_colo_modules
topo_create
tmp=$(mktemp -d)

cleanup() {
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	rm -rf "$tmp"
}

topo_pmycolo 1
standin_start "$tmp/standin.log" --timeout 60000

n=100
flood_svm udp 0 "$n"
# At least these: the SVM's own link may add a packet of its own (the
# suite's CI run once saw 101), which is held like the rest.
wait_until eval '(($(pstat svm_queue) >= n))' ||
	fail "the SVM's datagrams are not held: svm_queue $(pstat svm_queue)," \
		"checkpoints requested $(pstat checkpoints_requested)"
held=$(pstat svm_queue)
freed=$(pstat svm_pkts_freed)
ip -n "$TOPO_PRIMARY" link del eth1
check "forward device gone: the SVM's held packets dropped" \
	'(($(pstat svm_queue) == 0))'
check "forward device gone: each counted as freed ($held held)" \
	'(($(pstat svm_pkts_freed) - freed >= held))'
check "no checkpoint was asked for" '(($(pstat checkpoints_requested) == 0))'

ksft_exit
