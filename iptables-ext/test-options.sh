#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Option parsing tests for libxt_PMYCOLO.so and libxt_SECCOLO.so, with
# every iptables/ip6tables variant (legacy, nft) that is installed.
# Needs no COLO kernel module: each command runs in a new network namespace,
# so the host's rules are never touched, and a rule the kernel refuses only
# shows that parsing went through. Run as root (or where unshare -rn works)
# after `make`; `make check` does both.

set -u
cd "$(dirname "$0")" || exit 1

pass=0
fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# what the failed command printed, indented under its FAIL line
# shellcheck disable=SC2001 # a per-line prefix is what sed is for
show() { sed 's/^/    /' <<<"$out"; }

for so in libxt_PMYCOLO.so libxt_SECCOLO.so test-save; do
	[ -e "$so" ] || { echo "$so missing: run make first" >&2; exit 1; }
done

sysdir=$(pkg-config --variable=xtlibdir xtables 2>/dev/null)
[ -n "$sysdir" ] || sysdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null)/xtables
export XTABLES_LIBDIR="$PWD:$sysdir"

if [ "$(id -u)" = 0 ]; then
	NS="unshare -n"
else
	NS="unshare -rn"
fi
$NS true || { echo "cannot create a network namespace with '$NS'" >&2; exit 1; }

variants=()
for v in iptables-legacy iptables-nft ip6tables-legacy ip6tables-nft; do
	command -v "$v" >/dev/null && variants+=("$v")
done
if [ ${#variants[@]} -eq 0 ]; then
	for v in iptables ip6tables; do
		command -v "$v" >/dev/null && variants+=("$v")
	done
fi
[ ${#variants[@]} -gt 0 ] || { echo "no iptables found: apt-get install iptables" >&2; exit 1; }

out=
rc=0
# run IPT ARGS...: one command in a throwaway netns; sets $out (stdout and
# stderr) and $rc
run() {
	out=$($NS "$@" 2>&1)
	rc=$?
}

# expect_error DESC MESSAGE IPT ARGS...: rejected as a parameter problem,
# with MESSAGE in what it prints
expect_error() {
	local desc=$1 msg=$2
	shift 2
	run "$@"
	if [ "$rc" -eq 2 ] && grep -qF -- "$msg" <<<"$out"; then
		ok
	else
		bad "$1: $desc: want rc 2 and '$msg', got rc $rc:"
		show
	fi
}

# expect_parsed DESC PRINTED IPT ARGS...: parsing went through (the kernel
# may refuse the rule without the module: that is not exit code 2) and
# `-v` shows the target as PRINTED
expect_parsed() {
	local desc=$1 printed=$2
	shift 2
	run "$@"
	if [ "$rc" -ne 2 ] && grep -qE -- "(PMYCOLO|SECCOLO) .*[^ ] +$printed\$" <<<"$out"; then
		ok
	else
		bad "$1: $desc: want '$printed' printed, got rc $rc:"
		show
	fi
}

# expect_help IPT TARGET OPTION...: --help for TARGET lists every OPTION
expect_help() {
	local ipt=$1 tg=$2 opt
	shift 2
	run "$ipt" -t mangle -A PREROUTING -j "$tg" --help
	grep -qF "$tg target options:" <<<"$out" || { bad "$ipt: $tg --help: no '$tg target options:'"; return; }
	for opt in "$@"; do
		if grep -qE -- "^ +$opt " <<<"$out"; then
			ok
		else
			bad "$ipt: $tg --help does not list $opt"
			show
		fi
	done
}

# expect_roundtrip IPT TARGET VALUES...: what .save prints for VALUES is
# accepted by IPT-restore --test and parses back to what .print prints
expect_roundtrip() {
	local ipt=$1 tg=$2 saved printed
	shift 2
	run ./test-save "$tg" "$@"
	saved=$(sed -n 's/^save://p' <<<"$out")
	printed=$(sed -n 's/^print: *//p' <<<"$out")
	if [ "$rc" -ne 0 ] || [ -z "$saved" ]; then
		bad "test-save $tg $*: rc $rc: $out"
		return
	fi
	run "${ipt}-restore" --test <<<"*mangle
-A PREROUTING -j $tg$saved
COMMIT"
	if [ "$rc" -eq 0 ]; then
		ok
	else
		bad "$ipt-restore --test: '-j $tg$saved' refused, rc $rc:"
		show
	fi
	# shellcheck disable=SC2086 # $saved is a list of words on purpose
	expect_parsed "-j $tg$saved" "$printed" "$ipt" -v -t mangle -A PREROUTING -j "$tg" $saved
}

max=$(printf 'x%.0s' $(seq 15))

for ipt in "${variants[@]}"; do
	A=("$ipt" -t mangle -A PREROUTING)
	P=("${A[@]}" -j PMYCOLO)
	S=("${A[@]}" -j SECCOLO)

	expect_help "$ipt" PMYCOLO --index --forward-dev
	expect_help "$ipt" SECCOLO --index

	for tg in PMYCOLO SECCOLO; do
		T=("${A[@]}" -j "$tg")
		expect_error "no --index" "$tg: --index N is required" "${T[@]}"
		expect_error "--index 0" "$tg: --index 0 is out of range; expected 1-65535" "${T[@]}" --index 0
		expect_error "--index 65536" "$tg: --index 65536 is out of range" "${T[@]}" --index 65536
		expect_error "--index 2^64" "$tg: --index 18446744073709551616 is out of range" "${T[@]}" --index 18446744073709551616
		expect_error "--index abc" "$tg: --index \"abc\" is not a number" "${T[@]}" --index abc
		expect_error "--index -1" "$tg: --index \"-1\" is not a number" "${T[@]}" --index -1
		expect_error "--index 1x" "$tg: --index \"1x\" is not a number" "${T[@]}" --index 1x
		expect_error "--index 0x10" "$tg: --index \"0x10\" is not a number" "${T[@]}" --index 0x10
		expect_error "--index ' 1'" "$tg: --index \" 1\" is not a number" "${T[@]}" --index " 1"
		expect_error "--index ''" "$tg: --index \"\" is not a number" "${T[@]}" --index ""
		expect_error "--index twice" "$tg: option \"--index\" can only be used once" "${T[@]}" --index 1 --index 2
		expect_error "! --index" "$tg: option \"--index\" cannot be inverted" "${T[@]}" ! --index 1
		expect_error "--index without value" "option \"--index\" requires an argument" "${T[@]}" --index
		expect_parsed "--index 1" "index 1" "${T[@]}" -v --index 1
		expect_parsed "--index 65535" "index 65535" "${T[@]}" -v --index 65535
		expect_parsed "--index 007" "index 7" "${T[@]}" -v --index 007
	done

	expect_error "SECCOLO --forward-dev" "unknown option \"--forward-dev\"" "${S[@]}" --index 1 --forward-dev eth1

	expect_error "--forward-dev ''" "PMYCOLO: --forward-dev needs an interface name" "${P[@]}" --index 1 --forward-dev ""
	expect_error "--forward-dev 16 chars" "PMYCOLO: --forward-dev \"${max}y\": interface name must be shorter than 16 characters" "${P[@]}" --index 1 --forward-dev "${max}y"
	for dev in . .. a/b a:b "a b" "a	b"; do
		expect_error "--forward-dev '$dev'" "PMYCOLO: --forward-dev \"$dev\" is not a valid interface name" "${P[@]}" --index 1 --forward-dev "$dev"
	done
	expect_error "--forward-dev twice" "PMYCOLO: option \"--forward-dev\" can only be used once" "${P[@]}" --index 1 --forward-dev a --forward-dev b
	expect_error "! --forward-dev" "PMYCOLO: option \"--forward-dev\" cannot be inverted" "${P[@]}" --index 1 ! --forward-dev eth1
	expect_error "--forward-dev only" "PMYCOLO: --index N is required" "${P[@]}" --forward-dev eth1
	expect_parsed "--forward-dev 15 chars" "index 1 forward-dev $max" "${P[@]}" -v --index 1 --forward-dev "$max"
	expect_parsed "--forward-dev before --index" "index 2 forward-dev eth1" "${P[@]}" -v --forward-dev eth1 --index 2
	expect_parsed "with physdev, as Xen sets it up" "index 1" "${A[@]}" -v -m physdev --physdev-in vif1.0 -j PMYCOLO --index 1
	expect_parsed "SECCOLO with physdev" "index 1" "${A[@]}" -v -m physdev --physdev-in vif2.0 -j SECCOLO --index 1

	expect_roundtrip "$ipt" PMYCOLO 1
	expect_roundtrip "$ipt" PMYCOLO 65535 eth1
	expect_roundtrip "$ipt" PMYCOLO 42 "$max"
	expect_roundtrip "$ipt" SECCOLO 1
	expect_roundtrip "$ipt" SECCOLO 65535
done

echo "variants: ${variants[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
