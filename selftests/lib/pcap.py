# SPDX-License-Identifier: GPL-2.0
"""Just enough of pcap, Ethernet, Linux cooked captures (SLL2, tcpdump -i any
-y LINUX_SLL2), IPv4, IPv6 and TCP for the selftests to check what crossed a
link: sequence numbers, acks, SACK blocks, payload; and, for the benchmarks,
when: timestamps in nanoseconds, the device and the direction."""
import socket
import struct
from collections import namedtuple

Segment = namedtuple("Segment", "src dst sport dport seq ack flags ipid "
                                "sack ts payload")
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


def _tcp_options(opts):
    """SACK blocks [(left, right), ...] and (TSval, TSecr) or None of a TCP
    option area."""
    sack, ts, i = [], None, 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        length = opts[i + 1]
        if kind == 5:
            body = opts[i + 2:i + length]
            sack = [struct.unpack_from("!II", body, j)
                    for j in range(0, len(body) - 7, 8)]
        elif kind == 8 and length == 10 and i + 10 <= len(opts):
            ts = struct.unpack_from("!II", opts, i + 2)
        i += length
    return sack, ts


LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2 = 1, 276
PACKET_OUTGOING = 4     # SLL2's packet type of what the host sent


def _ip(ethertype, pkt):
    """(src, dst, ipid, tcp bytes) of an IPv4/IPv6 TCP packet, or None."""
    if ethertype == 0x0800 and len(pkt) >= 20:
        ihl = (pkt[0] & 0xf) * 4
        total = struct.unpack_from("!H", pkt, 2)[0]
        if pkt[9] != socket.IPPROTO_TCP:
            return None
        return (socket.inet_ntop(socket.AF_INET, pkt[12:16]),
                socket.inet_ntop(socket.AF_INET, pkt[16:20]),
                struct.unpack_from("!H", pkt, 4)[0], pkt[ihl:total])
    if ethertype == 0x86dd and len(pkt) >= 40:
        if pkt[6] != socket.IPPROTO_TCP:
            return None
        plen = struct.unpack_from("!H", pkt, 4)[0]
        return (socket.inet_ntop(socket.AF_INET6, pkt[8:24]),
                socket.inet_ntop(socket.AF_INET6, pkt[24:40]),
                None, pkt[40:40 + plen])
    return None


def _segment(ethertype, pkt):
    """The Segment of an IPv4/IPv6 TCP packet, or None."""
    ip = _ip(ethertype, pkt)
    if not ip or len(ip[3]) < 20:
        return None
    src, dst, ipid, tcp = ip
    sport, dport, seq, ack = struct.unpack_from("!HHII", tcp)
    doff = (tcp[12] >> 4) * 4
    sack, ts = _tcp_options(tcp[20:doff])
    return Segment(src, dst, sport, dport, seq, ack, tcp[13], ipid,
                   sack, ts, bytes(tcp[doff:]))


def timed_segments(path):
    """(nanoseconds, ifindex, outgoing, Segment) of every TCP segment of a
    pcap file, Ethernet (ifindex None, outgoing None) or SLL2. Timestamps
    are nanoseconds with a nanosecond file (tcpdump
    --time-stamp-precision=nano), else microseconds times 1000."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data)[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = struct.unpack_from(endian + "I", data)[0] == 0xa1b23c4d
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2):
        raise ValueError("%s: link type %d, want Ethernet or SLL2" %
                         (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl = struct.unpack_from(endian + "III", data, off)
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ns = sec * 1000000000 + (frac if nano else frac * 1000)
        if linktype == LINKTYPE_ETHERNET:
            if len(frame) < 14:
                continue
            ifindex = outgoing = None
            seg = _segment(struct.unpack_from("!H", frame, 12)[0], frame[14:])
        else:
            if len(frame) < 20:
                continue
            ethertype, _, ifindex = struct.unpack_from("!HHI", frame)
            outgoing = frame[10] == PACKET_OUTGOING
            seg = _segment(ethertype, frame[20:])
        if seg:
            yield ns, ifindex, outgoing, seg


def segments(path):
    """Every TCP segment of a pcap file with Ethernet link type."""
    for _, ifindex, _, seg in timed_segments(path):
        if ifindex is not None:
            raise ValueError("%s: link type SLL2, want Ethernet" % path)
        yield seg
