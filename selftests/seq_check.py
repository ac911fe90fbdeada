#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks on captured TCP streams of the COLO topology.

  match PVM.pcap SVM.pcap VM_ADDR VM_PORT [STREAM_BYTES]
      Every data byte the SVM sent (captured after SECCOLO) sits at the
      sequence number where the PVM sent the same byte. With STREAM_BYTES
      (the length of what the VMs send), the stream's extent is known, not
      taken from the PVM's capture, whose tail a loaded host may lose.
  sack PVM.pcap SVM.pcap IN.pcap OUT.pcap VM_ADDR VM_PORT
      The peer's packets IN (before SECCOLO's host) and OUT (delivered to
      the SVM): ack and every SACK edge moved by ISN(SVM) - ISN(PVM).
  deltas RAW.pcap OUT.pcap VM_ADDR VM_PORT
      For each SVM segment, OUT seq - RAW seq: a line "PEER_PORT: D1 D2..."
      per connection, with the values in the order they change.
  ackdeltas IN.pcap OUT.pcap VM_ADDR VM_PORT
      The same for the peer's packets to the SVM, IN (before SECCOLO's
      host) and OUT (delivered to the SVM): IN ack - OUT ack, i.e. the
      offset the SVM's own segments get at that moment.
"""
import os
import sys
from collections import deque

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from pcap import SYN, ACK, segments  # noqa: E402

MOD = 1 << 32


def vm_segments(path, vm, port):
    return [s for s in segments(path) if s.src == vm and s.sport == port]


def isn(segs):
    """Sequence number of the first SYN or SYN-ACK in segs."""
    for s in segs:
        if s.flags & SYN:
            return s.seq
    raise SystemExit("no SYN captured")


def match(pvm_pcap, svm_pcap, vm, port, stream_bytes=None):
    pvm = vm_segments(pvm_pcap, vm, int(port))
    svm = vm_segments(svm_pcap, vm, int(port))
    base = isn(pvm)
    stream = {}
    for s in pvm:
        rel = (s.seq - base - 1) % MOD
        for i, b in enumerate(s.payload):
            stream[rel + i] = b
    # A capture under load may lose packets (tcpdump drops): a hole inside
    # the PVM's stream is not the SVM's fault, bytes beyond it are.
    lo, hi = min(stream, default=0), max(stream, default=-1)
    if stream_bytes is not None:
        lo, hi = 0, int(stream_bytes) - 1
    checked = mismatched = outside = uncaptured = 0
    strays = []
    for s in svm:
        rel = (s.seq - base - 1) % MOD
        stray = outside
        for i, b in enumerate(s.payload):
            want = stream.get(rel + i)
            if want is not None:
                checked += 1
                mismatched += want != b
            elif lo <= rel + i <= hi:
                uncaptured += 1
            else:
                outside += 1
        if outside > stray:
            strays.append(s)
    for s in strays[:5]:
        print("outside: svm segment seq %u (%u from the pvm's first byte), "
              "%d bytes, flags %#x, tsval %s; the pvm's stream is %d..%d" %
              (s.seq, (s.seq - base - 1) % MOD, len(s.payload), s.flags,
               s.ts[0] if s.ts else "-", lo, hi))
    print("svm bytes at the pvm's sequence numbers: %d, different: %d, "
          "outside the pvm's stream: %d, in a hole of its capture: %d; "
          "isn pvm %u svm %u" %
          (checked, mismatched, outside, uncaptured, base, isn(svm)))
    return checked > 0 and mismatched == 0 and outside == 0


def sack(pvm_pcap, svm_pcap, in_pcap, out_pcap, vm, port):
    port = int(port)
    offset = (isn(vm_segments(pvm_pcap, vm, port)) -
              isn(vm_segments(svm_pcap, vm, port))) % MOD

    def to_vm(path):
        return {s.ipid: s for s in segments(path)
                if s.dst == vm and s.dport == port and s.ipid is not None}
    before, after = to_vm(in_pcap), to_vm(out_pcap)
    blocks = bad = 0
    for ipid, b in before.items():
        a = after.get(ipid)
        if a is None or not b.flags & ACK:
            continue
        if a.ack != (b.ack - offset) % MOD:
            bad += 1
        for (bl, br), (al, ar) in zip(b.sack, a.sack):
            blocks += 1
            if al != (bl - offset) % MOD or ar != (br - offset) % MOD:
                bad += 1
    print("sack blocks checked: %d, wrong acks or edges: %d, offset %u" %
          (blocks, bad, offset))
    return blocks > 0 and bad == 0 and offset != 0


def print_changes(pairs):
    """pairs: ((peer_port, delta)...); print each connection's deltas as
    they change, in the order seen."""
    conns = {}
    for peer_port, d in pairs:
        seen = conns.setdefault(peer_port, [])
        if not seen or seen[-1] != d:
            seen.append(d)
    for peer_port, seen in conns.items():
        print("%d: %s" % (peer_port, " ".join(str(d) for d in seen)))
    return True


def paired(before, after, key):
    """(b, a) for each segment of after with its twin in before. Segments
    alike in key pair up in the order both captures saw them."""
    pool = {}
    for s in before:
        pool.setdefault(key(s), deque()).append(s)
    for s in after:
        same = pool.get(key(s))
        if same:
            yield same.popleft(), s


def deltas(raw_pcap, out_pcap, vm, port):
    # The same packet before and after SECCOLO: all but seq is equal.
    def key(s):
        return (s.dst, s.dport, s.ipid, s.ts, s.ack, s.flags, s.payload)
    port = int(port)
    return print_changes((a.dport, (a.seq - r.seq) % MOD) for r, a in
                         paired(vm_segments(raw_pcap, vm, port),
                                vm_segments(out_pcap, vm, port), key))


def ackdeltas(in_pcap, out_pcap, vm, port):
    # The same packet of the peer before and after SECCOLO: all but ack.
    def key(s):
        return (s.src, s.sport, s.ipid, s.ts, s.seq, s.flags, s.payload)

    def to_vm(path):
        return [s for s in segments(path) if s.dst == vm and
                s.dport == int(port) and s.flags & ACK]
    return print_changes((a.sport, (b.ack - a.ack) % MOD) for b, a in
                         paired(to_vm(in_pcap), to_vm(out_pcap), key))


if __name__ == "__main__":
    checks = {"match": match, "sack": sack, "deltas": deltas,
              "ackdeltas": ackdeltas}
    if len(sys.argv) < 2 or sys.argv[1] not in checks:
        sys.exit(__doc__)
    sys.exit(0 if checks[sys.argv[1]](*sys.argv[2:]) else 1)
