#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: a real COLO pair at work, run as root in the test guest with
# the pair's two QEMU VMs beside it (selftests/vm/run.sh --colo-vms --
# selftests/demo/colo_demo_realvm.sh). QEMU's COLO frame checkpoints the
# PVM into the SVM; a colo-qemu-agent on each host turns the kernel's
# requests into QEMU checkpoints (lib/realvm.sh says how it is wired):
#   1. the pair: PMYCOLO on the primary, SECCOLO on the secondary, an agent
#      on each, COLO started with a checkpoint every 2 s
#   2. a client downloads through the primary while QEMU checkpoints: live
#      counters and each checkpoint's pause
#   3. a divergence: a service whose output differs between the VMs (each
#      VM's own random bytes) draws a checkpoint request; after QEMU's
#      checkpoint the SVM is the PVM's copy and a download compares equal
#   4. the primary host dies mid-download (its QEMU killed): the SVM's QEMU
#      leaves COLO, its agent fails the instance over, the download and an
#      echo stream complete from the SVM
#   5. a summary; exit 0 only if everything shown above happened.
# Not a selftest (selftests/run.sh runs selftests/*.sh only).
#   DEMO_RATE  the client's link, tc rate (default 1mbit: ~10 s a download)
# shellcheck disable=SC2016 # verdict and watch_until evaluate strings
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/../lib/realvm.sh"
source "$(dirname "$0")/lib.sh"

[[ -n ${COLO_REALVM:-} ]] ||
	{ echo "no real COLO pair: selftests/vm/run.sh --colo-vms -- $0" >&2; exit 2; }
require_cmd python3 curl socat sha256sum iptables tc
[[ -x $AGENT ]] || { echo "tools/colo-qemu-agent is not built (make)" >&2; exit 2; }

RATE=${DEMO_RATE:-1mbit}
tmp=$(mktemp -d)
dl=
cleanup() {
	[[ -n $dl ]] && kill "$dl" 2>/dev/null
	realvm_cleanup
	rm -rf "$tmp"
}

# The file the VMs' httpd serves (selftests/realvm/init).
want=$(seq 1 200000 | sha256sum | cut -d' ' -f1)
total=$(seq 1 200000 | wc -c)
sum() { sha256sum <"$1" | cut -d' ' -f1; }
running() { [[ -n $dl ]] && kill -0 "$dl" 2>/dev/null; }

# progress primary|secondary: one line: the download into $dl_file, the
# primary agent's checkpoints (the last one's pause), then the counters of
# that host's instance.
last_t=0 last_b=0 dl_file=
progress() {
	local t b rate line ck
	t=$(now_us)
	b=$(size "$dl_file")
	rate=0
	((t > last_t)) && rate=$(((b - last_b) * 1000000 / (t - last_t) >> 10))
	last_t=$t last_b=$b
	ck=$(grep -o 'checkpoint [0-9]*: reason [^,]*, pause [0-9]* ms' "$REALVM_PLOG" | tail -n 1)
	line=$(printf '%6ss %5s/%d KiB %4s KiB/s | checkpoints %s' "$(elapsed)" \
		$((b >> 10)) $((total >> 10)) "$rate" "$(realvm_checkpoints)")
	[[ $ck =~ pause\ ([0-9]+)\ ms ]] && line+=" (last paused ${BASH_REMATCH[1]} ms)"
	echo "$line$(counters "$1")"
}

# download FILE: the client fetches the VMs' file into FILE, in the
# background ($dl); progress lines follow it.
download() {
	last_t=$(now_us) last_b=0 dl_file=$1
	C curl -s --max-time 300 -o "$1" "http://$VM_IP4/file" &
	dl=$!
}

demo_start colo-demo-realvm
echo "COLO demo on a real pair: QEMU's COLO frame checkpoints a PVM into an SVM"
echo "(network namespaces in a QEMU guest, kernel $(uname -r); the VMs run beside it)"

# --- 1 --------------------------------------------------------------------
section "1. The COLO pair"
load_colo_modules
say "modules loaded: ${COLO_MODULES[*]}"
realvm_topo_create || { echo "the topology of the real pair failed" >&2; exit 1; }
say "client $CLIENT_IP4 -- switch -- primary (PVM $VM_IP4) / secondary (SVM $VM_IP4)"
topo_seccolo 1
topo_pmycolo 1
realvm_agents 1 || { echo "the agents did not start" >&2; exit 1; }
say "an agent on each host (colo-qemu-agent), waiting for COLO; QEMU starts it..."
if realvm_start_colo 2000; then
	colo_ok=1
	realvm_period 2000
	grep -h 'ready: instance' "$REALVM_PLOG" "$REALVM_SLOG" | sed 's/^[0-9.]* /   | /'
else
	colo_ok=0
	realvm_diag
fi
verdict "the pair: COLO state, each agent owns its host's instance" '((colo_ok))'
((colo_ok)) || demo_summary "COLO demo (real pair)"

# --- 2 --------------------------------------------------------------------
section "2. A client downloads through the primary, QEMU checkpoints every 2 s"
client_link "$RATE" 16k
say "time, downloaded, rate | QEMU's checkpoints | the primary's counters:"
c0=$(realvm_checkpoints)
stats "$TOPO_PRIMARY"
r0=${ST[checkpoints_requested]:-0} m0=${ST[pkts_matched]:-0}
download "$tmp/first"
watch_until primary 120 '! running'
wait "$dl"
dl=
progress primary
c1=$(realvm_checkpoints)
stats "$TOPO_PRIMARY"
r1=${ST[checkpoints_requested]:-0} m1=${ST[pkts_matched]:-0}
say "$(realvm_pauses "$c0")"
verdict "the download is intact (sha256 of $((total >> 10)) KiB)" '[[ $(sum "$tmp/first") == "$want" ]]'
verdict "QEMU checkpointed during it ($((c1 - c0)) checkpoints), $((m1 - m0)) packets matched" \
	'((c1 > c0 && m1 > m0))'
verdict "identical traffic asked for no checkpoint ($((r1 - r0)) requests)" '((r1 == r0))'

# --- 3 --------------------------------------------------------------------
section "3. A divergence: port 81 sends each VM's own random bytes"
say "QEMU's own period set long: only the kernel's request checkpoints now"
c=$(realvm_checkpoints)
realvm_period "$REALVM_LONG_MS"
realvm_wait_ckpt "$c"
c2=$(realvm_checkpoints) moff=$(size "$REALVM_MLOG") poff=$(size "$REALVM_PLOG")
stats "$TOPO_PRIMARY"
r2=${ST[checkpoints_requested]:-0}
C timeout 30 socat -u "TCP:$VM_IP4:81" "CREATE:$tmp/diff"
realvm_wait_ckpt "$c2"
realvm_settle
say "the client got: $(head -c 48 "$tmp/diff" | tr '\n' ' ')"
say "the primary's kernel asked (coloctl monitor):"
show "$REALVM_MLOG" "$moff"
say "its agent turned that into a QEMU checkpoint:"
show "$REALVM_PLOG" "$poff"
c3=$(realvm_checkpoints)
stats "$TOPO_PRIMARY"
r3=${ST[checkpoints_requested]:-0} m3=${ST[pkts_matched]:-0}
verdict "the miscompare asked for a checkpoint (requests: $((r3 - r2)))" '((r3 > r2))'
verdict "QEMU checkpointed for it (checkpoints: $((c3 - c2)))" '((c3 > c2 && c3 - c2 <= 3))'
say "the SVM is now the PVM's copy: a download compares equal"
download "$tmp/second"
watch_until primary 120 '! running'
wait "$dl"
dl=
stats "$TOPO_PRIMARY"
r4=${ST[checkpoints_requested]:-0} m4=${ST[pkts_matched]:-0}
c4=$(realvm_checkpoints)
verdict "after the checkpoint a download is intact and compared equal ($((m4 - m3)) matched, $((r4 - r3)) requests, $((c4 - c3)) checkpoints)" \
	'[[ $(sum "$tmp/second") == "$want" ]] && ((m4 > m3 && r4 == r3 && c4 == c3))'

# --- 4 --------------------------------------------------------------------
section "4. The primary host dies mid-download"
realvm_period 2000
C timeout 120 python3 "$PROJECT_DIR/selftests/lib/echo_lines.py" "$VM_IP4" 7 >"$tmp/echo.out" 2>&1 &
echo_pid=$!
say "a download and an echo stream (200 lines, one each 50 ms) through the primary:"
download "$tmp/third"
watch_until primary 60 '! running || (($(size "$tmp/third") > total / 4))'
at=$(size "$tmp/third")
inflight=0
running && ((at < total)) && inflight=1
c5=$(realvm_checkpoints)
soff=$(size "$REALVM_SLOG")
ip -n "$TOPO_PRIMARY" link del eth0
ip -n "$TOPO_PRIMARY" link del eth1
t0=$SECONDS
killed=0
realvm_kill pvm && killed=1
say "$(elapsed)s: the primary host is gone (its links, then its QEMU: SIGKILL) at $((at >> 10)) KiB, after $c5 checkpoints"
failed_over=0
if realvm_wait_log "$REALVM_SLOG" "failed over after" 60 >/dev/null 2>&1; then
	failed_over=1
fi
say "the secondary's agent, $((SECONDS - t0)) s later:"
show "$REALVM_SLOG" "$soff"
verdict "the download was in flight at the failover ($((at >> 10)) KiB)" '((inflight && killed))'
verdict "the SVM's QEMU left COLO by itself, its agent failed the instance over" '((failed_over))'
topo_svm_takes_over
say "the secondary attached the SVM to the client's network (colobr0 += eth0)"
say "the download goes on, now from the SVM:"
watch_until secondary 120 '! running'
wait "$dl"
dl=
progress secondary
wait "$echo_pid"
echo_rc=$?
say "echo stream: $(cat "$tmp/echo.out")"
verdict "the download completed from the SVM, sha256 matches" '[[ $(sum "$tmp/third") == "$want" ]]'
verdict "the echo stream survived the failover" '((echo_rc == 0))'
say "all of QEMU's checkpoints: $(realvm_pauses 0)"

# --- 5 --------------------------------------------------------------------
section "5. Summary"
demo_summary "COLO demo (real pair)"
