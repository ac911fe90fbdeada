#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# A real COLO pair through the proxy: QEMU's COLO frame checkpoints a PVM
# into an SVM (small QEMU VMs beside the test guest, lib/realvm.sh), whose
# NICs are the vif ports of the primary and secondary hosts, with PMYCOLO
# and SECCOLO on them. On each host a colo-qemu-agent owns the instance and
# speaks QMP to its VM's QEMU; the harness starts COLO and sets the
# checkpoint period on each VM's second monitor (realvm/colo.py).
#  1. identical traffic through periodic checkpoints and checkpoints asked
#     for from outside: downloads intact, no request from the kernel;
#  2. a service whose output differs between PVM and SVM (bytes of each
#     VM's virtio-rng), with no periodic checkpoint to hide it: each
#     connection's miscompare draws a checkpoint, after which the SVM is the
#     PVM's copy, and a download compares equal again; checkpoints bounded;
#  3. an SVM whose neighbour entry for the client is gone (issue 10, part
#     4; realvm/neighsvc deletes it in the SVM only): its ARP request draws
#     a checkpoint at once, the answer comes before the compare timeout,
#     and the SVM is back in step;
#  4. the secondary's agent begins late (stopped across a checkpoint until
#     the primary has committed it), with 4 downloads opened since the
#     checkpoint before: the SVM's segments sent before its begin carry the
#     old offsets, and draw no miscompare (svm_settle_ms); downloads intact;
#  5. the soak (issue 11): identical traffic for REALVM_SOAK_S seconds
#     (default 180) with a checkpoint every 3 s: downloads intact, no
#     request, unreclaimable slab and the instance's state flat;
#     REALVM_CAPTURE=1 keeps captures of the soak that drew a request;
#  6. failover from a real checkpoint: the primary QEMU is killed (SIGKILL,
#     by the outer machine) mid-download and mid-checkpoint, the SVM
#     stopped for it (the migration link, realvm/miglink.py, holds the
#     SVM's reply); the SVM takes over when its QEMU leaves COLO by itself
#     and its agent has QEMU run the VM again; the download and an echo
#     stream complete.
# Needs selftests/vm/run.sh --colo-vms (skips otherwise).
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/realvm.sh"

[[ -n ${COLO_REALVM:-} ]] ||
	skip "no real COLO pair: selftests/vm/run.sh --colo-vms"
require_cmd python3 curl socat sha256sum iptables tc
[[ -x $AGENT ]] || { fail "tools/colo-qemu-agent is built (make)"; ksft_exit; }
load_colo_modules
tmp=$(mktemp -d)
cleanup() {
	realvm_cleanup
	rm -rf "$tmp"
}
soak_s=${REALVM_SOAK_S:-180}
t_start=$SECONDS
stamp() { echo "[$((SECONDS - t_start)) s] $*"; }

realvm_topo_create || { fail "the topology of the real pair"; ksft_exit; }
topo_seccolo 1
topo_pmycolo 1
realvm_agents 1 || { fail "the agents"; ksft_exit; }
stamp "COLO starts"
# bail WHAT: a step that leaves the pair in no known state ends the test.
bail() { fail "$1"; realvm_diag; ksft_exit; }
realvm_start_colo 2000 || bail "COLO did not start"
stamp "COLO state; both agents own their instance"

# The file the VMs' httpd serves (selftests/realvm/init).
want=$(seq 1 200000 | sha256sum | cut -d' ' -f1)
get() { C curl -s --max-time 120 "http://$VM_IP4/file" | sha256sum | cut -d' ' -f1; }
pstat() { realvm_stat "$1"; }
requests() { pstat checkpoints_requested; }

# 1. Identical traffic: periodic checkpoints every 2 s, and one asked for
# from outside in each download.
stamp "1. identical traffic"
realvm_period 2000
c0=$(realvm_checkpoints) r0=$(requests) t0=$SECONDS
ok=0
for i in 1 2; do
	realvm_period 2000 &
	[[ $(get) == "$want" ]] && ok=$((ok + 1))
	wait $!
done
c1=$(realvm_checkpoints) r1=$(requests)
check "2 downloads through the compare path, with checkpoints, are intact ($ok of 2)" \
	"((ok == 2))"
check "checkpoints ran during the downloads ($((c1 - c0)) in $((SECONDS - t0)) s)" \
	"((c1 - c0 >= 2))"
check "identical traffic drew no checkpoint request ($((r1 - r0)))" "((r1 == r0))"
((r1 == r0)) || realvm_diag
echo "  $(realvm_pauses "$c0")"

# 2. The divergent service, with the period long enough that only the
# kernel's requests checkpoint (the agent's own period): a periodic
# checkpoint between the PVM's and the SVM's answer would take the PVM's
# out unmatched and make the SVM a copy before the comparison.
stamp "2. the divergent service"
c=$(realvm_checkpoints)
realvm_period "$REALVM_LONG_MS"
realvm_wait_ckpt "$c" || bail "no checkpoint after the period change"
c2=$(realvm_checkpoints) r2=$(requests)
got=0
for i in 1 2 3; do
	c=$(realvm_checkpoints)
	C timeout 30 socat -u "TCP:$VM_IP4:81" "CREATE:$tmp/diff$i"
	grep -q diverge "$tmp/diff$i" && got=$((got + 1))
	realvm_wait_ckpt "$c" || bail "connection $i to the divergent service drew no checkpoint"
done
realvm_settle || echo "  the primary still holds packets of the divergent service"
c3=$(realvm_checkpoints) r3=$(requests)
check "the divergent service's output reached the client ($got of 3)" "((got == 3))"
echo "  the client got: $(head -c 40 "$tmp/diff1" | tr '\n' ' ')"
check "each connection drew a checkpoint request ($((r3 - r2)) requests)" "((r3 - r2 >= 3))"
check "the checkpoints are bounded ($((c3 - c2)) checkpoints, $((r3 - r2)) requests for 3 connections)" \
	"((c3 - c2 >= 3 && c3 - c2 <= 6 && r3 - r2 <= 6))"
echo "  $(realvm_pauses "$c2")"
# After the checkpoint the SVM is the PVM's copy: identical traffic
# compares equal and asks for nothing.
matched0=$(pstat pkts_matched)
check "a download after the miscompares is intact" "[[ \$(get) == $want ]]"
r4=$(requests) matched1=$(pstat pkts_matched) c4=$(realvm_checkpoints)
check "it compared equal ($((matched1 - matched0)) packets matched, $((r4 - r3)) requests, $((c4 - c3)) checkpoints)" \
	"((matched1 > matched0 && r4 == r3 && c4 == c3))"

# 3. The SVM forgets its neighbour entry for the client (the PVM keeps
# its own) and must ask before it can answer. Only the kernel's requests
# checkpoint here (the long period of phase 2).
stamp "3. the SVM forgets its neighbour"
c=$(realvm_checkpoints) r0=$(requests) rn0=$(pstat req_neigh)
rt0=$(pstat req_timeout) timeout_ms=$(realvm_stat cfg:compare_timeout_ms)
t0=${EPOCHREALTIME/./}
answer=$(C timeout 30 socat -u "TCP:$VM_IP4:82" -)
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
realvm_wait_ckpt "$c" || bail "the SVM's neighbour request drew no checkpoint"
realvm_settle || echo "  the primary still holds packets of the neighbour service"
r1=$(requests) rn1=$(pstat req_neigh) rt1=$(pstat req_timeout)
check "the answer reached the client in $ms ms, within the compare timeout ($timeout_ms ms)" \
	"[[ \$answer == 'neighbour: ok' ]] && ((ms < timeout_ms))"
check "the SVM's ARP request drew the checkpoint: $((rn1 - rn0)) neigh, $((rt1 - rt0)) timeout, $((r1 - r0)) requests" \
	"((rn1 - rn0 == 1 && rt1 - rt0 <= 1 && r1 - r0 == 1 + rt1 - rt0))"
# A timeout of the service's connection after its checkpoint is COLO's
# input race, not the neighbour's (docs/design.md, A real COLO pair).
((rt1 > rt0)) && echo "  and a timeout of the service's flow after its checkpoint: $(grep 'reason timeout' "$REALVM_MLOG" | tail -n 1)"
echo "  $(realvm_pauses "$c")"
matched0=$(pstat pkts_matched) c1=$(realvm_checkpoints)
check "after it the SVM is back in step: a download is intact" "[[ \$(get) == $want ]]"
r2=$(requests) matched1=$(pstat pkts_matched) c2=$(realvm_checkpoints)
check "it compared equal ($((matched1 - matched0)) packets matched, $((r2 - r1)) requests, $((c2 - c1)) checkpoints)" \
	"((matched1 > matched0 && r2 == r1 && c2 == c1))"

# 4. The secondary's agent begins late: stopped (SIGSTOP, as a host under
# load may leave it unscheduled) across a checkpoint until the primary has
# committed it. The SVM resumes as the PVM's copy and sends before its
# begin, its segments shifted by the old offsets of flows opened since the
# checkpoint before (4 downloads here); the primary takes them for
# possibly stale (svm_settle_ms): no miscompare. The client's acks reach
# the SVM shifted too meanwhile, and may make it take bytes for received
# that the client never got: that flow waits for the compare timeout, whose
# checkpoint mends it (docs/design.md, "A late secondary begin"); such
# timeouts are printed, not failed. Only the kernel's requests and the
# harness's checkpoint here, as in phases 2 and 3.
stamp "4. the secondary's begin comes late"
late=0
for round in 1 2 3; do
	{ read -r m0; read -r tm0; read -r stale0; } < <(realvm_stat \
		req_miscompare req_timeout svm_pkts_stale)
	c=$(realvm_checkpoints)
	pids=()
	for k in 1 2 3 4; do
		C curl -s --max-time 60 -o "$tmp/late$k" "http://$VM_IP4/file" &
		pids+=($!)
	done
	sleep 0.4
	sn=$(wc -l <"$REALVM_SLOG")
	kill -STOP "$REALVM_SPID"
	realvm_period "$REALVM_LONG_MS"
	# The secondary's begin comes a few tens of ms after the primary's
	# commit.
	realvm_wait_ckpt "$c" || echo "  no checkpoint in round $round"
	kill -CONT "$REALVM_SPID"
	wait "${pids[@]}"
	realvm_settle || echo "  the primary still holds packets of round $round"
	ok=0
	for k in 1 2 3 4; do
		[[ $(sha256sum <"$tmp/late$k" | cut -d' ' -f1) == "$want" ]] &&
			ok=$((ok + 1))
	done
	{ read -r m1; read -r tm1; read -r stale1; } < <(realvm_stat \
		req_miscompare req_timeout svm_pkts_stale)
	# The secondary's line for the checkpoint of this round.
	line=$(tail -n +$((sn + 1)) "$REALVM_SLOG" | grep -m 1 'agent: checkpoint ')
	# Late: STOP handled less than half the pause before RESUME.
	[[ $line =~ pause\ ([0-9]+)\ ms,\ STOP\ seen\ ([0-9]+)\ ms ]] &&
		((BASH_REMATCH[2] * 2 < BASH_REMATCH[1])) && late=$((late + 1))
	echo "  round $round: ${line#* colo-qemu-agent: }," \
		"$((stale1 - stale0)) SVM packets taken for stale," \
		"$((tm1 - tm0)) timeout requests"
	check "round $round: 4 downloads across the late begin intact ($ok of 4)" \
		"((ok == 4))"
	check "round $round: no miscompare ($((m1 - m0)) requests)" "((m1 == m0))"
	((m1 == m0)) || grep 'reason miscompare tcp [0-9.]*:80 ' "$REALVM_MLOG"
done
check "the secondary's agent began late in every round ($late of 3)" "((late == 3))"

# 5. The soak: identical traffic with a checkpoint every 3 s.
stamp "5. soak, $soak_s s"
slab_kb() { awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo; }
instance() {
	echo "flows $(pstat flows), held pvm $(pstat pvm_queue) svm $(pstat svm_queue)"
}
realvm_period 3000
[[ $(get) == "$want" ]] || fail "the soak's first download"
# REALVM_CAPTURE=1: the PVM's and the SVM's output as the primary host gets
# them (vif, eth1), into the results share when the soak draws a request.
if [[ -n ${REALVM_CAPTURE:-} ]]; then
	cap_start "$TOPO_PRIMARY" vif in "$tmp/soak-pvm.pcap"
	cap_start "$TOPO_PRIMARY" eth1 in "$tmp/soak-svm.pcap"
fi
c5=$(realvm_checkpoints) r5=$(requests) slab0=$(slab_kb) inst0=$(instance)
n=0 ok=0 t0=$SECONDS
while ((SECONDS - t0 < soak_s)); do
	n=$((n + 1))
	[[ $(get) == "$want" ]] && ok=$((ok + 1))
done
c6=$(realvm_checkpoints) r6=$(requests) slab1=$(slab_kb) inst1=$(instance)
if [[ -n ${REALVM_CAPTURE:-} ]]; then
	cap_stop
	((r6 == r5)) || cp "$tmp"/soak-*.pcap "$REALVM_OUT/"
fi
check "soak: $n downloads in $((SECONDS - t0)) s intact ($ok of $n)" "((ok == n && n > 0))"
check "soak: $((c6 - c5)) checkpoints" "((c6 - c5 >= soak_s / 6))"
check "soak: no checkpoint request ($((r6 - r5)))" "((r6 == r5))"
((r6 == r5)) || realvm_diag
echo "  $(realvm_pauses "$c5")"
echo "  unreclaimable slab: $slab0 kB at the start, $slab1 kB at the end ($((slab1 - slab0)) kB)"
echo "  primary instance: at the start $inst0; at the end $inst1"
check "soak: unreclaimable slab flat (within 2 MB)" "((slab1 - slab0 < 2048))"

# 6. Failover from a real checkpoint, mid-download, with an echo stream.
# The pair must still be in COLO state for it to mean anything.
grep -q COLO_EXIT "$REALVM_SLOG" && bail "COLO ended before the failover"
stamp "6. failover"
realvm_period 2000
ip netns exec "$TOPO_SWITCH" tc qdisc replace dev sw-client root tbf \
	rate 1mbit burst 16k latency 400ms
C curl -s --max-time 120 -o "$tmp/big" "http://$VM_IP4/file" &
dl=$!
C timeout 120 python3 "$PROJECT_DIR/selftests/lib/echo_lines.py" "$VM_IP4" 7 >"$tmp/echo.out" 2>&1 &
echo_pid=$!
for i in $(seq 300); do
	(($(stat -c %s "$tmp/big" 2>/dev/null || echo 0) > (256 << 10))) && break
	sleep 0.1
done
at=$(stat -c %s "$tmp/big" 2>/dev/null || echo 0)
c7=$(realvm_checkpoints)
# The primary host dies: its links, then its QEMU, killed at the worst
# moment, the SVM stopped for a checkpoint whose state never comes.
ip -n "$TOPO_PRIMARY" link del eth0
ip -n "$TOPO_PRIMARY" link del eth1
t0=$SECONDS
realvm_kill pvm --mid-checkpoint || fail "the PVM was not killed"
# QEMU 7.2's secondary leaves COLO by itself when the migration channel
# breaks (COLO_EXIT, reason error); its agent then fails the instance over
# and sends x-colo-lost-heartbeat, without which QEMU keeps the SVM
# stopped.
if realvm_wait_log "$REALVM_SLOG" "failed over after" 60; then
	pass "the secondary's QEMU left COLO by itself, the agent failed over ($((SECONDS - t0)) s)"
else
	fail "the secondary's agent did not fail over"
fi
check "the SVM was stopped for a checkpoint when the PVM died" \
	"grep -q 'never completed' '$REALVM_SLOG'"
check "the SVM runs again after the failover" \
	"realvm_wait_log '$REALVM_SLOG' 'runs on its own' 30"
topo_svm_takes_over
echo "  failover with $((at >> 10)) KiB downloaded, after $c7 checkpoints"
grep -h 'COLO_EXIT\|failed over' "$REALVM_SLOG" | sed 's/^/  /'
wait "$dl"
wait "$echo_pid"
erc=$?
check "the download survived the failover" "[[ \$(sha256sum <$tmp/big | cut -d' ' -f1) == $want ]]"
check "the echo stream survived the failover ($(cat "$tmp/echo.out"))" "((erc == 0))"
check "the SVM serves a new download" "[[ \$(get) == $want ]]"
wait "$REALVM_PPID"
prc=$?
check "the primary's agent exited with 4, QEMU gone ($prc)" "((prc == 4))"
grep -h 'colo-qemu-agent: [^c]' "$REALVM_PLOG" | tail -n 2 | sed 's/^/  /'
echo "  all: $(realvm_pauses 0)"
stamp "done"
ksft_exit
