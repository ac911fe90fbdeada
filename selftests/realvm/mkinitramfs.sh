#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of the small COLO test VMs (PVM and SVM): static
# busybox, the Debian kernel's virtio-net, virtio-rng and fw_cfg modules
# and the VMs' init and services. Cached until one of its inputs changes.
#
# usage: selftests/realvm/mkinitramfs.sh KVER OUTPUT.cpio
set -euo pipefail

kver=${1:?usage: mkinitramfs.sh KVER OUTPUT.cpio}
out=${2:?usage: mkinitramfs.sh KVER OUTPUT.cpio}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=/bin/busybox
# 1.3 MB served by httpd on port 80 (selftests/realvm.sh knows the number).
file_lines=200000
mods=(virtio_pci virtio_net virtio_rng qemu_fw_cfg)

die() { echo "realvm/mkinitramfs: $*" >&2; exit 1; }

[[ -x $busybox ]] || die "$busybox missing: apt-get install busybox-static"
if LC_ALL=C ldd "$busybox" 2>&1 | grep -q '=>'; then
	die "$busybox is dynamically linked: apt-get install busybox-static"
fi

declare -A seen=()
kos=()
for m in "${mods[@]}"; do
	deps=$(modprobe -S "$kver" --show-depends "$m") ||
		die "modprobe cannot resolve $m for $kver"
	while read -r kind path _; do
		[[ $kind == insmod ]] || continue
		[[ -n ${seen[$path]:-} ]] && continue
		seen[$path]=1
		kos+=("$path")
	done <<<"$deps"
done

stamp=$( {
	cat "${BASH_SOURCE[0]}" "$here/init" "$here"/{diff,file,neigh}svc
	echo "$kver"
	stat -L -c '%n %s %Y' "$busybox" "${kos[@]}"
} | sha256sum | cut -d' ' -f1)
if [[ -f $out && -f $out.stamp && $(cat "$out.stamp") == "$stamp" ]]; then
	exit 0
fi

tmp=$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.cpio"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,etc,modules}
cp "$busybox" "$tmp/bin/busybox"
install -m 0755 "$here/init" "$tmp/init"
install -m 0755 "$here/diffsvc" "$tmp/bin/diffsvc"
install -m 0755 "$here/filesvc" "$tmp/bin/filesvc"
install -m 0755 "$here/neighsvc" "$tmp/bin/neighsvc"
echo "$file_lines" >"$tmp/etc/file_lines"
: >"$tmp/modules/order"
for ko in "${kos[@]}"; do
	name=$(basename "$ko")
	case $name in
	*.ko.xz)  xz -dc "$ko" >"$tmp/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$ko" >"$tmp/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko.gz)  gzip -dc "$ko" >"$tmp/modules/${name%.gz}"; name=${name%.gz} ;;
	*)        cp "$ko" "$tmp/modules/$name" ;;
	esac
	echo "$name" >>"$tmp/modules/order"
done
(cd "$tmp" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) >"$tmp.cpio"
mv -f "$tmp.cpio" "$out"
echo "$stamp" >"$out.stamp"
