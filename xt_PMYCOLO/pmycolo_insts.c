// SPDX-License-Identifier: GPL-2.0
/*
 * Each namespace's primary instances, in the namespace's own state: walked
 * when its last rule goes (flush) and when one of its devices goes away
 * (drop what refers to it). The list has its own mutex, taken under the
 * glue's mutex and the core's; under it only the instances' own locks are
 * taken.
 *
 * An instance leaves the list at its detach, which the core's namespace
 * exit may run after this file's pernet exit: the list lives on until the
 * namespace's generic storage is freed, after every exit has run.
 */
#include <net/netns/generic.h>
#include "pmycolo_engine.h"

struct pmycolo_insts {
	struct mutex		lock;	/* protects list */
	struct list_head	list;	/* pmycolo_inst.net_node */
};

static unsigned int pmycolo_insts_id __read_mostly;

static struct pmycolo_insts *pmycolo_insts(const struct net *net)
{
	return net_generic(net, pmycolo_insts_id);
}

void pmycolo_inst_link(struct pmycolo_inst *pi)
{
	struct pmycolo_insts *insts = pmycolo_insts(pi->net);

	mutex_lock(&insts->lock);
	list_add_tail(&pi->net_node, &insts->list);
	mutex_unlock(&insts->lock);
}

void pmycolo_inst_unlink(struct pmycolo_inst *pi)
{
	struct pmycolo_insts *insts = pmycolo_insts(pi->net);

	mutex_lock(&insts->lock);
	list_del(&pi->net_node);
	mutex_unlock(&insts->lock);
}

void pmycolo_flush_net(struct net *net)
{
	struct pmycolo_insts *insts = pmycolo_insts(net);
	struct pmycolo_inst *pi;

	mutex_lock(&insts->lock);
	list_for_each_entry(pi, &insts->list, net_node)
		pmycolo_flush(pi, !check_net(net));
	mutex_unlock(&insts->lock);
}

void pmycolo_drop_dev(struct net *net, const struct net_device *dev)
{
	struct pmycolo_insts *insts = pmycolo_insts(net);
	struct pmycolo_inst *pi;

	mutex_lock(&insts->lock);
	list_for_each_entry(pi, &insts->list, net_node)
		pmycolo_inst_drop_dev(pi, dev);
	mutex_unlock(&insts->lock);
}

static int __net_init pmycolo_insts_init_net(struct net *net)
{
	struct pmycolo_insts *insts = pmycolo_insts(net);

	mutex_init(&insts->lock);
	INIT_LIST_HEAD(&insts->list);
	return 0;
}

static struct pernet_operations pmycolo_insts_ops = {
	.init	= pmycolo_insts_init_net,
	.id	= &pmycolo_insts_id,
	.size	= sizeof(struct pmycolo_insts),
};

int pmycolo_insts_init(void)
{
	return register_pernet_subsys(&pmycolo_insts_ops);
}

void pmycolo_insts_exit(void)
{
	unregister_pernet_subsys(&pmycolo_insts_ops);
}
