#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send raw Ethernet frames of many flows out of one interface.

  rawflood.py IFACE udp   FIRST COUNT [ROUNDS]   flows FIRST..FIRST+COUNT-1
  rawflood.py IFACE ack   SEED COUNT             TCP pure ACKs, random ports

With RAWFLOOD_TIME set, the time spent sending goes to stderr, per frame.
A frame sent on a veth is received in the sender's own context (the
veth's receive runs as the send returns), so that time includes what the
receiving host's hooks do with it.

Every frame is the VM's output: from VM_MAC/VM_IP to CLIENT_MAC/CLIENT_IP
(IPv4). Flow i of a UDP flood is the VM's port 1024 + i % 60000 to the
client's port 20000 + i // 60000, with a payload that is the same for the
same i, so that the same command run in the PVM and on the secondary's
forward link sends the PVM's and the SVM's copy of the same datagrams.
"""
import os
import random
import socket
import struct
import sys
import time

from framelib import csum

VM_MAC = bytes.fromhex("525400c01002")
CLIENT_MAC = bytes.fromhex("525400c01001")
VM_IP = socket.inet_aton("10.0.0.2")
CLIENT_IP = socket.inet_aton("10.0.0.1")


def ipv4(proto, l4len):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + l4len, 0, 0x4000, 64,
                      proto, 0, VM_IP, CLIENT_IP)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]


ETH = CLIENT_MAC + VM_MAC + b"\x08\x00"
PAYLOAD_LEN = 16
UDP_IP = ETH + ipv4(socket.IPPROTO_UDP, 8 + PAYLOAD_LEN)
TCP_IP = ETH + ipv4(socket.IPPROTO_TCP, 20)


def udp_frame(i):
    sport, dport = 1024 + i % 60000, 20000 + i // 60000
    payload = struct.pack("!QQ", i, 0x636f6c6f)
    # Checksum 0: none (IPv4), nothing to compute per frame.
    return UDP_IP + struct.pack("!HHHH", sport, dport, 8 + PAYLOAD_LEN,
                                0) + payload


def ack_frame(rnd):
    sport, dport = rnd.randrange(1024, 65536), rnd.randrange(1, 65536)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, rnd.getrandbits(32),
                      rnd.getrandbits(32), 5 << 4, 0x10, 512, 0, 0)
    pseudo = VM_IP + CLIENT_IP + struct.pack("!BBH", 0, socket.IPPROTO_TCP,
                                             len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    return TCP_IP + tcp


def main():
    iface, mode = sys.argv[1], sys.argv[2]
    a, count = int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    send = s.send
    if mode == "udp":
        rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 1
        frames = [udp_frame(i) for i in range(a, a + count)] * rounds
    elif mode == "ack":
        rnd = random.Random(a)
        frames = [ack_frame(rnd) for _ in range(count)]
    else:
        sys.exit("unknown mode " + mode)
    start = time.perf_counter_ns()
    for f in frames:
        send(f)
    took = time.perf_counter_ns() - start
    if os.environ.get("RAWFLOOD_TIME") and frames:
        print("%d ns per frame" % (took // len(frames)), file=sys.stderr)


if __name__ == "__main__":
    main()
