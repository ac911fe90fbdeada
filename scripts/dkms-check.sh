#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS: 'dkms add' and 'dkms build' of this tree (make dkms-src) against
# every installed kernel's headers, in a private dkms tree so that the
# system's /var/lib/dkms and /usr/src stay untouched. Checks that all four
# modules come out. Ends with "dkms: N passed, N failed".
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
command -v dkms >/dev/null || { echo "dkms-check: dkms missing: apt-get install dkms" >&2; exit 1; }
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

name=colo-proxy
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
modules=(nf_conntrack_colo nfnetlink_colo xt_PMYCOLO xt_SECCOLO)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/src" --installtree "$tmp/install")
mkdir -p "$tmp/dkms" "$tmp/install"
# No module signing: it would make a key under /var/lib/dkms.
export sign_file=/nonexistent

if make --no-print-directory -s dkms-src DESTDIR="$tmp" >"$tmp/log" 2>&1 &&
	mv "$tmp/usr/src" "$tmp/src"; then
	ok "make dkms-src: $name-$version"
else
	bad "make dkms-src"; cat "$tmp/log"
fi
if dkms add -m "$name" -v "$version" "${tree[@]}" >"$tmp/log" 2>&1; then
	ok "dkms add $name/$version"
else
	bad "dkms add:"; cat "$tmp/log"
fi

kvers=()
for d in /lib/modules/*/build; do
	[[ -d $d ]] && kvers+=("$(basename "$(dirname "$d")")")
done
((${#kvers[@]})) || bad "no kernel headers under /lib/modules/*/build"
for k in "${kvers[@]}"; do
	if dkms build -m "$name" -v "$version" -k "$k" "${tree[@]}" >"$tmp/log" 2>&1; then
		ok "dkms build for $k"
	else
		bad "dkms build for $k:"
		cat "$tmp/log"
		tail -n 30 "$tmp/dkms/$name/$version/build/make.log" 2>/dev/null
	fi
	for m in "${modules[@]}"; do
		ko=$tmp/dkms/$name/$version/$k/$(uname -m)/module/$m.ko
		if [[ -s $ko ]] && modinfo -F vermagic "$ko" | grep -q "^$k "; then
			ok "$k: $m.ko built, vermagic $k"
		else
			bad "$k: $m.ko missing or for another kernel"
		fi
	done
	if dkms status -m "$name" -v "$version" -k "$k" "${tree[@]}" 2>&1 | grep -q ": built"; then
		ok "$k: dkms status says built"
	else
		bad "$k: dkms status: $(dkms status "${tree[@]}" 2>&1)"
	fi
done

echo "dkms: $pass passed, $fail failed"
((fail == 0))
