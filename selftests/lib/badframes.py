#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Malformed Ethernet frames at a high rate, for the adversarial selftests.

    badframes.py IFACE SECONDS SRC_MAC DST_MAC

Sends, in a loop for SECONDS, a fixed set of frames out of IFACE with an
AF_PACKET socket: truncated IPv4, IPv6, TCP and UDP headers, bad IHL and
data offsets, IP lengths larger and smaller than the frame, IPv6
extension header chains (long, looping-length, truncated), IP fragments of
every shape (overlapping, tiny, too many, no first, no last, bad
offsets), VLAN-tagged frames and garbage Ethernet types. Addresses are
the test topology's (10.0.0.0/24, fd00::/64). Prints "SENT N FRAMES".
"""
import random
import socket
import struct
import sys
import time

from framelib import VM4, PEER4, VM6, PEER6, csum


def eth(src, dst, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def ip4(payload, proto=17, ihl=5, tot=None, frag=0, ident=1, opts=b""):
    tot = 20 + len(opts) + len(payload) if tot is None else tot
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot & 0xffff, ident,
                      frag, 64, proto, 0, VM4, PEER4) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr[:20])) + hdr[12:]
    return hdr + payload


def ip6(payload, nxt=17, plen=None):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 6 << 28, plen & 0xffff, nxt, 64,
                       VM6, PEER6) + payload


def udp(sport=4000, dport=5000, data=b"x" * 32, ulen=None):
    ulen = 8 + len(data) if ulen is None else ulen
    return struct.pack("!HHHH", sport, dport, ulen & 0xffff, 0) + data


def tcp(doff=5, data=b"y" * 16, flags=0x18):
    return struct.pack("!HHIIBBHHH", 4001, 5001, 1000, 2000, doff << 4,
                       flags, 512, 0, 0) + data


def frag6(nxt, off, more, ident, data):
    return struct.pack("!BBHI", nxt, 0, (off << 3) | more, ident) + data


def ext6(nxt, length_units, fill=b"\0"):
    """A destination options style header of (length_units + 1) * 8 bytes."""
    body = (fill * ((length_units + 1) * 8 - 2))[:(length_units + 1) * 8 - 2]
    return bytes([nxt, length_units]) + body


def frames(src, dst):
    out = []
    e4 = lambda p: eth(src, dst, 0x0800, p)
    e6 = lambda p: eth(src, dst, 0x86dd, p)
    # IPv4 headers
    out.append(e4(ip4(b"")[:10]))                      # truncated header
    out.append(e4(ip4(udp(), ihl=3)))                  # IHL too small
    out.append(e4(ip4(udp(), ihl=15)[:30]))            # IHL past the frame
    out.append(e4(ip4(udp(), tot=2000)))               # length > frame
    out.append(e4(ip4(udp(), tot=12)))                 # length < header
    out.append(e4(ip4(udp(), tot=24)))                 # length < UDP header
    out.append(e4(bytes([0x60]) + ip4(udp())[1:]))     # version 6 in IPv4
    # TCP and UDP headers
    out.append(e4(ip4(tcp()[:10], proto=6)))           # truncated TCP
    out.append(e4(ip4(tcp(doff=2), proto=6)))          # data offset < 5
    out.append(e4(ip4(tcp(doff=15, data=b""), proto=6)))  # offset past end
    out.append(e4(ip4(udp()[:4])))                     # truncated UDP
    out.append(e4(ip4(udp(ulen=4000))))                # UDP length > IP
    out.append(e6(ip6(tcp()[:12], nxt=6)))
    out.append(e6(ip6(tcp(doff=1), nxt=6)))
    out.append(e6(ip6(udp()[:6])))
    # IPv6 headers and extension chains
    out.append(e6(ip6(udp())[:30]))                    # truncated header
    out.append(e6(ip6(udp(), plen=3000)))              # length > frame
    out.append(e6(ip6(udp(), plen=4)))                 # length < UDP
    chain = ext6(17, 0) + udp()                        # long chain
    for _ in range(60):
        chain = ext6(60, 0) + chain
    out.append(e6(ip6(chain, nxt=60)))
    out.append(e6(ip6(ext6(60, 0) * 200, nxt=0)))     # never ends
    out.append(e6(ip6(ext6(17, 200) [:40], nxt=60)))   # length past end
    out.append(e6(ip6(bytes([43, 255]) + b"\0" * 6, nxt=0)))  # truncated rt
    out.append(e6(ip6(ext6(44, 0), nxt=60)))           # ends in a frag hdr
    # IPv4 fragments
    body = udp(data=b"z" * 200)
    out.append(e4(ip4(body[:64], frag=0x2000, ident=7)))          # first
    out.append(e4(ip4(body[32:], frag=4, ident=7)))               # overlaps
    out.append(e4(ip4(body[:8], frag=0x2000 | 1, ident=8)))       # tiny
    out.append(e4(ip4(body[8:16], frag=0x2000 | 1, ident=8)))     # dup off
    out.append(e4(ip4(body[:24], frag=0x1fff, ident=9)))          # off max
    out.append(e4(ip4(body[:3], frag=0x2000, ident=10)))          # not x8
    out.append(e4(ip4(b"", frag=0x2005, ident=11)))               # empty
    for k in range(64):                                           # many
        out.append(e4(ip4(body[:8], frag=0x2000 | k, ident=12)))
    out.append(e4(ip4(body[8:], frag=1, ident=13)))               # no first
    # IPv6 fragments
    out.append(e6(ip6(frag6(17, 0, 1, 21, body[:64]), nxt=44)))
    out.append(e6(ip6(frag6(17, 4, 0, 21, body[32:]), nxt=44)))  # overlap
    out.append(e6(ip6(frag6(17, 0, 1, 22, body[:8]), nxt=44)))   # tiny
    out.append(e6(ip6(frag6(17, 0, 0, 23, b""), nxt=44)))        # atomic, empty
    out.append(e6(ip6(frag6(17, 0, 1, 24, body[:3]), nxt=44)))   # not x8
    out.append(e6(ip6(frag6(17, 8191, 0, 25, body), nxt=44)))    # past 64K
    for k in range(64):
        out.append(e6(ip6(frag6(17, k, 1, 26, body[:8]), nxt=44)))
    # VLAN tags, garbage Ethernet types
    out.append(eth(src, dst, 0x8100, struct.pack("!HH", 5, 0x0800) + ip4(udp())))
    out.append(eth(src, dst, 0x8100, struct.pack("!HH", 5, 0x86dd) + ip6(udp())))
    out.append(eth(src, dst, 0x88a8, struct.pack("!HHHH", 6, 0x8100, 5, 0x0800) +
                   ip4(udp())))
    out.append(eth(src, dst, 0x8100, b"\0"))           # truncated tag
    for etype in (0x0000, 0x05dc, 0x1234, 0x88cc, 0xffff, 0x0806):
        out.append(eth(src, dst, etype, bytes(random.randrange(256) for _ in range(46))))
    out.append(eth(src, dst, 0x0800, b""))             # nothing after type
    return out


def main():
    iface, seconds = sys.argv[1], float(sys.argv[2])
    src = bytes.fromhex(sys.argv[3].replace(":", ""))
    dst = bytes.fromhex(sys.argv[4].replace(":", ""))
    random.seed(1)
    batch = frames(src, dst)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    sent = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for frame in batch:
            # Ethernet's minimum: the IP length decides what is padding.
            try:
                sock.send(frame.ljust(14, b"\0"))
                sent += 1
            except OSError:
                pass
    print("SENT %d FRAMES" % sent)


if __name__ == "__main__":
    main()
