# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A window of kernel tracing for a test to print when a check fails: what
# the stack decided where counters cannot say (a route lookup that failed,
# a socket's state changes, a retransmission, the primary's stalls).
#
#   ktrace_start	# before the traffic under suspicion
#   ...
#   ktrace_stop		# after it; the buffer keeps its lines
#   check "..." '...' || ktrace_show
#
# Tracing is global: the window sees every namespace, so keep it short.
# Without tracefs (or a kernel without these events) it does nothing.
#
# The events are enabled once, in a trace instance of their own, and stay
# so; a window only turns that instance's recording on and off. Enabling
# or disabling an event patches kernel text, which the TCG test guest can
# get wrong while another vCPU runs the code (docs/design.md, "The test
# guest's jump labels"): a window must not do it each time.

KTRACE_DIR=/sys/kernel/tracing
KTRACE_INST=$KTRACE_DIR/instances/colo_ktrace

# The events: TCP state changes, failed FIB lookups, retransmissions, and
# the primary's stalls (a held packet's flow at its timeout) and
# miscompares.
_ktrace_events() {
	echo 'colo/colo_stall:'
	echo 'colo/colo_miscompare:'
	echo 'sock/inet_sock_set_state:protocol == 6'
	echo 'fib/fib_table_lookup:err != 0'
	echo 'tcp/tcp_retransmit_skb:'
}

ktrace_start() {
	local ev filter dir
	if [[ ! -d $KTRACE_DIR/instances ]]; then
		mount -t tracefs tracefs "$KTRACE_DIR" 2>/dev/null || return 0
	fi
	[[ -d $KTRACE_INST ]] || mkdir "$KTRACE_INST" 2>/dev/null || return 0
	echo 0 >"$KTRACE_INST/tracing_on"
	# Enabled already, unless new (a module loaded since) or never.
	while IFS=: read -r ev filter; do
		dir=$KTRACE_INST/events/$ev
		[[ -d $dir && $(<"$dir/enable") == 0* ]] || continue
		[[ -n $filter ]] && echo "$filter" >"$dir/filter"
		echo 1 >"$dir/enable"
	done < <(_ktrace_events)
	echo >"$KTRACE_INST/trace"
	echo 1 >"$KTRACE_INST/tracing_on"
}

ktrace_stop() {
	[[ -w $KTRACE_INST/tracing_on ]] && echo 0 >"$KTRACE_INST/tracing_on"
	return 0
}

# ktrace_show: the window's first stalls (the first is the cause, the
# next may be its consequences), then its last 200 events at most.
ktrace_show() {
	[[ -r $KTRACE_INST/trace ]] || return 0
	echo "kernel trace of the window:"
	grep -m 5 'colo_stall:' "$KTRACE_INST/trace"
	grep -v '^#' "$KTRACE_INST/trace" | tail -n 200
}
