// SPDX-License-Identifier: GPL-2.0
/*
 * A primary instance's shards: its flows cut by a hash of their key, each
 * shard with its own lock, flow table and queues, compared by its own
 * worker in the pool. One busy VM's flows are then compared on as many
 * CPUs as it has shards; one flow stays on one shard, in order.
 *
 * The instance's limits (queue_limit, flow_limit) stay the instance's: a
 * shard checks its own count, exact under its lock, plus the others', read
 * without their locks. Flows are made one at a time (new_flow_lock, taken
 * for a new flow only), so the flow count never passes its limit; two
 * shards queueing a packet at the queue limit at once may each take it,
 * one past the limit, which its headroom covers.
 */
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include "pmycolo_engine.h"

static u32 pmycolo_shard_seed __read_mostly;

static struct pmycolo_shard *pmycolo_shard_alloc(struct pmycolo_inst *pi)
{
	struct pmycolo_shard *sh;

	/* Charged to the memory cgroup of whoever creates the instance. */
	sh = kzalloc(sizeof(*sh), GFP_KERNEL_ACCOUNT);
	if (!sh)
		return NULL;
	sh->pi = pi;
	spin_lock_init(&sh->lock);
	mutex_init(&sh->release_mutex);
	INIT_LIST_HEAD(&sh->age[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&sh->age[COLO_CMP_SVM]);
	INIT_LIST_HEAD(&sh->age_marked[COLO_CMP_PVM]);
	INIT_LIST_HEAD(&sh->age_marked[COLO_CMP_SVM]);
	/* No commit yet: no settle window (jiffies start near the wrap). */
	sh->settle_until = jiffies;
	INIT_LIST_HEAD(&sh->ready);
	INIT_LIST_HEAD(&sh->stuck);
	if (pmycolo_flows_init(&sh->flows)) {
		kfree(sh);
		return NULL;
	}
	return sh;
}

struct pmycolo_inst *pmycolo_inst_alloc(struct colo_instance *inst,
					u32 n_shards)
{
	struct pmycolo_inst *pi;
	u32 i;

	get_random_once(&pmycolo_shard_seed, sizeof(pmycolo_shard_seed));
	pi = kzalloc(struct_size(pi, shard, n_shards), GFP_KERNEL_ACCOUNT);
	if (!pi)
		return NULL;
	pi->inst = inst;
	pi->net = colo_instance_net(inst);
	spin_lock_init(&pi->want_lock);
	spin_lock_init(&pi->new_flow_lock);
	pmycolo_request_init(pi);
	for (i = 0; i < n_shards; i++) {
		pi->shard[i] = pmycolo_shard_alloc(pi);
		if (!pi->shard[i])
			goto err;
		pi->n_shards++;
	}
	return pi;
err:
	/* Never seen by a packet: nothing to wait for. */
	while (i--) {
		pmycolo_flows_destroy(&pi->shard[i]->flows);
		kfree(pi->shard[i]);
	}
	kfree(pi);
	return NULL;
}

void pmycolo_inst_free(struct pmycolo_inst *pi)
{
	u32 i;

	/*
	 * A packet path may still reach a shard until a grace period passes,
	 * but finds it dead under its lock and looks up no flow.
	 */
	for (i = 0; i < pi->n_shards; i++) {
		pmycolo_flows_destroy(&pi->shard[i]->flows);
		kfree_rcu(pi->shard[i], rcu);
	}
	kfree_rcu(pi, rcu);
}

struct pmycolo_shard *pmycolo_shard_of(const struct pmycolo_inst *pi,
				       const struct pmycolo_key *key)
{
	u32 hash;

	if (pi->n_shards == 1)
		return pi->shard[0];
	BUILD_BUG_ON(sizeof(*key) % sizeof(u32));
	hash = jhash2((const u32 *)key, sizeof(*key) / sizeof(u32),
		      pmycolo_shard_seed);
	return pi->shard[reciprocal_scale(hash, pi->n_shards)];
}

unsigned int pmycolo_held(const struct pmycolo_inst *pi,
			  enum colo_cmp_side side)
{
	unsigned int n = 0;
	u32 i;

	for (i = 0; i < pi->n_shards; i++)
		n += READ_ONCE(pi->shard[i]->held[side]);
	return n;
}

unsigned int pmycolo_flow_room(const struct pmycolo_shard *sh, u32 limit)
{
	const struct pmycolo_inst *pi = sh->pi;
	unsigned int others = 0;
	u32 i;

	for (i = 0; i < pi->n_shards; i++) {
		if (pi->shard[i] != sh)
			others += READ_ONCE(pi->shard[i]->flows.count);
	}
	return others < limit ? limit - others : 0;
}

void pmycolo_gauges(struct pmycolo_inst *pi)
{
	unsigned int flows = 0;
	u32 i;

	for (i = 0; i < pi->n_shards; i++)
		flows += READ_ONCE(pi->shard[i]->flows.count);
	colo_gauge_set(pi->inst, COLO_GAUGE_PVM_QUEUE,
		       pmycolo_held(pi, COLO_CMP_PVM));
	colo_gauge_set(pi->inst, COLO_GAUGE_SVM_QUEUE,
		       pmycolo_held(pi, COLO_CMP_SVM));
	colo_gauge_set(pi->inst, COLO_GAUGE_FLOWS, flows);
}
