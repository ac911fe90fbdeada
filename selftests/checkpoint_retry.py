#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A checkpoint request that cannot be delivered is not pending.

The owner socket of instance 1 stops reading and lets its receive buffer
fill (replies to its own GETs). The data path then asks for a checkpoint
(colo_test_trigger): it cannot be delivered, so it must not be left pending
(nothing would ever be asked again), it is counted (req_undelivered), and
the data path is told (EALREADY from the trigger). Once the owner reads
again, the next attempt reaches it. Run by checkpoint_retry.sh in a netns.
"""
import errno
import json
import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from nfcolo import (A, CMD, MODE_SECONDARY, GenlSocket, u8, u32)  # noqa

TRIGGER = "/sys/module/colo_test_trigger/parameters/request"
COLOCTL = sys.argv[1]
failures = 0


def check(name, ok, detail=""):
    global failures
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name,
                        " (%s)" % detail if detail else ""))
    failures += not ok


def request():
    """0 if the data path's request went out, else the errno."""
    # One write(2): a buffered file would write again when closed.
    fd = os.open(TRIGGER, os.O_WRONLY)
    try:
        os.write(fd, b"1")
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def status():
    out = subprocess.run([COLOCTL, "status", "1", "--json"], check=True,
                         capture_output=True, text=True).stdout
    [inst] = json.loads(out)  # coloctl --json prints an array
    return inst


owner = GenlSocket()
owner.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
owner.colo("PROXY_INIT", u32(A["INDEX"], 1) + u8(A["MODE"], MODE_SECONDARY))

# Fill the owner's receive buffer: GETs whose replies nobody reads.
get = struct.pack("=BBH", CMD["PROXY_GET"], 1, 0) + u32(A["INDEX"], 1)
for _ in range(200):
    owner.send_raw(owner.family_id, 0x1, get)

err = request()
check("full receive buffer: the data path hears the request was not made",
      err == errno.EALREADY, errno.errorcode.get(err, err))
st = status()
check("... it is not left pending", not st["checkpoint_pending"])
check("... it is counted as undelivered",
      st["stats"].get("req_undelivered") == 1, st["stats"])
check("... and not as requested",
      st["stats"].get("checkpoints_requested") == 0, st["stats"])

# The owner reads again: drain, then the next attempt gets through.
owner.sock.setblocking(False)
while True:
    try:
        owner.sock.recv(65536)
    except BlockingIOError:
        break
    except OSError as e:
        if e.errno != errno.ENOBUFS:
            raise
owner.sock.setblocking(True)
owner.sock.settimeout(5)
err = request()
check("owner reads again: the next request is made", err == 0,
      errno.errorcode.get(err, err))
got = False
try:
    for mtype, _flags, _seq, body in owner._recv_msgs():
        if mtype == owner.family_id and body[0] == CMD["KERNEL_NOTIFY"]:
            got = True
except socket.timeout:
    pass
check("... and reaches the owner socket", got)
check("... pending until DO_CHECKPOINT", status()["checkpoint_pending"])
owner.colo("DO_CHECKPOINT", u32(A["INDEX"], 1))
owner.close()
sys.exit(1 if failures else 0)
