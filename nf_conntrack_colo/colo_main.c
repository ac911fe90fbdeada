// SPDX-License-Identifier: GPL-2.0
/*
 * nf_conntrack_colo: COLO proxy instances per network namespace and the
 * per-flow COLO state kept with conntrack entries. See docs/design.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/netns/generic.h>
#include "colo_internal.h"

static int __net_init colo_net_init(struct net *net)
{
	return colo_instance_pernet_init(net);
}

static void __net_exit colo_net_exit_batch(struct list_head *net_exit_list)
{
	colo_instance_pernet_exit_batch(net_exit_list);
}

static struct pernet_operations colo_net_ops = {
	.init		= colo_net_init,
	.exit_batch	= colo_net_exit_batch,
	.id		= &colo_net_id,
	.size		= sizeof(struct colo_net),
};

static int __init nf_conntrack_colo_init(void)
{
	int err;

	err = register_pernet_subsys(&colo_net_ops);
	if (err)
		return err;
	err = colo_flow_init();
	if (err) {
		pr_err("cannot register the \"colo\" conntrack helper: %d\n",
		       err);
		unregister_pernet_subsys(&colo_net_ops);
	}
	return err;
}

static void __exit nf_conntrack_colo_exit(void)
{
	colo_flow_exit();
	unregister_pernet_subsys(&colo_net_ops);
	/* Instances are freed after a grace period; a leak shows here. */
	rcu_barrier();
	WARN(atomic_read(&colo_instances_alive),
	     "%d COLO instances leaked\n", atomic_read(&colo_instances_alive));
}

module_init(nf_conntrack_colo_init);
module_exit(nf_conntrack_colo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("COLO proxy: instances and per-flow state tied to conntrack");
MODULE_ALIAS("nfct-helper-colo");
