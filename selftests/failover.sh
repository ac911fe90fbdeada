#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Failover keeps the client's TCP connections alive: a client downloads a
# large file (and a few smaller ones at once, IPv4 and IPv6) from the PVM;
# mid-transfer the primary host dies, the hypervisor's socket on the
# secondary closes (the failover path), the SVM joins the client's network,
# and every download completes with the right bytes.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=${FAILOVER_MB:-160}
source "$(dirname "$0")/lib/topology.sh"

require_cmd socat tc python3 openssl iptables ip6tables sha256sum
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)

cleanup() {
	[[ -n ${owner:-} ]] && kill "$owner" 2>/dev/null
	topo_stop_services
	rm -rf "$tmp"
}

C() { ip netns exec "$TOPO_CLIENT" "$@"; }
S() { ip netns exec "$TOPO_SECONDARY" "$@"; }

for ipt in iptables ip6tables; do
	S "$ipt" -t mangle -I PREROUTING -m physdev --physdev-in vif \
		-j SECCOLO --index 1
done
S "$COLOCTL" run 1 --mode secondary >"$tmp/owner.log" 2>&1 &
owner=$!
for i in $(seq 50); do
	grep -q '^ready' "$tmp/owner.log" && break
	sleep 0.1
done

# Slow the client's side so that the downloads are in flight when the
# primary dies.
ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
	rate 160mbit burst 256k latency 200ms
big=$(topo_file "$TOPO_FILE_MB")
# The small downloads fetch the first 16 MiB of the big file.
head -c $((16 << 20)) "$big" >"$tmp/want-small"
pids=()
C socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/big" & pids+=($!)
C sh -c "socat -u TCP:$VM_IP4:$PORT_FILE - | head -c $((16 << 20)) >$tmp/s1" & pids+=($!)
C sh -c "socat -u TCP:$VM_IP4:$PORT_FILE - | head -c $((16 << 20)) >$tmp/s2" & pids+=($!)
C sh -c "socat -u TCP6:[$VM_IP6]:$PORT_FILE - | head -c $((16 << 20)) >$tmp/s3" & pids+=($!)

# Mid-transfer: the primary host goes away with its links.
for i in $(seq 600); do
	(( $(stat -c %s "$tmp/big" 2>/dev/null || echo 0) > (TOPO_FILE_MB << 20) / 4 )) && break
	sleep 0.1
done
at=$(stat -c %s "$tmp/big")
topo_primary_dies
kill -TERM "$owner"
wait "$owner" || true
owner=
topo_svm_takes_over
echo "primary died with $((at >> 20)) MiB of $TOPO_FILE_MB MiB downloaded"

ok=1
for pid in "${pids[@]}"; do
	timeout 300 tail --pid="$pid" -f /dev/null || ok=0
done
state=$(S "$COLOCTL" status 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
if [[ $state == failed-over ]]; then
	pass "the owner's socket closed: the secondary failed over"
else
	fail "secondary state after its owner closed: $state"
fi
if ((ok)) && [[ $(sha256sum <"$tmp/big") == $(sha256sum <"$big") ]]; then
	pass "the large download survives the failover, sha256 intact"
else
	fail "large download: $(stat -c %s "$tmp/big") bytes, sha256 differs or it hung"
fi
for s in s1 s2 s3; do
	if cmp -s "$tmp/$s" "$tmp/want-small"; then
		pass "concurrent download $s survives the failover"
	else
		fail "concurrent download $s: $(stat -c %s "$tmp/$s") bytes, content differs"
	fi
done
ksft_exit
