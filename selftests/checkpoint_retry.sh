#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A checkpoint request its owner cannot receive (receive buffer full) is
# counted, not left pending, and made again once the owner reads
# (checkpoint_retry.py; requests from selftests/kmod/colo_test_trigger.ko).
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip
TRIGGER=$PROJECT_DIR/selftests/kmod/colo_test_trigger.ko
[[ -f $TRIGGER ]] || { fail "selftests/kmod/colo_test_trigger.ko is built (make)"; ksft_exit; }
load_colo_modules || { fail "load modules"; ksft_exit; }
insmod "$TRIGGER" || { fail "load colo_test_trigger"; ksft_exit; }
cleanup() { rmmod colo_test_trigger 2>/dev/null; }
mkns ns
check "an undelivered checkpoint request is retried, not lost" \
	'ip netns exec "$ns" python3 "$PROJECT_DIR/selftests/checkpoint_retry.py" "$COLOCTL"'
ksft_exit
