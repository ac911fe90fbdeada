#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Link plumbing that does not ask for a neighbour, from a VM's interface.

    neighframes.py IFACE VM_MAC

Sends once, out of IFACE with an AF_PACKET socket, with the test
topology's addresses (the VM 10.0.0.2 / fd00::2, the client 10.0.0.1 /
fd00::1): a gratuitous ARP request, an ARP probe (sender 0.0.0.0), an ARP
reply, an unsolicited neighbour advertisement, a duplicate address
detection solicitation (source ::), a solicitation with a hop limit other
than 255, a router solicitation and an MLDv2 report; and an ARP request
and a neighbour solicitation for the client from another MAC (the
secondary host's own stack). None of them is the VM asking for a
neighbour. Prints "SENT N FRAMES".
"""
import socket
import struct
import sys

from framelib import VM4, PEER4, VM6, PEER6, csum

ANY6 = bytes(16)
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
ALL_ROUTERS = bytes.fromhex("ff020000000000000000000000000002")
MLD2_ROUTERS = bytes.fromhex("ff020000000000000000000000000016")
BCAST = b"\xff" * 6
HOST_MAC = bytes.fromhex("020000000099")


def mcast_mac(addr6):
    return b"\x33\x33" + addr6[12:]


def solicited_node(addr6):
    return bytes.fromhex("ff0200000000000000000001ff") + addr6[13:]


def arp(mac, op, sip, tha, tip):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac + sip + tha + tip


def icmp6(src, dst, body, hop=255):
    """An IPv6 packet carrying ICMPv6 @body (checksum filled in)."""
    pseudo = src + dst + struct.pack("!IxxxB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    return struct.pack("!IHBB", 6 << 28, len(body), 58, hop) + src + dst + \
        body


def nd(mtype, target, opt=b"", flags=0):
    return struct.pack("!BBHI", mtype, 0, 0, flags) + target + opt


def frames(mac):
    lladdr = struct.pack("!BB", 1, 1) + mac       # source link-layer option
    tlladdr = struct.pack("!BB", 2, 1) + mac      # target link-layer option
    snm = solicited_node(VM6)
    mld = struct.pack("!BBHHH", 143, 0, 0, 0, 1) + \
        struct.pack("!BBH", 4, 0, 0) + snm       # CHANGE_TO_EXCLUDE, no sources
    return [
        (BCAST, 0x0806, arp(mac, 1, VM4, bytes(6), VM4)),    # gratuitous
        (BCAST, 0x0806, arp(mac, 1, bytes(4), bytes(6), VM4)),   # probe
        (BCAST, 0x0806, arp(mac, 2, VM4, BCAST, PEER4)),     # reply
        (mcast_mac(ALL_NODES), 0x86dd,
         icmp6(VM6, ALL_NODES, nd(136, VM6, tlladdr, 0x20000000))),
        (mcast_mac(snm), 0x86dd, icmp6(ANY6, snm, nd(135, VM6))),   # DAD
        (mcast_mac(solicited_node(PEER6)), 0x86dd,
         icmp6(VM6, solicited_node(PEER6), nd(135, PEER6, lladdr), hop=64)),
        (mcast_mac(ALL_ROUTERS), 0x86dd,
         icmp6(VM6, ALL_ROUTERS, struct.pack("!BBHI", 133, 0, 0, 0) + lladdr)),
        (mcast_mac(MLD2_ROUTERS), 0x86dd, icmp6(VM6, MLD2_ROUTERS, mld, hop=1)),
    ]


def host_frames():
    snm = solicited_node(PEER6)
    lladdr = struct.pack("!BB", 1, 1) + HOST_MAC
    return [
        (BCAST, 0x0806, arp(HOST_MAC, 1, VM4, bytes(6), PEER4)),
        (mcast_mac(snm), 0x86dd, icmp6(VM6, snm, nd(135, PEER6, lladdr))),
    ]


def main():
    iface, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    sent = 0
    for src, frame_list in ((mac, frames(mac)), (HOST_MAC, host_frames())):
        for dst, etype, payload in frame_list:
            sock.send(dst + src + struct.pack("!H", etype) + payload)
            sent += 1
    print("SENT %d FRAMES" % sent)


if __name__ == "__main__":
    main()
