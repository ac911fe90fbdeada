// SPDX-License-Identifier: GPL-2.0
/*
 * The primary's flow table: the kernel's rhashtable keyed by the VM's output
 * tuple (lookups stay O(1) as it grows and shrinks), one per shard of an
 * instance, bounded by the room the instance's flow limit leaves it. Every
 * flow is on one of two lists, so nothing ever
 * walks the whole table:
 *
 *   busy	flows holding packets. Their number is bounded by the packets
 *		held (the queue limits), and a checkpoint's flush walks only
 *		these.
 *   idle	flows with empty queues, least recently used first. Idle
 *		expiry pops them from the head; at the limit, a new flow
 *		takes the place of the head (it only had compare state: the
 *		next packets of that tuple compare afresh).
 *
 * A checkpoint resets the compare state of every flow lazily: the table
 * counts checkpoints (epoch), and a flow catches up when next looked at.
 *
 * TCP queues are kept sorted by an rbtree beside the list, so that a run of
 * segments in reverse order costs O(log n) each, never a walk of the queue.
 */
#include <linux/jiffies.h>
#include <linux/slab.h>
#include "pmycolo_flow.h"

static const struct rhashtable_params pmycolo_flow_params = {
	.head_offset		= offsetof(struct pmycolo_flow, node),
	.key_offset		= offsetof(struct pmycolo_flow, key),
	.key_len		= sizeof(struct pmycolo_key),
	.automatic_shrinking	= true,
};

int pmycolo_flows_init(struct pmycolo_flows *ft)
{
	INIT_LIST_HEAD(&ft->busy);
	INIT_LIST_HEAD(&ft->idle);
	ft->count = 0;
	ft->epoch = 0;
	return rhashtable_init(&ft->table, &pmycolo_flow_params);
}

void pmycolo_flows_destroy(struct pmycolo_flows *ft)
{
	struct pmycolo_flow *flow, *tmp;

	list_for_each_entry_safe(flow, tmp, &ft->busy, lru)
		kfree(flow);
	list_for_each_entry_safe(flow, tmp, &ft->idle, lru)
		kfree(flow);
	INIT_LIST_HEAD(&ft->busy);
	INIT_LIST_HEAD(&ft->idle);
	WRITE_ONCE(ft->count, 0);
	rhashtable_destroy(&ft->table);
}

struct pmycolo_flow *pmycolo_flow_lookup(struct pmycolo_flows *ft,
					 const struct pmycolo_key *key)
{
	return rhashtable_lookup_fast(&ft->table, key, pmycolo_flow_params);
}

void pmycolo_flow_free(struct pmycolo_flows *ft, struct pmycolo_flow *flow)
{
	rhashtable_remove_fast(&ft->table, &flow->node, pmycolo_flow_params);
	list_del(&flow->lru);
	list_del(&flow->ready);
	list_del(&flow->stuck);
	WRITE_ONCE(ft->count, ft->count - 1);
	/* Lookups run under the shard's lock; the table's own work, RCU. */
	kfree_rcu(flow, rcu);
}

struct pmycolo_flow *pmycolo_flow_new(struct pmycolo_flows *ft,
				      const struct pmycolo_key *key,
				      unsigned int limit, bool may_evict,
				      bool *evicted)
{
	struct pmycolo_flow *flow;
	int err;

	*evicted = false;
	if (ft->count >= limit) {
		flow = list_first_entry_or_null(&ft->idle, struct pmycolo_flow,
						lru);
		if (!may_evict || !flow)
			return ERR_PTR(-ENOSPC);
		pmycolo_flow_free(ft, flow);
		*evicted = true;
	}
	flow = kzalloc(sizeof(*flow), GFP_ATOMIC);
	if (!flow)
		return ERR_PTR(-ENOMEM);
	flow->key = *key;
	flow->is_tcp = key->l4proto == IPPROTO_TCP && !key->frag;
	INIT_LIST_HEAD(&flow->queue[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&flow->queue[COLO_CMP_SVM]);
	INIT_LIST_HEAD(&flow->ready);
	INIT_LIST_HEAD(&flow->stuck);
	flow->order[COLO_CMP_PVM] = RB_ROOT;
	flow->order[COLO_CMP_SVM] = RB_ROOT;
	flow->epoch = ft->epoch;
	flow->last_seen = jiffies;
	err = rhashtable_insert_fast(&ft->table, &flow->node,
				     pmycolo_flow_params);
	if (err) {
		kfree(flow);
		return ERR_PTR(err);
	}
	list_add_tail(&flow->lru, &ft->idle);
	WRITE_ONCE(ft->count, ft->count + 1);
	return flow;
}

void pmycolo_flow_sync(struct pmycolo_flows *ft, struct pmycolo_flow *flow)
{
	if (flow->epoch == ft->epoch)
		return;
	flow->epoch = ft->epoch;
	colo_cmp_tcp_reset(&flow->tcp);
	flow->diverged = false;
}

void pmycolo_flow_touch(struct pmycolo_flows *ft, struct pmycolo_flow *flow,
			bool queued)
{
	flow->last_seen = jiffies;
	if (queued && !flow->busy) {
		flow->busy = true;
		list_move_tail(&flow->lru, &ft->busy);
	} else if (!flow->busy) {
		list_move_tail(&flow->lru, &ft->idle);
	}
}

bool pmycolo_flow_settle(struct pmycolo_flows *ft, struct pmycolo_flow *flow)
{
	if (!list_empty(&flow->queue[COLO_CMP_PVM]) ||
	    !list_empty(&flow->queue[COLO_CMP_SVM]))
		return false;
	/* Nothing of the PVM will ever match it: keep no state for it. */
	if (flow->svm_only) {
		pmycolo_flow_free(ft, flow);
		return true;
	}
	if (flow->busy) {
		flow->busy = false;
		flow->last_seen = jiffies;
		list_move_tail(&flow->lru, &ft->idle);
	}
	return false;
}

bool pmycolo_flows_expire(struct pmycolo_flows *ft, unsigned long idle,
			  unsigned int budget)
{
	unsigned long now = jiffies;
	struct pmycolo_flow *flow;

	while ((flow = list_first_entry_or_null(&ft->idle,
						struct pmycolo_flow, lru))) {
		if (!time_after(now, flow->last_seen + idle))
			return false;
		if (!budget--)
			return true;
		pmycolo_flow_free(ft, flow);
	}
	return false;
}

/*
 * Sort key of a TCP segment: SYNs first (their seq, an ISN, compares with
 * nothing), in arrival order; then by seq, counted from half the sequence
 * space before the first segment of the queue. That is a total order
 * whatever the seq (a hostile one cannot corrupt the tree) and the wrap-safe
 * order for every segment within 2^31 of the first.
 */
static u64 pmycolo_order_key(const struct pmycolo_flow *flow,
			     enum colo_cmp_side side,
			     const struct pmycolo_pkt *pkt)
{
	if (pkt->cmp.tcp_flags & COLO_TCP_SYN)
		return 0;
	return 1 + (u64)(u32)(pkt->cmp.seq - flow->order_base[side]);
}

/* Equal keys stay in arrival order: a new one goes after its equals. */
static void pmycolo_queue_tcp(struct pmycolo_flow *flow,
			      enum colo_cmp_side side, struct pmycolo_pkt *pkt)
{
	struct rb_node **link = &flow->order[side].rb_node, *parent = NULL;
	struct pmycolo_pkt *prev = NULL;
	u64 key;

	if (RB_EMPTY_ROOT(&flow->order[side]))
		flow->order_base[side] = pkt->cmp.seq - 0x80000000U;
	key = pmycolo_order_key(flow, side, pkt);
	while (*link) {
		struct pmycolo_pkt *pos;

		parent = *link;
		pos = rb_entry(parent, struct pmycolo_pkt, order);
		if (key < pmycolo_order_key(flow, side, pos)) {
			link = &parent->rb_left;
		} else {
			prev = pos;
			link = &parent->rb_right;
		}
	}
	rb_link_node(&pkt->order, parent, link);
	rb_insert_color(&pkt->order, &flow->order[side]);
	/* The list follows the tree: right after the last smaller-or-equal. */
	list_add(&pkt->entry.list, prev ? &prev->entry.list : &flow->queue[side]);
}

void pmycolo_flow_queue(struct pmycolo_flow *flow, enum colo_cmp_side side,
			struct pmycolo_pkt *pkt)
{
	pkt->flow = flow;
	if (flow->is_tcp)
		pmycolo_queue_tcp(flow, side, pkt);
	else
		list_add_tail(&pkt->entry.list, &flow->queue[side]);
}

void pmycolo_flow_unqueue(struct pmycolo_flow *flow, enum colo_cmp_side side,
			  struct pmycolo_pkt *pkt)
{
	list_del(&pkt->entry.list);
	if (flow->is_tcp)
		rb_erase(&pkt->order, &flow->order[side]);
}

void pmycolo_flow_splice(struct pmycolo_flow *flow, enum colo_cmp_side side,
			 struct list_head *to)
{
	list_splice_tail_init(&flow->queue[side], to);
	flow->order[side] = RB_ROOT;
}
