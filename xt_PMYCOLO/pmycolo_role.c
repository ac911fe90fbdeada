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
	INIT_LIST_HEAD(&pi->stuck);
	err = pmycolo_flows_init(&pi->flows);
	if (err) {
		kfree(pi);
		return err;
	}
	/* No thread of its own: an instance costs no task to create. */
	pmycolo_pool_join(pi);
	inst->role_data = pi;
	pmycolo_inst_link(pi);
	return 0;
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
	pmycolo_pool_leave(pi);
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
		pmycolo_pool_wake(pi);
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
