#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drive QEMU 7.2's COLO frame over QMP for the real-VM selftests.

  colo.py start --pvm QMP --svm QMP --uri URI [--delay MS]
      the primary starts COLO: x-colo on (the primary only, enough on 7.2),
      the checkpoint period, migrate to the SVM (started with -incoming);
      returns once both report COLO mode.
  colo.py pair --pvm QMP --svm QMP --uri URI --count N [--delay MS]
      start, then wait for N periodic checkpoints, printing each pause.
  colo.py drive --pvm QMP --svm QMP --uri URI [--delay MS] --index N
                --primary-ns NS --secondary-ns NS --ctl FIFO
      stand in for the QEMU agent in a test: start COLO, then complete each
      QEMU checkpoint in the kernel (DO_CHECKPOINT on the secondary's and
      the primary's instance N once the primary RESUMEs), turn each
      checkpoint request of the kernel (`coloctl monitor`) into a QEMU
      checkpoint, and obey lines written to FIFO: "checkpoint" (one now),
      "failover" (quit the PVM, x-colo-lost-heartbeat on the SVM, then
      DO_FAILOVER on the secondary) and "stop". Prints one line per
      checkpoint with its reason and pause, and a summary at the end.

QMP is a unix socket or a character device (selftests/lib/qmp.py). A
checkpoint shows on the primary as the events STOP then RESUME; the pause
is the time between the two, as read here.
"""
import argparse
import ctypes
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from qmp import QMP, QMPError  # noqa: E402
import nfcolo  # noqa: E402


def colo_mode(q):
    return q.cmd("query-colo-status").get("mode")


def start(pvm, svm, uri, delay_ms, timeout=300.0):
    """Start COLO from the running PVM to the waiting SVM."""
    pvm.cmd("migrate-set-capabilities",
            capabilities=[{"capability": "x-colo", "state": True}])
    pvm.cmd("migrate-set-parameters", **{"x-checkpoint-delay": delay_ms})
    t0 = time.monotonic()
    pvm.cmd("migrate", uri=uri)
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        st = pvm.cmd("query-migrate").get("status")
        if st in ("failed", "cancelled"):
            raise QMPError("migration %s" % st)
        if st == "colo" and colo_mode(pvm) == "primary" and \
                colo_mode(svm) == "secondary":
            return time.monotonic() - t0
        pvm.poll(0.2)
    raise QMPError("no COLO state after %gs" % timeout)


def stamp(ev):
    """When QEMU emitted ev (its own clock), in seconds."""
    ts = ev["timestamp"]
    return ts["seconds"] + ts["microseconds"] / 1e6


def pauses(events, since=0):
    """[(stop_t, pause_s)] from the STOP/RESUME pairs in events[since:]."""
    out, stop = [], None
    for ev in events[since:]:
        if ev["event"] == "STOP":
            stop = stamp(ev)
        elif ev["event"] == "RESUME" and stop is not None:
            out.append((stop, stamp(ev) - stop))
            stop = None
    return out


def summary(ps):
    ms = sorted(p * 1000 for _, p in ps)
    if not ms:
        return "no checkpoints"
    return "%d checkpoints, pause min %.1f ms, median %.1f ms, max %.1f ms" % (
        len(ms), ms[0], ms[len(ms) // 2], ms[-1])


def cmd_start(a):
    pvm, svm = QMP(a.pvm), QMP(a.svm)
    took = start(pvm, svm, a.uri, a.delay)
    print("COLO state after %.1f s (primary %s, secondary %s)" %
          (took, colo_mode(pvm), colo_mode(svm)))


def cmd_pair(a):
    pvm, svm = QMP(a.pvm), QMP(a.svm)
    took = start(pvm, svm, a.uri, a.delay)
    print("COLO state after %.1f s" % took)
    since = len(pvm.events)
    deadline = time.monotonic() + a.timeout
    while len(pauses(pvm.events, since)) < a.count:
        if time.monotonic() > deadline:
            break
        pvm.poll(0.5)
    ps = pauses(pvm.events, since)
    for i, (_, p) in enumerate(ps):
        print("checkpoint %d: pause %.1f ms" % (i + 1, p * 1000))
    print(summary(ps))
    print("modes: primary %s, secondary %s" % (colo_mode(pvm),
                                               colo_mode(svm)))
    if len(ps) < a.count:
        print("only %d of %d checkpoints in %gs" % (len(ps), a.count,
                                                    a.timeout))
        return 1
    return 0


def genl_in(ns):
    """An nfcolo netlink socket in network namespace ns (ip netns name)."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(there, 0x40000000) != 0:      # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + ns)
        try:
            return nfcolo.GenlSocket()
        finally:
            libc.setns(home, 0x40000000)
    finally:
        os.close(home)
        os.close(there)


def cmd_drive(a):
    t0 = time.monotonic()
    pvm, svm = QMP(a.pvm), QMP(a.svm)
    print("colo: QMP of both VMs after %.1f s" % (time.monotonic() - t0),
          flush=True)
    index = nfcolo.u32(nfcolo.A["INDEX"], a.index)
    pri, sec = genl_in(a.primary_ns), genl_in(a.secondary_ns)
    mon = subprocess.Popen(["ip", "netns", "exec", a.primary_ns, a.coloctl,
                            "monitor", "--index", str(a.index)],
                           stdout=subprocess.PIPE, bufsize=0)
    ctl = os.open(a.ctl, os.O_RDWR | os.O_NONBLOCK)
    took = start(pvm, svm, a.uri, a.delay)
    print("colo: COLO state after %.1f s" % took, flush=True)
    done, requests, triggered, stop_t = 0, 0, False, None
    reasons = {}
    monbuf = ctlbuf = b""
    seen = len(pvm.events)
    alive = True
    while alive:
        r, _, _ = select.select([pvm._fd, mon.stdout, ctl], [], [], 1.0)
        if mon.stdout in r:
            monbuf += os.read(mon.stdout.fileno(), 4096)
            while b"\n" in monbuf:
                line, monbuf = monbuf.split(b"\n", 1)
                requests += 1
                print("colo: kernel: %s" % line.decode().strip(), flush=True)
                if not triggered:
                    pvm.cmd("migrate-set-parameters",
                            **{"x-checkpoint-delay": a.delay})
                    triggered = True
        if ctl in r:
            ctlbuf += os.read(ctl, 4096)
            while b"\n" in ctlbuf:
                line, ctlbuf = ctlbuf.split(b"\n", 1)
                what = line.decode().strip()
                if what == "checkpoint":
                    pvm.cmd("migrate-set-parameters",
                            **{"x-checkpoint-delay": a.delay})
                    triggered = True
                elif what == "failover":
                    failover(pvm, svm, sec, index)
                    alive = False
                elif what == "stop":
                    alive = False
                print("colo: did %s" % what, flush=True)
        if not alive:
            break
        if pvm._fd in r:
            pvm.poll(0.02)
        # Events may also have come while a command waited for its reply.
        while seen < len(pvm.events):
            ev = pvm.events[seen]
            seen += 1
            if ev["event"] == "STOP":
                stop_t = stamp(ev)
            elif ev["event"] == "RESUME" and stop_t is not None:
                # The SVM has the state: the kernel may release and
                # free what the checkpoint covers.
                sec.colo("DO_CHECKPOINT", index)
                pri.colo("DO_CHECKPOINT", index)
                lag = time.monotonic() - ev["_t"]
                done += 1
                why = "requested" if triggered else "periodic"
                reasons[why] = reasons.get(why, 0) + 1
                triggered = False
                print("colo: checkpoint %d (%s): pause %.1f ms, "
                      "kernel told %.1f ms after reading RESUME" %
                      (done, why, (stamp(ev) - stop_t) * 1000,
                       lag * 1000), flush=True)
                stop_t = None
    mon.terminate()
    mon.wait()
    print("colo: %s; %s; %d kernel requests" % (
        summary(pauses(pvm.events)),
        ", ".join("%d %s" % (v, k) for k, v in sorted(reasons.items())),
        requests), flush=True)
    return 0


def failover(pvm, svm, sec, index):
    """The primary QEMU dies; the secondary takes over."""
    t0 = time.monotonic()
    try:
        pvm.cmd("quit", timeout=5)
    except QMPError:
        pass    # it may be gone before it replies
    svm.cmd("x-colo-lost-heartbeat")
    deadline = time.monotonic() + 30
    while colo_mode(svm) != "none":
        if time.monotonic() > deadline:
            raise QMPError("the SVM stayed in COLO mode")
        svm.poll(0.05)
    sec.colo("DO_FAILOVER", index)
    status = svm.cmd("query-status")
    print("colo: failover in %.0f ms, SVM %s, COLO_EXIT %s" % (
        (time.monotonic() - t0) * 1000, status.get("status"),
        [e.get("data") for e in svm.events if e["event"] == "COLO_EXIT"]),
        flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("start", "pair"):
        p = sub.add_parser(name)
        p.add_argument("--pvm", required=True)
        p.add_argument("--svm", required=True)
        p.add_argument("--uri", required=True)
        p.add_argument("--delay", type=int, default=1000,
                       help="checkpoint period, ms")
        if name == "pair":
            p.add_argument("--count", type=int, default=20)
            p.add_argument("--timeout", type=float, default=120)
    p = sub.add_parser("drive")
    p.add_argument("--pvm", required=True)
    p.add_argument("--svm", required=True)
    p.add_argument("--uri", required=True)
    p.add_argument("--delay", type=int, default=1000)
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--primary-ns", required=True)
    p.add_argument("--secondary-ns", required=True)
    p.add_argument("--ctl", required=True)
    p.add_argument("--coloctl", default="coloctl")
    a = ap.parse_args()
    try:
        return {"start": cmd_start, "pair": cmd_pair,
                "drive": cmd_drive}[a.what](a) or 0
    except QMPError as e:
        print("colo.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
