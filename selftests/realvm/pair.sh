#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real COLO pair alone, on this (outer) machine, without the proxy:
# start PVM and SVM (vms.sh), wait for the PVM's services, start COLO and
# print the pause of each of N periodic checkpoints. Exit 0 when N
# checkpoints ran and both VMs stayed in COLO mode.
#
# usage: selftests/realvm/pair.sh [-n COUNT] [-d DELAY_MS] [-k KVER]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
count=20 delay=300 kver=
while getopts n:d:k: o; do
	case $o in
	n) count=$OPTARG ;;
	d) delay=$OPTARG ;;
	k) kver=$OPTARG ;;
	*) sed -n 's/^# usage: //p' "$0" >&2; exit 2 ;;
	esac
done

make -s -C "$project/selftests" realvm/tcg_colo_shim.so
mkdir -p "$project/build/realvm"
dir=$(mktemp -d "$project/build/realvm/pair.XXXXXX")
trap '"$here/vms.sh" stop "$dir"; rm -rf "$dir"' EXIT
"$here/vms.sh" start "$dir" ${kver:+"$kver"}
t0=$SECONDS
until grep -q "colo-smallvm: up" "$dir/pvm.console"; do
	((SECONDS - t0 < 120)) || { echo "the PVM did not boot:"; tail "$dir/pvm.console"; exit 1; }
	sleep 0.5
done
echo "PVM booted in $((SECONDS - t0)) s"
python3 "$here/colo.py" pair --pvm "$dir/pvm.qmp" --svm "$dir/svm.qmp" \
	--uri "unix:$dir/mig.sock" --count "$count" --delay "$delay"
