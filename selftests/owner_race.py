#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Owner release racing instance churn.

Every close of a generic netlink socket in a namespace with instances walks
them (NETLINK_URELEASE); INIT, DESTROY and the owners' own releases free
instances meanwhile. Processes do each of these in loops for a bounded time:
  owners     open a socket, INIT an owned instance (primary or secondary),
             GET it, close (a primary goes, a secondary fails over)
  churn      INIT and DESTROY persistent instances, DESTROY owned ones
  watchers   open a socket, dump every instance, close
Under slub_debug a walk that touches a freed instance is reported, and the
guest fails the run. Afterwards no instance may be left but the failed-over
secondaries, and those must be destroyable.
"""
import errno
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from nfcolo import (A, F_PERSISTENT, MODE_PRIMARY, MODE_SECONDARY,  # noqa
                    NetlinkError, GenlSocket, u8, u32, NLM_F_DUMP)

SECS = float(os.environ.get("OWNER_RACE_SECS", "60"))
OWNED = range(100, 140)
PERSISTENT = range(200, 240)
OK_ERRORS = (errno.EEXIST, errno.ENOENT, errno.EALREADY)


def quiet(call):
    try:
        call()
    except NetlinkError as e:
        if e.errno not in OK_ERRORS:
            raise


def init(s, index, mode, flags=0):
    s.colo("PROXY_INIT", u32(A["INDEX"], index) + u8(A["MODE"], mode) +
           u32(A["FLAGS"], flags))


def owner(end):
    n = 0
    while time.monotonic() < end:
        s = GenlSocket()
        index = random.choice(OWNED)
        quiet(lambda: init(s, index, random.choice((MODE_PRIMARY,
                                                    MODE_SECONDARY))))
        quiet(lambda: s.colo("PROXY_GET", u32(A["INDEX"], index)))
        s.close()
        n += 1
    return n


def churn(end):
    s = GenlSocket()
    n = 0
    while time.monotonic() < end:
        index = random.choice(PERSISTENT)
        quiet(lambda: init(s, index, MODE_SECONDARY, F_PERSISTENT))
        quiet(lambda: s.colo("PROXY_DESTROY",
                             u32(A["INDEX"], random.choice(OWNED))))
        quiet(lambda: s.colo("PROXY_DESTROY", u32(A["INDEX"], index)))
        n += 1
    return n


def watcher(end):
    n = 0
    while time.monotonic() < end:
        s = GenlSocket()
        s.colo("PROXY_GET", flags=NLM_F_DUMP)
        s.close()
        n += 1
    return n


def main():
    end = time.monotonic() + SECS
    roles = [owner, owner, churn, watcher, watcher]
    pids = {}
    for role in roles:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                n = role(end)
                os.write(w, b"%d" % n)
                os._exit(0)
            except Exception as e:  # noqa: B902 (report, then fail)
                os.write(w, b"error %s" % str(e).encode())
                os._exit(1)
        os.close(w)
        pids[pid] = (role.__name__, r)
    failures = 0
    for pid, (name, r) in pids.items():
        _, status = os.waitpid(pid, 0)
        out = os.read(r, 4096).decode()
        if status:
            failures += 1
            print("FAIL: %s: %s" % (name, out))
        else:
            print("%s: %s rounds" % (name, out))
    # Every owner socket is closed: only failed-over secondaries remain.
    s = GenlSocket()
    left = s.colo("PROXY_GET", flags=NLM_F_DUMP)
    stray = []
    for inst in left:
        index = int.from_bytes(inst[A["INDEX"]], sys.byteorder)
        state = inst[A["STATE"]][0]
        if index not in OWNED or inst[A["MODE"]][0] != MODE_SECONDARY or \
           state != 2 or A["OWNER_PORTID"] in inst:
            stray.append((index, inst[A["MODE"]][0], state))
        s.colo("PROXY_DESTROY", u32(A["INDEX"], index))
    if stray:
        failures += 1
        print("FAIL: left behind (index, mode, state): %s" % stray)
    else:
        print("PASS: %d instances left, every one a failed-over secondary "
              "without owner" % len(left))
    if s.colo("PROXY_GET", flags=NLM_F_DUMP):
        failures += 1
        print("FAIL: instances survive DESTROY")
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
