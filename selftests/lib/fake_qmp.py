#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A stand-in for QEMU's QMP monitor in COLO state, for selftests/agent.sh.

  fake_qmp.py --mode primary|secondary (--socket PATH | --pty LINKFILE)
              --control FIFO --log FILE

Listens on a unix socket (one client), or makes a pty, whose slave path it
writes to LINKFILE, standing in for a character device (the greeting is
written before anyone opens it). It answers qmp_capabilities,
query-colo-status (in --mode), migrate-set-parameters (and then, as QEMU
does in COLO state, runs a checkpoint: STOP, RESUME) and
x-colo-lost-heartbeat (COLO_EXIT, reason request). Lines written to FIFO:
  checkpoint        a checkpoint of QEMU's own: STOP, RESUME
  colo-exit REASON  COLO ends: COLO_EXIT with REASON
  close             QEMU goes away: close the monitor and exit
Every command received is logged to FILE as "NAME ARGUMENTS-JSON".
"""
import argparse
import json
import os
import pty
import select
import socket
import sys
import time
import tty


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--socket")
    ap.add_argument("--pty")
    ap.add_argument("--control", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    log = open(args.log, "a", buffering=1)
    ctl = os.open(args.control, os.O_RDWR | os.O_NONBLOCK)
    colo = True

    if args.pty:
        master, slave = pty.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        rfd = wfd = master
    else:
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(args.socket)
        lsock.listen(1)

    def send(obj):
        os.write(wfd, (json.dumps(obj) + "\r\n").encode())

    def event(name, data=None):
        now = time.time()
        msg = {"event": name, "timestamp": {
            "seconds": int(now), "microseconds": int(now % 1 * 1e6)}}
        if data is not None:
            msg["data"] = data
        send(msg)

    def checkpoint():
        event("STOP")
        time.sleep(0.005)
        event("RESUME")

    greeting = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2,
                                             "micro": 0}, "package": ""},
                        "capabilities": ["oob"]}}
    if args.pty:
        send(greeting)
        with open(args.pty + ".tmp", "w") as f:
            f.write(name + "\n")
        os.rename(args.pty + ".tmp", args.pty)
    else:
        conn, _ = lsock.accept()
        rfd = wfd = conn.fileno()
        send(greeting)

    buf = b""
    while True:
        r, _, _ = select.select([rfd, ctl], [], [])
        if ctl in r:
            for line in os.read(ctl, 4096).decode().splitlines():
                words = line.split()
                if not words:
                    continue
                if words[0] == "checkpoint":
                    checkpoint()
                elif words[0] == "colo-exit":
                    colo = False
                    event("COLO_EXIT", {"mode": args.mode,
                                        "reason": words[1]})
                elif words[0] == "close":
                    return 0
        if rfd not in r:
            continue
        try:
            data = os.read(rfd, 4096)
        except OSError:
            data = b""
        if not data:
            if args.pty:
                # No one holds the slave open yet, or it closed: go on.
                time.sleep(0.05)
                continue
            return 0
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            req = json.loads(line)
            cmd = req.get("execute")
            reply = {"return": {}}
            if "id" in req:
                reply["id"] = req["id"]
            print(cmd, json.dumps(req.get("arguments", {}),
                                  sort_keys=True), file=log)
            if cmd == "query-colo-status":
                reply["return"] = {"mode": args.mode if colo else "none",
                                   "last-mode": "none", "reason": "none"}
            send(reply)
            if cmd == "migrate-set-parameters" and colo:
                checkpoint()
            elif cmd == "x-colo-lost-heartbeat" and colo:
                colo = False
                event("COLO_EXIT", {"mode": args.mode, "reason": "request"})


if __name__ == "__main__":
    sys.exit(main())
