#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test guest itself: netdev ingress and egress hooks, and the hooks of
# every netfilter family, come and go under traffic without locking the
# guest up.
#
# Under multi-threaded TCG, a vCPU can keep running a stale translation of
# the int3 that the kernel writes while it patches a jump label; kprobes'
# int3 handler then sees no int3 in memory, sends the vCPU back to the site
# and the stale int3 traps again, for ever. Flipping ingress_needed_key (the
# first ingress qdisc or netdev hook registered, the last one gone) while
# veth traffic runs through __netif_receive_skb_core on both CPUs locked
# both up within a minute in 3 of 3 runs here, with none of our modules loaded;
# it hung a whole make check once, in primary_teardown, whose module unload
# drops PMYCOLO's capture hook. A CI run at beac7ad hung the same way one
# call deeper, at ip_rcv: there NF_HOOK tests nf_hooks_needed[family][hook],
# which every iptables table, conntrack, br_netfilter and our own hooks
# flip when a namespace gets the first such hook of the whole guest, or its
# deletion removes the last one. A real CPU has no such translation cache.
# The guest (selftests/vm/stage2.sh) therefore holds all these keys on for
# its whole life. This test checks that each hold is there, and then flips
# the users of the keys (a clsact qdisc, a netdev ingress chain, a table of
# base chains in each of ip, ip6, bridge and arp) under bulk traffic in
# both directions: the toggling must go on and the traffic must complete.
#
# The lockup is a race: without the hold it came after a few seconds in
# one run and after two minutes in another, and 20 seconds of flips
# once passed without it. So the holds' own checks are what fail at once,
# before the flips (a guest that locks up hangs the suite instead of
# failing); ASSUME_PIN=1 runs the flips regardless, to chase the lockup.
source "$(dirname "$0")/lib/guest.sh"
# shellcheck source=selftests/lib/hookkeys.sh
source "$(dirname "$0")/lib/hookkeys.sh"

require_cmd nft tc iperf3
SECS=${HOOK_KEY_SECS:-30}

# pinned FAMILY HOOK...: the guest's chain on each HOOK of FAMILY is there.
pinned() {
	local family=$1 hook
	shift
	for hook; do
		nft list chain "$family" colo_vm_pin "$hook" >/dev/null 2>&1 || return 1
	done
}
missing=0
for family in netdev $HOOK_KEY_FAMILIES; do
	hold=$family
	if [[ $family == netdev ]]; then
		hold+=" ingress egress"
	else
		hold+=" $(hook_key_chains "$family")"
	fi
	# shellcheck disable=SC2086 # the hooks are words
	if pinned $hold; then
		pass "the guest holds the ${hold%% *} hook keys on"
	else
		fail "the guest holds the ${hold%% *} hook keys on (selftests/vm/stage2.sh: ${hold#* })"
		missing=1
	fi
done
if ((missing)) && [[ ${ASSUME_PIN:-0} != 1 ]]; then
	ksft_exit
fi

mkns a b t
ip link add va netns "$a" type veth peer name vb netns "$b"
ip -n "$a" link set va up
ip -n "$b" link set vb up
ip -n "$a" addr add 10.9.0.1/24 dev va
ip -n "$b" addr add 10.9.0.2/24 dev vb
ip -n "$t" link add d0 type dummy
ip -n "$t" link set d0 up
tmp=$(mktemp -d)

cleanup() {
	rm -rf "$tmp"
}

# Netdev ingress and egress chains and a table of base chains on every hook
# of each netfilter family, and their deletion, each in one transaction:
# each load and delete flips every nf_hooks_needed key and the netdev keys.
hook_key_tables flip d0 >"$tmp/tables"
hook_key_delete flip >"$tmp/delete"

ip netns exec "$b" iperf3 -s -D -1 -p 5201 >/dev/null
ip netns exec "$a" iperf3 -s -D -1 -p 5202 >/dev/null
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
wait_until listening "$b" 5201
wait_until listening "$a" 5202
ip netns exec "$a" iperf3 -c 10.9.0.2 -p 5201 -t "$SECS" -J >"$tmp/ab" &
ab=$!
ip netns exec "$b" iperf3 -c 10.9.0.1 -p 5202 -t "$SECS" -J >"$tmp/ba" &
ba=$!

flips=0
end=$((SECONDS + SECS - 2))
while ((SECONDS < end)); do
	tc -n "$t" qdisc add dev d0 clsact || break
	tc -n "$t" qdisc del dev d0 clsact || break
	ip netns exec "$t" nft -f "$tmp/tables" || break
	ip netns exec "$t" nft -f "$tmp/delete" || break
	flips=$((flips + 1))
done
check "the ingress and netfilter hooks came and went $flips times under traffic" \
	'((flips >= 2))'
check "the traffic both ways completed" 'wait "$ab" && wait "$ba"'
ksft_exit
