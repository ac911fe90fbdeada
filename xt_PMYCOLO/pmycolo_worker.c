// SPDX-License-Identifier: GPL-2.0
/*
 * The work of a primary instance's shard, done by its worker in the pool
 * (pmycolo_pool.c): compare the flows with news and release what matched,
 * and every tick ask for the checkpoints that late packets need, cut the
 * GSO packets the SVM cannot finish (pmycolo_split.c) and forget idle
 * flows.
 */
#include <linux/kthread.h>
#include <linux/sched.h>
#include "pmycolo_engine.h"
#include "pmycolo_trace.h"

/* A flow with empty queues is forgotten after this long without packets. */
#define PMYCOLO_FLOW_IDLE	(30 * HZ)
#define PMYCOLO_MAX_TICK	(HZ / 10)
/* Idle flows freed per hold of the lock. */
#define PMYCOLO_EXPIRE_BATCH	64
/*
 * Packets taken off one flow's queues per hold of the shard's lock. A
 * flow's backlog may be a whole queue limit (up to NFCOLO_QUEUE_LIMIT_MAX
 * a side), and the intake of every CPU spins on that lock with bottom
 * halves off: the rest waits at the tail of the ready list, behind the
 * shard's other flows, and what matched so far goes out first.
 */
#define PMYCOLO_COMPARE_BUDGET	64

static struct pmycolo_pkt *pmycolo_head(struct pmycolo_flow *flow,
					enum colo_cmp_side side)
{
	return list_first_entry_or_null(&flow->queue[side],
					struct pmycolo_pkt, entry.list);
}

struct pmycolo_batch {
	struct list_head	release;
	struct list_head	freeq;
	unsigned int		popped;
	unsigned int		compared;
	u64			compared_bytes;
	unsigned int		matched;
	unsigned int		stale;
	bool			miscompare;
	struct colo_event	ev;
};

static void pmycolo_pop(struct pmycolo_shard *sh, struct pmycolo_pkt *pkt,
			enum colo_cmp_side side, struct pmycolo_batch *b)
{
	pmycolo_flow_unqueue(pkt->flow, side, pkt);
	if (pkt->marked)
		colo_cmp_mark_drop(&pkt->flow->mark, side);
	list_del(&pkt->age);
	list_add_tail(&pkt->entry.list,
		      side == COLO_CMP_PVM ? &b->release : &b->freeq);
	pmycolo_held_add(sh, side, -1);
	b->popped++;
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

/*
 * The comparator waits inside @p, a GSO packet, with nothing of the SVM's
 * to go on: a flow that was stuck so before is split at once; else it is
 * noted, and split by the first tick that finds it still so a whole tick
 * later. True when @p was split.
 */
static bool pmycolo_stuck(struct pmycolo_shard *sh, struct pmycolo_flow *flow,
			  struct pmycolo_pkt *p)
{
	if (flow->split_eager && !pmycolo_split(sh, p))
		return true;
	if (list_empty(&flow->stuck) ||
	    flow->stuck_seq != flow->tcp.compared_seq) {
		flow->stuck_seq = flow->tcp.compared_seq;
		flow->stuck_since = jiffies;
		list_move_tail(&flow->stuck, &sh->stuck);
	}
	return false;
}

/*
 * Run the comparator over @flow's queue heads until it has to wait, or
 * until it took PMYCOLO_COMPARE_BUDGET packets: then @flow has news still
 * and goes back on the ready list.
 */
static void pmycolo_compare_flow(struct pmycolo_shard *sh,
				 struct pmycolo_flow *flow,
				 struct pmycolo_batch *b)
{
	struct colo_cmp_result res = {};
	enum colo_cmp_action act;

	pmycolo_flow_sync(&sh->flows, flow);
	while (!flow->diverged) {
		struct pmycolo_pkt *p;
		struct pmycolo_pkt *s;
		const struct colo_cmp_pkt *pc;
		const struct colo_cmp_pkt *sc;

		if (b->popped >= PMYCOLO_COMPARE_BUDGET) {
			if (pmycolo_head(flow, COLO_CMP_PVM) ||
			    pmycolo_head(flow, COLO_CMP_SVM))
				list_add_tail(&flow->ready, &sh->ready);
			return;
		}
		p = pmycolo_head_visible(flow, COLO_CMP_PVM);
		s = pmycolo_head_visible(flow, COLO_CMP_SVM);
		pc = p ? &p->cmp : NULL;
		sc = s ? &s->cmp : NULL;

		if (flow->is_tcp)
			act = colo_cmp_tcp_step(&flow->tcp, pc, sc,
						pmycolo_cmp_bytes, &res);
		else
			act = colo_cmp_datagram(pc, sc, pmycolo_cmp_bytes,
						&res);
		switch (act) {
		case COLO_CMP_WAIT:
			if (pmycolo_split_wanted(flow, p, s) &&
			    pmycolo_stuck(sh, flow, p))
				break;	/* compare its segments */
			return;
		case COLO_CMP_MISCOMPARE:
			/*
			 * SVM output that may be stale (pmycolo_svm_maybe_stale():
			 * from before the checkpoint with the offsets of after it,
			 * or the reverse) is dropped and the next is compared. A
			 * real divergence shows again in the SVM's next output.
			 */
			if (s && s->maybe_stale && !p->marked) {
				pmycolo_pop(sh, s, COLO_CMP_SVM, b);
				b->stale++;
				break;
			}
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
			trace_colo_miscompare(sh->pi->inst->index, &b->ev);
			return;
		case COLO_CMP_RELEASE_BOTH:
			pmycolo_pop(sh, s, COLO_CMP_SVM, b);
			fallthrough;
		case COLO_CMP_RELEASE_PVM:
			b->compared++;
			b->matched++;
			b->compared_bytes += p->cmp.len;
			pmycolo_pop(sh, p, COLO_CMP_PVM, b);
			break;
		case COLO_CMP_DROP_SVM:
			pmycolo_pop(sh, s, COLO_CMP_SVM, b);
			break;
		}
	}
}

/*
 * Compare every flow of @sh with news and release what matched, until none
 * is left or @deadline (the end of the turn, at the latest the next tick)
 * has come: neither the ticks nor the other shards wait for a busy one to
 * run out of news. True if it stopped at @deadline: news may be left.
 */
bool pmycolo_compare_ready(struct pmycolo_shard *sh, unsigned long deadline)
{
	struct pmycolo_inst *pi = sh->pi;
	struct pmycolo_batch b;
	struct pmycolo_flow *flow;
	bool more = true;

	mutex_lock(&sh->release_mutex);
	for (;;) {
		INIT_LIST_HEAD(&b.release);
		INIT_LIST_HEAD(&b.freeq);
		b.popped = 0;
		b.compared = 0;
		b.compared_bytes = 0;
		b.matched = 0;
		b.stale = 0;
		b.miscompare = false;

		spin_lock_bh(&sh->lock);
		flow = list_first_entry_or_null(&sh->ready,
						struct pmycolo_flow, ready);
		if (!flow) {
			spin_unlock_bh(&sh->lock);
			more = false;
			break;
		}
		list_del_init(&flow->ready);
		pmycolo_compare_flow(sh, flow, &b);
		pmycolo_flow_settle(&sh->flows, flow);
		pmycolo_gauges(pi);
		spin_unlock_bh(&sh->lock);

		if (b.compared) {
			colo_stat_add(pi->inst, NFCOLO_STATS_PKTS_COMPARED,
				      b.compared);
			colo_stat_add(pi->inst, NFCOLO_STATS_BYTES_COMPARED,
				      b.compared_bytes);
			colo_stat_add(pi->inst, NFCOLO_STATS_PKTS_MATCHED,
				      b.matched);
		}
		if (b.stale)
			colo_stat_add(pi->inst, NFCOLO_STATS_SVM_PKTS_STALE,
				      b.stale);
		pmycolo_release_list(pi, &b.release, false);
		pmycolo_free_list(pi, &b.freeq, true);
		if (b.miscompare)
			pmycolo_request_miscompare(pi, &b.ev);
		cond_resched();
		if (!time_before(jiffies, deadline))
			break;
	}
	mutex_unlock(&sh->release_mutex);
	return more;
}

unsigned long pmycolo_tick(const struct pmycolo_inst *pi)
{
	unsigned long t;

	t = msecs_to_jiffies(READ_ONCE(pi->inst->compare_timeout_ms)) / 4;
	return clamp(t, 1UL, (unsigned long)PMYCOLO_MAX_TICK);
}

/*
 * Flows noted stuck inside a GSO packet a whole tick ago, and still stuck
 * there: split their heads, and from now on at once. Under sh->lock. True
 * if a split flow made the ready list non-empty: the pool must be told.
 */
static bool pmycolo_split_stuck(struct pmycolo_shard *sh, unsigned long tick)
{
	struct pmycolo_flow *flow, *tmp;
	unsigned long now = jiffies;
	bool wake = false;

	list_for_each_entry_safe(flow, tmp, &sh->stuck, stuck) {
		struct pmycolo_pkt *p = pmycolo_head_visible(flow, COLO_CMP_PVM);
		struct pmycolo_pkt *s = pmycolo_head_visible(flow, COLO_CMP_SVM);

		if (!pmycolo_split_wanted(flow, p, s) ||
		    flow->stuck_seq != flow->tcp.compared_seq) {
			list_del_init(&flow->stuck);
			continue;
		}
		if (time_before(now, flow->stuck_since + tick))
			continue;
		list_del_init(&flow->stuck);
		if (pmycolo_split(sh, p))
			continue;
		flow->split_eager = true;
		if (list_empty(&flow->ready)) {
			wake |= list_empty(&sh->ready);
			list_add_tail(&flow->ready, &sh->ready);
		}
	}
	return wake;
}

/*
 * Every tick: cut the GSO heads the SVM could not finish in a tick; ask
 * for a checkpoint if a packet waited too long, or again for one still
 * wanted; forget idle flows. Each side's held packets are in arrival
 * order, so only the oldest is looked at; idle flows are in order of age,
 * and freed a batch per hold of the lock.
 */
void pmycolo_scan(struct pmycolo_shard *sh)
{
	unsigned long timeout, now = jiffies, oldest = 0;
	struct pmycolo_inst *pi = sh->pi;
	struct pmycolo_pkt *late = NULL;
	int side, late_side = COLO_CMP_PVM;
	struct colo_event ev;
	bool more, split;

	timeout = msecs_to_jiffies(READ_ONCE(pi->inst->compare_timeout_ms));
	spin_lock_bh(&sh->lock);
	split = pmycolo_split_stuck(sh, pmycolo_tick(pi));
	for (side = COLO_CMP_PVM; side <= COLO_CMP_SVM; side++) {
		struct pmycolo_pkt *pkt;

		pkt = list_first_entry_or_null(&sh->age[side],
					       struct pmycolo_pkt, age);
		if (pkt && time_after(now, pkt->held_at + timeout) &&
		    (!late || time_before(pkt->held_at, oldest))) {
			late = pkt;
			late_side = side;
			oldest = pkt->held_at;
		}
	}
	if (late) {
		pmycolo_event(&ev, NFCOLO_REASON_TIMEOUT, late->flow);
		ev.age_ms = jiffies_to_msecs(now - oldest);
		trace_colo_stall(pi->inst->index, late->flow, late_side,
				 ev.age_ms);
	}
	spin_unlock_bh(&sh->lock);
	/* Compared in the shard's next turn, not at the next packet. */
	if (split)
		pmycolo_pool_wake(sh);
	if (late)
		pmycolo_request(pi, &ev);
	/* One shard asks again for the instance. */
	if (sh == pi->shard[0])
		pmycolo_request_again(pi);

	do {
		spin_lock_bh(&sh->lock);
		more = pmycolo_flows_expire(&sh->flows, PMYCOLO_FLOW_IDLE,
					    PMYCOLO_EXPIRE_BATCH);
		pmycolo_gauges(pi);
		spin_unlock_bh(&sh->lock);
		cond_resched();
	} while (more && !kthread_should_stop());
}
