#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the CPU the proxy adds per packet goes, run in the test guest by
# `make bench BENCH=profile`: colo_bench.sh's bulk download on the same
# COLO topology, with and without the PMYCOLO rules, alternated ROUNDS
# times, each leg under `perf record -a` with the software clock event
# (cpu-clock: TCG has no hardware PMU). Prints, in microseconds of CPU per
# packet of the workload (samples x period / packets), with and without
# the proxy and the difference, grouped by what the code is: PMYCOLO's own
# functions, the other COLO modules, netfilter and conntrack, skb
# clone/copy/free, the bridge, veth and softirq, locks and scheduling,
# and the rest; then the symbols that gained most. A packet is a
# 1448-byte TCP segment of the download, the same count in both legs.
# Then the same for compare_bench.sh's rig and its MTU workload, per
# segment of the PVM's. Asserts no speed; fails only when a leg did not
# run.
source "$(dirname "$0")/../lib/guest.sh"
TOPO_FILE_MB=${BENCH_MB:-16}
source "$(dirname "$0")/colo_lib.sh"
# shellcheck source=selftests/bench/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"
# shellcheck source=selftests/bench/lib.sh
source "$(dirname "$0")/lib.sh"

require_cmd perf
ROUNDS=${BENCH_ROUNDS:-2}
PERIOD_NS=${BENCH_PERIOD_NS:-250000}	# one sample per 250 us of CPU
TOP=15
bench_setup

# Kernel and module symbols from /proc/kallsyms (root, no hiding), and no
# lowering of the sample rate when TCG makes the sampling interrupt slow.
sysctl -qw kernel.kptr_restrict=0 kernel.perf_event_paranoid=-1 \
	kernel.perf_event_max_sample_rate=100000 kernel.perf_cpu_time_max_percent=0

# vif_count WHAT: packets or bytes through the PVM's port, both ways.
vif_count() {
	P cat "/sys/class/net/vif/statistics/rx_$1" \
		"/sys/class/net/vif/statistics/tx_$1" | awk '{ n += $1 } END { print n }'
}

# svm_sent: bytes the SVM sent, on the secondary's port (its share of the
# "proxy on" legs: the same download, compared and dropped by PMYCOLO).
svm_sent() { S cat /sys/class/net/vif/statistics/rx_bytes; }

# perf_window begin|end: bulk's hook, perf's events on for the download.
perf_window() {
	case $1 in
	begin) perf_ctl enable ;;
	end) perf_ctl disable ;;
	esac
}

declare -A pkts bytes
ncpu=$(nproc)
for round in $(seq "$ROUNDS"); do
	for mode in off on; do
		[[ $mode == on ]] && proxy on
		data=$tmp/perf.$mode.$round
		perf_start "$data" || { echo "perf did not start ($mode): $(cat "$data.log")"; exit 1; }
		p0=$(vif_count packets)
		b0=$(vif_count bytes)
		s0=$(svm_sent)
		bulk perf_window || { echo "bulk download under perf failed ($mode): $(cat "$data.log")"; exit 1; }
		p=$(($(vif_count packets) - p0))
		b=$(($(vif_count bytes) - b0))
		s=$(($(svm_sent) - s0))
		perf_stop || { echo "perf record failed ($mode): $(cat "$data.log")"; exit 1; }
		[[ $mode == on ]] && { wait_until svm_idle || echo "the SVM still has connections"; proxy off; }
		perf_report "$data" >"$data.txt"
		[[ -s $data.txt ]] || { echo "perf report of $data is empty ($mode)"; exit 1; }
		cat "$data.txt" >>"$tmp/report.$mode"
		# Every CPU is sampled, idle too: samples x period should be
		# the CPUs' wall time, unless samples were lost.
		awk -v r="$round" -v m="$mode" -v mbs="$bulk_mbs" -v mb="$TOPO_FILE_MB" \
			-v p="$p" -v b="$b" -v ncpu="$ncpu" -v period="$PERIOD_NS" \
			-v ticks="$bulk_cpu" -v svm="$s" '{ n += $1 } END {
			printf "round %d, proxy %s: bulk %.1f MB/s, %d skbs (%d bytes each)" \
				" through vif, SVM sent %.1f MB, %d samples (%.0f%% of %d" \
				" CPUs\x27 time; busy by /proc/stat %d ms)\n", r, m, mbs, p,
				b / (p ? p : 1), svm / 1048576, n,
				100 * n * period / 1e9 / (ncpu * mb / mbs), ncpu, ticks * 10 }' "$data.txt"
		pkts[$mode]=$((${pkts[$mode]:-0} + p))
		bytes[$mode]=$((${bytes[$mode]:-0} + b))
		rm -f "$data" "$data.txt" "$data.log"
	done
done

# Each module's symbols, by name: "name\t[module]".
awk 'NF == 4 { print $3 "\t" $4 }' /proc/kallsyms >"$tmp/modsyms"

# Per packet: per TCP segment of 1448 bytes of the downloads, the same
# for both legs (what a 1500-byte MTU link carries). The skbs through vif
# are fewer and bigger, by as much as GSO and GRO merge, which varies with
# the timing: printed above, not used.
segs=$((ROUNDS * TOPO_FILE_MB * 1048576 / 1448))
printf '\nCPU per packet of the bulk download (%d rounds of %d MB, perf cpu-clock every %d us on both CPUs;\n' \
	"$ROUNDS" "$TOPO_FILE_MB" $((PERIOD_NS / 1000))
printf 'per packet: per 1448-byte TCP segment of the downloads, %d per leg; skbs through vif, both\n' "$segs"
printf 'ways: %d without the proxy, %d with it)\n\n' "${pkts[off]}" "${pkts[on]}"
profile_table "$tmp/modsyms" "$tmp/report" "$segs" "$segs" packet
echo
echo "proxy counters:"
P "$COLOCTL" status 1 | grep -E "pkts_compared|pkts_matched|svm_pkts_captured|checkpoints_requested"
grep "^checkpoint requested" "$tmp/standin.log"

# --- the compare rig -----------------------------------------------------
# compare_bench.sh's rig and MTU workload (BENCH_CMP_MB of one stream, the
# PVM's in 1448-byte segments, the SVM's in 2896), the same way: there the
# whole path of a frame runs in the sender's softirq and in PMYCOLO's
# worker, and nothing else shares the CPUs. A unit is one of the PVM's
# segments, the same count in both legs. The sender runs on CPU 0, so
# that CPU's samples are the sender's path, which bounds both legs
# (compare_bench.sh's "sender" column): they get a table of their own.
CMP_MB=${BENCH_CMP_MB:-16}
CMP_SENDER_CPU=0
cmp_rig_create || { echo "the compare rig did not come up"; exit 1; }
declare -A cmp_units
for round in $(seq "$ROUNDS"); do
	for mode in off on; do
		[[ $mode == on ]] && cmp_proxy on
		data=$tmp/cperf.$mode.$round
		perf_start "$data" || { echo "perf did not start ($mode): $(cat "$data.log")"; exit 1; }
		perf_ctl enable
		line=$(cmp_send 1448 2896 "$CMP_MB" "$(bench_port)")
		rc=$?
		perf_ctl disable
		perf_stop || { echo "perf record failed ($mode): $(cat "$data.log")"; exit 1; }
		[[ $mode == on ]] && cmp_proxy off
		echo "compare rig, round $round, proxy $mode: $line"
		# colo_frames fails when fewer frames came out than it sent.
		((rc == 0)) || { echo "FAIL: the rig did not let every frame out ($mode)"; exit 1; }
		out=${line##*frames_out=}
		out=${out%% *}
		perf_report "$data" >>"$tmp/cmpreport.$mode"
		perf_report "$data" "$CMP_SENDER_CPU" >>"$tmp/cmpsender.$mode"
		cmp_units[$mode]=$((${cmp_units[$mode]:-0} + out))
		rm -f "$data" "$data.log"
	done
done
printf '\nCPU per PVM segment in the compare rig (%d rounds of %d MB, perf cpu-clock every %d us on both CPUs;\n' \
	"$ROUNDS" "$CMP_MB" $((PERIOD_NS / 1000))
printf '%d segments of 1448 bytes per leg, the SVM'"'"'s copy in half as many; user space is colo_frames,\n' \
	"${cmp_units[off]}"
printf 'which builds every frame before it sends them, in both legs)\n\n'
profile_table "$tmp/modsyms" "$tmp/cmpreport" "${cmp_units[off]}" "${cmp_units[on]}" segment
printf '\nOf it on the sender\x27s CPU (CPU %d: colo_frames and the kernel path its sendmmsg calls\n' \
	"$CMP_SENDER_CPU"
printf 'run in softirq, the PVM\x27s frames through the bridge and PMYCOLO\x27s intake of both VMs\x27)\n\n'
profile_table "$tmp/modsyms" "$tmp/cmpsender" "${cmp_units[off]}" "${cmp_units[on]}" segment
ksft_exit
