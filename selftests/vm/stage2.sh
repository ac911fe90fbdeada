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

# The test world's own limit (docs/design.md, "The test guest's jump
# labels"): under multi-threaded TCG a vCPU can keep a stale translation of
# the int3 that the kernel writes while it patches a jump label. kprobes'
# int3 handler finds no int3 in memory any more and sends the vCPU back to
# the site, to the same stale int3, for ever: both CPUs lock up in
# __netif_receive_skb_core when the ingress keys flip under traffic, which
# every netdev ingress hook (PMYCOLO's capture) and ingress qdisc does on a
# first register or last unregister. An empty netdev ingress chain on lo
# holds both keys (ingress_needed_key and the netfilter netdev ingress key)
# on for the guest's life, so that the kernel never patches their sites
# while the tests run. selftests/vm_ingress_key.sh checks that it is here.
pin_ingress_keys() {
	nft -f - <<-'EOF'
	table netdev colo_vm_pin {
		chain ingress {
			type filter hook ingress device "lo" priority 0;
		}
	}
	EOF
}

# /dev/pts, /dev/shm, /run, lo and the hostname were set up by stage 1.
pin_ingress_keys || echo "colo-vm: cannot pin the ingress keys (nft)" >&2
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
