// SPDX-License-Identifier: GPL-2.0
/*
 * xt_PMYCOLO: the primary host's target. It holds the PVM's output, which
 * is released once the SVM's output (captured on the forward device) has
 * been found identical; a difference asks for a checkpoint. The target
 * marks what to hold and ends its chain; the hold hook, last in
 * PRE_ROUTING, takes the packet (pmycolo_net.c says why).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_PMYCOLO.h>
#include "pmycolo.h"

/* Xen's colo-proxy-setup loads the module with the forward device. */
static char sec_dev[IFNAMSIZ];
module_param_string(sec_dev, sec_dev, sizeof(sec_dev), 0444);
MODULE_PARM_DESC(sec_dev, "forward device to the secondary host, for rules without --forward-dev");

static const char *pmycolo_fwd_name(const struct xt_pmycolo_info *info)
{
	return info->forward_dev[0] ? info->forward_dev : sec_dev;
}

static unsigned int pmycolo_tg(struct sk_buff *skb,
			       const struct xt_action_param *par)
{
	const struct xt_pmycolo_info *info = par->targinfo;
	struct colo_instance *inst;

	inst = colo_instance_lookup_rcu(xt_net(par), info->index);
	if (!inst || inst->mode != NFCOLO_MODE_PRIMARY) {
		colo_warn_rule(xt_net(par), info->index, "PMYCOLO",
			       inst ? "names a secondary instance" :
			       "has no proxy instance in this network namespace yet");
		return XT_CONTINUE;
	}
	if (READ_ONCE(inst->state) != NFCOLO_STATE_ACTIVE)
		return XT_CONTINUE;
	pmycolo_neigh_learn(inst, skb);
	/* Held by the hold hook, once PRE_ROUTING is through with it. */
	pmycolo_mark_hold(skb, info->index);
	return NF_ACCEPT;
}

static int pmycolo_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_pmycolo_info *info = par->targinfo;
	int err;

	if (strnlen(info->forward_dev, sizeof(info->forward_dev)) ==
	    sizeof(info->forward_dev)) {
		pr_info_ratelimited("--forward-dev is not NUL-terminated\n");
		return -EINVAL;
	}
	if (par->family != NFPROTO_IPV4 && par->family != NFPROTO_IPV6) {
		pr_info_ratelimited("PMYCOLO holds IPv4 and IPv6 packets in their own PRE_ROUTING hooks: use iptables/ip6tables, or nft tables of family ip or ip6, not family %u\n",
				    par->family);
		return -EINVAL;
	}
	if (!info->forward_dev[0] && !sec_dev[0]) {
		pr_info_ratelimited("no forward device: give --forward-dev DEV or load xt_PMYCOLO with sec_dev=DEV\n");
		return -EINVAL;
	}
	if (info->reserved) {
		pr_info_ratelimited("reserved field set: iptables extension newer than the module?\n");
		return -EINVAL;
	}
	err = colo_target_check(par->net, par->family, info->index,
				NFCOLO_MODE_PRIMARY, "PMYCOLO");
	if (err)
		return err;
	err = pmycolo_net_get(par->net, pmycolo_fwd_name(info), info->index);
	if (err)
		colo_target_destroy(par->net, par->family, info->index);
	return err;
}

static void pmycolo_tg_destroy(const struct xt_tgdtor_param *par)
{
	const struct xt_pmycolo_info *info = par->targinfo;

	pmycolo_net_put(par->net, pmycolo_fwd_name(info));
	colo_target_destroy(par->net, par->family, info->index);
}

static struct xt_target pmycolo_tg_reg __read_mostly = {
	.name		= "PMYCOLO",
	.family		= NFPROTO_UNSPEC,
	.table		= "mangle",
	.hooks		= 1 << NF_INET_PRE_ROUTING,
	.target		= pmycolo_tg,
	.checkentry	= pmycolo_tg_check,
	.destroy	= pmycolo_tg_destroy,
	.targetsize	= sizeof(struct xt_pmycolo_info),
	.me		= THIS_MODULE,
};

static int __init pmycolo_tg_init(void)
{
	int err;

	/*
	 * The engine first: the glue's device events call it, down to the
	 * last replayed by the notifier's unregistration.
	 */
	err = pmycolo_engine_init(pmycolo_reinject);
	if (err)
		return err;
	err = pmycolo_net_init();
	if (err)
		goto err_engine;
	err = xt_register_target(&pmycolo_tg_reg);
	if (err)
		goto err_net;
	return 0;

err_net:
	pmycolo_net_exit();
err_engine:
	pmycolo_engine_exit();
	return err;
}

static void __exit pmycolo_tg_exit(void)
{
	xt_unregister_target(&pmycolo_tg_reg);
	pmycolo_net_exit();
	pmycolo_engine_exit();
}

module_init(pmycolo_tg_init);
module_exit(pmycolo_tg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xtables: COLO proxy, primary host (hold and compare)");
MODULE_ALIAS("ipt_PMYCOLO");
MODULE_ALIAS("ip6t_PMYCOLO");
MODULE_SOFTDEP("post: nfnetlink_colo");
