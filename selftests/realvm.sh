#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A real COLO pair through the proxy: QEMU's COLO frame checkpoints a PVM
# into an SVM (small QEMU VMs beside the test guest, lib/realvm.sh), whose
# NICs are the vif ports of the primary and secondary hosts, with PMYCOLO
# and SECCOLO on them. selftests/realvm/colo.py stands in for the QEMU
# agent: it completes each QEMU checkpoint in the kernel and turns each
# checkpoint request of the kernel into a QEMU checkpoint.
#  1. identical traffic through periodic checkpoints: downloads intact;
#  2. a service whose output differs between PVM and SVM (one random byte):
#     the miscompare draws a checkpoint, after which the SVM is the PVM's
#     copy and a download compares equal again; requests stay bounded;
#  3. failover from a real checkpoint: the primary QEMU quits mid-download,
#     the SVM takes over, the download and an echo stream complete intact.
# Needs selftests/vm/run.sh --colo-vms (skips otherwise).
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/realvm.sh"

[[ -n ${COLO_REALVM:-} ]] ||
	skip "no real COLO pair: selftests/vm/run.sh --colo-vms"
require_cmd python3 curl socat sha256sum iptables tc
load_colo_modules
tmp=$(mktemp -d)
cleanup() {
	if ((ksft_rc)) && [[ -f ${REALVM_LOG:-} ]]; then
		echo "the COLO driver's log, without checkpoint lines:"
		grep -v '^colo: checkpoint' "$REALVM_LOG"
	fi
	realvm_cleanup
	rm -rf "$tmp"
}
realvm_topo_create

topo_seccolo 1
S "$COLOCTL" init 1 --mode secondary
topo_pmycolo 1
P "$COLOCTL" init 1 --mode primary

# The file the VMs' httpd serves (selftests/realvm/init).
want=$(seq 1 200000 | sha256sum | cut -d' ' -f1)
get() { C curl -s --max-time 120 "http://$VM_IP4/file" | sha256sum | cut -d' ' -f1; }
ckpts() { grep -c '^colo: checkpoint' "$REALVM_LOG"; }
# One counter of the primary's instance (lib/topology.sh's colo_stat, with
# a bound: a test that hangs says less than one that fails).
pstat() {
	timeout 30 ip netns exec "$TOPO_PRIMARY" "$COLOCTL" status 1 --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$1"
}
requests() { pstat checkpoints_requested; }

t0=$SECONDS
realvm_drive 1 2000 "$tmp/colo.log" || { fail "COLO did not start"; ksft_exit; }
echo "COLO state $((SECONDS - t0)) s after the driver started"

# 1. Identical traffic with periodic checkpoints.
c0=$(ckpts) r0=$(requests) t0=$SECONDS
ok=0
for i in 1 2; do
	[[ $(get) == "$want" ]] && ok=$((ok + 1))
done
c1=$(ckpts) r1=$(requests)
check "2 downloads through the compare path with periodic checkpoints are intact ($ok of 2)" \
	"((ok == 2))"
check "checkpoints ran during the downloads ($((c1 - c0)) in $((SECONDS - t0)) s)" "((c1 > c0))"
echo "identical traffic: $((r1 - r0)) checkpoint requests from the kernel"

# 2. The divergent service: each connection draws a miscompare.
echo "[$SECONDS s] the divergent service"
for i in 1 2 3; do
	C timeout 30 socat -u "TCP:$VM_IP4:81" "CREATE:$tmp/diff$i"
done
realvm_wait_log "(requested)" 30 >/dev/null
r2=$(requests)
check "the divergent service's output reached the client (3 connections)" \
	"grep -q diverge $tmp/diff1 && grep -q diverge $tmp/diff2 && grep -q diverge $tmp/diff3"
check "its miscompares requested checkpoints ($((r2 - r1)) requests)" "((r2 > r1))"
check "checkpoints were requested, not a storm ($((r2 - r1)) requests for 3 connections)" \
	"((r2 - r1 <= 6))"
check "QEMU checkpointed on request" "grep -q '(requested)' $tmp/colo.log"
# After the checkpoint the SVM is a copy: identical traffic compares equal.
echo "the client got: $(head -c 40 "$tmp/diff1" | tr '\n' ' ')"
echo "the primary's instance after the divergent service:"
timeout 30 ip netns exec "$TOPO_PRIMARY" "$COLOCTL" status 1
matched0=$(pstat pkts_matched)
check "a download after the miscompare is intact" "[[ \$(get) == $want ]]"
r3=$(requests)
matched1=$(pstat pkts_matched)
check "it compared equal ($((matched1 - matched0)) packets matched, $((r3 - r2)) requests)" \
	"((matched1 > matched0 && r3 == r2))"

echo "[$SECONDS s] failover"
# 3. Failover from a real checkpoint, mid-download, with an echo stream.
ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
	rate 1mbit burst 16k latency 400ms
C curl -s --max-time 120 -o "$tmp/big" "http://$VM_IP4/file" &
dl=$!
C timeout 120 python3 - "$VM_IP4" 7 >"$tmp/echo.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
f = s.makefile("rwb")
for i in range(200):
    line = b"echo line %d\n" % i
    f.write(line); f.flush()
    if f.readline() != line:
        print("echo %d: wrong answer" % i); sys.exit(1)
    time.sleep(0.05)
print("200 echoes intact")
PY
echo_pid=$!
for i in $(seq 300); do
	(($(stat -c %s "$tmp/big" 2>/dev/null || echo 0) > (256 << 10))) && break
	sleep 0.1
done
at=$(stat -c %s "$tmp/big" 2>/dev/null || echo 0)
c3=$(ckpts)
# The primary host dies: its links, then its QEMU.
ip -n "$TOPO_PRIMARY" link del eth0
ip -n "$TOPO_PRIMARY" link del eth1
realvm_ctl failover
realvm_wait_log "failover in" 30 >/dev/null
topo_svm_takes_over
echo "failover with $((at >> 10)) KiB downloaded, after $c3 checkpoints: $(grep 'failover in' "$tmp/colo.log")"
wait "$dl"
wait "$echo_pid"
erc=$?
check "the download survived the failover" "[[ \$(sha256sum <$tmp/big | cut -d' ' -f1) == $want ]]"
check "the echo stream survived the failover ($(cat "$tmp/echo.out"))" "((erc == 0))"
check "the SVM serves a new download" "[[ \$(get) == $want ]]"

grep '^colo: checkpoint' "$tmp/colo.log" | sed -n '1,5p;$p'
grep -E '^colo: (kernel|[0-9]+ checkpoints|failover)' "$tmp/colo.log" | head -20
realvm_ctl stop 2>/dev/null
ksft_exit
