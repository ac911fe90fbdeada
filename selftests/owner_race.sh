#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Owner sockets closing while instances are created and destroyed around
# them (owner_race.py), for OWNER_RACE_SECS (default 60) seconds, under the
# guest's slub_debug: nothing freed is touched, nothing is left behind, and
# every module unloads afterwards.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip
load_colo_modules || { fail "load modules"; ksft_exit; }
mkns ns
if ip netns exec "$ns" python3 "$PROJECT_DIR/selftests/owner_race.py"; then
	pass "owner release against INIT/DESTROY/GET churn"
else
	fail "owner release against INIT/DESTROY/GET churn"
fi
ip netns del "$ns"
check "every module unloads (a leaked instance warns)" \
	"unload_colo_modules && ! lsmod | grep -q colo"
ksft_exit
