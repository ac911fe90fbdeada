# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What the benchmarks on the COLO topology (colo_bench.sh, profile_bench.sh)
# share: the pair set up with the hypervisor stand-in, PMYCOLO switched on
# and off between legs, and the bulk download with the CPU it took. Set
# TOPO_FILE_MB first, then source it:
#
#   source "$(dirname "$0")/../lib/guest.sh"
#   TOPO_FILE_MB=${BENCH_MB:-64}
#   source "$(dirname "$0")/colo_lib.sh"
#   bench_setup           modules, topology, services, SECCOLO, stand-in;
#                         sets $tmp and $file (the download's bytes)
#   proxy on|off          COLO on the primary, or not at all
#   bulk [HOOK]           one download by the client, timed
#   wait_until svm_idle   the SVM's share of a round is done
#
# It defines cleanup() (lib/guest.sh's EXIT trap calls it), which also
# kills the pids a benchmark adds to BENCH_PIDS.
# shellcheck source=selftests/lib/topology.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topology.sh"

BENCH_PIDS=()
cleanup() {
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	topo_stop_services
	[[ -n ${tmp:-} ]] && rm -rf "$tmp"
}

bench_setup() {
	require_cmd socat python3 openssl iptables ip6tables
	load_colo_modules
	topo_create
	topo_services
	tmp=$(mktemp -d)
	topo_seccolo 1
	S "$COLOCTL" init 1 --mode secondary
	colo_run "$TOPO_PRIMARY" 1 primary "$tmp/standin.log"
	standin=$COLO_RUN_PID
	file=$(topo_file "$TOPO_FILE_MB")
	# Both legs begin without the mirror: proxy on adds it back.
	topo_unmirror "$TOPO_PRIMARY" vif
}

# proxy on|off: COLO on the primary, or not at all. Off, the SVM is not
# fed either: a SVM that got the client's packets while its output went
# nowhere would fall behind what the client acked (it ignores acks of data
# it has not sent yet), keep those connections for minutes and, once
# PMYCOLO captured again, draw a timeout checkpoint for each retransmission
# (#11 item 14: 10.0.0.1:59992 -> :80 of the round before, a zombie).
# Real pairs never mirror without comparing.
proxy() {
	local op=-D ipt
	if [[ $1 == on ]]; then
		op=-I
		topo_mirror "$TOPO_PRIMARY" vif eth1
	else
		topo_unmirror "$TOPO_PRIMARY" vif
	fi
	for ipt in iptables ip6tables; do
		P "$ipt" -t mangle "$op" PREROUTING -m physdev --physdev-in vif \
			-j PMYCOLO --index 1 --forward-dev eth1
	done
}

# Busy CPU time of the whole guest (every host shares its 2 CPUs), and of
# the compare threads (xt_PMYCOLO's pool), in clock ticks.
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
worker_ticks() {
	local pid ticks=0
	for pid in $(pgrep -x 'colo_pmy/w[0-9]+'); do
		ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
	done
	echo "$ticks"
}

# bulk [HOOK]: MB/s of one download of the file; also sets bulk_cpu and
# bulk_worker, the ticks spent meanwhile. HOOK, when given, runs with
# "begin" right before the download and "end" right after it (a
# profiler's window). Fails if the bytes differ.
bulk() {
	local hook=${1:-:} t0 t1 c0 w0 c1 w1 rc=0
	c0=$(cpu_busy)
	w0=$(worker_ticks)
	"$hook" begin || return 1
	t0=$(date +%s%N)
	C timeout 300 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/dl" || rc=1
	t1=$(date +%s%N)
	"$hook" end || rc=1
	c1=$(cpu_busy)
	w1=$(worker_ticks)
	((rc == 0)) || return 1
	bulk_cpu=$((c1 - c0))
	bulk_worker=$((w1 - w0))
	cmp -s "$tmp/dl" "$file" || return 1
	bulk_mbs=$(echo "$TOPO_FILE_MB $t0 $t1" | awk '{ printf "%.1f\n", $1 * 1e9 / ($3 - $2) }')
}

# The SVM holds no connection but closed ones (its share of a round done).
svm_idle() {
	[[ -z $(ip netns exec "$TOPO_SVM" ss -Htn state connected exclude time-wait) ]]
}
