# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash # sourced by the tests, the demo and the benchmark
#
# The COLO test topology, shared by the selftests, `make demo` and the
# benchmarks. Every host and VM is a network namespace of the guest:
#
#      client  10.0.0.1  fd00::1
#         |
#      switch (bridge sw)
#       |                  \
#   eth0|                   \eth0 (joins colobr0 at failover)
#  +----+------- primary ----+    +--------- secondary ---------+
#  |  br0 = eth0 + vif       |    |  colobr0 = eth1 + vif       |
#  |  tc on vif: mirror      |    |  iptables: SECCOLO on vif   |
#  |  client->PVM  to eth1 --+----+-> eth1                      |
#  |  iptables: PMYCOLO      |    |                             |
#  +----+--------------------+    +-----------+-----------------+
#       |vif                                  |vif
#      PVM  10.0.0.2 fd00::2             SVM  10.0.0.2 fd00::2
#                 (the same MAC: cloned VMs)
#
# As in Xen's colo-proxy-setup, the primary mirrors what goes to the PVM
# (IPv4, IPv6, ARP) out of its forward device eth1; the secondary bridges
# that device with the SVM's port, so the SVM sees the client's packets and
# its own output goes back to the primary over the same link. br_netfilter
# lets iptables see the bridged packets on both hosts.
#
# Source it after lib/guest.sh, then:
#   topo_create             namespaces, links, bridges, the mirror
#   topo_create --bare      the same hosts before colo-proxy-setup: no
#                           mirror, and the SVM's port on a bridge br0 of
#                           its own (Xen's xenbr0), not on colobr0
#   topo_services           the identical services in PVM and SVM
#   topo_seccolo INDEX      SECCOLO rules on the secondary
#   topo_pmycolo INDEX      PMYCOLO rules on the primary (forward dev eth1)
#   topo_no_ipv6            no IPv6 on the VMs and the secondary host
#   topo_primary_dies       the primary host vanishes
#   topo_svm_takes_over     the secondary attaches the SVM to the switch
# Names: $TOPO_CLIENT $TOPO_SWITCH $TOPO_PRIMARY $TOPO_PVM $TOPO_SECONDARY
# $TOPO_SVM. On each host the VM's port is "vif", the uplink "eth0" and
# the forward device "eth1"; in each VM the interface is "eth0".

VM_IP4=10.0.0.2
VM_IP6=fd00::2
CLIENT_IP4=10.0.0.1
CLIENT_IP6=fd00::1
VM_MAC=52:54:00:c0:10:02
CLIENT_MAC=52:54:00:c0:10:01
CLIENT_LL6=fe80::5054:ff:fec0:1001	# from CLIENT_MAC (EUI-64)
# Services, the same in both VMs.
PORT_FILE=80		# sends $TOPO_FILE on connect
PORT_ECHO=7		# TCP echo
PORT_UDP=7		# UDP echo
PORT_DIFF=81		# 1 MiB, but the SVM's copy differs in one byte
TOPO_FILE_MB=${TOPO_FILE_MB:-16}

# Run a command on the client, the primary or the secondary host.
C() { ip netns exec "$TOPO_CLIENT" "$@"; }
P() { ip netns exec "$TOPO_PRIMARY" "$@"; }
S() { ip netns exec "$TOPO_SECONDARY" "$@"; }

# topo_link NS_A IF_A NS_B IF_B: a veth pair between two namespaces.
topo_link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# topo_bridge NS BR PORT...: a bridge that forwards at once (no STP delay).
topo_bridge() {
	local ns=$1 br=$2 port
	shift 2
	ip -n "$ns" link add "$br" type bridge forward_delay 0 stp_state 0
	for port in "$@"; do
		ip -n "$ns" link set "$port" master "$br"
	done
	ip -n "$ns" link set "$br" up
}

# Let iptables and conntrack see bridged IPv4 and IPv6 packets.
topo_br_netfilter() {
	modprobe br_netfilter
	ip netns exec "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1
}

# topo_vm_cmds: a VM's addresses, the same in PVM and SVM, link-local
# included, as in real COLO, as commands for ip -b. Its eth0 gets the MAC
# before it first comes up, so that its IPv6 link-local address is made
# from it; no DAD (set before): it would meet the other VM's copy through
# the mirror. Real COLO keeps the SVM's neighbour cache equal to the PVM's
# by checkpointing; between two namespaces permanent entries for the
# client's addresses stand in for that: the stand-in's checkpoint cannot
# make an SVM that asked for a neighbour the PVM's copy again.
topo_vm_cmds() {
	cat <<-EOF
		link set eth0 address $VM_MAC
		link set eth0 up
		addr add $VM_IP4/24 dev eth0
		addr add $VM_IP6/64 dev eth0 nodad
		neigh replace $CLIENT_IP4 lladdr $CLIENT_MAC dev eth0 nud permanent
		neigh replace $CLIENT_IP6 lladdr $CLIENT_MAC dev eth0 nud permanent
		neigh replace $CLIENT_LL6 lladdr $CLIENT_MAC dev eth0 nud permanent
	EOF
}

# Xen's colo-proxy-setup mirror: what leaves vif towards the PVM is copied
# out of the forward device.
#
# One thing here is the test world's own: the mirror's copy is a clone
# sharing its bytes with the PVM's packet, and veth hands it to the
# secondary in the same kernel, where a real link would copy it to the
# wire. The secondary refragments the client's IPv6 datagrams for the SVM,
# and 6.1's bridge refragmentation (br_ip6_fragment) writes the new fragment
# headers into the frag-list members in place: it checks them for
# skb_shared(), not skb_cloned(). So it rewrote the fragment id of the PVM's
# copy still in flight, and the PVM never reassembled a fragmented IPv6
# datagram. A no-op pedit on the PVM's IPv6 copy after the mirror gives it
# bytes of its own, as the wire would.
topo_mirror() {
	local ns=$1 vif=$2 fwd=$3 proto prio=10 own
	{
		echo "qdisc add dev $vif root handle 1: prio"
		for proto in ip arp ipv6; do
			own=
			[[ $proto == ipv6 ]] &&
				own=" pipe action pedit ex munge ip6 hoplimit preserve"
			echo "filter add dev $vif parent 1: protocol $proto prio $prio u32 match u32 0 0 flowid 1:2 action mirred egress mirror dev $fwd$own"
			prio=$((prio + 1))
		done
	} | tc -n "$ns" -b -
}

# topo_unmirror NS VIF: the mirror goes; the SVM is fed no more.
topo_unmirror() {
	tc -n "$1" qdisc del dev "$2" root handle 1: prio
}

# topo_bridge_cmds BR PORT...: for ip -b, bridge BR of the PORTs (no STP
# delay), everything up.
topo_bridge_cmds() {
	local br=$1 port
	shift
	echo "link add $br type bridge forward_delay 0 stp_state 0"
	for port; do
		echo "link set $port master $br up"
	done
	echo "link set $br up"
}

# topo_create [--bare]: the topology above, in one ip process per
# namespace (under TCG each exec of a tool costs ~0.1 s: one per command
# made building it take 7 s). The veth pairs are made down; each end
# comes up in its namespace's batch.
topo_create() {
	local rc=0 ns
	mkns TOPO_CLIENT TOPO_SWITCH TOPO_PRIMARY TOPO_PVM TOPO_SECONDARY TOPO_SVM || return 1

	ip -b - <<-EOF || return 1
		link add eth0 netns $TOPO_CLIENT type veth peer name sw-client netns $TOPO_SWITCH
		link add sw-primary netns $TOPO_SWITCH type veth peer name eth0 netns $TOPO_PRIMARY
		link add sw-secondary netns $TOPO_SWITCH type veth peer name eth0 netns $TOPO_SECONDARY
		link add eth1 netns $TOPO_PRIMARY type veth peer name eth1 netns $TOPO_SECONDARY
		link add vif netns $TOPO_PRIMARY type veth peer name eth0 netns $TOPO_PVM
		link add vif netns $TOPO_SECONDARY type veth peer name eth0 netns $TOPO_SVM
	EOF
	ip -n "$TOPO_CLIENT" -b - <<-EOF || rc=1
		link set eth0 address $CLIENT_MAC
		link set eth0 up
		addr add $CLIENT_IP4/24 dev eth0
		addr add $CLIENT_IP6/64 dev eth0 nodad
	EOF
	topo_bridge_cmds sw sw-client sw-primary sw-secondary |
		ip -n "$TOPO_SWITCH" -b - || rc=1
	for ns in "$TOPO_PVM" "$TOPO_SVM"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 || rc=1
		topo_vm_cmds | ip -n "$ns" -b - || rc=1
	done

	topo_br_netfilter "$TOPO_PRIMARY"
	{ topo_bridge_cmds br0 eth0 vif; echo "link set eth1 up"; } |
		ip -n "$TOPO_PRIMARY" -b - || rc=1
	topo_br_netfilter "$TOPO_SECONDARY"
	if [[ ${1:-} == --bare ]]; then
		{ topo_bridge_cmds br0 vif; echo "link set eth0 up"; echo "link set eth1 up"; } |
			ip -n "$TOPO_SECONDARY" -b - || rc=1
		return "$rc"
	fi
	topo_mirror "$TOPO_PRIMARY" vif eth1 || rc=1
	{ topo_bridge_cmds colobr0 eth1 vif; echo "link set eth0 up"; } |
		ip -n "$TOPO_SECONDARY" -b - || rc=1
	return "$rc"
}

# topo_seccolo INDEX: the secondary's SECCOLO rules for the SVM's port, as
# Xen's colo-proxy-setup installs them.
topo_seccolo() {
	local ipt
	for ipt in iptables ip6tables; do
		S "$ipt" -t mangle -I PREROUTING -m physdev --physdev-in vif \
			-j SECCOLO --index "$1"
	done
}

# topo_no_ipv6: the VMs and the secondary host without IPv6, for tests that
# count the flows or packets they send. Those hosts solicit routers over
# IPv6 for a minute after their links come up (backing off from 4 s), and
# each solicitation opens a flow of its own, PVM and SVM ones a second
# apart (CI once saw shards.sh count 257 flows of 256: one SVM packet
# held). The client keeps IPv6; the tests that need it do not call this.
topo_no_ipv6() {
	local ns
	for ns in "$TOPO_PVM" "$TOPO_SVM" "$TOPO_SECONDARY"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
}

# topo_pmycolo INDEX: the primary's PMYCOLO rules for the PVM's port, with
# eth1 as the forward device.
topo_pmycolo() {
	local ipt
	for ipt in iptables ip6tables; do
		P "$ipt" -t mangle -I PREROUTING -m physdev --physdev-in vif \
			-j PMYCOLO --index "$1" --forward-dev eth1
	done
}

# topo_file MB [KEY]: MB of reproducible, incompressible bytes (the same in
# both VMs), made once per guest boot; prints the file's name.
topo_file() {
	local f=/tmp/colo-file-$1-${2:-colo}
	if [[ ! -f $f ]]; then
		openssl enc -aes-128-ctr -nosalt -pass "pass:${2:-colo}" \
			-in /dev/zero 2>/dev/null | head -c $(($1 << 20)) >"$f.tmp"
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# topo_serve NS CMD...: a service in NS, stopped by topo_stop_services.
TOPO_PIDS=()
topo_serve() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" >/dev/null 2>&1 &
	TOPO_PIDS+=($!)
}

topo_services() {
	local file small diff ns
	file=$(topo_file "$TOPO_FILE_MB")
	small=$(topo_file 1)
	diff=$small-diff
	if [[ ! -f $diff ]]; then
		cp "$small" "$diff"
		# One byte differs, 1000 bytes into the stream.
		printf 'X' | dd of="$diff" bs=1 seek=1000 conv=notrunc status=none
	fi
	for ns in "$TOPO_PVM" "$TOPO_SVM"; do
		topo_serve "$ns" socat TCP6-LISTEN:$PORT_FILE,ipv6only=0,reuseaddr,fork \
			OPEN:"$file",rdonly
		topo_serve "$ns" socat TCP6-LISTEN:$PORT_ECHO,ipv6only=0,reuseaddr,fork PIPE
		topo_serve "$ns" socat UDP6-RECVFROM:$PORT_UDP,ipv6only=0,fork PIPE
	done
	topo_serve "$TOPO_PVM" socat TCP6-LISTEN:$PORT_DIFF,ipv6only=0,reuseaddr,fork \
		OPEN:"$small",rdonly
	topo_serve "$TOPO_SVM" socat TCP6-LISTEN:$PORT_DIFF,ipv6only=0,reuseaddr,fork \
		OPEN:"$diff",rdonly
	topo_wait_listen "$TOPO_PVM" $PORT_FILE $PORT_ECHO $PORT_DIFF
	topo_wait_listen "$TOPO_SVM" $PORT_FILE $PORT_ECHO $PORT_DIFF
}

# topo_wait_listen NS PORT...: until every TCP PORT listens in NS (5 s at
# most), one ss for all of them each time.
topo_wait_listen() {
	local ns=$1 port i listening missing
	shift
	for i in $(seq 100); do
		listening=" $(ip netns exec "$ns" ss -Htln | awk '{ sub(/.*:/, "", $4); printf "%s ", $4 }')"
		missing=0
		for port in "$@"; do
			[[ $listening == *" $port "* ]] || missing=1
		done
		((missing)) || return 0
		sleep 0.05
	done
	return 1
}

topo_stop_services() {
	local pid
	# A forking server's children serve connections still open (one a
	# test gave up on): they go too.
	for pid in "${TOPO_PIDS[@]}"; do
		pkill -P "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${TOPO_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	TOPO_PIDS=()
}

# The primary host dies: its links first, so that nothing the dying PVM
# sends (a FIN from a killed server) reaches anyone, then everything else.
topo_primary_dies() {
	ip -n "$TOPO_PRIMARY" link del eth0
	ip -n "$TOPO_PRIMARY" link del eth1
	ip netns pids "$TOPO_PVM" | xargs -r kill -KILL 2>/dev/null || true
	ip netns del "$TOPO_PVM"
	ip netns del "$TOPO_PRIMARY"
}

# The secondary host's side of a failover: the SVM's bridge leaves the
# dead forward link and joins the client's network.
topo_svm_takes_over() {
	ip -n "$TOPO_SECONDARY" link set eth1 nomaster 2>/dev/null || true
	ip -n "$TOPO_SECONDARY" link set eth0 master colobr0
}

# cap_start NS IF DIR FILE [ARG...]: capture TCP on IF in NS (DIR: in, out,
# inout) into FILE until cap_stop. ARGs, when given, are tcpdump's other
# options and its filter instead of "tcp". Immediate mode: libpcap hands
# each packet over as it comes, not in ring blocks retired up to 1 s late.
TOPO_CAPS=()
TOPO_CAP_FILES=()
cap_start() {
	local i ns=$1 dev=$2 dir=$3 file=$4 args=(tcp)
	shift 4
	(($#)) && args=("$@")
	ip netns exec "$ns" tcpdump -i "$dev" -Q "$dir" --immediate-mode -U \
		-s 0 -w "$file" "${args[@]}" 2>"$file.log" &
	TOPO_CAPS+=($!)
	TOPO_CAP_FILES+=("$file")
	for i in $(seq 100); do
		grep -q "listening on" "$file.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "tcpdump on $dev in $ns did not start: $(cat "$file.log")" >&2
	return 1
}

# cap_stop: the captures stop once their files have stopped growing (a
# loaded host's tcpdump may still be writing what it received), and say so
# when tcpdump had received packets it had not written when it stopped.
cap_stop() {
	local pid i f sizes last=
	for i in $(seq 20); do
		sizes=$(stat -c %s "${TOPO_CAP_FILES[@]}" 2>/dev/null | tr '\n' ' ')
		[[ $sizes == "$last" ]] && break
		last=$sizes
		sleep 0.5
	done
	for pid in "${TOPO_CAPS[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for f in "${TOPO_CAP_FILES[@]}"; do
		awk -v f="${f##*/}" '/packets captured/ { c = $1 }
			/received by filter/ { r = $1 }
			END { if (r > c) printf "tcpdump: %s holds %d of the %d packets received\n", f, c, r }' \
			"$f.log" 2>/dev/null >&2
	done
	TOPO_CAPS=()
	TOPO_CAP_FILES=()
}

# colo_stat NS INDEX NAME: one counter of an instance.
colo_stat() {
	ip netns exec "$1" "$COLOCTL" status "$2" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats"][sys.argv[1]])' "$3"
}

# pstat NAME: one counter of primary instance 1.
pstat() { colo_stat "$TOPO_PRIMARY" 1 "$1"; }

# pstat_wait NAME VALUE: until counter NAME of primary instance 1 reaches
# VALUE (60 s at most).
pstat_wait() {
	local _
	for _ in $(seq 600); do
		(($(pstat "$1") >= $2)) && return 0
		sleep 0.1
	done
	return 1
}

# flood_pvm ARGS / flood_svm ARGS: lib/rawflood.py ARGS as the PVM's output
# (from its eth0) and as the SVM's on the forward link (into the primary's
# eth1, from the secondary's end).
flood_pvm() {
	ip netns exec "$TOPO_PVM" python3 "$PROJECT_DIR/selftests/lib/rawflood.py" eth0 "$@"
}
flood_svm() {
	ip netns exec "$TOPO_SECONDARY" python3 "$PROJECT_DIR/selftests/lib/rawflood.py" eth1 "$@"
}

# standin_start LOG [ARGS]: the hypervisor stand-in (coloctl run) owns
# primary instance 1, with coloctl's INIT options ARGS; its pid is in
# $standin. standin_stop: it exits, and its instance is torn down with it.
standin_start() {
	local log=$1
	shift
	colo_run "$TOPO_PRIMARY" 1 primary "$log" "$@" || return
	standin=$COLO_RUN_PID
}

# topo_svm_window [SEGMENTS]: clamp the SVM's congestion window to SEGMENTS
# (a locked route metric), or lift the clamp. A real SVM's window shrinks
# after a loss; the PVM's GSO packets then outgrow what the SVM may send.
# TCP takes a locked window from its cache of the peer's metrics, which a
# connection that ends fills from the route: one short one per family.
topo_svm_window() {
	local cwnd=() want
	[[ -n ${1:-} ]] && cwnd=(cwnd lock "$1")
	ip -n "$TOPO_SVM" route replace 10.0.0.0/24 dev eth0 "${cwnd[@]}"
	ip -n "$TOPO_SVM" -6 route replace fd00::/64 dev eth0 metric 256 "${cwnd[@]}"
	ip -n "$TOPO_SVM" tcp_metrics flush all
	echo window | C timeout 10 socat - "TCP:$VM_IP4:$PORT_ECHO" >/dev/null
	echo window | C timeout 10 socat - "TCP6:[$VM_IP6]:$PORT_ECHO" >/dev/null
	[[ -n ${1:-} ]] || return 0
	# The cache is filled as the SVM's side closes: wait for both entries.
	want=" cwnd $1 "
	wait_until eval '(($(ip -n "$TOPO_SVM" tcp_metrics show |
		grep -c -- "$want") == 2))' ||
		echo "topo_svm_window: the SVM's window is not clamped to $1" >&2
}

# ct_drops NS: conntrack's counts of packets it found invalid or dropped in
# NS (seqadj's failures count as drops), summed over the CPUs.
ct_drops() {
	local -a head row
	local -A sum=()
	local i name out="$1 conntrack:"
	{
		read -ra head
		while read -ra row; do
			for i in "${!head[@]}"; do
				sum[${head[i]}]=$((${sum[${head[i]}]:-0} + 16#${row[i]}))
			done
		done
	} < <(ip netns exec "$1" cat /proc/net/stat/nf_conntrack)
	for name in invalid drop early_drop insert_failed; do
		out+=" $name ${sum[$name]:-0}"
	done
	echo "$out"
}

# topo_pair_start LOG [ARGS]: the pair's instances 1, SECCOLO's on the
# secondary and PMYCOLO's on the primary, owned by the stand-in (its output
# to LOG, its INIT options ARGS).
topo_pair_start() {
	topo_seccolo 1
	S "$COLOCTL" init 1 --mode secondary
	topo_pmycolo 1
	standin_start "$@"
}

# topo_cleanup: what a test on the pair leaves: the stand-in, the services,
# and its $tmp directory.
topo_cleanup() {
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	topo_stop_services
	[[ -n ${tmp:-} ]] && rm -rf "$tmp"
}

# standin_reasons LOG: the first checkpoint requests the stand-in printed,
# with their reasons (for a failed "no checkpoint" check).
standin_reasons() {
	grep -E "reason" "$1" | head -n 5
}

standin_stop() {
	kill "$standin"
	wait "$standin" 2>/dev/null
	standin=
	wait_until eval '! P "$COLOCTL" status 1 >/dev/null 2>&1'
}
