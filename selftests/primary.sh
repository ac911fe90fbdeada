#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PMYCOLO on the primary host of the COLO topology (lib/topology.sh), with
# SECCOLO on the secondary and `coloctl run` standing in for the hypervisor:
# identical services pass with no checkpoint (TCP bulk and request/response,
# UDP, ICMP, IPv4 and IPv6, also with the two VMs segmenting differently,
# and with the SVM's window smaller than the PVM's GSO packets);
# a divergence, a silent SVM and a full queue each draw the checkpoint
# request they should; NFQUEUE keeps working beside COLO; failover and the
# owner's exit release every held packet.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=8
source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/ktrace.sh"

require_cmd socat tc python3 openssl iptables ip6tables ping ethtool
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)
reqresp=$PROJECT_DIR/selftests/lib/reqresp.py
tracing=/sys/kernel/tracing

cleanup() {
	[[ -n ${nfq:-} ]] && kill "$nfq" 2>/dev/null
	[[ -w $tracing/events/colo/enable ]] && echo 0 >"$tracing/events/colo/enable"
	topo_cleanup
}

download() {	# download ADDR PORT FILE
	C timeout 120 socat -u "$1:$2" "CREATE:$3"
}

topo_seccolo 1
S "$COLOCTL" init 1 --mode secondary
topo_pmycolo 1
file=$(topo_file "$TOPO_FILE_MB")
small=$(topo_file 1)

# --- identical services: nothing differs, nothing is requested ---
standin_start "$tmp/standin.log"
ktrace_start
download "TCP:$VM_IP4" $PORT_FILE "$tmp/dl4"
download "TCP6:[$VM_IP6]" $PORT_FILE "$tmp/dl6"
check "bulk TCP through the compare path arrives intact (IPv4, IPv6)" \
	'cmp -s "$tmp/dl4" "$file" && cmp -s "$tmp/dl6" "$file"'
check "many small TCP request/responses (IPv4, IPv6)" \
	'C python3 "$reqresp" $VM_IP4 $PORT_ECHO 300 >/dev/null &&
	 C python3 "$reqresp" $VM_IP6 $PORT_ECHO 300 >/dev/null'
check "UDP echo (IPv4, IPv6)" \
	'C python3 "$reqresp" --udp $VM_IP4 $PORT_UDP 50 >/dev/null &&
	 C python3 "$reqresp" --udp $VM_IP6 $PORT_UDP 50 >/dev/null'
check "ICMP echo (IPv4, IPv6)" \
	'C ping -q -c 5 -i 0.2 -W 5 $VM_IP4 >/dev/null &&
	 C ping -q -c 5 -i 0.2 -W 5 $VM_IP6 >/dev/null'
# A new connection on the same ports (the client's TIME_WAIT reused): the
# secondary learns it anew and the primary compares it afresh, so it
# matches (no checkpoint, checked below).
learned() {
	echo $(($(colo_stat "$TOPO_SECONDARY" 1 flows_learned) +
		$(colo_stat "$TOPO_SECONDARY" 1 flows_relearned)))
}
C sysctl -qw net.ipv4.tcp_tw_reuse=1
learned_before=$(learned)
reuse_ok=1
for i in 1 2; do
	out=$(echo "reuse-$i" | C timeout 10 socat - \
		"TCP:$VM_IP4:$PORT_ECHO,sourceport=50100,reuseaddr")
	[[ $out == "reuse-$i" ]] || reuse_ok=0
	sleep 1.5	# tcp_tw_reuse takes a TIME_WAIT port a second later
done
check "port reuse: both connections echo through the compare path" '((reuse_ok))'
check "port reuse: the secondary learned each connection" \
	'(($(learned) >= learned_before + 2))'
check "the PVM's output was held and matched with the SVM's" \
	'(($(pstat pkts_matched) > 1000 && $(pstat svm_pkts_captured) > 1000))'
# requests_seen: on a failure of the checks below, what was asked and why,
# both instances' counters, and where packets may have been lost on the way
# (device, backlog, qdisc and conntrack drops), since identical services
# must never draw a request.
requests_seen() {
	standin_reasons "$tmp/standin.log"
	for n in "$TOPO_PRIMARY:eth1" "$TOPO_PRIMARY:vif" "$TOPO_SECONDARY:eth1" \
		"$TOPO_SECONDARY:vif" "$TOPO_SVM:eth0" "$TOPO_PVM:eth0"; do
		echo "$n: $(ip -n "${n%%:*}" -s -o link show "${n#*:}" |
			grep -o 'RX:.*' | sed 's/[\\]//g; s/  */ /g')"
	done
	awk '{ print "softnet cpu" NR - 1 ": processed 0x" $1 ", dropped 0x" $2 }' \
		/proc/net/softnet_stat
	tc -s -n "$TOPO_PRIMARY" qdisc show dev vif | grep -E "qdisc|dropped"
	P "$COLOCTL" status 1
	S "$COLOCTL" status 1
	ct_drops "$TOPO_PRIMARY"
	ct_drops "$TOPO_SECONDARY"
	grep -E "^(TCP|sockets)" /proc/net/sockstat
	echo "kernel threads of COLO: $(pgrep -c colo_)"
}
ktrace_stop
check "identical services: no checkpoint requested" \
	'(($(pstat checkpoints_requested) == 0))' || { requests_seen; ktrace_show; }
check "nothing left held, nothing dropped" \
	'(($(pstat pvm_queue) == 0 && $(pstat pkts_dropped) == 0))'

# --- the same bytes, segmented differently on the two sides ---
ip -n "$TOPO_SVM" route replace 10.0.0.0/24 dev eth0 mtu 1000
ip -n "$TOPO_SVM" -6 route replace fd00::/64 dev eth0 metric 256 mtu 1280
ip netns exec "$TOPO_PVM" ethtool -K eth0 tso off gso off >/dev/null
download "TCP:$VM_IP4" $PORT_FILE "$tmp/seg4"
download "TCP6:[$VM_IP6]" $PORT_FILE "$tmp/seg6"
check "differently segmented streams arrive intact" \
	'cmp -s "$tmp/seg4" "$file" && cmp -s "$tmp/seg6" "$file"'
check "differently segmented streams: no checkpoint requested" \
	'(($(pstat checkpoints_requested) == 0))' || requests_seen
ip -n "$TOPO_SVM" route replace 10.0.0.0/24 dev eth0
ip -n "$TOPO_SVM" -6 route replace fd00::/64 dev eth0 metric 256
ip netns exec "$TOPO_PVM" ethtool -K eth0 tso on gso on >/dev/null

# --- the SVM's congestion window smaller than the PVM's GSO packets ---
# The SVM's window clamped to 4 segments, while the PVM sends super-packets
# of up to 64 KB: what the SVM may send ends inside one of them, and the
# SVM waits for the client's ack of it, which needs the whole super-packet
# released. The primary must cut it, not wait for the compare timeout.
split=$(pstat pvm_pkts_split)
topo_svm_window 4
download "TCP:$VM_IP4" $PORT_FILE "$tmp/win4"
download "TCP6:[$VM_IP6]" $PORT_FILE "$tmp/win6"
check "SVM with a smaller window: the downloads arrive intact" \
	'cmp -s "$tmp/win4" "$file" && cmp -s "$tmp/win6" "$file"'
check "SVM with a smaller window: no checkpoint requested" \
	'(($(pstat checkpoints_requested) == 0))' || requests_seen
check "SVM with a smaller window: the PVM's GSO packets were cut" \
	'(($(pstat pvm_pkts_split) > split))'
topo_svm_window

# --- NFQUEUE beside COLO: the client's UDP to the PVM goes to a queue ---
ip netns exec "$TOPO_PRIMARY" python3 "$PROJECT_DIR/selftests/lib/nfqueue.py" \
	5 "$tmp/nfq.count" >"$tmp/nfq.log" 2>&1 &
nfq=$!
for i in $(seq 50); do
	grep -q ready "$tmp/nfq.log" && break
	sleep 0.1
done
for ipt in iptables ip6tables; do
	P "$ipt" -I FORWARD -p udp --dport $PORT_UDP -j NFQUEUE --queue-num 5
done
check "NFQUEUE: UDP echo through a userspace queue and the compare path" \
	'C python3 "$reqresp" --udp $VM_IP4 $PORT_UDP 20 >/dev/null &&
	 C python3 "$reqresp" --udp $VM_IP6 $PORT_UDP 20 >/dev/null'
check "NFQUEUE: the queue's consumer saw the client's datagrams" \
	'(($(cat "$tmp/nfq.count" 2>/dev/null || echo 0) >= 40))'
for ipt in iptables ip6tables; do
	P "$ipt" -D FORWARD -p udp --dport $PORT_UDP -j NFQUEUE --queue-num 5
done
kill "$nfq"
nfq=

# --- a divergence: one byte differs on the SVM ---
if [[ -w $tracing/events/colo/enable ]]; then
	echo >"$tracing/trace"
	echo 1 >"$tracing/events/colo/enable"
fi
download "TCP:$VM_IP4" $PORT_DIFF "$tmp/diff"
check "divergence: the client gets the PVM's bytes" 'cmp -s "$tmp/diff" "$small"'
check "divergence: a miscompare checkpoint was requested" \
	'(($(pstat req_miscompare) >= 1))'
check "divergence: the request names the flow and the byte" \
	'grep -E "reason miscompare tcp .*10\.0\.0\.2:$PORT_DIFF.* seq [0-9]+ offset [0-9]+" "$tmp/standin.log" >/dev/null'
check "divergence: the stand-in completed the checkpoint" \
	'grep -q "^checkpoint done: index 1" "$tmp/standin.log"'
if [[ -r $tracing/trace ]]; then
	check "tracepoints: colo_miscompare and colo_checkpoint_request" \
		'grep -q "colo_miscompare: index=1" "$tracing/trace" &&
		 grep -q "colo_checkpoint_request: index=1" "$tracing/trace"'
	echo 0 >"$tracing/events/colo/enable"
fi
standin_stop

# --- the SVM silent on one flow: a timeout checkpoint ---
standin_start "$tmp/standin.log" --timeout 500
if [[ -w $tracing/events/colo/colo_stall/enable ]]; then
	echo >"$tracing/trace"
	echo 1 >"$tracing/events/colo/colo_stall/enable"
fi
S iptables -I FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_ECHO -j DROP
start=$(date +%s%N)
check "silent SVM: the PVM's answer comes after the timeout checkpoint" \
	'C python3 "$reqresp" $VM_IP4 $PORT_ECHO 1 >/dev/null'
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "silent SVM: a timeout checkpoint was requested" \
	'(($(pstat req_timeout) >= 1))'
check "silent SVM: not before the configured 500 ms (took $elapsed_ms ms)" \
	'((elapsed_ms >= 500))'
check "silent SVM: the request says how long the packet waited" \
	'grep -E "reason timeout .*10\.0\.0\.2:$PORT_ECHO.* age [0-9]+ ms" "$tmp/standin.log" >/dev/null'
if [[ -r $tracing/trace ]]; then
	check "silent SVM: the stall trace shows the answer held, no SVM output" \
		'grep -qE "colo_stall: index=1 side=pvm proto=6 vm_port=$PORT_ECHO .* svm=-" "$tracing/trace"' ||
		grep -m 3 colo_stall: "$tracing/trace"
	echo 0 >"$tracing/events/colo/colo_stall/enable"
fi
S iptables -D FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_ECHO -j DROP
standin_stop

# --- a small queue limit: checkpoints requested, nothing lost ---
standin_start "$tmp/standin.log" --queue-limit 16 --delay 20
# The SVM's copies come 100 ms late: the PVM's queue must grow past 16.
S tc qdisc add dev eth1 root netem delay 100ms limit 100000
download "TCP:$VM_IP4" $PORT_FILE "$tmp/ql"
S tc qdisc del dev eth1 root
check "queue limit: the download arrives intact" 'cmp -s "$tmp/ql" "$file"'
check "queue limit: a queue-full checkpoint was requested" \
	'(($(pstat req_queue_full) >= 1))'
check "queue limit: no packet dropped" '(($(pstat pkts_dropped) == 0))'
standin_stop

# --- held packets are released by failover and by the owner's exit ---
# release_check NAME ACTION: with the SVM silent and a long timeout, an echo
# answer is held until ACTION releases it.
release_check() {
	standin_start "$tmp/standin.log" --timeout 60000
	S iptables -I FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_ECHO -j DROP
	C python3 "$reqresp" $VM_IP4 $PORT_ECHO 1 >"$tmp/rr.out" 2>&1 &
	local rr=$! held=0
	for i in $(seq 50); do
		held=$(pstat pvm_queue)
		((held > 0)) && break
		sleep 0.1
	done
	check "$1: the PVM's answer is held meanwhile" '((held > 0))'
	eval "$2"
	check "$1: every held packet is released, the client gets its answer" \
		'wait $rr'
	[[ -n ${3:-} ]] && check "$1: then traffic passes straight through" "$3"
	S iptables -D FORWARD -m physdev --physdev-in vif -p tcp --sport $PORT_ECHO -j DROP
	[[ -n $standin ]] && standin_stop
}
release_check "failover" 'P "$COLOCTL" failover 1' \
	'C python3 "$reqresp" $VM_IP4 $PORT_ECHO 20 >/dev/null &&
	 (($(pstat pvm_queue) == 0))'
release_check "owner exit" 'standin_stop'

ksft_exit
