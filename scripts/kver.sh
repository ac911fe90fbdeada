#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel release that the modules are built for and that the test
# guest boots: the newest one that has both headers (/lib/modules/VER/build)
# and a bootable image (/boot/vmlinuz-VER). Both must match, or the modules
# would not load in the guest.
set -euo pipefail

best=
while read -r ver; do
	[[ -e /boot/vmlinuz-$ver ]] && best=$ver
done < <(for d in /lib/modules/*/build; do
		[[ -d $d ]] && basename "$(dirname "$d")"
	done | sort -V)

if [[ -z $best ]]; then
	echo "kver.sh: no kernel with both /lib/modules/VER/build and /boot/vmlinuz-VER;" \
		"run 'make deps' (installs linux-headers-amd64 and linux-image-amd64)" >&2
	exit 1
fi
echo "$best"
