// SPDX-License-Identifier: GPL-2.0
/*
 * Where held packets leave a primary instance: the PVM's continue (or are
 * dropped), the SVM's are freed. Besides the worker's matches, everything
 * goes at once on a checkpoint without a begin and a failover (flush), and
 * what refers to a device that goes away (drop by device).
 */
#include <linux/netdevice.h>
#include "pmycolo_engine.h"

/* The glue's continuation of a held PVM packet: set before any instance. */
static bool (*pmycolo_continue)(struct nf_queue_entry *entry, bool drop)
	__read_mostly;

void pmycolo_release_init(bool (*reinject)(struct nf_queue_entry *entry,
					   bool drop))
{
	pmycolo_continue = reinject;
}

void pmycolo_release_list(struct pmycolo_inst *pi, struct list_head *release,
			  bool drop)
{
	struct pmycolo_pkt *pkt, *tmp;
	unsigned int n = 0, dropped = 0;
	u64 bytes = 0;
	u32 len;

	list_for_each_entry_safe(pkt, tmp, release, entry.list) {
		list_del(&pkt->entry.list);
		len = pkt->entry.skb->len;
		if (pmycolo_continue(&pkt->entry, drop)) {
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

void pmycolo_free_list(struct pmycolo_inst *pi, struct list_head *freeq,
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

/*
 * Take every held packet of @sh off the queues; forget what was compared
 * (every flow catches up with the new epoch when next looked at).
 */
void pmycolo_shard_flush(struct pmycolo_shard *sh, bool drop)
{
	struct pmycolo_flow *flow, *tmp;
	LIST_HEAD(release);
	LIST_HEAD(freeq);

	mutex_lock(&sh->release_mutex);
	spin_lock_bh(&sh->lock);
	list_for_each_entry_safe(flow, tmp, &sh->flows.busy, lru) {
		pmycolo_flow_splice(flow, COLO_CMP_PVM, &release);
		pmycolo_flow_splice(flow, COLO_CMP_SVM, &freeq);
		flow->mark = (struct colo_cmp_mark){};
		pmycolo_flow_settle(&sh->flows, flow);
	}
	sh->flows.epoch++;
	/* It ends a checkpoint begun, but leaves nothing to settle. */
	if (sh->begun)
		sh->phase++;
	sh->begun = false;
	sh->settle_until = jiffies;
	INIT_LIST_HEAD(&sh->age[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&sh->age[COLO_CMP_SVM]);
	INIT_LIST_HEAD(&sh->age_marked[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&sh->age_marked[COLO_CMP_SVM]);
	WRITE_ONCE(sh->held[COLO_CMP_PVM], 0);
	WRITE_ONCE(sh->held[COLO_CMP_SVM], 0);
	pmycolo_gauges(sh->pi);
	spin_unlock_bh(&sh->lock);

	pmycolo_release_list(sh->pi, &release, drop);
	pmycolo_free_list(sh->pi, &freeq, false);
	mutex_unlock(&sh->release_mutex);
}

/* Flush every shard, and forget any checkpoint still wanted. */
void pmycolo_flush(struct pmycolo_inst *pi, bool drop)
{
	u32 i;

	for (i = 0; i < pi->n_shards; i++)
		pmycolo_shard_flush(pi->shard[i], drop);
	pmycolo_request_covered(pi);
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
static void pmycolo_shard_drop_dev(struct pmycolo_shard *sh,
				   const struct net_device *dev)
{
	struct list_head *lists[] = { sh->age, sh->age_marked };
	struct pmycolo_pkt *pkt, *tmp;
	LIST_HEAD(release);
	LIST_HEAD(freeq);
	unsigned int i;
	int side;

	mutex_lock(&sh->release_mutex);
	spin_lock_bh(&sh->lock);
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
			pmycolo_held_add(sh, side, -1);
			pmycolo_flow_settle(&sh->flows, flow);
		}
	}
	pmycolo_gauges(sh->pi);
	spin_unlock_bh(&sh->lock);
	pmycolo_release_list(sh->pi, &release, true);
	pmycolo_free_list(sh->pi, &freeq, false);
	mutex_unlock(&sh->release_mutex);
}

void pmycolo_inst_drop_dev(struct pmycolo_inst *pi,
			   const struct net_device *dev)
{
	u32 i;

	for (i = 0; i < pi->n_shards; i++)
		pmycolo_shard_drop_dev(pi->shard[i], dev);
}
