# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash # sourced by the benchmarks
#
# perf in the benchmarks (profile_bench.sh): every CPU sampled with the
# software clock event (TCG has no hardware PMU), only while a workload
# runs, and the samples of two legs (without and with the proxy) grouped
# by what the code is. Set PERIOD_NS and $tmp, source it after
# lib/guest.sh, then:
#   perf_start DATA         perf record into DATA, its events off
#   perf_ctl enable|disable perf's events on or off, acknowledged
#   perf_stop               perf record ends and writes DATA
#   perf_report DATA [CPU]  samples per command, object and symbol (of
#                           CPU only, if given)
#   profile_table MODSYMS REPORTS N_OFF N_ON UNIT
#                           the table of CPU per UNIT with and without the
#                           proxy: REPORTS.off and REPORTS.on hold
#                           perf_report's lines of N_OFF and N_ON units,
#                           MODSYMS each module symbol's module

# perf_report DATA [CPU]: one line per command, object and symbol: samples,
# comm, dso, symbol, tab-separated and trimmed; of CPU's samples only, if
# given.
perf_report() {
	perf report -i "$1" ${2:+--cpu "$2"} --stdio --no-children \
		--sort comm,dso,sym -F sample,comm,dso,sym -t $'\t' 2>/dev/null |
		awk -F '\t' '!/^#/ && NF >= 4 {
			for (i = 1; i <= 4; i++) gsub(/^ +| +$/, "", $i)
			print $1 "\t" $2 "\t" $3 "\t" $4 }'
}

# perf_start DATA: perf record on every CPU into DATA, its events off
# until perf_ctl enable, so that perf's own start (long under TCG) is not
# in the figures; perf_stop ends it.
perf_start() {
	rm -f "$tmp/ctl" "$tmp/ack"
	mkfifo "$tmp/ctl" "$tmp/ack"
	perf record -q -a -e cpu-clock -c "$PERIOD_NS" -D -1 \
		--control "fifo:$tmp/ctl,$tmp/ack" -o "$1" 2>"$1.log" &
	perf_pid=$!
	BENCH_PIDS+=("$perf_pid")
	# Read and write, so that opening never waits for perf.
	exec {perf_ctl_fd}<>"$tmp/ctl" {perf_ack_fd}<>"$tmp/ack"
	# perf answers once it is ready (seconds under TCG): not in bulk's
	# CPU time.
	perf_ctl ping
}

# perf_ctl enable|disable|ping: returns once perf has acknowledged it. Shell
# builtins only: no process started inside the profiled window.
perf_ctl() {
	local ack
	echo "$1" >&"$perf_ctl_fd" && read -r -t 300 ack <&"$perf_ack_fd" &&
		[[ $ack == ack ]]
}

perf_stop() {
	local rc=0
	exec {perf_ctl_fd}>&- {perf_ack_fd}>&-
	kill -INT "$perf_pid"
	wait "$perf_pid" || rc=$?
	# perf record ends by raising again the SIGINT it caught: 130.
	((rc == 0 || rc == 130))
}

# profile_table MODSYMS REPORTS N_OFF N_ON UNIT: the groups, first match
# wins. Idle and perf's own samples are left out of the busy time and
# shown apart.
profile_table() {
	awk -F '\t' -v period="$PERIOD_NS" -v po="$3" -v pp="$4" -v top="${TOP:-15}" \
			-v unit="$5" '
	function group(comm, dso, sym, kind) {
		if (comm ~ /^perf/)
			return "perf"
		if (sym ~ /^(default_idle|pv_native_safe_halt|native_safe_halt|cpuidle_|acpi_idle|intel_idle|mwait_idle|poll_idle|do_idle|cpu_idle_poll|arch_cpu_idle|default_idle_call|cpu_startup_entry)/)
			return "idle"
		if (dso !~ /^\[/ || kind == ".")
			return "user"
		if (dso == "[xt_PMYCOLO]")
			return "pmycolo"
		if (dso ~ /^\[(nf_conntrack_colo|nfnetlink_colo|xt_SECCOLO)\]$/)
			return "colo"
		if (dso ~ /^\[(nf_|nft_|nfnetlink|x_tables|ip_tables|ip6_tables|iptable_|ip6table_|xt_|br_netfilter|ebt)/ ||
		    sym ~ /^(__)?(nf_|nfqnl_|ipt_|ip6t_|xt_|ebt_)/)
			return "nf"
		# slub_debug (selftests/vm/run.sh boots every guest with it): the
		# object checked at each alloc and free, with VM_SLUB_DEBUG=FZPU a
		# stack trace saved too
		if (sym ~ /^(__)?(set_track|stack_trace_save|arch_stack_walk|unwind_|orc_|stack_depot|check_object|check_bytes|memchr_inv|init_object|free_debug_processing|alloc_debug_processing|check_slab|on_freelist|slab_pad_check|kernel_text_address|is_module_text_address|module_address|is_bpf_text_address|bpf_ksym_find|get_stack_info|in_task_stack|in_irq_stack|in_entry_stack|stack_access_ok|deref_stack_reg|is_ftrace_trampoline|ftrace_ops_trampoline|print_context_stack)/)
			return "slub"
		if (sym ~ /^(skb_copy_datagram|skb_copy_and_csum_datagram|copy_user|_copy_to_iter|_copy_from_iter|rep_movs|copy_page)/)
			return "stack"
		if (sym ~ /^(__)?(skb_clone|skb_copy|pskb_|skb_release|kfree_skb|consume_skb|napi_consume_skb|alloc_skb|__alloc_skb|skb_free|skb_orphan|skb_unshare|skb_segment|skb_headers_offset|copy_skb_header|kfree_skbmem|skb_attempt_defer|build_skb|napi_build_skb|skb_ext|skb_try_coalesce|skb_put|skb_pull|skb_push|skb_split|skb_zerocopy|kmem_cache_|kmalloc|kfree|slab_|_slab|memcg_slab|page_frag|memcpy|memmove|memset)/ ||
		    sym ~ /^___?slab_|^__kmem_cache_/)
			return "skb"
		if (dso == "[bridge]" || sym ~ /^(__)?br_/)
			return "bridge"
		if (dso ~ /^\[(veth|act_|cls_|sch_)/ ||
		    sym ~ /^(__)?(veth_|do_softirq|local_bh_enable|net_rx_action|napi_|netif_|process_backlog|dev_queue_xmit|dev_hard_start_xmit|dev_xmit|sch_direct_xmit|qdisc_|pfifo|irq_exit|run_ksoftirqd|dev_gro|gro_|inet_gro|ipv6_gro|tcp_gro|tcp4_gro|tcp6_gro|skb_gro|validate_xmit|netdev_|enqueue_to_backlog|rps_|tcf_|tc_|dev_forward_skb|eth_type_trans)/)
			return "dev"
		if (sym ~ /spin_lock|spin_unlock|spin_trylock|^_raw_|queued_|^(__)?(mutex_|rwsem|down_|up_read|up_write|schedule|try_to_wake_up|ttwu_|wake_up|finish_task_switch|enqueue_|dequeue_|pick_next|update_curr|update_load|update_cfs|update_rq|set_next_entity|put_prev|select_task_rq|select_idle|check_preempt|resched|psi_|switch_to|switch_mm|context_switch|kthread|rcu_|irqentry_|sysvec_|hrtimer|tick_|native_sched_clock|sched_clock|ktime_get|clockevents|lapic_|native_apic|autoremove_wake|prepare_to_wait|finish_wait|futex|do_nanosleep|cpuacct|account_|reweight|migrate|activate_task|smp_call|flush_smp|cgroup_rstat|load_balance|newidle|asm_sysvec|default_wake|wq_|worker_thread|process_one_work|native_irq|native_restore_fl|restore_fl|preempt_|__cond_resched|_cond_resched|available_idle|idle_cpu|nohz_|timerqueue|run_timer|__run_timers|call_timer)/)
			return "sched"
		if (sym ~ /^(__)?(tcp|ip_|ip6_|ipv6_|ip4_|inet|sk_|sock|skb_|csum|udp|dst_|fib|neigh|eth_|arp_|release_sock|lock_sock|security_|selinux|apparmor|x64_sys|sys_|do_syscall|entry_SYSCALL|syscall_|ksys_|vfs_|new_sync|fget|fput|fdget|do_sys|ep_|do_select|do_pselect|core_sys_select|pipe_|splice|filemap_|shmem_|raw_|packet_|__fsnotify|fsnotify|rw_verify|touch_atime|atime|file_|generic_file|xas_|folio|copy_from|copy_to|check_heap|__check_object|__virt_addr|poll|mem_cgroup_charge_skmem|__sk_mem|tcp_)/)
			return "stack"
		return "rest"
	}
	BEGIN {
		# Each group as key:name, in the order of the table; idle and perf
		# last, apart from the busy time.
		groups = "pmycolo:xt_PMYCOLO (its module symbols);" \
			"colo:nf_conntrack_colo, nfnetlink_colo, xt_SECCOLO;" \
			"nf:netfilter core, conntrack, nf_queue;" \
			"skb:skb alloc/clone/copy/free, slab, memcpy;" \
			"slub:slub_debug: stack traces, checks (guest\x27s);" \
			"bridge:bridge;" \
			"dev:veth, softirq, tc, device xmit;" \
			"sched:locks, scheduling, wake-ups, timers;" \
			"stack:TCP/IP, sockets, syscalls, user copies;" \
			"user:user space;" \
			"rest:the rest of the kernel;" \
			"idle:idle (not counted);" \
			"perf:perf itself (not counted)"
		n = split(groups, order, ";")
		for (i = 1; i <= n; i++) {
			c = index(order[i], ":")
			name[substr(order[i], 1, c - 1)] = substr(order[i], c + 1)
			order[i] = substr(order[i], 1, c - 1)
		}
		n -= 2
		us = period / 1000
	}
	FILENAME ~ /modsyms$/ {
		if (!($1 in module))
			module[$1] = $2
		next
	}
	{
		mode = FILENAME ~ /\.on$/ ? "on" : "off"
		kind = substr($4, 2, 1)
		sym = $4
		sub(/^\[.\] /, "", sym)
		# With /proc/kcore readable perf files module code under the kernel
		# (dso__split_kallsyms_for_kcore): the module comes from kallsyms.
		if ($3 == "[kernel.kallsyms]" && sym in module)
			$3 = module[sym]
		g = group($2, $3, sym, kind)
		gs[g, mode] += $1
		if (g == "idle" || g == "perf")
			next
		busy[mode] += $1
		# user space by object: its symbols are mostly not resolved
		key = (g == "user" ? "(user space)" : sym) "\t" $3
		ks[key, mode] += $1
		kg[key] = g
		keys[key] = 1
		if ($3 == "[xt_PMYCOLO]" && sym !~ /^0x/)
			pmysyms[sym] = 1
	}
	END {
		po = po ? po : 1
		pp = pp ? pp : 1
		printf "%-45s %12s %12s %12s %7s\n", "us per " unit, "no proxy", "proxy", "added", "share"
		added = busy["on"] * us / pp - busy["off"] * us / po
		for (i = 1; i <= n; i++) {
			g = order[i]
			a = gs[g, "off"] * us / po
			b = gs[g, "on"] * us / pp
			# a share of nothing, or of a saving, means nothing: "-"
			printf "%-45s %12.2f %12.2f %12.2f %7s\n", name[g], a, b, b - a,
				(added > 0 ? sprintf("%.0f%%", 100 * (b - a) / added) : "-")
		}
		printf "%-45s %12.2f %12.2f %12.2f %7s\n", "busy, all of the above",
			busy["off"] * us / po, busy["on"] * us / pp, added, (added > 0 ? "100%" : "-")
		for (i = n + 1; i <= n + 2; i++) {
			g = order[i]
			printf "%-45s %12.2f %12.2f %12.2f\n", name[g], gs[g, "off"] * us / po,
				gs[g, "on"] * us / pp, gs[g, "on"] * us / pp - gs[g, "off"] * us / po
		}

		m = 0
		for (k in keys) {
			d[k] = ks[k, "on"] * us / pp - ks[k, "off"] * us / po
			list[++m] = k
		}
		# sort by added time, largest first (insertion sort: a few hundred keys)
		for (i = 2; i <= m; i++) {
			k = list[i]
			for (j = i - 1; j >= 1 && d[list[j]] < d[k]; j--)
				list[j + 1] = list[j]
			list[j + 1] = k
		}
		printf "\n%-44s %-22s %-8s %9s %9s %9s\n", "top symbols by added us per " unit, "object", "group", "no proxy", "proxy", "added"
		for (i = 1; i <= m && i <= top; i++) {
			k = list[i]
			split(k, f, "\t")
			printf "%-44s %-22s %-8s %9.2f %9.2f %9.2f\n", substr(f[1], 1, 44), f[2], kg[k],
				ks[k, "off"] * us / po, ks[k, "on"] * us / pp, d[k]
		}
		np = 0
		for (s in pmysyms)
			np++
		printf "\nxt_PMYCOLO symbols resolved in the profile: %d\n", np
		if (!np)
			print "WARNING: no xt_PMYCOLO function named: its samples are not attributed"
	}' "$1" "$2.off" "$2.on"
}
