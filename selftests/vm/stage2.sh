#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test guest, stage 2 (PID 1 on the overlay root): finish the runtime
# mounts, run the host's command from the results share, store its output,
# exit status and the kernel log there, then power off.
# Files exchanged with the host (selftests/vm/run.sh) in $out:
#   cmd     bash script to run (written by the host)
#   mode    "cmd" or "shell" (interactive, on the console)
#   stdout, stderr, rc, dmesg   written here
set -u
out=/run/colo-vm/out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=${TERM:-linux} COLO_VM=1

halt() {
	sync
	/bin/busybox poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

# /dev/pts, /dev/shm, /run, lo and the hostname were set up by stage 1.
mode=cmd
read -r mode <"$out/mode"
if [[ $mode == shell ]]; then
	# Interactive: CMD (a login shell) on the serial console, with job
	# control.
	echo "colo-vm: $(uname -r); exit the shell to power off"
	setsid -c bash "$out/cmd" </dev/ttyS0 >/dev/ttyS0 2>&1
	rc=$?
else
	bash "$out/cmd" </dev/null >"$out/stdout" 2>"$out/stderr"
	rc=$?
fi
dmesg >"$out/dmesg" 2>&1
# rc is written last: its presence tells the host that the run completed.
echo "$rc" >"$out/rc.tmp" && mv "$out/rc.tmp" "$out/rc"
halt
