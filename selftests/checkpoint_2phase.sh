#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The two-phase checkpoint on the primary (CHECKPOINT_BEGIN, then
# DO_CHECKPOINT), driven by hand with coloctl on a persistent instance of
# the COLO topology (lib/topology.sh). A UDP echo flow: the PVM's answer A
# is held (the SVM's copy is dropped: a slow SVM); the checkpoint begins;
# the PVM answers B, whose SVM copy waits in a plugged qdisc (the SVM's
# output after the checkpoint, still on its way). The commit releases A
# only; B stays held until the SVM's B comes, then matches and goes
# without a checkpoint. A datagram of the SVM's that comes during a
# checkpoint and differs is dropped as stale, not called a miscompare.
# DO_CHECKPOINT alone still releases everything. A miscompare's request
# waits miscompare_grace_ms (3 s here, to leave coloctl time): asked for
# when no checkpoint begins meanwhile, covered by one that does. For
# svm_settle_ms after a commit, an SVM datagram that differs on a flow
# opened since the checkpoint before is dropped as stale (a late secondary
# begin may have shifted it), on an older flow it is a miscompare. A begin
# after failover is refused.
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd socat tc python3 iptables
load_colo_modules
modprobe sch_plug 2>/dev/null || skip "no sch_plug (CONFIG_NET_SCH_PLUG)"
topo_create
topo_services
tmp=$(mktemp -d)
grace=/sys/module/xt_PMYCOLO/parameters/miscompare_grace_ms
[[ -w $grace ]] || { fail "xt_PMYCOLO has no writable miscompare_grace_ms"; ksft_exit; }
old_grace=$(cat "$grace")

cleanup() {
	echo "$old_grace" >"$grace"
	[[ -n ${old_settle:-} ]] && echo "$old_settle" >"$settle"
	[[ -n ${monitor:-} ]] && kill "$monitor" 2>/dev/null
	[[ -n ${client:-} ]] && kill "$client" 2>/dev/null
	[[ -n ${ctlfd:-} ]] && exec {ctlfd}>&-
	topo_stop_services
	rm -rf "$tmp"
}

svm_drop() {	# svm_drop -I|-D: the SVM's UDP echo answers dropped or not
	S iptables "$1" FORWARD -m physdev --physdev-in vif -p udp \
		--sport $PORT_UDP -j DROP
}
# One UDP socket of the client: each line written to $ctl is sent to the
# VM's echo service, each answer is appended to $tmp/got, one a line.
ctl=$tmp/ctl
mkfifo "$ctl"
ip netns exec "$TOPO_CLIENT" python3 -u -c '
import socket, sys, threading
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 40007))
def rx():
    with open(sys.argv[3], "a") as f:
        while True:
            f.write(s.recv(2048).decode() + "\n")
            f.flush()
threading.Thread(target=rx, daemon=True).start()
for line in open(sys.argv[4]):
    s.sendto(line.strip().encode(), (sys.argv[1], int(sys.argv[2])))
' "$VM_IP4" $PORT_UDP "$tmp/got" "$ctl" &
client=$!
exec {ctlfd}>"$ctl"
send() { echo "$1" >&"$ctlfd"; }
got() { grep -qx "$1" "$tmp/got" 2>/dev/null; }

topo_seccolo 1
S "$COLOCTL" init 1 --mode secondary
# Persistent, nobody answers requests: the checkpoints come from here only.
P "$COLOCTL" init 1 --mode primary --timeout 600000
topo_pmycolo 1
# A listener, without which a request is not delivered, hence not counted.
# (ip netns exec itself, not P: $! must be the pid that becomes coloctl.)
ip netns exec "$TOPO_PRIMARY" "$COLOCTL" monitor --index 1 \
	>"$tmp/monitor.log" 2>&1 &
monitor=$!
# listening: a generic netlink socket of the primary host in a group.
listening() {
	P awk '$2 == 16 && $4 != "00000000" { n++ } END { exit !n }' \
		/proc/net/netlink
}
check "coloctl monitor listens for the requests" 'wait_until listening'

# queue_is pvm|svm N: that side holds N packets. A function, so that
# wait_until reads the counter on every try.
queue_is() { [[ $(pstat "$1_queue") == "$2" ]]; }

send warmup
check "the echo flow matches through the compare path" 'wait_until got warmup'

svm_drop -I
send one
check "slow SVM: the PVM's answer 'one' is held" \
	'wait_until queue_is pvm 1'
check "begin: accepted, counted as begun" \
	'P "$COLOCTL" checkpoint-begin 1 && (($(pstat checkpoints_begun) == 1))'
# The SVM's output from here on is its output after the checkpoint: it is
# held on its way until after the commit.
S tc qdisc add dev eth1 root plug limit 1000000
svm_drop -D
send two
check "after the begin: the PVM's answer 'two' is held too" \
	'wait_until queue_is pvm 2'
check "commit: accepted, counted as committed" \
	'P "$COLOCTL" checkpoint 1 &&
	 (($(pstat checkpoints_committed) == 1 && $(pstat checkpoints_done) == 1))'
check "commit: the marked answer 'one' is released" 'wait_until got one'
check "commit: the answer after the mark, 'two', is still held" \
	'! got two && (($(pstat pvm_queue) == 1))'
matched=$(pstat pkts_matched)
S tc qdisc change dev eth1 root plug release_indefinite
check "the SVM's 'two' comes: the PVM's 'two' matches it and is released" \
	'wait_until got two && (($(pstat pkts_matched) == matched + 1))'
check "nothing held, no checkpoint requested, nothing dropped" \
	'(($(pstat pvm_queue) == 0 && $(pstat checkpoints_requested) == 0 &&
	   $(pstat pkts_dropped) == 0))'
S tc qdisc del dev eth1 root

# A datagram of the SVM's from before the checkpoint, late on its way: it
# comes during the checkpoint, different from what the PVM sends after it.
# Dropped as stale when it differs; the SVM's real answer then matches.
# stale_svm_frame [PORT]: to the client's PORT (40007, the echo flow's).
stale_svm_frame() {
	S python3 - "$PROJECT_DIR/selftests/lib" "$PORT_UDP" "${1:-40007}" <<'PY'
import socket, struct, sys
sys.path.insert(0, sys.argv[1])
from framelib import VM4, PEER4, csum
data = b"stale"
udp = struct.pack("!HHHH", int(sys.argv[2]), int(sys.argv[3]), 8 + len(data),
                  0) + data
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 7, 0, 64, 17, 0,
                 VM4, PEER4)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = bytes.fromhex("525400c01001525400c010020800")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth1", 0))
s.send(eth + ip + udp)
PY
}
captured=$(pstat svm_pkts_captured)
P "$COLOCTL" checkpoint-begin 1
stale_svm_frame
# At least one capture more: the capture counts every frame from the SVM's
# side, and other frames land in the same window (2 or 3 captures were seen
# for the 1 sent, in 3 runs of 3). The SVM queue says it is held.
check "a stale SVM datagram arrives during the checkpoint and is held" \
	'wait_until queue_is svm 1 &&
	 (($(pstat svm_pkts_captured) >= captured + 1))'
echo "captured during the checkpoint: $(($(pstat svm_pkts_captured) - captured))"
P "$COLOCTL" checkpoint 1
send four
check "the PVM's answer after the checkpoint is released, against the SVM's own" \
	'wait_until got four'
check "the stale datagram was dropped as such, no checkpoint requested" \
	'(($(pstat svm_pkts_stale) == 1 && $(pstat checkpoints_requested) == 0 &&
	   $(pstat svm_queue) == 0))'

svm_drop -I
send three
check "one phase: the PVM's answer 'three' is held" \
	'wait_until queue_is pvm 1'
check "one phase: DO_CHECKPOINT alone releases everything" \
	'P "$COLOCTL" checkpoint 1 && wait_until got three &&
	 (($(pstat pvm_queue) == 0))'
check "one phase: counted done, not committed" \
	'(($(pstat checkpoints_done) == 3 && $(pstat checkpoints_committed) == 2))'
svm_drop -D

# A datagram of the SVM's that differs, found before any begin: a real
# divergence, or a straggler the secondary gave its offsets of after a
# checkpoint whose begin has not reached us yet (docs/design.md).
echo 3000 >"$grace"
miscompare_held() {	# miscompare_held ANSWER: the PVM's ANSWER miscompares
	local compared
	send "$1"
	wait_until queue_is pvm 1 || return
	compared=$(pstat pkts_compared)
	stale_svm_frame
	wait_until eval '(($(pstat pkts_compared) > compared))'
}
svm_drop -I
requested=$(pstat checkpoints_requested)
check "grace: a miscompare found ('five' against the SVM's 'stale')" \
	'miscompare_held five'
check "grace: its request is held back" \
	'(($(pstat checkpoints_requested) == requested))'
asked_once() {
	(($(pstat req_miscompare) == 1 &&
	  $(pstat checkpoints_requested) == requested + 1))
}
check "grace: no checkpoint begins, the miscompare is asked for after it" \
	'wait_until asked_once && grep -q miscompare "$tmp/monitor.log"'
P "$COLOCTL" checkpoint-begin 1
P "$COLOCTL" checkpoint 1
check "grace: the checkpoint releases 'five'" 'wait_until got five'
check "grace: a second miscompare found ('six')" 'miscompare_held six'
check "grace: a checkpoint begins within it and is committed" \
	'P "$COLOCTL" checkpoint-begin 1 && P "$COLOCTL" checkpoint 1 &&
	 wait_until got six'
# Past the grace: the held request would have been asked for by now.
sleep 4
check "grace: the checkpoint covered the miscompare, no request" asked_once
svm_drop -D
echo "$old_grace" >"$grace"

# A late secondary begin (docs/design.md, "A late secondary begin"): for
# svm_settle_ms after a commit, the SVM's output on a flow opened since the
# checkpoint before may still carry the offsets of before it. Such a packet
# that differs is dropped as stale; on an older flow it is a miscompare.
# The window is 10 s here, to leave coloctl time; requests are asked at once.
settle=/sys/module/xt_PMYCOLO/parameters/svm_settle_ms
old_settle=$(cat "$settle")
echo 10000 >"$settle"
echo 0 >"$grace"
checkpoint2() { P "$COLOCTL" checkpoint-begin 1 && P "$COLOCTL" checkpoint 1; }
# A second client port: a flow born now, answered by both VMs.
compared=$(pstat pkts_compared)
echo young | C socat -u - "UDP:$VM_IP4:$PORT_UDP,sourceport=40008"
check "a new flow (client port 40008) compares" \
	'wait_until eval "(($(pstat pkts_compared) > compared))"'
checkpoint2
svm_drop -I
requested=$(pstat checkpoints_requested) stale=$(pstat svm_pkts_stale)
echo later | C socat -u - "UDP:$VM_IP4:$PORT_UDP,sourceport=40008"
check "settle: the PVM's answer on the new flow is held" \
	'wait_until queue_is pvm 1'
compared=$(pstat pkts_compared)
stale_svm_frame 40008
check "settle: an SVM datagram that differs, on the flow born before the checkpoint, is dropped as stale" \
	'wait_until eval "(($(pstat svm_pkts_stale) == stale + 1))" &&
	 (($(pstat checkpoints_requested) == requested))'
checkpoint2
check "settle: a flow older than the checkpoint before draws the miscompare" \
	'miscompare_held seven &&
	 wait_until eval "(($(pstat checkpoints_requested) == requested + 1))" &&
	 (($(pstat svm_pkts_stale) == stale + 1))'
checkpoint2
check "settle: the checkpoint releases 'seven'" 'wait_until got seven'
svm_drop -D
echo "$old_settle" >"$settle"
echo "$old_grace" >"$grace"

begun=$(pstat checkpoints_begun)
P "$COLOCTL" failover 1
check "begin after failover: refused with the kernel's reason" \
	'! out=$(P "$COLOCTL" checkpoint-begin 1 2>&1) && [[ $out == *"failed over"* ]]'
check "begin after failover: not counted" \
	'(($(pstat checkpoints_begun) == begun))'

ksft_exit
