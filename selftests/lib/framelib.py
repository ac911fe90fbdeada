# SPDX-License-Identifier: GPL-2.0
"""What the frame-crafting helpers of the selftests share: the COLO
topology's VM and client (peer) addresses, and the Internet checksum."""
import struct

VM4, PEER4 = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])
VM6 = bytes.fromhex("fd000000000000000000000000000002")
PEER6 = bytes.fromhex("fd000000000000000000000000000001")


def csum(data):
    """RFC 1071 checksum of data (odd lengths padded with a zero byte)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
