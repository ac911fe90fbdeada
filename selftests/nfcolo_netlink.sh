#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Malformed, unprivileged and random control-plane requests, in raw generic
# netlink (nfcolo_netlink.py), in a namespace of their own.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip
load_colo_modules
mkns ns
ip netns exec "$ns" python3 "$PROJECT_DIR/selftests/nfcolo_netlink.py"
