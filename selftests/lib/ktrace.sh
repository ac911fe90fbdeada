# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A window of kernel tracing for a test to print when a check fails: what
# the stack decided where counters cannot say (a route lookup that failed,
# a socket's state changes, an error a kernel function returned).
#
#   ktrace_start	# before the traffic under suspicion
#   ...
#   ktrace_stop		# after it; the buffer keeps its lines
#   check "..." '...' || ktrace_show
#
# Tracing is global: the window sees every namespace, so keep it short.
# Without tracefs (or a kernel without these events) it does nothing.

KTRACE_DIR=/sys/kernel/tracing

# The events: TCP/IPv4 state changes, failed FIB lookups, retransmissions,
# ICMP errors handed to TCP, non-zero returns of the route rebuild that a
# SYN's retransmission runs (it records its error without a counter), and
# the primary's stalls (a held packet's flow at its timeout) and
# miscompares.
_ktrace_events() {
	echo 'colo/colo_stall:'
	echo 'colo/colo_miscompare:'
	echo 'sock/inet_sock_set_state:protocol == 6'
	echo 'fib/fib_table_lookup:err != 0'
	echo 'tcp/tcp_retransmit_skb:'
	echo 'kprobes/colo_tcp_v4_err:'
	echo 'kprobes/colo_rebuild_header:ret != 0'
}

ktrace_start() {
	local ev filter
	if [[ ! -d $KTRACE_DIR/events ]]; then
		mount -t tracefs tracefs "$KTRACE_DIR" 2>/dev/null || return 0
	fi
	echo 0 >"$KTRACE_DIR/tracing_on"
	# Our probes stay defined (disabled) after a window: removing one
	# would clear the buffer before ktrace_show reads it.
	echo '-:colo_tcp_v4_err' >>"$KTRACE_DIR/kprobe_events" 2>/dev/null
	echo '-:colo_rebuild_header' >>"$KTRACE_DIR/kprobe_events" 2>/dev/null
	echo >"$KTRACE_DIR/trace"
	echo 'p:colo_tcp_v4_err tcp_v4_err info=%si:u32' \
		>>"$KTRACE_DIR/kprobe_events" 2>/dev/null
	echo 'r:colo_rebuild_header inet_sk_rebuild_header ret=$retval:s32' \
		>>"$KTRACE_DIR/kprobe_events" 2>/dev/null
	while IFS=: read -r ev filter; do
		[[ -d $KTRACE_DIR/events/$ev ]] || continue
		[[ -n $filter ]] && echo "$filter" >"$KTRACE_DIR/events/$ev/filter"
		echo 1 >"$KTRACE_DIR/events/$ev/enable"
	done < <(_ktrace_events)
	echo 1 >"$KTRACE_DIR/tracing_on"
}

ktrace_stop() {
	local ev
	[[ -w $KTRACE_DIR/tracing_on ]] || return 0
	echo 0 >"$KTRACE_DIR/tracing_on"
	while IFS=: read -r ev _; do
		[[ -d $KTRACE_DIR/events/$ev ]] || continue
		echo 0 >"$KTRACE_DIR/events/$ev/enable"
		echo 0 >"$KTRACE_DIR/events/$ev/filter"
	done < <(_ktrace_events)
	# On again, as a test's own tracing expects; the window's events
	# are off, so its lines stay in the buffer.
	echo 1 >"$KTRACE_DIR/tracing_on"
}

# ktrace_show: the window's first stalls (the first is the cause, the
# next may be its consequences), then its last 200 events at most.
ktrace_show() {
	[[ -r $KTRACE_DIR/trace ]] || return 0
	echo "kernel trace of the window:"
	grep -m 5 'colo_stall:' "$KTRACE_DIR/trace"
	grep -v '^#' "$KTRACE_DIR/trace" | tail -n 200
}
