// SPDX-License-Identifier: GPL-2.0
/*
 * What xt_PMYCOLO registers in a network namespace while it has rules.
 *
 * The hold hook. Held PVM packets must go on through netfilter as if never
 * held, without the single nf_queue handler (nfnetlink_queue owns it).
 * nf_reinject() resumes after the hook entry whose index the queue entry
 * names, and only the hook that steals a packet can know that entry: a
 * target cannot (neither ip_tables nor nft_compat tells it which hook or
 * chain priority runs it). So the target only marks the packet (in the
 * tail of skb->cb, which the IP layer's control blocks leave alone) and
 * ends its chain with NF_ACCEPT; a hook of our own, the last of
 * PRE_ROUTING (priority INT_MAX), steals marked packets. At release the
 * hook's index is looked up by its identity, so hooks registered meanwhile
 * do not shift it, and traversal resumes right after it: every hook of
 * PRE_ROUTING has run exactly once, whatever the priority of the chain
 * that holds the PMYCOLO rule and whatever else hooks at that priority.
 * Should the hook be gone, nothing followed it: the packet goes to the
 * hook's continuation (okfn), it is never dropped for that.
 *
 * A held bridged packet keeps its devices, not their bridge membership: a
 * port may leave its bridge and get another rx handler while the packet is
 * held, and br_netfilter's continuation reads the port's rx_handler_data as
 * a bridge port. Ports that left a bridge drop their held packets
 * (NETDEV_CHANGEUPPER), and the release checks the ports again.
 *
 * The capture of the SVM's output. Everything that arrives on a forward
 * device is the SVM's: a netdev ingress hook on it takes IPv4 and IPv6 to
 * the comparator and drops the rest (ARP, VLAN-tagged frames; also
 * neighbour discovery and MLD, which the comparator leaves alone), before
 * any other part of the stack sees it. IP fragments are reassembled first
 * (pmycolo_defrag.c), as conntrack reassembles the PVM's. The device may
 * come and go: a netdevice notifier follows it by name. Rule insertion
 * registers the hook at once, without RTNL (nf_tables' notifier takes its
 * mutex under RTNL, and our rules may be inserted under that mutex): a
 * device that is being unregistered is already past NETREG_REGISTERED, and
 * one whose unregistration starts later reaches our notifier only after we
 * let go of pmycolo_mutex, which then takes the hook off again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/jhash.h>
#include <linux/netdevice.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include "pmycolo.h"

/* Rule (un)registration, device events. */
static DEFINE_MUTEX(pmycolo_mutex);

/* A forward device named by rules, and the instance its packets go to. */
struct pmycolo_fwd {
	struct list_head	node;
	struct rcu_head		rcu;
	char			name[IFNAMSIZ];
	u32			index;
	unsigned int		users;		/* rules naming it */
	struct net_device	*dev;		/* hooked; NULL: not there */
	struct nf_hook_ops	ops;
};

struct pmycolo_net {
	unsigned int		rule_users;	/* hold hooks registered if > 0 */
	struct list_head	fwds;
};

static unsigned int pmycolo_net_id __read_mostly;

static struct pmycolo_net *pmycolo_pernet(const struct net *net)
{
	return net_generic(net, pmycolo_net_id);
}

/*
 * The mark a PMYCOLO rule leaves on a packet for the hold hook: the
 * instance and a check word that ties the mark to this skb, so that stale
 * bytes in skb->cb are never taken for a mark.
 */
struct pmycolo_hold_mark {
	u32	index;
	u32	check;
};

#define PMYCOLO_MARK_OFF \
	(sizeof_field(struct sk_buff, cb) - sizeof(struct pmycolo_hold_mark))

static u32 pmycolo_mark_secret __read_mostly;

static struct pmycolo_hold_mark *pmycolo_mark(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct inet_skb_parm) > PMYCOLO_MARK_OFF);
	BUILD_BUG_ON(sizeof(struct inet6_skb_parm) > PMYCOLO_MARK_OFF);
	return (struct pmycolo_hold_mark *)&skb->cb[PMYCOLO_MARK_OFF];
}

static u32 pmycolo_mark_check(const struct sk_buff *skb, u32 index)
{
	return jhash_2words((u32)(unsigned long)skb, index,
			    pmycolo_mark_secret);
}

void pmycolo_mark_hold(struct sk_buff *skb, u32 index)
{
	struct pmycolo_hold_mark *mark = pmycolo_mark(skb);

	mark->index = index;
	mark->check = pmycolo_mark_check(skb, index);
}

static unsigned int pmycolo_hold_hook(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct pmycolo_hold_mark *mark = pmycolo_mark(skb);
	struct colo_instance *inst;
	u32 index = mark->index;

	if (mark->check != pmycolo_mark_check(skb, index))
		return NF_ACCEPT;
	mark->check = 0;
	inst = colo_instance_lookup_rcu(state->net, index);
	if (!inst || inst->mode != NFCOLO_MODE_PRIMARY)
		return NF_ACCEPT;
	return pmycolo_hold_pvm(inst, skb, state);
}

static const struct nf_hook_ops pmycolo_hold_ops[] = {
	{
		.hook		= pmycolo_hold_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_LAST,
	},
	{
		.hook		= pmycolo_hold_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_LAST,
	},
};

/* Under RCU: where the hold hook sits now in the packet's hook list. */
static int pmycolo_hold_index(const struct nf_hook_state *state)
{
	const struct nf_hook_entries *hooks = NULL;
	const struct nf_hook_ops *hold = NULL;
	struct nf_hook_ops **ops;
	unsigned int i;

	if (state->hook != NF_INET_PRE_ROUTING)
		return -ENOENT;
	switch (state->pf) {
	case NFPROTO_IPV4:
		hooks = rcu_dereference(state->net->nf.hooks_ipv4[state->hook]);
		hold = &pmycolo_hold_ops[0];
		break;
#if IS_ENABLED(CONFIG_IPV6)
	case NFPROTO_IPV6:
		hooks = rcu_dereference(state->net->nf.hooks_ipv6[state->hook]);
		hold = &pmycolo_hold_ops[1];
		break;
#endif
	}
	if (!hooks)
		return -ENOENT;
	ops = nf_hook_entries_get_hook_ops(hooks);
	for (i = 0; i < hooks->num_hook_entries; i++)
		if (ops[i] == hold)
			return i;
	return -ENOENT;
}

#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
static bool pmycolo_port_valid(const struct net_device *dev)
{
	return !dev || netif_is_bridge_port(dev);
}
#endif

/* Is every bridge port the packet's continuation will use still one? */
static bool pmycolo_ports_valid(const struct nf_queue_entry *entry)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	if (!pmycolo_port_valid(entry->physin) ||
	    !pmycolo_port_valid(entry->physout))
		return false;
	if (entry->state.pf == NFPROTO_BRIDGE &&
	    (!pmycolo_port_valid(entry->state.in) ||
	     !pmycolo_port_valid(entry->state.out)))
		return false;
#endif
	return true;
}

bool pmycolo_reinject(struct nf_queue_entry *entry, bool drop)
{
	int index;

	if (drop || !pmycolo_ports_valid(entry)) {
		kfree_skb(entry->skb);
		nf_queue_entry_free(entry);
		return false;
	}
	rcu_read_lock();
	local_bh_disable();
	index = pmycolo_hold_index(&entry->state);
	if (index >= 0) {
		entry->hook_index = index;
		nf_reinject(entry, NF_ACCEPT);
	} else {
		/* The last hook is gone: nothing followed it. */
		entry->state.okfn(entry->state.net, entry->state.sk,
				  entry->skb);
		nf_queue_entry_free(entry);
	}
	local_bh_enable();
	rcu_read_unlock();
	return true;
}

static unsigned int pmycolo_capture(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	const struct pmycolo_fwd *fwd = priv;
	struct colo_instance *inst;
	u8 family;

	inst = colo_instance_lookup_rcu(state->net, READ_ONCE(fwd->index));
	if (!inst || inst->mode != NFCOLO_MODE_PRIMARY)
		return NF_DROP;
	switch (skb->protocol) {
	case htons(ETH_P_IP):
		family = NFPROTO_IPV4;
		break;
	case htons(ETH_P_IPV6):
		family = NFPROTO_IPV6;
		break;
	default:
		family = NFPROTO_UNSPEC;
	}
	/*
	 * ARP and the like must not reach the network; VLAN-tagged frames
	 * are the SVM's too, but the PVM's are not held to compare with.
	 */
	if (family == NFPROTO_UNSPEC || skb_vlan_tag_present(skb)) {
		pmycolo_svm_link(inst, skb);
		return NF_DROP;
	}
	switch (pmycolo_defrag(state->net, skb, family)) {
	case PMYCOLO_DEFRAG_WHOLE:
		break;
	case PMYCOLO_DEFRAG_KEPT:
		return NF_STOLEN;
	case PMYCOLO_DEFRAG_FREED:
		colo_stat_inc(inst, NFCOLO_STATS_SVM_PKTS_FREED);
		return NF_STOLEN;
	default:
		colo_stat_inc(inst, NFCOLO_STATS_SVM_PKTS_FREED);
		return NF_DROP;
	}
	return pmycolo_capture_svm(inst, skb, family);
}

/* Under pmycolo_mutex; @dev is held by the caller or RTNL. */
static int pmycolo_fwd_attach(struct net *net, struct pmycolo_fwd *fwd,
			      struct net_device *dev)
{
	int err;

	fwd->ops = (struct nf_hook_ops) {
		.hook		= pmycolo_capture,
		.pf		= NFPROTO_NETDEV,
		.hooknum	= NF_NETDEV_INGRESS,
		.priority	= INT_MIN,
		.dev		= dev,
		.priv		= fwd,
	};
	err = nf_register_net_hook(net, &fwd->ops);
	if (err) {
		pr_warn_ratelimited("cannot capture the SVM's output on %s: error %d; nothing from it is compared\n",
				    fwd->name, err);
		return err;
	}
	fwd->dev = dev;
	return 0;
}

static void pmycolo_fwd_detach(struct net *net, struct pmycolo_fwd *fwd)
{
	if (!fwd->dev)
		return;
	nf_unregister_net_hook(net, &fwd->ops);
	fwd->dev = NULL;
}

static struct pmycolo_fwd *pmycolo_fwd_find(struct pmycolo_net *pn,
					    const char *name)
{
	struct pmycolo_fwd *fwd;

	list_for_each_entry(fwd, &pn->fwds, node)
		if (!strcmp(fwd->name, name))
			return fwd;
	return NULL;
}

int pmycolo_net_get(struct net *net, const char *fwd_dev, u32 index)
{
	struct pmycolo_net *pn = pmycolo_pernet(net);
	struct pmycolo_fwd *fwd;
	struct net_device *dev;
	int err = 0;

	mutex_lock(&pmycolo_mutex);
	fwd = pmycolo_fwd_find(pn, fwd_dev);
	if (fwd && fwd->index != index) {
		pr_info_ratelimited("forward device %s already carries the SVM output of index %u, not %u: one forward device per instance\n",
				    fwd_dev, fwd->index, index);
		err = -EBUSY;
		goto out;
	}
	if (!pn->rule_users) {
		err = nf_register_net_hooks(net, pmycolo_hold_ops,
					    ARRAY_SIZE(pmycolo_hold_ops));
		if (err) {
			pr_info_ratelimited("cannot register the hold hooks: error %d\n",
					    err);
			goto out;
		}
	}
	if (!fwd) {
		fwd = kzalloc(sizeof(*fwd), GFP_KERNEL);
		if (!fwd) {
			err = -ENOMEM;
			if (!pn->rule_users)
				nf_unregister_net_hooks(net, pmycolo_hold_ops,
							ARRAY_SIZE(pmycolo_hold_ops));
			goto out;
		}
		strscpy(fwd->name, fwd_dev, sizeof(fwd->name));
		fwd->index = index;
		dev = dev_get_by_name(net, fwd_dev);
		if (dev) {
			if (READ_ONCE(dev->reg_state) == NETREG_REGISTERED)
				err = pmycolo_fwd_attach(net, fwd, dev);
			dev_put(dev);
		}
		if (err) {
			kfree(fwd);
			if (!pn->rule_users)
				nf_unregister_net_hooks(net, pmycolo_hold_ops,
							ARRAY_SIZE(pmycolo_hold_ops));
			goto out;
		}
		list_add_tail(&fwd->node, &pn->fwds);
	}
	fwd->users++;
	pn->rule_users++;
out:
	mutex_unlock(&pmycolo_mutex);
	return err;
}

void pmycolo_net_put(struct net *net, const char *fwd_dev)
{
	struct pmycolo_net *pn = pmycolo_pernet(net);
	struct pmycolo_fwd *fwd;

	mutex_lock(&pmycolo_mutex);
	fwd = pmycolo_fwd_find(pn, fwd_dev);
	if (!WARN_ON(!fwd) && --fwd->users == 0) {
		pmycolo_fwd_detach(net, fwd);
		list_del(&fwd->node);
		kfree_rcu(fwd, rcu);
	}
	if (!WARN_ON(!pn->rule_users) && --pn->rule_users == 0) {
		/* Nothing is held any more once the last rule is gone. */
		pmycolo_flush_net(net);
		nf_unregister_net_hooks(net, pmycolo_hold_ops,
					ARRAY_SIZE(pmycolo_hold_ops));
	}
	mutex_unlock(&pmycolo_mutex);
}

static int pmycolo_netdev_event(struct notifier_block *nb,
				unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct net *net = dev_net(dev);
	struct pmycolo_net *pn = pmycolo_pernet(net);
	struct netdev_notifier_changeupper_info *info = ptr;
	struct pmycolo_fwd *fwd;

	mutex_lock(&pmycolo_mutex);
	switch (event) {
	case NETDEV_REGISTER:
	case NETDEV_CHANGENAME:
		list_for_each_entry(fwd, &pn->fwds, node) {
			if (fwd->dev == dev && strcmp(fwd->name, dev->name))
				pmycolo_fwd_detach(net, fwd);
			else if (!fwd->dev && !strcmp(fwd->name, dev->name))
				pmycolo_fwd_attach(net, fwd, dev);
		}
		break;
	case NETDEV_DOWN:
		pmycolo_drop_dev(net, dev);
		break;
	case NETDEV_CHANGEUPPER:
		/* A port left its bridge: its held packets cannot go on. */
		if (!info->linking && netif_is_bridge_master(info->upper_dev))
			pmycolo_drop_dev(net, dev);
		break;
	case NETDEV_UNREGISTER:
		list_for_each_entry(fwd, &pn->fwds, node)
			if (fwd->dev == dev)
				pmycolo_fwd_detach(net, fwd);
		pmycolo_drop_dev(net, dev);
		break;
	}
	mutex_unlock(&pmycolo_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block pmycolo_netdev_notifier = {
	.notifier_call	= pmycolo_netdev_event,
};

static int __net_init pmycolo_net_init_net(struct net *net)
{
	struct pmycolo_net *pn = pmycolo_pernet(net);

	INIT_LIST_HEAD(&pn->fwds);
	return 0;
}

static struct pernet_operations pmycolo_net_ops = {
	.init	= pmycolo_net_init_net,
	.id	= &pmycolo_net_id,
	.size	= sizeof(struct pmycolo_net),
};

int pmycolo_net_init(void)
{
	int err;

	pmycolo_mark_secret = get_random_u32();
	err = register_pernet_subsys(&pmycolo_net_ops);
	if (err)
		return err;
	err = register_netdevice_notifier(&pmycolo_netdev_notifier);
	if (err)
		unregister_pernet_subsys(&pmycolo_net_ops);
	return err;
}

void pmycolo_net_exit(void)
{
	unregister_netdevice_notifier(&pmycolo_netdev_notifier);
	unregister_pernet_subsys(&pmycolo_net_ops);
}
