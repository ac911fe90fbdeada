// SPDX-License-Identifier: GPL-2.0
/*
 * COLO proxy instances: a registry per network namespace keyed by the index
 * userspace chose, the control operations on an instance, and the plumbing
 * that connects an instance to its data-path role and to userspace.
 *
 * Lifetime: the registry holds one reference; data-path lookups run under
 * RCU without one; control-plane users take one. Every change happens under
 * colo_mutex, which also orders role and netns (un)registration, so that a
 * role module going away detaches from every instance first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include "colo_internal.h"

/* Serialises control operations, role and netns changes. */
DEFINE_MUTEX(colo_mutex);
unsigned int colo_net_id __read_mostly;

static LIST_HEAD(colo_nets);
/* Instances not yet freed: must be zero when the module goes. */
atomic_t colo_instances_alive = ATOMIC_INIT(0);

/*
 * Anyone may create a network namespace of their own (unshare -Urn) and
 * is CAP_NET_ADMIN there: a limit per namespace bounds what one can hold,
 * and memcg accounting charges it to whoever created it.
 */
static unsigned int colo_max_instances = 256;
module_param_named(max_instances, colo_max_instances, uint, 0644);
MODULE_PARM_DESC(max_instances,
		 "proxy instances one network namespace may have (default 256)");

static int colo_instances_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&colo_instances_alive));
}

static const struct kernel_param_ops colo_instances_ops = {
	.get	= colo_instances_get,
};

module_param_cb(instances, &colo_instances_ops, NULL, 0444);
MODULE_PARM_DESC(instances,
		 "proxy instances not yet freed, in every namespace (read only)");
/* Source of instance generations, unique across instances and resets. */
static atomic_t colo_generation = ATOMIC_INIT(0);
static const struct colo_role_ops *colo_roles[NFCOLO_MODE_MAX + 1];
static const struct colo_notifier __rcu *colo_notifier;

struct colo_net *colo_pernet(const struct net *net)
{
	return net_generic(net, colo_net_id);
}

static void colo_instance_free_rcu(struct rcu_head *head)
{
	struct colo_instance *inst = container_of(head, struct colo_instance,
						  rcu);

	colo_stats_free(inst->stats);
	kfree(inst);
	atomic_dec(&colo_instances_alive);
}

/**
 * colo_instance_put() - drop a reference to an instance
 * @inst: the instance, from colo_instance_get() or colo_instance_next()
 *
 * The last reference frees the instance after an RCU grace period. Any
 * context.
 */
void colo_instance_put(struct colo_instance *inst)
{
	if (refcount_dec_and_test(&inst->refcnt))
		call_rcu(&inst->rcu, colo_instance_free_rcu);
}
EXPORT_SYMBOL_GPL(colo_instance_put);

/**
 * colo_instance_lookup_rcu() - find an instance from the data path
 * @net: the network namespace
 * @index: the instance's index
 *
 * The caller holds the RCU read lock; no reference is taken, so the
 * instance may be unlinked meanwhile, and is valid until rcu_read_unlock().
 *
 * Return: the instance, or NULL if @net has none of @index.
 */
struct colo_instance *colo_instance_lookup_rcu(struct net *net, u32 index)
{
	return xa_load(&colo_pernet(net)->instances, index);
}
EXPORT_SYMBOL_GPL(colo_instance_lookup_rcu);

/**
 * colo_instance_get() - find an instance and take a reference to it
 * @net: the network namespace
 * @index: the instance's index
 *
 * Any context. Drop the reference with colo_instance_put().
 *
 * Return: the instance, or NULL if @net has none of @index.
 */
struct colo_instance *colo_instance_get(struct net *net, u32 index)
{
	struct colo_instance *inst;

	rcu_read_lock();
	inst = colo_instance_lookup_rcu(net, index);
	if (inst && !refcount_inc_not_zero(&inst->refcnt))
		inst = NULL;
	rcu_read_unlock();
	return inst;
}
EXPORT_SYMBOL_GPL(colo_instance_get);

/**
 * colo_instance_next() - the next instance of a namespace, for dumps
 * @net: the network namespace
 * @index: in: the first index to look at; out: the index found
 *
 * Any context. Drop the reference with colo_instance_put(), and go on
 * from *@index + 1.
 *
 * Return: a referenced instance whose index is at least *@index, or NULL
 * when there is none.
 */
struct colo_instance *colo_instance_next(struct net *net, u32 *index)
{
	struct colo_net *cn = colo_pernet(net);
	struct colo_instance *inst;
	unsigned long idx = *index;

	rcu_read_lock();
	for (;;) {
		inst = xa_find(&cn->instances, &idx, NFCOLO_INDEX_MAX,
			       XA_PRESENT);
		if (!inst || refcount_inc_not_zero(&inst->refcnt))
			break;
		idx++;
	}
	rcu_read_unlock();
	if (inst)
		*index = idx;
	return inst;
}
EXPORT_SYMBOL_GPL(colo_instance_next);

/* Under colo_mutex, from here on. */

static int colo_role_attach(struct colo_instance *inst)
{
	const struct colo_role_ops *role = colo_roles[inst->mode];
	int err;

	if (!role)
		return 0;
	if (role->attach) {
		err = role->attach(inst);
		if (err)
			return err;
	}
	/* The primary's packet path reads role_data once it sees the role. */
	smp_store_release(&inst->role, role);
	return 0;
}

/* The caller waits for a grace period before the role's code may go. */
static void colo_role_detach(struct colo_instance *inst)
{
	const struct colo_role_ops *role = inst->role;

	if (!role)
		return;
	WRITE_ONCE(inst->role, NULL);
	if (role->detach)
		role->detach(inst);
}

/* The instance has no owner socket from now on. */
static void colo_owner_clear(struct colo_instance *inst)
{
	struct sock *sk = inst->owner.sk;

	WRITE_ONCE(inst->owner.portid, 0);
	inst->owner.sk = NULL;
	if (sk)
		sock_put(sk);
}

static void colo_instance_unlink(struct colo_net *cn,
				 struct colo_instance *inst)
{
	set_bit(COLO_INST_DEAD, &inst->flags);
	colo_role_detach(inst);
	xa_erase(&cn->instances, inst->index);
	cn->n_instances--;
	colo_owner_clear(inst);
	colo_instance_put(inst);
}

/*
 * INIT on an index that a socket on the same port and protocol owns. Port
 * ids are unique among bound sockets, so a different socket means the old
 * one is closing (its NETLINK_URELEASE may not have run yet): the new one
 * takes the instance over, and the old socket's release will find it no
 * longer owns it. A request sent to the old socket was lost with it.
 */
static void colo_instance_adopt(struct colo_instance *inst, struct sock *sk)
{
	if (inst->owner.sk == sk)
		return;
	sock_hold(sk);
	swap(inst->owner.sk, sk);
	if (sk)
		sock_put(sk);
	clear_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags);
}

static bool colo_owner_same_port(const struct colo_owner *a,
				 const struct colo_owner *b)
{
	return a->portid && a->portid == b->portid &&
	       a->protocol == b->protocol;
}

static struct colo_instance *colo_instance_find_locked(struct net *net,
						       u32 index,
						       struct netlink_ext_ack *extack)
{
	struct colo_instance *inst;

	inst = xa_load(&colo_pernet(net)->instances, index);
	if (!inst)
		COLO_SET_ERR_MSG(extack,
				 "no proxy instance with this index in this network namespace");
	return inst;
}

/*
 * rule_modes holds, per index, a value entry: the number of COLO rules
 * that use the index, times four, plus the mode they give it.
 */
static u8 colo_rule_mode(const void *entry)
{
	return entry ? xa_to_value(entry) & 3 : NFCOLO_MODE_UNSPEC;
}

static unsigned long colo_rule_count(const void *entry)
{
	return entry ? xa_to_value(entry) >> 2 : 0;
}

/* A namespace's exit may have emptied rule_modes before its rules go. */
static void colo_rule_mode_put_locked(struct colo_net *cn, u32 index)
{
	void *entry = xa_load(&cn->rule_modes, index);
	unsigned long count = colo_rule_count(entry);

	if (count > 1)
		xa_store(&cn->rule_modes, index,
			 xa_mk_value((count - 1) << 2 | colo_rule_mode(entry)),
			 GFP_KERNEL);
	else if (count)
		xa_erase(&cn->rule_modes, index);
}

/* An instance whose mode is unset takes @mode and its role attaches. */
static int colo_instance_set_mode(struct colo_net *cn,
				  struct colo_instance *inst, u8 mode)
{
	int err;

	WRITE_ONCE(inst->mode, mode);
	err = colo_role_attach(inst);
	if (err) {
		WRITE_ONCE(inst->mode, NFCOLO_MODE_UNSPEC);
		return err;
	}
	/* A rule that waited for this instance may complain again later. */
	xa_erase_bh(&cn->warned, inst->index);
	return 0;
}

static const char *colo_mode_target(u8 mode)
{
	return mode == NFCOLO_MODE_PRIMARY ? "PMYCOLO" : "SECCOLO";
}

int colo_rule_mode_get(struct net *net, u32 index, u8 mode,
		       const char *target)
{
	struct colo_net *cn = colo_pernet(net);
	struct colo_instance *inst;
	unsigned long count;
	void *entry;
	int err;

	if (WARN_ON_ONCE(mode != NFCOLO_MODE_PRIMARY &&
			 mode != NFCOLO_MODE_SECONDARY))
		return -EINVAL;
	mutex_lock(&colo_mutex);
	entry = xa_load(&cn->rule_modes, index);
	if (entry && colo_rule_mode(entry) != mode) {
		pr_info_ratelimited("%s --index %u: %s rules in this network namespace use index %u already; an index is either primary (PMYCOLO) or secondary (SECCOLO): delete them or pick another index\n",
				    target, index, colo_mode_target(colo_rule_mode(entry)),
				    index);
		err = -EEXIST;
		goto out;
	}
	count = colo_rule_count(entry) + 1;
	err = xa_err(xa_store(&cn->rule_modes, index,
			      xa_mk_value(count << 2 | mode),
			      GFP_KERNEL_ACCOUNT));
	if (err)
		goto out;
	inst = xa_load(&cn->instances, index);
	if (inst && inst->mode == NFCOLO_MODE_UNSPEC) {
		err = colo_instance_set_mode(cn, inst, mode);
		if (err) {
			pr_info_ratelimited("%s --index %u: out of memory setting up the instance\n",
					    target, index);
			colo_rule_mode_put_locked(cn, index);
		}
	}
out:
	mutex_unlock(&colo_mutex);
	return err;
}

void colo_rule_mode_put(struct net *net, u32 index)
{
	mutex_lock(&colo_mutex);
	colo_rule_mode_put_locked(colo_pernet(net), index);
	mutex_unlock(&colo_mutex);
}

/**
 * colo_instance_create() - create a COLO proxy instance
 * @net: the network namespace the instance lives in
 * @cfg: its index, mode, owner and limits
 * @extack: where to say why a request was refused
 *
 * Creates instance @cfg->index and attaches the role of its mode. An
 * instance of that index whose mode is unset takes @cfg->mode instead. With
 * @cfg->adopt, an instance of the same owner port and protocol is taken
 * over by @cfg->owner.sk. Process context; takes colo_mutex.
 *
 * Return: 0, or a negative errno: -EEXIST if the index is taken, -ENOSPC
 * at the namespace's instance limit, -ENOMEM.
 */
int colo_instance_create(struct net *net,
			 const struct colo_instance_config *cfg,
			 struct netlink_ext_ack *extack)
{
	struct colo_net *cn = colo_pernet(net);
	struct colo_instance *inst, *old;
	int err;

	if (WARN_ON_ONCE(!cfg->owner.portid != !cfg->owner.sk))
		return -EINVAL;
	mutex_lock(&colo_mutex);
	old = xa_load(&cn->instances, cfg->index);
	if (old && old->mode == NFCOLO_MODE_UNSPEC &&
	    cfg->mode != NFCOLO_MODE_UNSPEC &&
	    (!cfg->adopt || colo_owner_same_port(&old->owner, &cfg->owner))) {
		/* A command that names the mode sets it; the owner stays. */
		err = colo_instance_set_mode(cn, old, cfg->mode);
		if (err)
			COLO_SET_ERR_MSG(extack,
					 "cannot set up the data path of the instance");
		else if (cfg->adopt)
			colo_instance_adopt(old, cfg->owner.sk);
		goto out_unlock;
	}
	if (old) {
		if (cfg->adopt && colo_owner_same_port(&old->owner, &cfg->owner)) {
			colo_instance_adopt(old, cfg->owner.sk);
			err = 0;
		} else {
			COLO_SET_ERR_MSG(extack,
					 "a proxy instance with this index already exists in this network namespace");
			err = -EEXIST;
		}
		goto out_unlock;
	}
	if (cn->n_instances >= READ_ONCE(colo_max_instances)) {
		COLO_SET_ERR_MSG(extack,
				 "this network namespace has as many proxy instances as it may (nf_conntrack_colo parameter max_instances): destroy one first");
		err = -ENOSPC;
		goto out_unlock;
	}

	err = -ENOMEM;
	/* Charged to the creator's memory cgroup, as all it may grow. */
	inst = kzalloc(sizeof(*inst), GFP_KERNEL_ACCOUNT);
	if (!inst)
		goto out_unlock;
	inst->stats = colo_stats_alloc();
	if (!inst->stats)
		goto err_free;
	refcount_set(&inst->refcnt, 1);
	write_pnet(&inst->net, net);
	inst->index = cfg->index;
	/* No mode given (libxl): the namespace's rules for the index say it. */
	inst->mode = cfg->mode ?:
		colo_rule_mode(xa_load(&cn->rule_modes, cfg->index));
	inst->state = NFCOLO_STATE_ACTIVE;
	inst->owner = cfg->owner;
	inst->compare_timeout_ms = cfg->compare_timeout_ms;
	inst->queue_limit = cfg->queue_limit;
	inst->flow_limit = cfg->flow_limit;
	inst->neigh_checkpoint = cfg->neigh_checkpoint;
	inst->compare_shards = cfg->compare_shards;
	inst->generation = atomic_inc_return(&colo_generation);

	err = xa_insert(&cn->instances, inst->index, inst, GFP_KERNEL_ACCOUNT);
	if (err)
		goto err_free;
	cn->n_instances++;
	if (inst->owner.sk)
		sock_hold(inst->owner.sk);
	atomic_inc(&colo_instances_alive);
	err = colo_role_attach(inst);
	if (err) {
		COLO_SET_ERR_MSG(extack,
				 "cannot set up the data path of the instance");
		/* The data path may have seen it: free after a grace period. */
		xa_erase(&cn->instances, inst->index);
		cn->n_instances--;
		colo_owner_clear(inst);
		colo_instance_put(inst);
		goto out_unlock;
	}
	/* A rule that waited for this instance may complain again later. */
	xa_erase_bh(&cn->warned, inst->index);
	mutex_unlock(&colo_mutex);
	return 0;

err_free:
	colo_stats_free(inst->stats);
	kfree(inst);
out_unlock:
	mutex_unlock(&colo_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(colo_instance_create);

/* Run @op on instance @index of @net under colo_mutex; ENOENT if none. */
static int colo_instance_op(struct net *net, u32 index,
			    struct netlink_ext_ack *extack,
			    int (*op)(struct colo_net *cn,
				      struct colo_instance *inst,
				      struct netlink_ext_ack *extack))
{
	struct colo_instance *inst;
	int err = -ENOENT;

	mutex_lock(&colo_mutex);
	inst = colo_instance_find_locked(net, index, extack);
	if (inst)
		err = op(colo_pernet(net), inst, extack);
	mutex_unlock(&colo_mutex);
	return err;
}

static int colo_op_destroy(struct colo_net *cn, struct colo_instance *inst,
			   struct netlink_ext_ack *extack)
{
	colo_instance_unlink(cn, inst);
	return 0;
}

/**
 * colo_instance_destroy() - tear down a COLO proxy instance
 * @net: the network namespace
 * @index: the instance's index
 * @extack: where to say why a request was refused
 *
 * Unlinks the instance and detaches its role: a primary releases every
 * packet it holds. Process context; takes colo_mutex.
 *
 * Return: 0, or -ENOENT if @net has no instance @index.
 */
int colo_instance_destroy(struct net *net, u32 index,
			  struct netlink_ext_ack *extack)
{
	return colo_instance_op(net, index, extack, colo_op_destroy);
}
EXPORT_SYMBOL_GPL(colo_instance_destroy);

static int colo_op_reset(struct colo_net *cn, struct colo_instance *inst,
			 struct netlink_ext_ack *extack)
{
	int err;

	colo_role_detach(inst);
	colo_stats_reset(inst);
	clear_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags);
	clear_bit(COLO_INST_CHECKPOINT_BEGUN, &inst->flags);
	clear_bit(COLO_INST_CHECKPOINT_UNDONE, &inst->flags);
	WRITE_ONCE(inst->state, NFCOLO_STATE_ACTIVE);
	/* Flows claimed so far keep their offsets but are left alone. */
	WRITE_ONCE(inst->generation, atomic_inc_return(&colo_generation));
	err = colo_role_attach(inst);
	if (err)
		COLO_SET_ERR_MSG(extack,
				 "cannot set up the data path of the instance");
	return err;
}

/**
 * colo_instance_reset() - start an instance afresh
 * @net: the network namespace
 * @index: the instance's index
 * @extack: where to say why a request was refused
 *
 * Detaches the role, clears the counters and the checkpoint state, makes
 * the instance active again (after a failover too) and attaches the role
 * anew. Flows claimed before keep their offsets but are left alone.
 * Process context; takes colo_mutex.
 *
 * Return: 0, -ENOENT if @net has no instance @index, or the role's error.
 */
int colo_instance_reset(struct net *net, u32 index,
			struct netlink_ext_ack *extack)
{
	return colo_instance_op(net, index, extack, colo_op_reset);
}
EXPORT_SYMBOL_GPL(colo_instance_reset);

/* Flows catch up with a new epoch on their next packet. */
static void colo_epoch_advance(struct colo_instance *inst)
{
	/* Pairs with xt_SECCOLO's acquire: it sees undone_epoch too. */
	smp_store_release(&inst->checkpoint_epoch, inst->checkpoint_epoch + 1);
}

/*
 * The first phase of a two-phase checkpoint (QEMU's STOP): the role marks
 * what it holds; DO_CHECKPOINT commits. A second begin before the commit
 * marks again, from what is held then. The epoch moves on here, not at the
 * commit: on the secondary the SVM is stopped from now on and resumes as
 * the PVM's copy, and its first packets after RESUME must not wait for the
 * commit, which comes later (the hypervisor's event has a way to go).
 */
static int colo_op_checkpoint_begin(struct colo_net *cn,
				    struct colo_instance *inst,
				    struct netlink_ext_ack *extack)
{
	if (inst->state != NFCOLO_STATE_ACTIVE) {
		COLO_SET_ERR_MSG(extack,
				 "the instance has failed over: reset it to protect again");
		return -EINVAL;
	}
	if (inst->role && inst->role->checkpoint_begin)
		inst->role->checkpoint_begin(inst);
	if (!test_and_set_bit(COLO_INST_CHECKPOINT_BEGUN, &inst->flags))
		colo_epoch_advance(inst);
	colo_stat_inc(inst, NFCOLO_STATS_CHECKPOINTS_BEGUN);
	return 0;
}

/**
 * colo_instance_checkpoint_begin() - the first phase of a checkpoint
 * @net: the network namespace
 * @index: the instance's index
 * @extack: where to say why a request was refused
 *
 * The VMs are stopped for a checkpoint (QEMU's STOP): the role marks what
 * it holds, and colo_instance_checkpoint_done() commits. Process context;
 * takes colo_mutex.
 *
 * Return: 0, -ENOENT if @net has no instance @index, or -EINVAL if it has
 * failed over.
 */
int colo_instance_checkpoint_begin(struct net *net, u32 index,
				   struct netlink_ext_ack *extack)
{
	return colo_instance_op(net, index, extack, colo_op_checkpoint_begin);
}
EXPORT_SYMBOL_GPL(colo_instance_checkpoint_begin);

static int colo_op_checkpoint_done(struct colo_net *cn,
				   struct colo_instance *inst,
				   struct netlink_ext_ack *extack)
{
	bool begun;

	if (inst->state != NFCOLO_STATE_ACTIVE) {
		COLO_SET_ERR_MSG(extack,
				 "the instance has failed over: reset it to protect again");
		return -EINVAL;
	}
	begun = test_bit(COLO_INST_CHECKPOINT_BEGUN, &inst->flags);
	if (!begun)
		colo_epoch_advance(inst);
	if (inst->role && inst->role->checkpoint)
		inst->role->checkpoint(inst);
	colo_stat_inc(inst, NFCOLO_STATS_CHECKPOINTS_DONE);
	if (begun) {
		clear_bit(COLO_INST_CHECKPOINT_BEGUN, &inst->flags);
		colo_stat_inc(inst, NFCOLO_STATS_CHECKPOINTS_COMMITTED);
	}
	/*
	 * After the role flushed: a new request may only follow new data. A
	 * request the data path tries between the flush and here finds one
	 * pending and gets false; its reason (a miscompare or a timeout of
	 * a packet still held) lasts, so the primary asks again on its next
	 * tick, now that PENDING is clear.
	 */
	clear_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags);
	return 0;
}

/**
 * colo_instance_checkpoint_done() - a checkpoint completed
 * @net: the network namespace
 * @index: the instance's index
 * @extack: where to say why a request was refused
 *
 * The SVM is now a copy of the PVM (as of the begin, if one came): the
 * role releases what the checkpoint covers, flows catch up with the new
 * epoch, and a new checkpoint request may be made. Process context; takes
 * colo_mutex.
 *
 * Return: 0, -ENOENT if @net has no instance @index, or -EINVAL if it has
 * failed over.
 */
int colo_instance_checkpoint_done(struct net *net, u32 index,
				  struct netlink_ext_ack *extack)
{
	return colo_instance_op(net, index, extack, colo_op_checkpoint_done);
}
EXPORT_SYMBOL_GPL(colo_instance_checkpoint_done);

static void colo_instance_fail_over(struct colo_instance *inst)
{
	WRITE_ONCE(inst->state, NFCOLO_STATE_FAILED_OVER);
	clear_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags);
	/*
	 * A checkpoint begun and never committed did not happen: the peer
	 * died before the SVM had the PVM's state, and the SVM runs on from
	 * its own. Flows that caught up with it undo that (xt_SECCOLO).
	 */
	if (test_and_clear_bit(COLO_INST_CHECKPOINT_BEGUN, &inst->flags)) {
		WRITE_ONCE(inst->undone_epoch, inst->checkpoint_epoch);
		set_bit(COLO_INST_CHECKPOINT_UNDONE, &inst->flags);
		colo_epoch_advance(inst);
		colo_stat_inc(inst, NFCOLO_STATS_CHECKPOINTS_UNDONE);
	}
	colo_stat_inc(inst, NFCOLO_STATS_FAILOVERS);
	if (inst->role && inst->role->failover)
		inst->role->failover(inst);
}

static int colo_op_failover(struct colo_net *cn, struct colo_instance *inst,
			    struct netlink_ext_ack *extack)
{
	if (inst->state == NFCOLO_STATE_FAILED_OVER) {
		COLO_SET_ERR_MSG(extack, "the instance has already failed over");
		return -EALREADY;
	}
	colo_instance_fail_over(inst);
	return 0;
}

/**
 * colo_instance_failover() - the peer host is gone
 * @net: the network namespace
 * @index: the instance's index
 * @extack: where to say why a request was refused
 *
 * Marks the instance failed over and lets its role stop comparing: a
 * primary releases what it holds, a secondary keeps its offsets. Process
 * context; takes colo_mutex.
 *
 * Return: 0, -ENOENT if @net has no instance @index, or -EALREADY if it
 * has failed over already.
 */
int colo_instance_failover(struct net *net, u32 index,
			   struct netlink_ext_ack *extack)
{
	return colo_instance_op(net, index, extack, colo_op_failover);
}
EXPORT_SYMBOL_GPL(colo_instance_failover);

/**
 * colo_instance_owner_released() - an owner socket went away
 * @net: the socket's network namespace
 * @protocol: the socket's netlink protocol
 * @portid: the socket's port id
 *
 * For NETLINK_URELEASE: the instances (@protocol, @portid) still owns lose
 * their owner. A primary without its hypervisor has nobody to ask for
 * checkpoints: it releases everything and goes. A secondary whose
 * hypervisor went away is the failover path: the SVM now serves the
 * clients, so its flows keep their offsets until they close.
 *
 * Called from netlink_release(), in process context, after the port id was
 * freed: under colo_mutex, so that no instance is freed under our feet and
 * an INIT of a new socket on the same port is either before us (it took the
 * instance over: its socket is alive, and is left alone) or after us.
 */
void colo_instance_owner_released(struct net *net, int protocol, u32 portid)
{
	struct colo_net *cn = colo_pernet(net);
	struct colo_instance *inst;
	unsigned long index;

	/* Only this socket's own requests could have added its instances. */
	if (!portid || xa_empty(&cn->instances))
		return;
	mutex_lock(&colo_mutex);
	xa_for_each(&cn->instances, index, inst) {
		if (inst->owner.portid != portid ||
		    inst->owner.protocol != protocol ||
		    !sock_flag(inst->owner.sk, SOCK_DEAD))
			continue;
		if (inst->mode == NFCOLO_MODE_SECONDARY) {
			colo_owner_clear(inst);
			if (inst->state == NFCOLO_STATE_ACTIVE)
				colo_instance_fail_over(inst);
			pr_info_ratelimited("instance %u: owner socket closed, failed over; offsets kept until flows close\n",
					    inst->index);
		} else {
			colo_instance_unlink(cn, inst);
		}
	}
	mutex_unlock(&colo_mutex);
}
EXPORT_SYMBOL_GPL(colo_instance_owner_released);

static void colo_net_destroy_instances(struct colo_net *cn)
{
	struct colo_instance *inst;
	unsigned long index;

	xa_for_each(&cn->instances, index, inst)
		colo_instance_unlink(cn, inst);
}

/**
 * colo_instance_destroy_all() - tear down every instance of every namespace
 *
 * For the control plane going away. Process context; takes colo_mutex.
 */
void colo_instance_destroy_all(void)
{
	struct colo_net *cn;

	mutex_lock(&colo_mutex);
	list_for_each_entry(cn, &colo_nets, node)
		colo_net_destroy_instances(cn);
	mutex_unlock(&colo_mutex);
}
EXPORT_SYMBOL_GPL(colo_instance_destroy_all);

/**
 * colo_warn_rule() - a rule names an index without a matching instance
 * @net: the rule's network namespace
 * @index: the index the rule names
 * @target: the rule's name ("PMYCOLO")
 * @problem: what is wrong, to end the log line
 *
 * Says so in the kernel log once per namespace and index, until an
 * instance of @index is created. Packet context.
 */
void colo_warn_rule(struct net *net, u32 index, const char *target,
		    const char *problem)
{
	struct colo_net *cn = colo_pernet(net);

	if (xa_load(&cn->warned, index) ||
	    xa_insert_bh(&cn->warned, index, xa_mk_value(1), GFP_ATOMIC))
		return;
	pr_warn_ratelimited("%s --index %u %s: its packets pass untouched until the hypervisor (or coloctl init) creates a matching instance\n",
			    target, index, problem);
}
EXPORT_SYMBOL_GPL(colo_warn_rule);

/**
 * colo_request_checkpoint() - ask userspace for a checkpoint
 * @inst: the instance
 * @ev: why, and for which flow
 *
 * One request is pending at a time: until the checkpoint is done, further
 * requests return false. A request that cannot reach userspace is counted
 * (NFCOLO_STATS_REQ_UNDELIVERED) and lets the next one through. Any
 * context; the caller asks again on its next tick while its reason lasts.
 *
 * Return: true if the request was delivered; false if one is pending
 * already, the instance failed over, or the request could not be
 * delivered.
 */
bool colo_request_checkpoint(struct colo_instance *inst,
			     const struct colo_event *ev)
{
	static const u8 reason_stat[NFCOLO_REASON_MAX + 1] = {
		[NFCOLO_REASON_MISCOMPARE]	= NFCOLO_STATS_REQ_MISCOMPARE,
		[NFCOLO_REASON_TIMEOUT]		= NFCOLO_STATS_REQ_TIMEOUT,
		[NFCOLO_REASON_QUEUE_FULL]	= NFCOLO_STATS_REQ_QUEUE_FULL,
		[NFCOLO_REASON_FLOW_LIMIT]	= NFCOLO_STATS_REQ_FLOW_LIMIT,
		[NFCOLO_REASON_NEIGH]		= NFCOLO_STATS_REQ_NEIGH,
	};
	const struct colo_notifier *nb;
	bool delivered = false;

	if (READ_ONCE(inst->state) != NFCOLO_STATE_ACTIVE ||
	    test_and_set_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags))
		return false;

	rcu_read_lock();
	nb = rcu_dereference(colo_notifier);
	if (nb)
		delivered = nb->checkpoint_requested(inst, ev);
	rcu_read_unlock();
	if (!delivered) {
		/* Nobody will answer it: let the next attempt through. */
		clear_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags);
		colo_stat_inc(inst, NFCOLO_STATS_REQ_UNDELIVERED);
		return false;
	}
	colo_stat_inc(inst, NFCOLO_STATS_CHECKPOINTS_REQUESTED);
	if (ev->reason <= NFCOLO_REASON_MAX && reason_stat[ev->reason])
		colo_stat_inc(inst, reason_stat[ev->reason]);
	return true;
}
EXPORT_SYMBOL_GPL(colo_request_checkpoint);

/**
 * colo_role_register() - plug a data-path role into the core
 * @ops: the role, for instances of mode @ops->mode
 *
 * Attaches the role to the instances of its mode that exist already, and
 * to every one created later. Process context; takes colo_mutex.
 *
 * Return: 0, -EINVAL for a bad mode, or -EBUSY if the mode has a role.
 */
int colo_role_register(const struct colo_role_ops *ops)
{
	struct colo_instance *inst;
	struct colo_net *cn;
	unsigned long index;
	int err = 0;

	if (WARN_ON(!ops->mode || ops->mode > NFCOLO_MODE_MAX))
		return -EINVAL;
	mutex_lock(&colo_mutex);
	if (colo_roles[ops->mode]) {
		err = -EBUSY;
		goto out;
	}
	colo_roles[ops->mode] = ops;
	/* Instances created before the role module was loaded. */
	list_for_each_entry(cn, &colo_nets, node) {
		xa_for_each(&cn->instances, index, inst) {
			if (inst->mode != ops->mode)
				continue;
			if (colo_role_attach(inst))
				pr_warn_ratelimited("instance %u: out of memory, its data path stays idle until reset\n",
						    inst->index);
		}
	}
out:
	mutex_unlock(&colo_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(colo_role_register);

/**
 * colo_role_unregister() - unplug a data-path role
 * @ops: the role given to colo_role_register()
 *
 * Detaches the role from every instance, then waits for an RCU grace
 * period, so that no packet is still in @ops->confirm on return. Process
 * context; takes colo_mutex.
 */
void colo_role_unregister(const struct colo_role_ops *ops)
{
	struct colo_instance *inst;
	struct colo_net *cn;
	unsigned long index;

	mutex_lock(&colo_mutex);
	list_for_each_entry(cn, &colo_nets, node) {
		xa_for_each(&cn->instances, index, inst) {
			if (inst->role == ops)
				colo_role_detach(inst);
		}
	}
	colo_roles[ops->mode] = NULL;
	mutex_unlock(&colo_mutex);
	/* Packets may still be in ops->confirm. */
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(colo_role_unregister);

/**
 * colo_notifier_register() - set how checkpoint requests reach userspace
 * @nb: the control plane's callbacks
 *
 * Process context; takes colo_mutex.
 *
 * Return: 0, or -EBUSY if a notifier is registered already.
 */
int colo_notifier_register(const struct colo_notifier *nb)
{
	int err = 0;

	mutex_lock(&colo_mutex);
	if (rcu_access_pointer(colo_notifier))
		err = -EBUSY;
	else
		rcu_assign_pointer(colo_notifier, nb);
	mutex_unlock(&colo_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(colo_notifier_register);

/**
 * colo_notifier_unregister() - remove the notifier
 * @nb: the notifier given to colo_notifier_register()
 *
 * Waits for an RCU grace period, so that @nb is no longer called on
 * return. Process context; takes colo_mutex.
 */
void colo_notifier_unregister(const struct colo_notifier *nb)
{
	mutex_lock(&colo_mutex);
	if (rcu_access_pointer(colo_notifier) == nb)
		RCU_INIT_POINTER(colo_notifier, NULL);
	mutex_unlock(&colo_mutex);
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(colo_notifier_unregister);

int colo_instance_pernet_init(struct net *net)
{
	struct colo_net *cn = colo_pernet(net);

	xa_init(&cn->instances);
	xa_init_flags(&cn->warned, XA_FLAGS_LOCK_BH);
	xa_init(&cn->rule_modes);
	write_pnet(&cn->net, net);
	mutex_lock(&colo_mutex);
	list_add(&cn->node, &colo_nets);
	mutex_unlock(&colo_mutex);
	return 0;
}

/*
 * Namespaces go in batches: one pass under the mutex for all of them. No
 * instance waits for a grace period here: each is freed through call_rcu.
 */
void colo_instance_pernet_exit_batch(struct list_head *net_exit_list)
{
	struct colo_net *cn;
	struct net *net;

	mutex_lock(&colo_mutex);
	list_for_each_entry(net, net_exit_list, exit_list) {
		cn = colo_pernet(net);
		colo_net_destroy_instances(cn);
		list_del(&cn->node);
	}
	mutex_unlock(&colo_mutex);
	list_for_each_entry(net, net_exit_list, exit_list) {
		cn = colo_pernet(net);
		xa_destroy(&cn->instances);
		xa_destroy(&cn->warned);
		xa_destroy(&cn->rule_modes);
	}
}
