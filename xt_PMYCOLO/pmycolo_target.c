// SPDX-License-Identifier: GPL-2.0
/*
 * xt_PMYCOLO: the primary host's target. It holds the PVM's output, which
 * is released once the SVM's output (captured on the forward device) has
 * been found identical; a difference asks for a checkpoint.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_PMYCOLO.h>
#include <net/netfilter/nf_conntrack_colo.h>

/* Xen's colo-proxy-setup loads the module with the forward device. */
static char sec_dev[IFNAMSIZ];
module_param_string(sec_dev, sec_dev, sizeof(sec_dev), 0444);
MODULE_PARM_DESC(sec_dev, "forward device to the secondary host, for rules without --forward-dev");

static unsigned int pmycolo_tg(struct sk_buff *skb,
			       const struct xt_action_param *par)
{
	return XT_CONTINUE;
}

static int pmycolo_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_pmycolo_info *info = par->targinfo;

	if (strnlen(info->forward_dev, sizeof(info->forward_dev)) ==
	    sizeof(info->forward_dev)) {
		pr_info_ratelimited("--forward-dev is not NUL-terminated\n");
		return -EINVAL;
	}
	if (!info->forward_dev[0] && !sec_dev[0]) {
		pr_info_ratelimited("no forward device: give --forward-dev DEV or load xt_PMYCOLO with sec_dev=DEV\n");
		return -EINVAL;
	}
	return colo_target_check(par, "PMYCOLO", info->index, info->reserved);
}

static struct xt_target pmycolo_tg_reg __read_mostly = {
	.name		= "PMYCOLO",
	.family		= NFPROTO_UNSPEC,
	.table		= "mangle",
	.hooks		= 1 << NF_INET_PRE_ROUTING,
	.target		= pmycolo_tg,
	.checkentry	= pmycolo_tg_check,
	.destroy	= colo_target_destroy,
	.targetsize	= sizeof(struct xt_pmycolo_info),
	.me		= THIS_MODULE,
};

static int __init pmycolo_tg_init(void)
{
	return xt_register_target(&pmycolo_tg_reg);
}

static void __exit pmycolo_tg_exit(void)
{
	xt_unregister_target(&pmycolo_tg_reg);
}

module_init(pmycolo_tg_init);
module_exit(pmycolo_tg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xtables: COLO proxy, primary host (hold and compare)");
MODULE_ALIAS("ipt_PMYCOLO");
MODULE_ALIAS("ip6t_PMYCOLO");
MODULE_SOFTDEP("post: nfnetlink_colo");
