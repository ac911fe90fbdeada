#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hooks on every static key of the receive and transmit paths (docs/design.md,
# "The test guest's jump labels"): what the test guest holds on for its life
# (selftests/vm/stage2.sh, which gets this file in its initramfs), and what
# selftests/vm_hook_keys.sh flips under traffic. Sourced.

# The hook points of ip, ip6 and bridge; arp has input and output only.
HOOK_KEY_HOOKS="prerouting input forward output postrouting"
HOOK_KEY_FAMILIES="ip ip6 bridge arp"

# hook_key_chains FAMILY: the hook points of FAMILY.
hook_key_chains() {
	if [[ $1 == arp ]]; then
		echo "input output"
	else
		echo "$HOOK_KEY_HOOKS"
	fi
}

# hook_key_tables NAME DEV: an nft script of tables NAME with an empty base
# chain on every hook point of every family, and netdev ingress and egress
# chains on DEV.
hook_key_tables() {
	local family c
	echo "table netdev $1 {"
	for c in ingress egress; do
		echo "	chain $c { type filter hook $c device \"$2\" priority 0; }"
	done
	echo "}"
	for family in $HOOK_KEY_FAMILIES; do
		echo "table $family $1 {"
		for c in $(hook_key_chains "$family"); do
			echo "	chain $c { type filter hook $c priority 0; }"
		done
		echo "}"
	done
}

# hook_key_delete NAME: an nft script that deletes what hook_key_tables made.
hook_key_delete() {
	local family
	for family in netdev $HOOK_KEY_FAMILIES; do
		echo "delete table $family $1"
	done
}
