// SPDX-License-Identifier: GPL-2.0
/*
 * The primary host's hold-and-compare engine, one per primary instance.
 *
 * Packets of both VMs are sorted into flows (pmycolo_flow.c: a table keyed
 * by the VM's output tuple) and queued there: the PVM's with the nf_queue_entry that
 * lets them continue through netfilter later, the SVM's as bare skbs. The
 * packet path only queues and, when a flow gets news, wakes the instance's
 * worker thread. The worker runs the comparator core (colo_compare.c) over
 * the heads of each flow's queues, then, outside the spinlock, continues
 * the released PVM packets with nf_reinject() and frees the SVM's. Every
 * release happens under release_mutex, in queue order, so a checkpoint or a
 * failover flushing the queues never overtakes the worker.
 *
 * A two-phase checkpoint (QEMU: begin at STOP, DO_CHECKPOINT at RESUME)
 * marks at its begin every packet held; the commit releases only those,
 * and what came after the mark is compared afresh. Until the commit, a flow
 * with marked packets compares only marked heads: the worker may match and
 * release some of them, and they are simply gone when the commit comes.
 *
 * A checkpoint is requested on a miscompare, on a held packet older than
 * the instance's compare timeout (checked every tick), on a queue over the
 * instance's limit, and on a new flow while the flow table is full of flows
 * holding packets. Packets are still held past the limits, up to 1024 more
 * (packets, flows), and only then dropped, counted and logged.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/netdevice.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter/x_tables.h>
#include "pmycolo_flow.h"

#define CREATE_TRACE_POINTS
#include "pmycolo_trace.h"

/* A flow with empty queues is forgotten after this long without packets. */
#define PMYCOLO_FLOW_IDLE	(30 * HZ)
#define PMYCOLO_MAX_TICK	(HZ / 10)
/*
 * Past its limit, a queue still holds this many packets more while the
 * checkpoint it asked for is awaited: what the VM sends meanwhile.
 */
#define PMYCOLO_HEADROOM	1024
/* Idle flows freed per hold of the lock. */
#define PMYCOLO_EXPIRE_BATCH	64

struct pmycolo_inst {
	struct colo_instance	*inst;		/* owns us */
	struct net		*net;
	struct list_head	net_node;	/* under pmycolo_mutex */
	spinlock_t		lock;		/* everything below */
	bool			dead;
	/* A checkpoint is still wanted: asked again every tick. */
	bool			want;
	struct colo_event	want_ev;
	unsigned int		held[2];
	struct list_head	age[2];		/* held packets, oldest first */
	/* A checkpoint has begun: what it marked, oldest first. */
	bool			begun;
	struct list_head	age_marked[2];
	struct list_head	ready;
	struct pmycolo_flows	flows;
	/* Orders every release of packets. */
	struct mutex		release_mutex;
	struct task_struct	*worker;
	struct rcu_head		rcu;
};

static struct pmycolo_pkt *pmycolo_head(struct pmycolo_flow *flow,
					enum colo_cmp_side side)
{
	return list_first_entry_or_null(&flow->queue[side],
					struct pmycolo_pkt, entry.list);
}

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

static void pmycolo_event(struct colo_event *ev, u8 reason,
			  const struct pmycolo_flow *flow)
{
	memset(ev, 0, sizeof(*ev));
	ev->reason = reason;
	ev->family = flow->key.family;
	ev->l4proto = flow->key.l4proto;
	ev->vm_addr = flow->key.vm;
	ev->peer_addr = flow->key.peer;
	ev->vm_port = ntohs(flow->key.vm_port);
	ev->peer_port = ntohs(flow->key.peer_port);
}

/*
 * Ask for a checkpoint. One that could not be asked for now (another is
 * pending, or the request could not be delivered) is remembered and asked
 * for again every tick, until a request is pending or a checkpoint came.
 */
static void pmycolo_request(struct pmycolo_inst *pi,
			    const struct colo_event *ev)
{
	bool asked = colo_request_checkpoint(pi->inst, ev);

	if (asked)
		trace_colo_checkpoint_request(pi->inst->index, ev);
	spin_lock_bh(&pi->lock);
	if (asked) {
		pi->want = false;
	} else if (!pi->want &&
		   READ_ONCE(pi->inst->state) == NFCOLO_STATE_ACTIVE) {
		pi->want = true;
		pi->want_ev = *ev;
	}
	spin_unlock_bh(&pi->lock);
}

/* Every tick: ask again for a checkpoint still wanted. */
static void pmycolo_request_again(struct pmycolo_inst *pi)
{
	struct colo_event ev;
	bool again;

	spin_lock_bh(&pi->lock);
	again = pi->want &&
		!test_bit(COLO_INST_CHECKPOINT_PENDING, &pi->inst->flags);
	if (again)
		ev = pi->want_ev;
	spin_unlock_bh(&pi->lock);
	if (again)
		pmycolo_request(pi, &ev);
}

static void pmycolo_gauges(struct pmycolo_inst *pi)
{
	colo_gauge_set(pi->inst, COLO_GAUGE_PVM_QUEUE, pi->held[COLO_CMP_PVM]);
	colo_gauge_set(pi->inst, COLO_GAUGE_SVM_QUEUE, pi->held[COLO_CMP_SVM]);
	colo_gauge_set(pi->inst, COLO_GAUGE_FLOWS, pi->flows.count);
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
 * The flow of a packet of @side, or an error: -ENOSPC at the flow limit,
 * -EAGAIN for an SVM packet that opens no flow. Under pi->lock; *@ev is
 * filled when the limit asks for a checkpoint.
 */
static struct pmycolo_flow *pmycolo_flow_get(struct pmycolo_inst *pi,
					     const struct pmycolo_key *key,
					     const struct pmycolo_pkt *pkt,
					     enum colo_cmp_side side,
					     struct colo_event *ev, bool *ask)
{
	u32 limit = READ_ONCE(pi->inst->flow_limit);
	struct pmycolo_flow *flow;
	bool evicted;

	flow = pmycolo_flow_lookup(&pi->flows, key);
	if (flow) {
		pmycolo_flow_sync(&pi->flows, flow);
		if (side == COLO_CMP_PVM)
			flow->svm_only = false;
		return flow;
	}
	if (side == COLO_CMP_SVM) {
		if (!pmycolo_svm_opens(key, pkt))
			return ERR_PTR(-EAGAIN);
	}
	/*
	 * Either side's output may come first: both may take the place of an
	 * idle flow, but only the PVM's go past the limit.
	 */
	flow = pmycolo_flow_new(&pi->flows, key, limit, true, &evicted);
	if (evicted)
		colo_stat_inc(pi->inst, NFCOLO_STATS_FLOWS_EVICTED);
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
	flow = pmycolo_flow_new(&pi->flows, key, limit + PMYCOLO_FLOW_HEADROOM,
				false, &evicted);
	if (PTR_ERR_OR_ZERO(flow) == -ENOSPC)
		pmycolo_warn_flows(pi->inst);
	return flow;
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
	u32 limit = READ_ONCE(pi->inst->queue_limit);
	bool wake = false, ask = false;
	struct pmycolo_flow *flow;
	struct colo_event ev;
	int err;

	spin_lock_bh(&pi->lock);
	if (pi->dead || READ_ONCE(pi->inst->state) != NFCOLO_STATE_ACTIVE) {
		spin_unlock_bh(&pi->lock);
		return -ESHUTDOWN;
	}
	if (pi->held[side] >= limit + PMYCOLO_HEADROOM) {
		spin_unlock_bh(&pi->lock);
		return -ENOBUFS;
	}
	flow = pmycolo_flow_get(pi, key, pkt, side, &ev, &ask);
	if (IS_ERR(flow)) {
		err = PTR_ERR(flow);
		spin_unlock_bh(&pi->lock);
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
	pmycolo_flow_queue(flow, side, pkt);
	pmycolo_flow_touch(&pi->flows, flow, true);
	pkt->held_at = jiffies;
	list_add_tail(&pkt->age, &pi->age[side]);
	pi->held[side]++;
	if (list_empty(&flow->ready)) {
		wake = list_empty(&pi->ready);
		list_add_tail(&flow->ready, &pi->ready);
	}
	if (pi->held[side] >= limit && !ask) {
		ask = true;
		pmycolo_event(&ev, NFCOLO_REASON_QUEUE_FULL, flow);
	}
	pmycolo_gauges(pi);
	spin_unlock_bh(&pi->lock);

	if (wake)
		wake_up_process(pi->worker);
	if (ask)
		pmycolo_request(pi, &ev);
	return 0;

noted:
	pmycolo_flow_touch(&pi->flows, flow, false);
	if (list_empty(&flow->ready) && !list_empty(&flow->queue[COLO_CMP_PVM])) {
		/* A PVM packet may have been waiting for this ack. */
		wake = list_empty(&pi->ready);
		list_add_tail(&flow->ready, &pi->ready);
	}
	pmycolo_gauges(pi);
	spin_unlock_bh(&pi->lock);
	if (wake)
		wake_up_process(pi->worker);
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
		return XT_CONTINUE;

	pkt = kmalloc(sizeof(*pkt), GFP_ATOMIC);
	if (!pkt)
		goto drop;
	if (pmycolo_parse(skb, state->pf, &key, pkt)) {
		/* Nothing we can compare: let it be. */
		kfree(pkt);
		return XT_CONTINUE;
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
		return XT_CONTINUE;
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

static void pmycolo_release_list(struct pmycolo_inst *pi,
				 struct list_head *release, bool drop)
{
	struct pmycolo_pkt *pkt, *tmp;
	unsigned int n = 0, dropped = 0;
	u64 bytes = 0;
	u32 len;

	list_for_each_entry_safe(pkt, tmp, release, entry.list) {
		list_del(&pkt->entry.list);
		len = pkt->entry.skb->len;
		if (pmycolo_reinject(pkt, drop)) {
			n++;
			bytes += len;
		} else {
			dropped++;
		}
	}
	if (dropped)
		colo_stat_add(pi->inst, NFCOLO_STATS_PKTS_DROPPED, dropped);
	if (n) {
		colo_stat_add(pi->inst, NFCOLO_STATS_PKTS_RELEASED, n);
		colo_stat_add(pi->inst, NFCOLO_STATS_BYTES_RELEASED, bytes);
	}
}

static void pmycolo_free_list(struct pmycolo_inst *pi, struct list_head *freeq,
			      bool matched)
{
	struct pmycolo_pkt *pkt, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(pkt, tmp, freeq, entry.list) {
		list_del(&pkt->entry.list);
		if (matched)
			consume_skb(pkt->entry.skb);
		else
			kfree_skb(pkt->entry.skb);
		kfree(pkt);
		n++;
	}
	if (n)
		colo_stat_add(pi->inst, NFCOLO_STATS_SVM_PKTS_FREED, n);
}

struct pmycolo_batch {
	struct list_head	release;
	struct list_head	freeq;
	unsigned int		compared;
	u64			compared_bytes;
	unsigned int		matched;
	bool			miscompare;
	struct colo_event	ev;
};

static void pmycolo_pop(struct pmycolo_inst *pi, struct pmycolo_pkt *pkt,
			enum colo_cmp_side side, struct pmycolo_batch *b)
{
	pmycolo_flow_unqueue(pkt->flow, side, pkt);
	if (pkt->marked)
		colo_cmp_mark_drop(&pkt->flow->mark, side);
	list_del(&pkt->age);
	list_add_tail(&pkt->entry.list,
		      side == COLO_CMP_PVM ? &b->release : &b->freeq);
	pi->held[side]--;
}

/*
 * A queue head the comparator may look at: while a checkpoint's marked
 * packets are still queued on the flow, the unmarked ones wait for the
 * commit (they are compared against the SVM's output after it).
 */
static struct pmycolo_pkt *pmycolo_head_visible(struct pmycolo_flow *flow,
						enum colo_cmp_side side)
{
	struct pmycolo_pkt *pkt = pmycolo_head(flow, side);

	if (pkt && !colo_cmp_mark_visible(&flow->mark, pkt->marked))
		return NULL;
	return pkt;
}

/* Run the comparator over @flow's queue heads until it has to wait. */
static void pmycolo_compare_flow(struct pmycolo_inst *pi,
				 struct pmycolo_flow *flow,
				 struct pmycolo_batch *b)
{
	struct colo_cmp_result res = {};
	enum colo_cmp_action act;

	pmycolo_flow_sync(&pi->flows, flow);
	while (!flow->diverged) {
		struct pmycolo_pkt *p = pmycolo_head_visible(flow, COLO_CMP_PVM);
		struct pmycolo_pkt *s = pmycolo_head_visible(flow, COLO_CMP_SVM);
		const struct colo_cmp_pkt *pc = p ? &p->cmp : NULL;
		const struct colo_cmp_pkt *sc = s ? &s->cmp : NULL;

		if (flow->is_tcp)
			act = colo_cmp_tcp_step(&flow->tcp, pc, sc,
						pmycolo_cmp_bytes, &res);
		else
			act = colo_cmp_datagram(pc, sc, pmycolo_cmp_bytes,
						&res);
		switch (act) {
		case COLO_CMP_WAIT:
			return;
		case COLO_CMP_MISCOMPARE:
			flow->diverged = true;
			b->compared++;
			b->compared_bytes += p->cmp.len;
			pmycolo_event(&b->ev, NFCOLO_REASON_MISCOMPARE, flow);
			b->ev.has_seq = flow->is_tcp;
			b->ev.seq = res.seq;
			b->ev.offset = res.offset;
			b->ev.age_ms = jiffies_to_msecs(jiffies - p->held_at);
			/* Marked: the checkpoint under way covers it. */
			b->miscompare = !p->marked;
			trace_colo_miscompare(pi->inst->index, &b->ev);
			return;
		case COLO_CMP_RELEASE_BOTH:
			pmycolo_pop(pi, s, COLO_CMP_SVM, b);
			fallthrough;
		case COLO_CMP_RELEASE_PVM:
			b->compared++;
			b->matched++;
			b->compared_bytes += p->cmp.len;
			pmycolo_pop(pi, p, COLO_CMP_PVM, b);
			break;
		case COLO_CMP_DROP_SVM:
			pmycolo_pop(pi, s, COLO_CMP_SVM, b);
			break;
		}
	}
}

/*
 * Compare every flow with news and release what matched, until none is left
 * or @deadline (the next tick) has come: the tick's work must not wait for a
 * busy instance to run out of news.
 */
static void pmycolo_compare_ready(struct pmycolo_inst *pi,
				  unsigned long deadline)
{
	struct pmycolo_batch b;
	struct pmycolo_flow *flow;

	mutex_lock(&pi->release_mutex);
	for (;;) {
		INIT_LIST_HEAD(&b.release);
		INIT_LIST_HEAD(&b.freeq);
		b.compared = 0;
		b.compared_bytes = 0;
		b.matched = 0;
		b.miscompare = false;

		spin_lock_bh(&pi->lock);
		flow = list_first_entry_or_null(&pi->ready,
						struct pmycolo_flow, ready);
		if (!flow) {
			spin_unlock_bh(&pi->lock);
			break;
		}
		list_del_init(&flow->ready);
		pmycolo_compare_flow(pi, flow, &b);
		pmycolo_flow_settle(&pi->flows, flow);
		pmycolo_gauges(pi);
		spin_unlock_bh(&pi->lock);

		if (b.compared) {
			colo_stat_add(pi->inst, NFCOLO_STATS_PKTS_COMPARED,
				      b.compared);
			colo_stat_add(pi->inst, NFCOLO_STATS_BYTES_COMPARED,
				      b.compared_bytes);
			colo_stat_add(pi->inst, NFCOLO_STATS_PKTS_MATCHED,
				      b.matched);
		}
		pmycolo_release_list(pi, &b.release, false);
		pmycolo_free_list(pi, &b.freeq, true);
		if (b.miscompare)
			pmycolo_request(pi, &b.ev);
		cond_resched();
		if (!time_before(jiffies, deadline))
			break;
	}
	mutex_unlock(&pi->release_mutex);
}

/*
 * Every tick: ask for a checkpoint if a packet waited too long, or again
 * for one still wanted; forget idle flows. Each side's held packets are in
 * arrival order, so only the oldest is looked at; idle flows are in order
 * of age, and freed a batch per hold of the lock.
 */
static void pmycolo_scan(struct pmycolo_inst *pi)
{
	unsigned long timeout, now = jiffies, oldest = 0;
	struct pmycolo_pkt *late = NULL;
	struct colo_event ev;
	bool more;
	int side;

	timeout = msecs_to_jiffies(READ_ONCE(pi->inst->compare_timeout_ms));
	spin_lock_bh(&pi->lock);
	for (side = COLO_CMP_PVM; side <= COLO_CMP_SVM; side++) {
		struct pmycolo_pkt *pkt;

		pkt = list_first_entry_or_null(&pi->age[side],
					       struct pmycolo_pkt, age);
		if (pkt && time_after(now, pkt->held_at + timeout) &&
		    (!late || time_before(pkt->held_at, oldest))) {
			late = pkt;
			oldest = pkt->held_at;
		}
	}
	if (late) {
		pmycolo_event(&ev, NFCOLO_REASON_TIMEOUT, late->flow);
		ev.age_ms = jiffies_to_msecs(now - oldest);
	}
	spin_unlock_bh(&pi->lock);
	if (late)
		pmycolo_request(pi, &ev);
	pmycolo_request_again(pi);

	do {
		spin_lock_bh(&pi->lock);
		more = pmycolo_flows_expire(&pi->flows, PMYCOLO_FLOW_IDLE,
					    PMYCOLO_EXPIRE_BATCH);
		pmycolo_gauges(pi);
		spin_unlock_bh(&pi->lock);
		cond_resched();
	} while (more && !kthread_should_stop());
}

static unsigned long pmycolo_tick(const struct pmycolo_inst *pi)
{
	unsigned long t;

	t = msecs_to_jiffies(READ_ONCE(pi->inst->compare_timeout_ms)) / 4;
	return clamp(t, 1UL, (unsigned long)PMYCOLO_MAX_TICK);
}

static int pmycolo_worker(void *data)
{
	struct pmycolo_inst *pi = data;
	unsigned long next_scan = jiffies;

	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (list_empty_careful(&pi->ready) &&
		    time_before(jiffies, next_scan))
			schedule_timeout(next_scan - jiffies);
		__set_current_state(TASK_RUNNING);

		pmycolo_compare_ready(pi, next_scan);
		if (!time_before(jiffies, next_scan)) {
			pmycolo_scan(pi);
			next_scan = jiffies + pmycolo_tick(pi);
		}
	}
	return 0;
}

/*
 * Take every held packet off the queues; forget what was compared (every
 * flow catches up with the new epoch when next looked at) and any
 * checkpoint still wanted.
 */
static void pmycolo_flush(struct pmycolo_inst *pi, bool drop)
{
	struct pmycolo_flow *flow, *tmp;
	LIST_HEAD(release);
	LIST_HEAD(freeq);

	mutex_lock(&pi->release_mutex);
	spin_lock_bh(&pi->lock);
	list_for_each_entry_safe(flow, tmp, &pi->flows.busy, lru) {
		pmycolo_flow_splice(flow, COLO_CMP_PVM, &release);
		pmycolo_flow_splice(flow, COLO_CMP_SVM, &freeq);
		flow->mark = (struct colo_cmp_mark){};
		pmycolo_flow_settle(&pi->flows, flow);
	}
	pi->flows.epoch++;
	pi->want = false;
	pi->begun = false;
	INIT_LIST_HEAD(&pi->age[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&pi->age[COLO_CMP_SVM]);
	INIT_LIST_HEAD(&pi->age_marked[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&pi->age_marked[COLO_CMP_SVM]);
	pi->held[COLO_CMP_PVM] = 0;
	pi->held[COLO_CMP_SVM] = 0;
	pmycolo_gauges(pi);
	spin_unlock_bh(&pi->lock);

	pmycolo_release_list(pi, &release, drop);
	pmycolo_free_list(pi, &freeq, false);
	mutex_unlock(&pi->release_mutex);
}

static bool pmycolo_entry_uses_dev(const struct nf_queue_entry *entry,
				   const struct net_device *dev)
{
	if (entry->skb_dev == dev || entry->state.in == dev ||
	    entry->state.out == dev)
		return true;
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	if (entry->physin == dev || entry->physout == dev)
		return true;
#endif
	return false;
}

/*
 * @dev is going away: drop the held PVM packets that refer to it, and the
 * SVM's that came in through it (the forward device: they hold no
 * reference to it).
 */
static void pmycolo_inst_drop_dev(struct pmycolo_inst *pi,
				  const struct net_device *dev)
{
	struct list_head *lists[] = { pi->age, pi->age_marked };
	struct pmycolo_pkt *pkt, *tmp;
	LIST_HEAD(release);
	LIST_HEAD(freeq);
	unsigned int i;
	int side;

	mutex_lock(&pi->release_mutex);
	spin_lock_bh(&pi->lock);
	for (i = 0; i < ARRAY_SIZE(lists) * 2; i++) {
		side = i % 2;
		list_for_each_entry_safe(pkt, tmp, &lists[i / 2][side], age) {
			struct pmycolo_flow *flow = pkt->flow;

			if (side == COLO_CMP_PVM ?
			    !pmycolo_entry_uses_dev(&pkt->entry, dev) :
			    pkt->entry.skb->dev != dev)
				continue;
			pmycolo_flow_unqueue(flow, side, pkt);
			if (pkt->marked)
				colo_cmp_mark_drop(&flow->mark, side);
			list_del(&pkt->age);
			list_add_tail(&pkt->entry.list, side == COLO_CMP_PVM ?
				      &release : &freeq);
			pi->held[side]--;
			pmycolo_flow_settle(&pi->flows, flow);
		}
	}
	pmycolo_gauges(pi);
	spin_unlock_bh(&pi->lock);
	pmycolo_release_list(pi, &release, true);
	pmycolo_free_list(pi, &freeq, false);
	mutex_unlock(&pi->release_mutex);
}

/* Under pmycolo_mutex: the instances of a namespace. */
static LIST_HEAD(pmycolo_insts);

void pmycolo_inst_link(struct pmycolo_inst *pi)
{
	mutex_lock(&pmycolo_mutex);
	list_add_tail(&pi->net_node, &pmycolo_insts);
	mutex_unlock(&pmycolo_mutex);
}

void pmycolo_inst_unlink(struct pmycolo_inst *pi)
{
	mutex_lock(&pmycolo_mutex);
	list_del(&pi->net_node);
	mutex_unlock(&pmycolo_mutex);
}

void pmycolo_flush_net(struct net *net)
{
	struct pmycolo_inst *pi;

	lockdep_assert_held(&pmycolo_mutex);
	list_for_each_entry(pi, &pmycolo_insts, net_node)
		if (net_eq(pi->net, net))
			pmycolo_flush(pi, !check_net(net));
}

void pmycolo_drop_dev(struct net *net, const struct net_device *dev)
{
	struct pmycolo_inst *pi;

	lockdep_assert_held(&pmycolo_mutex);
	list_for_each_entry(pi, &pmycolo_insts, net_node)
		if (net_eq(pi->net, net))
			pmycolo_inst_drop_dev(pi, dev);
}

static int pmycolo_attach(struct colo_instance *inst)
{
	struct pmycolo_inst *pi;
	int err;

	/* Charged to the memory cgroup of whoever creates the instance. */
	pi = kzalloc(sizeof(*pi), GFP_KERNEL_ACCOUNT);
	if (!pi)
		return -ENOMEM;
	pi->inst = inst;
	pi->net = colo_instance_net(inst);
	spin_lock_init(&pi->lock);
	mutex_init(&pi->release_mutex);
	INIT_LIST_HEAD(&pi->age[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&pi->age[COLO_CMP_SVM]);
	INIT_LIST_HEAD(&pi->age_marked[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&pi->age_marked[COLO_CMP_SVM]);
	INIT_LIST_HEAD(&pi->ready);
	err = pmycolo_flows_init(&pi->flows);
	if (err)
		goto err_free;
	pi->worker = kthread_run(pmycolo_worker, pi, "colo_pmy/%u",
				 inst->index);
	if (IS_ERR(pi->worker)) {
		err = PTR_ERR(pi->worker);
		goto err_flows;
	}
	inst->role_data = pi;
	pmycolo_inst_link(pi);
	return 0;

err_flows:
	pmycolo_flows_destroy(&pi->flows);
err_free:
	kfree(pi);
	return err;
}

/*
 * No grace period is waited for here (a namespace going away detaches many
 * instances under the core's mutex): a packet path that still sees the
 * role finds it dead under the lock and never touches a flow; the memory
 * it may still read is freed after a grace period. inst->role_data keeps
 * pointing here for those readers until a new role data replaces it.
 */
static void pmycolo_detach(struct colo_instance *inst)
{
	struct pmycolo_inst *pi = inst->role_data;

	spin_lock_bh(&pi->lock);
	pi->dead = true;
	spin_unlock_bh(&pi->lock);
	kthread_stop(pi->worker);
	/* Held PVM packets go on, unless their namespace is going away. */
	pmycolo_flush(pi, !check_net(pi->net));
	pmycolo_inst_unlink(pi);
	pmycolo_flows_destroy(&pi->flows);
	colo_gauge_set(inst, COLO_GAUGE_PVM_QUEUE, 0);
	colo_gauge_set(inst, COLO_GAUGE_SVM_QUEUE, 0);
	colo_gauge_set(inst, COLO_GAUGE_FLOWS, 0);
	kfree_rcu(pi, rcu);
}

/*
 * Two-phase checkpoint, begin: mark every packet held now, on both sides
 * (the PVM is stopped: what it sent so far is in the state the SVM gets).
 * A second begin before the commit marks what came since too: the mark
 * moves to the later snapshot. Only flows holding packets are walked.
 */
static void pmycolo_checkpoint_begin(struct colo_instance *inst)
{
	struct pmycolo_inst *pi = inst->role_data;
	struct pmycolo_flow *flow;
	struct pmycolo_pkt *pkt;
	int side;

	spin_lock_bh(&pi->lock);
	list_for_each_entry(flow, &pi->flows.busy, lru) {
		u32 marked[2] = {};

		for (side = COLO_CMP_PVM; side <= COLO_CMP_SVM; side++) {
			list_for_each_entry(pkt, &flow->queue[side], entry.list) {
				if (pkt->marked)
					continue;
				pkt->marked = true;
				marked[side]++;
			}
		}
		colo_cmp_mark_take(&flow->mark, &flow->tcp, marked);
	}
	for (side = COLO_CMP_PVM; side <= COLO_CMP_SVM; side++)
		list_splice_tail_init(&pi->age[side], &pi->age_marked[side]);
	pi->begun = true;
	/* The checkpoint under way is the one a request still wanted. */
	pi->want = false;
	spin_unlock_bh(&pi->lock);
}

/*
 * Two-phase checkpoint, commit: release (PVM) and free (SVM) the packets
 * still marked; the worker may have matched some already, and popped them
 * under the lock, so none goes twice. Each flow that had marked packets
 * compares afresh; what it holds beyond the mark is compared now.
 */
static void pmycolo_commit(struct pmycolo_inst *pi)
{
	struct pmycolo_flow *flow, *tmp;
	struct pmycolo_pkt *pkt, *ptmp;
	LIST_HEAD(release);
	LIST_HEAD(freeq);
	bool wake = false;
	int side;

	mutex_lock(&pi->release_mutex);
	spin_lock_bh(&pi->lock);
	list_for_each_entry_safe(flow, tmp, &pi->flows.busy, lru) {
		if (!colo_cmp_mark_pending(&flow->mark))
			continue;
		for (side = COLO_CMP_PVM; side <= COLO_CMP_SVM; side++) {
			list_for_each_entry_safe(pkt, ptmp, &flow->queue[side],
						 entry.list) {
				if (!pkt->marked)
					continue;
				pmycolo_flow_unqueue(flow, side, pkt);
				list_del(&pkt->age);
				list_add_tail(&pkt->entry.list,
					      side == COLO_CMP_PVM ?
					      &release : &freeq);
				pi->held[side]--;
			}
		}
		colo_cmp_mark_commit(&flow->mark, &flow->tcp);
		flow->diverged = false;
		if (pmycolo_flow_settle(&pi->flows, flow) ||
		    !list_empty(&flow->ready))
			continue;
		if (!list_empty(&flow->queue[COLO_CMP_PVM]) ||
		    !list_empty(&flow->queue[COLO_CMP_SVM])) {
			wake |= list_empty(&pi->ready);
			list_add_tail(&flow->ready, &pi->ready);
		}
	}
	WARN_ON_ONCE(!list_empty(&pi->age_marked[COLO_CMP_PVM]) ||
		     !list_empty(&pi->age_marked[COLO_CMP_SVM]));
	pi->begun = false;
	pmycolo_gauges(pi);
	spin_unlock_bh(&pi->lock);

	pmycolo_release_list(pi, &release, false);
	pmycolo_free_list(pi, &freeq, false);
	mutex_unlock(&pi->release_mutex);
	if (wake)
		wake_up_process(pi->worker);
}

/* After a begin, the commit; alone (Xen libxl), release everything. */
static void pmycolo_checkpoint(struct colo_instance *inst)
{
	struct pmycolo_inst *pi = inst->role_data;
	bool begun;

	spin_lock_bh(&pi->lock);
	begun = pi->begun;
	spin_unlock_bh(&pi->lock);
	if (begun)
		pmycolo_commit(pi);
	else
		pmycolo_flush(pi, false);
}

static void pmycolo_failover(struct colo_instance *inst)
{
	pmycolo_flush(inst->role_data, false);
}

const struct colo_role_ops pmycolo_role = {
	.mode		= NFCOLO_MODE_PRIMARY,
	.attach		= pmycolo_attach,
	.detach		= pmycolo_detach,
	.checkpoint_begin = pmycolo_checkpoint_begin,
	.checkpoint	= pmycolo_checkpoint,
	.failover	= pmycolo_failover,
};
