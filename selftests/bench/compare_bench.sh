#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The comparator side by side with QEMU's, run in the test guest by
# `make bench`: the same frames of one TCP stream (the primary's and the
# secondary's copies, the same bytes cut into segments of different sizes)
# fed by bench/colo_frames to
#   no proxy   a primary host's bridge (vif -> br0 -> eth0), the secondary's
#              frames dropped on eth1: the physical limit of this rig;
#   PMYCOLO    the same host with the PMYCOLO rule on vif and eth1 as its
#              forward device: the primary's frames are held until the
#              secondary's, arriving on eth1, match them;
#   QEMU       QEMU 7.2's colo-compare, standalone (-M none), over its
#              three chardev sockets;
# interleaved, ROUNDS times, for each workload. What comes out is counted
# (on the bridge's far side, on colo-compare's outdev). Then one byte of the
# secondary's copy is flipped: both must hold from exactly that frame on.
#
# Prints frames/s, Mbit/s (the stream's payload), CPU per MB and their
# ratios against the targets (CPU per MB >= 10x lower than colo-compare's,
# throughput within 10% of no proxy). Asserts nothing about speed; fails
# when a leg does not run or lets out what it should not.
#
# (The rig: cmp_rig_create in lib.sh.)
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/lib.sh"

QEMU=${QEMU:-qemu-system-x86_64}
require_cmd "$QEMU" iptables
ROUNDS=${BENCH_ROUNDS:-3}
MB=${BENCH_CMP_MB:-16}
# Workloads: NAME:PRIMARY_PAYLOAD:SECONDARY_PAYLOAD per segment.
WORKLOADS=${BENCH_CMP_WORKLOADS:-"mtu:1448:2896 large:60000:30000"}
load_colo_modules || exit 1
tmp=$(mktemp -d)
qemu_pid=

cleanup() {
	[[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
}

cmp_rig_create || exit 1

# A fresh colo-compare for each run (its flow state would outlive the run).
# QEMU makes the output socket first and waits for its client on each
# socket in turn (wait=on): colo_frames connects the output first, so that
# nothing is released before QEMU accepted it (it would be dropped).
qemu_start() {
	local i
	rm -f "$tmp"/{pri,sec,out}
	"$QEMU" -M none -nodefaults -display none -monitor none -serial none \
		-object iothread,id=cmp-io \
		-chardev "socket,id=out,path=$tmp/out,server=on,wait=on" \
		-chardev "socket,id=pri,path=$tmp/pri,server=on,wait=on" \
		-chardev "socket,id=sec,path=$tmp/sec,server=on,wait=on" \
		-object colo-compare,id=cmp,primary_in=pri,secondary_in=sec,outdev=out,iothread=cmp-io,compare_timeout=600000,expired_scan_cycle=1000,max_queue_size=65536 \
		2>"$tmp/qemu.log" &
	qemu_pid=$!
	for i in $(seq 600); do
		[[ -S $tmp/out ]] && return 0
		kill -0 "$qemu_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "colo-compare did not start: $(cat "$tmp/qemu.log")"
	return 1
}

qemu_stop() {
	kill "$qemu_pid"
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=
}

# run LEG PAYLOAD_P PAYLOAD_S [ARGS]: one run; prints colo_frames' line.
run() {
	local leg=$1 p=$2 s=$3 rc port
	shift 3
	port=$(bench_port)
	case $leg in
	qemu)
		qemu_start || return 1
		"$frames" qemu "$tmp/pri" "$tmp/sec" "$tmp/out" -q "$qemu_pid" \
			-p "$p" -s "$s" -m "$MB" -c "$port" "$@"
		rc=$?
		qemu_stop
		;;
	*)
		[[ $leg == pmycolo ]] && cmp_proxy on
		cmp_send "$p" "$s" "$MB" "$port" "$@"
		rc=$?
		[[ $leg == pmycolo ]] && cmp_proxy off
		;;
	esac
	return "$rc"
}

legs=${BENCH_CMP_LEGS:-"noproxy pmycolo qemu"}

diagnose() { bench_diagnose "$B_PRI" "$B_PVM" "$B_SVM"; }
declare -A sum
for round in $(seq "$ROUNDS"); do
	for w in $WORKLOADS; do
		IFS=: read -r name p s <<<"$w"
		for leg in $legs; do
			line=$(run "$leg" "$p" "$s") || {
				echo "FAIL: $leg, $name: not everything came out: $line"
				[[ $leg == qemu ]] && cat "$tmp/qemu.log"
				diagnose
				exit 1
			}
			echo "round $round $name $leg: $line"
			sum[$name.$leg]+="$line;"
		done
	done
done

# The figures of one leg from its runs' lines: frames/s, Mbit/s, CPU ms per
# MB of every CPU (busy time in /proc/stat: the kernel path works in softirq
# and in its worker), CPU ms per MB of the processes (QEMU: colo-compare's
# process and the sender; kernel legs: the sender, which runs the path's
# softirq part inline), the sender's CPU and its own code's (user time) as
# shares of the wall time, the other CPUs' busy time (100%: one CPU) and
# how long the sender slept for the comparator to catch up (its window of
# frames in flight full), both as shares of the wall time.
figures() {	# figures LEG LINES
	awk -v leg="$1" -v lines="$2" 'BEGIN {
		n = split(lines, l, ";")
		for (i = 1; i <= n; i++) {
			if (l[i] == "")
				continue
			split(l[i], kv, " ")
			for (j in kv) {
				split(kv[j], f, "=")
				v[f[1]] = f[2]
			}
			fr += v["frames_in"]; by += v["bytes"]; t += v["seconds"]
			busy += v["busy_ticks"] / v["hz"]
			proc += (v["comparator_ticks"] + v["sender_ticks"]) / v["hz"]
			snd += v["sender_ticks"] / v["hz"]
			usr += v["sender_user_ticks"] / v["hz"]
			wait += v["window_wait"]
		}
		mb = by / 1048576
		printf "%.0f %.1f %.1f %.1f %.0f %.0f %.0f %.0f\n", fr / t, by * 8 / t / 1e6,
			busy * 1000 / mb, proc * 1000 / mb, 100 * snd / t, 100 * usr / t,
			100 * (busy - snd) / t, 100 * wait / t
	}'
}

echo
printf "%-8s %-8s %9s %8s %17s %10s %8s %9s %11s %8s\n" workload leg "frames/s" "Mbit/s" \
	"CPU ms/MB: all" "processes" "sender" "its user" "other CPUs" "waited"
for w in $WORKLOADS; do
	IFS=: read -r name p s <<<"$w"
	for leg in $legs; do
		read -r fps mbit busy proc snd usr rest wait < <(figures "$leg" "${sum[$name.$leg]}")
		printf "%-8s %-8s %9s %8s %17s %10s %7s%% %8s%% %10s%% %7s%%\n" "$name" "$leg" \
			"$fps" "$mbit" "$busy" "$proc" "$snd" "$usr" "$rest" "$wait"
		eval "${leg}_mbit=$mbit ${leg}_busy=$busy ${leg}_proc=$proc"
	done
	awk -v n="$name" -v pm="${pmycolo_mbit:-0}" -v np="${noproxy_mbit:-0}" \
		-v qm="${qemu_mbit:-0}" -v pb="${pmycolo_busy:-0}" -v qb="${qemu_busy:-0}" \
		-v qp="${qemu_proc:-0}" -v nb="${noproxy_busy:-0}" 'BEGIN {
		if (np && pm)
			printf "%-8s PMYCOLO throughput %.0f%% of no proxy (target >= 90%%), ", n, 100 * pm / np
		if (np && pm)
			printf qm ? "%.1fx colo-compare\x27s\n" : "\n", pm / (qm ? qm : 1)
		if (qb && pb)
			printf "%-8s colo-compare CPU per MB / PMYCOLO\x27s (target >= 10x): %.1fx (all CPUs), %.1fx (its process and the sender against all CPUs)\n", n, qb / pb, qp / pb
		if (qb && pb > nb && nb)
			printf "%-8s colo-compare CPU per MB / what PMYCOLO adds to the bridge\x27s (all CPUs, less no proxy\x27s): %.1fx\n", n, qb / (pb - nb)
		if (qb && nb)
			printf "%-8s the bridge alone (no proxy) spends %.0f%% of colo-compare\x27s CPU per MB: a kernel path through it reaches %.1fx at most (all CPUs)\n", n, 100 * nb / qb, qb / nb
	}'
done
echo "(workloads NAME:PRIMARY:SECONDARY payload bytes per segment: $WORKLOADS;" \
	"$MB MB per run, $ROUNDS runs; frames/s counts both sides' frames fed in;" \
	"the sender's CPU includes the kernel path run inline in its sendmmsg calls" \
	"(bridge, netfilter, PMYCOLO's queueing in softirq); its user time is its own code;" \
	"other CPUs: the rest of the busy time (PMYCOLO's worker; QEMU), 100% one CPU;" \
	"waited: the sender asleep for the comparator, its 512 frames in flight out)"

# Per-packet cost as concurrent flows grow: SEGMENTS segments of 1448
# bytes from both VMs, spread round-robin over FLOWS flows (at least one
# each), after every flow's handshake; no proxy and PMYCOLO.
echo
SEGMENTS=${BENCH_FLOW_SEGMENTS:-20000}
# Every run's flows stay in conntrack (established): room for all of them
# (the limit is global, set in the initial namespace).
sysctl -qw net.netfilter.nf_conntrack_max=1000000
flows_run() {	# flows_run LEG FLOWS
	local k=$((SEGMENTS / $2))
	((k < 1)) && k=1
	run "$1" 1448 1448 -n "$2" -k "$k" -t 600
}
read -ra counts <<<"${BENCH_FLOWS:-1 100 10000 100000}"
per_packet_table flows flows_run "${counts[@]}" || { diagnose; exit 1; }
echo "(target: PMYCOLO's added cost flat within 20% from 1 to 100k flows)"
# Concurrent flows, not flows evicted at the limit and made again.
evicted=$(colo_stat "$B_PRI" 1 flows_evicted)
if [[ $evicted != 0 ]]; then
	fail "${evicted:-an unknown number of} flows evicted: the flows legs" \
		"measured flows made again, not concurrent ones"
fi

# One instance's flows over the pool's workers (coloctl init's
# --compare-shards): the same frames of SHARD_FLOWS flows through an
# instance of one shard and of one shard per worker, interleaved, ROUNDS
# times each.
echo
n_workers=$(pgrep -xc 'colo_pmy/w[0-9]+')
SHARD_FLOWS=${BENCH_SHARD_FLOWS:-64}
SHARD_SEGMENTS=${BENCH_SHARD_SEGMENTS:-40000}
shard_instance() {	# shard_instance [ARGS]: instance 1 made afresh, with ARGS
	ip netns exec "$B_PRI" "$COLOCTL" destroy 1 &&
		ip netns exec "$B_PRI" "$COLOCTL" init 1 --mode primary \
			--timeout 600000 --queue-limit 65536 "$@"
}
declare -A shard_sum
for round in $(seq "$ROUNDS"); do
	for n in 1 "$n_workers"; do
		shard_instance --compare-shards "$n" || exit 1
		line=$(run pmycolo 1448 1448 -n "$SHARD_FLOWS" \
			-k $((SHARD_SEGMENTS / SHARD_FLOWS)) -t 600) || {
			echo "FAIL: $n shards: not everything came out: $line"
			diagnose
			exit 1
		}
		echo "round $round, $n shards: $line"
		shard_sum[$n]+="$line;"
	done
done
declare -A shard_fps shard_busy
printf "%-8s %9s %8s %17s\n" shards "frames/s" "Mbit/s" "CPU ms/MB: all"
for n in 1 "$n_workers"; do
	read -r fps mbit busy _ < <(figures "$n shards" "${shard_sum[$n]}")
	printf "%-8s %9s %8s %17s\n" "$n" "$fps" "$mbit" "$busy"
	shard_fps[$n]=$fps
	shard_busy[$n]=$busy
done
awk -v n="$n_workers" -v f1="${shard_fps[1]}" -v fn="${shard_fps[$n_workers]}" \
	-v b1="${shard_busy[1]}" -v bn="${shard_busy[$n_workers]}" 'BEGIN {
	printf "%d shards against 1: %.2fx the frames/s, %.2fx the CPU per MB\n",
		n, f1 ? fn / f1 : 0, b1 ? bn / b1 : 0
}'
echo "($SHARD_FLOWS flows of 1448-byte segments, $SHARD_SEGMENTS segments a side" \
	"per run, $n_workers CPUs and compare workers in the guest)"
shard_instance || exit 1

# A flipped byte 1000000 bytes into the secondary's copy: the primary's
# segments before the one that holds it come out, and none from it on.
echo
flip=1000000
IFS=: read -r name p s <<<"${WORKLOADS%% *}"
for leg in pmycolo qemu; do
	if line=$(run "$leg" "$p" "$s" -f "$flip" -w 256); then
		echo "flipped byte at $flip ($name, $leg): held from primary segment" \
			"$((flip / p)) on, exactly: $line"
	else
		echo "FAIL: flipped byte at $flip ($name, $leg): expected the first" \
			"$((flip / p)) segments out, no more: $line"
		ksft_rc=1
	fi
done
ip netns exec "$B_PRI" "$COLOCTL" status 1 |
	grep -E "pkts_compared|pkts_matched|svm_pkts_captured|checkpoints_requested|pkts_dropped"
ksft_exit
