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
source "$(dirname "$0")/../lib/topology.sh"

require_cmd socat python3 openssl iptables ip6tables
ROUNDS=${BENCH_ROUNDS:-3}
TRANSACTIONS=${BENCH_TRANSACTIONS:-2000}
load_colo_modules
topo_create
topo_services
tmp=$(mktemp -d)
reqresp=$PROJECT_DIR/selftests/lib/reqresp.py

cleanup() {
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	topo_stop_services
	rm -rf "$tmp"
}

topo_seccolo 1
S "$COLOCTL" init 1 --mode secondary
ip netns exec "$TOPO_PRIMARY" "$COLOCTL" run 1 --mode primary \
	>"$tmp/standin.log" 2>&1 &
standin=$!
file=$(topo_file "$TOPO_FILE_MB")

proxy() {	# proxy on|off
	local op=-D ipt
	[[ $1 == on ]] && op=-I
	for ipt in iptables ip6tables; do
		P "$ipt" -t mangle "$op" PREROUTING -m physdev --physdev-in vif \
			-j PMYCOLO --index 1 --forward-dev eth1
	done
}

# bulk: MB/s of one download of the file.
bulk() {
	local t0 t1
	t0=$(date +%s%N)
	C socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/dl" || return 1
	t1=$(date +%s%N)
	cmp -s "$tmp/dl" "$file" || return 1
	echo "$TOPO_FILE_MB $t0 $t1" | awk '{ printf "%.1f\n", $1 * 1e9 / ($3 - $2) }'
}

# rr: transactions per second of 64-byte request/responses.
rr() {
	C python3 "$reqresp" $VM_IP4 $PORT_ECHO "$TRANSACTIONS" |
		awk '{ printf "%.0f\n", $1 / $4 }'
}

declare -A sum
for round in $(seq "$ROUNDS"); do
	for mode in off on; do
		proxy "$mode"
		b=$(bulk) || { echo "bulk download failed ($mode)"; exit 1; }
		r=$(rr) || { echo "request/response failed ($mode)"; exit 1; }
		proxy off 2>/dev/null
		echo "round $round, proxy $mode: bulk $b MB/s, request/response $r/s"
		sum[bulk_$mode]=$(awk -v a="${sum[bulk_$mode]:-0}" -v b="$b" 'BEGIN { print a + b }')
		sum[rr_$mode]=$(awk -v a="${sum[rr_$mode]:-0}" -v b="$r" 'BEGIN { print a + b }')
	done
done

awk -v n="$ROUNDS" -v bo="${sum[bulk_off]}" -v bp="${sum[bulk_on]}" \
	-v ro="${sum[rr_off]}" -v rp="${sum[rr_on]}" 'BEGIN {
	bo /= n; bp /= n; ro /= n; rp /= n
	printf "\n%-28s %12s %12s %8s %8s\n", "workload (mean of " n ")", "no proxy", "proxy", "ratio", "target"
	printf "%-28s %12.1f %12.1f %7.0f%% %7s\n", "bulk TCP, MB/s", bo, bp, 100 * bp / bo, ">=90%"
	printf "%-28s %12.0f %12.0f %7.0f%% %7s\n", "TCP request/response, /s", ro, rp, 100 * rp / ro, ">=80%"
	printf "%-28s %12.0f %12.0f %8s\n", "latency per transaction, us", 1e6 / ro, 1e6 / rp, ""
	printf "%-28s %12s %12.0f\n", "added by the proxy, us", "", 1e6 / rp - 1e6 / ro
}'
echo
echo "proxy counters:"
P "$COLOCTL" status 1 | grep -E "pkts_compared|pkts_matched|svm_pkts_captured|checkpoints_requested|pvm_queue_high|svm_queue_high"
ksft_exit
