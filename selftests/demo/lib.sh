# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What the demos (colo_demo.sh, colo_demo_realvm.sh) share: their output
# (sections, indented lines, a summary of OK/FAILED lines), the kernel
# warning check at the end, and waiting for a line in a log. Source it
# after lib/guest.sh.
# shellcheck source=selftests/lib/kwarn.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kwarn.sh"

now_us() { echo "${EPOCHREALTIME/./}"; }
DEMO_T0=$(now_us)
# elapsed: seconds since the demo began, one decimal.
elapsed() {
	local d=$((($(now_us) - DEMO_T0) / 100000))
	echo "$((d / 10)).$((d % 10))"
}
section() { printf '\n== %s ==\n' "$*"; }
say() { printf '   %s\n' "$*"; }
# show FILE FROM: FILE's lines past byte offset FROM, indented.
show() { tail -c +$(($2 + 1)) "$1" 2>/dev/null | sed 's/^/   | /'; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# tenths N: N/10 with one decimal.
tenths() { echo "$(($1 / 10)).$(($1 % 10))"; }

# result OK|FAILED WHAT: one line of the summary.
DEMO_RESULTS=()
DEMO_OK=1
result() {
	DEMO_RESULTS+=("$(printf '  %-7s %s' "$1" "$2")")
	[[ $1 == OK ]] || DEMO_OK=0
}
# verdict WHAT CONDITION: OK if CONDITION (a string, evaluated) holds.
verdict() {
	if eval "$2"; then result OK "$1"; else result FAILED "$1"; fi
}

# stats NS: read instance 1 of NS into ST[name] (counters, state, mode).
declare -A ST
stats() {
	local json k
	ST=()
	json=$(ip netns exec "$1" "$COLOCTL" status 1 --json 2>/dev/null) || return 1
	for k in pkts_compared pkts_matched pkts_released checkpoints_requested \
		checkpoints_done req_miscompare pvm_queue pkts_adjusted; do
		[[ $json =~ \"$k\":([0-9]+) ]] && ST[$k]=${BASH_REMATCH[1]}
	done
	for k in state mode; do
		[[ $json =~ \"$k\":\"([a-z-]+)\" ]] && ST[$k]=${BASH_REMATCH[1]}
	done
	return 0
}

# client_link RATE BURST: the client's link limited to RATE (tc tbf on the
# switch's port toward it), said in one line.
client_link() {
	ip netns exec "$TOPO_SWITCH" tc qdisc replace dev sw-client root tbf \
		rate "$1" burst "$2" latency 400ms
	say "the client's link is limited to $1; the PVM's replies are held until the SVM's match"
}

# counters primary|secondary: what a progress line shows of that host's
# instance, after a " | ".
counters() {
	if [[ $1 == primary ]] && stats "$TOPO_PRIMARY"; then
		printf ' | compared %s matched %s released %s requests %s held %s' \
			"${ST[pkts_compared]:-?}" "${ST[pkts_matched]:-?}" \
			"${ST[pkts_released]:-?}" "${ST[checkpoints_requested]:-?}" \
			"${ST[pvm_queue]:-?}"
	elif [[ $1 == secondary ]] && stats "$TOPO_SECONDARY"; then
		printf ' | secondary %s, seq adjusted %s' \
			"${ST[state]:-?}" "${ST[pkts_adjusted]:-?}"
	fi
}

# watch_until HOST SECS CONDITION: a progress line (the demo's own
# function, given HOST) every second until CONDITION (a string, evaluated)
# holds or SECS pass.
watch_until() {
	local end=$((EPOCHSECONDS + $2))
	while ! eval "$3"; do
		((EPOCHSECONDS >= end)) && return 1
		progress "$1"
		sleep 0.5
	done
}

# wait_log FILE PATTERN SECS: until FILE has a line matching PATTERN.
wait_log() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# demo_start NAME: a marker in the kernel log, from which demo_summary
# looks for warnings.
DEMO_KMSG=
demo_start() {
	[[ -w /dev/kmsg ]] || return 0
	DEMO_KMSG="$1: start ($$)"
	echo "$DEMO_KMSG" >/dev/kmsg
}

# demo_summary NAME: no kernel warning since demo_start, then every
# result; exits 0 only if all of them were OK.
demo_summary() {
	local kwarn
	if [[ -n $DEMO_KMSG ]]; then
		kwarn=$(dmesg | awk -v m="$DEMO_KMSG" '
			index($0, m) { buf = ""; next }
			{ buf = buf $0 "\n" }
			END { printf "%s", buf }' | kwarn_scan) || kwarn=
		verdict "no kernel warning" '[[ -z $kwarn ]]'
		[[ -n $kwarn ]] && printf '%s\n' "$kwarn" | head -n 20 | sed 's/^/   | /'
	else
		result FAILED "no kernel warning (cannot read the kernel log)"
	fi
	printf '%s\n' "${DEMO_RESULTS[@]}"
	if ((DEMO_OK)); then
		echo "$1: everything shown happened ($(elapsed)s)"
		exit 0
	fi
	echo "$1: FAILED: see the lines marked FAILED above ($(elapsed)s)"
	exit 1
}
