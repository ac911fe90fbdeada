# SPDX-License-Identifier: GPL-2.0
"""A raw generic netlink client for the nfcolo family, for the selftests.

It builds messages byte by byte so that tests can also send what no proper
client would: missing, oversized, unknown and garbage attributes.
"""
import errno
import os
import socket
import struct

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2

# From include/uapi/linux/netfilter/nfnetlink_colo.h
FAMILY = "nfcolo"
CMD = dict(KERNEL_NOTIFY=1, DO_CHECKPOINT=2, DO_FAILOVER=3, PROXY_INIT=4,
           PROXY_RESET=5, PROXY_DESTROY=6, PROXY_GET=7)
A = dict(PAD=1, INDEX=2, MODE=3, FLAGS=4, STATE=5, OWNER_PORTID=6,
         COMPARE_TIMEOUT_MS=7, QUEUE_LIMIT=8, CHECKPOINT_PENDING=9,
         STATS=10, EVENT=11, FLOW_LIMIT=12, NEIGH_CHECKPOINT=13,
         COMPARE_SHARDS=14)
MODE_PRIMARY, MODE_SECONDARY = 1, 2
F_PERSISTENT = 1


def attr(atype, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, atype) + payload + \
        b"\0" * ((4 - length % 4) % 4)


def u8(atype, value):
    return attr(atype, struct.pack("=B", value))


def u32(atype, value):
    return attr(atype, struct.pack("=I", value))


def parse_attrs(data):
    """{type: payload} of a flat attribute stream (nested flag dropped)."""
    out = {}
    while len(data) >= 4:
        length, atype = struct.unpack_from("=HH", data)
        if length < 4:
            break
        out[atype & 0x3fff] = data[4:length]
        data = data[(length + 3) & ~3:]
    return out


class NetlinkError(Exception):
    def __init__(self, err, msg):
        super().__init__("%s: %s" % (os.strerror(err), msg))
        self.errno = err
        self.msg = msg


class GenlSocket:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.portid = self.sock.getsockname()[0]
        self.seq = 0
        self.family_id, self.groups = self._resolve(FAMILY)

    def close(self):
        self.sock.close()

    def send_raw(self, msg_type, flags, payload):
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + len(payload), msg_type, flags,
                          self.seq, 0)
        self.sock.send(hdr + payload)
        return self.seq

    def _recv_msgs(self):
        data = self.sock.recv(65536)
        while len(data) >= 16:
            length, mtype, flags, seq, pid = struct.unpack_from("=IHHII",
                                                                data)
            yield mtype, flags, seq, data[16:length]
            data = data[(length + 3) & ~3:]

    def request(self, msg_type, cmd, attrs=b"", flags=NLM_F_ACK,
                version=1):
        """Send one request; the replies (list of attr dicts) or raise."""
        seq = self.send_raw(msg_type, NLM_F_REQUEST | flags,
                            struct.pack("=BBH", cmd, version, 0) + attrs)
        replies = []
        while True:
            for mtype, mflags, mseq, body in self._recv_msgs():
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", body)[0]
                    if err:
                        text = ""
                        if mflags & NLM_F_ACK_TLVS:
                            tlv = parse_attrs(body[4 + 16:])
                            text = tlv.get(NLMSGERR_ATTR_MSG, b"")
                            text = text.rstrip(b"\0").decode()
                        raise NetlinkError(err, text)
                    return replies
                if mtype == NLMSG_DONE:
                    return replies
                replies.append(parse_attrs(body[4:]))
                if not (mflags & NLM_F_MULTI) and not (flags & NLM_F_ACK):
                    return replies

    def _resolve(self, name):
        reply = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                             attr(CTRL_ATTR_FAMILY_NAME,
                                  name.encode() + b"\0"), flags=0)[0]
        family_id = struct.unpack("=H", reply[CTRL_ATTR_FAMILY_ID][:2])[0]
        groups = {}
        for grp in parse_attrs(reply.get(CTRL_ATTR_MCAST_GROUPS,
                                         b"")).values():
            g = parse_attrs(grp)
            groups[g[CTRL_ATTR_MCAST_GRP_NAME].rstrip(b"\0").decode()] = \
                struct.unpack("=I", g[CTRL_ATTR_MCAST_GRP_ID])[0]
        return family_id, groups

    def colo(self, cmd, attrs=b"", flags=NLM_F_ACK):
        return self.request(self.family_id, CMD[cmd], attrs, flags)


def expect_error(call, want_errno, want_text=None):
    """Run call(); it must fail with want_errno and an extack message."""
    try:
        call()
    except NetlinkError as e:
        if e.errno != want_errno:
            raise AssertionError("got %s (%s), want %s" %
                                 (errno.errorcode.get(e.errno), e.msg,
                                  errno.errorcode[want_errno]))
        if not e.msg:
            raise AssertionError("%s without an extack message" %
                                 errno.errorcode[want_errno])
        if want_text and want_text not in e.msg:
            raise AssertionError("extack %r lacks %r" % (e.msg, want_text))
        return e.msg
    raise AssertionError("succeeded, want %s" % errno.errorcode[want_errno])
