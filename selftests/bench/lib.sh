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

# per_packet_table WHAT RUN N...: for each N, RUN noproxy N and RUN pmycolo N
# (each prints colo_frames' line of one run), and a row of the CPU per
# packet of both (every CPU's busy time per packet fed in, both VMs'
# packets), PMYCOLO's added cost, its ratio to the first N's and the
# context switches per packet of both. Then the runs' lines. Returns 1
# when a run did not let everything out.
per_packet_table() {
	local what=$1 run=$2 n leg line pkts added base='' log=''
	local -A us cs
	shift 2
	printf "%-10s %9s %12s %16s %16s %14s %14s\n" "$what" packets "no proxy" \
		"PMYCOLO" "added" "vs 1 ${what%s}" "switches"
	printf "%-10s %9s %12s %16s %16s %14s %14s\n" "" "" "us/packet" "us/packet" \
		"us/packet" "" "per packet"
	for n; do
		for leg in noproxy pmycolo; do
			line=$("$run" "$leg" "$n") || {
				echo "FAIL: $leg, $n $what: not everything came out: $line"
				return 1
			}
			log+="$n $what $leg: $line"$'\n'
			read -r "us[$leg]" "cs[$leg]" < <(awk -v l="$line" 'BEGIN {
				split(l, kv, " ")
				for (j in kv) { split(kv[j], f, "="); v[f[1]] = f[2] }
				printf "%.2f %.2f\n", 1e6 * v["busy_ticks"] / v["hz"] / v["frames_in"],
					v["switches"] / v["frames_in"]
			}')
			pkts=${line##*frames_in=}
			pkts=${pkts%% *}
		done
		added=$(awk -v a="${us[pmycolo]}" -v b="${us[noproxy]}" \
			'BEGIN { printf "%.2f", a - b }')
		base=${base:-$added}
		awk -v n="$n" -v p="$pkts" -v a="${us[noproxy]}" -v b="${us[pmycolo]}" \
			-v d="$added" -v z="$base" -v c="${cs[noproxy]} / ${cs[pmycolo]}" 'BEGIN {
			printf "%-10s %9s %12s %16s %16s %13.0f%% %14s\n", n, p, a, b, d,
				(z > 0) ? 100 * d / z : 0, c
		}'
	done
	printf "%s" "$log"
	echo "(CPU: every CPU's busy time per packet fed in, both VMs' packets;" \
		"switches: the guest's context switches per packet, no proxy / PMYCOLO)"
}

# cmp_rig_create: the compare rig (compare_bench.sh, profile_bench.sh):
# the primary host's bridge from the PVM's port to the uplink, whose far
# end (sink) counts what comes out, the SVM's link on eth1, and primary
# instance 1 with room for every frame of a run.
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
		--timeout 600000 --queue-limit 65536
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
# from client port PORT; prints its line.
cmp_send() {
	local p=$1 s=$2 mb=$3 port=$4
	shift 4
	ip netns exec "$B_PVM" "$frames" packet eth0 "$B_SVM" eth0 sink \
		-p "$p" -s "$s" -m "$mb" -c "$port" "$@"
}
