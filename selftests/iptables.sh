#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The PMYCOLO and SECCOLO targets through iptables and ip6tables, with both
# backends (legacy and nft), against the real kernel modules: the kernel
# accepts the rules (PMYCOLO also without --forward-dev once xt_PMYCOLO has
# sec_dev), *-save prints them exactly and save | restore reproduces them,
# the kernel refuses a rule without a forward device and the targets outside
# mangle/PREROUTING with a message in its log, the extensions refuse bad
# options with theirs, and deleting the rules releases the modules.
source "$(dirname "$0")/lib/guest.sh"

backends=(legacy nft)
for b in "${backends[@]}"; do
	require_cmd "iptables-$b" "ip6tables-$b" "iptables-$b-save" \
		"ip6tables-$b-save" "iptables-$b-restore" "ip6tables-$b-restore"
done
require_cmd ip dmesg modprobe rmmod
load_colo_modules || { fail "load the COLO modules"; ksft_exit; }

secdev_param=/sys/module/xt_PMYCOLO/parameters/sec_dev
PHYS=(-m physdev --physdev-in vif1)
SEC_RULE=(-t mangle -A PREROUTING "${PHYS[@]}" -j SECCOLO --index 3)
PMY_FWD_RULE=(-t mangle -A PREROUTING "${PHYS[@]}" -j PMYCOLO --index 1 --forward-dev eth1)
PMY_RULE=(-t mangle -A PREROUTING "${PHYS[@]}" -j PMYCOLO --index 1)
# What *-save must print for each, line for line.
SAVE_LINES=(
	"-A PREROUTING ${PHYS[*]} -j SECCOLO --index 3"
	"-A PREROUTING ${PHYS[*]} -j PMYCOLO --index 1 --forward-dev eth1"
	"-A PREROUTING ${PHYS[*]} -j PMYCOLO --index 1"
)

# ipt NS BACKEND FAMILY ARGS...: iptables (FAMILY 4) or ip6tables (6) in NS.
ipt() {
	local ns=$1 b=$2 f=$3
	shift 3
	local cmd=iptables-$b
	[[ $f == 6 ]] && cmd=ip6tables-$b
	ip netns exec "$ns" "$cmd" "$@"
}
# ipt_save NS BACKEND FAMILY: the mangle table as *-save prints it, without
# comments and chain/counter lines.
ipt_save() {
	local ns=$1 b=$2 f=$3 cmd=iptables-$2-save
	[[ $f == 6 ]] && cmd=ip6tables-$b-save
	ip netns exec "$ns" "$cmd" -t mangle | grep -v -e '^#' -e '^:'
}
ipt_restore() {
	local ns=$1 b=$2 f=$3 cmd=iptables-$2-restore
	[[ $f == 6 ]] && cmd=ip6tables-$b-restore
	ip netns exec "$ns" "$cmd"
}
# Kernel log lines logged since the last dmesg_mark.
dmesg_mark() { klog_mark=$(dmesg | wc -l); }
dmesg_new() { dmesg | tail -n "+$((klog_mark + 1))"; }
indent() { sed 's/^/    /'; }

# kernel_refuses WHAT NS B F PATTERN... -- RULE...: the kernel refuses RULE
# (iptables exits non-zero) and logs a line containing every PATTERN.
kernel_refuses() {
	local what=$1 ns=$2 b=$3 f=$4 pats=() out rc=0 log p ok=1
	shift 4
	while [[ $1 != -- ]]; do pats+=("$1"); shift; done
	shift
	dmesg_mark
	out=$(ipt "$ns" "$b" "$f" "$@" 2>&1) || rc=$?
	log=$(dmesg_new)
	for p in "${pats[@]}"; do
		grep -F -- "$p" <<<"$log" >/dev/null || ok=0
	done
	if ((rc != 0 && ok)); then
		pass "$what"
	else
		fail "$what: exit $rc (want non-zero), kernel log wants '${pats[*]}'"
		{ echo "  iptables said:"; indent <<<"$out"
		  echo "  new kernel log:"; indent <<<"$log"; } >&2
		# accepted by mistake: remove it so the modules can go later
		((rc == 0)) && ipt "$ns" "$b" "$f" "${@/#-A/-D}" 2>/dev/null
	fi
}

# user_refuses WHAT NS B F TEXT -- RULE...: the extension refuses RULE with
# exit status 2 (parameter problem) and TEXT on stderr.
user_refuses() {
	local what=$1 ns=$2 b=$3 f=$4 text=$5 err rc=0
	shift 6
	err=$(ipt "$ns" "$b" "$f" "$@" 2>&1 >/dev/null) || rc=$?
	if [[ $rc -eq 2 && $err == *"$text"* ]]; then
		pass "$what"
	else
		fail "$what: exit $rc, stderr '$err' (want exit 2 and '$text')"
		((rc == 0)) && ipt "$ns" "$b" "$f" "${@/#-A/-D}" 2>/dev/null
	fi
}

# accepts WHAT NS B F RULE...
accepts() {
	local what=$1 ns=$2 b=$3 f=$4 out
	shift 4
	if out=$(ipt "$ns" "$b" "$f" "$@" 2>&1); then
		pass "$what"
	else
		fail "$what: $out"
	fi
}

# rmmod_targets: unload both target modules. nf_tables releases a deleted
# rule's modules from a work item after the commit, so allow it a moment.
rmmod_targets() {
	local i
	for ((i = 0; i < 25; i++)); do
		rmmod xt_SECCOLO xt_PMYCOLO 2>/dev/null && return 0
		# rmmod stops at the first busy one: retry what is left
		[[ -d /sys/module/xt_SECCOLO || -d /sys/module/xt_PMYCOLO ]] || return 0
		[[ -d /sys/module/xt_SECCOLO ]] || { rmmod xt_PMYCOLO 2>/dev/null && return 0; }
		sleep 0.2
	done
	rmmod xt_SECCOLO xt_PMYCOLO
}

# --- sec_dev empty: refusals ---------------------------------------------
# load_colo_modules loaded xt_PMYCOLO without parameters.
if [[ -f $secdev_param && -z $(<"$secdev_param") ]]; then
	pass "xt_PMYCOLO loaded with an empty sec_dev"
else
	fail "xt_PMYCOLO sec_dev: '$(cat "$secdev_param" 2>&1)' (want empty)"
fi

declare -A NS
for b in "${backends[@]}"; do
	mkns "ns_$b"
	v=ns_$b
	NS[$b]=${!v}
done

for b in "${backends[@]}"; do
	ns=${NS[$b]}
	for f in 4 6; do
		t="$b IPv$f"
		kernel_refuses "$t: PMYCOLO without --forward-dev and no sec_dev: refused, 'no forward device' logged" \
			"$ns" "$b" "$f" "xt_PMYCOLO: no forward device" -- "${PMY_RULE[@]}"
		kernel_refuses "$t: SECCOLO in filter/INPUT: refused, 'only valid in mangle table' logged" \
			"$ns" "$b" "$f" "SECCOLO target: only valid in mangle table, not filter" -- \
			-t filter -A INPUT -j SECCOLO --index 1
		# x_tables words a wrong hook as "used from hooks OUTPUT, but
		# only usable from PREROUTING"
		kernel_refuses "$t: SECCOLO in mangle/OUTPUT: refused, 'only usable from PREROUTING' logged" \
			"$ns" "$b" "$f" "SECCOLO target: used from hooks OUTPUT" "only usable from PREROUTING" -- \
			-t mangle -A OUTPUT -j SECCOLO --index 1
	done
	# Userspace: the same code serves both families, so alternate them.
	user_refuses "$b IPv4: --index 0 refused" "$ns" "$b" 4 \
		'SECCOLO: --index 0 is out of range; expected 1-' -- \
		-t mangle -A PREROUTING -j SECCOLO --index 0
	user_refuses "$b IPv6: --index 70000 refused" "$ns" "$b" 6 \
		'PMYCOLO: --index 70000 is out of range; expected 1-' -- \
		-t mangle -A PREROUTING -j PMYCOLO --index 70000 --forward-dev eth1
	user_refuses "$b IPv4: --index abc refused" "$ns" "$b" 4 \
		'PMYCOLO: --index "abc" is not a number' -- \
		-t mangle -A PREROUTING -j PMYCOLO --index abc --forward-dev eth1
	user_refuses "$b IPv6: missing --index refused (SECCOLO)" "$ns" "$b" 6 \
		'SECCOLO: --index N is required' -- \
		-t mangle -A PREROUTING -j SECCOLO
	user_refuses "$b IPv4: missing --index refused (PMYCOLO)" "$ns" "$b" 4 \
		'PMYCOLO: --index N is required' -- \
		-t mangle -A PREROUTING -j PMYCOLO --forward-dev eth1
	user_refuses "$b IPv6: --forward-dev with '/' refused" "$ns" "$b" 6 \
		'PMYCOLO: --forward-dev "eth/1" is not a valid interface name' -- \
		-t mangle -A PREROUTING -j PMYCOLO --index 1 --forward-dev eth/1
done

# --- accepted rules, save, restore, delete --------------------------------
for b in "${backends[@]}"; do
	ns=${NS[$b]}
	modprobe -r xt_PMYCOLO 2>/dev/null
	if modprobe xt_PMYCOLO sec_dev=eth1 && [[ $(<"$secdev_param") == eth1 ]]; then
		pass "$b: xt_PMYCOLO reloaded with sec_dev=eth1"
	else
		fail "$b: xt_PMYCOLO sec_dev: '$(cat "$secdev_param" 2>&1)' (want eth1)"
	fi
	rns=
	mkns rns
	for f in 4 6; do
		t="$b IPv$f"
		accepts "$t: SECCOLO --index 3 accepted" "$ns" "$b" "$f" "${SEC_RULE[@]}"
		accepts "$t: PMYCOLO --index 1 --forward-dev eth1 accepted" "$ns" "$b" "$f" "${PMY_FWD_RULE[@]}"
		accepts "$t: PMYCOLO --index 1 without --forward-dev accepted (sec_dev)" "$ns" "$b" "$f" "${PMY_RULE[@]}"

		saved=$(ipt_save "$ns" "$b" "$f")
		if diff <(grep -e '^-A' <<<"$saved") <(printf '%s\n' "${SAVE_LINES[@]}") >/dev/null; then
			pass "$t: save prints the rules exactly"
		else
			fail "$t: save output differs:"
			diff <(grep -e '^-A' <<<"$saved") <(printf '%s\n' "${SAVE_LINES[@]}") | indent
		fi

		if out=$(printf '%s\n' "$saved" | ipt_restore "$rns" "$b" "$f" 2>&1) &&
			[[ $(ipt_save "$rns" "$b" "$f") == "$saved" ]]; then
			pass "$t: save | restore into a fresh netns saves identically"
		else
			fail "$t: save | restore: '$out'; saved before:"
			indent <<<"$saved"
			echo "  after:"
			ipt_save "$rns" "$b" "$f" | indent
		fi
		# the restored copy holds the modules too
		ipt "$rns" "$b" "$f" -t mangle -F PREROUTING

		ok=1
		ipt "$ns" "$b" "$f" "${SEC_RULE[@]/#-A/-D}" || ok=0
		ipt "$ns" "$b" "$f" "${PMY_FWD_RULE[@]/#-A/-D}" || ok=0
		ipt "$ns" "$b" "$f" "${PMY_RULE[@]/#-A/-D}" || ok=0
		if ((ok)) && ! ipt_save "$ns" "$b" "$f" | grep -q -e '^-A'; then
			pass "$t: the rules delete with -D and their own spec"
		else
			fail "$t: deleting the rules with -D"
		fi
	done
	if out=$(rmmod_targets 2>&1); then
		pass "$b: with the rules gone, rmmod xt_SECCOLO xt_PMYCOLO succeeds"
	else
		fail "$b: rmmod xt_SECCOLO xt_PMYCOLO: $out"
	fi
done

ksft_exit
