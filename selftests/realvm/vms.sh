#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real COLO pair of the selftests: two small QEMU VMs, PVM and SVM, on
# the outer machine (next to the test guest, not nested in it: nested TCG
# would be too slow). Both boot Debian's kernel and the same busybox
# initramfs (selftests/realvm/mkinitramfs.sh); the SVM waits with -incoming
# for the PVM's state, so its RAM equals the PVM's from the first
# checkpoint on. Everything is a unix socket in DIR:
#   pvm.qmp svm.qmp   QMP servers for each VM's colo-qemu-agent
#   pvm.ctl svm.ctl   a second QMP server each, for the test harness
#                     (start COLO, the checkpoint period): QEMU takes one
#                     client per monitor, and the agent keeps its own
#   mig.sock          the migration (COLO) channel: realvm/miglink.py,
#                     joined to svm.mig, where the SVM listens; it can
#                     hold the link at a checkpoint (kill --mid-checkpoint)
#   pvm.net svm.net   each VM's NIC (-netdev dgram); its peer, the test
#                     guest's NIC, sends from pvm.net.peer / svm.net.peer
#   pvm.console svm.console   serial console logs
# Each VM also reads its role, pvm or svm, from fw_cfg (opt/colo/role):
# the one thing a checkpoint does not copy (realvm/neighsvc).
#
# usage: vms.sh start DIR [KVER]    start both, return at once
#        vms.sh stop DIR            stop both (their pid files are in DIR)
#        vms.sh kill DIR pvm|svm [--mid-checkpoint]
#                                   SIGKILL one: its host dies; with
#                                   --mid-checkpoint, once the SVM has
#                                   stopped for the next checkpoint
#        vms.sh mac pvm|svm         the MAC of the test guest's NIC that
#                                   faces that VM (its host's vif)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
VM_MAC=52:54:00:c0:10:02

die() { echo "realvm/vms: $*" >&2; exit 1; }

# no_timer_check: on a loaded host the kernel's IO-APIC timer check may
# miss its ticks under TCG and panic ("IO-APIC + timer doesn't work!").
# QEMU 7.2 under TCG needs two workarounds (see docs/design.md, Tests):
# - the LD_PRELOAD shim (tcg_colo_shim.c) for the primary's deadlock at its
#   first checkpoint;
# - a RAM size that is not a multiple of 256 KiB: the aligned fast path of
#   cpu_physical_memory_sync_dirty_bitmap() loses dirty pages under TCG
#   (fixed in QEMU 9.0), the slow path is correct. 128 MiB + 8 KiB.
accel=${REALVM_ACCEL:-tcg}
mem=131080K

vm_start() {
	local dir=$1 kver=$2 name=$3
	shift 3
	local env=()
	[[ $accel == tcg ]] && env=(LD_PRELOAD="$project/selftests/realvm/tcg_colo_shim.so")
	rm -f "$dir/$name".{qmp,ctl,net,pid}
	env "${env[@]}" qemu-system-x86_64 \
		-nodefaults -no-user-config -nographic -no-reboot \
		-name "colo-$name" \
		-accel "$accel" -cpu max -smp 1 -m "$mem" \
		-kernel "/boot/vmlinuz-$kver" -initrd "$dir/smallvm.cpio" \
		-append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init edd=off no_timer_check" \
		-serial "file:$dir/$name.console" -monitor none \
		-qmp "unix:$dir/$name.qmp,server=on,wait=off" \
		-qmp "unix:$dir/$name.ctl,server=on,wait=off" \
		-netdev "dgram,id=n0,local.type=unix,local.path=$dir/$name.net,remote.type=unix,remote.path=$dir/$name.net.peer" \
		-device "virtio-net-pci,netdev=n0,mac=$VM_MAC,romfile=" \
		-device virtio-rng-pci \
		-fw_cfg "name=opt/colo/role,string=$name" \
		-pidfile "$dir/$name.pid" "$@" \
		</dev/null >"$dir/$name.log" 2>&1 &
}

case ${1:-} in
start)
	dir=${2:?usage: vms.sh start DIR [KVER]}
	kver=${3:-$("$project/scripts/kver.sh")}
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[[ $accel != tcg || -f $here/tcg_colo_shim.so ]] ||
		die "$here/tcg_colo_shim.so missing: make -C selftests"
	"$here/mkinitramfs.sh" "$kver" "$dir/smallvm.cpio"
	rm -f "$dir"/mig.{sock,cut,cut.done} "$dir/svm.mig"
	vm_start "$dir" "$kver" svm -incoming "unix:$dir/svm.mig"
	vm_start "$dir" "$kver" pvm
	python3 "$here/miglink.py" "$dir/mig.sock" "$dir/svm.mig" "$dir/mig.cut" \
		</dev/null >"$dir/miglink.log" 2>&1 &
	echo $! >"$dir/miglink.pid"
	for _ in $(seq 100); do
		[[ -S $dir/pvm.ctl && -S $dir/svm.ctl && -S $dir/svm.mig && -S $dir/mig.sock ]] && exit 0
		sleep 0.1
	done
	die "the VMs did not start: $(cat "$dir"/*.log)"
	;;
mac)
	case ${2:-} in
	pvm) echo 52:54:00:c0:fe:01 ;;
	svm) echo 52:54:00:c0:fe:02 ;;
	*) die "mac: pvm or svm" ;;
	esac
	;;
kill)
	dir=${2:?usage: vms.sh kill DIR pvm|svm}
	[[ ${3:-} == [ps]vm ]] || die "kill: pvm or svm"
	[[ -s $dir/$3.pid ]] || die "kill: no $dir/$3.pid"
	if [[ ${4:-} == --mid-checkpoint ]]; then
		touch "$dir/mig.cut"
		for _ in $(seq 300); do
			[[ -e $dir/mig.cut.done ]] && break
			sleep 0.1
		done
		[[ -e $dir/mig.cut.done ]] || die "kill: no checkpoint began within 30 s"
	elif [[ -n ${4:-} ]]; then
		die "kill: --mid-checkpoint or nothing after the VM"
	fi
	kill -KILL "$(cat "$dir/$3.pid")"
	rm -f "$dir/$3.pid"
	;;
stop)
	dir=${2:?usage: vms.sh stop DIR}
	# SIGKILL: a primary whose secondary is gone may be stuck in its COLO
	# thread with the BQL held, where SIGTERM's orderly shutdown never runs.
	for name in pvm svm miglink; do
		[[ -s $dir/$name.pid ]] && { kill -KILL "$(cat "$dir/$name.pid")" 2>/dev/null || true; }
		rm -f "$dir/$name.pid"
	done
	exit 0
	;;
*)
	sed -n '/^# usage:/,/^#   *vms.sh kill/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
