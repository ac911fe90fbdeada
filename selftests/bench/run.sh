#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench` in one guest boot: each benchmark named (default: compare,
# instances and colo), one after the other, each printing its own figures.
# Exits 1 when one of them did not run (a failed leg, nothing out); speed
# is never judged here.
#   compare   the comparator against QEMU's colo-compare and no proxy,
#             and the cost per packet as concurrent flows grow
#   instances the cost per packet as PMYCOLO's instances grow
#   colo      bulk and request/response on the COLO topology
#   profile   where the CPU the proxy adds per packet goes (perf on colo's
#             bulk download and on compare's rig; not in the default
#             list: ~6 min more)
#   latency   where the time request/response adds through the proxy goes
#             (captures on the primary host; not in the default list)
dir=$(dirname "$0")
rc=0
# What the figures depend on (make bench boots without slub_debug).
echo "guest: $(nproc) CPUs, $(uname -r)," \
	"$(grep -o 'slub_debug=[^ ]*' /proc/cmdline || echo 'no slub_debug')"
for name in "${@:-compare instances colo}"; do
	for b in $name; do
		echo "=== bench: $b ==="
		"$dir/${b}_bench.sh" || { echo "=== bench $b: did not run through ==="; rc=1; }
	done
done
exit "$rc"
