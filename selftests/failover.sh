#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Failover keeps the client's TCP connection alive: a client downloads a
# large file from the PVM; mid-transfer the primary host dies, the
# hypervisor's socket on the secondary closes (the failover path), the SVM
# joins the client's network, and the download completes with the right
# bytes.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=${FAILOVER_MB:-256}
source "$(dirname "$0")/lib/topology.sh"

require_cmd socat tc python3 openssl iptables ip6tables sha256sum
# Without the primary's hold-until-compared (xt_PMYCOLO, still to come), an
# SVM flow can fall behind what the client acknowledged and stall after the
# failover, now and then: a flaky test. Run it by hand meanwhile.
[[ ${COLO_FAILOVER:-} == 1 ]] ||
	skip "needs the primary's compare path to be reliable; COLO_FAILOVER=1 runs it"
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)

cleanup() {
	[[ -n ${owner:-} ]] && kill "$owner" 2>/dev/null
	topo_stop_services
	rm -rf "$tmp"
}

topo_seccolo 1
ip netns exec "$TOPO_SECONDARY" "$COLOCTL" run 1 --mode secondary \
	>"$tmp/owner.log" 2>&1 &
owner=$!
for i in $(seq 50); do
	grep -q '^ready' "$tmp/owner.log" && break
	sleep 0.1
done

# Slow the client's side so that the downloads are in flight when the
# primary dies. The PVM's output is delayed a little: the SVM must have
# sent whatever the client acknowledges, as PMYCOLO's hold-until-compared
# guarantees on a real primary; a lagging SVM would discard those acks.
ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
	rate 80mbit burst 128k latency 400ms
ip netns exec "$TOPO_PVM" tc qdisc add dev eth0 root netem delay 150ms limit 100000
# Nor may the SVM give up on segments that only the PVM's delayed copies get
# acknowledged: no retransmission timeout shorter than the delay allows.
ip -n "$TOPO_SVM" route replace 10.0.0.0/24 dev eth0 rto_min 3s
ip -n "$TOPO_SVM" -6 route replace fd00::/64 dev eth0 rto_min 3s
big=$(topo_file "$TOPO_FILE_MB")
# Several concurrent downloads wait for PMYCOLO: without its hold, one
# SVM flow can still fall behind what the client acknowledged and stall.
downloads=(big)
pids=()
C timeout 240 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/big" &
pids+=($!)

# Mid-transfer of every download: the primary host goes away once the
# furthest has a quarter of the file.
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
furthest() {
	local dl max=0
	for dl in "${downloads[@]}"; do
		(($(size "$tmp/$dl") > max)) && max=$(size "$tmp/$dl")
	done
	echo "$max"
}
for i in $(seq 600); do
	(($(furthest) > (TOPO_FILE_MB << 20) / 4)) && break
	sleep 0.1
done
max_at=$(furthest)
at=()
for dl in "${downloads[@]}"; do
	at+=("$dl:$(($(size "$tmp/$dl") >> 20))MiB")
done
topo_primary_dies
kill -TERM "$owner"
wait "$owner" || true
owner=
topo_svm_takes_over
echo "the primary died with ${at[*]} of $TOPO_FILE_MB MiB downloaded"
if ((max_at < (TOPO_FILE_MB << 20))); then
	pass "every download was in flight when the primary died"
else
	fail "a download had finished before the primary died: ${at[*]}"
fi

for pid in "${pids[@]}"; do
	wait "$pid" || true
done
state=$(S "$COLOCTL" status 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
if [[ $state == failed-over ]]; then
	pass "the owner's socket closed: the secondary failed over"
else
	fail "secondary state after its owner closed: $state"
fi
want=$(sha256sum <"$big")
for dl in "${downloads[@]}"; do
	if [[ $(sha256sum <"$tmp/$dl") == "$want" ]]; then
		pass "download $dl survives the failover, sha256 intact"
	else
		fail "download $dl: $(size "$tmp/$dl") of $(size "$big") bytes, or different bytes"
	fi
done
ksft_exit
