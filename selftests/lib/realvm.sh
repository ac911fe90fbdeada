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
# MAC, become the hosts' vif ports. Source it after lib/topology.sh, then:
#   realvm_topo_create            namespaces, links, bridges, the mirror
#   realvm_drive INDEX DELAY_MS LOG   start COLO and the driver
#                                 (selftests/realvm/colo.py drive)
#   realvm_ctl checkpoint|failover|stop   tell the driver
#   realvm_wait_log PATTERN SECS  until the driver's log has PATTERN

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

	topo_br_netfilter "$TOPO_PRIMARY"
	topo_bridge "$TOPO_PRIMARY" br0 eth0 vif
	topo_br_netfilter "$TOPO_SECONDARY"
	topo_mirror "$TOPO_PRIMARY" vif eth1
	topo_bridge "$TOPO_SECONDARY" colobr0 eth1 vif
}

# realvm_drive INDEX DELAY_MS LOG: start COLO (periodic checkpoints every
# DELAY_MS) and the driver that maps QEMU's checkpoints onto instance
# INDEX of both hosts; returns once the pair is in COLO state.
realvm_drive() {
	local pvm svm
	if ! pvm=$(realvm_port colo.pvm.qmp) ||
	   ! svm=$(realvm_port colo.svm.qmp); then
		echo "no QMP ports of the COLO VMs" >&2
		return 1
	fi
	REALVM_CTL=$(mktemp -u /tmp/realvm-ctl.XXXXXX)
	mkfifo "$REALVM_CTL"
	REALVM_LOG=$3
	python3 "$REALVM_DIR/colo.py" drive --pvm "$pvm" --svm "$svm" \
		--uri "unix:$COLO_REALVM/mig.sock" --delay "$2" --index "$1" \
		--primary-ns "$TOPO_PRIMARY" --secondary-ns "$TOPO_SECONDARY" \
		--ctl "$REALVM_CTL" --coloctl "$COLOCTL" >"$REALVM_LOG" 2>&1 &
	REALVM_PIDS+=($!)
	realvm_wait_log "COLO state" 300
}

# Only while the driver runs: a FIFO without a reader blocks the writer.
realvm_ctl() {
	kill -0 "${REALVM_PIDS[-1]}" 2>/dev/null || return 1
	echo "$1" >"$REALVM_CTL"
}

# realvm_wait_log PATTERN SECS
realvm_wait_log() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -q -- "$1" "$REALVM_LOG" && return 0
		kill -0 "${REALVM_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "the COLO driver's log has no '$1':" >&2
	cat "$REALVM_LOG" >&2
	return 1
}

realvm_cleanup() {
	local pid
	for pid in "${REALVM_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	REALVM_PIDS=()
	[[ -n ${REALVM_CTL:-} ]] && rm -f "$REALVM_CTL"
	return 0
}
