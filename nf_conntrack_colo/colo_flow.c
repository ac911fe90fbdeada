// SPDX-License-Identifier: GPL-2.0
/*
 * Per-flow COLO state on stock kernels.
 *
 * The original proxy added a conntrack extension id, which an out-of-tree
 * module cannot do. We register a conntrack helper named "colo" instead and
 * keep the flow's state inline in the data area of the helper extension:
 * it is allocated with the conntrack entry, freed with it whether or not
 * the entry was ever confirmed, and costs one extension lookup per packet.
 * Extensions can only be added before confirmation, so while a COLO rule
 * exists in a namespace, a hook right after conntrack tags new entries
 * with the helper and a seqadj area (the secondary rewrites sequence numbers
 * through nf_conntrack_seqadj). Entries that already have a helper keep it
 * and are not COLO-tracked.
 *
 * Only the VMs' flows are tagged, and the first packet of a flow opened by
 * a client does not match the rule that names the VM's port: what tells
 * them apart is that the VMs' ports are on bridges. A frame the bridge
 * forwards from one port to another (br_netfilter calls the IP hooks for
 * it and remembers it was not for the host: pkt_otherhost) is tagged;
 * routed and local traffic of the host, including frames to the host's own
 * address on the bridge, is left alone, so that `nft ct helper set` and
 * nft flowtables keep working for it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_conntrack_seqadj.h>
#include "colo_internal.h"

/* The flow's state lives in the helper extension's data area. */
static_assert(sizeof(struct nf_conn_colo) <=
	      sizeof_field(struct nf_conn_help, data));

/* Conntrack calls this for every packet of a tagged flow, before seqadj. */
static int colo_helper_confirm(struct sk_buff *skb, unsigned int protoff,
			       struct nf_conn *ct,
			       enum ip_conntrack_info ctinfo)
{
	struct nf_conn_colo *flow = nfct_help_data(ct);
	const struct colo_role_ops *role;
	struct colo_instance *inst;

	if (!flow->index)
		return NF_ACCEPT;
	inst = colo_instance_lookup_rcu(nf_ct_net(ct), flow->index);
	if (!inst)
		return NF_ACCEPT;
	role = READ_ONCE(inst->role);
	if (role && role->confirm)
		role->confirm(inst, skb, protoff, ct, ctinfo, flow);
	return NF_ACCEPT;
}

static const struct nf_conntrack_expect_policy colo_expect_policy = {
	.max_expected	= 0,
	.timeout	= 1,
};

static struct nf_conntrack_helper colo_helper __read_mostly = {
	.name		= "colo",
	.me		= THIS_MODULE,
	.help		= colo_helper_confirm,
	.expect_policy	= &colo_expect_policy,
	.tuple.src.l3num = NFPROTO_UNSPEC,
};

/**
 * nf_ct_colo_find() - the COLO state of a conntrack entry
 * @ct: the conntrack entry
 *
 * The state lives in the data area of the conntrack helper extension that
 * the core's PRE_ROUTING hook adds to new bridged flows. Packet context.
 *
 * Return: the flow's COLO state, or NULL if the flow is not COLO-tracked.
 */
struct nf_conn_colo *nf_ct_colo_find(const struct nf_conn *ct)
{
	struct nf_conn_help *help = nfct_help(ct);

	if (!help || rcu_access_pointer(help->helper) != &colo_helper)
		return NULL;
	return (struct nf_conn_colo *)help->data;
}
EXPORT_SYMBOL_GPL(nf_ct_colo_find);

/* Does the bridge forward this frame to another port (not to the host)? */
static bool colo_skb_bridged_through(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	const struct nf_bridge_info *nf_bridge = nf_bridge_info_get(skb);

	return nf_bridge && nf_bridge->pkt_otherhost;
#else
	return false;
#endif
}

static unsigned int colo_tag_new_flow(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	enum ip_conntrack_info ctinfo;
	struct nf_conn_help *help;
	struct nf_conn *ct;

	if (!colo_skb_bridged_through(skb))
		return NF_ACCEPT;
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || nf_ct_is_confirmed(ct) || nf_ct_is_template(ct) ||
	    nfct_help(ct))
		return NF_ACCEPT;

	help = nf_ct_helper_ext_add(ct, GFP_ATOMIC);
	if (!help)
		return NF_ACCEPT;
	/* Without seqadj the secondary could not rewrite this flow later. */
	if (!nfct_seqadj_ext_add(ct))
		return NF_ACCEPT;
	memset(help->data, 0, sizeof(struct nf_conn_colo));
	rcu_assign_pointer(help->helper, &colo_helper);
	return NF_ACCEPT;
}

static const struct nf_hook_ops colo_flow_hook_ops[] = {
	{
		.hook		= colo_tag_new_flow,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK + 1,
	},
	{
		.hook		= colo_tag_new_flow,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_CONNTRACK + 1,
	},
};

/**
 * nf_ct_colo_hooks_get() - tag new conntrack entries of a namespace
 * @net: the network namespace
 *
 * Registers, for the first user in @net, the hooks that give new bridged
 * conntrack entries COLO state and a seqadj area. Each call is balanced by
 * nf_ct_colo_hooks_put(). Process context; takes colo_mutex.
 *
 * Return: 0, or the negative errno of the hook registration.
 */
int nf_ct_colo_hooks_get(struct net *net)
{
	struct colo_net *cn = colo_pernet(net);
	int err = 0;

	mutex_lock(&colo_mutex);
	if (cn->hook_users == 0)
		err = nf_register_net_hooks(net, colo_flow_hook_ops,
					    ARRAY_SIZE(colo_flow_hook_ops));
	if (!err)
		cn->hook_users++;
	mutex_unlock(&colo_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(nf_ct_colo_hooks_get);

/**
 * nf_ct_colo_hooks_put() - give back a reference of nf_ct_colo_hooks_get()
 * @net: the network namespace
 *
 * The last user's call unregisters the hooks. Process context; takes
 * colo_mutex.
 */
void nf_ct_colo_hooks_put(struct net *net)
{
	struct colo_net *cn = colo_pernet(net);

	mutex_lock(&colo_mutex);
	if (!WARN_ON(cn->hook_users == 0) && --cn->hook_users == 0)
		nf_unregister_net_hooks(net, colo_flow_hook_ops,
					ARRAY_SIZE(colo_flow_hook_ops));
	mutex_unlock(&colo_mutex);
}
EXPORT_SYMBOL_GPL(nf_ct_colo_hooks_put);

int colo_flow_init(void)
{
	return nf_conntrack_helper_register(&colo_helper);
}

void colo_flow_exit(void)
{
	/* Clears the helper of every entry; unconfirmed ones lose it too. */
	nf_conntrack_helper_unregister(&colo_helper);
}
