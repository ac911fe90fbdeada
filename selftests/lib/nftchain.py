#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Base chains of nf_tables, straight over netlink (no nft tool needed).

    nftchain.py table FAMILY TABLE            add a table
    nftchain.py chain FAMILY TABLE CHAIN HOOK PRIORITY [DEVICE] [COUNT]
                                              add COUNT (default 1) base
                                              chains CHAIN, CHAIN1, ...
    nftchain.py pmycolo FAMILY TABLE CHAIN INDEX FWDDEV [SADDR]
                                              append a rule: (if SADDR)
                                              ip saddr SADDR, then the
                                              xtables target PMYCOLO
    nftchain.py deltable FAMILY TABLE         delete a table

FAMILY: ip, ip6, bridge, netdev. HOOK: prerouting (bridge, ip, ip6) or
ingress (netdev, with DEVICE). The chains are filter chains that accept.
iptables-nft 1.8.9 refuses chains at other priorities than its own
("incompatible"), the kernel does not: this puts a PMYCOLO rule there as
another nft_compat user could (the expression "target" is nft_compat's).
"""
import ipaddress
import os
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 0x10, 0x11
NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_DELTABLE = 0, 3, 2
NFT_MSG_NEWRULE = 6
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE, NLM_F_APPEND = 1, 4, 0x400, 0x800
NLMSG_ERROR = 2
SOL_NETLINK, NETLINK_CAP_ACK, SO_RCVBUFFORCE = 270, 10, 33
FAMILIES = {"ip": 2, "ip6": 10, "bridge": 7, "netdev": 5}
HOOKS = {"prerouting": 0, "ingress": 0}


def attr(kind, data):
    hdr = struct.pack("=HH", 4 + len(data), kind)
    return hdr + data + b"\0" * (-len(data) % 4)


def string(kind, s):
    return attr(kind, s.encode() + b"\0")


def be32(kind, v):
    return attr(kind, struct.pack("!i", v))


class Batch:
    def __init__(self):
        self.msgs = []
        self.seq = 1

    def add(self, kind, family, payload, flags=0):
        body = struct.pack("=BBH", family, 0, 0) + payload
        self.msgs.append(struct.pack("=IHHII", 16 + len(body), kind,
                                     NLM_F_REQUEST | flags, self.seq,
                                     0) + body)
        self.seq += 1

    def send(self):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                             NETLINK_NETFILTER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        # Acks carry only their header: a thousand of them fit.
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 22)
        sock.bind((0, 0))
        begin = struct.pack("=IHHII", 20, NFNL_MSG_BATCH_BEGIN,
                            NLM_F_REQUEST, 0, 0) + \
            struct.pack("=BBH", 0, 0, socket.htons(NFNL_SUBSYS_NFTABLES))
        end = struct.pack("=IHHII", 20, NFNL_MSG_BATCH_END, NLM_F_REQUEST,
                          self.seq, 0) + \
            struct.pack("=BBH", 0, 0, socket.htons(NFNL_SUBSYS_NFTABLES))
        sock.send(begin + b"".join(self.msgs) + end)
        acked = 0
        while acked < len(self.msgs):
            data = sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind == NLMSG_ERROR:
                    err = struct.unpack_from("=i", data, off + 16)[0]
                    if err:
                        sys.exit("nftchain.py: %s" % os.strerror(-err))
                    acked += 1
                off += (length + 3) & ~3


def expr(name, data):
    return attr(1 | 0x8000, string(1, name) + attr(2 | 0x8000, data))


def msg_type(cmd):
    return NFNL_SUBSYS_NFTABLES << 8 | cmd


def main():
    cmd, family, table = sys.argv[1], FAMILIES[sys.argv[2]], sys.argv[3]
    batch = Batch()
    if cmd == "table":
        batch.add(msg_type(NFT_MSG_NEWTABLE), family, string(1, table),
                  NLM_F_CREATE | NLM_F_ACK)
    elif cmd == "deltable":
        batch.add(msg_type(NFT_MSG_DELTABLE), family, string(1, table),
                  NLM_F_ACK)
    elif cmd == "chain":
        name, hook, prio = sys.argv[4], HOOKS[sys.argv[5]], int(sys.argv[6])
        dev = sys.argv[7] if len(sys.argv) > 7 else ""
        count = int(sys.argv[8]) if len(sys.argv) > 8 else 1
        for i in range(count):
            nested = be32(1, hook) + be32(2, prio + i)
            if dev:
                nested += string(3, dev)
            batch.add(msg_type(NFT_MSG_NEWCHAIN), family,
                      string(1, table) +
                      string(3, name + (str(i) if i else "")) +
                      attr(4 | 0x8000, nested) + string(7, "filter"),
                      NLM_F_CREATE | NLM_F_ACK)
    elif cmd == "pmycolo":
        chain, index, fwd = sys.argv[4], int(sys.argv[5]), sys.argv[6]
        exprs = b""
        if len(sys.argv) > 7:
            addr = ipaddress.ip_address(sys.argv[7]).packed
            # payload load of the source address into register 1, cmp eq
            exprs += expr("payload", be32(1, 1) + be32(2, 1) +
                          be32(3, 12 if len(addr) == 4 else 8) +
                          be32(4, len(addr)))
            exprs += expr("cmp", be32(1, 1) + be32(2, 0) +
                          attr(3 | 0x8000, attr(1, addr)))
        info = struct.pack("=I16sI", index, fwd.encode(), 0)
        exprs += expr("target", string(1, "PMYCOLO") + be32(2, 0) +
                      attr(3, info))
        batch.add(msg_type(NFT_MSG_NEWRULE), family,
                  string(1, table) + string(2, chain) +
                  attr(4 | 0x8000, exprs),
                  NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK)
    else:
        sys.exit(__doc__)
    batch.send()


if __name__ == "__main__":
    main()
