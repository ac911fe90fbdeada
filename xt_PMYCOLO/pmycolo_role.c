// SPDX-License-Identifier: GPL-2.0
/*
 * The primary role's operations, called by the core (nf_conntrack_colo)
 * under its control mutex: attach to and detach from an instance, the two
 * phases of a checkpoint, failover.
 */
#include <linux/slab.h>
#include "pmycolo_engine.h"

static int pmycolo_attach(struct colo_instance *inst)
{
	struct pmycolo_inst *pi;

	pi = pmycolo_inst_alloc(inst, pmycolo_pool_shards(inst->compare_shards));
	if (!pi)
		return -ENOMEM;
	/* No thread of its own: an instance costs no task to create. */
	pmycolo_pool_join(pi);
	inst->role_data = pi;
	WRITE_ONCE(inst->shards_in_use, pi->n_shards);
	pmycolo_inst_link(pi);
	return 0;
}

/*
 * No grace period is waited for here (a namespace going away detaches many
 * instances under the core's mutex): a packet path that still sees the
 * role finds its shard dead under the lock and never touches a flow; the
 * memory it may still read is freed after a grace period. inst->role_data
 * keeps pointing here for those readers until a new role data replaces it.
 */
static void pmycolo_detach(struct colo_instance *inst)
{
	struct pmycolo_inst *pi = inst->role_data;
	u32 i;

	for (i = 0; i < pi->n_shards; i++) {
		struct pmycolo_shard *sh = pi->shard[i];

		spin_lock_bh(&sh->lock);
		sh->dead = true;
		spin_unlock_bh(&sh->lock);
	}
	pmycolo_pool_leave(pi);
	/* No worker compares any more: nothing holds a request back again. */
	pmycolo_request_stop(pi);
	/* Held PVM packets go on, unless their namespace is going away. */
	pmycolo_flush(pi, !check_net(pi->net));
	pmycolo_inst_unlink(pi);
	WRITE_ONCE(inst->shards_in_use, 0);
	colo_gauge_set(inst, COLO_GAUGE_PVM_QUEUE, 0);
	colo_gauge_set(inst, COLO_GAUGE_SVM_QUEUE, 0);
	colo_gauge_set(inst, COLO_GAUGE_FLOWS, 0);
	pmycolo_inst_free(pi);
}

/*
 * The secondary's agent begins at the SVM's stop, from QEMU's event: when it
 * comes late, the SVM resumed as the PVM's copy first, and what it sent
 * meanwhile left with the offsets of before the checkpoint, its sequence
 * numbers shifted. Only flows opened since the checkpoint before have
 * offsets to shift. The primary may have committed by then: their SVM
 * output of this long after the commit is taken as possibly stale
 * (docs/design.md, "A late secondary begin").
 */
static unsigned int svm_settle_ms = 200;
module_param(svm_settle_ms, uint, 0644);
MODULE_PARM_DESC(svm_settle_ms, "how long after a checkpoint the SVM's output of flows opened just before it may still be shifted by a late secondary (ms, 0: none; default 200)");

/*
 * Two-phase checkpoint, begin: mark every packet held now, on both sides
 * (the PVM is stopped: what it sent so far is in the state the SVM gets).
 * A second begin before the commit marks what came since too: the mark
 * moves to the later snapshot. Only flows holding packets are walked.
 */
static void pmycolo_shard_begin(struct pmycolo_shard *sh)
{
	struct pmycolo_flow *flow;
	struct pmycolo_pkt *pkt;
	int side;

	spin_lock_bh(&sh->lock);
	list_for_each_entry(flow, &sh->flows.busy, lru) {
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
		list_splice_tail_init(&sh->age[side], &sh->age_marked[side]);
	if (!sh->begun)
		sh->phase++;
	sh->begun = true;
	spin_unlock_bh(&sh->lock);
}

static void pmycolo_checkpoint_begin(struct colo_instance *inst)
{
	struct pmycolo_inst *pi = inst->role_data;
	u32 i;

	for (i = 0; i < pi->n_shards; i++)
		pmycolo_shard_begin(pi->shard[i]);
	/* The checkpoint under way is the one a request still wanted. */
	pmycolo_request_covered(pi);
}

/*
 * Two-phase checkpoint, commit: release (PVM) and free (SVM) the packets
 * still marked; the worker may have matched some already, and popped them
 * under the lock, so none goes twice. Each flow that had marked packets
 * compares afresh; what it holds beyond the mark is compared now.
 */
static void pmycolo_shard_commit(struct pmycolo_shard *sh)
{
	struct pmycolo_flow *flow, *tmp;
	struct pmycolo_pkt *pkt, *ptmp;
	LIST_HEAD(release);
	LIST_HEAD(freeq);
	bool wake = false;
	int side;

	mutex_lock(&sh->release_mutex);
	spin_lock_bh(&sh->lock);
	list_for_each_entry_safe(flow, tmp, &sh->flows.busy, lru) {
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
				pmycolo_held_add(sh, side, -1);
			}
		}
		colo_cmp_mark_commit(&flow->mark, &flow->tcp);
		flow->diverged = false;
		if (pmycolo_flow_settle(&sh->flows, flow) ||
		    !list_empty(&flow->ready))
			continue;
		if (!list_empty(&flow->queue[COLO_CMP_PVM]) ||
		    !list_empty(&flow->queue[COLO_CMP_SVM])) {
			wake |= list_empty(&sh->ready);
			list_add_tail(&flow->ready, &sh->ready);
		}
	}
	WARN_ON_ONCE(!list_empty(&sh->age_marked[COLO_CMP_PVM]) ||
		     !list_empty(&sh->age_marked[COLO_CMP_SVM]));
	sh->begun = false;
	sh->phase++;
	sh->settle_until = jiffies + msecs_to_jiffies(READ_ONCE(svm_settle_ms));
	pmycolo_gauges(sh->pi);
	spin_unlock_bh(&sh->lock);

	pmycolo_release_list(sh->pi, &release, false);
	pmycolo_free_list(sh->pi, &freeq, false);
	mutex_unlock(&sh->release_mutex);
	if (wake)
		pmycolo_pool_wake(sh);
}

/*
 * After a begin, the commit; alone (Xen libxl), release everything. A begin
 * marks every shard, under the core's mutex as this is: the first says.
 */
static void pmycolo_checkpoint(struct colo_instance *inst)
{
	struct pmycolo_inst *pi = inst->role_data;
	bool begun;
	u32 i;

	spin_lock_bh(&pi->shard[0]->lock);
	begun = pi->shard[0]->begun;
	spin_unlock_bh(&pi->shard[0]->lock);
	if (!begun) {
		pmycolo_flush(pi, false);
		return;
	}
	for (i = 0; i < pi->n_shards; i++)
		pmycolo_shard_commit(pi->shard[i]);
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

int pmycolo_engine_init(bool (*reinject)(struct nf_queue_entry *entry,
					 bool drop))
{
	int err;

	pmycolo_release_init(reinject);
	err = pmycolo_pool_init();
	if (err)
		return err;
	err = pmycolo_insts_init();
	if (err)
		goto err_pool;
	/* Attaches the role to the primary instances that exist already. */
	err = colo_role_register(&pmycolo_role);
	if (err)
		goto err_insts;
	return 0;

err_insts:
	pmycolo_insts_exit();
err_pool:
	pmycolo_pool_exit();
	return err;
}

void pmycolo_engine_exit(void)
{
	/* Detaches every instance: the lists and the pool are empty then. */
	colo_role_unregister(&pmycolo_role);
	pmycolo_insts_exit();
	pmycolo_pool_exit();
}
