#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark of the primary's compare path, run in the test guest by
# `make bench`: the same workloads on the same COLO topology, with and
# without the PMYCOLO rules, alternated ROUNDS times so that both see the
# same machine. Prints figures and ratios; asserts nothing but that the
# workloads ran. Targets: bulk >= 90% and request/response >= 80% of the
# path without the proxy.
source "$(dirname "$0")/../lib/guest.sh"
TOPO_FILE_MB=${BENCH_MB:-64}
source "$(dirname "$0")/colo_lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
TRANSACTIONS=${BENCH_TRANSACTIONS:-2000}
bench_setup
reqresp=$PROJECT_DIR/selftests/lib/reqresp.py

# rr: transactions per second of 64-byte request/responses.
rr() {
	C timeout 300 python3 "$reqresp" $VM_IP4 $PORT_ECHO "$TRANSACTIONS" |
		awk '{ printf "%.0f\n", $1 / $4 }'
}

declare -A sum
for round in $(seq "$ROUNDS"); do
	for mode in off on; do
		[[ $mode == on ]] && proxy on
		bulk || { echo "bulk download failed ($mode)"; exit 1; }
		b=$bulk_mbs
		r=$(rr) || { echo "request/response failed ($mode)"; exit 1; }
		# The pair's last FIN and ACK cross the mirror before it goes.
		[[ $mode == on ]] && { wait_until svm_idle || echo "the SVM still has connections"; proxy off; }
		echo "round $round, proxy $mode: bulk $b MB/s, request/response $r/s," \
			"CPU per MB $((bulk_cpu * 10 / TOPO_FILE_MB)) ms (compare threads $((bulk_worker * 10 / TOPO_FILE_MB)) ms)"
		sum[cpu_$mode]=$((${sum[cpu_$mode]:-0} + bulk_cpu))
		sum[worker_$mode]=$((${sum[worker_$mode]:-0} + bulk_worker))
		sum[bulk_$mode]=$(awk -v a="${sum[bulk_$mode]:-0}" -v b="$b" 'BEGIN { print a + b }')
		sum[rr_$mode]=$(awk -v a="${sum[rr_$mode]:-0}" -v b="$r" 'BEGIN { print a + b }')
	done
done

awk -v n="$ROUNDS" -v bo="${sum[bulk_off]}" -v bp="${sum[bulk_on]}" \
	-v ro="${sum[rr_off]}" -v rp="${sum[rr_on]}" \
	-v co="${sum[cpu_off]}" -v cp="${sum[cpu_on]}" -v cw="${sum[worker_on]}" \
	-v mb="$TOPO_FILE_MB" 'BEGIN {
	bo /= n; bp /= n; ro /= n; rp /= n
	# clock ticks (100 per second) to ms per MB
	co *= 10 / (n * mb); cp *= 10 / (n * mb); cw *= 10 / (n * mb)
	printf "\n%-28s %12s %12s %8s %8s\n", "workload (mean of " n ")", "no proxy", "proxy", "ratio", "target"
	printf "%-28s %12.1f %12.1f %7.0f%% %7s\n", "bulk TCP, MB/s", bo, bp, 100 * bp / bo, ">=90%"
	printf "%-28s %12.0f %12.0f %7.0f%% %7s\n", "TCP request/response, /s", ro, rp, 100 * rp / ro, ">=80%"
	printf "%-28s %12.0f %12.0f %8s\n", "latency per transaction, us", 1e6 / ro, 1e6 / rp, ""
	printf "%-28s %12s %12.0f\n", "added by the proxy, us", "", 1e6 / rp - 1e6 / ro
	printf "%-28s %12.1f %12.1f %7.0f%%\n", "guest CPU per bulk MB, ms", co, cp, 100 * cp / co
	printf "%-28s %12s %12.1f\n", "  of which compare threads", "", cw
	print "\nWhere the time goes: every host of the topology shares the guest\x27s two"
	print "CPUs, so bulk throughput here falls with the CPU the proxy adds per byte"
	print "(capturing the SVM\x27s copy, comparing both, reinjecting the PVM\x27s); each"
	print "transaction also waits for the SVM\x27s answer over the forward link."
}'
echo
echo "proxy counters:"
P "$COLOCTL" status 1 | grep -E "pkts_compared|pkts_matched|svm_pkts_captured|checkpoints_requested|req_|pvm_queue_high|svm_queue_high"
grep "^checkpoint requested" "$tmp/standin.log"
ksft_exit
