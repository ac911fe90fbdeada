#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests/lib/guest.sh, on the host, where nothing is loaded or installed:
# - a selftest whose modules cannot load stops right there, failing, with a
#   line that says why (not with a later, puzzling failure);
# - kernel_config_missing names the options of selftests/config that a
#   kernel config lacks, and nothing for one that has them all;
# - selftests/config lists only options that the guest's stock kernel has.
# Ends with "guestlib: N passed, N failed".
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A selftest in miniature, in a tree with no built module.
cat >"$tmp/t.sh" <<'EOF'
source selftests/lib/guest.sh
PROJECT_DIR=$1
load_colo_modules
echo "went on after load_colo_modules"
EOF
mkdir -p "$tmp/tree/selftests"
cp selftests/config "$tmp/tree/selftests/"
out=$(bash "$tmp/t.sh" "$tmp/tree" 2>&1)
rc=$?
if ((rc == 1)) && [[ $out == *"FAIL: the COLO modules do not load: no built module in $tmp/tree"* &&
	$out != *"went on"* ]]; then
	ok "a test whose modules are not built stops with a FAIL line that says why"
else
	bad "missing modules: exit $rc, output: $out"
fi

# kernel_config_missing against made-up configs.
grep '^CONFIG_' selftests/config | sed 's/=m$/=y/' >"$tmp/full"
grep -v '^CONFIG_VETH=' "$tmp/full" | sed 's/^CONFIG_NET_NS=y$/# CONFIG_NET_NS is not set/' >"$tmp/lacking"
sed -i 's/^CONFIG_IPV6=y$/CONFIG_IPV6=m/' "$tmp/lacking"
missing() { COLO_KCONFIG=$1 bash -c 'source selftests/lib/guest.sh; kernel_config_missing'; }
if got=$(missing "$tmp/full") && [[ -z $got ]]; then
	ok "kernel_config_missing: nothing for a config with every option"
else
	bad "kernel_config_missing on a full config says: $got"
fi
got=$(missing "$tmp/lacking" | sort | tr '\n' ' ')
want="CONFIG_IPV6=y (is m) CONFIG_NET_NS=y CONFIG_VETH=m "
if [[ $got == "$want" ]]; then
	ok "kernel_config_missing names what is off, absent or m for y"
else
	bad "kernel_config_missing: got '$got', want '$want'"
fi
kver=$(scripts/kver.sh) && config=/boot/config-$kver
if [[ ! -r ${config:-} ]]; then
	bad "no config of the guest's kernel to check selftests/config against"
elif got=$(missing "$config") && [[ -z $got ]]; then
	ok "the stock kernel ($config) has every option of selftests/config"
else
	bad "$config lacks: $got"
fi

echo "guestlib: $pass passed, $fail failed"
((fail == 0))
