#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install / make uninstall into a staging root, on the host: every
# file lands where it belongs (modules in lib/modules/KVER/extra and in
# modules.dep, the iptables extensions in xtables' directory, the tools and
# the man pages under PREFIX), uninstall leaves none of them behind, and
# the real system is untouched. Ends with "install: N passed, N failed".
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

kver=$(scripts/kver.sh) || exit 1
kdir=/lib/modules/$kver/build
xtlibdir=$(pkg-config --variable=xtlibdir xtables)
[[ -n $xtlibdir ]] || { echo "install-test: no xtlibdir: apt-get install libxtables-dev" >&2; exit 1; }
modules=(nf_conntrack_colo nfnetlink_colo xt_PMYCOLO xt_SECCOLO)
prefix=/usr/local
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
log=$tmp/log

# What install must put, relative to the staging root.
want=()
for m in "${modules[@]}"; do
	want+=("lib/modules/$kver/extra/$m/$m.ko")
done
want+=("${xtlibdir#/}/libxt_PMYCOLO.so" "${xtlibdir#/}/libxt_SECCOLO.so"
	"${prefix#/}/sbin/coloctl" "${prefix#/}/sbin/colo-proxy-setup"
	"${prefix#/}/sbin/colo-qemu-agent"
	"${prefix#/}/share/man/man8/coloctl.8"
	"${prefix#/}/share/man/man8/colo-qemu-agent.8"
	"${prefix#/}/share/man/man8/colo-proxy-setup.8"
	"${prefix#/}/share/man/man8/colo-proxy-targets.8")

# The real system's copies, if any, must not change.
sys_files=("/lib/modules/$kver/modules.dep" "/lib/modules/$kver/modules.dep.bin")
for f in "${want[@]}"; do
	sys_files+=("/$f")
done
sys_state() {
	local f
	for f in "${sys_files[@]}"; do
		stat -c '%n %s %Y' "$f" 2>/dev/null || echo "$f absent"
	done
}
before=$(sys_state)

# files: every file under the staging root, relative, sorted.
files() { (cd "$root" && find . -type f -o -type l) | sed 's|^\./||' | LC_ALL=C sort; }

vars=(DESTDIR="$root" INSTALL_MOD_PATH="$root" KDIR="$kdir" PREFIX="$prefix")
if make --no-print-directory install "${vars[@]}" >"$log" 2>&1; then
	ok "make install DESTDIR=\$tmp INSTALL_MOD_PATH=\$tmp"
else
	bad "make install failed:"
	tail -n 30 "$log"
fi

for f in "${want[@]}"; do
	check "installed: /$f" '[[ -f $root/$f && -s $root/$f ]]'
done
check "coloctl, colo-qemu-agent and colo-proxy-setup are executable" \
	'[[ -x $root/$prefix/sbin/coloctl && -x $root/$prefix/sbin/colo-qemu-agent && -x $root/$prefix/sbin/colo-proxy-setup ]]'
check "installed coloctl runs and says its version" \
	'"$root/$prefix/sbin/coloctl" --version | grep -q "^coloctl $(sed -n "s/^PACKAGE_VERSION=\"\(.*\)\"$/\1/p" dkms.conf) "'
unexpected=$(files | grep -vxF -f <(printf '%s\n' "${want[@]}") |
	grep -vE "^lib/modules/$kver/modules\.[a-z.]+$")
check "nothing else installed but depmod's index${unexpected:+ (also: $unexpected)}" '[[ -z $unexpected ]]'

dep=$root/lib/modules/$kver/modules.dep
for m in "${modules[@]}"; do
	check "modules.dep lists $m" 'grep -q "^extra/$m/$m.ko:" "$dep"'
done
check "modules.dep: xt_PMYCOLO depends on nf_conntrack_colo" \
	'grep -q "^extra/xt_PMYCOLO/xt_PMYCOLO.ko:.*extra/nf_conntrack_colo/nf_conntrack_colo.ko" "$dep"'
check "modinfo finds xt_SECCOLO in the staging root" \
	'[[ $(modinfo -b "$root" -k "$kver" -F filename xt_SECCOLO) == "$root/lib/modules/$kver/extra/xt_SECCOLO/xt_SECCOLO.ko" ]]'
check "modinfo: xt_PMYCOLO soft-depends on nfnetlink_colo" \
	'modinfo -b "$root" -k "$kver" -F softdep xt_PMYCOLO | grep -q "post: nfnetlink_colo"'
for f in coloctl colo-qemu-agent colo-proxy-setup colo-proxy-targets; do
	check "man page $f.8 renders without warnings" \
		'scripts/man-lint.sh "$root/$prefix/share/man/man8/$f.8" >/dev/null'
done

if make --no-print-directory uninstall "${vars[@]}" >"$log" 2>&1; then
	ok "make uninstall with the same variables"
else
	bad "make uninstall failed:"
	tail -n 30 "$log"
fi
left=$(files | grep -vE "^lib/modules/$kver/modules\.[a-z.]+$")
check "uninstall leaves no project file behind${left:+ (left: $left)}" '[[ -z $left ]]'
check "modules.dep no longer names a COLO module" \
	'! grep -qE "colo|COLO" "$dep" 2>/dev/null'

check "the real system is untouched" '[[ $(sys_state) == "$before" ]]'

# After a change to one module and a build, install finds every module
# built: kbuild is not run again (a minute under the selftests' emulator).
kos=()
for m in "${modules[@]}"; do
	kos+=("$m/$m.ko")
done
touch xt_PMYCOLO/pmycolo_pool.c
if make --no-print-directory modules KDIR="$kdir" >"$log" 2>&1; then
	check "after one module was rebuilt, make sees every module up to date" \
		'make -q KDIR="$kdir" "${kos[@]}"'
else
	bad "make modules failed:"
	tail -n 30 "$log"
fi

echo "install: $pass passed, $fail failed"
((fail == 0))
