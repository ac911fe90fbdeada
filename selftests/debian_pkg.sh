#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages as a user gets them: 'make deb' built them on the
# host (make check does, before the guest boots); here apt installs them
# into the guest's root (a tmpfs overlay: the host stays untouched), offline,
# since every dependency is installed on the host image already.
# - colo-proxy-dkms: DKMS builds the four modules for the running kernel
#   and depmod indexes them; modprobe xt_PMYCOLO pulls in nf_conntrack_colo
#   and, by its soft dependency, nfnetlink_colo;
# - colo-proxy-tools: coloctl, colo-proxy-setup, the iptables extensions
#   and the man pages in the system's places; colo-proxy-setup plumbs a
#   primary NIC whose iptables -j PMYCOLO rule the installed extension
#   parses and prints;
# - apt purge leaves nothing: no file the packages held, no module, no
#   DKMS tree, no extension, no man page.
# DKMS compiles the four modules inside the guest, under TCG: the compiler
# runs about 30 times slower than natively (kbuild's compiler probes alone
# take a minute before the first file), and depmod's first run reads every
# module of the kernel over 9p (it runs on install and again on purge).
# On an idle 2-core host, with the guest's slub_debug=FZP, the install
# with its DKMS build took 330 s and the whole test under 7 minutes;
# earlier runs with slub_debug's owner tracking (FZPU), some on a loaded
# host, took 15 minutes and more (the build alone over 820 s), and the
# build outlasted the 30-minute budget at a load of 14 on 2 cores. Nothing
# hangs, DKMS already builds with -j as many jobs as the guest has CPUs,
# and nothing rebuilds the initramfs. Hence its own budget:
# timeout: 1800
source "$(dirname "$0")/lib/guest.sh"

# Opt-in: it would take make check past CI's 30 minutes, or fail by
# timeout on a loaded machine. Run it with 'make check TESTS=debian_pkg
# COLO_DEB_TEST=1' (which builds the packages first).
[[ ${COLO_DEB_TEST:-0} == 1 ]] ||
	skip "DKMS under TCG takes 7 to 15 minutes or more: make check TESTS=debian_pkg COLO_DEB_TEST=1 runs it"

require_cmd apt-get dpkg dkms modprobe modinfo iptables iptables-save ip tc arptables man pkg-config
kver=$(uname -r)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$PROJECT_DIR/dkms.conf")
debdir=$PROJECT_DIR/build/deb
arch=$(dpkg --print-architecture)
debs=("$debdir/colo-proxy-dkms_${version}_all.deb" "$debdir/colo-proxy-tools_${version}_$arch.deb")
pkgs=(colo-proxy-dkms colo-proxy-tools)
# Where iptables looks for extensions (dpkg-architecture would say the same
# for Debian, but it is a perl program that takes half a minute under TCG).
xtlibdir=$(pkg-config --variable=xtlibdir xtables)
initrd=/boot/initrd.img-$kver
tmp=$(mktemp -d)

cleanup() {
	rm -rf "$tmp"
}

for d in "${debs[@]}"; do
	[[ -f $d ]] || { fail "no $d: run 'make deb' on the host (make check does)"; ksft_exit; }
done

# Only what the packages install may serve: no module that an earlier test
# copied, no extension from the tree.
unload_colo_modules
for m in "${COLO_MODULES[@]}"; do
	rm -f "/lib/modules/$kver/extra/$m.ko"
done
unset XTABLES_LIBDIR
# man-db's dpkg trigger rebuilds its index of manual pages whenever a
# package adds or removes some: 42 s of host CPU per run under TCG, and
# nothing this test looks at ('man -w' finds the pages in the file system without the
# index). So it is off in this test world (the guest's overlay; the host's
# man-db is untouched). A user's apt runs it, and it does not depend on
# our packages.
rm -f /var/lib/man-db/auto-update
initrd_before=$(stat -c %Y "$initrd" 2>/dev/null)
# apt offline: no archive lists, so dependencies resolve against what dpkg
# has installed only (the host image has them all) and nothing is fetched.
mkdir -p "$tmp/lists/partial" "$tmp/sources.d"
apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends \
		-o Dpkg::Use-Pty=0 -o Dir::State::Lists="$tmp/lists" \
		-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$tmp/sources.d" \
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
		"$@" </dev/null >"$tmp/apt.log" 2>&1
}
t0=$SECONDS

# --- install -----------------------------------------------------------
if apt_get install "${debs[@]}"; then
	pass "apt-get install ./colo-proxy-dkms ./colo-proxy-tools ($version), DKMS build included: $((SECONDS - t0)) s"
else
	fail "apt-get install: $(tail -n 30 "$tmp/apt.log")"
	tail -n 20 "/var/lib/dkms/colo-proxy/$version/build/make.log" 2>/dev/null
	ksft_exit
fi
for p in "${pkgs[@]}"; do
	dpkg-query -L "$p" >>"$tmp/files"
done

# The modules are not needed at boot: installing them must not rebuild the
# initramfs (DKMS's REMAKE_INITRD, an update-initramfs trigger), which
# would cost a user minutes per kernel for nothing.
check "the initramfs $initrd is not rebuilt" \
	'[[ $(stat -c %Y "$initrd" 2>/dev/null) == "$initrd_before" ]]'
check "dkms status: colo-proxy/$version installed for $kver" \
	'dkms status -m colo-proxy -v "$version" -k "$kver" | grep -q ": installed"'
for m in "${COLO_MODULES[@]}"; do
	check "modinfo finds the DKMS-built $m for $kver" \
		'[[ $(modinfo -F filename "$m") == /lib/modules/$kver/updates/dkms/$m.ko* ]]'
done
if modprobe xt_PMYCOLO; then
	pass "modprobe xt_PMYCOLO"
else
	fail "modprobe xt_PMYCOLO"
fi
check "xt_PMYCOLO brought nf_conntrack_colo and nfnetlink_colo (soft dependency)" \
	'[[ -d /sys/module/nf_conntrack_colo && -d /sys/module/nfnetlink_colo ]]'
check "coloctl is /usr/sbin/coloctl and says version $version" \
	'[[ $(command -v coloctl) == /usr/sbin/coloctl ]] && coloctl --version | grep -q "^coloctl $version "'
check "colo-proxy-setup is /usr/sbin/colo-proxy-setup" \
	'[[ $(command -v colo-proxy-setup) == /usr/sbin/colo-proxy-setup ]]'
for p in coloctl colo-proxy-setup colo-proxy-targets; do
	check "man finds $p(8)" '[[ $(man -w 8 "$p") == /usr/share/man/man8/$p.8.gz ]]'
done
check "iptables lists PMYCOLO's options from $xtlibdir" \
	'iptables -j PMYCOLO --help 2>&1 | grep -q -- "--forward-dev"'

# --- colo-proxy-setup and an iptables -j PMYCOLO rule ----------------------
# A primary host's NIC in a namespace: the VM's port vif and the forward
# link eth1, and eth2 for a second instance's rule (a forward device
# carries one instance's SVM output). colo-proxy-setup loads xt_PMYCOLO
# itself, with sec_dev.
modprobe -r xt_PMYCOLO
mkns pri
if ! { ip -n "$pri" link add vif type veth peer name vifp &&
	ip -n "$pri" link add eth1 type veth peer name eth1p &&
	ip -n "$pri" link add eth2 type veth peer name eth2p &&
	ip -n "$pri" link set vif up && ip -n "$pri" link set eth1 up; }; then
	fail "make the devices vif, eth1 and eth2"
fi
setup_env=(vifname=vif forwarddev=eth1 mode=primary index=1)
if out=$(ip netns exec "$pri" env "${setup_env[@]}" colo-proxy-setup setup 2>&1); then
	pass "colo-proxy-setup setup (primary)"
else
	fail "colo-proxy-setup setup: $out"
fi
check "xt_PMYCOLO loaded with sec_dev=eth1" \
	'[[ $(cat /sys/module/xt_PMYCOLO/parameters/sec_dev 2>/dev/null) == eth1 ]]'
check "iptables-save prints the PMYCOLO rule through the installed extension" \
	'ip netns exec "$pri" iptables-save -t mangle | grep -q -- "-m physdev --physdev-in vif -j PMYCOLO --index 1"'
rule=(PREROUTING -i vif -j PMYCOLO --index 2 --forward-dev eth2)
if out=$(ip netns exec "$pri" iptables -t mangle -A "${rule[@]}" 2>&1) &&
	out=$(ip netns exec "$pri" iptables -t mangle -D "${rule[@]}" 2>&1); then
	pass "iptables -A, -D ${rule[*]}"
else
	fail "iptables ${rule[*]}: $out"
fi
if out=$(ip netns exec "$pri" env "${setup_env[@]}" colo-proxy-setup teardown 2>&1); then
	pass "colo-proxy-setup teardown"
else
	fail "colo-proxy-setup teardown: $out"
fi
check "teardown unloaded xt_PMYCOLO" '[[ ! -d /sys/module/xt_PMYCOLO ]]'
unload_colo_modules

# --- purge ---------------------------------------------------------------
t0=$SECONDS
if apt_get purge "${pkgs[@]}"; then
	pass "apt-get purge colo-proxy-tools colo-proxy-dkms: $((SECONDS - t0)) s"
else
	fail "apt-get purge: $(tail -n 30 "$tmp/apt.log")"
fi
check "dpkg knows neither package any more" \
	'! dpkg-query -W -f="\${db:Status-Status}\n" "${pkgs[@]}" 2>/dev/null | grep -qv "^not-installed$"'
left=$(while read -r f; do
		[[ -f $f || -L $f ]] && echo "$f"
	done <"$tmp/files")
check "no file of the packages is left${left:+ (left: $left)}" '[[ -z $left ]]'
left=$(for m in "${COLO_MODULES[@]}"; do find /lib/modules -name "$m.ko*"; done)
check "no COLO module under /lib/modules${left:+ (left: $left)}" '[[ -z $left ]]'
check "modprobe no longer finds xt_PMYCOLO" '! modinfo xt_PMYCOLO >/dev/null 2>&1'
check "no DKMS tree or sources: /var/lib/dkms/colo-proxy, /usr/src/colo-proxy-$version" \
	'[[ ! -e /var/lib/dkms/colo-proxy && ! -e /usr/src/colo-proxy-$version ]]'
check "no extension in $xtlibdir" \
	'[[ ! -e $xtlibdir/libxt_PMYCOLO.so && ! -e $xtlibdir/libxt_SECCOLO.so ]]'
check "no man page" '! man -w 8 coloctl >/dev/null 2>&1'

ksft_exit
