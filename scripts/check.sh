#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The body of 'make check' (after 'make deps'): build everything for the
# guest's kernel, run the userspace unit tests, the style gates (make lint:
# checkpatch, sparse, W=1; shellcheck on every shell script), build the
# Debian packages and lint them (selftests/debian_pkg.sh installs them in
# the guest), then every selftest in one QEMU guest and the real COLO pair
# (realvm.sh) in a second one. Ends with one line
# "N passed, N failed, N skipped" adding them all up, and exits non-zero if
# anything failed or did not run.
#   VM_TIMEOUT    whole guest run, seconds (default 3600: debian_pkg.sh's
#                 DKMS build under TCG takes minutes of it)
#   KSFT_TIMEOUT  one selftest, seconds (default 300)
#   TESTS         selftests to run (default: all)
#   COLO_DEB_TEST 1 runs debian_pkg.sh too (DKMS under TCG: 7 minutes on
#                 an idle host, so it is skipped unless asked for)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
mkdir -p build
passed=0 failed=0 skipped=0
# Each step's line says when it ended: where the minutes of a run go.
t_check=$SECONDS

# add LOG LABEL RC: add up the counts of LOG's summary lines (one per
# suite). A step that failed without saying so (crash, timeout, build
# error) counts as a failure.
add() {
	local line p=0 f=0 s=0 lp lf ls
	while read -r line; do
		line=${line#*: }
		lp=0 lf=0 ls=0
		read -r lp _ lf _ ls _ <<<"${line//,/}"
		p=$((p + lp)) f=$((f + lf)) s=$((s + ${ls:-0}))
	done < <(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$1")
	if (($3 != 0 && f == 0)); then
		echo "# $2 failed (exit $3) beyond its own count: counted as 1 failure"
		f=1
	fi
	echo "# $2: $p passed, $f failed, $s skipped (at $((SECONDS - t_check)) s)"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

# The modules must match the kernel that the guest boots, whatever KDIR
# the plain build would pick.
kver=$(scripts/kver.sh) || exit 1
# kbuild's steps and the gates' compiles spread over every CPU.
jobs=-j$(nproc)
echo "# building for $kver"
if ! make "$jobs" all KDIR="/lib/modules/$kver/build"; then
	echo "# build failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# The fuzz run, shellcheck and checkpatch keep one CPU busy each for 15 to
# 30 s: they run beside the unit tests and the other lint gates, and report
# after them.
# bg_start NAME CMD...: run CMD into build/NAME.log, its status into
# build/NAME.rc.
declare -A bg_pids
bg_start() {
	local name=$1
	shift
	rm -f "build/$name.rc"
	{ "$@" >"build/$name.log" 2>&1; echo $? >"build/$name.rc"; } &
	bg_pids[$name]=$!
}
# bg_report NAME LABEL: wait for NAME, print its log and add it up.
bg_report() {
	wait "${bg_pids[$1]}"
	cat "build/$1.log"
	add "build/$1.log" "$2" "$(cat "build/$1.rc" 2>/dev/null || echo 1)"
}
bg_start fuzz make --no-print-directory fuzz-run
bg_start shellcheck scripts/shellcheck.sh
bg_start lint-checkpatch make --no-print-directory checkpatch

make --no-print-directory unit-tests 2>&1 | tee build/unit.log
add build/unit.log "unit tests" "${PIPESTATUS[0]}"

# make lint's three gates, each one test: clean, or a failure.
for gate in sparse w1 checkpatch; do
	if [[ $gate == checkpatch ]]; then
		# Started above, beside the unit tests; this loop is a subshell
		# (the pipe), which cannot wait for it: its status file says.
		while [[ ! -s build/lint-checkpatch.rc ]] &&
			kill -0 "${bg_pids[lint-checkpatch]}" 2>/dev/null; do
			sleep 0.2
		done
		rc=$(cat build/lint-checkpatch.rc 2>/dev/null || echo 1)
	else
		make --no-print-directory "$jobs" "$gate" \
			KDIR="/lib/modules/$kver/build" >"build/lint-$gate.log" 2>&1
		rc=$?
	fi
	if ((rc == 0)); then
		echo "ok: make $gate"
		echo "lint: 1 passed, 0 failed"
	else
		tail -n 40 "build/lint-$gate.log"
		echo "FAIL: make $gate (build/lint-$gate.log)"
		echo "lint: 0 passed, 1 failed"
	fi
done 2>&1 | tee build/lint.log
add build/lint.log "make lint" "${PIPESTATUS[0]}"

bg_report fuzz "fuzz run"
bg_report shellcheck "shellcheck"

# Before the guest boots: it installs these packages.
scripts/deb-check.sh 2>&1 | tee build/deb-check.log
add build/deb-check.log "debian packages" "${PIPESTATUS[0]}"

# The VM runner itself: a guest that locks up or dies must end the run at
# once, saying which selftest it was in.
tests/vm-run-test.sh 2>&1 | tee build/vm-run-test.log
add build/vm-run-test.log "the VM runner" "${PIPESTATUS[0]}"

# Every selftest in one guest, but the real COLO pair (realvm.sh): it needs
# a guest of its own with the pair's two QEMU VMs beside it, and runs there
# after the others.
main_tests=() pair_tests=()
wanted=${TESTS:-}
if [[ -z $wanted ]]; then
	for t in selftests/*.sh; do
		[[ $t == selftests/run.sh ]] || wanted+=" $(basename "$t" .sh)"
	done
fi
for t in $wanted; do
	if [[ ${t%.sh} == realvm ]]; then
		pair_tests+=(realvm)
	else
		main_tests+=("$t")
	fi
done
if ((${#main_tests[@]})); then
	selftests/vm/run.sh -t "${VM_TIMEOUT:-3600}" -k "$kver" \
		-e "KSFT_TIMEOUT=${KSFT_TIMEOUT:-300}" \
		-e "COLO_DEB_TEST=${COLO_DEB_TEST:-0}" \
		-- selftests/run.sh "${main_tests[@]}" 2>&1 | tee build/selftests.log
	add build/selftests.log "selftests" "${PIPESTATUS[0]}"
fi
if ((${#pair_tests[@]})); then
	selftests/vm/run.sh -t "${VM_TIMEOUT:-3600}" -k "$kver" --colo-vms \
		-e "KSFT_TIMEOUT=${KSFT_TIMEOUT:-300}" \
		-- selftests/run.sh "${pair_tests[@]}" 2>&1 | tee build/realvm.log
	add build/realvm.log "the real COLO pair" "${PIPESTATUS[0]}"
fi

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
