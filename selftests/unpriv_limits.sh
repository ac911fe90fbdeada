#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What a user without privilege can hold. Any user may be root in a user
# and network namespace of their own (unshare -Urn), and CAP_NET_ADMIN
# there is all the nfcolo family asks. Such a user tries to exhaust the
# instances: the per-namespace limit (nf_conntrack_colo max_instances)
# answers with ENOSPC and a message naming the parameter, the host's own
# namespace is unaffected, and the user's namespace going away frees every
# instance it held. Its primaries start no kernel thread of their own.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip setpriv unshare
load_colo_modules || { fail "load modules"; ksft_exit; }
ALIVE=/sys/module/nf_conntrack_colo/parameters/instances
MAX=/sys/module/nf_conntrack_colo/parameters/max_instances
[[ -r $ALIVE && -r $MAX ]] || fail "nf_conntrack_colo shows instances and max_instances"
max=$(cat "$MAX" 2>/dev/null || echo 256)
base=$(cat "$ALIVE" 2>/dev/null || echo 0)
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${nobody[@]}" unshare -Urn true 2>/dev/null ||
	skip "unprivileged user namespaces are disabled here"

out=$("${nobody[@]}" unshare -Urn python3 \
	"$PROJECT_DIR/selftests/unpriv_limits.py" $((max + 64)) 2>&1)
echo "$out"
check "an unprivileged user's namespace holds at most max_instances ($max)" \
	'grep -qx "created $max" <<<"$out"'
check "... and the limit says so: ENOSPC, naming max_instances" \
	'grep -q "^limit ENOSPC .*max_instances" <<<"$out"'

# Its namespace is gone with the process: cleanup runs in a work item.
back_to_base() { (($(cat "$ALIVE") == base)); }
for _ in $(seq 300); do back_to_base && break; sleep 0.1; done
check "the user's namespace deleted: every instance freed ($(cat "$ALIVE") left, $base before)" \
	back_to_base

marker="unpriv_limits: churn $$"
echo "$marker" >/dev/kmsg
check "200 owned secondaries whose socket closes, unprivileged" \
	'"${nobody[@]}" unshare -Urn python3 "$PROJECT_DIR/selftests/unpriv_limits.py" churn 200'
lines=$(dmesg | sed -n "/$marker/,\$p" | grep -c "owner socket closed, failed over")
check "... logged $lines times: ratelimited (at most 60 lines)" "((lines > 0 && lines <= 60))"

# Every primary instance is served by xt_PMYCOLO's pool of compare threads,
# one per online CPU: a user's primaries cost no kernel thread.
pool=$(pgrep -c '^colo_pmy/')
check "xt_PMYCOLO's compare pool: one thread per online CPU ($pool, $(nproc) CPUs)" \
	'((pool == $(nproc)))'
out=$("${nobody[@]}" unshare -Urn sh -c 'for i in $(seq 32); do
	"$1" init "$i" --mode primary >/dev/null || exit 1; done
	pgrep -c "^colo_pmy/"' sh "$COLOCTL" 2>&1)
check "an unprivileged user's 32 primaries start no thread ($out colo_pmy threads)" \
	'[[ $out == "$pool" ]]'

mkns host
check "the host's own namespaces still create instances" \
	'ip netns exec "$host" "$COLOCTL" init 1 --mode primary &&
	 ip netns exec "$host" "$COLOCTL" destroy 1'
check "every module unloads" "unload_colo_modules && ! lsmod | grep -q colo"
ksft_exit
