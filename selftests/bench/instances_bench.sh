#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The per-packet cost of PMYCOLO as its instances grow (1, 8, 64 by
# default: BENCH_INSTANCES), run in the test guest by `make bench`: the
# same number of segments of 1448 bytes from both VMs (BENCH_FLOW_SEGMENTS)
# spread round-robin over N instances, one flow each, fed by
# bench/colo_frames, with each instance's own PMYCOLO rule, VM port and
# forward device, and without any rule (no proxy). Two layouts of the
# primary hosts:
#   one namespace      every instance's ports and bridge in one namespace,
#                      its rules in one PREROUTING chain (one host, N VMs);
#   across namespaces  one namespace per instance (N hosts).
# Prints every CPU's busy time per packet (no proxy, PMYCOLO, the
# difference, and the difference against 1 instance's). Asserts nothing
# about speed; fails when a run does not let out what it should.
#
#   PVM                primary i (for each instance i)        SVM
#   pvm<i> ------------ vif<i> \
#                               br<i>
#   sink<i> ----------- up<i>  /
#   (bridge "sink",     fwd<i> ---------------------------- svm<i>
#    the client's MAC)
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/lib.sh"

require_cmd iptables iptables-restore bridge
ROUNDS=${BENCH_ROUNDS:-3}
SEGMENTS=${BENCH_FLOW_SEGMENTS:-20000}
read -ra counts <<<"${BENCH_INSTANCES:-1 8 64}"
max=0
for n in "${counts[@]}"; do
	((n > max)) && max=$n
done
load_colo_modules || exit 1
modprobe br_netfilter
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }

# build one|across: the sender's PVM and SVM namespaces and the primary
# hosts of max instances; PRI[i] is instance i's namespace, HOSTS the
# primary namespaces.
build() {
	local i var f ns
	rm -f "$tmp"/pri-* "$tmp"/pvm "$tmp"/svm
	PRI=()
	mkns I_PVM I_SVM
	if [[ $1 == one ]]; then
		mkns I_PRI
		for ((i = 0; i < max; i++)); do PRI[i]=$I_PRI; done
	else
		for ((i = 0; i < max; i++)); do
			var=I_PRI$i
			mkns "$var"
			PRI[i]=${!var}
		done
	fi
	mapfile -t HOSTS < <(printf '%s\n' "${PRI[@]}" | sort -u)
	bench_quiet "$I_PVM" "$I_SVM" "${HOSTS[@]}"
	for ((i = 0; i < max; i++)); do
		echo "link add vif$i netns ${PRI[i]} type veth peer name pvm$i netns $I_PVM"
		echo "link add up$i netns ${PRI[i]} type veth peer name sink$i netns $I_PVM"
		echo "link add fwd$i netns ${PRI[i]} type veth peer name svm$i netns $I_SVM"
	done >"$tmp/links"
	ip -batch "$tmp/links" || return 1
	for ((i = 0; i < max; i++)); do
		printf '%s\n' "link add br$i type bridge forward_delay 0 stp_state 0" \
			"link set vif$i master br$i" "link set up$i master br$i" \
			"link set vif$i up" "link set up$i up" "link set fwd$i up" \
			"link set br$i up" >>"$tmp/pri-${PRI[i]}"
		printf '%s\n' "link set pvm$i up" "link set sink$i up" \
			"link set sink$i master sink" \
			"link set sink$i type bridge_slave learning off" >>"$tmp/pvm"
		echo "link set svm$i up" >>"$tmp/svm"
	done
	for f in "$tmp"/pri-*; do
		ip -n "${f#"$tmp"/pri-}" -batch "$f" || return 1
		topo_br_netfilter "${f#"$tmp"/pri-}"
	done
	# What every instance lets out ends on one bridge of the sink ports
	# (no learning: all VMs share one MAC) whose address is the client's:
	# colo_frames counts it there. br_netfilter leaves it alone.
	ip netns exec "$I_PVM" sysctl -qw net.bridge.bridge-nf-call-iptables=0
	ip -n "$I_PVM" link add sink type bridge forward_delay 0 stp_state 0
	ip -n "$I_PVM" link set sink address "$CLIENT_MAC" up
	ip -n "$I_PVM" -batch "$tmp/pvm" && ip -n "$I_SVM" -batch "$tmp/svm" ||
		return 1
	bench_links_ready "$I_PVM" "$I_SVM" "${HOSTS[@]}"
}

# proxy on|off N: instances 1..N, each with its rule (VM port vif<i>,
# forward device fwd<i>), in their namespaces; or none at all.
proxy() {
	local i op=-D ns
	[[ $1 == on ]] && op=-I
	rm -f "$tmp"/rules-*
	for ((i = 0; i < $2; i++)); do
		if [[ $1 == on ]]; then
			ip netns exec "${PRI[i]}" "$COLOCTL" init $((i + 1)) \
				--mode primary --timeout 600000 --queue-limit 65536 >/dev/null ||
				return 1
		fi
		echo "$op PREROUTING -m physdev --physdev-in vif$i -j PMYCOLO" \
			"--index $((i + 1)) --forward-dev fwd$i" >>"$tmp/rules-${PRI[i]}"
	done
	for ns in "$tmp"/rules-*; do
		printf '*mangle\n%s\nCOMMIT\n' "$(cat "$ns")" |
			ip netns exec "${ns#"$tmp"/rules-}" iptables-restore --noflush ||
			return 1
	done
	[[ $1 == on ]] && return 0
	for ((i = 0; i < $2; i++)); do
		ip netns exec "${PRI[i]}" "$COLOCTL" destroy $((i + 1)) || return 1
	done
}

# instances_run LEG N: one run over N instances; prints colo_frames' line.
instances_run() {
	local k=$((SEGMENTS / $2)) rc
	((k < 1)) && k=1
	if [[ $1 == pmycolo ]]; then
		proxy on "$2" || return 1
	fi
	ip netns exec "$I_PVM" "$frames" packet pvm "$I_SVM" svm sink \
		-p 1448 -n "$2" -k "$k" -i "$2" -c "$(bench_port)" -t 600
	rc=$?
	if [[ $1 == pmycolo ]]; then
		proxy off "$2" || return 1
	fi
	return "$rc"
}

declare -A title=([one]="one namespace" [across]="across namespaces")
for layout in one across; do
	build "$layout" || { echo "FAIL: ${title[$layout]}: no topology"; exit 1; }
	echo "== ${title[$layout]}: $max instances' ports, the first N in use"
	per_packet_table instances instances_run "${counts[@]}" || {
		bench_diagnose "${PRI[0]}" "$I_PVM" "$I_SVM"
		exit 1
	}
	echo
	# the next layout on a guest without this one's devices
	for ns in "$I_PVM" "$I_SVM" "${HOSTS[@]}"; do
		ip netns del "$ns"
	done
done
echo "(target: PMYCOLO's added cost flat within 20% from 1 to 64 instances)"
ksft_exit
