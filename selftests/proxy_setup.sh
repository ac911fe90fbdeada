#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# colo-proxy-setup as Xen runs it, after a real 'make install' in the guest
# (its root is a tmpfs overlay: the host stays untouched), on the COLO
# topology of lib/topology.sh before any COLO plumbing (topo_create --bare):
# - a setup that fails halfway says why, and teardown undoes it;
# - setup installs what Xen's script does: on the primary the prio qdisc,
#   the three mirred filters, xt_PMYCOLO with sec_dev, the PMYCOLO rules
#   and the arptables MARK rule; on the secondary colobr0 with the SVM's
#   port and the forward device, xt_SECCOLO and the SECCOLO rules;
# - with instances (coloctl init stands in for the hypervisor), the client
#   talks to the PVM (UDP, TCP over IPv4 and IPv6) and SECCOLO learns
#   the flows that the mirror brought to the SVM;
# - teardown leaves nothing: no rule, qdisc or filter, colobr0 gone and the
#   port back on its bridge, the modules unloadable, and a second teardown
#   has nothing to do;
# - make uninstall takes the modules away again.
#
# timeout: 900
# Long by nature: make install runs kbuild's modules_install, and under TCG
# every one of kbuild's compiler probes and shells is slow: minutes, not
# seconds, on a busy host. Its depmod is the test world's depmod-cached
# (lib/depmod-cached): the index the real depmod makes of the same files,
# computed on the host, where the guest's own depmod reads every module of
# the kernel over 9p (30 to 45 s, twice).
source "$(dirname "$0")/lib/guest.sh"

TOPO_FILE_MB=2
source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/ktrace.sh"

require_cmd make tc iptables ip6tables arptables modprobe rmmod depmod socat python3 openssl
tmp=$(mktemp -d)
kver=$(uname -r)
installed=0
depmod=$PROJECT_DIR/selftests/lib/depmod-cached

cleanup() {
	topo_stop_services
	rm -rf "$tmp"
	((installed)) && make -s -C "$PROJECT_DIR" DEPMOD="$depmod" uninstall >/dev/null 2>&1
	return 0
}

# pri / sec VAR=VAL... setup|teardown: colo-proxy-setup on a host, as libxl
# runs it: the interface in the environment, the command as argument.
PRI_ENV=(vifname=vif forwarddev=eth1 mode=primary index=1)
SEC_ENV=(vifname=vif forwarddev=eth1 mode=secondary index=1 bridge=br0)
pri() {
	local cmd=${*: -1}
	P env "${PRI_ENV[@]}" "${@:1:$#-1}" colo-proxy-setup "$cmd" 2>&1
}
sec() {
	local cmd=${*: -1}
	S env "${SEC_ENV[@]}" "${@:1:$#-1}" colo-proxy-setup "$cmd" 2>&1
}
loaded() { [[ -d /sys/module/$1 ]]; }
master_of() { basename "$(ip netns exec "$1" readlink "/sys/class/net/$2/master" 2>/dev/null)"; }

# --- make install inside the guest ----------------------------------------
# Whatever earlier tests loaded or copied goes, so that only the installed
# files can serve.
unload_colo_modules
for m in "${COLO_MODULES[@]}"; do
	rm -f "/lib/modules/$kver/extra/$m.ko"
done
unset XTABLES_LIBDIR
if out=$(make -s -C "$PROJECT_DIR" DEPMOD="$depmod" install 2>&1); then
	installed=1
	pass "make install in the guest"
else
	fail "make install: $out"
	ksft_exit
fi
check "modprobe finds the installed modules" \
	'[[ $(modinfo -F filename xt_PMYCOLO) == /lib/modules/$kver/extra/xt_PMYCOLO/xt_PMYCOLO.ko ]]'
check "colo-proxy-setup and coloctl run from the installed copies" \
	'[[ $(command -v colo-proxy-setup) == /usr/local/sbin/colo-proxy-setup && $(command -v coloctl) == /usr/local/sbin/coloctl ]]'
COLOCTL=/usr/local/sbin/coloctl

topo_create --bare
topo_services

# pri_state / sec_state: what colo-proxy-setup may have put on a host.
pri_state() {
	P tc qdisc show dev vif root | grep '^qdisc prio 1:'
	P tc filter show dev vif parent 1: 2>/dev/null
	P iptables-save -t mangle | grep -e '-j PMYCOLO'
	P ip6tables-save -t mangle | grep -e '-j PMYCOLO'
	P arptables -L INPUT | grep -i mark
}
sec_state() {
	S iptables-save -t mangle | grep -e '-j SECCOLO'
	S ip6tables-save -t mangle | grep -e '-j SECCOLO'
	S ip link show colobr0 2>/dev/null
}

# --- a setup that fails halfway, and its teardown -----------------------------
modprobe xt_PMYCOLO sec_dev=eth9
out=$(pri setup)
rc=$?
check "setup refuses an xt_PMYCOLO loaded for another forward device (exit 1, says why)" \
	'((rc == 1)) && [[ $out == *"xt_PMYCOLO was already loaded with sec_dev='"'eth9'"', not '"'eth1'"'"* ]]'
check "the failed setup had already put the mirror in place" \
	'P tc filter show dev vif parent 1: | grep -q "mirred"'
out=$(pri teardown)
rc=$?
check "teardown after the failed setup succeeds${out:+: $out}" '((rc == 0))'
check "it removed the mirror and unloaded xt_PMYCOLO" '[[ -z $(pri_state) ]] && ! loaded xt_PMYCOLO'

# --- setup as Xen does it --------------------------------------------------
out=$(pri setup)
rc=$?
check "primary: setup succeeds${out:+: $out}" '((rc == 0)) && [[ -z $out ]]'
out=$(sec setup)
rc=$?
check "secondary: setup succeeds${out:+: $out}" '((rc == 0)) && [[ -z $out ]]'

check "primary: prio qdisc 1: at the root of vif" \
	'P tc qdisc show dev vif root | grep -q "^qdisc prio 1: root"'
filters=$(P tc filter show dev vif parent 1:)
# a filter of protocol p, prio n whose action mirrors to eth1
cat >"$tmp/filter.awk" <<'AWK'
/^filter / { ours = ($0 ~ ("protocol " p " pref " n " u32")) }
ours && /mirred \(Egress Mirror to device eth1\)/ { found = 1 }
END { exit !found }
AWK
prio=10
for proto in ip arp ipv6; do
	check "primary: u32 filter, protocol $proto prio $prio, mirrors to eth1" \
		'awk -v p="$proto" -v n="$prio" -f "$tmp/filter.awk" <<<"$filters"'
	prio=$((prio + 1))
done
check "xt_PMYCOLO loaded with sec_dev=eth1" \
	'[[ $(cat /sys/module/xt_PMYCOLO/parameters/sec_dev) == eth1 ]]'
for ipt in iptables ip6tables; do
	check "primary: $ipt PMYCOLO rule for vif" \
		'P $ipt-save -t mangle | grep -qxF -e "-A PREROUTING -m physdev --physdev-in vif -j PMYCOLO --index 1"'
	check "secondary: $ipt SECCOLO rule for vif" \
		'S $ipt-save -t mangle | grep -qxF -e "-A PREROUTING -m physdev --physdev-in vif -j SECCOLO --index 1"'
done
arp=$(P arptables -L INPUT)
check "primary: arptables marks ARP from eth1 with the index" \
	'grep -q -e "-i eth1" <<<"$arp" && grep -qiE "mark.*(0x)?1\b" <<<"$arp"' ||
	echo "arptables -L INPUT: $arp"
check "secondary: colobr0 holds vif and eth1, br0 lost vif" \
	'[[ $(master_of "$TOPO_SECONDARY" vif) == colobr0 && $(master_of "$TOPO_SECONDARY" eth1) == colobr0 ]]'
check "xt_SECCOLO loaded" 'loaded xt_SECCOLO'

# --- the pair at work --------------------------------------------------------
P "$COLOCTL" init 1 --mode primary
S "$COLOCTL" init 1 --mode secondary
file=$(topo_file "$TOPO_FILE_MB")
check "client's UDP echo comes back" \
	'[[ $(echo colo-udp | C timeout 10 socat - UDP:$VM_IP4:$PORT_UDP) == colo-udp ]]'
check "client's TCP echo comes back (IPv6)" \
	'[[ $(echo colo-tcp | C timeout 10 socat - TCP6:[$VM_IP6]:$PORT_ECHO) == colo-tcp ]]'
ktrace_start
t0=$SECONDS
C timeout 60 socat -u "TCP:$VM_IP4:$PORT_FILE" "CREATE:$tmp/dl4"
t4=$((SECONDS - t0))
C timeout 60 socat -u "TCP6:[$VM_IP6]:$PORT_FILE" "CREATE:$tmp/dl6"
t6=$((SECONDS - t0 - t4))
ktrace_stop
# On failure: how long each took, both instances' counters (no hypervisor
# listens here: a checkpoint the primary wanted shows as undelivered, and
# its held packets stay held), and the kernel's trace of the window.
check "client downloads intact from the PVM (IPv4, IPv6)" \
	'cmp -s "$tmp/dl4" "$file" && cmp -s "$tmp/dl6" "$file"' || {
	echo "the downloads took ${t4}s (IPv4) and ${t6}s (IPv6)"
	P "$COLOCTL" status 1
	S "$COLOCTL" status 1
	ct_drops "$TOPO_PRIMARY"
	ct_drops "$TOPO_SECONDARY"
	ktrace_show
}
sleep 1		# the SVM's copies reach SECCOLO too (TCG is slow)
learned=$(colo_stat "$TOPO_SECONDARY" 1 flows_learned)
check "SECCOLO learned the mirrored TCP flows ($learned, want >= 2)" '((learned >= 2))'
pkts=$(P iptables -t mangle -L PREROUTING -v -x -n | awk '/PMYCOLO/ { print $1 }')
check "the PMYCOLO rule saw the PVM's packets ($pkts)" '((pkts > 0))'
matched=$(colo_stat "$TOPO_PRIMARY" 1 pkts_matched)
captured=$(colo_stat "$TOPO_PRIMARY" 1 svm_pkts_captured)
check "the primary compared them with the SVM's from sec_dev ($matched matched, $captured captured)" \
	'((matched > 100 && captured > 100))'
wanted=$(($(colo_stat "$TOPO_PRIMARY" 1 checkpoints_requested) +
	$(colo_stat "$TOPO_PRIMARY" 1 req_undelivered)))
check "identical VMs: no checkpoint wanted (requested or undelivered: $wanted)" \
	'((wanted == 0))'

# --- teardown ------------------------------------------------------------------
# The hypervisor lets go of its instances, then runs the script.
P "$COLOCTL" destroy 1
S "$COLOCTL" destroy 1
out=$(pri teardown)
rc=$?
check "primary: teardown succeeds${out:+: $out}" '((rc == 0)) && [[ -z $out ]]'
out=$(sec teardown)
rc=$?
check "secondary: teardown succeeds${out:+: $out}" '((rc == 0)) && [[ -z $out ]]'
left=$(pri_state)
check "primary: no qdisc, filter, iptables, ip6tables or arptables rule left${left:+: $left}" '[[ -z $left ]]'
left=$(sec_state)
check "secondary: no rule left, colobr0 gone${left:+: $left}" '[[ -z $left ]]'
check "secondary: vif back on br0, eth1 on no bridge" \
	'[[ $(master_of "$TOPO_SECONDARY" vif) == br0 && -z $(master_of "$TOPO_SECONDARY" eth1) ]]'
check "xt_PMYCOLO and xt_SECCOLO unloaded" '! loaded xt_PMYCOLO && ! loaded xt_SECCOLO'
check "nothing holds the other modules: modprobe -r nfnetlink_colo nf_conntrack_colo" \
	'modprobe -r nfnetlink_colo nf_conntrack_colo && ! loaded nfnetlink_colo && ! loaded nf_conntrack_colo'
out=$(pri teardown) && out+=$(sec teardown)
rc=$?
check "a second teardown has nothing to do${out:+: $out}" '((rc == 0)) && [[ -z $out ]]'

# --- make uninstall ------------------------------------------------------------
if out=$(make -s -C "$PROJECT_DIR" DEPMOD="$depmod" uninstall 2>&1); then
	installed=0
	pass "make uninstall in the guest"
else
	fail "make uninstall: $out"
fi
check "after uninstall modprobe no longer finds xt_PMYCOLO, nor colo-proxy-setup is there" \
	'! modinfo xt_PMYCOLO >/dev/null 2>&1 && ! command -v colo-proxy-setup >/dev/null'

ksft_exit
