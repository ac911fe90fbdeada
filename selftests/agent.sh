#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# colo-qemu-agent against the real kernel instance, with a fake QEMU
# (lib/fake_qmp.py) in place of the VM's QMP monitor:
#
#   colo_test_trigger.ko --request--> nfcolo instance --KERNEL_NOTIFY-->
#   colo-qemu-agent --migrate-set-parameters--> fake QEMU --STOP, RESUME-->
#   colo-qemu-agent --DO_CHECKPOINT--> nfcolo instance (checkpoints_done)
#
# The secondary's first agent runs --realtime: SCHED_FIFO, memory locked.
# Then COLO_EXIT fails the instance over, and the fake QEMU going away (or
# the instance, or nfnetlink_colo, going away) ends the agent with its
# documented exit code.
# The fake QEMU cannot copy a VM: what a checkpoint does to the VMs is the
# real-VM tests' business.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip chrt
AGENT=$PROJECT_DIR/tools/colo-qemu-agent
FAKE_QMP=$PROJECT_DIR/selftests/lib/fake_qmp.py
TRIGGER=$PROJECT_DIR/selftests/kmod/colo_test_trigger.ko
[[ -x $AGENT && -f $TRIGGER ]] ||
	{ fail "tools/colo-qemu-agent and kmod/colo_test_trigger.ko are built (make)"; ksft_exit; }
load_colo_modules || { fail "load modules"; ksft_exit; }
insmod "$TRIGGER" || { fail "load colo_test_trigger"; ksft_exit; }
mkns ns
tmp=$(mktemp -d)
fake_pid='' agent_pid='' ctlfd=''

cleanup() {
	[[ -n $agent_pid ]] && kill "$agent_pid" 2>/dev/null
	[[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null
	wait 2>/dev/null
	rmmod colo_test_trigger 2>/dev/null
	rm -rf "$tmp"
}

c() { ip netns exec "$ns" "$COLOCTL" "$@"; }
# Polled: coloctl's text status and grep, as a python start per poll is
# slow under TCG.
done_is() { c status "$1" 2>/dev/null | grep -qx "    checkpoints_done: $2"; }
# stat_is INDEX NAME N: counter NAME of instance INDEX is N.
stat_is() { c status "$1" 2>/dev/null | grep -qx "    $2: $3"; }
state_is() { c status "$1" 2>/dev/null | grep -qx "  state: $2"; }
gone() { ! c status "$1" >/dev/null 2>&1; }
request() { ip netns exec "$ns" sh -c "echo $1 >/sys/module/colo_test_trigger/parameters/request"; }
logged() { grep -q -- "$2" "$1"; }
# count_is PATTERN FILE N: FILE has N lines with PATTERN.
count_is() { [[ $(grep -c -- "$1" "$2") == "$3" ]]; }
agent_exited() { ! kill -0 "$agent_pid" 2>/dev/null; }
ready_or_exited() { logged "$log" "ready" || agent_exited; }

# fake CMD: tell the fake QEMU (a FIFO held open here: never blocks).
fake() { echo "$1" >&"$ctlfd"; }

# start_pair NAME MODE socket|pty [AGENT-ARG...]: a fake QEMU in MODE (or
# $FAKE_MODE) and an agent for instance 5 on it; returns once the agent is
# ready.
start_pair() {
	local name=$1 mode=$2 kind=$3 qmp fmode=${FAKE_MODE:-$2}
	shift 3
	log=$tmp/$name.agent.log qlog=$tmp/$name.qmp.log ctl=$tmp/$name.ctl
	mkfifo "$ctl"
	[[ -n $ctlfd ]] && exec {ctlfd}>&-
	exec {ctlfd}<>"$ctl"
	if [[ $kind == pty ]]; then
		python3 "$FAKE_QMP" --mode "$fmode" --pty "$tmp/$name.pty" \
			--control "$ctl" --log "$qlog" &
		fake_pid=$!
		wait_until test -s "$tmp/$name.pty" || return 1
		qmp=$(cat "$tmp/$name.pty")
	else
		qmp=$tmp/$name.qmp
		python3 "$FAKE_QMP" --mode "$fmode" --socket "$qmp" \
			--control "$ctl" --log "$qlog" &
		fake_pid=$!
		wait_until test -S "$qmp" || return 1
	fi
	ip netns exec "$ns" "$AGENT" --index 5 --mode "$mode" --qmp "$qmp" \
		"$@" >"$log" 2>&1 &
	agent_pid=$!
	wait_until ready_or_exited
	logged "$log" "ready" && return 0
	echo "agent did not start: $(cat "$log")" >&2
	return 1
}

# wait_agent: the agent ends (within 5 s); its exit status in $agent_rc.
agent_rc=''
wait_agent() {
	wait_until agent_exited || return 1
	agent_rc=0
	wait "$agent_pid" || agent_rc=$?
	agent_pid=''
}

# stop_fake: the fake QEMU goes away, if it has not already.
stop_fake() {
	fake close
	wait "$fake_pid" 2>/dev/null
	fake_pid=''
}

# ---- primary over a unix socket ----
check "primary: agent ready on a unix socket" \
	'start_pair p1 primary socket --checkpoint-interval 700'
check "primary: the start checkpoint is done (STOP/RESUME -> DO_CHECKPOINT)" \
	'wait_until done_is 5 1'
check "primary: x-checkpoint-delay set to --checkpoint-interval" \
	'logged "$qlog" "migrate-set-parameters {\"x-checkpoint-delay\": 700}"'
# This kernel has NFCOLO_CHECKPOINT_BEGIN: STOP begins, RESUME begins
# again (what the stopped PVM sent before STOP and came since) and commits.
check "primary: two-phase: the checkpoint was begun (twice) and committed" \
	'stat_is 5 checkpoints_begun 2 && stat_is 5 checkpoints_committed 1'
check "primary: two-phase: no one-phase fallback" \
	'! grep -q one-phase "$log"'
request 5
check "primary: a kernel request draws migrate-set-parameters" \
	'wait_until count_is migrate-set-parameters "$qlog" 2'
check "primary: ... whose STOP/RESUME complete the checkpoint" \
	'wait_until done_is 5 2'
check "primary: the checkpoint is logged with its reason and pause" \
	'wait_until logged "$log" "checkpoint 2: reason miscompare, pause [0-9]* ms"'
fake checkpoint
check "primary: QEMU's own checkpoint is done and logged as periodic" \
	'wait_until done_is 5 3 && wait_until logged "$log" "checkpoint 3: reason periodic"'
check "primary: every checkpoint was two-phase" \
	'stat_is 5 checkpoints_begun 6 && stat_is 5 checkpoints_committed 3'
fake "colo-exit request"
check "primary: COLO_EXIT fails the instance over" \
	'wait_until state_is 5 failed-over'
stop_fake
check "primary: QEMU closing after COLO_EXIT: the agent exits 0" \
	'wait_agent && [[ $agent_rc == 0 ]]'
check "primary: the agent gone, its instance is gone" 'wait_until gone 5'

check "primary again: agent ready" 'start_pair p2 primary socket'
stop_fake
check "primary: QEMU gone while in COLO: the agent exits 4" \
	'wait_agent && [[ $agent_rc == 4 ]] && logged "$log" "QEMU closed QMP"'
check "primary: ... and the instance goes away" 'wait_until gone 5'

# ---- secondary over a character device (a pty) ----
check "secondary: agent ready on a character device, --realtime 10" \
	'start_pair s1 secondary pty --realtime 10'
check "secondary: --realtime: SCHED_FIFO at priority 10, its memory locked" \
	'chrt -p "$agent_pid" | grep -q "policy: SCHED_FIFO" &&
	 chrt -p "$agent_pid" | grep -q "priority: 10" &&
	 grep -Eq "^VmLck:[[:space:]]+[1-9]" "/proc/$agent_pid/status"'
fake checkpoint
check "secondary: RESUME is DO_CHECKPOINT" 'wait_until done_is 5 1'
request 5 2>/dev/null
check "secondary: no checkpoint requests go to QEMU" \
	'! grep -q migrate-set-parameters "$qlog"'
kill -USR1 "$agent_pid"
check "secondary: SIGUSR1 sends x-colo-lost-heartbeat, COLO_EXIT fails over" \
	'wait_until state_is 5 failed-over && logged "$qlog" x-colo-lost-heartbeat'
stop_fake
check "secondary: QEMU closing after COLO_EXIT: exit 0, the instance stays" \
	'wait_agent && [[ $agent_rc == 0 ]] && state_is 5 failed-over'
c destroy 5

check "secondary again: agent ready" 'start_pair s2 secondary pty'
stop_fake
check "secondary: QEMU gone while in COLO: exit 4, the instance fails over and stays" \
	'wait_agent && [[ $agent_rc == 4 ]] && wait_until state_is 5 failed-over'
c destroy 5

# ---- the instance goes away under the agent ----
check "kernel gone: agent ready" 'start_pair k1 secondary socket'
c destroy 5
check "kernel gone: instance destroyed, the agent exits 5" \
	'wait_agent && [[ $agent_rc == 5 ]] && logged "$log" "is gone"'
stop_fake

# nfnetlink_colo unloaded: its generic netlink family goes, and with it
# every instance.
check "module gone: agent ready" 'start_pair m1 primary socket'
check "module gone: (the start checkpoint done)" 'wait_until done_is 5 1'
rmmod nfnetlink_colo
check "nfnetlink_colo unloaded under the agent: it exits 5" \
	'wait_agent && [[ $agent_rc == 5 ]] && logged "$log" "is gone"'
stop_fake
load_colo_modules || fail "reload the modules"

FAKE_MODE=none start_pair n1 primary socket
check "VM not in COLO: exit 3, no instance" \
	'wait_agent && [[ $agent_rc == 3 ]] && logged "$log" "not in COLO" && gone 5'
stop_fake

ksft_exit
