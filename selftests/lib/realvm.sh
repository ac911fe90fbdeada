# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The real COLO pair in the COLO topology. selftests/vm/run.sh --colo-vms
# starts two small QEMU VMs, PVM and SVM, on the outer machine
# (selftests/realvm/vms.sh) and gives this guest, per VM, a NIC wired to the
# VM's NIC and a serial port wired to the VM's QMP socket; $COLO_REALVM is
# their directory on the outer machine (the migration socket is there).
#
#      client -- switch -- eth0 [primary] eth1 ===== eth1 [secondary] eth0
#                                 |vif                     |vif
#                            (NIC of this guest)      (NIC of this guest)
#                                 |                        |
#                      PVM: QEMU on the outer      SVM: QEMU on the outer
#                      machine, QMP on             machine, -incoming,
#                      /dev/vport: colo.pvm.qmp    colo.svm.qmp
#
# The hosts are the namespaces of lib/topology.sh; the two NICs, found by
# MAC, become the hosts' vif ports. Each VM has two QMP monitors, two serial
# ports here: colo.VM.qmp for that host's colo-qemu-agent, colo.VM.ctl for
# the harness (selftests/realvm/colo.py). Source it after lib/topology.sh,
# then:
#   realvm_topo_create            namespaces, links, bridges, the mirror
#   realvm_agents INDEX           a colo-qemu-agent on each host, waiting
#                                 for COLO
#   realvm_start_colo DELAY_MS    start COLO (periodic checkpoints every
#                                 DELAY_MS) and return once both agents
#                                 own their instance
#   realvm_period DELAY_MS        the period, and a checkpoint now
#   realvm_checkpoints            checkpoints the primary agent logged
#   realvm_wait_ckpt N            until it logged more than N
#   realvm_settle                 until the primary holds nothing
#   realvm_stat KEY...            the primary instance's counters
#   realvm_kill pvm|svm [--mid-checkpoint]
#                                 SIGKILL that VM's QEMU (the outer
#                                 machine does it: vm/run.sh); the
#                                 option waits for the SVM to stop for
#                                 a checkpoint (realvm/miglink.py)
#   realvm_wait_log FILE PATTERN SECS   until FILE has PATTERN

REALVM_DIR=$PROJECT_DIR/selftests/realvm
REALVM_PIDS=()

# realvm_nic pvm|svm: this guest's interface facing that VM.
realvm_nic() {
	local mac dev
	mac=$("$REALVM_DIR/vms.sh" mac "$1")
	for dev in /sys/class/net/*; do
		[[ $(cat "$dev/address") == "$mac" ]] && { basename "$dev"; return 0; }
	done
	return 1
}

# realvm_port NAME: the device node of virtio serial port NAME (no udev
# here to make /dev/virtio-ports/NAME).
realvm_port() {
	local p
	for p in /sys/class/virtio-ports/*; do
		[[ $(cat "$p/name" 2>/dev/null) == "$1" ]] &&
			{ echo "/dev/$(basename "$p")"; return 0; }
	done
	return 1
}

realvm_topo_create() {
	local pnic snic
	modprobe virtio_net
	modprobe virtio_console
	if ! wait_until realvm_nic pvm >/dev/null ||
	   ! wait_until realvm_nic svm >/dev/null; then
		echo "no NICs facing the COLO VMs: run.sh --colo-vms?" >&2
		return 1
	fi
	pnic=$(realvm_nic pvm)
	snic=$(realvm_nic svm)
	mkns TOPO_CLIENT TOPO_SWITCH TOPO_PRIMARY TOPO_SECONDARY

	# First, as they may be called eth0 and eth1 here, names that
	# topo_link's veth pairs pass through.
	ip link set "$pnic" netns "$TOPO_PRIMARY" name vif
	ip link set "$snic" netns "$TOPO_SECONDARY" name vif
	ip -n "$TOPO_PRIMARY" link set vif up
	ip -n "$TOPO_SECONDARY" link set vif up
	topo_link "$TOPO_CLIENT" eth0 "$TOPO_SWITCH" sw-client
	topo_link "$TOPO_SWITCH" sw-primary "$TOPO_PRIMARY" eth0
	topo_link "$TOPO_SWITCH" sw-secondary "$TOPO_SECONDARY" eth0
	topo_link "$TOPO_PRIMARY" eth1 "$TOPO_SECONDARY" eth1
	topo_bridge "$TOPO_SWITCH" sw sw-client sw-primary sw-secondary

	ip -n "$TOPO_CLIENT" link set eth0 address "$CLIENT_MAC"
	ip -n "$TOPO_CLIENT" addr add "$CLIENT_IP4/24" dev eth0
	# The VMs are IPv4 only (lib/realvm's busybox init): a permanent entry
	# as on the VMs' side.
	ip -n "$TOPO_CLIENT" neigh replace "$VM_IP4" lladdr "$VM_MAC" dev eth0 nud permanent

	# The client's link at 10 Mbit/s, with a short queue: QEMU 7.2 can
	# break COLO when a checkpoint stops the PVM while its NIC has a
	# transmission in flight (the backend's socket full, under TCG when
	# this guest reads the VM's frames slower than a download sends them):
	# the SVM then fails to load the state ("VQ 1 size 0x100 <
	# last_avail_idx 0x434d - used_idx 0x434e", seen in a soak at full
	# speed) and leaves COLO. Paced by this link, a download never fills
	# that socket. REALVM_RATE sets another rate.
	ip netns exec "$TOPO_SWITCH" tc qdisc add dev sw-client root tbf \
		rate "${REALVM_RATE:-10mbit}" burst 16k latency 20ms

	topo_br_netfilter "$TOPO_PRIMARY"
	topo_bridge "$TOPO_PRIMARY" br0 eth0 vif
	topo_br_netfilter "$TOPO_SECONDARY"
	topo_mirror "$TOPO_PRIMARY" vif eth1
	topo_bridge "$TOPO_SECONDARY" colobr0 eth1 vif
}

AGENT=$PROJECT_DIR/tools/colo-qemu-agent
REALVM_OUT=/run/colo-vm/out
REALVM_T0=${EPOCHREALTIME/./}
# The primary agent's checkpoint period: long, so that only the kernel's
# requests and the harness's (realvm_period) checkpoint unless a test sets
# a short period.
REALVM_LONG_MS=300000

# realvm_agents INDEX: the agents, each in its host's namespace, on its
# VM's first QMP port, and `coloctl monitor` on the primary; their logs are
# REALVM_PLOG, REALVM_SLOG and REALVM_MLOG, each line stamped with the
# seconds since the test began. The primary's own period is long: the tests
# set the period they want through the harness's monitor (realvm_period),
# which the agent's checkpoint requests keep, so a phase that must see only
# requested checkpoints gets them. --wait: the agents
# start before COLO does, as a management tool would start them.
realvm_agents() {
	local pvm svm
	if ! pvm=$(realvm_port colo.pvm.qmp) ||
	   ! svm=$(realvm_port colo.svm.qmp); then
		echo "no QMP ports of the COLO VMs" >&2
		return 1
	fi
	# In the results share: a run that fails keeps them (vm/run.sh).
	REALVM_PLOG=$REALVM_OUT/realvm-primary.log
	REALVM_SLOG=$REALVM_OUT/realvm-secondary.log
	REALVM_MLOG=$REALVM_OUT/realvm-monitor.log
	# Real-time, as colo-qemu-agent(8) advises: the test guest's own
	# work (the hosts' bridges, the compare threads, the client) does not
	# delay a begin. Its vCPUs still share the machine with the VMs.
	ip netns exec "$TOPO_SECONDARY" "$AGENT" --index "$1" \
		--mode secondary --qmp "$svm" --wait 600 --realtime 10 \
		> >(realvm_stamp >"$REALVM_SLOG") 2>&1 &
	REALVM_SPID=$!
	ip netns exec "$TOPO_PRIMARY" "$AGENT" --index "$1" \
		--mode primary --qmp "$pvm" --checkpoint-interval "$REALVM_LONG_MS" \
		--wait 600 --realtime 10 > >(realvm_stamp >"$REALVM_PLOG") 2>&1 &
	REALVM_PPID=$!
	# Every request of the kernel, with its flow and where it differed.
	ip netns exec "$TOPO_PRIMARY" "$COLOCTL" monitor --index "$1" \
		> >(realvm_stamp >"$REALVM_MLOG") 2>&1 &
	REALVM_PIDS+=("$REALVM_SPID" "$REALVM_PPID" $!)
}

# Each line with the seconds since the test began, to line up the logs.
realvm_stamp() {
	local line t
	while IFS= read -r line; do
		t=${EPOCHREALTIME/./}
		t=$(((t - REALVM_T0) / 1000))
		printf '%d.%03d %s\n' $((t / 1000)) $((t % 1000)) "$line"
	done
}

# realvm_colo CMD [ARG...]: selftests/realvm/colo.py on the PVM's second
# monitor.
realvm_colo() {
	local cmd=$1 pvm svm
	shift
	pvm=$(realvm_port colo.pvm.ctl) || return 1
	if [[ $cmd == start ]]; then
		svm=$(realvm_port colo.svm.ctl) || return 1
		set -- --svm "$svm" --uri "unix:$COLO_REALVM/mig.sock" "$@"
	fi
	# Bounded: a QEMU that stops answering fails the step, not the run.
	timeout "$([[ $cmd == start ]] && echo 320 || echo 60)" \
		python3 "$REALVM_DIR/colo.py" "$cmd" --pvm "$pvm" "$@"
}

realvm_start_colo() {
	realvm_colo start --delay "$1" || return 1
	realvm_wait_log "$REALVM_SLOG" "ready: instance" 60 &&
		realvm_wait_log "$REALVM_PLOG" "ready: instance" 60
}

realvm_period() {
	realvm_colo period --delay "$1" >/dev/null
}

realvm_checkpoints() {
	grep -c 'colo-qemu-agent: checkpoint [0-9]' "$REALVM_PLOG"
}

# realvm_wait_ckpt N: until the primary agent logged more than N
# checkpoints (30 s at most). Polled every 10 ms without a fork (each
# costs ~0.1 s here), so that the caller acts a few ms after the primary's
# commit; the pause is a read with a timeout on a FIFO nobody writes.
realvm_wait_ckpt() {
	local i n line plog fifo
	if [[ -z ${REALVM_TICK:-} ]]; then
		fifo=$(mktemp -u) && mkfifo "$fifo" || return 1
		exec {REALVM_TICK}<>"$fifo"
		rm -f "$fifo"
	fi
	for ((i = 0; i < 3000; i++)); do
		mapfile -t plog <"$REALVM_PLOG"
		n=0
		for line in "${plog[@]}"; do
			[[ $line == *"colo-qemu-agent: checkpoint "[0-9]* ]] && n=$((n + 1))
		done
		((n > $1)) && return 0
		read -rt 0.01 -u "$REALVM_TICK" || true
	done
	return 1
}

# realvm_settle: until the primary's instance holds no packet, for 6 s at
# most. A packet left from a step before (the
# PVM's straggler of docs/design.md: a segment sent before a checkpoint's
# stop that reached the primary after its begin) waits out that timeout
# (3 s in these tests), and its request belongs to that step, not to the
# next one.
realvm_settle() {
	local end=$((SECONDS + 6)) pvm svm
	while ((SECONDS < end)); do
		{ read -r pvm; read -r svm; } < <(realvm_stat pvm_queue svm_queue)
		[[ $pvm == 0 && $svm == 0 ]] && return 0
		sleep 0.1
	done
	return 1
}

# realvm_stat KEY...: values of the primary's instance 1, a line each: a
# counter or gauge, or a setting as cfg:NAME. Bounded: a test that hangs
# says less than one that fails.
realvm_stat() {
	timeout 30 ip netns exec "$TOPO_PRIMARY" "$COLOCTL" status 1 --json |
		python3 -c 'import json, sys
inst = json.load(sys.stdin)[0]
for k in sys.argv[1:]:
    print(inst[k[4:]] if k.startswith("cfg:") else inst["stats"][k])' "$@"
}

# realvm_pauses FROM: the primary agent's checkpoints after its FROMth:
# how many, their reasons and pauses.
realvm_pauses() {
	awk -v from="$1" 'match($0, /agent: checkpoint [0-9]+: reason [^,]*, pause [0-9]+/) {
		split(substr($0, RSTART, RLENGTH), f, /[ :,]+/)
		if (f[3] + 0 <= from) next
		ms = f[7] + 0; why[f[5]]++; c++; s += ms
		if (c == 1 || ms < lo) lo = ms
		if (ms > hi) hi = ms }
	END { if (!c) { print "no checkpoints"; exit }
		printf "%d checkpoints (", c
		for (k in why) { printf "%s%d %s", sep, why[k], k; sep = ", " }
		printf "), pause min %d ms, mean %d ms, max %d ms\n", lo, s / c, hi }' "$REALVM_PLOG"
}

# What a failing step wants to know: both instances, QEMU's view, the logs.
realvm_diag() {
	local ns
	for ns in "$TOPO_PRIMARY" "$TOPO_SECONDARY"; do
		timeout 30 ip netns exec "$ns" "$COLOCTL" status 2>&1 | sed 's/^/  /'
	done
	realvm_colo query 2>&1 | sed 's/^/  PVM: /'
	# The VMs' QEMUs write their errors on the outer machine, whose root
	# this guest sees.
	for f in "$REALVM_PLOG" "$REALVM_SLOG" "$REALVM_MLOG" \
		"$COLO_REALVM/pvm.log" "$COLO_REALVM/svm.log"; do
		echo "  $(basename "$f"), the last 15 lines:"
		tail -n 15 "$f" 2>&1 | sed 's/^/    /'
	done
}

# realvm_kill pvm|svm [--mid-checkpoint]: the outer machine kills that
# QEMU with SIGKILL (selftests/vm/run.sh's watcher; realvm/vms.sh kill for
# the option); returns once it has.
realvm_kill() {
	local i
	rm -f "$REALVM_OUT/colo-killed"
	echo "$*" >"$REALVM_OUT/colo-kill"
	for ((i = 0; i < 400; i++)); do
		[[ $(cat "$REALVM_OUT/colo-killed" 2>/dev/null) == "$1" ]] && return 0
		sleep 0.1
	done
	echo "the outer machine did not kill the $1" >&2
	return 1
}

# realvm_wait_log FILE PATTERN SECS
realvm_wait_log() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.1
	done
	echo "no '$2' in $1 after $3 s:" >&2
	cat "$1" >&2
	return 1
}

realvm_cleanup() {
	local pid
	for pid in "${REALVM_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	REALVM_PIDS=()
	return 0
}
