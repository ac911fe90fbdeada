#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the time a request/response transaction adds through the proxy
# goes, run in the test guest by `make bench BENCH=latency`: colo_bench.sh's
# request/response (reqresp.py, one connection of 64-byte requests and
# answers to the echo service) on the same COLO topology, with and without
# the PMYCOLO rules, alternated ROUNDS times. Each leg runs twice: once
# plain (the client's time per transaction and the rate), once under an
# AF_PACKET capture of every device of the primary host (tcpdump -i any,
# nanosecond timestamps), which gives for each reply
#   t_pvm  the PVM's reply arrives on vif (the tap runs before the bridge
#          and before PMYCOLO holds it),
#   t_svm  the SVM's copy arrives on eth1 (before PMYCOLO's netdev ingress
#          hook takes it),
#   t_out  the released reply leaves on eth0,
# and the request's arrival on eth0. Prints medians, p90 and means of
# svm_lag = t_svm - t_pvm, release = t_out - max(t_pvm, t_svm) against the
# same vif -> eth0 transit without the proxy, and how the added time per
# transaction splits between them; and the rates with and without the
# capture (the instrument's cost). Asserts no speed; fails only when a leg
# did not run or its capture could not be matched.
source "$(dirname "$0")/../lib/guest.sh"
TOPO_FILE_MB=${BENCH_MB:-1}	# bench_setup's file; not downloaded here
source "$(dirname "$0")/colo_lib.sh"

require_cmd tcpdump
ROUNDS=${BENCH_ROUNDS:-2}
TRANSACTIONS=${BENCH_TRANSACTIONS:-1000}
bench_setup
reqresp=$PROJECT_DIR/selftests/lib/reqresp.py
split=$PROJECT_DIR/selftests/bench/latency_split.py
rows=$tmp/rows

# rr: transactions per second of one reqresp.py run, each transaction's
# time in $tmp/times.
rr() {
	C timeout 300 python3 "$reqresp" --times "$tmp/times" $VM_IP4 $PORT_ECHO \
		"$TRANSACTIONS" | awk '{ printf "%.1f\n", $1 / $4 }'
}

for round in $(seq "$ROUNDS"); do
	for mode in off on; do
		[[ $mode == on ]] && proxy on
		r=$(rr) || { echo "request/response failed ($mode)"; exit 1; }
		echo "r $mode plain $round $r" >>"$rows"
		awk -v m="$mode" -v r="$round" '{ print "c", m, r, $1 }' "$tmp/times" >>"$rows"

		cap=$tmp/cap.$mode.$round.pcap
		cap_start "$TOPO_PRIMARY" any inout "$cap" -y LINUX_SLL2 \
			--time-stamp-precision=nano -s 256 "tcp port $PORT_ECHO" ||
			exit 1
		BENCH_PIDS+=("${TOPO_CAPS[@]}")
		rc=$(rr) || { echo "request/response under capture failed ($mode)"; exit 1; }
		cap_stop
		echo "r $mode captured $round $rc" >>"$rows"
		echo "round $round, proxy $mode: $r transactions/s, under capture $rc/s;" \
			"tcpdump: $(grep -h "dropped by kernel" "$cap.log")"
		P python3 "$split" match "$mode" "$round" "$cap" "$tmp/times" \
			>>"$rows" 2>"$tmp/match.log" || {
			cat "$tmp/match.log"
			echo "the capture of round $round, proxy $mode could not be matched"
			keep_files "$cap" "$tmp/times"
			exit 1
		}
		sed 's/^/  /' "$tmp/match.log"
		rm -f "$cap"
		# The pair's last FIN and ACK cross the mirror before it goes.
		[[ $mode == on ]] && { wait_until svm_idle || echo "the SVM still has connections"; proxy off; }
	done
done

P python3 "$split" report "$rows"
cat <<'EOF'

(client: reqresp.py's time from send() to the whole answer. The captured
runs' parts add up to their client time: outside the primary host (client,
switch, their veths), the request on eth0 to the PVM's reply on vif (the
PVM's answer, the mirror beside it), the wait for the SVM's copy
(max(0, svm_lag)) and vif -> eth0: with the proxy the release after the
later copy (the compare thread's wake-up, the compare, the reinjection,
the bridge out), without it the bridge's transit. Timestamps are the
taps' software time, on the same clock in one namespace.)
EOF
echo
echo "proxy counters:"
P "$COLOCTL" status 1 | grep -E "pkts_compared|pkts_matched|svm_pkts_captured|checkpoints_requested"
grep "^checkpoint requested" "$tmp/standin.log"
ksft_exit
