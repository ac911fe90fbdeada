// SPDX-License-Identifier: GPL-2.0
/*
 * The list of primary instances, walked when a namespace's last rule goes
 * (flush) and when a device goes away (drop what refers to it).
 */
#include "pmycolo_engine.h"

/* Under pmycolo_mutex: the instances of a namespace. */
static LIST_HEAD(pmycolo_insts);

void pmycolo_inst_link(struct pmycolo_inst *pi)
{
	mutex_lock(&pmycolo_mutex);
	list_add_tail(&pi->net_node, &pmycolo_insts);
	mutex_unlock(&pmycolo_mutex);
}

void pmycolo_inst_unlink(struct pmycolo_inst *pi)
{
	mutex_lock(&pmycolo_mutex);
	list_del(&pi->net_node);
	mutex_unlock(&pmycolo_mutex);
}

void pmycolo_flush_net(struct net *net)
{
	struct pmycolo_inst *pi;

	lockdep_assert_held(&pmycolo_mutex);
	list_for_each_entry(pi, &pmycolo_insts, net_node)
		if (net_eq(pi->net, net))
			pmycolo_flush(pi, !check_net(net));
}

void pmycolo_drop_dev(struct net *net, const struct net_device *dev)
{
	struct pmycolo_inst *pi;

	lockdep_assert_held(&pmycolo_mutex);
	list_for_each_entry(pi, &pmycolo_insts, net_node)
		if (net_eq(pi->net, net))
			pmycolo_inst_drop_dev(pi, dev);
}
