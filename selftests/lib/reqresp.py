#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Request/response against an echo service, for the selftests and bench.

    reqresp.py [--udp] [--times FILE] HOST PORT COUNT [SIZE]

Sends COUNT requests of SIZE bytes (default 64), one at a time, each with
different bytes, and checks that each answer is the request. Prints
"COUNT transactions in SECONDS s" and exits 0 only if every answer came
back intact (UDP: within 3 s, one retry). --times FILE: each
transaction's time from its send() to its whole answer, one line each in
nanoseconds, in order.
"""
import socket
import sys
import time


def payload(i, size):
    return bytes((i * 7 + k) & 0xff for k in range(size))


def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def main():
    args = sys.argv[1:]
    udp, times_file = False, None
    while args and args[0].startswith("--"):
        if args[0] == "--udp":
            udp, args = True, args[1:]
        elif args[0] == "--times" and len(args) > 1:
            times_file, args = args[1], args[2:]
        else:
            sys.exit("reqresp.py: unknown option %s" % args[0])
    host, port, count = args[0], int(args[1]), int(args[2])
    size = int(args[3]) if len(args) > 3 else 64
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    sock = socket.socket(family, kind)
    sock.settimeout(3 if udp else 30)
    sock.connect((host, port))
    if not udp:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    start = time.monotonic()
    for i in range(count):
        req = payload(i, size)
        t0 = time.monotonic_ns()
        for attempt in range(2):
            sock.send(req)
            try:
                answer = sock.recv(65536) if udp else recv_exactly(sock, size)
                break
            except socket.timeout:
                if not udp or attempt:
                    raise
        if times_file:
            times.append(time.monotonic_ns() - t0)
        if answer != req:
            sys.exit("reqresp.py: answer %d differs" % i)
    elapsed = time.monotonic() - start
    if times_file:
        with open(times_file, "w") as f:
            f.write("".join("%d\n" % t for t in times))
    print("%d transactions in %.3f s" % (count, elapsed))


if __name__ == "__main__":
    main()
