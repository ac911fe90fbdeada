#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Random and mutated control-plane messages for a bounded time.

    nfcolo_fuzz.py SECS [SEED]

Sends, on the nfcolo generic netlink family and on raw netlink protocol 28
(Xen libxl's), messages no proper client would: random commands, versions,
reserved bits and flags; attributes of every type (unknown, kernel-only,
nested bit set) with wrong lengths; nested garbage; thousands of attributes
in one message; valid requests with bits flipped, cut short or extended;
nlmsg_len that lies. Sockets are closed and reopened now and then (owner
release). Replies are read and thrown away. What the kernel must do about
it (no oops, no WARN, no leak) is checked by nfcolo_fuzz.sh around it;
this only fails if the family stops answering a proper request.
"""
import errno
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from nfcolo import (A, MODE_PRIMARY, NetlinkError, GenlSocket,  # noqa
                    attr, u8, u32, NLM_F_DUMP)

NETLINK_COLO = 28
NLA_F_NESTED = 0x8000
FLAGS = [0x1, 0x5, 0x1 | 0x300, 0x5 | 0x300, 0x0, 0x4, 0x1 | 0x400,
         0x1 | 0x8, 0x1 | 0x20, 0xffff]

secs = float(sys.argv[1]) if len(sys.argv) > 1 else 30
rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else os.getpid())


def blob(n):
    return bytes(rnd.getrandbits(8) for _ in range(n))


def rand_attr(depth=0):
    atype = rnd.choice([rnd.randrange(0, 16), rnd.randrange(0, 0x10000),
                        A["INDEX"], A["MODE"], A["FLAGS"], A["STATS"],
                        A["EVENT"]])
    if depth < 3 and rnd.random() < 0.2:
        inner = b"".join(rand_attr(depth + 1)
                         for _ in range(rnd.randrange(0, 6)))
        return attr((atype | NLA_F_NESTED) & 0xffff, inner)
    size = rnd.choice([0, 1, 2, 3, 4, 5, 8, 16, rnd.randrange(0, 300)])
    if atype == A["INDEX"] and rnd.random() < 0.5:
        return u32(atype, rnd.choice([0, 1, 2, 65535, 65536, 0xffffffff,
                                      rnd.randrange(1, 64)]))
    return attr(atype & 0xffff, blob(size))


def rand_attrs():
    r = rnd.random()
    if r < 0.05:
        # A huge count: as many attributes as fit in one message.
        return b"".join(u32(rnd.randrange(0, 16), 1) for _ in range(4000))
    if r < 0.15:
        return blob(rnd.randrange(0, 200))
    return b"".join(rand_attr() for _ in range(rnd.randrange(0, 8)))


def valid_request():
    cmd = rnd.randrange(2, 8)
    index = rnd.randrange(1, 40)
    a = u32(A["INDEX"], index)
    if cmd == 4:
        a += u8(A["MODE"], rnd.choice([1, 2])) + \
            u32(A["FLAGS"], rnd.choice([0, 1]))
    return struct.pack("=BBH", cmd, 1, 0) + a


def mutate(msg):
    msg = bytearray(msg)
    for _ in range(rnd.randrange(1, 6)):
        op = rnd.random()
        if op < 0.5 and msg:
            i = rnd.randrange(len(msg))
            msg[i] ^= 1 << rnd.randrange(8)
        elif op < 0.7 and msg:
            del msg[rnd.randrange(len(msg)):]
        else:
            msg += blob(rnd.randrange(1, 16))
    return bytes(msg)


def genl_payload():
    r = rnd.random()
    if r < 0.4:
        return mutate(valid_request())
    cmd = rnd.choice([rnd.randrange(0, 10), rnd.randrange(0, 256)])
    version = rnd.choice([1, 1, 1, 0, 2, 255])
    reserved = 0 if rnd.random() < 0.8 else rnd.randrange(0, 0x10000)
    return struct.pack("=BBH", cmd, version, reserved) + rand_attrs()


def frame(mtype, flags, payload, pid=0):
    length = 16 + len(payload)
    r = rnd.random()
    if r < 0.05:
        length = rnd.randrange(0, 16)           # shorter than a header
    elif r < 0.1:
        length += rnd.randrange(1, 4096)        # longer than the buffer
    elif r < 0.15:
        length -= rnd.randrange(0, len(payload) + 1)
    return struct.pack("=IHHII", length & 0xffffffff, mtype, flags,
                       rnd.getrandbits(32), pid) + payload


def drain(sock):
    while True:
        try:
            sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno not in (errno.ENOBUFS,):
                return


def open_genl():
    g = GenlSocket()
    return g, g.family_id


def open_colo():
    c = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_COLO)
    port = rnd.choice([0, rnd.randrange(1, 12), rnd.randrange(0, 1 << 32)])
    try:
        c.bind((port, 0))
    except OSError:
        c.bind((0, 0))
    return c


def main():
    g, fam = open_genl()
    c = open_colo()
    sent = {"genl": 0, "colo": 0, "reopen": 0}
    end = time.monotonic() + secs
    while time.monotonic() < end:
        r = rnd.random()
        try:
            if r < 0.6:
                # Now and then a netlink control type or the genl
                # controller; never another family's id.
                mtype = fam if rnd.random() < 0.95 else \
                    rnd.choice([1, 2, 3, 4, 15, 0x10])
                g.sock.send(frame(mtype, rnd.choice(FLAGS), genl_payload()))
                sent["genl"] += 1
            elif r < 0.95:
                mtype = rnd.choice([rnd.randrange(16, 23),
                                    rnd.randrange(0, 0x10000)])
                size = rnd.choice([0, 0, 1, 4, rnd.randrange(0, 100)])
                c.send(frame(mtype, rnd.choice(FLAGS), blob(size),
                             pid=rnd.randrange(0, 12)))
                sent["colo"] += 1
            elif r < 0.975:
                g.close()
                g, fam = open_genl()
                sent["reopen"] += 1
            else:
                c.close()
                c = open_colo()
                sent["reopen"] += 1
        except OSError:
            pass
        drain(g.sock)
        drain(c)
    print("sent %(genl)d genl, %(colo)d protocol-28 messages, "
          "reopened %(reopen)d sockets" % sent)
    # The family still answers a proper request.
    try:
        g.colo("PROXY_GET", flags=NLM_F_DUMP)
    except NetlinkError as e:
        print("FAIL: a dump after the fuzzing: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
