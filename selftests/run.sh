#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Selftest suite driver, run as root INSIDE the test guest:
#   selftests/vm/run.sh -- selftests/run.sh [-t SECS] [TEST...]
# Runs each TEST (default: every selftests/*.sh but this one) with a
# timeout: -t or KSFT_TIMEOUT (300 s), or more for a test whose header says
# "# timeout: SECS" because its work is long by nature (kselftest's
# per-test "settings" file does the same). Exit 0 = pass, 4 = skip,
# anything else = fail; a kernel warning logged while a test ran fails it
# too. Prints TAP-like lines with each test's duration, the output of
# failed tests (of all with KSFT_VERBOSE=1), and lastly "N passed, N
# failed, N skipped". Exits 0 only if nothing failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/.." && pwd)
# shellcheck source=selftests/lib/kwarn.sh
source "$here/lib/kwarn.sh"

timeout_s=${KSFT_TIMEOUT:-300}
# KSFT_VERBOSE=1: the output of passing tests too (their figures).
verbose=$((${KSFT_VERBOSE:-0} == 1))
force=0
while (($#)); do
	case $1 in
	-t) timeout_s=${2:?}; shift 2 ;;
	-f) force=1; shift ;;
	-h|--help)
		echo "usage: selftests/run.sh [-t SECS] [-f] [TEST...]" >&2
		exit 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done

# The tests load modules and reconfigure netfilter: keep them off the host.
if [[ -z ${COLO_VM:-} ]] && ((!force)); then
	echo "selftests/run.sh: runs in the test guest: selftests/vm/run.sh -- $0 $*" >&2
	echo "selftests/run.sh: (-f runs here anyway)" >&2
	exit 2
fi

tests=()
if (($#)); then
	for t in "$@"; do
		[[ -f $t ]] || t=$here/${t%.sh}.sh
		[[ -f $t ]] || { echo "selftests/run.sh: no test $1" >&2; exit 2; }
		tests+=("$t")
	done
else
	for t in "$here"/*.sh; do
		[[ $t -ef "${BASH_SOURCE[0]}" || ! -f $t ]] && continue
		tests+=("$t")
	done
fi

# The kernel options the tests need (selftests/config) that this one lacks.
missing=$(bash -c 'source "$1/lib/guest.sh" && kernel_config_missing' _ "$here")
[[ -n $missing ]] && echo "# the kernel lacks what selftests/config lists: ${missing//$'\n'/, }"

# dmesg needs root; without it (a plain user with -f) skip the check.
kmsg_ok=0
[[ -w /dev/kmsg ]] && dmesg >/dev/null 2>&1 && kmsg_ok=1

passed=0 failed=0 skipped=0 n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$project" || exit 1

echo "TAP version 13"
echo "1..${#tests[@]}"
for t in "${tests[@]}"; do
	n=$((n + 1))
	name=$(basename "$t" .sh)
	# A marker in the kernel log: what comes after it is this test's.
	marker="colo-selftest: $n $name start ($$)"
	((kmsg_ok)) && echo "$marker" >/dev/kmsg

	t_s=$(sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	((${t_s:-0} > timeout_s)) || t_s=$timeout_s
	t0=$SECONDS
	# timeout leads a process group of its own: what the test leaves
	# running is still in it afterwards, and would write into the next
	# test's log and hold its namespaces. Say so, and end it.
	timeout -k 10 "$t_s" bash "$t" </dev/null >"$log" 2>&1 &
	group=$!
	wait "$group"
	rc=$?
	took="$((SECONDS - t0)) s"
	if left=$(pgrep -g "$group" -a); then
		echo "# $name left processes running, killed: ${left//$'\n'/; }"
		kill -KILL -- "-$group" 2>/dev/null
	fi

	kwarn=
	if ((kmsg_ok)); then
		# If the marker scrolled out of the ring buffer, scan all of it.
		kwarn=$(dmesg | awk -v m="$marker" '
			index($0, m) { hit = 1; buf = ""; next }
			{ buf = buf $0 "\n" }
			END { printf "%s", buf }' | kwarn_scan) || kwarn=
	fi

	if [[ -n $kwarn ]]; then
		echo "not ok $n $name # kernel warning (exit $rc, took $took)"
		failed=$((failed + 1))
		sed 's/^/# /' "$log"
		echo "# kernel log:"
		printf '%s\n' "$kwarn" | sed 's/^/# | /'
	elif ((rc == 0)); then
		echo "ok $n $name # took $took"
		((verbose)) && sed 's/^/# /' "$log"
		passed=$((passed + 1))
	elif ((rc == 4)); then
		why=$(grep -m1 -o 'SKIP:.*' "$log" | sed 's/^SKIP: *//')
		echo "ok $n $name # SKIP${why:+ $why} (took $took)"
		skipped=$((skipped + 1))
	else
		if ((rc == 124 || rc == 137)); then
			echo "not ok $n $name # TIMEOUT after ${t_s}s"
		else
			echo "not ok $n $name # exit $rc, took $took"
		fi
		failed=$((failed + 1))
		sed 's/^/# /' "$log"
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
