#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An echo stream that must survive a failover.

  echo_lines.py HOST PORT [COUNT] [INTERVAL_S]
      COUNT lines (200) to an echo server, one each INTERVAL_S (0.05), each
      answered before the next; exits 1 at the first wrong answer, else
      prints how many were answered.
"""
import socket
import sys
import time


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
    s = socket.create_connection((host, port), timeout=30)
    f = s.makefile("rwb")
    for i in range(count):
        line = b"echo line %d\n" % i
        f.write(line)
        f.flush()
        if f.readline() != line:
            print("echo line %d: wrong answer" % i)
            return 1
        time.sleep(interval)
    print("%d echo lines, each answered" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
