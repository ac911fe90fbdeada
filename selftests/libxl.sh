#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Xen libxl's COLO proxy protocol (raw netlink NETLINK_COLO, 28), driven by
# colo_libxl_client exactly as libxl_colo_proxy.c drives it, on both hosts
# of the COLO topology: INIT and the port-id index, the checkpoint request
# and its answer, COLO_CHECKPOINT that never draws a reply, teardown when
# the socket closes, namespaces, bad input, privilege, and the mode: forced
# by the libxl_mode parameter, or (auto) taken from the namespace's PMYCOLO
# or SECCOLO rules for the index, with both target modules loaded.
#
# Checkpoint requests come from selftests/kmod/colo_test_trigger.ko until
# xt_PMYCOLO's compare path makes them: the same colo_request_checkpoint()
# call, from the same (bottom halves off) context.
source "$(dirname "$0")/lib/guest.sh"
TOPO_FILE_MB=1
source "$(dirname "$0")/lib/topology.sh"

require_cmd python3 ip setpriv socat iptables ip6tables
CLIENT=$PROJECT_DIR/selftests/colo_libxl_client
TRIGGER=$PROJECT_DIR/selftests/kmod/colo_test_trigger.ko
MODE_PARAM=/sys/module/nfnetlink_colo/parameters/libxl_mode
if [[ ! -x $CLIENT || ! -f $TRIGGER ]]; then
	fail "selftests/colo_libxl_client and kmod/colo_test_trigger.ko are built (make)"
	ksft_exit
fi
load_colo_modules || { fail "load modules"; ksft_exit; }
insmod "$TRIGGER" || { fail "load colo_test_trigger"; ksft_exit; }
topo_create
tmp=$(mktemp -d)

declare -A CL_IN CL_OUT CL_PID CL_HELLO
cleanup() {
	local name
	for name in "${!CL_PID[@]}"; do
		cl_stop "$name"
	done
	[[ -n ${mon_pid:-} ]] && kill "$mon_pid" 2>/dev/null
	topo_stop_services
	rmmod colo_test_trigger 2>/dev/null
	[[ -w $MODE_PARAM ]] && echo auto >"$MODE_PARAM"
	rm -rf "$tmp"
}

# json EXPR: EXPR on the one instance of a status --json array (as d).
json() { python3 -c 'import json,sys; [d]=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# st NS INDEX EXPR: EXPR on instance INDEX's JSON status in NS (as d).
st() { ip netns exec "$1" "$COLOCTL" status "$2" --json | json "$3"; }
gone() { ! ip netns exec "$1" "$COLOCTL" status "$2" >/dev/null 2>&1; }

# Background processes must not hold the other clients' stdin open: a
# client sees EOF only when the last writer goes.
cl_close_fds() {
	local fd
	for fd in "${CL_IN[@]}" "${CL_OUT[@]}"; do
		exec {fd}>&-
	done
}

# cl_start NAME NS [-i INDEX]: a libxl client in NS. CL_HELLO[NAME] gets
# what it said while setting up ("in-use 1 ready 2"); true if it is ready.
cl_start() {
	local name=$1 ns=$2 in out line
	shift 2
	mkfifo "$tmp/$name.in" "$tmp/$name.out"
	(cl_close_fds; exec ip netns exec "$ns" "$CLIENT" "$@") \
		<"$tmp/$name.in" >"$tmp/$name.out" &
	CL_PID[$name]=$!
	exec {in}>"$tmp/$name.in" {out}<"$tmp/$name.out"
	CL_IN[$name]=$in
	CL_OUT[$name]=$out
	CL_HELLO[$name]=
	while read -r -t 10 -u "$out" line; do
		CL_HELLO[$name]+="${CL_HELLO[$name]:+ }$line"
		[[ $line == in-use* ]] || break
	done
	[[ ${CL_HELLO[$name]} == *ready* ]]
}

# cl NAME CMD: one command, prints the client's one-line answer.
cl() {
	local line
	echo "$2" >&"${CL_IN[$1]}"
	read -r -t 15 -u "${CL_OUT[$1]}" line || line="no-answer"
	echo "$line"
}

# cl_stop NAME: close the client's stdin: it closes its socket and exits.
cl_stop() {
	local in=${CL_IN[$1]} out=${CL_OUT[$1]}
	[[ -n ${CL_PID[$1]:-} ]] || return 0
	exec {in}>&-
	wait "${CL_PID[$1]}" 2>/dev/null
	exec {out}<&-
	rm -f "$tmp/$1.in" "$tmp/$1.out"
	unset "CL_PID[$1]"
}

# request NS INDEX: the data path asks instance INDEX for a checkpoint.
request() {
	ip netns exec "$1" sh -c "echo $2 >/sys/module/colo_test_trigger/parameters/request"
}

check "libxl_mode takes only auto, primary, secondary" \
	'! echo bogus 2>/dev/null >"$MODE_PARAM" && [[ $(cat "$MODE_PARAM") == auto ]]'

# --- primary host ---
echo primary >"$MODE_PARAM"
if cl_start a "$TOPO_PRIMARY"; then
	pass "INIT with ack, libxl-style: ${CL_HELLO[a]}"
else
	fail "INIT: ${CL_HELLO[a]}"
	ksft_exit
fi
expect "the instance is the port id: index 1, primary, owned by port 1" \
	"1 primary active 1 False" \
	st "$TOPO_PRIMARY" 1 '"%s %s %s %s %s" % (d["index"], d["mode"], d["state"], d["owner"], d["persistent"])'
cl_start b "$TOPO_PRIMARY"
expect "a second client: EADDRINUSE on 1, moves on to 2 (as libxl)" \
	"in-use 1 ready 2" echo "${CL_HELLO[b]}"
expect "instance 2 owned by port 2" "2 2" \
	st "$TOPO_PRIMARY" 2 '"%s %s" % (d["index"], d["owner"])'

expect "QUERY: no checkpoint pending" "pending 0" cl a query
expect "libxl's wait with nothing to do: the receive times out" "timeout" \
	cl a "wait 1"
expect "COLO_CHECKPOINT: sent without ack" "sent" cl a checkpoint
expect "... draws no reply at all" "none" cl a "recv 500"
expect "... and counts as a completed checkpoint" "1" \
	st "$TOPO_PRIMARY" 1 'd["stats"]["checkpoints_done"]'

# The checkpoint request: libxl's socket and the genl monitors get it.
(cl_close_fds; exec ip netns exec "$TOPO_PRIMARY" timeout 30 "$COLOCTL" \
	monitor --count 1) >"$tmp/monitor" 2>&1 &
mon_pid=$!
monitor_joined() {
	ip netns exec "$TOPO_PRIMARY" awk '$2 == 16 && $4 != "00000000" { f = 1 } END { exit !f }' /proc/net/netlink
}
wait_until monitor_joined
sleep 0.5
check "data path asks instance 1 for a checkpoint" "request $TOPO_PRIMARY 1"
expect "libxl's wait: COLO_QUERY_CHECKPOINT, is_checkpoint true" "request 1" \
	cl a wait
expect "QUERY now: pending" "pending 1" cl a query
expect "another libxl socket gets nothing" "none" cl b "recv 300"
check "coloctl monitor (genl events group) still sees the request" \
	'wait "$mon_pid" && grep -q "index 1 reason miscompare" "$tmp/monitor"'
mon_pid=
check "a second request while one is pending is not sent" \
	"! request $TOPO_PRIMARY 1 2>/dev/null"
expect "... nothing more arrives" "none" cl a "recv 300"
cl a checkpoint >/dev/null
expect "COLO_CHECKPOINT clears the pending request" "pending 0" cl a query

# genl on a libxl-owned instance: the same instance, the same semantics.
request "$TOPO_PRIMARY" 1
expect "request again: libxl gets it" "request 1" cl a wait
check "genl DO_CHECKPOINT on the libxl-owned instance" \
	'ip netns exec "$TOPO_PRIMARY" "$COLOCTL" checkpoint 1'
expect "... clears what libxl sees" "pending 0" cl a query
expect "... and libxl's socket gets nothing from genl" "none" cl a "recv 300"

# Errors reach only a request that asked for an ack.
expect "FAILOVER (acked) on instance 2" "ok" cl b failover
expect "COLO_CHECKPOINT after failover (the kernel refuses it): no reply" \
	"sent none" eval 'echo $(cl b checkpoint) $(cl b "recv 500")'
check "... the refusal is in the kernel log instead" \
	'dmesg | tail -n 20 | grep -q "libxl port 2, message type 18: .*not sent: no ack asked"'
expect "RESET (acked): ok" "ok" cl b reset
expect "... active again" "active" st "$TOPO_PRIMARY" 2 'd["state"]'

# Bad input: no reply unless acked, no crash, no kernel warning.
for msg in "17 0 16" "99 1 16" "3 1 16" "18 1 8" "18 1 15" "18 1 1" \
	"20 1 80" "21 1 16" "19 2 16"; do
	r=$(cl a "raw $msg")
	[[ $r == sent ]] || fail "raw $msg: $r"
done
expect "short, unknown, control and non-request messages: no reply" \
	"none" cl a "recv 500"
expect "unknown type with NLM_F_ACK: EOPNOTSUPP" "error 95" \
	eval 'cl a "raw 99 5 16" >/dev/null; cl a "recv 1000"'
expect "INIT again by the owner (with ack): ok, idempotent" "error 0" \
	eval 'cl a "raw 20 5 16" >/dev/null; cl a "recv 1000"'
expect "the instance survived it all" "pending 0" cl a query

# Privilege: INIT needs CAP_NET_ADMIN in the namespace's user namespace.
expect "an unprivileged INIT is refused: EPERM" "init-failed 1" \
	ip netns exec "$TOPO_PRIMARY" setpriv --reuid=65534 --regid=65534 \
	--clear-groups --inh-caps=-all --bounding-set=-all "$CLIENT" -i 7
check "... and created nothing" "gone $TOPO_PRIMARY 7"

# --- secondary host: its own index 1 ---
echo secondary >"$MODE_PARAM"
cl_start s "$TOPO_SECONDARY"
expect "secondary host: index 1 again (namespaces are independent)" \
	"ready 1" echo "${CL_HELLO[s]}"
expect "... a secondary, owned by port 1" "secondary 1" \
	st "$TOPO_SECONDARY" 1 '"%s %s" % (d["mode"], d["owner"])'
expect "... the primary's index 1 is untouched" "primary 1" \
	st "$TOPO_PRIMARY" 1 '"%s %s" % (d["mode"], d["owner"])'
request "$TOPO_SECONDARY" 1
expect "a request on the secondary reaches its own libxl only" \
	"request 1 none" eval 'echo $(cl s wait) $(cl a "recv 300")'

# --- teardown with the socket ---
cl_stop a
check "primary: closing libxl's socket tears the instance down" \
	"wait_until gone $TOPO_PRIMARY 1"
failed_over() {
	[[ $(st "$TOPO_SECONDARY" 1 '"%s %s" % (d["state"], d["persistent"])') == "failed-over True" ]]
}
cl_stop s
check "secondary: closing it fails over (persistent, offsets kept)" \
	"wait_until failed_over"
ip netns exec "$TOPO_SECONDARY" "$COLOCTL" destroy 1
cl_stop b

# --- libxl restarts: a new socket binds the port while the old one closes ---
# The port id is free before the old socket's release reaches us: an INIT
# of the new socket may come first. Whatever the order, an INIT answered 0
# must leave an active instance owned by (and answering) the new socket.
# A primary that the old socket's release got to first is created afresh;
# a secondary it got to first has failed over (by design) and says EEXIST.
cl_restart() {
	local old=$1 new=$2 ns=$3 index=$4 in out line
	mkfifo "$tmp/$new.in" "$tmp/$new.out"
	(cl_close_fds; exec ip netns exec "$ns" "$CLIENT" -i "$index" -w) \
		<"$tmp/$new.in" >"$tmp/$new.out" &
	CL_PID[$new]=$!
	exec {in}>"$tmp/$new.in" {out}<"$tmp/$new.out"
	CL_IN[$new]=$in
	CL_OUT[$new]=$out
	# "waiting INDEX": the new client spins on bind() from here on.
	CL_HELLO[$new]=
	read -r -t 10 -u "$out" line
	[[ $line == waiting* ]] || { CL_HELLO[$new]="not waiting: $line"; return 1; }
	cl_stop "$old"
	read -r -t 15 -u "$out" line
	CL_HELLO[$new]=$line
}
restart_rounds() {
	local mode=$1 ns=$2 i r adopted=0 fresh=0 refused=0 bad=0 got
	echo "$mode" >"$MODE_PARAM"
	cl_start r0 "$ns" -i 5 || { fail "$mode: first libxl client: ${CL_HELLO[r0]}"; return; }
	for i in $(seq 4); do
		# Marks the instance: an adopted one keeps the count.
		cl "r$((i - 1))" checkpoint >/dev/null
		cl_restart "r$((i - 1))" "r$i" "$ns" 5
		case ${CL_HELLO[r$i]} in
		"ready 5")
			got=$(st "$ns" 5 '"%s %s %s" % (d["state"], d["owner"], d["stats"]["checkpoints_done"])')
			r=$(cl "r$i" query)
			case "$got $r" in
			"active 5 1 pending 0") adopted=$((adopted + 1)) ;;
			"active 5 0 pending 0") fresh=$((fresh + 1)) ;;
			*) bad=$((bad + 1)); echo "round $i: INIT ok, then: $got / $r" ;;
			esac ;;
		"init-failed 17")
			got=$(st "$ns" 5 'd["state"]')
			if [[ $mode == secondary && $got == failed-over ]]; then
				refused=$((refused + 1))
			else
				bad=$((bad + 1)); echo "round $i: EEXIST, instance $got"
			fi
			ip netns exec "$ns" "$COLOCTL" destroy 5
			cl_stop "r$i"
			cl_start "r$i" "$ns" -i 5 || bad=$((bad + 1)) ;;
		*)
			bad=$((bad + 1)); echo "round $i: ${CL_HELLO[r$i]}"
			cl_stop "r$i"
			ip netns exec "$ns" "$COLOCTL" destroy 5 2>/dev/null
			cl_start "r$i" "$ns" -i 5 || bad=$((bad + 1)) ;;
		esac
	done
	cl_stop r4
	echo "$mode: $adopted taken over before the old release, $fresh created afresh, $refused refused after failover"
	check "$mode: libxl restarting on its port always gets a working instance" \
		"((bad == 0))"
	if [[ $mode == primary ]]; then
		check "... and the primary goes with the last socket" "wait_until gone $ns 5"
	else
		ip netns exec "$ns" "$COLOCTL" destroy 5 2>/dev/null
	fi
}
restart_rounds primary "$TOPO_PRIMARY"
restart_rounds secondary "$TOPO_SECONDARY"

# --- auto: an instance's mode comes from its rules ---
# Both target modules are loaded, as on a host that is primary for one
# domain and secondary for another: the primary's rule comes before INIT,
# the secondary's after it.
echo auto >"$MODE_PARAM"
topo_pmycolo 1
cl_start xp "$TOPO_PRIMARY"
expect "auto, PMYCOLO rules for index 1 before INIT: a primary" \
	"ready 1 primary" \
	eval 'echo ${CL_HELLO[xp]} $(st "$TOPO_PRIMARY" 1 "d[\"mode\"]")'
cl_start xs "$TOPO_SECONDARY"
expect "auto, no rule yet: INIT succeeds, the mode is pending" \
	"ready 1 pending" \
	eval 'echo ${CL_HELLO[xs]} $(st "$TOPO_SECONDARY" 1 "d[\"mode\"]")'
expect "libxl's periodic COLO_CHECKPOINT on the pending instance: no reply" \
	"sent none" eval 'echo $(cl xs checkpoint) $(cl xs "recv 500")'
check "coloctl status says pending" \
	'S "$COLOCTL" status 1 | grep -q "mode: pending"'
topo_seccolo 1
expect "the SECCOLO rules inserted after INIT make it a secondary" \
	"secondary active 1" \
	st "$TOPO_SECONDARY" 1 '"%s %s %s" % (d["mode"], d["state"], d["owner"])'
check "a PMYCOLO rule for the same index is refused" \
	'! S iptables -t mangle -A PREROUTING -j PMYCOLO --index 1 --forward-dev eth1 2>/dev/null'
check "... and the kernel log says why" \
	'dmesg | tail -n 5 | grep -q "PMYCOLO --index 1: SECCOLO rules in this network namespace use index 1 already"'
check "a PMYCOLO rule for another index is fine" \
	'S iptables -t mangle -A PREROUTING -j PMYCOLO --index 2 --forward-dev eth1 &&
	 S iptables -t mangle -D PREROUTING -j PMYCOLO --index 2 --forward-dev eth1'

topo_services
check "TCP through both roles: the client gets the file intact" \
	'C timeout 120 socat -u TCP:$VM_IP4:$PORT_FILE CREATE:"$tmp/dl" &&
	 cmp -s "$tmp/dl" "$(topo_file 1)"'
check "... the primary compared the PVM's output with the SVM's" \
	'(( $(colo_stat "$TOPO_PRIMARY" 1 pkts_matched) > 0 ))'
check "... the secondary learned the flow and adjusted the SVM's packets" \
	'(( $(colo_stat "$TOPO_SECONDARY" 1 flows_learned) > 0 &&
	    $(colo_stat "$TOPO_SECONDARY" 1 pkts_adjusted) > 0 ))'
expect "COLO_CHECKPOINT on both: no reply to either libxl" "sent none sent none" \
	eval 'echo $(cl xp checkpoint) $(cl xp "recv 500") $(cl xs checkpoint) $(cl xs "recv 500")'
topo_stop_services
cl_stop xp
cl_stop xs
S "$COLOCTL" destroy 1

# A genl INIT that names the mode sets a pending instance's mode; libxl
# keeps the instance.
mkns nsx
cl_start x "$nsx"
check "genl INIT --mode primary on a pending libxl instance" \
	'ip netns exec "$nsx" "$COLOCTL" init 1 --mode primary >/dev/null'
expect "... makes it a primary, still owned by libxl's port 1" "primary 1" \
	st "$nsx" 1 '"%s %s" % (d["mode"], d["owner"])'
cl_stop x
check "... which goes with libxl's socket" "wait_until gone $nsx 1"
ip netns del "$nsx"
for ns in "$TOPO_PRIMARY" "$TOPO_SECONDARY"; do
	ip netns exec "$ns" iptables -t mangle -F PREROUTING
	ip netns exec "$ns" ip6tables -t mangle -F PREROUTING
done

# Nothing leaked: no socket holds the module, no instance is left behind
# (unloading warns about leaked instances, and a warning fails the test).
rmmod colo_test_trigger
check "every module unloads" "unload_colo_modules && ! lsmod | grep -q colo"

# Protocol 28 taken by another module: nfnetlink_colo refuses to load and
# says why.
modprobe nf_conntrack_colo
insmod "$TRIGGER" hold_netlink_colo=1
check "protocol 28 taken by another module: nfnetlink_colo does not load" \
	"! modprobe nfnetlink_colo 2>/dev/null"
check "... and the kernel log says who is in the way" \
	'dmesg | tail -n 5 | grep -q "another module owns it in this network namespace"'
rmmod colo_test_trigger
modprobe -r nf_conntrack_colo
ksft_exit
