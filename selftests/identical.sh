#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Identical VMs never draw a checkpoint: 24 downloads of 8 MB through the
# COLO topology (lib/topology.sh), IPv4 and IPv6 in turn, with the
# stand-in hypervisor, and not one checkpoint request. Every third pair
# runs with the SVM's window clamped small, as after a loss.
#
# Before the primary cut the PVM's GSO packets that the SVM's window could
# not finish (xt_PMYCOLO/pmycolo_split.c), about one download in fifty drew
# timeout requests (the first of a 150-download hunt came at the 26th), and
# every clamped one did; the stand-in's checkpoint does not resynchronise
# the SVM, so such a download then drew one every compare timeout to its
# end. The loop stops at the first request.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=8
source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/ktrace.sh"

ROUNDS=24

require_cmd socat python3 iptables ip6tables
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)

cleanup() { topo_cleanup; }

topo_pair_start "$tmp/standin.log"
file=$(topo_file "$TOPO_FILE_MB")

intact=0
first_request=none
ktrace_start
for ((i = 1; i <= ROUNDS; i++)); do
	if ((i % 6 == 5)); then
		topo_svm_window 4
	elif ((i % 6 == 1 && i > 1)); then
		topo_svm_window
	fi
	if ((i % 2)); then
		addr="TCP:$VM_IP4"
	else
		addr="TCP6:[$VM_IP6]"
	fi
	C timeout 120 socat -u "$addr:$PORT_FILE" "CREATE:$tmp/dl"
	cmp -s "$tmp/dl" "$file" && intact=$((intact + 1))
	if (($(pstat checkpoints_requested) > 0)); then
		first_request=$i
		break
	fi
done
ktrace_stop

check "$ROUNDS downloads, IPv4 and IPv6 in turn, arrive intact ($intact)" \
	'((intact == ROUNDS))'
check "the SVM's clamped window made the primary cut GSO packets" \
	'(($(pstat pvm_pkts_split) > 0))'
check "identical VMs: no checkpoint requested in $ROUNDS downloads" \
	'(($(pstat checkpoints_requested) == 0))' || {
	echo "first request during download $first_request"
	standin_reasons "$tmp/standin.log"
	P "$COLOCTL" status 1
	ktrace_show
}
check "nothing left held, nothing dropped" \
	'(($(pstat pvm_queue) == 0 && $(pstat pkts_dropped) == 0))'
