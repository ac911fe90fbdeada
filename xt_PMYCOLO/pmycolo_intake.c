// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's intake: packets of both VMs, from the hold hook (the PVM's)
 * and the capture on the forward device (the SVM's), queued on their flows
 * for the worker. Under RCU in packet context; nothing here waits.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/netfilter_bridge.h>
#include "pmycolo_engine.h"

/*
 * Past its limit, a queue still holds this many packets more while the
 * checkpoint it asked for is awaited: what the VM sends meanwhile.
 */
#define PMYCOLO_HEADROOM	1024

static bool pmycolo_tcp_pure_ack(const struct colo_cmp_pkt *cmp)
{
	return !cmp->len && !(cmp->tcp_flags &
			      (COLO_TCP_SYN | COLO_TCP_FIN | COLO_TCP_RST));
}

/*
 * A SYN that is not a retransmission, on a flow whose comparison is under
 * way: a new connection reuses the ports (TIME_WAIT reuse). What was
 * compared belongs to the old one: start afresh.
 */
static void pmycolo_tcp_syn(struct pmycolo_flow *flow, enum colo_cmp_side side,
			    u32 seq)
{
	if ((flow->syn_known & BIT(side)) && flow->syn_seq[side] == seq)
		return;
	if (flow->tcp.flags & COLO_CMP_F_SEQ_KNOWN) {
		memset(&flow->tcp, 0, sizeof(flow->tcp));
		flow->syn_known = 0;
		flow->diverged = false;
	}
	flow->syn_seq[side] = seq;
	flow->syn_known |= BIT(side);
}

/*
 * Whether an SVM packet may open a flow. Its own output may reach us before
 * the PVM's (the SYN of a connection the guest opens, a datagram): such a
 * packet is held, and its flow lives only while it holds packets, so the
 * SVM queue's limit bounds these flows too. A pure ACK or an RST of a tuple
 * without a flow can match nothing held: it is freed, and leaves no state.
 */
static bool pmycolo_svm_opens(const struct pmycolo_key *key,
			      const struct pmycolo_pkt *pkt)
{
	if (key->l4proto != IPPROTO_TCP || key->frag)
		return true;
	return !pmycolo_tcp_pure_ack(&pkt->cmp) &&
	       !(pkt->cmp.tcp_flags & COLO_TCP_RST);
}

static void pmycolo_warn_flows(const struct colo_instance *inst)
{
	net_warn_ratelimited("%s: instance %u: %u flows over its flow limit and no checkpoint came: dropping PVM packets of new flows\n",
			     KBUILD_MODNAME, inst->index, PMYCOLO_FLOW_HEADROOM);
}

/*
 * A new flow for a packet of @side, or ERR_PTR(-ENOSPC) at the flow limit.
 * Under sh->lock; *@ev is filled when the limit asks for a checkpoint.
 */
static struct pmycolo_flow *pmycolo_flow_make(struct pmycolo_shard *sh,
					      const struct pmycolo_key *key,
					      enum colo_cmp_side side,
					      struct colo_event *ev, bool *ask)
{
	u32 limit = READ_ONCE(sh->pi->inst->flow_limit);
	struct pmycolo_flows *ft = &sh->flows;
	struct pmycolo_flow *flow;
	bool evicted;

	/*
	 * Either side's output may come first: both may take the place of an
	 * idle flow, but only the PVM's go past the limit.
	 */
	flow = pmycolo_flow_new(ft, key, pmycolo_flow_room(sh, limit), true,
				&evicted);
	if (evicted)
		colo_stat_inc(sh->pi->inst, NFCOLO_STATS_FLOWS_EVICTED);
	if (side == COLO_CMP_SVM && !IS_ERR(flow))
		flow->svm_only = true;
	if (side == COLO_CMP_SVM || PTR_ERR_OR_ZERO(flow) != -ENOSPC)
		return flow;
	/*
	 * Every flow holds packets: only a checkpoint frees some. Meanwhile
	 * a few more flows are taken, then PVM packets of new flows dropped.
	 */
	*ask = true;
	memset(ev, 0, sizeof(*ev));
	ev->reason = NFCOLO_REASON_FLOW_LIMIT;
	ev->family = key->family;
	ev->l4proto = key->l4proto;
	ev->vm_addr = key->vm;
	ev->peer_addr = key->peer;
	ev->vm_port = ntohs(key->vm_port);
	ev->peer_port = ntohs(key->peer_port);
	flow = pmycolo_flow_new(ft, key,
				pmycolo_flow_room(sh, limit +
						  PMYCOLO_FLOW_HEADROOM),
				false, &evicted);
	if (PTR_ERR_OR_ZERO(flow) == -ENOSPC)
		pmycolo_warn_flows(sh->pi->inst);
	return flow;
}

/*
 * The flow of a packet of @side, or an error: -ENOSPC at the flow limit,
 * -EAGAIN for an SVM packet that opens no flow. Under sh->lock; *@ev is
 * filled when the limit asks for a checkpoint.
 */
static struct pmycolo_flow *pmycolo_flow_get(struct pmycolo_shard *sh,
					     const struct pmycolo_key *key,
					     const struct pmycolo_pkt *pkt,
					     enum colo_cmp_side side,
					     struct colo_event *ev, bool *ask)
{
	struct pmycolo_inst *pi = sh->pi;
	struct pmycolo_flow *flow;

	flow = pmycolo_flow_lookup(&sh->flows, key);
	if (flow) {
		pmycolo_flow_sync(&sh->flows, flow);
		if (side == COLO_CMP_PVM)
			flow->svm_only = false;
		return flow;
	}
	if (side == COLO_CMP_SVM) {
		if (!pmycolo_svm_opens(key, pkt))
			return ERR_PTR(-EAGAIN);
	}
	if (pi->n_shards == 1) {
		flow = pmycolo_flow_make(sh, key, side, ev, ask);
	} else {
		/* One shard at a time: each counts the flows the others made. */
		spin_lock(&pi->new_flow_lock);
		flow = pmycolo_flow_make(sh, key, side, ev, ask);
		spin_unlock(&pi->new_flow_lock);
	}
	if (!IS_ERR(flow))
		flow->born = sh->phase;
	return flow;
}

/*
 * Whether an SVM packet may be from before the last checkpoint: it came
 * between a checkpoint's begin and commit (sent before the SVM stopped and
 * given the offsets of after it), or shortly after the commit on a flow
 * opened in the period the checkpoint ended or during it (sent after the
 * SVM resumed and given the offsets of before it, the secondary's begin
 * late). A miscompare of such a packet drops it and compares the next: a
 * real divergence shows again in the SVM's later output. Under sh->lock.
 */
static bool pmycolo_svm_maybe_stale(const struct pmycolo_shard *sh,
				    const struct pmycolo_flow *flow)
{
	u32 age = sh->phase - flow->born;

	if (test_bit(COLO_INST_CHECKPOINT_BEGUN, &sh->pi->inst->flags))
		return true;
	return (age == 1 || age == 2) && time_before(jiffies, sh->settle_until);
}

/*
 * Queue @pkt of @side. 0: taken (queued, or an SVM packet that can match
 * nothing noted and freed); else the caller keeps the packet: -ESHUTDOWN
 * when the instance no longer holds (failed over, going away), an error
 * when it cannot.
 */
static int pmycolo_enqueue(struct pmycolo_inst *pi,
			   const struct pmycolo_key *key,
			   struct pmycolo_pkt *pkt, enum colo_cmp_side side)
{
	struct pmycolo_shard *sh = pmycolo_shard_of(pi, key);
	u32 limit = READ_ONCE(pi->inst->queue_limit);
	bool wake = false, ask = false;
	struct pmycolo_flow *flow;
	struct colo_event ev;
	unsigned int held;
	int err;

	spin_lock_bh(&sh->lock);
	if (sh->dead || READ_ONCE(pi->inst->state) != NFCOLO_STATE_ACTIVE) {
		spin_unlock_bh(&sh->lock);
		return -ESHUTDOWN;
	}
	held = pmycolo_held(pi, side);
	if (held >= limit + PMYCOLO_HEADROOM) {
		spin_unlock_bh(&sh->lock);
		return -ENOBUFS;
	}
	flow = pmycolo_flow_get(sh, key, pkt, side, &ev, &ask);
	if (IS_ERR(flow)) {
		err = PTR_ERR(flow);
		spin_unlock_bh(&sh->lock);
		if (ask)
			pmycolo_request(pi, &ev);
		if (err != -EAGAIN && err != -ENOSPC)
			return err;
		if (side == COLO_CMP_PVM)
			return -ENOSPC;
		colo_stat_inc(pi->inst, NFCOLO_STATS_SVM_PKTS_NO_FLOW);
		goto free_svm;
	}
	if (flow->is_tcp) {
		if (pkt->cmp.tcp_flags & COLO_TCP_SYN)
			pmycolo_tcp_syn(flow, side, pkt->cmp.seq);
		colo_cmp_tcp_note(&flow->tcp, side, &pkt->cmp);
		colo_cmp_mark_note(&flow->mark, side, &pkt->cmp);
		/* Its ack is all the comparator wants of an SVM pure ACK. */
		if (side == COLO_CMP_SVM && pmycolo_tcp_pure_ack(&pkt->cmp))
			goto noted;
	}
	pkt->marked = false;
	pkt->maybe_stale = side == COLO_CMP_SVM &&
			   pmycolo_svm_maybe_stale(sh, flow);
	pmycolo_flow_queue(flow, side, pkt);
	pmycolo_flow_touch(&sh->flows, flow, true);
	pkt->held_at = jiffies;
	list_add_tail(&pkt->age, &sh->age[side]);
	pmycolo_held_add(sh, side, 1);
	if (list_empty(&flow->ready)) {
		wake = list_empty(&sh->ready);
		list_add_tail(&flow->ready, &sh->ready);
	}
	if (held + 1 >= limit && !ask) {
		ask = true;
		pmycolo_event(&ev, NFCOLO_REASON_QUEUE_FULL, flow);
	}
	pmycolo_gauges(pi);
	spin_unlock_bh(&sh->lock);

	if (wake)
		pmycolo_pool_wake(sh);
	if (ask)
		pmycolo_request(pi, &ev);
	return 0;

noted:
	pmycolo_flow_touch(&sh->flows, flow, false);
	if (list_empty(&flow->ready) && !list_empty(&flow->queue[COLO_CMP_PVM])) {
		/* A PVM packet may have been waiting for this ack. */
		wake = list_empty(&sh->ready);
		list_add_tail(&flow->ready, &sh->ready);
	}
	pmycolo_gauges(pi);
	spin_unlock_bh(&sh->lock);
	if (wake)
		pmycolo_pool_wake(sh);
	if (ask)
		pmycolo_request(pi, &ev);
free_svm:
	colo_stat_inc(pi->inst, NFCOLO_STATS_SVM_PKTS_FREED);
	consume_skb(pkt->entry.skb);
	kfree(pkt);
	return 0;
}

static void pmycolo_warn_full(const struct colo_instance *inst,
			      enum colo_cmp_side side)
{
	pr_warn_ratelimited("instance %u: %s queue %u over its limit and no checkpoint came: dropping\n",
			    inst->index, side == COLO_CMP_PVM ? "PVM" : "SVM",
			    PMYCOLO_HEADROOM);
}

static struct pmycolo_inst *pmycolo_inst_of(struct colo_instance *inst)
{
	/* The role is published after its data: see colo_role_attach(). */
	if (smp_load_acquire(&inst->role) != &pmycolo_role)
		return NULL;
	return inst->role_data;
}

static void pmycolo_init_physdevs(struct nf_queue_entry *entry)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	const struct sk_buff *skb = entry->skb;

	entry->bridge_dev = NULL;
	entry->physin = NULL;
	entry->physout = NULL;
	if (nf_bridge_info_exists(skb)) {
		entry->physin = nf_bridge_get_physindev(skb, entry->state.net);
		entry->physout = nf_bridge_get_physoutdev(skb);
	}
#endif
}

unsigned int pmycolo_hold_pvm(struct colo_instance *inst,
			      struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct pmycolo_inst *pi = pmycolo_inst_of(inst);
	struct pmycolo_key key;
	struct pmycolo_pkt *pkt;
	int err;

	if (!pi || READ_ONCE(inst->state) != NFCOLO_STATE_ACTIVE ||
	    skb_sk_is_prefetched(skb))
		return NF_ACCEPT;

	pkt = kmalloc(sizeof(*pkt), GFP_ATOMIC);
	if (!pkt)
		goto drop;
	if (pmycolo_parse(skb, state->pf, &key, pkt)) {
		/* Nothing we can compare: let it be. */
		kfree(pkt);
		return NF_ACCEPT;
	}
	if (skb_dst(skb) && !skb_dst_force(skb)) {
		kfree(pkt);
		goto drop;
	}
	pkt->entry = (struct nf_queue_entry) {
		.skb		= skb,
		.skb_dev	= skb->dev,
		.state		= *state,
		.size		= sizeof(pkt->entry),
	};
	pmycolo_init_physdevs(&pkt->entry);
	if (!nf_queue_entry_get_refs(&pkt->entry)) {
		kfree(pkt);
		goto drop;
	}

	err = pmycolo_enqueue(pi, &key, pkt, COLO_CMP_PVM);
	if (!err)
		return NF_STOLEN;
	nf_queue_entry_free(&pkt->entry);
	if (err == -ESHUTDOWN)
		return NF_ACCEPT;
	if (err == -ENOBUFS)
		pmycolo_warn_full(inst, COLO_CMP_PVM);
drop:
	colo_stat_inc(inst, NFCOLO_STATS_PKTS_DROPPED);
	return NF_DROP;
}

unsigned int pmycolo_capture_svm(struct colo_instance *inst,
				 struct sk_buff *skb, u8 family)
{
	struct pmycolo_inst *pi = pmycolo_inst_of(inst);
	struct pmycolo_key key;
	struct pmycolo_pkt *pkt;
	int err;

	if (!pi)
		return NF_DROP;
	colo_stat_inc(inst, NFCOLO_STATS_SVM_PKTS_CAPTURED);
	pkt = kmalloc(sizeof(*pkt), GFP_ATOMIC);
	if (!pkt)
		goto drop;
	err = pmycolo_parse(skb, family, &key, pkt);
	if (err) {
		kfree(pkt);
		if (err == -EOPNOTSUPP) {
			pmycolo_svm_link(inst, skb);
			return NF_DROP;
		}
		goto drop;
	}
	pkt->entry.skb = skb;
	err = pmycolo_enqueue(pi, &key, pkt, COLO_CMP_SVM);
	if (!err)
		return NF_STOLEN;
	kfree(pkt);
	if (err == -ENOBUFS)
		pmycolo_warn_full(inst, COLO_CMP_SVM);
drop:
	colo_stat_inc(inst, NFCOLO_STATS_SVM_PKTS_FREED);
	return NF_DROP;
}
