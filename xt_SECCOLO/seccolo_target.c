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
#include <net/ipv6.h>
#include "seccolo.h"

static int seccolo_tcp_offset(struct sk_buff *skb,
			      const struct xt_action_param *par)
{
	int thoff = 0;

	if (xt_family(par) == NFPROTO_IPV4)
		return par->fragoff ? -1 : par->thoff;
	/* ip6tables only finds the transport header for rules with -p. */
	if (ipv6_find_hdr(skb, &thoff, IPPROTO_TCP, NULL, NULL) != IPPROTO_TCP)
		return -1;
	return thoff;
}

static unsigned int seccolo_tg(struct sk_buff *skb,
			       const struct xt_action_param *par)
{
	const struct xt_seccolo_info *info = par->targinfo;
	enum ip_conntrack_info ctinfo;
	struct colo_instance *inst;
	struct nf_conn_colo *flow;
	struct nf_conn *ct;
	int thoff;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || nf_ct_protonum(ct) != IPPROTO_TCP)
		return XT_CONTINUE;
	/* No state: the flow is older than the first COLO rule. */
	flow = nf_ct_colo_find(ct);
	if (!flow)
		return XT_CONTINUE;
	inst = colo_instance_lookup_rcu(xt_net(par), info->index);
	if (!inst || inst->mode != NFCOLO_MODE_SECONDARY) {
		seccolo_svm_packet_unclaimed(ct, flow);
		colo_warn_rule(xt_net(par), info->index, "SECCOLO",
			       inst ? "names a primary instance" :
			       "has no proxy instance in this network namespace yet");
		return XT_CONTINUE;
	}
	thoff = seccolo_tcp_offset(skb, par);
	if (thoff >= 0)
		seccolo_svm_packet(inst, skb, thoff, ct, ctinfo, flow);
	return XT_CONTINUE;
}

static int seccolo_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_seccolo_info *info = par->targinfo;

	if (info->reserved) {
		pr_info_ratelimited("reserved field set: iptables extension newer than the module?\n");
		return -EINVAL;
	}
	return colo_target_check(par->net, par->family, info->index,
				 NFCOLO_MODE_SECONDARY, "SECCOLO");
}

static void seccolo_tg_destroy(const struct xt_tgdtor_param *par)
{
	const struct xt_seccolo_info *info = par->targinfo;

	colo_target_destroy(par->net, par->family, info->index);
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
	int err;

	err = colo_role_register(&seccolo_role);
	if (err)
		return err;
	err = xt_register_target(&seccolo_tg_reg);
	if (err)
		colo_role_unregister(&seccolo_role);
	return err;
}

static void __exit seccolo_tg_exit(void)
{
	xt_unregister_target(&seccolo_tg_reg);
	colo_role_unregister(&seccolo_role);
}

module_init(seccolo_tg_init);
module_exit(seccolo_tg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xtables: COLO proxy, secondary host (sequence number adjustment)");
MODULE_ALIAS("ipt_SECCOLO");
MODULE_ALIAS("ip6t_SECCOLO");
MODULE_SOFTDEP("post: nfnetlink_colo");
