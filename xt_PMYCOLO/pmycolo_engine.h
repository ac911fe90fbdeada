/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The primary host's hold-and-compare engine, one per primary instance,
 * and the pool of worker threads that serves them all: what its files
 * share. The netfilter glue (pmycolo_target.c, pmycolo_net.c) calls the
 * engine through pmycolo.h; the engine never calls the glue.
 *
 * pmycolo_intake.c	queue the packets of both VMs in their flows
 * pmycolo_shard.c	an instance's flows cut into shards by hash
 * pmycolo_worker.c	a shard's work: compare, release, tick
 * pmycolo_pool.c	the worker threads shared by every instance
 * pmycolo_split.c	cut a held GSO packet the SVM cannot finish
 * pmycolo_release.c	release and free lists; flush, drop by device
 * pmycolo_request.c	checkpoint requests, and asking again
 * pmycolo_role.c	the role operations the core calls
 * pmycolo_insts.c	each namespace's list of primary instances
 *
 * Packets of both VMs are sorted into flows (pmycolo_flow.c: a table keyed
 * by the VM's output tuple, one per shard of the instance) and queued
 * there: the PVM's with the nf_queue_entry that lets them continue through
 * netfilter later, the SVM's as bare skbs. The packet path only queues
 * and, when a flow gets news, queues its shard on the shard's worker in the
 * pool and wakes that worker if it sleeps. The worker runs the comparator
 * core (colo_compare.c) over the heads of each flow's queues, then,
 * outside the spinlock, continues the released PVM packets and frees the
 * SVM's. Every release happens under the shard's release_mutex, in queue
 * order, so a checkpoint or a failover flushing the queues never overtakes
 * the worker.
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
#ifndef _PMYCOLO_ENGINE_H
#define _PMYCOLO_ENGINE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include "pmycolo_flow.h"

struct completion;
struct pmycolo_pool_worker;

/* A shard's place in the worker pool (pmycolo_pool.c). */
struct pmycolo_pool_slot {
	struct pmycolo_pool_worker *worker;	/* serves it, from attach on */
	struct list_head	node;		/* worker's shards: its mutex */
	/* Under the worker's lock: */
	struct list_head	ready;		/* on its FIFO: has news */
	bool			gone;		/* detached: queued no more */
	struct completion	*left;		/* the detach waiting for a turn */
	/* Under the worker's mutex: */
	unsigned long		next_scan;	/* jiffies */
};

/*
 * A shard of a primary instance: the flows whose key hashes to it, their
 * held packets, and the worker in the pool that compares them. A flow
 * lives in one shard, so its packets stay in order; shards of an instance
 * are compared on different workers, each under its own lock.
 */
struct pmycolo_shard {
	struct pmycolo_inst	*pi;		/* whose flows it holds */
	spinlock_t		lock;		/* everything below */
	bool			dead;
	/* Written under the lock, read by the instance's other shards. */
	unsigned int		held[2];
	struct list_head	age[2];		/* held packets, oldest first */
	/* A checkpoint has begun: what it marked, oldest first. */
	bool			begun;
	struct list_head	age_marked[2];
	/* Two per checkpoint: odd from its begin to its commit. */
	u32			phase;
	/* Until then the SVM's output may carry the offsets of before it. */
	unsigned long		settle_until;	/* jiffies */
	struct list_head	ready;
	/* Flows waiting inside a GSO head with nothing of the SVM's. */
	struct list_head	stuck;
	struct pmycolo_flows	flows;
	/* Orders every release of the shard's packets. */
	struct mutex		release_mutex;
	struct pmycolo_pool_slot pool;
	struct rcu_head		rcu;
};

struct pmycolo_inst {
	struct colo_instance	*inst;		/* owns us */
	struct net		*net;
	struct list_head	net_node;	/* pmycolo_insts.lock */
	spinlock_t		want_lock;	/* want*, deferred* */
	/* Taken under a shard's lock to make a flow, if several shards. */
	spinlock_t		new_flow_lock;
	/* A checkpoint is still wanted: asked again every tick. */
	bool			want;
	struct colo_event	want_ev;
	/* A miscompare's request, deferred (pmycolo_request_miscompare). */
	bool			deferred;
	struct colo_event	deferred_ev;
	struct timer_list	deferred_timer;
	u32			n_shards;
	struct rcu_head		rcu;
	struct pmycolo_shard	*shard[];	/* n_shards of them */
};

extern const struct colo_role_ops pmycolo_role;

/* pmycolo_shard.c: an instance's shards, and their sums. */
struct pmycolo_inst *pmycolo_inst_alloc(struct colo_instance *inst,
					u32 n_shards);
/* Nothing may queue on it any more; its memory goes after RCU readers. */
void pmycolo_inst_free(struct pmycolo_inst *pi);
/* The shard of @key's flow. */
struct pmycolo_shard *pmycolo_shard_of(const struct pmycolo_inst *pi,
				       const struct pmycolo_key *key);
/* What the instance holds on @side, all its shards together. */
unsigned int pmycolo_held(const struct pmycolo_inst *pi,
			  enum colo_cmp_side side);
/* Under sh->lock: how many flows the instance may have in @sh. */
unsigned int pmycolo_flow_room(const struct pmycolo_shard *sh, u32 limit);
/* Under sh->lock: @side's held packets go up (or down) by @delta. */
static inline void pmycolo_held_add(struct pmycolo_shard *sh,
				    enum colo_cmp_side side, int delta)
{
	WRITE_ONCE(sh->held[side], sh->held[side] + delta);
}

/*
 * Publish the queue depths and the flows, all shards together: a shard's
 * sum may miss another's last change, so every tick publishes them again.
 */
void pmycolo_gauges(struct pmycolo_inst *pi);

/* pmycolo_request.c */
void pmycolo_event(struct colo_event *ev, u8 reason,
		   const struct pmycolo_flow *flow);
void pmycolo_request(struct pmycolo_inst *pi, const struct colo_event *ev);
void pmycolo_request_again(struct pmycolo_inst *pi);
void pmycolo_request_init(struct pmycolo_inst *pi);
void pmycolo_request_miscompare(struct pmycolo_inst *pi,
				const struct colo_event *ev);
void pmycolo_request_covered(struct pmycolo_inst *pi);
void pmycolo_request_stop(struct pmycolo_inst *pi);

/* pmycolo_release.c */
void pmycolo_release_init(bool (*reinject)(struct nf_queue_entry *entry,
					   bool drop));
/* Under release_mutex, outside sh->lock: packets taken off the queues. */
void pmycolo_release_list(struct pmycolo_inst *pi, struct list_head *release,
			  bool drop);
void pmycolo_free_list(struct pmycolo_inst *pi, struct list_head *freeq,
		       bool matched);
/* Take everything off the queues and release it (drop: free it). */
void pmycolo_shard_flush(struct pmycolo_shard *sh, bool drop);
void pmycolo_flush(struct pmycolo_inst *pi, bool drop);
void pmycolo_inst_drop_dev(struct pmycolo_inst *pi,
			   const struct net_device *dev);

/* pmycolo_split.c, under sh->lock */
bool pmycolo_split_wanted(const struct pmycolo_flow *flow,
			  const struct pmycolo_pkt *p,
			  const struct pmycolo_pkt *s);
int pmycolo_split(struct pmycolo_shard *sh, struct pmycolo_pkt *p);

/* pmycolo_worker.c: a shard's work, run by its worker in the pool. */
bool pmycolo_compare_ready(struct pmycolo_shard *sh, unsigned long deadline);
void pmycolo_scan(struct pmycolo_shard *sh);
unsigned long pmycolo_tick(const struct pmycolo_inst *pi);

/* pmycolo_pool.c: the worker threads, started before any instance. */
int pmycolo_pool_init(void);
void pmycolo_pool_exit(void);
/*
 * How many shards a new instance gets: @asked, else compare_shards; at
 * most one per worker.
 */
u32 pmycolo_pool_shards(u32 asked);
void pmycolo_pool_join(struct pmycolo_inst *pi);
void pmycolo_pool_leave(struct pmycolo_inst *pi);
/* @sh has news: a flow joined its empty ready list. */
void pmycolo_pool_wake(struct pmycolo_shard *sh);

/* pmycolo_insts.c: the namespaces' lists, registered first. */
int pmycolo_insts_init(void);
void pmycolo_insts_exit(void);
void pmycolo_inst_link(struct pmycolo_inst *pi);
void pmycolo_inst_unlink(struct pmycolo_inst *pi);

#endif /* _PMYCOLO_ENGINE_H */
