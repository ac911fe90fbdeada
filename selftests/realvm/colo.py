#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Start QEMU 7.2's COLO frame over QMP for the real-VM selftests.

  colo.py start --pvm QMP --svm QMP --uri URI [--delay MS]
      the primary starts COLO: x-colo on (the primary only, enough on 7.2),
      the checkpoint period, migrate to the SVM (started with -incoming);
      returns once both report COLO mode.
  colo.py pair --pvm QMP --svm QMP --uri URI --count N [--delay MS]
      start, then wait for N periodic checkpoints, printing each pause.
  colo.py period --pvm QMP --delay MS
      set the checkpoint period (x-checkpoint-delay); in COLO state QEMU
      also starts a checkpoint at once, as a management tool's request.
  colo.py query --pvm QMP
      print query-colo-status and query-status.

In the selftests the colo-qemu-agent of each host owns that VM's first QMP
monitor; this script uses each VM's second one. QMP is a unix socket or a
character device (selftests/lib/qmp.py). A checkpoint shows as the events
STOP then RESUME; the pause is the time between the two.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from qmp import QMP, QMPError  # noqa: E402


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


def cmd_period(a):
    pvm = QMP(a.pvm)
    pvm.cmd("migrate-set-parameters", **{"x-checkpoint-delay": a.delay})
    print("checkpoint period %d ms" % a.delay)


def cmd_query(a):
    pvm = QMP(a.pvm)
    print("colo %s, status %s" % (pvm.cmd("query-colo-status"),
                                  pvm.cmd("query-status")))


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
    p = sub.add_parser("period")
    p.add_argument("--pvm", required=True)
    p.add_argument("--delay", type=int, required=True)
    p = sub.add_parser("query")
    p.add_argument("--pvm", required=True)
    a = ap.parse_args()
    try:
        return {"start": cmd_start, "pair": cmd_pair, "period": cmd_period,
                "query": cmd_query}[a.what](a) or 0
    except QMPError as e:
        print("colo.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
