#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tearing the primary down while it holds packets: the rules go and the
# modules unload under a live download (held packets are released, the
# download completes intact); the forward device vanishes and comes back
# (the capture follows it by name); the primary's namespace is deleted with
# rules, an instance and held packets in it. Nothing may leak or warn (the
# suite fails on any kernel warning; unloading nf_conntrack_colo warns if
# an instance was leaked).
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=32
source "$(dirname "$0")/lib/topology.sh"

require_cmd socat tc python3 openssl iptables ip6tables
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)

cleanup() {
	topo_stop_services
	rm -rf "$tmp"
}

pair_on() {
	topo_seccolo 1
	S "$COLOCTL" init 1 --mode secondary
	topo_pmycolo 1
	P "$COLOCTL" init 1 --mode primary
}

# download NAME: a slow download from the PVM in the background, once it
# has 4 MiB.
# Started without the C function: $! is then socat itself (ip netns exec
# execs it), which a kill reaches, not a subshell that would leave it behind.
download() {
	ip netns exec "$TOPO_CLIENT" socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/$1" &
	dl=$!
	while (($(stat -c %s "$tmp/$1" 2>/dev/null || echo 0) < (4 << 20))); do
		sleep 0.1
	done
}

# held: wait (5 s at most) until the primary holds some PVM packets.
held() { wait_until eval '(($(pstat pvm_queue) > 0))'; }

big=$(topo_file "$TOPO_FILE_MB")
ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
	rate 80mbit burst 128k latency 200ms
# The SVM's copies come late, so that the primary always holds something.
S tc qdisc add dev eth1 root netem delay 50ms limit 100000

# --- rules flushed and modules unloaded while packets are held ---
pair_on
download one
check "packets are held before the unload" 'held'
for ipt in iptables ip6tables; do
	P "$ipt" -t mangle -F PREROUTING
	S "$ipt" -t mangle -F PREROUTING
done
check "every module unloads under held traffic" \
	'unload_colo_modules && ! lsmod | grep -q colo'
wait "$dl"
check "the held packets went on: the download completes intact" \
	'cmp -s "$tmp/one" "$big"'

# --- the forward device vanishes and comes back ---
# Unheld since the unload, the SVM fell behind what the client acked and
# retransmits to nobody: as a checkpoint would, end its connections.
ip netns exec "$TOPO_SVM" ss -K dst $CLIENT_IP4 >/dev/null 2>&1
load_colo_modules
pair_on
ip -n "$TOPO_PRIMARY" link del eth1
topo_link "$TOPO_PRIMARY" eth1 "$TOPO_SECONDARY" eth1
ip -n "$TOPO_SECONDARY" link set eth1 master colobr0
S tc qdisc add dev eth1 root netem delay 50ms limit 100000
tc -n "$TOPO_PRIMARY" qdisc del dev vif root
topo_mirror "$TOPO_PRIMARY" vif eth1
captured=$(pstat svm_pkts_captured)
matched=$(pstat pkts_matched)
C timeout 120 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/two"
check "after the forward device came back, a download arrives intact" \
	'cmp -s "$tmp/two" "$big"'
captured=$(($(pstat svm_pkts_captured) - captured))
matched=$(($(pstat pkts_matched) - matched))
requested=$(pstat checkpoints_requested)
check "the capture followed the new forward device ($captured captured, $matched matched)" \
	'((captured > 1000 && matched > 1000))'
check "... and found the same output: no checkpoint requested ($requested)" \
	'((requested == 0))'

# --- the primary's namespace goes away with everything in it ---
# The SVM silent: the PVM's answers stay held until the namespace goes.
S iptables -I FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_FILE -j DROP
ip netns exec "$TOPO_CLIENT" socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/three" &
dl=$!
check "packets are held before the namespace goes" 'held'
kill "$dl" 2>/dev/null
topo_primary_dies
wait "$dl" 2>/dev/null
S iptables -F FORWARD
for ipt in iptables ip6tables; do
	S "$ipt" -t mangle -F PREROUTING
done
# Namespaces are cleaned up asynchronously: their rules hold xt_PMYCOLO
# until then.
check "the primary's namespace goes away; every module still unloads" \
	'wait_until eval "unload_colo_modules 2>/dev/null" && ! lsmod | grep -q colo'
ksft_exit
