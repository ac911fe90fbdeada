#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The primary's netfilter glue (xt_PMYCOLO/pmycolo_net.c) on the COLO
# topology (lib/topology.sh):
# - fragmented datagrams (large ping, 4 KB UDP echo; IPv4 and IPv6) match: the
#   SVM's fragments are reassembled as conntrack reassembles the PVM's;
# - a PMYCOLO rule works in a "mangle" chain at another priority (built
#   with lib/nftchain.py), held packets resume after the hook that held
#   them (iptables-legacy's mangle table, a second hook at the mangle
#   priority, still sees them), and other families are refused;
# - a held bridged packet whose port leaves the bridge (and gets a macvlan)
#   is dropped and counted, never continued as a bridged packet;
# - a capture hook that cannot be registered fails the rule's insertion.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=1
source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/ktrace.sh"

require_cmd socat python3 iptables ip6tables iptables-legacy ping
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)
reqresp=$PROJECT_DIR/selftests/lib/reqresp.py
nftchain() { P python3 "$PROJECT_DIR/selftests/lib/nftchain.py" "$@"; }

cleanup() { topo_cleanup; }

topo_seccolo 1
S "$COLOCTL" init 1 --mode secondary
# iptables-legacy's mangle table, hooked in before iptables-nft's: the
# kernel puts a later hook of equal priority first, so PMYCOLO's chain
# runs before this one, at the same priority. It counts the PVM's UDP
# answers, held or not.
P iptables-legacy -t mangle -A PREROUTING -s $VM_IP4 -p udp --sport $PORT_UDP 2>/dev/null
legacy_count() {
	P iptables-legacy -t mangle -L PREROUTING -v -x -n | awk 'NR == 3 { print $1 }'
}
topo_pmycolo 1
file=$(topo_file "$TOPO_FILE_MB")

# --- IP fragments: both sides compare whole datagrams ---
standin_start "$tmp/standin.log" --timeout 2000
matched=$(pstat pkts_matched)
for ip in "$VM_IP4" "$VM_IP6"; do
	v=4
	[[ $ip == *:* ]] && v=6
	check "large ping through the pair (IPv$v)" \
		'C ping -q -c 3 -i 0.3 -W 5 -s 3000 $ip >/dev/null'
	check "4 KB UDP echo through the pair (IPv$v)" \
		'C python3 "$reqresp" --udp $ip $PORT_UDP 5 4096 >/dev/null'
done
check "fragmented datagrams: matched whole, no checkpoint requested" \
	'(($(pstat pkts_matched) - matched >= 16 &&
	   $(pstat checkpoints_requested) == 0 && $(pstat pkts_dropped) == 0))'

# --- a hook beside the mangle table at its priority sees held packets ---
before=$(legacy_count)
C python3 "$reqresp" --udp $VM_IP4 $PORT_UDP 20 >/dev/null
side=$(($(legacy_count) - before))
check "a hook after PMYCOLO's at the same priority saw every held answer ($side of 20)" \
	'((side >= 20))'
P iptables-legacy -t mangle -F PREROUTING
standin_stop

# --- a PMYCOLO rule in a "mangle" chain at another priority ---
# iptables-nft 1.8.9 will not add rules to such a chain: lib/nftchain.py
# puts the same nft_compat rule there, matching the VM's address.
for ipt in iptables ip6tables; do
	P "$ipt" -t mangle -F PREROUTING
done
nftchain deltable ip mangle
nftchain deltable ip6 mangle
nftchain table ip mangle
nftchain table ip6 mangle
nftchain chain ip mangle colo_late prerouting 10
nftchain chain ip6 mangle colo_late prerouting 10
nftchain pmycolo ip mangle colo_late 1 eth1 $VM_IP4
nftchain pmycolo ip6 mangle colo_late 1 eth1 $VM_IP6
standin_start "$tmp/standin.log" --timeout 2000
released=$(pstat pkts_released)
ktrace_start
C timeout 60 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/late4"
C timeout 60 socat -u "TCP6:[$VM_IP6]:$PORT_FILE" "CREATE:$tmp/late6"
ktrace_stop
check "rule at priority 10: the downloads arrive intact" \
	'cmp -s "$tmp/late4" "$file" && cmp -s "$tmp/late6" "$file"'
released=$(($(pstat pkts_released) - released))
requested=$(pstat checkpoints_requested)
check "rule at priority 10: the PVM's output was held ($released released), no checkpoint ($requested)" \
	'((released > 100 && requested == 0))' ||
	{ standin_reasons "$tmp/standin.log"; ct_drops "$TOPO_SECONDARY"; ktrace_show; }
standin_stop
nftchain deltable ip mangle
nftchain deltable ip6 mangle
topo_pmycolo 1

# --- the bridge family is refused at insertion ---
nftchain table bridge mangle
nftchain chain bridge mangle PREROUTING prerouting -200
check "a PMYCOLO rule in the bridge family is refused" \
	'! nftchain pmycolo bridge mangle PREROUTING 1 eth1 2>"$tmp/br.err"'
cat "$tmp/br.err"
nftchain deltable bridge mangle

# --- a held packet whose port leaves the bridge ---
standin_start "$tmp/standin.log" --timeout 60000
S iptables -I FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_ECHO -j DROP
C python3 "$reqresp" $VM_IP4 $PORT_ECHO 1 >/dev/null 2>&1 &
rr=$!
dropped=$(pstat pkts_dropped)
# Functions, so that wait_until reads the counters anew each time.
answer_held() { (($(pstat pvm_queue) > 0)); }
answer_dropped() { (($(pstat pvm_queue) == 0 && $(pstat pkts_dropped) > dropped)); }
check "the PVM's answer is held" 'wait_until answer_held'
P ip link set vif nomaster
P ip link add link vif name mv0 type macvlan mode passthru
P ip link set mv0 up
check "port out of the bridge: its held packets are dropped and counted" \
	'wait_until answer_dropped'
P "$COLOCTL" failover 1
kill "$rr" 2>/dev/null
wait "$rr" 2>/dev/null
S iptables -D FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_ECHO -j DROP
standin_stop
P ip link del mv0
P ip link set vif master br0

# --- a capture hook that cannot be registered fails the rule ---
# Fill eth1's ingress hook list (the kernel takes at most 1024 hooks).
for ipt in iptables ip6tables; do
	P "$ipt" -t mangle -F PREROUTING
done
nftchain table netdev colo_full
nftchain chain netdev colo_full c ingress 1 eth1 1024
check "with eth1's ingress hooks full, a PMYCOLO rule is refused" \
	'! P iptables -t mangle -A PREROUTING -j PMYCOLO --index 1 --forward-dev eth1 2>/dev/null'
check "the refusal says why in the kernel log" \
	'dmesg | tail -n 20 | grep -q "cannot capture the SVM.s output on eth1"'
nftchain deltable netdev colo_full
check "with room again, the rule is accepted" \
	'P iptables -t mangle -A PREROUTING -j PMYCOLO --index 1 --forward-dev eth1'

ksft_exit
