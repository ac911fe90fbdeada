# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # variables are for the tests
#
# Helpers for selftests/*.sh, which run as root in the QEMU guest (see
# selftests/vm/run.sh). Source it:
#
#   source "$(dirname "$0")/lib/guest.sh"
#   require_cmd iptables ip
#   load_colo_modules             # stops the test if they do not load
#   mkns pri sec                  # $pri, $sec: unique netns names
#   ip -n "$pri" link set lo up && pass "lo up" || fail "lo up"
#   ksft_exit                     # 1 if any fail, else 0
#
# Define a function cleanup() for your own teardown: the EXIT trap set here
# calls it, then deletes the namespaces made by mkns. Do not trap EXIT.

ksft_skip=4
ksft_rc=0

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COLOCTL=$PROJECT_DIR/tools/coloctl
# Module folders of this tree, in load order; each builds DIR/DIR.ko.
COLO_MODULES=(nf_conntrack_colo nfnetlink_colo xt_PMYCOLO xt_SECCOLO)

# Our iptables extensions first, then the system's own (for -j ACCEPT etc.).
_xtsys=$(pkg-config --variable=xtlibdir xtables 2>/dev/null) ||
	_xtsys=/usr/lib/x86_64-linux-gnu/xtables
export XTABLES_LIBDIR=$PROJECT_DIR/iptables-ext:$_xtsys
unset _xtsys

pass() { echo "PASS: $*"; }
# fail records the failure and goes on, so a test can report every check.
fail() { echo "FAIL: $*"; ksft_rc=1; }
skip() { echo "SKIP: $*"; exit "$ksft_skip"; }
# check WHAT CMD: pass or fail WHAT as CMD (a string, evaluated) succeeds.
# Returns CMD's status, so that a caller may print what failed.
check() {
	if eval "$2"; then pass "$1"; else fail "$1"; return 1; fi
}
ksft_exit() { exit "$ksft_rc"; }

# keep_files FILE...: into the guest's results share, which a failed run
# keeps on the host (build/vm/run.*/out/), each named after the test.
keep_files() {
	local f dir=/run/colo-vm/out
	[[ -d $dir ]] || return 0
	for f; do
		cp -- "$f" "$dir/$(basename "$0" .sh)-$(basename "$f")" 2>/dev/null
	done
	return 0
}

# expect WHAT WANT CMD...: CMD's output must equal WANT.
expect() {
	local what=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1) || true
	if [[ $got == "$want" ]]; then
		pass "$what"
	else
		fail "$what: got '$got', want '$want'"
	fi
}

# wait_until CMD...: poll for up to 5 s until CMD succeeds.
wait_until() {
	local _
	for _ in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# colo_run NS INDEX MODE LOG [ARG...]: `coloctl run` in NS stands in for the
# hypervisor, owning instance INDEX; its output goes to LOG. Sets
# COLO_RUN_PID (coloctl's own pid, to kill it: its socket closing is the
# owner-close path) and returns once it is ready.
colo_run() {
	local ns=$1 index=$2 mode=$3 log=$4
	shift 4
	ip netns exec "$ns" "$COLOCTL" run "$index" --mode "$mode" "$@" \
		>"$log" 2>&1 &
	COLO_RUN_PID=$!
	wait_until grep -q '^ready' "$log" && return 0
	echo "coloctl run did not start: $(cat "$log")" >&2
	return 1
}

# require_cmd CMD...: skip the test unless every CMD is available.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not found"
	done
}

# kernel_config_missing: print each option of selftests/config that the
# running kernel's config ($COLO_KCONFIG, default /proc/config.gz, else
# /boot/config-$(uname -r)) lacks: "=m" in the list accepts y or m.
kernel_config_missing() {
	local config=${COLO_KCONFIG:-} opt want have
	if [[ -z $config ]]; then
		config=/boot/config-$(uname -r)
		[[ -r /proc/config.gz ]] && config=/proc/config.gz
	fi
	[[ -r $config ]] || { echo "(no kernel config at $config)"; return 0; }
	# One pass over the config for all the options (a pass per option
	# cost the guest minutes under TCG).
	local -A kconf=()
	while IFS='=' read -r opt have; do
		kconf[$opt]=$have
	done < <(zcat -f "$config" | grep -E '^CONFIG_[A-Z0-9_]+=')
	while IFS='=' read -r opt want; do
		[[ $opt == CONFIG_* ]] || continue
		have=${kconf[$opt]:-}
		case $want:$have in
		y:y | m:y | m:m) ;;
		*) echo "$opt=$want${have:+ (is $have)}" ;;
		esac
	done <"$PROJECT_DIR/selftests/config"
}

# _colo_modules_fail WHY: the modules did not load; say why, and which
# kernel options the tests need that the kernel lacks, and stop the test.
_colo_modules_fail() {
	local missing
	fail "the COLO modules do not load: $1"
	missing=$(kernel_config_missing)
	[[ -n $missing ]] && echo "# the kernel lacks what selftests/config lists: ${missing//$'\n'/, }"
	ksft_exit
}

# load_colo_modules: install this tree's built modules into the guest's
# /lib/modules/$(uname -r)/extra (the guest root is a tmpfs overlay: the host
# is untouched), refresh the module index and modprobe them. If any of that
# fails, the test stops there with a FAIL line that says why.
load_colo_modules() {
	local kdir extra m ko out names=() want changed=0
	for m in "${COLO_MODULES[@]}"; do
		[[ -f $PROJECT_DIR/$m/$m.ko ]] && names+=("$m")
	done
	((${#names[@]})) ||
		_colo_modules_fail "no built module in $PROJECT_DIR (run make)"
	kdir=/lib/modules/$(uname -r)
	extra=$kdir/extra
	mkdir -p "$extra" || _colo_modules_fail "cannot create $extra"
	for m in "${names[@]}"; do
		ko=$PROJECT_DIR/$m/$m.ko
		cmp -s "$ko" "$extra/$m.ko" && continue
		install -m 0644 "$ko" "$extra/$m.ko" ||
			_colo_modules_fail "cannot install $ko into $extra"
		changed=1
	done
	# Also refresh when an earlier install was not indexed (interrupted).
	# One process for all (each exec costs ~0.2 s under TCG).
	want=("${names[@]/#/$extra/}")
	[[ $(modinfo -F filename "${names[@]}" 2>/dev/null) == \
		"$(printf '%s.ko\n' "${want[@]}")" ]] || changed=1
	if ((changed)); then
		out=$("$PROJECT_DIR/selftests/lib/depmod-cached" 2>&1) ||
			_colo_modules_fail "depmod -a: $out"
	fi
	modprobe -a "${names[@]}" 2>/dev/null && return 0
	for m in "${names[@]}"; do
		out=$(modprobe "$m" 2>&1) && continue
		_colo_modules_fail "modprobe $m: $out$(dmesg 2>/dev/null | grep -F "$m" | tail -n 3 | sed 's/^/; dmesg: /')"
	done
}

# unload_colo_modules: remove whichever of our modules are loaded, in
# reverse load order.
unload_colo_modules() {
	local i m rc=0
	for ((i = ${#COLO_MODULES[@]} - 1; i >= 0; i--)); do
		m=${COLO_MODULES[i]}
		[[ -d /sys/module/$m ]] || continue
		modprobe -r "$m" || rc=1
	done
	return "$rc"
}

# mkns VAR...: create a network namespace per VAR, named VAR-<pid>-<n> so
# that tests never clash, with lo up, and store its name in $VAR. One ip
# process adds them all: under TCG each exec of a tool costs ~0.1 s.
_guest_netns=()
mkns() {
	# Locals with names no caller will pass: printf -v must reach the caller.
	local _mkns_var _mkns_name _mkns_new=()
	for _mkns_var in "$@"; do
		_mkns_name=$_mkns_var-$$-${#_guest_netns[@]}
		_guest_netns+=("$_mkns_name")
		_mkns_new+=("$_mkns_name")
		printf -v "$_mkns_var" '%s' "$_mkns_name"
	done
	printf 'netns add %s\n' "${_mkns_new[@]}" | ip -b - || return 1
	for _mkns_name in "${_mkns_new[@]}"; do
		ip -n "$_mkns_name" link set lo up || return 1
	done
}

# The test's cleanup() runs in here: locals must not shadow its variables.
_guest_cleanup() {
	if declare -F cleanup >/dev/null; then
		cleanup || true
	fi
	((${#_guest_netns[@]})) &&
		printf 'netns del %s\n' "${_guest_netns[@]}" | ip -force -b - 2>/dev/null
	return 0
}
trap _guest_cleanup EXIT
