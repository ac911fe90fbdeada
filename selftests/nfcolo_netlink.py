#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Control plane edge cases, spoken in raw generic netlink.

Every malformed request must be rejected with the right errno and, where the
nfcolo family decides, an extack message; a burst of random requests must
leave the kernel answering. Run by nfcolo_netlink.sh inside the guest.
"""
import errno
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from nfcolo import (A, F_PERSISTENT, MODE_PRIMARY, MODE_SECONDARY,  # noqa
                    NetlinkError, GenlSocket, attr, expect_error, u8, u32,
                    parse_attrs, NLM_F_ACK, NLM_F_DUMP)

failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print("PASS: %s" % name)
    except AssertionError as e:
        failures += 1
        print("FAIL: %s: %s" % (name, e))


s = GenlSocket()


def init(index, mode=MODE_PRIMARY, extra=b""):
    return s.colo("PROXY_INIT", u32(A["INDEX"], index) +
                  u8(A["MODE"], mode) + u32(A["FLAGS"], F_PERSISTENT) + extra)


def destroy(index):
    return s.colo("PROXY_DESTROY", u32(A["INDEX"], index))


def missing_index():
    expect_error(lambda: s.colo("PROXY_INIT", u8(A["MODE"], 1)),
                 errno.EINVAL, "index")
    for cmd in ("PROXY_RESET", "PROXY_DESTROY", "DO_CHECKPOINT",
                "DO_FAILOVER", "PROXY_GET"):
        expect_error(lambda: s.colo(cmd), errno.EINVAL, "index")


def missing_mode():
    expect_error(lambda: s.colo("PROXY_INIT", u32(A["INDEX"], 3)),
                 errno.EINVAL, "mode")


def one_voice():
    """Every extack message of the COLO modules starts with "colo: "."""
    msgs = [
        expect_error(lambda: s.colo("PROXY_GET"), errno.EINVAL, "index"),
        expect_error(lambda: s.colo("PROXY_INIT", u32(A["INDEX"], 3)),
                     errno.EINVAL, "mode"),
        expect_error(lambda: s.colo("PROXY_GET", u32(A["INDEX"], 4321)),
                     errno.ENOENT),
        expect_error(lambda: s.colo("DO_FAILOVER", u32(A["INDEX"], 4321)),
                     errno.ENOENT),
        expect_error(lambda: init(3, mode=MODE_SECONDARY,
                                  extra=u32(A["FLOW_LIMIT"], 1024)),
                     errno.EINVAL, "primary"),
    ]
    init(3)
    try:
        msgs.append(expect_error(lambda: init(3), errno.EEXIST))
    finally:
        destroy(3)
    for msg in msgs:
        assert msg.startswith("colo: "), msg


def out_of_range():
    expect_error(lambda: init(0), errno.ERANGE)
    expect_error(lambda: init(0x10000), errno.ERANGE)
    expect_error(lambda: init(3, mode=3), errno.ERANGE)
    expect_error(lambda: init(3, mode=0), errno.ERANGE)
    expect_error(lambda: init(3, extra=u32(A["COMPARE_TIMEOUT_MS"], 1)),
                 errno.ERANGE)
    expect_error(lambda: init(3, extra=u32(A["QUEUE_LIMIT"], 1 << 30)),
                 errno.ERANGE)
    expect_error(lambda: init(3, extra=u32(A["FLOW_LIMIT"], 1 << 30)),
                 errno.ERANGE)
    expect_error(lambda: init(3, extra=u32(A["FLOW_LIMIT"], 15)),
                 errno.ERANGE)
    expect_error(lambda: init(3, mode=MODE_SECONDARY,
                              extra=u32(A["FLOW_LIMIT"], 1024)),
                 errno.EINVAL, "primary")
    expect_error(lambda: init(3, extra=u32(A["COMPARE_SHARDS"], 1025)),
                 errno.ERANGE)
    expect_error(lambda: init(3, mode=MODE_SECONDARY,
                              extra=u32(A["COMPARE_SHARDS"], 2)),
                 errno.EINVAL, "primary")


def bad_flags():
    expect_error(lambda: s.colo("PROXY_INIT", u32(A["INDEX"], 3) +
                                u8(A["MODE"], 1) + u32(A["FLAGS"], 0x80)),
                 errno.EINVAL)


def oversized_and_garbage():
    # A u32 attribute eight bytes long.
    expect_error(lambda: s.colo("PROXY_GET",
                                attr(A["INDEX"], struct.pack("=Q", 1))),
                 errno.EINVAL, "length")
    # An attribute claiming more bytes than the message has.
    expect_error(lambda: s.colo("PROXY_GET",
                                struct.pack("=HH", 200, A["INDEX"]) +
                                b"\1\0\0\0"), errno.EINVAL)
    # Unknown attribute type and an attribute only the kernel may send.
    expect_error(lambda: s.colo("PROXY_GET", u32(A["INDEX"], 1) +
                                u32(200, 1)), errno.EINVAL)
    expect_error(lambda: init(3, extra=u8(A["STATE"], 1)), errno.EINVAL)
    expect_error(lambda: init(3, extra=attr(A["STATS"], b"\xff" * 12)),
                 errno.EINVAL)


def truncated_header():
    # Shorter than the generic netlink header: genetlink itself says no.
    seq = s.send_raw(s.family_id, 0x1 | NLM_F_ACK, b"\x04")
    for mtype, _flags, mseq, body in s._recv_msgs():
        if mseq == seq:
            err = -struct.unpack_from("=i", body)[0]
            assert mtype == 2 and err == errno.EINVAL, (mtype, err)
            return
    raise AssertionError("no answer")


def raw_error(cmd, reserved=0, flags=0):
    """errno and extack text of a GET with a hand-made generic header."""
    seq = s.send_raw(s.family_id, 0x1 | NLM_F_ACK | flags,
                     struct.pack("=BBH", cmd, 1, reserved) +
                     u32(A["INDEX"], 1))
    for mtype, mflags, mseq, body in s._recv_msgs():
        if mseq == seq and mtype == 2:
            err = -struct.unpack_from("=i", body)[0]
            text = parse_attrs(body[4 + 16:]).get(1, b"") \
                if mflags & 0x200 else b""
            return err, text.rstrip(b"\0").decode()
    raise AssertionError("no answer")


def strict_header():
    # The family validates every command strictly (resv_start_op 0).
    err, text = raw_error(7, reserved=1)
    assert err == errno.EINVAL and "reserved" in text, (err, text)
    err, text = raw_error(7, flags=0x400)   # NLM_F_CREATE: not ours
    assert err == errno.EINVAL and "nlmsg_flags" in text, (err, text)
    err, _ = raw_error(7)
    assert err == errno.ENOENT, err


def secondary_takes_no_primary_options():
    expect_error(lambda: init(3, mode=MODE_SECONDARY,
                              extra=u32(A["COMPARE_TIMEOUT_MS"], 500)),
                 errno.EINVAL, "primary")


def neigh_checkpoint_setting():
    def neigh(index):
        (inst,) = s.colo("PROXY_GET", u32(A["INDEX"], index))
        return inst[A["NEIGH_CHECKPOINT"]]
    expect_error(lambda: init(3, extra=u8(A["NEIGH_CHECKPOINT"], 2)),
                 errno.ERANGE)
    expect_error(lambda: init(3, mode=MODE_SECONDARY,
                              extra=u8(A["NEIGH_CHECKPOINT"], 1)),
                 errno.EINVAL, "primary")
    init(3)
    init(4, extra=u8(A["NEIGH_CHECKPOINT"], 0))
    try:
        assert neigh(3) == b"\1", "default %r" % neigh(3)
        assert neigh(4) == b"\0", "off %r" % neigh(4)
    finally:
        destroy(3)
        destroy(4)


def exists_and_unknown():
    init(7)
    try:
        expect_error(lambda: init(7), errno.EEXIST, "already exists")
        expect_error(lambda: init(7, mode=MODE_SECONDARY), errno.EEXIST)
    finally:
        destroy(7)
    for cmd in ("PROXY_RESET", "PROXY_DESTROY", "DO_CHECKPOINT",
                "DO_FAILOVER", "PROXY_GET"):
        expect_error(lambda: s.colo(cmd, u32(A["INDEX"], 7)), errno.ENOENT,
                     "no proxy instance")


def failover_rules():
    init(8, mode=MODE_SECONDARY)
    try:
        s.colo("DO_FAILOVER", u32(A["INDEX"], 8))
        expect_error(lambda: s.colo("DO_FAILOVER", u32(A["INDEX"], 8)),
                     errno.EALREADY, "already")
        expect_error(lambda: s.colo("DO_CHECKPOINT", u32(A["INDEX"], 8)),
                     errno.EINVAL, "failed over")
        s.colo("PROXY_RESET", u32(A["INDEX"], 8))
        s.colo("DO_CHECKPOINT", u32(A["INDEX"], 8))
    finally:
        destroy(8)


def unprivileged():
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            u = GenlSocket()
            u.colo("PROXY_GET", flags=NLM_F_DUMP)   # reading is for all
            for call in (lambda: u.colo("PROXY_INIT", u32(A["INDEX"], 9) +
                                        u8(A["MODE"], 1)),
                         lambda: u.colo("PROXY_DESTROY", u32(A["INDEX"], 1)),
                         lambda: u.colo("DO_CHECKPOINT", u32(A["INDEX"], 1))):
                try:
                    call()
                    code = 1
                except NetlinkError as e:
                    if e.errno != errno.EPERM:
                        code = 2
        except Exception as e:  # noqa
            print(e)
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, "child exit %d" % os.WEXITSTATUS(status)


def random_requests():
    rnd = random.Random(int(os.environ.get("SEED", "1")))
    for _ in range(3000):
        cmd = rnd.choice(["PROXY_INIT", "PROXY_RESET", "PROXY_DESTROY",
                          "DO_CHECKPOINT", "DO_FAILOVER", "PROXY_GET"])
        if rnd.random() < 0.5:
            payload = bytes(rnd.getrandbits(8)
                            for _ in range(rnd.randrange(0, 64)))
        else:
            payload = b"".join(attr(rnd.randrange(0, 16),
                                    bytes(rnd.getrandbits(8) for _ in
                                          range(rnd.choice([0, 1, 2, 4, 8]))))
                               for _ in range(rnd.randrange(1, 5)))
        try:
            s.colo(cmd, payload)
        except NetlinkError:
            pass
    # Whatever got created, the kernel still answers and cleans up.
    for inst in s.colo("PROXY_GET", flags=NLM_F_DUMP):
        destroy(struct.unpack("=I", inst[A["INDEX"]])[0])
    assert s.colo("PROXY_GET", flags=NLM_F_DUMP) == []


check("missing index is rejected with a message, for every command",
      missing_index)
check("missing mode is rejected with a message", missing_mode)
check("every message of ours starts with \"colo: \"", one_voice)
check("out-of-range index, mode, timeout, queue limit: ERANGE",
      out_of_range)
check("unknown flag bits: EINVAL", bad_flags)
check("oversized, overlong, unknown and kernel-only attributes: EINVAL",
      oversized_and_garbage)
check("truncated generic netlink header: EINVAL", truncated_header)
check("secondary rejects primary-only options", secondary_takes_no_primary_options)
check("reserved header field, stray nlmsg_flags: EINVAL (strict family)",
      strict_header)
check("neighbour checkpoints: on by default, off at INIT, primary only",
      neigh_checkpoint_setting)
check("EEXIST on a second INIT, ENOENT on unknown index", exists_and_unknown)
check("failover twice: EALREADY; checkpoint after failover: EINVAL; reset",
      failover_rules)
check("non-admin may read but not change: EPERM", unprivileged)
check("3000 random requests: no crash, kernel still answers",
      random_requests)
sys.exit(1 if failures else 0)
