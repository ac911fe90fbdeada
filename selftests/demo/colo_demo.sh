#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: a COLO pair at work, run as root in the test guest
# (selftests/vm/run.sh -- selftests/demo/colo_demo.sh). On the topology of
# lib/topology.sh, with `coloctl run` standing in for the hypervisor on
# both hosts:
#   1. the pair: SECCOLO on the secondary, PMYCOLO on the primary
#   2. a client downloads a large file through the primary, live counters
#   3. a divergence on the SVM: a checkpoint request and its handling
#   4. the primary host dies mid-download: failover, the download goes on
#   5. a summary; exit 0 only if everything shown above happened.
# Not a selftest (selftests/run.sh runs selftests/*.sh only).
#   DEMO_MB    size of the download, MiB (default 160)
#   DEMO_RATE  the client's link, tc rate (default 48mbit: ~30 s)
# shellcheck disable=SC2016,SC2034 # verdict and watch_until evaluate strings
source "$(dirname "$0")/../lib/guest.sh"
TOPO_FILE_MB=${DEMO_MB:-160}
source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/lib.sh"

RATE=${DEMO_RATE:-48mbit}
tmp=$(mktemp -d)
big=$tmp/download
pstandin=
sstandin=
dl=
cleanup() {
	local pid
	for pid in "$dl" "$pstandin" "$sstandin"; do
		[[ -n $pid ]] && kill "$pid" 2>/dev/null
	done
	topo_stop_services
	rm -rf "$tmp"
}

# mib BYTES: MiB with one decimal.
mib() { tenths $(($1 * 10 >> 20)); }
TOTAL=$((TOPO_FILE_MB << 20))

# progress primary|secondary|none: one line: the download, then the
# counters of that host's instance.
last_t=0 last_b=0
progress() {
	local t b rate line
	t=$(now_us)
	b=$(size "$big")
	rate=0.0
	((t > last_t)) && rate=$(tenths $(((b - last_b) * 10000000 / (t - last_t) >> 20)))
	last_t=$t last_b=$b
	line=$(printf '%6ss %7s/%d MiB %5s MiB/s' "$(elapsed)" \
		"$(mib "$b")" "$TOPO_FILE_MB" "$rate")
	line+=$(counters "$1")
	echo "$line"
}

running() { [[ -n $dl ]] && kill -0 "$dl" 2>/dev/null; }

require_cmd socat tc openssl iptables ip6tables sha256sum
demo_start colo-demo

echo "COLO demo: a client, a primary host with its PVM, a secondary host with its SVM"
echo "(network namespaces in a QEMU guest, kernel $(uname -r))"

# --- 1 --------------------------------------------------------------------
section "1. The COLO pair"
# Stops the demo, saying why, if they do not load.
load_colo_modules
say "modules loaded: ${COLO_MODULES[*]}"
topo_create
say "preparing the services (a $TOPO_FILE_MB MiB file in PVM and SVM)..."
topo_services
# The PVM's services die with the primary host: no job notices for them.
disown "${TOPO_PIDS[@]}"
file=$(topo_file "$TOPO_FILE_MB")
small=$(topo_file 1)
say "client $CLIENT_IP4 -- switch -- primary (PVM $VM_IP4) / secondary (SVM $VM_IP4)"

# rules NS TARGET: how many iptables and ip6tables rules of NS jump to TARGET.
rules() {
	{
		ip netns exec "$1" iptables -t mangle -S PREROUTING
		ip netns exec "$1" ip6tables -t mangle -S PREROUTING
	} 2>/dev/null | grep -c -- "-j $2"
}
# standin HOST LOG: whether the stand-in writing LOG is ready, said once.
standin() {
	if wait_log "$2" '^ready' 10; then
		say "$(printf '%-10s' "$1:") hypervisor stand-in (coloctl run): $(grep -m1 '^ready' "$2")"
	else
		say "$(printf '%-10s' "$1:") hypervisor stand-in did not start: $(head -n 3 "$2")"
		return 1
	fi
}

topo_seccolo 1
ip netns exec "$TOPO_SECONDARY" "$COLOCTL" run 1 --mode secondary \
	>"$tmp/secondary.log" 2>&1 &
sstandin=$!
sec_rules=$(rules "$TOPO_SECONDARY" SECCOLO)
say "secondary: $sec_rules SECCOLO rules on vif (iptables, ip6tables)"
standin secondary "$tmp/secondary.log"
sec_ready=$?

topo_pmycolo 1
ip netns exec "$TOPO_PRIMARY" "$COLOCTL" run 1 --mode primary --delay 50 \
	>"$tmp/primary.log" 2>&1 &
pstandin=$!
pmy_rules=$(rules "$TOPO_PRIMARY" PMYCOLO)
say "primary:   $pmy_rules PMYCOLO rules on vif (iptables, ip6tables; forward device eth1)"
standin primary "$tmp/primary.log"
pmy_ready=$?
verdict "the pair: PMYCOLO + SECCOLO rules, both hypervisor stand-ins ready" \
	'((sec_rules == 2 && pmy_rules == 2 && sec_ready == 0 && pmy_ready == 0))'

# --- 2 --------------------------------------------------------------------
section "2. A client downloads $TOPO_FILE_MB MiB through the primary"
client_link "$RATE" 256k
say "time, downloaded, rate | the primary's counters (coloctl status 1 --json):"
last_t=$(now_us)
ip netns exec "$TOPO_CLIENT" timeout 600 socat -u "TCP:$VM_IP4:$PORT_FILE" \
	"CREATE:$big" &
dl=$!
watch_until primary 120 '! running || (($(size "$big") >= TOTAL / 5))'

# --- 3 --------------------------------------------------------------------
section "3. A divergence: the SVM's copy of port $PORT_DIFF differs in one byte"
say "meanwhile the client fetches 1 MiB from $VM_IP4:$PORT_DIFF"
off=$(size "$tmp/primary.log")
ip netns exec "$TOPO_CLIENT" timeout 120 socat -u "TCP:$VM_IP4:$PORT_DIFF" \
	"CREATE:$tmp/diff" &
difffetch=$!
watch_until primary 120 '! kill -0 $difffetch 2>/dev/null'
watch_until primary 20 'tail -c +$((off + 1)) "$tmp/primary.log" | grep -q "^checkpoint done"'
wait "$difffetch"
diff_rc=$?
say "the hypervisor stand-in on the primary said:"
if (($(size "$tmp/primary.log") > off)); then
	show "$tmp/primary.log" "$off"
else
	say "| (nothing)"
fi
if cmp -s "$tmp/diff" "$small"; then
	say "the client got the PVM's bytes (cmp with the PVM's file: identical)"
else
	say "the client's copy differs from the PVM's file (socat exit $diff_rc)"
fi
verdict "divergence: checkpoint requested, reason miscompare, with the flow and byte" \
	'tail -c +$((off + 1)) "$tmp/primary.log" |
	 grep -qE "reason miscompare tcp .*$VM_IP4:$PORT_DIFF .* seq [0-9]+ offset [0-9]+"'
verdict "divergence: the checkpoint was done" \
	'tail -c +$((off + 1)) "$tmp/primary.log" | grep -q "^checkpoint done: index 1"'
verdict "divergence: the client got the PVM's bytes" 'cmp -s "$tmp/diff" "$small"'

watch_until primary 120 '! running || (($(size "$big") >= TOTAL / 2))'

# --- 4 --------------------------------------------------------------------
section "4. The primary host dies mid-download"
stats "$TOPO_PRIMARY"
compared=${ST[pkts_compared]:-0} matched=${ST[pkts_matched]:-0}
say "primary's last counters: compared $compared, matched $matched," \
	"released ${ST[pkts_released]:-?}, checkpoints ${ST[checkpoints_requested]:-?}" \
	"(miscompare ${ST[req_miscompare]:-?})"
verdict "the primary compared the download ($compared compared, $matched matched)" \
	'((compared > 0 && matched > 0))'
at=$(size "$big")
inflight=0
running && ((at < TOTAL)) && inflight=1
topo_primary_dies
kill "$pstandin" 2>/dev/null
wait "$pstandin" 2>/dev/null
pstandin=
say "$(elapsed)s: primary host gone (links, PVM, namespace) at $(mib "$at") MiB"
kill -TERM "$sstandin" 2>/dev/null
wait "$sstandin" 2>/dev/null
sstandin=
say "the secondary's hypervisor socket closed: its failover path"
topo_svm_takes_over
say "the secondary attached the SVM to the client's network (colobr0 += eth0)"
stats "$TOPO_SECONDARY"
state=${ST[state]:-?}
say "secondary instance 1: mode ${ST[mode]:-?}, state $state"
verdict "failover: the secondary instance is failed-over" '[[ $state == failed-over ]]'
verdict "the download was in flight at the failover ($(mib "$at") of $TOPO_FILE_MB MiB)" \
	'((inflight))'

say "the download goes on, now from the SVM:"
watch_until secondary 300 '! running'
wait "$dl"
dl_rc=$?
dl=
got=$(size "$big")
progress none
if [[ $(sha256sum <"$big") == "$(sha256sum <"$file")" ]]; then
	sum_ok=1
	say "download complete: $(mib "$got") MiB, sha256 $(sha256sum <"$big" | cut -c1-16)... matches the original"
else
	sum_ok=0
	say "download ended (socat exit $dl_rc) with $(mib "$got") of $TOPO_FILE_MB MiB, or different bytes"
fi
verdict "the download went on after the failover ($(mib "$at") -> $(mib "$got") MiB)" \
	'((got > at))'
verdict "the download completed, sha256 matches the original" '((sum_ok))'

# --- 5 --------------------------------------------------------------------
section "5. Summary"
demo_summary "COLO demo"
