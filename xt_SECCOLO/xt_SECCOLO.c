// SPDX-License-Identifier: GPL-2.0
/*
 * xt_SECCOLO: the secondary host's target. It makes the SVM's TCP sequence
 * numbers those of the PVM through nf_conntrack_seqadj, so that the primary
 * can compare both streams and clients survive a failover.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_SECCOLO.h>
#include <net/netfilter/nf_conntrack_colo.h>

static unsigned int seccolo_tg(struct sk_buff *skb,
			       const struct xt_action_param *par)
{
	return XT_CONTINUE;
}

static int seccolo_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_seccolo_info *info = par->targinfo;
	int err;

	if (info->index < NFCOLO_INDEX_MIN || info->index > NFCOLO_INDEX_MAX) {
		pr_info_ratelimited("--index %u out of range %u..%u\n",
				    info->index, NFCOLO_INDEX_MIN,
				    NFCOLO_INDEX_MAX);
		return -EINVAL;
	}
	if (info->reserved) {
		pr_info_ratelimited("reserved field set: iptables extension newer than the module?\n");
		return -EINVAL;
	}
	err = nf_ct_netns_get(par->net, par->family);
	if (err) {
		pr_info_ratelimited("cannot load conntrack for family %u\n",
				    par->family);
		return err;
	}
	err = nf_ct_colo_hooks_get(par->net);
	if (err)
		nf_ct_netns_put(par->net, par->family);
	return err;
}

static void seccolo_tg_destroy(const struct xt_tgdtor_param *par)
{
	nf_ct_colo_hooks_put(par->net);
	nf_ct_netns_put(par->net, par->family);
}

static struct xt_target seccolo_tg_reg __read_mostly = {
	.name		= "SECCOLO",
	.family		= NFPROTO_UNSPEC,
	.table		= "mangle",
	.hooks		= 1 << NF_INET_PRE_ROUTING,
	.target		= seccolo_tg,
	.checkentry	= seccolo_tg_check,
	.destroy	= seccolo_tg_destroy,
	.targetsize	= sizeof(struct xt_seccolo_info),
	.me		= THIS_MODULE,
};

static int __init seccolo_tg_init(void)
{
	return xt_register_target(&seccolo_tg_reg);
}

static void __exit seccolo_tg_exit(void)
{
	xt_unregister_target(&seccolo_tg_reg);
}

module_init(seccolo_tg_init);
module_exit(seccolo_tg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xtables: COLO proxy, secondary host (sequence number adjustment)");
MODULE_ALIAS("ipt_SECCOLO");
MODULE_ALIAS("ip6t_SECCOLO");
MODULE_SOFTDEP("post: nfnetlink_colo");
