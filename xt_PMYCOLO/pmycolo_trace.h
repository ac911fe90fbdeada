/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the primary host: every checkpoint request it makes and
 * every miscompare, with the flow and the position of the difference; and,
 * for a packet held past the compare timeout, the compare state of its flow
 * (what each side's queue starts and ends with), which says why it waited.
 *   echo 1 > /sys/kernel/tracing/events/colo/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM colo

#ifndef _PMYCOLO_TRACE_ADDR
#define _PMYCOLO_TRACE_ADDR
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack_colo.h>
#include "pmycolo_flow.h"

/* IPv4 addresses are traced as IPv4-mapped IPv6 ones: one format. */
static inline void colo_trace_addr(u8 *to, u8 family,
				   const union nf_inet_addr *addr)
{
	if (family == NFPROTO_IPV6)
		memcpy(to, &addr->in6, sizeof(addr->in6));
	else
		ipv6_addr_set_v4mapped(addr->ip, (struct in6_addr *)to);
}

/* One side's queue of a flow, as colo_stall shows it. */
struct colo_trace_queue {
	u32	seq;		/* of the head */
	u32	len;
	u32	ack;
	u32	last_end;	/* seq + len of the last packet */
	u8	flags;		/* the head's enum colo_cmp_tcp_flag */
	bool	marked;
	bool	any;		/* false: the queue is empty */
};

static inline void colo_trace_queue(struct colo_trace_queue *q,
				    const struct pmycolo_flow *flow, int side)
{
	const struct pmycolo_pkt *head, *last;

	memset(q, 0, sizeof(*q));
	if (list_empty(&flow->queue[side]))
		return;
	head = list_first_entry(&flow->queue[side], struct pmycolo_pkt,
				entry.list);
	last = list_last_entry(&flow->queue[side], struct pmycolo_pkt,
			       entry.list);
	q->any = true;
	q->seq = head->cmp.seq;
	q->len = head->cmp.len;
	q->ack = head->cmp.ack;
	q->flags = head->cmp.tcp_flags;
	q->marked = head->marked;
	q->last_end = last->cmp.seq + last->cmp.len;
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

/*
 * A held packet of @side waited past the timeout: its flow's compare state.
 * Queue heads are "-" when empty; seq/len/ack/flags are the head's, last is
 * where the queue's last packet ends (seq + len). Flags: FIN 1, SYN 2,
 * RST 4, ACK 8; cmp: COLO_CMP_F_* of colo_compare.h.
 */
TRACE_EVENT(colo_stall,
	    TP_PROTO(u32 index, const struct pmycolo_flow *flow, int side,
		     u32 age_ms),
	    TP_ARGS(index, flow, side, age_ms),
	    TP_STRUCT__entry(__field(u32, index)
			     __field(u8, side)
			     __field(u8, l4proto)
			     __field(u16, vm_port)
			     __field(u16, peer_port)
			     __field(u32, age_ms)
			     __field(u8, cmp_flags)
			     __field(bool, diverged)
			     __field(u32, compared_seq)
			     __field(u32, max_ack_pvm)
			     __field(u32, max_ack_svm)
			     __field(u32, mark_pvm)
			     __field(u32, mark_svm)
			     __field_struct(struct colo_trace_queue, p)
			     __field_struct(struct colo_trace_queue, s)),
	    TP_fast_assign(__entry->index = index;
			   __entry->side = side;
			   __entry->l4proto = flow->key.l4proto;
			   __entry->vm_port = ntohs(flow->key.vm_port);
			   __entry->peer_port = ntohs(flow->key.peer_port);
			   __entry->age_ms = age_ms;
			   __entry->cmp_flags = flow->tcp.flags;
			   __entry->diverged = flow->diverged;
			   __entry->compared_seq = flow->tcp.compared_seq;
			   __entry->max_ack_pvm = flow->tcp.max_ack[COLO_CMP_PVM];
			   __entry->max_ack_svm = flow->tcp.max_ack[COLO_CMP_SVM];
			   __entry->mark_pvm = flow->mark.held[COLO_CMP_PVM];
			   __entry->mark_svm = flow->mark.held[COLO_CMP_SVM];
			   colo_trace_queue(&__entry->p, flow, COLO_CMP_PVM);
			   colo_trace_queue(&__entry->s, flow, COLO_CMP_SVM);),
	    TP_printk("index=%u side=%s proto=%u vm_port=%u peer_port=%u age_ms=%u cmp=%#x diverged=%d compared_seq=%u max_ack=%u/%u marked=%u/%u pvm=%s%u+%u ack=%u flags=%#x%s last=%u svm=%s%u+%u ack=%u flags=%#x%s last=%u",
		      __entry->index, __entry->side ? "svm" : "pvm",
		      __entry->l4proto, __entry->vm_port, __entry->peer_port,
		      __entry->age_ms, __entry->cmp_flags, __entry->diverged,
		      __entry->compared_seq, __entry->max_ack_pvm,
		      __entry->max_ack_svm, __entry->mark_pvm,
		      __entry->mark_svm, __entry->p.any ? "" : "-",
		      __entry->p.seq, __entry->p.len, __entry->p.ack,
		      __entry->p.flags, __entry->p.marked ? " marked" : "",
		      __entry->p.last_end, __entry->s.any ? "" : "-",
		      __entry->s.seq, __entry->s.len, __entry->s.ack,
		      __entry->s.flags, __entry->s.marked ? " marked" : "",
		      __entry->s.last_end));

#endif /* _PMYCOLO_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pmycolo_trace
#include <trace/define_trace.h>
