#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A flow's backlog does not hold its shard (lib/topology.sh, primary host
# only, one shard). Two UDP flows, A and B, each get a datagram of the
# PVM's held (no SVM copy); a checkpoint begins and marks them. Then both
# VMs send 64 more datagrams of each flow, interleaved: the comparator
# keeps them until the commit, behind the marked ones. The commit puts
# both flows on the ready list with their whole backlog at once. The
# worker takes at most a budget of packets off one flow per hold of the
# shard's lock (PMYCOLO_COMPARE_BUDGET, 64) and then serves the next
# flow, so what comes out at the client alternates between A and B in
# runs of at most 32 datagrams (each match takes a datagram of each VM).
# A worker that compared a flow's whole backlog under the lock would let
# out all of A, then all of B (the intake of every CPU spinning
# meanwhile).
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd python3 iptables
load_colo_modules
topo_create
# Only the two flows.
topo_no_ipv6
tmp=$(mktemp -d)
# The held datagrams stay charged to the sending socket (rawflood.py's
# default send buffer takes about 160): 64 of each flow.
N=64

cleanup() {
	[[ -n ${sniffer:-} ]] && kill "$sniffer" 2>/dev/null
	rm -rf "$tmp"
}

# Persistent, nobody answers requests: the checkpoint comes from here.
P "$COLOCTL" init 1 --mode primary --timeout 600000 --queue-limit 4096 \
	--compare-shards 1
topo_pmycolo 1

# The first datagram of each flow (rawflood.py: flow 0 is the VM's port
# 1024, flow 1 port 1025), the PVM's only: held.
flood_pvm udp 0 2
wait_until eval '(($(pstat pvm_queue) == 2))'
check "the first datagram of each flow is held" '(($(pstat pvm_queue) == 2))'
check "begin: accepted" 'P "$COLOCTL" checkpoint-begin 1'

# The rest, both sides: held behind the marked ones until the commit.
flood_pvm udp 0 2 "$N"
flood_svm udp 0 2 "$N"
wait_until eval '(($(pstat pvm_queue) == 2 + 2 * N))'
check "after the begin both flows' backlog waits for the commit" \
	'(($(pstat pvm_queue) == 2 + 2 * N && $(pstat pkts_compared) == 0))'

# The VM's ports of the datagrams the client gets, in order, one a line.
ip netns exec "$TOPO_CLIENT" python3 -u -c '
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("eth0", 0))
print("ready", flush=True)
with open(sys.argv[2], "w") as out:
    for _ in range(int(sys.argv[1])):
        while True:
            f = s.recv(2048)
            if f[23] == socket.IPPROTO_UDP and f[26:30] == bytes([10, 0, 0, 2]):
                break
        ihl = (f[14] & 15) * 4
        out.write("%d\n" % struct.unpack("!H", f[14 + ihl:16 + ihl]))
        out.flush()
' $((2 + 2 * N)) "$tmp/order" >"$tmp/sniffer.log" 2>&1 &
sniffer=$!
wait_until grep -q ready "$tmp/sniffer.log"

check "commit: accepted" 'P "$COLOCTL" checkpoint 1'
pstat_wait pkts_matched $((2 * N)) ||
	fail "only $(pstat pkts_matched) of $((2 * N)) datagrams matched"
wait_until eval '(($(wc -l <"$tmp/order") == 2 + 2 * N))'
check "every datagram reached the client" \
	'(($(wc -l <"$tmp/order") == 2 + 2 * N))'
check "no checkpoint asked for" '(($(pstat checkpoints_requested) == 0))'

# The compared backlog: after the two the commit released. Its runs of
# one flow's datagrams, and the longest.
read -r runs longest < <(tail -n +3 "$tmp/order" | awk '
	$1 != last { runs++; if (len > max) max = len; len = 0; last = $1 }
	{ len++ }
	END { if (len > max) max = len; print runs, max }')
echo "the backlog came out in $runs runs of one flow, the longest $longest datagrams"
check "the two flows' backlogs took turns ($runs runs)" '((runs >= 4))'
check "no run longer than the budget ($longest datagrams)" '((longest <= 32))'
ksft_exit
