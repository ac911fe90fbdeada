// SPDX-License-Identifier: GPL-2.0
/*
 * A held PVM super-packet (TCP GSO) cut into its segments when the
 * comparator has compared only a part of it and the SVM sends nothing more.
 *
 * The PVM hands its TCP output over in super-packets of up to 64 KB, and a
 * held packet is released only once all of it was compared. The SVM's
 * congestion window is its own, and may be smaller than the PVM's: when
 * the bytes it was allowed to send end inside such a super-packet, the SVM
 * waits for the client's ack of them, the client waits for the
 * super-packet, and the super-packet for the SVM's next bytes. Nothing
 * moves until the compare timeout asks for a checkpoint. Held in its place,
 * the super-packet's segments let the compared ones go: the client acks
 * them, and the SVM's window opens again.
 *
 * The segments are made as nfnetlink_queue makes them for a queue without
 * GSO support (skb_gso_segment(), each with its own queue entry), sharing
 * the super-packet's pages. A bridged packet is cut with its Ethernet
 * header, which the bridge reads and sends again once it continues.
 *
 * A flow found so stuck for a whole tick is split then, and its
 * super-packets from then on whenever the comparator waits inside one: that
 * flow's SVM has shown a smaller window, and to wait a tick each time would
 * throttle it.
 */
#include <linux/netdevice.h>
#include <linux/netfilter_bridge.h>
#include <linux/slab.h>
#include <net/netfilter/nf_conntrack.h>
#include "pmycolo_engine.h"

bool pmycolo_split_wanted(const struct pmycolo_flow *flow,
			  const struct pmycolo_pkt *p,
			  const struct pmycolo_pkt *s)
{
	u32 cseq = flow->tcp.compared_seq;

	if (!flow->is_tcp || flow->diverged || !p || p->marked ||
	    !(flow->tcp.flags & COLO_CMP_F_SEQ_KNOWN) ||
	    !skb_is_gso(p->entry.skb))
		return false;
	/* Compared in part: the comparator's position is inside its data. */
	if (!colo_seq_after(cseq, p->cmp.seq) ||
	    !colo_seq_before(cseq, p->cmp.seq + p->cmp.len))
		return false;
	/* Nothing of the SVM's at that position: it waits for the client. */
	return !s || colo_seq_after(s->cmp.seq, cseq);
}

/* Bridged: the segments need the Ethernet header, in front of data. */
static unsigned int pmycolo_split_l2(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	if (nf_bridge_info_exists(skb))
		return skb->network_header - skb->mac_header;
#endif
	return 0;
}

static void pmycolo_split_undo(struct list_head *made, struct sk_buff *rest)
{
	struct pmycolo_pkt *pkt, *tmp;

	list_for_each_entry_safe(pkt, tmp, made, entry.list) {
		list_del(&pkt->entry.list);
		nf_queue_entry_free(&pkt->entry);
	}
	kfree_skb_list(rest);
}

/*
 * A queue entry for each segment after the first, in stream order on
 * @made; the first segment is returned in *@first and parsed into @view.
 */
static int pmycolo_split_entries(const struct pmycolo_pkt *p,
				 struct sk_buff *segs, struct list_head *made,
				 struct sk_buff **first,
				 struct pmycolo_pkt *view)
{
	struct sk_buff *seg, *next;
	struct pmycolo_key key;
	struct pmycolo_pkt *pkt;
	u8 pf = p->entry.state.pf;

	*first = segs;
	next = segs->next;
	skb_mark_not_on_list(segs);
	__skb_pull(segs, pmycolo_split_l2(segs));
	if (pmycolo_parse(segs, pf, &key, view))
		goto fail;
	for (seg = next; seg; seg = next) {
		next = seg->next;
		skb_mark_not_on_list(seg);
		__skb_pull(seg, pmycolo_split_l2(seg));
		pkt = kmemdup(p, sizeof(*p), GFP_ATOMIC);
		if (!pkt) {
			kfree_skb(seg);
			goto fail;
		}
		pkt->entry.skb = seg;
		if (pmycolo_parse(seg, pf, &key, pkt) ||
		    !nf_queue_entry_get_refs(&pkt->entry)) {
			kfree(pkt);
			kfree_skb(seg);
			goto fail;
		}
		list_add_tail(&pkt->entry.list, made);
	}
	return 0;
fail:
	pmycolo_split_undo(made, next);
	kfree_skb(*first);
	return -ENOMEM;
}

int pmycolo_split(struct pmycolo_shard *sh, struct pmycolo_pkt *p)
{
	const netdev_features_t keep = NETIF_F_SG | NETIF_F_HW_CSUM;
	struct pmycolo_inst *pi = sh->pi;
	u32 limit = READ_ONCE(pi->inst->queue_limit);
	struct sk_buff *skb = p->entry.skb, *segs, *first;
	struct list_head *age = &p->age;
	struct pmycolo_pkt *pkt, *tmp, view;
	enum ip_conntrack_info ctinfo;
	u16 mac_header, mac_len;
	const struct nf_conn *ct;
	unsigned int l2;
	LIST_HEAD(made);
	int err;
	u32 n;

	lockdep_assert_held(&sh->lock);
	n = DIV_ROUND_UP(p->cmp.len, skb_shinfo(skb)->gso_size ?: 1);
	if (pmycolo_held(pi, COLO_CMP_PVM) + n > limit)
		return -ENOBUFS;
	/* Segments of an unconfirmed entry would race to confirm it. */
	ct = nf_ct_get(skb, &ctinfo);
	if (ct && !nf_ct_is_confirmed(ct))
		return -EBUSY;
	/* Segments share the pages; checksums stay partial, as they were. */
	l2 = pmycolo_split_l2(skb);
	mac_header = skb->mac_header;
	mac_len = skb->mac_len;
	__skb_push(skb, l2);
	segs = skb_gso_segment(skb, keep);
	err = PTR_ERR_OR_ZERO(segs) ?: (segs ? 0 : -EINVAL);
	if (!err)
		err = pmycolo_split_entries(p, segs, &made, &first, &view);
	if (err) {
		/* It stays whole, as it came: segmenting moved its headers. */
		__skb_pull(skb, l2);
		skb->mac_header = mac_header;
		skb->mac_len = mac_len;
		return err;
	}

	/*
	 * The first segment starts where the super-packet did: p keeps its
	 * place in the queue and takes the segment's view.
	 */
	consume_skb(skb);
	p->entry.skb = first;
	p->cmp = view.cmp;
	p->cmp.data = p;
	p->data_off = view.data_off;
	list_for_each_entry_safe(pkt, tmp, &made, entry.list) {
		list_del(&pkt->entry.list);
		pkt->cmp.data = pkt;
		pkt->marked = false;
		pkt->maybe_stale = false;
		pmycolo_flow_queue(p->flow, COLO_CMP_PVM, pkt);
		/* As old as the super-packet: right after it, in order. */
		list_add(&pkt->age, age);
		age = &pkt->age;
		pmycolo_held_add(sh, COLO_CMP_PVM, 1);
	}
	pmycolo_gauges(pi);
	colo_stat_inc(pi->inst, NFCOLO_STATS_PVM_PKTS_SPLIT);
	return 0;
}
