#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages, on the host: 'make deb' builds them (into build/deb,
# where selftests/debian_pkg.sh installs them in the guest) without leaving
# anything in the tree; they carry dkms.conf's version; colo-proxy-tools
# holds every file that 'make install' of tools/ and iptables-ext/ puts
# under /usr; colo-proxy-dkms holds the sources that 'make dkms-src' copies
# and registers them with DKMS; lintian finds no error or warning; a
# changelog that disagrees with dkms.conf stops the build.
# DEB_DIR: where to build instead of build/deb. Ends with
# "deb: N passed, N failed".
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
debdir=${DEB_DIR:-build/deb}
dkms_deb=$debdir/colo-proxy-dkms_${version}_all.deb
tools_deb=$debdir/colo-proxy-tools_${version}_$arch.deb
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status_before=$(git status --porcelain 2>&1)
if make --no-print-directory deb DEB_DIR="$debdir" >"$tmp/log" 2>&1; then
	ok "make deb"
else
	bad "make deb:"
	tail -n 40 "$tmp/log"
fi
check "git status is the same after make deb" '[[ $(git status --porcelain 2>&1) == "$status_before" ]]'
for d in "$dkms_deb" "$tools_deb"; do
	check "built $d" '[[ -s $d ]]'
done

# contents DEB: the files (not directories) a package holds, one a line.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort; }

# What tools/ and iptables-ext/ install, with Debian's paths; a new
# program in tools/Makefile's install target appears here by itself.
if ! make --no-print-directory -s -C tools install DESTDIR="$tmp/root" PREFIX=/usr >/dev/null 2>&1 ||
	! make --no-print-directory -s -C iptables-ext install DESTDIR="$tmp/root" \
		XTLIBDIR="/usr/lib/$multiarch/xtables" MANDIR=/usr/share/man >/dev/null 2>&1; then
	bad "make install of tools/ and iptables-ext/ into a staging root"
fi
want=$( (cd "$tmp/root" && find . -type f) | sed 's|^\.||; s|/man/man\(.\)/\(.*\)$|/man/man\1/\2.gz|' | sort)
[[ -f $tools_deb ]] && missing=$(comm -23 <(echo "$want") <(contents "$tools_deb"))
check "colo-proxy-tools holds all that make install puts under /usr${missing:+ (missing: $missing)}" \
	'[[ -f $tools_deb && -n $want && -z $missing ]]'

make --no-print-directory -s dkms-src DESTDIR="$tmp/src" >/dev/null 2>&1 ||
	bad "make dkms-src into a staging root"
want=$( (cd "$tmp/src" && find . -type f) | sed 's|^\.||' | sort)
[[ -f $dkms_deb ]] && missing=$(comm -23 <(echo "$want") <(contents "$dkms_deb"))
check "colo-proxy-dkms holds the sources of make dkms-src${missing:+ (missing: $missing)}" \
	'[[ -f $dkms_deb && -n $want && -z $missing ]]'
check "colo-proxy-dkms's dkms.conf says version $version" \
	'dpkg-deb --fsys-tarfile "$dkms_deb" | tar -xOf - "./usr/src/colo-proxy-$version/dkms.conf" | grep -qx "PACKAGE_VERSION=\"$version\""'
check "colo-proxy-dkms depends on dkms and runs it from postinst" \
	'dpkg-deb -f "$dkms_deb" Depends | grep -q "dkms" && dpkg-deb -I "$dkms_deb" postinst | grep -q "dkms"'
for d in "$dkms_deb" "$tools_deb"; do
	check "$(basename "$d"): version $version" '[[ $(dpkg-deb -f "$d" Version) == "$version" ]]'
done

changes=$debdir/colo-proxy_${version}_$arch.changes
if lintian --fail-on error,warning --no-tag-display-limit "$changes" >"$tmp/lintian" 2>&1; then
	ok "lintian: no error or warning"
else
	bad "lintian:"
	cat "$tmp/lintian"
fi

# The version check in debian/rules, on the copy make deb built in.
copy=$debdir/colo-proxy-$version
if [[ -d $copy ]]; then
	sed -i "1s/($version)/($version.1)/" "$copy/debian/changelog"
	out=$(cd "$copy" && debian/rules override_dh_auto_configure 2>&1)
	check "a changelog version other than dkms.conf's stops the build" \
		'[[ $out == *"make them agree"* ]]'
else
	bad "no build copy $copy"
fi

echo "deb: $pass passed, $fail failed"
((fail == 0))
