#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tearing the secondary down in the middle of traffic: the modules unload
# under live, rewritten flows, and the secondary's namespace can be deleted
# with rules, an instance and flows in it. Nothing may leak or warn (the
# suite fails on any kernel warning; unloading nf_conntrack_colo warns if
# an instance was leaked), and the client's download carries on.
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

secondary_on() {
	topo_seccolo 1
	S "$COLOCTL" init 1 --mode secondary
}
# download NAME: a slow download from the PVM in the background.
download() {
	C socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/$1" &
	dl=$!
	while (($(stat -c %s "$tmp/$1" 2>/dev/null || echo 0) < (4 << 20))); do
		sleep 0.1
	done
}

big=$(topo_file "$TOPO_FILE_MB")
ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
	rate 80mbit burst 128k latency 200ms

secondary_on
download one
learned=$(colo_stat "$TOPO_SECONDARY" 1 flows_learned)
for ipt in iptables ip6tables; do
	S "$ipt" -t mangle -F PREROUTING
done
check "the rewritten flow is COLO-tracked before the unload" '((learned >= 1))'
check "every module unloads under live traffic" \
	'unload_colo_modules && ! lsmod | grep -q colo'
wait "$dl"
check "the download completes intact" 'cmp -s "$tmp/one" "$big"'

load_colo_modules
secondary_on
download two
ip netns pids "$TOPO_SVM" | xargs -r kill
ip netns del "$TOPO_SVM"
ip netns del "$TOPO_SECONDARY"
wait "$dl"
check "the secondary's namespace goes away with rules, instance and flows" \
	'cmp -s "$tmp/two" "$big"'
check "...and every module still unloads" \
	'unload_colo_modules && ! lsmod | grep -q colo'
ksft_exit
