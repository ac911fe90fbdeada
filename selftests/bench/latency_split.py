#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where the time of a request/response transaction goes on the primary
host, for latency_bench.sh.

    latency_split.py match MODE ROUND PCAP TIMES [SIZE]
        (in the primary's namespace: its devices' ifindexes are looked up)
    latency_split.py report ROWS

match reads one capture of the primary host (tcpdump -i any -y LINUX_SLL2,
nanosecond timestamps) taken while reqresp.py ran one connection of SIZE
(64) byte transactions to the echo port, and reqresp.py's --times file.
Each transaction is found at every point by its TCP sequence number
relative to the first data segment of that point (the secondary shifts
the SVM's numbers by a constant, seqadj), its bytes checked against what
reqresp.py sends:
    req   the request arrives on eth0 from the client
    topvm the request leaves on vif for the PVM
    tosvm the mirror's copy of it leaves on eth1 (MODE on only)
    pvm   the PVM's reply arrives on vif
    svm   the SVM's reply arrives on eth1 (MODE on only)
    out   the reply leaves on eth0
A retransmission keeps the first sighting. Prints one line per
transaction seen at every point: "t MODE ROUND I CLIENT REQ PVM SVM OUT
TOPVM TOSVM" (nanoseconds; SVM and TOSVM "-" for MODE off); exits 1 when fewer than half of the
transactions were matched.

report reads those lines with "c MODE ROUND NS" (the client's times of
the runs without capture) and "r MODE KIND ROUND PER_SECOND" (rates; KIND
plain or captured) and prints the breakdown.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pcap  # noqa: E402

PORT = 7


def expected(i, size):
    """What reqresp.py sends (and the echo returns) in transaction i."""
    return bytes((i * 7 + k) & 0xff for k in range(size))


def match(mode, rnd, path, times_path, size=64):
    with open(times_path) as f:
        client = [int(x) for x in f.read().split()]
    ifx = {socket.if_nametoindex(n): n for n in ("vif", "eth0", "eth1")}
    segs = [(ns, ifx.get(ifi), out, s)
            for ns, ifi, out, s in pcap.timed_segments(path)
            if s.payload and PORT in (s.sport, s.dport)]
    # The transactions' connection: the client port with most replies.
    ports = {}
    for _, _, _, s in segs:
        if s.sport == PORT:
            ports[s.dport] = ports.get(s.dport, 0) + 1
    if not ports:
        sys.exit("latency_split.py: no reply in %s" % path)
    cport = max(ports, key=ports.get)
    points = {
        "req": lambda dev, out, s: dev == "eth0" and not out and s.sport == cport,
        "topvm": lambda dev, out, s: dev == "vif" and out and s.sport == cport,
        "tosvm": lambda dev, out, s: dev == "eth1" and out and s.sport == cport,
        "pvm": lambda dev, out, s: dev == "vif" and not out and s.dport == cport,
        "svm": lambda dev, out, s: dev == "eth1" and not out and s.dport == cport,
        "out": lambda dev, out, s: dev == "eth0" and out and s.dport == cport,
    }
    if mode == "off":
        del points["svm"], points["tosvm"]
    seen, bad, bases = {}, {}, {}
    for name, want in points.items():
        at, base = {}, None
        for ns, dev, out, s in segs:
            if not want(dev, out, s):
                continue
            if base is None:
                base = bases[name] = s.seq
            rel = (s.seq - base) & 0xffffffff
            i = rel // size
            if rel % size or len(s.payload) != size or \
                    s.payload != expected(i, size):
                bad[name] = bad.get(name, 0) + 1
                continue
            at.setdefault(i, ns)
        seen[name] = at
    n = 0
    for i, c in enumerate(client):
        if not all(i in seen[p] for p in points):
            continue
        n += 1
        print("t %s %s %d %d %d %d %s %d %d %s" % (
            mode, rnd, i, c, seen["req"][i], seen["pvm"][i],
            seen["svm"][i] if "svm" in seen else "-", seen["out"][i],
            seen["topvm"][i], seen["tosvm"][i] if "tosvm" in seen else "-"))
    print("%s round %s: %d of %d transactions matched at %s (%s); segments"
          " not matching a transaction: %s" % (
              mode, rnd, n, len(client), ", ".join(points),
              ", ".join("%s %d" % (p, len(seen[p])) for p in points),
              bad or "none"), file=sys.stderr)
    if "svm" in bases and "pvm" in bases:
        shift = (bases["svm"] - bases["pvm"]) & 0xffffffff
        print("  the SVM's replies on eth1: sequence numbers %s" % (
            "the PVM's (the secondary's seqadj already applied)" if not shift
            else "the PVM's + %d" % shift), file=sys.stderr)
    if 2 * n < len(client):
        sys.exit(1)


def pct(xs, q):
    """The q-quantile of xs (nearest rank)."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def report(path):
    t = {"off": [], "on": []}
    plain = {"off": [], "on": []}
    rates = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "t":
                v = [int(x) if x != "-" else None for x in w[4:]]
                t[w[1]].append(v)
            elif w[0] == "c":
                plain[w[1]].append(int(w[3]))
            elif w[0] == "r":
                rates.setdefault((w[1], w[2]), []).append(float(w[4]))
    us = 1e-3
    comp = {m: {} for m in t}
    for m, rows in t.items():
        c = comp[m]
        c["plain"] = [x * us for x in plain[m]]
        c["client"] = [r[0] * us for r in rows]
        c["outside"] = [(r[0] - (r[4] - r[1])) * us for r in rows]
        c["pvm"] = [(r[2] - r[1]) * us for r in rows]
        c["bridge_in"] = [(r[5] - r[1]) * us for r in rows]
        c["pvm_self"] = [(r[2] - r[5]) * us for r in rows]
        if m == "on":
            c["mirror"] = [(r[6] - r[1]) * us for r in rows]
        if m == "on":
            c["wait"] = [max(0, r[3] - r[2]) * us for r in rows]
            c["svm_lag"] = [(r[3] - r[2]) * us for r in rows]
            c["vif_eth0"] = [(r[4] - max(r[2], r[3])) * us for r in rows]
        else:
            c["wait"] = [0.0] * len(rows)
            c["vif_eth0"] = [(r[4] - r[2]) * us for r in rows]
    names = [
        ("plain", "client: transaction, no capture"),
        ("client", "client: transaction, captured"),
        ("outside", "  outside the primary host"),
        ("pvm", "  request on eth0 -> PVM's reply on vif"),
        ("bridge_in", "    eth0 -> vif (bridge, the mirror first)"),
        ("pvm_self", "    vif -> vif (the PVM's answer)"),
        ("mirror", "    (eth0 -> eth1: the mirror's copy out)"),
        ("wait", "  waiting for the SVM's copy"),
        ("vif_eth0", "  vif -> eth0 (transit / release)"),
        ("svm_lag", "svm_lag = t_svm - t_pvm (signed)"),
    ]
    print("\nPer transaction, us (%d / %d transactions without / with the"
          " proxy; captured: %d / %d)" % (
              len(comp["off"]["plain"]), len(comp["on"]["plain"]),
              len(comp["off"]["client"]), len(comp["on"]["client"])))
    print("%-40s %24s %24s %16s" % ("", "no proxy", "PMYCOLO", "added"))
    print("%-40s %8s %7s %8s %8s %7s %8s %8s %7s" % (
        "", "median", "p90", "mean", "median", "p90", "mean", "mean", "median"))

    def col(xs):
        if not xs:
            return "%8s %7s %8s" % ("-", "-", "-")
        return "%8.0f %7.0f %8.1f" % (pct(xs, .5), pct(xs, .9), mean(xs))
    for key, label in names:
        a, b = comp["off"].get(key), comp["on"].get(key)
        added = "%8.1f %7.0f" % (mean(b) - mean(a), pct(b, .5) - pct(a, .5)) \
            if a and b else ""
        print("%-40s %s %s %s" % (label, col(a), col(b), added))

    lag = comp["on"].get("svm_lag", [])
    if lag:
        print("the SVM's copy came later than the PVM's in %.0f%% of the"
              " transactions" % (100 * sum(x > 0 for x in lag) / len(lag)))
    d = {k: mean(comp["on"][k]) - mean(comp["off"][k])
         for k in ("plain", "client", "outside", "pvm", "wait", "vif_eth0",
                   "bridge_in", "pvm_self")}
    host = d["pvm"] + d["wait"] + d["vif_eth0"]
    print("\nThe added time per transaction (means; captured runs, where"
          " the parts add up exactly: outside = client - (eth0 out - eth0 in)):")
    for key, label in (("wait", "waiting for the SVM's copy (topology, SVM)"),
                       ("vif_eth0", "the proxy's release (minus transit)"),
                       ("pvm", "the request to the PVM's reply on vif"),
                       ("bridge_in", "  of it eth0 -> vif (bridge, mirror)"),
                       ("pvm_self", "  of it the PVM's answer (vif -> vif)"),
                       ("outside", "outside the primary host")):
        print("  %-46s %8.1f us %5.0f%%" % (
            label, d[key], 100 * d[key] / d["client"] if d["client"] else 0))
    print("  %-46s %8.1f us" % ("sum (captured client difference)", d["client"]))
    print("Without capture the client's difference is %.1f us; the primary"
          " host's three parts (%.1f us) are %.0f%% of it." % (
              d["plain"], host, 100 * host / d["plain"] if d["plain"] else 0))

    print("\n%-40s %10s %10s %8s" % ("transactions/s (mean of rounds)",
                                     "no proxy", "PMYCOLO", "ratio"))
    for kind in ("plain", "captured"):
        a, b = rates.get(("off", kind)), rates.get(("on", kind))
        if a and b:
            print("%-40s %10.0f %10.0f %7.0f%%" % (
                "no capture" if kind == "plain" else "under capture",
                mean(a), mean(b), 100 * mean(b) / mean(a)))
    a, b = rates.get(("off", "plain")), rates.get(("on", "plain"))
    if a and b:
        off_us, on_us = 1e6 / mean(a), 1e6 / mean(b)
        for label, cut in (("were the release as fast as transit",
                            d["vif_eth0"]),
                           ("and no wait for the SVM either",
                            d["vif_eth0"] + d["wait"])):
            r = 1e6 / (on_us - cut)
            print("%-40s %10s %10.0f %7.0f%%" % (
                "  " + label, "", r, 100 * r / mean(a)))
    print("the capture's cost: %s" % ", ".join(
        "%s %.0f -> %.0f/s (%.0f%%)" % (
            "no proxy" if m == "off" else "PMYCOLO",
            mean(rates[(m, "plain")]), mean(rates[(m, "captured")]),
            100 * mean(rates[(m, "captured")]) / mean(rates[(m, "plain")]))
        for m in ("off", "on")
        if rates.get((m, "plain")) and rates.get((m, "captured"))))


def main():
    args = sys.argv[1:]
    if len(args) >= 5 and args[0] == "match":
        match(args[1], args[2], args[3], args[4],
              int(args[5]) if len(args) > 5 else 64)
    elif len(args) == 2 and args[0] == "report":
        report(args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
