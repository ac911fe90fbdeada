#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test guest's initramfs: busybox-static, the Debian kernel's
# virtio/9p/overlay modules and our two boot scripts. The result is cached
# and only rebuilt when one of its inputs changes.
#
# usage: mkinitramfs.sh KVER OUTPUT.cpio
set -euo pipefail

kver=${1:?usage: mkinitramfs.sh KVER OUTPUT.cpio}
out=${2:?usage: mkinitramfs.sh KVER OUTPUT.cpio}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=/bin/busybox

# What the guest needs before it can see its root: the virtio PCI transport,
# 9p over virtio, and overlayfs for a writable root on top of it.
mods=(virtio_pci 9pnet_virtio 9p overlay)

die() { echo "mkinitramfs: $*" >&2; exit 1; }

[[ -x $busybox ]] || die "$busybox missing: apt-get install busybox-static"
# A dynamic busybox would fail in the initramfs, which has no libc.
if LC_ALL=C ldd "$busybox" 2>&1 | grep -q '=>'; then
	die "$busybox is dynamically linked: apt-get install busybox-static"
fi
[[ -d /lib/modules/$kver ]] || die "no /lib/modules/$kver"

# Module files in load order, dependencies first, each listed once.
declare -A seen=()
kos=()
for m in "${mods[@]}"; do
	deps=$(modprobe -S "$kver" --show-depends "$m") ||
		die "modprobe cannot resolve $m for $kver"
	while read -r kind path _; do
		[[ $kind == insmod ]] || continue	# "builtin NAME": nothing to load
		[[ -n ${seen[$path]:-} ]] && continue
		seen[$path]=1
		kos+=("$path")
	done <<<"$deps"
done

# Cache key: this script, the boot scripts, busybox and the module files.
stamp=$( {
	cat "${BASH_SOURCE[0]}" "$here/init" "$here/stage2.sh" \
		"$here/../lib/hookkeys.sh"
	echo "$kver"
	stat -L -c '%n %s %Y' "$busybox" "${kos[@]}"
} | sha256sum | cut -d' ' -f1)
if [[ -f $out && -f $out.stamp && $(cat "$out.stamp") == "$stamp" ]]; then
	exit 0
fi

tmp=$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.cpio"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,mnt,modules,newroot}
cp "$busybox" "$tmp/bin/busybox"
install -m 0755 "$here/init" "$tmp/init"
install -m 0755 "$here/stage2.sh" "$tmp/stage2"
install -m 0644 "$here/../lib/hookkeys.sh" "$tmp/hookkeys.sh"
: >"$tmp/modules/order"
for ko in "${kos[@]}"; do
	name=$(basename "$ko")
	# busybox insmod cannot read compressed modules: unpack them here.
	case $name in
	*.ko.xz)  xz -dc "$ko" >"$tmp/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$ko" >"$tmp/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko.gz)  gzip -dc "$ko" >"$tmp/modules/${name%.gz}"; name=${name%.gz} ;;
	*)        cp "$ko" "$tmp/modules/$name" ;;
	esac
	echo "$name" >>"$tmp/modules/order"
done

# Uncompressed newc: the kernel reads it directly, and it is small enough.
(cd "$tmp" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) >"$tmp.cpio"
mv -f "$tmp.cpio" "$out"
echo "$stamp" >"$out.stamp"
