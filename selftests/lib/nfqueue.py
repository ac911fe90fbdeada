#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A minimal nfnetlink_queue consumer for the selftests.

    nfqueue.py QUEUE_NUM COUNT_FILE

Binds queue QUEUE_NUM (for every family), accepts every packet it gets and
writes how many it accepted to COUNT_FILE after each one. Prints "ready"
once bound. Runs until killed.
"""
import os
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2


def attr(kind, payload):
    pad = (4 - len(payload) % 4) % 4
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * pad


def message(sock, msg_type, family, queue, attrs, flags=NLM_F_REQUEST):
    body = struct.pack("=BBH", family, 0, socket.htons(queue)) + b"".join(attrs)
    hdr = struct.pack("=IHHII", 16 + len(body),
                      (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, 0, 0)
    sock.send(hdr + body)


def expect_ack(sock):
    data = sock.recv(65536)
    _, kind = struct.unpack_from("=IH", data)
    if kind == NLMSG_ERROR:
        err = struct.unpack_from("=i", data, 16)[0]
        if err:
            sys.exit("nfqueue.py: config refused: %s" % os.strerror(-err))


def attrs_of(data, off, end):
    while off + 4 <= end:
        alen, kind = struct.unpack_from("=HH", data, off)
        if alen < 4:
            break
        yield kind & 0x3fff, data[off + 4:off + alen]
        off += (alen + 3) & ~3


def main():
    queue, count_file = int(sys.argv[1]), sys.argv[2]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    # One bind serves every family (PF_BIND is a no-op since Linux 3.8).
    cmd = struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, socket.htons(socket.AF_INET))
    message(sock, NFQNL_MSG_CONFIG, socket.AF_INET, queue,
            [attr(NFQA_CFG_CMD, cmd)], NLM_F_REQUEST | NLM_F_ACK)
    expect_ack(sock)
    params = struct.pack(">IB", 0, NFQNL_COPY_META)
    message(sock, NFQNL_MSG_CONFIG, socket.AF_UNSPEC, queue,
            [attr(NFQA_CFG_PARAMS, params)], NLM_F_REQUEST | NLM_F_ACK)
    expect_ack(sock)
    print("ready", flush=True)

    accepted = 0
    while True:
        data = sock.recv(65536)
        off = 0
        while off + 16 <= len(data):
            mlen, kind = struct.unpack_from("=IH", data, off)
            if mlen < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                family = data[off + 16]
                for akind, val in attrs_of(data, off + 20, off + mlen):
                    if akind == NFQA_PACKET_HDR:
                        pkt_id = struct.unpack_from(">I", val)[0]
                        verdict = struct.pack(">II", NF_ACCEPT, pkt_id)
                        message(sock, NFQNL_MSG_VERDICT, family, queue,
                                [attr(NFQA_VERDICT_HDR, verdict)])
                        accepted += 1
                        with open(count_file, "w") as f:
                            f.write("%d\n" % accepted)
            off += (mlen + 3) & ~3


if __name__ == "__main__":
    main()
