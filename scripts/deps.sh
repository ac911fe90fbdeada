#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages that building and testing colo-proxy need,
# when missing. CI runs on a fresh Debian bookworm machine as root with no
# stdin, so this must work unattended; on a machine that has everything it
# only asks dpkg and does not touch the network.
set -euo pipefail

pkgs=(
	build-essential gcc make pkg-config
	# kernel side: headers to build against and the same kernel to boot
	# in the test guest (both -amd64 metapackages, so the same version)
	linux-headers-amd64 linux-image-amd64 linux-source-6.1 kmod dkms sparse
	# man page lint (make man); shellcheck on every shell script
	man-db groff-base shellcheck
	# Debian packages (make deb): debhelper with dh_dkms, lintian; git
	# lists the files that go into the package build
	debhelper dh-dkms lintian dpkg-dev pkgconf git
	# test guest
	qemu-system-x86 busybox-static cpio xz-utils
	# userspace: iptables extensions, coloctl, tests
	iptables arptables ebtables iproute2 bridge-utils libxtables-dev
	libmnl-dev tcpdump iperf3 ethtool socat python3 clang perl iputils-ping
	# ct_coexist.sh: nft helpers and flowtables beside COLO
	nftables conntrack
	# libFuzzer for the comparator's fuzz target; openssl makes test data
	libclang-rt-14-dev openssl util-linux
	# make bench BENCH=profile: perf record in the guest (the guest runs
	# the host's binaries, so the host needs it)
	linux-perf
)

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done

apt_updated=0
apt_install() {
	if [[ $(id -u) != 0 ]]; then
		echo "deps: missing packages: $*; rerun as root (or: sudo make deps)" >&2
		exit 1
	fi
	if ((!apt_updated)); then
		apt-get update -q
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$@" </dev/null
}

if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	apt_install "${missing[@]}"
fi

# Modules are built against /lib/modules/VER/build and loaded into a guest
# booting /boot/vmlinuz-VER: the newest headers must have their image.
# The metapackages keep them in step, but an older image or headers
# package installed by hand can leave them apart.
hdr=$(for d in /lib/modules/*/build; do
		[[ -d $d ]] && basename "$(dirname "$d")"
	done | sort -V | tail -n 1)
if [[ -z $hdr ]]; then
	echo "deps: no kernel headers under /lib/modules/*/build" >&2
	exit 1
fi
if [[ ! -e /boot/vmlinuz-$hdr ]]; then
	echo "deps: headers $hdr have no kernel image: installing linux-image-$hdr"
	apt_install "linux-image-$hdr"
fi
# The guest runner boots the newest kernel that has headers; say which.
kver=$("$(dirname "${BASH_SOURCE[0]}")/kver.sh")
[[ $kver == "$hdr" ]] || {
	echo "deps: newest headers $hdr but guest kernel $kver" >&2
	exit 1
}
