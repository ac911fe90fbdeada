#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Malformed frames against the primary (lib/topology.sh): for a bounded
# time, lib/badframes.py sends truncated and inconsistent IPv4, IPv6, TCP
# and UDP headers, IPv6 extension header chains, IP fragments of every
# shape, VLAN-tagged frames and garbage Ethernet types, both into the
# forward device (as if from the SVM) and out of the PVM, while a download
# is held and compared. Nothing may crash or warn (the harness checks the
# kernel log), the counters say what was dropped, the kernel log is not
# flooded, and the download arrives intact.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=8
source "$(dirname "$0")/lib/topology.sh"

require_cmd socat python3 iptables ip6tables
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)
badframes=$PROJECT_DIR/selftests/lib/badframes.py
FLOOD_SECONDS=15

cleanup() { topo_cleanup; }

topo_pair_start "$tmp/standin.log" --timeout 500
file=$(topo_file "$TOPO_FILE_MB")

freed=$(pstat svm_pkts_freed)
link=$(pstat svm_pkts_link)
klines=$(dmesg | grep -c "xt_PMYCOLO")
# The SVM's copies come late: the download stays held while the flood runs.
S tc qdisc add dev eth1 root netem delay 20ms limit 100000
C timeout 300 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/dl" &
dl=$!
wait_until eval '(($(pstat pvm_queue) > 0))'
S python3 "$badframes" eth1 $FLOOD_SECONDS "$VM_MAC" "$CLIENT_MAC" >"$tmp/svm.out" &
svm=$!
ip netns exec "$TOPO_PVM" python3 "$badframes" eth0 $FLOOD_SECONDS \
	"$VM_MAC" "$CLIENT_MAC" >"$tmp/pvm.out" &
pvm=$!
wait "$svm" "$pvm"
cat "$tmp/svm.out" "$tmp/pvm.out"
check "the held download completes intact under the flood" \
	'wait $dl && cmp -s "$tmp/dl" "$file"'
S tc qdisc del dev eth1 root
check "malformed SVM frames were dropped and counted (svm_pkts_freed)" \
	'(($(pstat svm_pkts_freed) > freed + 1000))'
check "VLAN-tagged and non-IP SVM frames were dropped and counted (svm_pkts_link)" \
	'(($(pstat svm_pkts_link) > link + 1000))'
check "the kernel log was not flooded" \
	'(($(dmesg | grep -c "xt_PMYCOLO") - klines < 100))'
check "the proxy still compares: a UDP echo passes" \
	'C python3 "$PROJECT_DIR/selftests/lib/reqresp.py" --udp $VM_IP4 $PORT_UDP 5 >/dev/null'

ksft_exit
