#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The SVM asking for a neighbour, on the COLO topology (lib/topology.sh)
# with `coloctl run` standing in for the hypervisor and a compare timeout of
# 60 s, so that only a neighbour request can explain a checkpoint within
# seconds. The SVM loses its entry for the client and the client pings the
# VM: the SVM's ARP request (IPv4) or neighbour solicitation (IPv6) draws a
# checkpoint request with reason neigh at once, which releases the PVM's
# answer, and the client never sees the SVM's question. Gratuitous ARP, ARP
# probes and replies, advertisements, duplicate address detection, router
# solicitations, MLD and questions from another MAC than the VM's draw
# nothing. With --neigh-checkpoint off the SVM's
# question draws nothing and the PVM's answer waits for the timeout.
#
# The stand-in copies no VM state, so the SVM stays without the entry and
# asks again (each retransmission may draw one more request, as a real SVM
# would not after a real checkpoint); the test waits for it to give up
# between cases.
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd python3 iptables ip6tables ping tcpdump
load_colo_modules
topo_create
tmp=$(mktemp -d)
neighframes=$PROJECT_DIR/selftests/lib/neighframes.py

cleanup() {
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	[[ -n ${dump:-} ]] && kill "$dump" 2>/dev/null
	rm -rf "$tmp"
}

V() { ip netns exec "$TOPO_SVM" "$@"; }

# pstat NAME: a counter of the primary instance, from the text status (no
# python per poll: the guest is slow enough).
pstat() {
	P "$COLOCTL" status 1 | sed -n "s/^    $1: //p"
}

# link_grew N: the capture dropped N more frames of link plumbing.
link_grew() {
	(($(pstat svm_pkts_link) >= link0 + $1))
}

# svm_gave_up ADDR: the SVM's entry for ADDR failed (it asked, unanswered).
svm_gave_up() {
	V ip neigh show "$1" dev eth0 | grep -q FAILED
}

topo_seccolo 1
S "$COLOCTL" init 1 --mode secondary
topo_pmycolo 1
# The client knows the VM: its own ARP and ND, which the primary mirrors to
# the SVM, would answer the SVM's question for it.
C ip neigh replace "$VM_IP4" lladdr "$VM_MAC" dev eth0 nud permanent
C ip neigh replace "$VM_IP6" lladdr "$VM_MAC" dev eth0 nud permanent

# What reaches the client of ARP and neighbour discovery (135, 136). The
# hosts' and the PVM's link-local addresses do duplicate address detection
# too: only the VM's own addresses (10.0.0.2, fd00::) mark the SVM's.
C tcpdump -i eth0 -Q in -n -l \
	'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))' \
	>"$tmp/client.txt" 2>"$tmp/client.log" &
dump=$!
wait_until grep -q "listening on" "$tmp/client.log" ||
	fail "tcpdump on the client did not start: $(cat "$tmp/client.log")"

standin_start "$tmp/standin.log" --timeout 60000
check "status: neighbour checkpoints on by default" \
	'P "$COLOCTL" status 1 | grep -q "^  neigh checkpoint: on$" &&
	 P "$COLOCTL" status 1 --json | grep -q "\"neigh_checkpoint\":true"'

# The PVM's frames show the primary the VM's MAC: only frames from it are
# the SVM's questions (the secondary host's stack talks on the link too).
check "ICMP echo through the compare path, no checkpoint" \
	'C ping -q -c 1 -W 20 "$VM_IP4" >/dev/null &&
	 (($(pstat checkpoints_requested) == 0))'

# --- link plumbing that asks for no neighbour ---
link0=$(pstat svm_pkts_link)
V python3 "$neighframes" eth0 "$VM_MAC" >"$tmp/frames.out"
sent=$(sed -n 's/^SENT \([0-9]*\) FRAMES$/\1/p' "$tmp/frames.out")
check "other link plumbing: all $sent frames reach the capture and are dropped" \
	'((sent > 0)) && wait_until link_grew "$sent"'
# Duplicate address detection by the SVM's own kernel.
V ip addr add fd00::3/64 dev eth0
check "duplicate address detection of the SVM completes" \
	'wait_until eval "! V ip -6 addr show dev eth0 tentative | grep -q fd00::3"'
check "gratuitous ARP, probes, replies, NA, DAD, RS, MLD, other MACs: no checkpoint" \
	'(($(pstat req_neigh) == 0 && $(pstat checkpoints_requested) == 0))'

# --- IPv4: the SVM's ARP request ---
V ip neigh del "$CLIENT_IP4" dev eth0
start=$(date +%s%N)
check "IPv4: the client gets the PVM's answer (compare timeout 60 s)" \
	'C ping -q -c 1 -W 20 "$VM_IP4" >/dev/null'
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "IPv4: a neighbour checkpoint was requested (answer in $elapsed_ms ms)" \
	'(($(pstat req_neigh) >= 1 && $(pstat req_timeout) == 0))'
check "IPv4: the request names the SVM and the address it asked for" \
	'grep -q "reason neigh 10\.0\.0\.2 <-> 10\.0\.0\.1 " "$tmp/standin.log"'
check "IPv4: the SVM stops asking (its entry failed)" \
	'wait_until svm_gave_up "$CLIENT_IP4"'
neigh4=$(pstat req_neigh)

# --- IPv6: the SVM's neighbour solicitation ---
V ip neigh del "$CLIENT_IP6" dev eth0
start=$(date +%s%N)
check "IPv6: the client gets the PVM's answer (compare timeout 60 s)" \
	'C ping -q -6 -c 1 -W 20 "$VM_IP6" >/dev/null'
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "IPv6: a neighbour checkpoint was requested (answer in $elapsed_ms ms)" \
	'(($(pstat req_neigh) > neigh4 && $(pstat req_timeout) == 0))'
check "IPv6: the request names the SVM and the address it asked for" \
	'grep -q "reason neigh icmpv6 fd00::2 <-> fd00::1 " "$tmp/standin.log"'
check "IPv6: the SVM stops asking (its entry failed)" \
	'wait_until svm_gave_up "$CLIENT_IP6"'
sed 's/^/# stand-in: /' "$tmp/standin.log"
standin_stop

# --- the option off: the SVM's question draws nothing ---
standin_start "$tmp/standin.log" --timeout 60000 --neigh-checkpoint off
check "status: neighbour checkpoints off" \
	'P "$COLOCTL" status 1 | grep -q "^  neigh checkpoint: off$" &&
	 P "$COLOCTL" status 1 --json | grep -q "\"neigh_checkpoint\":false"'
V ip neigh del "$CLIENT_IP4" dev eth0
V ip neigh del "$CLIENT_IP6" dev eth0
link0=$(pstat svm_pkts_link)
C ping -q -c 1 -W 60 "$VM_IP4" >/dev/null 2>&1 &
ping4=$!
C ping -q -6 -c 1 -W 60 "$VM_IP6" >/dev/null 2>&1 &
ping6=$!
check "off: the SVM asks, unanswered (IPv4, IPv6)" \
	'wait_until svm_gave_up "$CLIENT_IP4" && wait_until svm_gave_up "$CLIENT_IP6" &&
	 link_grew 2'
check "off: no checkpoint requested" \
	'(($(pstat req_neigh) == 0 && $(pstat checkpoints_requested) == 0))'
check "off: the PVM's answers wait for the timeout" '(($(pstat pvm_queue) >= 2))'
standin_stop
check "off: the owner's exit releases the answers" 'wait $ping4 && wait $ping6'

# --- nothing of the SVM's reached the client ---
check "the client saw no ARP or neighbour discovery from the SVM" \
	'! grep -E "10\.0\.0\.2|fd00::" "$tmp/client.txt"'
# The capture would have seen one: the PVM asks for the client.
ip netns exec "$TOPO_PVM" ip neigh del "$CLIENT_IP4" dev eth0
ip netns exec "$TOPO_PVM" ping -q -c 1 -W 1 "$CLIENT_IP4" >/dev/null 2>&1
check "control: the PVM's ARP request reaches the client's capture" \
	'wait_until grep -q "Request who-has 10\.0\.0\.1 tell 10\.0\.0\.2" "$tmp/client.txt"'
kill "$dump"
wait "$dump" 2>/dev/null
dump=
ksft_exit
