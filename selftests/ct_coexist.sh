#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A COLO namespace leaves the host's own traffic to the host: only flows
# the bridge forwards between its ports (the VMs') get the "colo" conntrack
# helper. In a namespace with a SECCOLO rule and instance, routed traffic
# still gets the helper nft assigns (`ct helper set`, ftp) and goes through
# an nft flowtable, while a bridged flow is COLO-tracked.
#
#   cl 10.9.1.1 -- r0c [ colo: routes ] s0c -- 10.9.2.2 srv
#   peer 10.9.3.1 -- p0c [ colo: br0 ] vm0c -- 10.9.3.2 vm   (SECCOLO on vm0c)
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd nft conntrack python3 socat iptables
load_colo_modules || { fail "load modules"; ksft_exit; }
mkns colo cl srv peer vm
tmp=$(mktemp -d)
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
pids=()
C() { ip netns exec "$colo" "$@"; }

topo_link "$cl" r0 "$colo" r0c
topo_link "$colo" s0c "$srv" s0
topo_link "$peer" p0 "$colo" p0c
topo_link "$colo" vm0c "$vm" vm0
ip -n "$cl" addr add 10.9.1.1/24 dev r0
ip -n "$cl" route add default via 10.9.1.254
ip -n "$colo" addr add 10.9.1.254/24 dev r0c
ip -n "$colo" addr add 10.9.2.254/24 dev s0c
ip -n "$srv" addr add 10.9.2.2/24 dev s0
ip -n "$srv" route add default via 10.9.2.254
ip netns exec "$colo" sysctl -qw net.ipv4.ip_forward=1
topo_bridge "$colo" br0 p0c vm0c
topo_br_netfilter "$colo"
ip -n "$peer" addr add 10.9.3.1/24 dev p0
ip -n "$vm" addr add 10.9.3.2/24 dev vm0

C "$COLOCTL" init 1 --mode secondary
C iptables -t mangle -I PREROUTING -m physdev --physdev-in vm0c -j SECCOLO --index 1
C nft -f - <<'NFT'
table inet coexist {
	ct helper ftp-std {
		type "ftp" protocol tcp
	}
	flowtable ft {
		hook ingress priority 0
		devices = { r0c, s0c }
	}
	chain tag_pre {
		type filter hook prerouting priority filter
		tcp dport 21 ct helper set "ftp-std"
	}
	chain offload_fwd {
		type filter hook forward priority filter
		iifname "r0c" meta l4proto tcp flow add @ft
	}
}
NFT

# Servers: an echo on the routed side (21 and 8080), one on the VM.
for port in 21 8080; do
	ip netns exec "$srv" socat TCP-LISTEN:$port,reuseaddr,fork EXEC:cat &
	pids+=($!)
done
ip netns exec "$vm" socat TCP-LISTEN:80,reuseaddr,fork EXEC:cat &
pids+=($!)

# hold NS NAME ADDR PORT: a client that echoes three lines through ADDR:PORT
# and holds the connection until its stdin closes; returns once it is open.
hold() {
	local ns=$1 name=$2 addr=$3 port=$4
	mkfifo "$tmp/$name.in"
	ip netns exec "$ns" python3 -c '
import socket, sys, time
for _ in range(50):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
        break
    except OSError:
        time.sleep(0.1)
for i in range(3):
    s.sendall(b"line %d\r\n" % i)
    s.recv(100)
print("open", flush=True)
sys.stdin.read()
' "$addr" "$port" <"$tmp/$name.in" >"$tmp/$name.out" 2>&1 &
	pids+=($!)
	exec {fd}>"$tmp/$name.in"
	# Python starts slowly under TCG: up to 10 s for the client to be up.
	local _
	for _ in $(seq 100); do
		grep -q open "$tmp/$name.out" && return 0
		sleep 0.1
	done
	echo "# client $name: $(cat "$tmp/$name.out")"
	return 1
}
# The whole table, filtered here: a dump filtered by the kernel (-p tcp
# --dport) did not come back in the guest once nft's rules were in place.
ct_line() {
	C timeout 30 conntrack -L 2>/dev/null | grep -m1 " dport=$1 "
}

hold "$cl" ftp 10.9.2.2 21
line=$(ct_line 21)
echo "# $line"
check "routed flow to port 21: nft's ct helper (ftp) applies, not colo" \
	'[[ $line == *helper=ftp* ]]'

hold "$cl" bulk 10.9.2.2 8080
line=$(ct_line 8080)
echo "# $line"
check "routed flow: the nft flowtable offloads it" '[[ $line == *OFFLOAD* ]]'

hold "$peer" vmflow 10.9.3.2 80
line=$(ct_line 80)
echo "# $line"
check "bridged flow to the VM: COLO-tracked (helper=colo)" \
	'[[ $line == *helper=colo* ]]'

C nft delete table inet coexist
C iptables -t mangle -F PREROUTING
C "$COLOCTL" destroy 1
ksft_exit
