/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The primary's flow table (pmycolo_flow.c): one per shard of a primary
 * instance, every function called under the shard's spinlock (bottom halves
 * off). Only count is read without it, by the instance's other shards.
 */
#ifndef _PMYCOLO_FLOW_H
#define _PMYCOLO_FLOW_H

#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/rhashtable.h>
#include "pmycolo.h"

/*
 * Past its limit the table still takes this many flows of PVM packets while
 * the checkpoint it asked for is awaited; only then are they dropped.
 */
#define PMYCOLO_FLOW_HEADROOM	1024

struct pmycolo_flow {
	struct rhash_head	node;		/* pmycolo_flows.table */
	struct list_head	lru;		/* pmycolo_flows.busy or .idle */
	struct list_head	ready;		/* pmycolo_shard.ready, if news */
	/* pmycolo_shard.stuck: waiting inside a GSO head (pmycolo_split.c) */
	struct list_head	stuck;
	struct pmycolo_key	key;
	struct list_head	queue[2];	/* enum colo_cmp_side */
	/* TCP: the queues indexed by sort key, so inserts are O(log n). */
	struct rb_root		order[2];
	u32			order_base[2];
	struct colo_cmp_tcp	tcp;
	struct colo_cmp_mark	mark;		/* two-phase checkpoint */
	u32			syn_seq[2];	/* last SYN of each side */
	u8			syn_known;	/* BIT(side): syn_seq valid */
	bool			is_tcp;
	bool			diverged;	/* hold all until the checkpoint */
	bool			busy;		/* on .busy: holds packets */
	bool			svm_only;	/* no PVM packet seen yet */
	bool			split_eager;	/* split GSO heads at once */
	u32			stuck_seq;	/* compared_seq when stuck */
	unsigned long		stuck_since;	/* jiffies */
	u32			epoch;		/* checkpoints seen */
	u32			born;		/* pmycolo_shard.phase then */
	unsigned long		last_seen;	/* jiffies */
	struct rcu_head		rcu;
};

struct pmycolo_flows {
	struct rhashtable	table;
	struct list_head	busy;		/* flows holding packets */
	struct list_head	idle;		/* empty flows, oldest first */
	unsigned int		count;
	u32			epoch;		/* checkpoints done */
};

int pmycolo_flows_init(struct pmycolo_flows *ft);
/* Frees every flow: nothing may look them up any more. */
void pmycolo_flows_destroy(struct pmycolo_flows *ft);

struct pmycolo_flow *pmycolo_flow_lookup(struct pmycolo_flows *ft,
					 const struct pmycolo_key *key);
/*
 * A new flow, while fewer than @limit exist; at the limit, the flow idle the
 * longest is reused (*@evicted set) if @may_evict, else ERR_PTR(-ENOSPC).
 */
struct pmycolo_flow *pmycolo_flow_new(struct pmycolo_flows *ft,
				      const struct pmycolo_key *key,
				      unsigned int limit, bool may_evict,
				      bool *evicted);
void pmycolo_flow_free(struct pmycolo_flows *ft, struct pmycolo_flow *flow);

/* Apply the checkpoints done since @flow was last looked at. */
void pmycolo_flow_sync(struct pmycolo_flows *ft, struct pmycolo_flow *flow);
/* A packet of @flow was seen; it is queued if @queued. */
void pmycolo_flow_touch(struct pmycolo_flows *ft, struct pmycolo_flow *flow,
			bool queued);
/*
 * Packets left @flow's queues: once both are empty it becomes idle, or is
 * freed if only the SVM ever sent on it. True if it was freed.
 */
bool pmycolo_flow_settle(struct pmycolo_flows *ft, struct pmycolo_flow *flow);
/*
 * Free up to @budget flows idle for longer than @idle; true when more of
 * them may remain.
 */
bool pmycolo_flows_expire(struct pmycolo_flows *ft, unsigned long idle,
			  unsigned int budget);

/* Queue @pkt on its side of @flow: TCP sorted, others in arrival order. */
void pmycolo_flow_queue(struct pmycolo_flow *flow, enum colo_cmp_side side,
			struct pmycolo_pkt *pkt);
/* Take @pkt off its queue (it stays on no list). */
void pmycolo_flow_unqueue(struct pmycolo_flow *flow, enum colo_cmp_side side,
			  struct pmycolo_pkt *pkt);
/* Move every packet of @side to @to, in queue order. */
void pmycolo_flow_splice(struct pmycolo_flow *flow, enum colo_cmp_side side,
			 struct list_head *to);

#endif /* _PMYCOLO_FLOW_H */
