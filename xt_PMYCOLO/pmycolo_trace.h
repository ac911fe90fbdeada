/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the primary host: every checkpoint request it makes and
 * every miscompare, with the flow and the position of the difference.
 *   echo 1 > /sys/kernel/tracing/events/colo/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM colo

#ifndef _PMYCOLO_TRACE_ADDR
#define _PMYCOLO_TRACE_ADDR
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack_colo.h>

/* IPv4 addresses are traced as IPv4-mapped IPv6 ones: one format. */
static inline void colo_trace_addr(u8 *to, u8 family,
				   const union nf_inet_addr *addr)
{
	if (family == NFPROTO_IPV6)
		memcpy(to, &addr->in6, sizeof(addr->in6));
	else
		ipv6_addr_set_v4mapped(addr->ip, (struct in6_addr *)to);
}
#endif

#if !defined(_PMYCOLO_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PMYCOLO_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(colo_flow_event,
		    TP_PROTO(u32 index, const struct colo_event *ev),
		    TP_ARGS(index, ev),
		    TP_STRUCT__entry(__field(u32, index)
				     __field(u8, reason)
				     __field(u8, family)
				     __field(u8, l4proto)
				     __field(bool, has_seq)
				     __array(u8, vm_addr, 16)
				     __array(u8, peer_addr, 16)
				     __field(u16, vm_port)
				     __field(u16, peer_port)
				     __field(u32, seq)
				     __field(u32, offset)
				     __field(u32, age_ms)),
		    TP_fast_assign(__entry->index = index;
				   __entry->reason = ev->reason;
				   __entry->family = ev->family;
				   __entry->l4proto = ev->l4proto;
				   __entry->has_seq = ev->has_seq;
				   colo_trace_addr(__entry->vm_addr, ev->family,
						   &ev->vm_addr);
				   colo_trace_addr(__entry->peer_addr, ev->family,
						   &ev->peer_addr);
				   __entry->vm_port = ev->vm_port;
				   __entry->peer_port = ev->peer_port;
				   __entry->seq = ev->seq;
				   __entry->offset = ev->offset;
				   __entry->age_ms = ev->age_ms;),
		    TP_printk("index=%u reason=%u proto=%u vm=[%pI6c]:%u peer=[%pI6c]:%u seq=%u%s offset=%u age_ms=%u",
			      __entry->index, __entry->reason, __entry->l4proto,
			      __entry->vm_addr, __entry->vm_port,
			      __entry->peer_addr, __entry->peer_port,
			      __entry->seq, __entry->has_seq ? "" : "(none)",
			      __entry->offset, __entry->age_ms));

DEFINE_EVENT(colo_flow_event, colo_checkpoint_request,
	     TP_PROTO(u32 index, const struct colo_event *ev),
	     TP_ARGS(index, ev));

DEFINE_EVENT(colo_flow_event, colo_miscompare,
	     TP_PROTO(u32 index, const struct colo_event *ev),
	     TP_ARGS(index, ev));

#endif /* _PMYCOLO_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pmycolo_trace
#include <trace/define_trace.h>
