/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The primary host's hold-and-compare engine, one per primary instance,
 * and the pool of worker threads that serves them all: what its files
 * share. The netfilter glue (pmycolo_target.c, pmycolo_net.c) calls the
 * engine through pmycolo.h; the engine never calls the glue.
 *
 * pmycolo_intake.c	queue the packets of both VMs in their flows
 * pmycolo_worker.c	an instance's work: compare, release, tick
 * pmycolo_pool.c	the worker threads shared by every instance
 * pmycolo_split.c	cut a held GSO packet the SVM cannot finish
 * pmycolo_release.c	release and free lists; flush, drop by device
 * pmycolo_request.c	checkpoint requests, and asking again
 * pmycolo_role.c	the role operations the core calls
 * pmycolo_insts.c	each namespace's list of primary instances
 *
 * Packets of both VMs are sorted into flows (pmycolo_flow.c: a table keyed
 * by the VM's output tuple) and queued there: the PVM's with the
 * nf_queue_entry that lets them continue through netfilter later, the
 * SVM's as bare skbs. The packet path only queues and, when a flow gets
 * news, queues the instance on its worker in the pool and wakes that worker
 * if it sleeps. The worker runs the comparator core (colo_compare.c) over
 * the heads of each flow's queues, then, outside the spinlock, continues
 * the released PVM packets and frees the SVM's.
 * Every release happens under release_mutex, in queue order, so a
 * checkpoint or a failover flushing the queues never overtakes the worker.
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
#include "pmycolo_flow.h"

struct completion;
struct pmycolo_pool_worker;

/* An instance's place in the worker pool (pmycolo_pool.c). */
struct pmycolo_pool_slot {
	struct pmycolo_pool_worker *worker;	/* serves it, from attach on */
	struct list_head	node;		/* worker's instances: its mutex */
	/* Under the worker's lock: */
	struct list_head	ready;		/* on its FIFO: has news */
	bool			gone;		/* detached: queued no more */
	struct completion	*left;		/* the detach waiting for a turn */
	/* Under the worker's mutex: */
	unsigned long		next_scan;	/* jiffies */
};

struct pmycolo_inst {
	struct colo_instance	*inst;		/* owns us */
	struct net		*net;
	struct list_head	net_node;	/* pmycolo_insts.lock */
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
	/* Flows waiting inside a GSO head with nothing of the SVM's. */
	struct list_head	stuck;
	struct pmycolo_flows	flows;
	/* Orders every release of packets. */
	struct mutex		release_mutex;
	struct pmycolo_pool_slot pool;
	struct rcu_head		rcu;
};

extern const struct colo_role_ops pmycolo_role;

/* Under pi->lock: publish the queue depths. */
static inline void pmycolo_gauges(struct pmycolo_inst *pi)
{
	colo_gauge_set(pi->inst, COLO_GAUGE_PVM_QUEUE, pi->held[COLO_CMP_PVM]);
	colo_gauge_set(pi->inst, COLO_GAUGE_SVM_QUEUE, pi->held[COLO_CMP_SVM]);
	colo_gauge_set(pi->inst, COLO_GAUGE_FLOWS, pi->flows.count);
}

/* pmycolo_request.c */
void pmycolo_event(struct colo_event *ev, u8 reason,
		   const struct pmycolo_flow *flow);
void pmycolo_request(struct pmycolo_inst *pi, const struct colo_event *ev);
void pmycolo_request_again(struct pmycolo_inst *pi);

/* pmycolo_release.c */
void pmycolo_release_init(bool (*reinject)(struct nf_queue_entry *entry,
					   bool drop));
/* Under release_mutex, outside pi->lock: packets taken off the queues. */
void pmycolo_release_list(struct pmycolo_inst *pi, struct list_head *release,
			  bool drop);
void pmycolo_free_list(struct pmycolo_inst *pi, struct list_head *freeq,
		       bool matched);
/* Take everything off the queues and release it (drop: free it). */
void pmycolo_flush(struct pmycolo_inst *pi, bool drop);
void pmycolo_inst_drop_dev(struct pmycolo_inst *pi,
			   const struct net_device *dev);

/* pmycolo_split.c, under pi->lock */
bool pmycolo_split_wanted(const struct pmycolo_flow *flow,
			  const struct pmycolo_pkt *p,
			  const struct pmycolo_pkt *s);
int pmycolo_split(struct pmycolo_inst *pi, struct pmycolo_pkt *p);

/* pmycolo_worker.c: an instance's work, run by its worker in the pool. */
bool pmycolo_compare_ready(struct pmycolo_inst *pi, unsigned long deadline);
void pmycolo_scan(struct pmycolo_inst *pi);
unsigned long pmycolo_tick(const struct pmycolo_inst *pi);

/* pmycolo_pool.c: the worker threads, started before any instance. */
int pmycolo_pool_init(void);
void pmycolo_pool_exit(void);
void pmycolo_pool_join(struct pmycolo_inst *pi);
void pmycolo_pool_leave(struct pmycolo_inst *pi);
/* @pi has news: a flow joined its empty ready list. */
void pmycolo_pool_wake(struct pmycolo_inst *pi);

/* pmycolo_insts.c: the namespaces' lists, registered first. */
int pmycolo_insts_init(void);
void pmycolo_insts_exit(void);
void pmycolo_inst_link(struct pmycolo_inst *pi);
void pmycolo_inst_unlink(struct pmycolo_inst *pi);

#endif /* _PMYCOLO_ENGINE_H */
