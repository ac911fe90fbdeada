#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests/vm/run.sh when the guest kernel goes wrong, so that a lockup in
# a CI run costs seconds, not the whole guest timeout, and says where:
# - the guest panics on a soft lockup, an RCU stall or a hung task (its
#   sysctls say so);
# - a guest that dies mid-test exits 125 at once, naming the selftest that
#   was running and printing the start of the splat.
# Boots two short guests. Ends with "vmrun: N passed, N failed".
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

want=1
got=$(selftests/vm/run.sh -t 300 -- sh -c \
	'cat /proc/sys/kernel/softlockup_panic /proc/sys/kernel/hung_task_panic /proc/sys/kernel/panic_on_rcu_stall' 2>&1)
rc=$?
if ((rc == 0)) && [[ $(tr -d '\n' <<<"$got") == "$want$want$want" ]]; then
	ok "a soft lockup, a hung task and an RCU stall panic the guest"
else
	bad "the guest's panic sysctls (softlockup, hung task, RCU stall), exit $rc: $got"
fi

# A selftest start marked as selftests/run.sh marks it, then a crash.
start=$SECONDS
out=$(selftests/vm/run.sh -t 300 -- sh -c \
	'echo "colo-selftest: 7 wedged start (1)" >/dev/kmsg; echo c >/proc/sysrq-trigger; sleep 600' 2>&1)
rc=$?
took=$((SECONDS - start))
if ((rc == 125)); then
	ok "a guest that dies mid-command fails the run (exit 125, in $took s)"
else
	bad "a guest that dies mid-command: exit $rc after $took s, not 125"
fi
if grep -q '^vm: last test started: .*colo-selftest: 7 wedged start' <<<"$out"; then
	ok "... and names the selftest that was running"
else
	bad "... no 'last test started' line naming the selftest:"
	printf '%s\n' "$out" | tail -n 30
fi
if grep -q '^vm: | .*sysrq' <<<"$out"; then
	ok "... and prints the start of the splat"
else
	bad "... the splat's start is missing"
fi

echo "vmrun: $pass passed, $fail failed"
((fail == 0))
