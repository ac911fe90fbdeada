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
# the site, to the same stale int3, for ever: both CPUs lock up in the
# receive path when a key it tests flips under traffic. Such keys are
# global, while the hooks that count for them are per namespace: the first
# register or last unregister of a hook anywhere patches every site.
# - ingress_needed_key, the netfilter netdev ingress key and the egress
#   keys: every netdev ingress or egress hook (PMYCOLO's capture) and every
#   clsact qdisc;
# - nf_hooks_needed[family][hook], tested by NF_HOOK in ip_rcv, ipv6_rcv,
#   arp_rcv, the bridge and every later hook point: every iptables table,
#   conntrack, br_netfilter and our hooks, in a test's namespaces that come
#   and go (a namespace is cleaned up in the background, while the next
#   test already sends).
# Base chains that match nothing, in the guest's initial namespace, hold
# every one of these keys on for the guest's life, so that the kernel never
# patches their sites while the tests run. selftests/vm_hook_keys.sh checks
# that they are here.
# shellcheck source=selftests/lib/hookkeys.sh
source /run/colo-vm/hookkeys.sh
pin_hook_keys() { hook_key_tables colo_vm_pin lo | nft -f -; }

# /dev/pts, /dev/shm, /run, lo and the hostname were set up by stage 1.
pin_hook_keys || echo "colo-vm: cannot pin the hook keys (nft)" >&2
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
