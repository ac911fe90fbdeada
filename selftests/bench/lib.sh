# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash # sourced by the benchmarks
#
# What the per-packet legs of the benchmarks share (compare_bench.sh's
# flows, instances_bench.sh's instances). Source it after lib/guest.sh.
#   bench_quiet NS...            no IPv6 link plumbing among the frames
#   bench_diagnose NS...         what a failed leg leaves to look at
#   bench_port                   the client's port of the next run
#   bench_links_ready NS...      every link of each NS carries frames
#   per_packet_table WHAT RUN N...
#                                the per-packet cost with and without
#                                PMYCOLO as WHAT grows through each N
#   cmp_rig_create               the compare rig: a primary host between
#                                a PVM and an SVM, primary instance 1
#   cmp_proxy on|off             the PMYCOLO rule on its PVM's port
#   cmp_send P S MB PORT [ARGS]  colo_frames feeds the rig one stream

frames=$PROJECT_DIR/selftests/bench/colo_frames
[[ -x $frames ]] || { echo "no $frames: run make first"; exit 1; }

# bench_quiet NS...: no IPv6 in these namespaces (router solicitations, MLD
# would join the frames counted); before their links are made.
bench_quiet() {
	local ns
	for ns; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
}

# bench_diagnose NS...: the instances' counters and the links' of each NS.
bench_diagnose() {
	local ns
	for ns; do
		ip netns exec "$ns" "$COLOCTL" status 2>/dev/null
		ip -n "$ns" -s link show type veth
	done
}

# forwarding NS: every bridge port of NS forwards. links_up NS: every link
# of NS but lo is operationally up.
forwarding() { ! bridge -n "$1" link show | grep -qv "state forwarding"; }
links_up() { ! ip -n "$1" -o link show | grep -v ': lo:' | grep -qv 'state UP'; }

# bench_links_ready NS...: until every link of each NS is up and every
# bridge port forwards (5 s at most each). A veth opened before its peer
# has no carrier yet; link watch, which may run a second later (more on a
# loaded host), then gives it its qdisc (frames sent before are dropped)
# and enables its bridge port (a disabled port drops them too).
bench_links_ready() {
	local ns
	for ns; do
		if ! wait_until links_up "$ns" || ! wait_until forwarding "$ns"; then
			echo "bench: links of $ns not ready:"
			ip -n "$ns" -br link show
			bridge -n "$ns" link show
			return 1
		fi
	done
}

# bench_port: a port of its own for each run's client, so that no run meets
# the flows of the runs before it in conntrack. Runs go in command
# substitutions (subshells): the last port is kept in $tmp/port.
bench_port() {
	local p
	p=$(cat "$tmp/port" 2>/dev/null) || p=40000
	echo $((p + 1)) | tee "$tmp/port"
}

# per_packet_table WHAT RUN N...: ROUNDS rounds (default 3), each of
# them, for each N, RUN noproxy N then RUN pmycolo N (each prints
# colo_frames' line of one run). Then a row per N of medians over the
# rounds: the CPU per packet of both (every CPU's busy time per packet fed
# in, both VMs' packets), PMYCOLO's added cost (each round's pair of runs
# side by side: one run of these moves by a quarter between runs on a
# TCG guest) and its lowest and highest, its ratio to the first N's,
# where it landed (the sender's CPU time, which holds the softirq work of
# its sendmmsg calls: PMYCOLO's intake; the rest: its worker) and the
# context switches per packet of both. Then the runs' lines. Returns 1
# when a run did not let everything out, after the lines of the runs
# before it.
per_packet_table() {
	local what=$1 run=$2 rounds=${ROUNDS:-3} r n leg line log='' rows=''
	shift 2
	for ((r = 1; r <= rounds; r++)); do
		for n; do
			for leg in noproxy pmycolo; do
				line=$("$run" "$leg" "$n") || {
					printf "%s" "$log"
					echo "FAIL: $leg, $n $what: not everything came out: $line"
					return 1
				}
				log+="round $r: $n $what $leg: $line"$'\n'
				rows+="$n $leg $line"$'\n'
			done
		done
	done
	printf "%-10s %9s %10s %10s %10s %15s %10s %16s %14s\n" "$what" packets \
		"no proxy" "PMYCOLO" "added" "added: lowest" "vs 1 ${what%s}" \
		"added: sender" "switches"
	printf "%-10s %9s %10s %10s %10s %15s %10s %16s %14s\n" "" "" "us/packet" \
		"us/packet" "us/packet" "/ highest" "" "/ other CPUs" "per packet"
	printf "%s" "$rows" | awk '
	function median(a, k,    i, j, t, b) {
		for (i = 1; i <= k; i++)
			b[i] = a[i]
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && b[j - 1] > b[j]; j--) {
				t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
			}
		return k % 2 ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
	}
	{
		n = $1; leg = $2
		delete v
		for (i = 3; i <= NF; i++) { split($i, f, "="); v[f[1]] = f[2] }
		us = 1e6 / v["hz"] / v["frames_in"]
		if (!(n in seen)) { seen[n] = 1; order[++ns] = n; pkts[n] = v["frames_in"] }
		k = ++runs[n, leg]
		cpu[n, leg, k] = us * v["busy_ticks"]
		snd[n, leg, k] = us * v["sender_ticks"]
		sw[n, leg, k] = v["switches"] / v["frames_in"]
	}
	END {
		for (o = 1; o <= ns; o++) {
			n = order[o]; k = runs[n, "pmycolo"]
			lo = hi = ""
			for (r = 1; r <= k; r++) {
				a[r] = cpu[n, "noproxy", r]; b[r] = cpu[n, "pmycolo", r]
				d[r] = b[r] - a[r]
				ds[r] = snd[n, "pmycolo", r] - snd[n, "noproxy", r]
				dw[r] = d[r] - ds[r]
				ca[r] = sw[n, "noproxy", r]; cb[r] = sw[n, "pmycolo", r]
				if (lo == "" || d[r] < lo) lo = d[r]
				if (hi == "" || d[r] > hi) hi = d[r]
			}
			added = median(d, k)
			if (o == 1) base = added
			printf "%-10s %9s %10.2f %10.2f %10.2f %15s %9.0f%% %16s %14s\n", n,
				pkts[n], median(a, k), median(b, k), added,
				sprintf("%.2f / %.2f", lo, hi),
				(base > 0) ? 100 * added / base : 0,
				sprintf("%.2f / %.2f", median(ds, k), median(dw, k)),
				sprintf("%.2f / %.2f", median(ca, k), median(cb, k))
		}
	}'
	printf "%s" "$log"
	echo "(medians of $rounds rounds; CPU: every CPU's busy time per packet" \
		"fed in, both VMs' packets; added: PMYCOLO's less no proxy's, run by" \
		"run; sender: what PMYCOLO added to the sender's CPU time, which" \
		"holds the softirq work of its sendmmsg calls (the proxy's intake)," \
		"other CPUs: the rest (its worker, the release's output path);" \
		"switches: the guest's context switches per packet, no proxy / PMYCOLO)"
}

# cmp_rig_create: the compare rig (compare_bench.sh, profile_bench.sh):
# the primary host's bridge from the PVM's port to the uplink, whose far
# end (sink) counts what comes out, the SVM's link on eth1, and primary
# instance 1 with room for every frame of a run and for every flow of the
# flows legs: those of a run, and of the runs before it that are not idle
# long enough to be forgotten yet (the default limit, 65536, would turn
# the 100k-flow run into one of flows evicted and made again).
#
#   host PVM             host primary (PMYCOLO)           host SVM
#   eth0 ---------------- vif \
#                               br0
#   sink ---------------- eth0 /
#                         eth1 --------------------------- eth0
cmp_rig_create() {
	local dev ns ifname
	mkns B_PVM B_PRI B_SVM
	bench_quiet "$B_PVM" "$B_PRI" "$B_SVM"
	ip link add eth0 netns "$B_PVM" type veth peer name vif netns "$B_PRI"
	ip link add sink netns "$B_PVM" type veth peer name eth0 netns "$B_PRI"
	ip link add eth0 netns "$B_SVM" type veth peer name eth1 netns "$B_PRI"
	for dev in "$B_PVM eth0" "$B_PVM sink" "$B_PRI vif" "$B_PRI eth0" \
		"$B_PRI eth1" "$B_SVM eth0"; do
		read -r ns ifname <<<"$dev"
		ip -n "$ns" link set "$ifname" mtu 65000 up
	done
	topo_br_netfilter "$B_PRI"
	topo_bridge "$B_PRI" br0 vif eth0
	bench_links_ready "$B_PVM" "$B_PRI" "$B_SVM" || return 1
	ip netns exec "$B_PRI" "$COLOCTL" init 1 --mode primary \
		--timeout 600000 --queue-limit 65536 --flow-limit 1048576
}

# cmp_proxy on|off: the PMYCOLO rule for the rig's PVM port, eth1 its
# forward device.
cmp_proxy() {
	local op=-D
	[[ $1 == on ]] && op=-I
	ip netns exec "$B_PRI" iptables -t mangle "$op" PREROUTING -m physdev \
		--physdev-in vif -j PMYCOLO --index 1 --forward-dev eth1
}

# cmp_send P S MB PORT [ARGS]: colo_frames sends MB of one TCP stream into
# the rig, the PVM's in segments of P bytes of payload, the SVM's of S,
# from client port PORT; prints its line. With CMP_SENDER_CPU set, the
# sender runs on that CPU only (and so does the softirq work its sends do).
cmp_send() {
	local p=$1 s=$2 mb=$3 port=$4 pin=()
	shift 4
	[[ -n ${CMP_SENDER_CPU:-} ]] && pin=(taskset -c "$CMP_SENDER_CPU")
	ip netns exec "$B_PVM" "${pin[@]}" "$frames" packet eth0 "$B_SVM" eth0 sink \
		-p "$p" -s "$s" -m "$mb" -c "$port" "$@"
}
