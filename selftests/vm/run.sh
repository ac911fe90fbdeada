#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a command as root in a throw-away QEMU guest (TCG) that boots the
# stock Debian kernel on the host's root filesystem: shared read-only over
# virtio-9p, with a tmpfs overlay on top so the guest may write anywhere
# (install modules, depmod, /etc, /run) while the host stays untouched.
# The project is at the same path in the guest; the command runs there.
#
# usage: selftests/vm/run.sh [options] -- CMD [ARGS...]
#        selftests/vm/run.sh [options] --shell
#   -t SECS    kill the guest after SECS seconds (default $VM_TIMEOUT or 600)
#   -m MEM     guest memory (default 2G)
#   -s N       guest CPUs (default 2)
#   -k KVER    kernel release (default: scripts/kver.sh)
#   -e VAR=VAL set VAR in the command's environment (repeatable)
#   -v         print boot progress and timing on stderr
#   --colo-vms start the real COLO pair (selftests/realvm/vms.sh) beside
#              the guest, wired to it: see selftests/lib/realvm.sh
#   --shell    interactive shell on the guest console instead of CMD
#
# VM_SLUB_DEBUG sets the guest's slub_debug flags (default FZP; FZPU adds
# the stacks of each object's allocation and free to a report).
#
# CMD's stdout and stderr are streamed to ours; its exit status is ours,
# except: 1 if the guest kernel log shows a warning, oops or BUG after the
# run, 124 on timeout, 125 if the guest failed to run CMD at all. On any
# failure the console log and the guest's dmesg are kept under build/vm/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
# shellcheck source=selftests/lib/kwarn.sh
source "$project/selftests/lib/kwarn.sh"

timeout_s=${VM_TIMEOUT:-600}
mem=2G
smp=2
kver=
verbose=0
mode=cmd
colo_vms=0
envs=()

usage() {
	sed -n '/^# usage:/,/^# CMD/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' | sed '$d' >&2
	exit 2
}

while (($#)); do
	case $1 in
	-t) timeout_s=${2:?}; shift 2 ;;
	-m) mem=${2:?}; shift 2 ;;
	-s) smp=${2:?}; shift 2 ;;
	-k) kver=${2:?}; shift 2 ;;
	-e) [[ ${2:-} == [A-Za-z_]*=* ]] || usage; envs+=("$2"); shift 2 ;;
	-v) verbose=1; shift ;;
	--colo-vms) colo_vms=1; shift ;;
	--shell) mode=shell; shift ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) break ;;
	esac
done
[[ $mode == shell ]] && set -- bash -l
(($#)) || usage
[[ $timeout_s =~ ^[0-9]+$ ]] || { echo "vm: -t wants seconds" >&2; exit 2; }

log() { ((verbose)) && echo "vm: $*" >&2; return 0; }
now() { date +%s.%N; }

[[ -n $kver ]] || kver=$("$project/scripts/kver.sh")
kernel=/boot/vmlinuz-$kver
[[ -r $kernel ]] || { echo "vm: $kernel not readable" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "vm: qemu-system-x86_64 missing: make deps" >&2; exit 125; }

builddir=${VM_BUILD_DIR:-$project/build/vm}
mkdir -p "$builddir"
initrd=$builddir/initramfs-$kver.cpio
"$here/mkinitramfs.sh" "$kver" "$initrd"

# depmod in the guest reads every module over 9p: 30 to 45 s under TCG.
# depmod is deterministic, so compute here, natively, the index of each
# module tree the tests make (selftests/lib/depmod-cached says which, and
# uses them when the guest's tree matches one), for the modules as built now.
prep_depmod() {
	local m kos=() d=$builddir/depmod/$kver key layout root
	for m in nf_conntrack_colo nfnetlink_colo xt_PMYCOLO xt_SECCOLO; do
		[[ -f $project/$m/$m.ko ]] && kos+=("$project/$m/$m.ko")
	done
	key=$(cd "/lib/modules/$kver" &&
		{ ((${#kos[@]})) && sha256sum "${kos[@]}"; ls -l modules.dep.bin; } | sha256sum)
	[[ -f $d/key && -f $d/stock/manifest && $(cat "$d/key") == "$key" ]] && return 0
	rm -rf "$d"
	for layout in stock flat install; do
		[[ $layout != stock ]] && ((!${#kos[@]})) && continue
		root=$d/root/lib/modules/$kver
		mkdir -p "$root/extra" "$d/$layout/index"
		# A symlink farm of the stock tree plus copies of our modules.
		cp -as "/lib/modules/$kver/." "$root/"
		rm -f "$root"/modules.*
		cp /lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} "$root/"
		for m in "${kos[@]}"; do
			case $layout in
			flat) cp "$m" "$root/extra/" ;;
			install) install -D -m 0644 "$m" "$root/extra/$(basename "$m" .ko)/$(basename "$m")" ;;
			esac
		done
		depmod -b "$d/root" "$kver" || { rm -rf "$d"; return 0; }
		cp "$root"/modules.*.bin "$root"/modules.{dep,alias,symbols,softdep,devname} \
			"$d/$layout/index/" 2>/dev/null
		"$project/selftests/lib/depmod-cached" --manifest "$root/extra" \
			>"$d/$layout/manifest"
		rm -rf "$d/root"
	done
	echo "$key" >"$d/key"
}
prep_depmod

# Failed runs are kept for inspection: keep the newest 10 of them.
find "$builddir" -maxdepth 1 -name 'run.*' -type d -printf '%T@ %p\n' |
	sort -rn | tail -n +11 | cut -d' ' -f2- | xargs -r rm -rf

# One directory per run: it is the guest's writable results share.
run=$(mktemp -d "$builddir/run.XXXXXX")
out=$run/out
mkdir "$out"
echo "$mode" >"$out/mode"
colo=
((colo_vms)) && colo=$(mktemp -d "$builddir/colo.XXXXXX")
{
	echo "cd $(printf '%q' "$project") || exit 125"
	printf 'export COLO_VM_BUILD=%q\n' "$builddir"
	((colo_vms)) && printf 'export COLO_REALVM=%q\n' "$colo"
	for e in "${envs[@]}"; do
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$out/cmd"
# Created now so that tail can follow them from the start.
: >"$out/stdout"
: >"$out/stderr"

qemu=(qemu-system-x86_64
	-nodefaults -no-user-config -nographic -no-reboot
	-accel tcg -cpu max -smp "$smp" -m "$mem"
	-kernel "$kernel" -initrd "$initrd"
	# loglevel=5: warnings and worse reach the console log, boot chatter
	# does not (a serial port is slow under TCG). panic=-1 with -no-reboot
	# turns a panic into a quick exit instead of a hang until the timeout.
	# A vCPU thread starved by a busy 2-core host must not read as an RCU
	# stall or soft lockup (both would fail the run): thresholds at 60 s.
	# slub_debug=FZP: sanity checks, red zones and poison on every slab, so
	# that a use after free or an overrun in our modules is reported (and
	# fails the run). Owner tracking (U: the stack of each allocation and
	# free) adds no check and cost 15% of the CPU per forwarded segment
	# (BENCH=profile); VM_SLUB_DEBUG=FZPU adds it back to tell whose
	# object a report is about.
	# no_timer_check: under a loaded host the timer check through the
	# IO-APIC can miss its window and panic the boot ("IO-APIC + timer
	# doesn't work!"); the emulated timer is known good.
	# A soft lockup, an RCU stall or a task blocked for 120 s panics: the
	# run fails at once with the splat on the console, instead of the
	# guest spinning until its timeout with only the splat's tail left to
	# read. Each of them fails the run anyway (kwarn.sh).
	-append "console=ttyS0 loglevel=5 panic=-1 edd=off rdinit=/init rcupdate.rcu_cpu_stall_timeout=60 watchdog_thresh=30 softlockup_panic=1 hung_task_panic=1 sysctl.kernel.panic_on_rcu_stall=1 slub_debug=${VM_SLUB_DEBUG:-FZP} no_timer_check"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
	-fsdev "local,id=results,path=$out,security_model=none"
	-device "virtio-9p-pci,fsdev=results,mount_tag=results"
	-monitor none
)
# The real COLO pair runs on this machine, beside the guest; the guest gets
# a NIC facing each VM's NIC and two serial ports to each VM's QMP sockets
# (the agent's and the harness's). A host dies in the tests by its VM's
# QEMU being killed, which only this machine can do: the guest asks by
# writing "pvm" or "svm" (and vms.sh kill's option) into colo-kill of its
# results share, and a watcher here kills that QEMU with SIGKILL (vms.sh
# kill) and says so in
# colo-killed. Its run directory is not $run, which is gone before the
# EXIT trap stops the VMs; a failed run keeps their console logs.
colo_kill_watch() {
	local vm
	while [[ -d $out ]]; do
		if [[ -s $out/colo-kill ]]; then
			read -r vm how <"$out/colo-kill"
			rm -f "$out/colo-kill"
			"$project/selftests/realvm/vms.sh" kill "$colo" "$vm" ${how:+"$how"} &&
				echo "$vm" >"$out/colo-killed"
		fi
		sleep 0.1
	done
}
if ((colo_vms)); then
	trap '[[ -n ${kill_watch:-} ]] && kill "$kill_watch" 2>/dev/null
		"$project/selftests/realvm/vms.sh" stop "$colo"
		[[ -d $run ]] && cp "$colo"/*.console "$run/" 2>/dev/null
		rm -rf "$colo"' EXIT
	"$project/selftests/realvm/vms.sh" start "$colo" "$kver"
	colo_kill_watch &
	kill_watch=$!
	qemu+=(-device virtio-serial-pci)
	for vm in pvm svm; do
		qemu+=(-netdev "dgram,id=$vm,local.type=unix,local.path=$colo/$vm.net.peer,remote.type=unix,remote.path=$colo/$vm.net"
			-device "virtio-net-pci,netdev=$vm,mac=$("$project/selftests/realvm/vms.sh" mac "$vm"),romfile=")
		for mon in qmp ctl; do
			qemu+=(-chardev "socket,id=$vm-$mon,path=$colo/$vm.$mon"
				-device "virtserialport,chardev=$vm-$mon,name=colo.$vm.$mon")
		done
	done
fi

log "booting $kver (timeout ${timeout_s}s), run dir $run"
t0=$(now)
if [[ $mode == shell ]]; then
	# The console is the terminal; ^A x quits qemu.
	"${qemu[@]}" -serial mon:stdio || true
	qrc=0
else
	qrc=0
	timeout -k 10 "$timeout_s" "${qemu[@]}" -serial "file:$run/console.log" \
		</dev/null >"$run/qemu.log" 2>&1 &
	qpid=$!
	# Stream the command's output while the guest runs; tail exits once
	# qemu has gone, after a last read.
	tail -q -n +1 -s 0.2 -f --pid="$qpid" "$out/stdout" &
	t1=$!
	tail -q -n +1 -s 0.2 -f --pid="$qpid" "$out/stderr" >&2 &
	t2=$!
	wait "$qpid" || qrc=$?
	wait "$t1" "$t2" || true
fi
log "guest ran $(printf '%.1f' "$(echo "$(now) - $t0" | bc)")s"

keep() {
	echo "vm: $*" >&2
	echo "vm: console log: $run/console.log" >&2
	[[ -s $out/dmesg ]] && echo "vm: guest dmesg: $out/dmesg" >&2
	return 0
}

# The selftest whose start the console showed last (selftests/run.sh marks
# each start in the kernel log).
last_test() {
	grep -a 'colo-selftest: ' "$run/console.log" | tail -n 1 |
		sed 's/^/vm: last test started: /' >&2
}

if ((qrc == 124 || qrc == 137)); then
	keep "TIMEOUT: guest killed after ${timeout_s}s (raise with -t or VM_TIMEOUT)"
	last_test
	tail -n 20 "$run/console.log" 2>/dev/null | sed 's/^/vm: | /' >&2
	exit 124
fi
if [[ ! -s $out/rc ]]; then
	keep "guest did not complete the command (qemu exit $qrc)"
	sed 's/^/vm: qemu: /' "$run/qemu.log" >&2 2>/dev/null
	# Which selftest was running, the start of a splat, which says the
	# most, then how the console ended.
	last_test
	kwarn_scan "$run/console.log" | head -n 40 | sed 's/^/vm: | /' >&2
	echo "vm: last console lines:" >&2
	tail -n 15 "$run/console.log" 2>/dev/null | sed 's/^/vm: | /' >&2
	exit 125
fi
rc=$(cat "$out/rc")

if excerpt=$(kwarn_scan "$out/dmesg"); then
	keep "FAIL: kernel warning in the guest's dmesg:"
	printf '%s\n' "$excerpt" | sed 's/^/vm: | /' >&2
	exit 1
fi
if ((rc != 0)); then
	keep "command exited with status $rc"
	exit "$rc"
fi
rm -rf "$run"
exit 0
