#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PMYCOLO's flow table under floods (lib/topology.sh, primary host only):
# raw frames sent from the PVM (its output, through the PMYCOLO rule) and
# into the forward device from the secondary's end (the SVM's output, as
# the capture sees it), by lib/rawflood.py.
#  - 100k UDP flows through one instance: every pair matches, nothing is
#    dropped, the flow count stays within the limit; the per-packet cost at
#    1, 1k, 10k and 100k flows is printed (the PVM's sender's time per
#    frame, the primary's hooks included: a figure to compare, not to
#    assert; under TCG it is mostly emulation).
#  - Random-port TCP pure ACKs from the SVM side open no flow.
#  - A flow limit of 1024: new flows take the place of idle ones without a
#    checkpoint; PVM flows that hold packets and fill the table draw a
#    flow_limit checkpoint, and every PVM packet is accounted for.
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd python3 iptables ip6tables
load_colo_modules
topo_create
tmp=$(mktemp -d)
ct_max=/proc/sys/net/netfilter/nf_conntrack_max
old_ct_max=$(cat "$ct_max")

cleanup() {
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	echo "$old_ct_max" >"$ct_max"
	rm -rf "$tmp"
}

# Conntrack sees every flow of the PVM: let it keep them all.
echo 262144 >"$ct_max"
topo_pmycolo 1

plimit() {
	P "$COLOCTL" status 1 --json |
		python3 -c 'import json,sys; [d] = json.load(sys.stdin); print(d.get("flow_limit"))'
}
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }


# both ARGS: the same frames from the PVM and into the forward device.
both() {
	flood_pvm "$@" &
	local p=$!
	flood_svm "$@"
	wait "$p"
}


# pairs FIRST COUNT CHUNK: the PVM's and the SVM's copies of datagrams of
# flows FIRST.., CHUNK flows at a time, each chunk matched before the next:
# the two senders run at their own pace, and one running a whole queue or
# flow limit ahead of the other would rightly draw a checkpoint.
matched=0
pairs() {
	local first=$1 left=$2 chunk=$3 n
	while ((left > 0)); do
		n=$((left < chunk ? left : chunk))
		both udp "$first" "$n"
		matched=$((matched + n))
		pstat_wait pkts_matched "$matched" || {
			fail "flows $first..: only $(pstat pkts_matched) of $matched datagrams matched"
			return 1
		}
		first=$((first + n))
		left=$((left - n))
	done
}

# --- 100k flows, the cost per packet as the table grows ---
# A queue limit above the flood: a sender may run far ahead of the other.
standin_start "$tmp/standin.log" --flow-limit 131072 --queue-limit 262144 --timeout 60000
check "status shows the flow limit" '[[ $(plimit) == 131072 ]]'
# The timed batch: 2000 datagrams on the flows made last (the others may
# have expired meanwhile), as long as the PVM's sender takes to send them
# (the primary's hooks run in its context: lookups included).
have=0
batch=2000
for flows in 1 1000 10000 100000; do
	pairs "$have" $((flows - have)) 100000
	have=$flows
	n=$((flows < batch ? flows : batch))
	in_table=$(pstat flows)
	RAWFLOOD_TIME=1 flood_pvm udp $((flows - n)) "$n" $((batch / n)) 2>"$tmp/cost" &
	p=$!
	flood_svm udp $((flows - n)) "$n" $((batch / n))
	wait "$p"
	matched=$((matched + batch))
	pstat_wait pkts_matched "$matched" || fail "$flows flows: the timed batch did not match"
	echo "flows in the table: $in_table (of $flows made): PVM $(cat "$tmp/cost")"
done
check "100k flows: every datagram matched" '(($(pstat pkts_matched) == matched))'
check "100k flows: nothing dropped" '(($(pstat pkts_dropped) == 0))'
check "100k flows: no checkpoint" '(($(pstat checkpoints_requested) == 0))'
# Flows idle for 30 s expire: under TCG the first ones may be gone before
# the last are made, so the high-water mark is printed, not asserted.
echo "flows at most: $(pstat flows_high)"
check "100k flows: the count stayed within the limit" \
	'(($(pstat flows_high) <= 131072))'

# --- random-port pure ACKs from the SVM side open no flow ---
before=$(pstat flows)
no_flow=$(pstat svm_pkts_no_flow)
acks=20000
flood_svm ack 1 "$acks"
pstat_wait svm_pkts_no_flow $((no_flow + acks)) ||
	fail "SVM pure ACKs: $(($(pstat svm_pkts_no_flow) - no_flow)) of $acks counted as matching nothing"
check "SVM pure ACKs opened no flow" '(($(pstat flows) <= before))'
check "SVM pure ACKs held nothing" '(($(pstat svm_queue_high) < 1024))'
standin_stop

# --- a limit of 1024 flows ---
slab0=$(slab_kb)
standin_start "$tmp/standin.log" --flow-limit 1024 --timeout 60000
check "status shows the small flow limit" '[[ $(plimit) == 1024 ]]'
n=5000
matched=0
pairs 200000 "$n" 512
# Under TCG the first chunks' flows may also expire (30 s idle) before the
# last come: some evictions, not n - 1024 of them.
check "flow limit: idle flows made room" '(($(pstat flows_evicted) > 0))'
check "flow limit: the count stayed within the limit" '(($(pstat flows_high) <= 1024))'
check "flow limit: idle flows asked for no checkpoint" \
	'(($(pstat req_flow_limit) == 0 && $(pstat pkts_dropped) == 0))'

# PVM flows that all hold packets: only a checkpoint frees them.
released=$(pstat pkts_released)
n=3000
flood_pvm udp 300000 "$n"
pstat_wait req_flow_limit 1 || fail "flow limit: no flow_limit checkpoint request"
grep -q "reason flow_limit" "$tmp/standin.log" ||
	fail "the stand-in saw no flow_limit request: $(tail -3 "$tmp/standin.log")"
check "flow limit: busy flows stayed within limit and headroom" \
	'(($(pstat flows_high) <= 2048))'
accounted() {
	(($(pstat pkts_released) - released + $(pstat pkts_dropped) +
	  $(pstat pvm_queue) == n))
}
wait_until accounted
check "flow limit: every PVM packet released, held or counted as dropped" accounted
echo "slab: $(($(slab_kb) - slab0)) kB more than before the 1024-flow instance"
standin_stop

ksft_exit
