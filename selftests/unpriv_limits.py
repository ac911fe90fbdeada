#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An unprivileged user, root in a user namespace of its own (run by
unpriv_limits.sh inside `unshare -Urn`):

    unpriv_limits.py TRIES     makes as many proxy instances as it can;
                               prints "created N" and the answer at the
                               limit, "limit ERRNO TEXT"; exits 1 if the
                               kernel never said no
    unpriv_limits.py churn N   N owned secondaries (index 1..N) whose
                               socket closes: the kernel logs each failover
"""
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from nfcolo import (A, F_PERSISTENT, MODE_PRIMARY, MODE_SECONDARY,  # noqa
                    NetlinkError, GenlSocket, u8, u32)

if sys.argv[1:2] == ["churn"]:
    for index in range(1, int(sys.argv[2]) + 1):
        owner = GenlSocket()
        owner.colo("PROXY_INIT", u32(A["INDEX"], index) +
                   u8(A["MODE"], MODE_SECONDARY))
        owner.close()
    sys.exit(0)

TRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

s = GenlSocket()
created = 0
for index in range(1, TRIES + 1):
    # Every 16th a primary, whose data path costs the most.
    mode = MODE_PRIMARY if index % 16 == 0 else MODE_SECONDARY
    try:
        s.colo("PROXY_INIT", u32(A["INDEX"], index) + u8(A["MODE"], mode) +
               u32(A["FLAGS"], F_PERSISTENT))
    except NetlinkError as e:
        print("created %d" % created)
        print("limit %s %s" % (errno.errorcode.get(e.errno, e.errno), e.msg))
        sys.exit(0)
    created += 1
print("created %d" % created)
print("no limit")
sys.exit(1)
