#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Adversarial control plane: nfcolo_fuzz.py sends random and mutated
# messages on the nfcolo generic netlink family and on raw protocol 28 for
# NFCOLO_FUZZ_SECS (default 40) seconds in all, split between
#   root in a namespace of its own,
#   an unprivileged user who is root in a user namespace (unshare -Urn),
#   an unprivileged user in root's namespace (every change refused),
# with xt_PMYCOLO and xt_SECCOLO loaded so that instances get their data
# path. The guest fails the run on any oops or WARN (and slub_debug reports);
# afterwards the instance count and the modules' reference counts must be
# back where they started, slab usage near it, and every module unloads.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip setpriv unshare
load_colo_modules || { fail "load modules"; ksft_exit; }
FUZZ=$PROJECT_DIR/selftests/nfcolo_fuzz.py
ALIVE=/sys/module/nf_conntrack_colo/parameters/instances
secs=${NFCOLO_FUZZ_SECS:-40}
part=$((secs / 3 > 0 ? secs / 3 : 1))
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

refcnts() {
	local m
	for m in nf_conntrack_colo nfnetlink_colo xt_PMYCOLO xt_SECCOLO; do
		printf '%s=%s ' "$m" "$(cat /sys/module/$m/refcnt 2>/dev/null)"
	done
}
slab_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo
}

# A first namespace's setup allocates what stays (per-cpu chunks, caches):
# take the baseline after one.
mkns warm
ip netns exec "$warm" python3 "$FUZZ" 1 1 >/dev/null
ip netns del "$warm"
mkns ns
base_alive=$(cat "$ALIVE")
base_ref=$(refcnts)
base_slab=$(slab_kb)

check "root in its own namespace: ${part}s of fuzzing, the family still answers" \
	'ip netns exec "$ns" python3 "$FUZZ" "$part" 1'
if "${nobody[@]}" unshare -Urn true 2>/dev/null; then
	check "unprivileged, root of its own user namespace: ${part}s" \
		'"${nobody[@]}" unshare -Urn python3 "$FUZZ" "$part" 2'
else
	echo "# unprivileged user namespaces disabled: that part is skipped"
fi
check "unprivileged in root's namespace: ${part}s" \
	'ip netns exec "$ns" "${nobody[@]}" python3 "$FUZZ" "$part" 3'

# What the root run left (persistent instances) goes with its namespace.
ip netns del "$ns"
back() { [[ $(cat "$ALIVE") == "$base_alive" && $(refcnts) == "$base_ref" ]]; }
for _ in $(seq 300); do back && break; sleep 0.1; done
check "instances back to $base_alive (now $(cat "$ALIVE")), module references back ($(refcnts))" back
slab=$(slab_kb)
echo "# unreclaimable slab: $base_slab kB before, $slab kB after"
check "unreclaimable slab within 4 MB of the baseline" \
	'((slab - base_slab < 4096))'
check "every module unloads" "unload_colo_modules && ! lsmod | grep -q colo"
ksft_exit
