#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One primary instance's flows compared on several workers (coloctl's
# --compare-shards, xt_PMYCOLO's compare_shards; lib/topology.sh, primary
# host only). The same UDP datagrams of 256 flows are sent from the PVM
# and into the forward device (lib/rawflood.py).
#  - 2 shards (asked for at init): both workers of the pool compare a share
#    of the instance's flows (their CPU time), every datagram matches,
#    nothing is dropped, no checkpoint is asked for. 1 shard (the module's
#    default): one worker does all of it, which shows what the share check
#    tells apart. Status shows the shards in use.
#  - The instance's limits are the instance's, whatever the shard: with
#    the SVM silent and a queue limit of 300, 299 datagrams held over 299
#    flows ask for nothing, two more ask for a queue_full checkpoint. Its 2
#    shards come from compare_shards=2, written in sysfs.
#  - The flows gauge counts the flows of every shard.
source "$(dirname "$0")/lib/guest.sh"
source "$(dirname "$0")/lib/topology.sh"

require_cmd python3 iptables ip6tables
load_colo_modules
topo_create
# This test counts flows: the flood's 256 and nothing else.
topo_no_ipv6
tmp=$(mktemp -d)
param=/sys/module/xt_PMYCOLO/parameters/compare_shards
topo_pmycolo 1
[[ -w $param ]] || { fail "xt_PMYCOLO has no writable compare_shards"; ksft_exit; }
old_shards=$(cat "$param")

cleanup() {
	[[ -n ${standin:-} ]] && kill "$standin" 2>/dev/null
	echo "$old_shards" >"$param"
	rm -rf "$tmp"
}

mapfile -t workers < <(pgrep -x 'colo_pmy/w[0-9]+')
((${#workers[@]} >= 2)) || skip "the pool has ${#workers[@]} worker (one CPU?)"
# Two workers: the instance's shards go to both (pmycolo_pool_join()).
workers=("${workers[@]:0:2}")


# worker_ticks: each worker's CPU time so far (utime + stime, in ticks).
worker_ticks() {
	local pid
	for pid in "${workers[@]}"; do
		awk '{ print $14 + $15 }' "/proc/$pid/stat"
	done
}

# shards_in_use: what status says the instance compares with.
shards_in_use() {
	P "$COLOCTL" status 1 --json |
		python3 -c 'import json,sys; [d] = json.load(sys.stdin); print(d.get("compare_shards"))'
}


# run_flows SHARDS [ARGS]: an instance made with coloctl's ARGS, which must
# give it SHARDS shards, compares the same 256 flows' datagrams from both
# sides; sets share to the smaller worker's share of both workers' CPU
# time, in percent.
FLOWS=256
ROUNDS=${SHARDS_ROUNDS:-40}
run_flows() {
	local shards=$1 n=$((FLOWS * ROUNDS)) before after a b p what high
	shift
	what="$shards shards"
	((shards == 1)) && what="1 shard"
	standin_start "$tmp/standin.log" --queue-limit 262144 --timeout 60000 "$@" || {
		fail "$what: coloctl run did not make the instance"
		ksft_exit
	}
	check "$what: status shows them" '[[ $(shards_in_use) == "$shards" ]]'
	mapfile -t before < <(worker_ticks)
	flood_pvm udp 0 "$FLOWS" "$ROUNDS" &
	p=$!
	flood_svm udp 0 "$FLOWS" "$ROUNDS"
	wait "$p"
	pstat_wait pkts_matched "$n" ||
		fail "$what: only $(pstat pkts_matched) of $n datagrams matched"
	mapfile -t after < <(worker_ticks)
	check "$what: every datagram matched" '(($(pstat pkts_matched) == n))'
	check "$what: nothing dropped" '(($(pstat pkts_dropped) == 0))'
	check "$what: no checkpoint" '(($(pstat checkpoints_requested) == 0))' ||
		standin_reasons "$tmp/standin.log"
	high=$(pstat flows_high)
	# If not: whether the extra flow stayed, what is still held and what
	# the instance took in besides the flood tell where it came from.
	check "$what: the flows gauge counts every shard's ($high flows at most)" \
		'((high == FLOWS))' || {
		echo "$what: flows now $(pstat flows), held: PVM $(pstat pvm_queue)," \
			"SVM $(pstat svm_queue); of $n datagrams each way:" \
			"$(pstat pkts_compared) PVM packets compared," \
			"$(pstat svm_pkts_captured) SVM packets captured," \
			"$(pstat svm_pkts_link) of them link traffic"
	}
	standin_stop
	a=$((after[0] - before[0]))
	b=$((after[1] - before[1]))
	echo "$what: the workers' CPU ticks: $a and $b"
	share=$(awk -v a="$a" -v b="$b" 'BEGIN {
		m = a < b ? a : b
		printf "%d\n", (a + b) ? 100 * m / (a + b) : 0
	}')
}

echo 1 >"$param"
run_flows 2 --compare-shards 2
check "2 shards: each worker compared a share ($share% of their CPU to the smaller)" \
	'((share >= 20))'
run_flows 1
check "1 shard: one worker compared it all ($share% of their CPU to the other)" \
	'((share <= 10))'

# --- the queue limit is the instance's ---
echo 2 >"$param"
standin_start "$tmp/standin.log" --queue-limit 300 --timeout 600000
check "compare_shards=2: status shows 2 shards" '[[ $(shards_in_use) == 2 ]]'
flood_pvm udp 1000 299
wait_until eval '(($(pstat pvm_queue) == 299))'
check "299 datagrams held over the shards" '(($(pstat pvm_queue) == 299))'
check "the flows gauge counts every shard's" '(($(pstat flows) == 299))'
check "below the instance's queue limit: no request" \
	'(($(pstat req_queue_full) == 0))'
flood_pvm udp 2000 2
wait_until eval '(($(pstat req_queue_full) >= 1))'
check "at the instance's queue limit: a queue_full request" \
	'(($(pstat req_queue_full) >= 1))'
standin_stop
ksft_exit
