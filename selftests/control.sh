#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Control-plane round trips through coloctl: INIT, status, CHECKPOINT,
# FAILOVER, RESET, DESTROY, the errors an operator sees, and who may do what.
source "$(dirname "$0")/lib/guest.sh"

require_cmd python3 ip setpriv
load_colo_modules
mkns ns

c() { ip netns exec "$ns" "$COLOCTL" "$@"; }

# json EXPR: evaluate EXPR on the JSON document read from stdin (as d).
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# json1 EXPR: the same on the one element of a JSON array (status INDEX).
json1() { python3 -c 'import json,sys; [d]=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# st INDEX EXPR: EXPR evaluated on instance INDEX's JSON status (as d).
st() { c status "$1" --json | json1 "$2"; }

# expect_fail WHAT TEXT CMD...: CMD must exit 1 and say TEXT on stderr.
expect_fail() {
	local what=$1 text=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [[ $rc -eq 1 && $out == *"$text"* ]]; then
		pass "$what"
	else
		fail "$what: exit $rc, output '$out' (want exit 1 and '$text')"
	fi
}

c init 1 --mode primary --timeout 500 --queue-limit 64
expect "init: primary with its settings" "primary active True 500 64 False" \
	st 1 '"%s %s %s %s %s %s" % (d["mode"], d["state"], d["persistent"], d["compare_timeout_ms"], d["queue_limit"], d["checkpoint_pending"])'
expect_fail "second init of an index: EEXIST with the kernel's reason" \
	"already exists" c init 1 --mode secondary
c init 2 --mode secondary
all_indices() { c status --json | json '[i["index"] for i in d]'; }
expect "status dumps every instance in index order" "[1, 2]" all_indices
expect "secondary gets the default primary settings untouched" "secondary 3000" \
	st 2 '"%s %s" % (d["mode"], d["compare_timeout_ms"])'
c checkpoint 1
c checkpoint 1
expect "checkpoint done is counted" "2" \
	st 1 'd["stats"]["checkpoints_done"]'
c failover 2
expect "failover: state and counter" "failed-over 1" \
	st 2 '"%s %s" % (d["state"], d["stats"]["failovers"])'
expect_fail "failover twice: EALREADY" "already failed over" c failover 2
expect_fail "checkpoint after failover: refused" "failed over" c checkpoint 2
c reset 2
expect "reset: active again, counters from zero" "active 0" \
	st 2 '"%s %s" % (d["state"], d["stats"]["failovers"])'
c destroy 1
expect_fail "status of a destroyed index: ENOENT" "no proxy instance" c status 1
expect_fail "destroy of an unknown index: ENOENT" "no proxy instance" c destroy 1
for cmd in reset checkpoint failover; do
	expect_fail "$cmd of an unknown index: ENOENT" "no proxy instance" c "$cmd" 9
done

human=$(c status 2)
if [[ $human == *secondary* && $human == *active* ]]; then
	pass "human status names mode and state"
else
	fail "human status: '$human'"
fi

nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
	--bounding-set=-all)
expect_fail "non-admin init: EPERM" "Operation not permitted" \
	ip netns exec "$ns" "${nobody[@]}" "$COLOCTL" init 3 --mode primary
expect_fail "non-admin destroy: EPERM" "Operation not permitted" \
	ip netns exec "$ns" "${nobody[@]}" "$COLOCTL" destroy 2
if ip netns exec "$ns" "${nobody[@]}" "$COLOCTL" status 2 >/dev/null; then
	pass "non-admin may read status"
else
	fail "non-admin status was refused"
fi
c destroy 2
ksft_exit
