#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Failover keeps the client's TCP connections alive: a client downloads a
# large file three times at once (twice over IPv4, once over IPv6) from the
# PVM, through the primary's compare path (PMYCOLO, with `coloctl run`
# standing in for the hypervisor on both hosts); mid-transfer the primary
# host dies, the hypervisor's socket on the secondary closes (the failover
# path), the SVM joins the client's network, and every download completes
# with the right bytes.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=${FAILOVER_MB:-192}
source "$(dirname "$0")/lib/topology.sh"

require_cmd socat tc python3 openssl iptables ip6tables sha256sum
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)

cleanup() {
	[[ -n ${owner:-} ]] && kill "$owner" 2>/dev/null
	[[ -n ${primary_owner:-} ]] && kill "$primary_owner" 2>/dev/null
	topo_stop_services
	rm -rf "$tmp"
}

topo_seccolo 1
colo_run "$TOPO_SECONDARY" 1 secondary "$tmp/owner.log"
owner=$COLO_RUN_PID

# The primary holds the PVM's output until the SVM's matches it.
topo_pmycolo 1
colo_run "$TOPO_PRIMARY" 1 primary "$tmp/primary.log"
primary_owner=$COLO_RUN_PID

# Slow the client's side so that the downloads are in flight when the
# primary dies.
ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
	rate 200mbit burst 256k latency 400ms
big=$(topo_file "$TOPO_FILE_MB")
downloads=(big s1 s3)
pids=()
for dl in big s1; do
	C timeout 300 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/$dl" &
	pids+=($!)
done
C timeout 300 socat -u "TCP6:[$VM_IP6]:$PORT_FILE" "CREATE:$tmp/s3" &
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
matched=$(colo_stat "$TOPO_PRIMARY" 1 pkts_matched)
requested=$(colo_stat "$TOPO_PRIMARY" 1 checkpoints_requested)
dropped=$(colo_stat "$TOPO_PRIMARY" 1 pkts_dropped)
no_flow=$(colo_stat "$TOPO_PRIMARY" 1 svm_pkts_no_flow)
topo_primary_dies
kill "$primary_owner" 2>/dev/null
primary_owner=
kill -TERM "$owner"
wait "$owner" || true
owner=
topo_svm_takes_over
echo "the primary died with ${at[*]} of $TOPO_FILE_MB MiB downloaded"
# What asked for checkpoints (identical traffic should ask for none), and
# what the kernel dropped on the way (softnet_stat: dropped, per CPU).
grep '^checkpoint requested' "$tmp/primary.log" | head -n 10
echo "primary: pkts_dropped $dropped, svm_pkts_no_flow $no_flow;" \
	"softnet drops: $(awk '{ printf "0x%s ", $2 }' /proc/net/softnet_stat)"
check "the primary compared the downloads ($matched matched, $requested checkpoints)" \
	'((matched > 1000))'
if ((max_at < (TOPO_FILE_MB << 20))); then
	pass "every download was in flight when the primary died"
else
	fail "a download had finished before the primary died: ${at[*]}"
fi

for pid in "${pids[@]}"; do
	wait "$pid" || true
done
state=$(S "$COLOCTL" status 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["state"])')
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
