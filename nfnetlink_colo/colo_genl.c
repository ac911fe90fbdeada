// SPDX-License-Identifier: GPL-2.0
/*
 * nfnetlink_colo: the COLO proxy control plane.
 *
 * The original design registered an nfnetlink subsystem; stock kernels have
 * no free subsystem id, so the same NFCOLO_* messages travel as commands of
 * a generic netlink family instead (wire format: uapi nfnetlink_colo.h).
 * Instances belong to the network namespace of the requesting socket, and
 * by default to the socket itself: NETLINK_URELEASE tells us when it closes.
 * Xen libxl's own raw netlink protocol drives the same instances
 * (colo_libxl.c); its checkpoint requests leave through the notifier here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netlink.h>
#include <net/genetlink.h>
#include <net/netfilter/nf_conntrack_colo.h>
#include <linux/netfilter/colo_libxl.h>
#include "colo_libxl.h"

static struct genl_family colo_genl_family;

static struct netlink_range_validation colo_index_range = {
	.min = NFCOLO_INDEX_MIN,
	.max = NFCOLO_INDEX_MAX,
};

static struct netlink_range_validation colo_timeout_range = {
	.min = NFCOLO_COMPARE_TIMEOUT_MIN_MS,
	.max = NFCOLO_COMPARE_TIMEOUT_MAX_MS,
};

static struct netlink_range_validation colo_queue_limit_range = {
	.min = NFCOLO_QUEUE_LIMIT_MIN,
	.max = NFCOLO_QUEUE_LIMIT_MAX,
};

static struct netlink_range_validation colo_flow_limit_range = {
	.min = NFCOLO_FLOW_LIMIT_MIN,
	.max = NFCOLO_FLOW_LIMIT_MAX,
};

/* Attributes only the kernel sends are absent: strict parsing rejects them. */
static const struct nla_policy colo_genl_policy[NFCOLO_A_MAX + 1] = {
	[NFCOLO_A_INDEX] = NLA_POLICY_FULL_RANGE(NLA_U32, &colo_index_range),
	[NFCOLO_A_MODE]	= NLA_POLICY_RANGE(NLA_U8, NFCOLO_MODE_PRIMARY,
					   NFCOLO_MODE_MAX),
	[NFCOLO_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, NFCOLO_F_ALL),
	[NFCOLO_A_COMPARE_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &colo_timeout_range),
	[NFCOLO_A_QUEUE_LIMIT] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &colo_queue_limit_range),
	[NFCOLO_A_FLOW_LIMIT] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &colo_flow_limit_range),
	[NFCOLO_A_NEIGH_CHECKPOINT] = NLA_POLICY_MAX(NLA_U8, 1),
	[NFCOLO_A_COMPARE_SHARDS] =
		NLA_POLICY_MAX(NLA_U32, NFCOLO_COMPARE_SHARDS_MAX),
};

static bool colo_nl_index(struct genl_info *info, u32 *index)
{
	if (GENL_REQ_ATTR_CHECK(info, NFCOLO_A_INDEX)) {
		COLO_SET_ERR_MSG(info->extack, "the instance index (NFCOLO_A_INDEX) is required");
		return false;
	}
	*index = nla_get_u32(info->attrs[NFCOLO_A_INDEX]);
	return true;
}

static int colo_nl_proxy_init(struct sk_buff *skb, struct genl_info *info)
{
	struct colo_instance_config cfg = {
		.compare_timeout_ms	= NFCOLO_COMPARE_TIMEOUT_DEFAULT_MS,
		.queue_limit		= NFCOLO_QUEUE_LIMIT_DEFAULT,
		.flow_limit		= NFCOLO_FLOW_LIMIT_DEFAULT,
		.neigh_checkpoint	= true,
	};
	struct nlattr **attrs = info->attrs;
	u32 flags = 0;

	if (!colo_nl_index(info, &cfg.index))
		return -EINVAL;
	if (GENL_REQ_ATTR_CHECK(info, NFCOLO_A_MODE)) {
		COLO_SET_ERR_MSG(info->extack, "the mode (primary or secondary) is required");
		return -EINVAL;
	}
	cfg.mode = nla_get_u8(attrs[NFCOLO_A_MODE]);
	if (attrs[NFCOLO_A_FLAGS])
		flags = nla_get_u32(attrs[NFCOLO_A_FLAGS]);

	if (cfg.mode != NFCOLO_MODE_PRIMARY &&
	    (attrs[NFCOLO_A_COMPARE_TIMEOUT_MS] || attrs[NFCOLO_A_QUEUE_LIMIT] ||
	     attrs[NFCOLO_A_FLOW_LIMIT] || attrs[NFCOLO_A_NEIGH_CHECKPOINT] ||
	     attrs[NFCOLO_A_COMPARE_SHARDS])) {
		COLO_SET_ERR_MSG_ATTR(info->extack,
				      attrs[NFCOLO_A_COMPARE_TIMEOUT_MS] ?:
				      attrs[NFCOLO_A_QUEUE_LIMIT] ?:
				      attrs[NFCOLO_A_FLOW_LIMIT] ?:
				      attrs[NFCOLO_A_NEIGH_CHECKPOINT] ?:
				      attrs[NFCOLO_A_COMPARE_SHARDS],
				      "compare timeout, queue limit, flow limit, neighbour checkpoints and compare shards apply to a primary instance only");
		return -EINVAL;
	}
	if (attrs[NFCOLO_A_COMPARE_TIMEOUT_MS])
		cfg.compare_timeout_ms =
			nla_get_u32(attrs[NFCOLO_A_COMPARE_TIMEOUT_MS]);
	if (attrs[NFCOLO_A_QUEUE_LIMIT])
		cfg.queue_limit = nla_get_u32(attrs[NFCOLO_A_QUEUE_LIMIT]);
	if (attrs[NFCOLO_A_FLOW_LIMIT])
		cfg.flow_limit = nla_get_u32(attrs[NFCOLO_A_FLOW_LIMIT]);
	if (attrs[NFCOLO_A_NEIGH_CHECKPOINT])
		cfg.neigh_checkpoint =
			nla_get_u8(attrs[NFCOLO_A_NEIGH_CHECKPOINT]);
	if (attrs[NFCOLO_A_COMPARE_SHARDS])
		cfg.compare_shards = nla_get_u32(attrs[NFCOLO_A_COMPARE_SHARDS]);

	if (!(flags & NFCOLO_F_PERSISTENT)) {
		cfg.owner.portid = info->snd_portid;
		cfg.owner.protocol = NETLINK_GENERIC;
		cfg.owner.sk = NETLINK_CB(skb).sk;
	}
	return colo_instance_create(genl_info_net(info), &cfg, info->extack);
}

static int colo_nl_proxy_reset(struct sk_buff *skb, struct genl_info *info)
{
	u32 index;

	if (!colo_nl_index(info, &index))
		return -EINVAL;
	return colo_instance_reset(genl_info_net(info), index, info->extack);
}

static int colo_nl_proxy_destroy(struct sk_buff *skb, struct genl_info *info)
{
	u32 index;

	if (!colo_nl_index(info, &index))
		return -EINVAL;
	return colo_instance_destroy(genl_info_net(info), index, info->extack);
}

static int colo_nl_do_checkpoint(struct sk_buff *skb, struct genl_info *info)
{
	u32 index;

	if (!colo_nl_index(info, &index))
		return -EINVAL;
	return colo_instance_checkpoint_done(genl_info_net(info), index,
					     info->extack);
}

static int colo_nl_checkpoint_begin(struct sk_buff *skb,
				    struct genl_info *info)
{
	u32 index;

	if (!colo_nl_index(info, &index))
		return -EINVAL;
	return colo_instance_checkpoint_begin(genl_info_net(info), index,
					      info->extack);
}

static int colo_nl_do_failover(struct sk_buff *skb, struct genl_info *info)
{
	u32 index;

	if (!colo_nl_index(info, &index))
		return -EINVAL;
	return colo_instance_failover(genl_info_net(info), index, info->extack);
}

static int colo_nl_put_stats(struct sk_buff *skb,
			     const struct colo_instance *inst)
{
	u64 stats[NFCOLO_STATS_MAX + 1];
	struct nlattr *nest;
	int id;

	colo_stats_read(inst, stats);
	nest = nla_nest_start(skb, NFCOLO_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (id = NFCOLO_STATS_PAD + 1; id <= NFCOLO_STATS_MAX; id++) {
		if (nla_put_u64_64bit(skb, id, stats[id], NFCOLO_STATS_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int colo_nl_fill_instance(struct sk_buff *skb,
				 const struct colo_instance *inst,
				 u32 portid, u32 seq, int flags)
{
	u32 shards = READ_ONCE(inst->shards_in_use);
	u32 owner = inst->owner.portid;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &colo_genl_family, flags,
			  NFCOLO_PROXY_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, NFCOLO_A_INDEX, inst->index) ||
	    nla_put_u8(skb, NFCOLO_A_MODE, inst->mode) ||
	    nla_put_u8(skb, NFCOLO_A_STATE, READ_ONCE(inst->state)) ||
	    nla_put_u32(skb, NFCOLO_A_FLAGS, owner ? 0 : NFCOLO_F_PERSISTENT) ||
	    (owner && nla_put_u32(skb, NFCOLO_A_OWNER_PORTID, owner)) ||
	    nla_put_u32(skb, NFCOLO_A_COMPARE_TIMEOUT_MS,
			inst->compare_timeout_ms) ||
	    nla_put_u32(skb, NFCOLO_A_QUEUE_LIMIT, inst->queue_limit) ||
	    nla_put_u32(skb, NFCOLO_A_FLOW_LIMIT, inst->flow_limit) ||
	    nla_put_u8(skb, NFCOLO_A_NEIGH_CHECKPOINT, inst->neigh_checkpoint) ||
	    (shards && nla_put_u32(skb, NFCOLO_A_COMPARE_SHARDS, shards)) ||
	    nla_put_u8(skb, NFCOLO_A_CHECKPOINT_PENDING,
		       test_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags)) ||
	    colo_nl_put_stats(skb, inst)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int colo_nl_proxy_get(struct sk_buff *skb, struct genl_info *info)
{
	struct colo_instance *inst;
	struct sk_buff *msg;
	u32 index;
	int err;

	if (!colo_nl_index(info, &index))
		return -EINVAL;
	inst = colo_instance_get(genl_info_net(info), index);
	if (!inst) {
		COLO_SET_ERR_MSG(info->extack,
				 "no proxy instance with this index in this network namespace");
		return -ENOENT;
	}
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = colo_nl_fill_instance(msg, inst, info->snd_portid, info->snd_seq,
				    0);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	err = genlmsg_reply(msg, info);
out:
	colo_instance_put(inst);
	return err;
}

/* cb->args[0]: the next index to dump. */
static int colo_nl_proxy_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	u32 index = cb->args[0];
	struct colo_instance *inst;
	int err;

	while ((inst = colo_instance_next(net, &index))) {
		err = colo_nl_fill_instance(skb, inst,
					    NETLINK_CB(cb->skb).portid,
					    cb->nlh->nlmsg_seq, NLM_F_MULTI);
		colo_instance_put(inst);
		if (err)
			break;
		index++;
	}
	cb->args[0] = index;
	return skb->len;
}

static const struct genl_small_ops colo_genl_ops[] = {
	{
		.cmd	= NFCOLO_PROXY_INIT,
		.doit	= colo_nl_proxy_init,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFCOLO_PROXY_RESET,
		.doit	= colo_nl_proxy_reset,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFCOLO_PROXY_DESTROY,
		.doit	= colo_nl_proxy_destroy,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFCOLO_DO_CHECKPOINT,
		.doit	= colo_nl_do_checkpoint,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFCOLO_CHECKPOINT_BEGIN,
		.doit	= colo_nl_checkpoint_begin,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFCOLO_DO_FAILOVER,
		.doit	= colo_nl_do_failover,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFCOLO_PROXY_GET,
		.doit	= colo_nl_proxy_get,
		.dumpit	= colo_nl_proxy_dump,
	},
};

static const struct genl_multicast_group colo_genl_mcgrps[] = {
	{ .name = NFCOLO_MCGRP_EVENTS },
};

static struct genl_family colo_genl_family __ro_after_init = {
	.name		= NFCOLO_GENL_NAME,
	.version	= NFCOLO_GENL_VERSION,
	.maxattr	= NFCOLO_A_MAX,
	.policy		= colo_genl_policy,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.small_ops	= colo_genl_ops,
	.n_small_ops	= ARRAY_SIZE(colo_genl_ops),
	/* Strict: reserved header bits and unknown flags are refused. */
	.resv_start_op	= 0,
	.mcgrps		= colo_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(colo_genl_mcgrps),
};

static int colo_nl_put_addr(struct sk_buff *skb, int type, u8 family,
			    const union nf_inet_addr *addr)
{
	if (family == AF_INET)
		return nla_put_in_addr(skb, type, addr->ip);
	return nla_put_in6_addr(skb, type, &addr->in6);
}

static int colo_nl_put_event(struct sk_buff *skb, const struct colo_event *ev)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, NFCOLO_A_EVENT);
	if (!nest || nla_put_u8(skb, NFCOLO_EV_REASON, ev->reason))
		return -EMSGSIZE;
	/* An ARP request has addresses but no transport protocol. */
	if (ev->family &&
	    (nla_put_u8(skb, NFCOLO_EV_FAMILY, ev->family) ||
	     (ev->l4proto && nla_put_u8(skb, NFCOLO_EV_L4PROTO, ev->l4proto)) ||
	     colo_nl_put_addr(skb, NFCOLO_EV_VM_ADDR, ev->family, &ev->vm_addr) ||
	     colo_nl_put_addr(skb, NFCOLO_EV_PEER_ADDR, ev->family,
			      &ev->peer_addr)))
		return -EMSGSIZE;
	if ((ev->l4proto == IPPROTO_TCP || ev->l4proto == IPPROTO_UDP) &&
	    (nla_put_u16(skb, NFCOLO_EV_VM_PORT, ev->vm_port) ||
	     nla_put_u16(skb, NFCOLO_EV_PEER_PORT, ev->peer_port)))
		return -EMSGSIZE;
	if (ev->has_seq &&
	    (nla_put_u32(skb, NFCOLO_EV_SEQ, ev->seq) ||
	     nla_put_u32(skb, NFCOLO_EV_OFFSET, ev->offset)))
		return -EMSGSIZE;
	if (nla_put_u32(skb, NFCOLO_EV_AGE_MS, ev->age_ms))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Data-path context: atomic, possibly softirq. Delivered: the owner's
 * socket took the request, or, without an owner, some listener of the
 * events group did. Monitors on the group do not make up for an owner
 * whose receive buffer is full: they do not checkpoint.
 */
static bool colo_nl_checkpoint_requested(struct colo_instance *inst,
					 const struct colo_event *ev)
{
	struct net *net = colo_instance_net(inst);
	u32 portid = READ_ONCE(inst->owner.portid);
	int protocol = inst->owner.protocol;
	struct sk_buff *skb, *copy;
	bool delivered = false;
	void *hdr;
	int err;

	/* libxl's socket first: it is what checkpoints; monitors follow. */
	if (portid && protocol == NETLINK_COLO)
		delivered = colo_libxl_checkpoint_requested(net, portid,
							    inst->index);

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!skb)
		goto nomem;
	hdr = genlmsg_put(skb, 0, 0, &colo_genl_family, 0,
			  NFCOLO_KERNEL_NOTIFY);
	if (!hdr ||
	    nla_put_u32(skb, NFCOLO_A_INDEX, inst->index) ||
	    nla_put_u8(skb, NFCOLO_A_MODE, inst->mode) ||
	    colo_nl_put_event(skb, ev)) {
		nlmsg_free(skb);
		goto nomem;
	}
	genlmsg_end(skb, hdr);

	if (portid && protocol == NETLINK_GENERIC) {
		copy = skb_clone(skb, GFP_ATOMIC);
		err = copy ? genlmsg_unicast(net, copy, portid) : -ENOMEM;
		delivered = !err;
		if (err)
			net_warn_ratelimited("%s: instance %u: checkpoint request not delivered to its owner (port %u, error %d): asked again later\n",
					     KBUILD_MODNAME, inst->index, portid,
					     err);
	}
	err = genlmsg_multicast_netns(&colo_genl_family, net, skb, 0, 0,
				      GFP_ATOMIC);
	return portid ? delivered : !err;
nomem:
	net_warn_ratelimited("%s: instance %u: cannot allocate a checkpoint request\n",
			     KBUILD_MODNAME, inst->index);
	return delivered;
}

static const struct colo_notifier colo_nl_notifier = {
	.checkpoint_requested = colo_nl_checkpoint_requested,
};

static int colo_nl_rcv_nl_event(struct notifier_block *this,
				unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC)
		colo_instance_owner_released(n->net, n->protocol, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block colo_nl_release_notifier = {
	.notifier_call = colo_nl_rcv_nl_event,
};

static int __init nfnetlink_colo_init(void)
{
	int err;

	err = genl_register_family(&colo_genl_family);
	if (err)
		return err;
	err = netlink_register_notifier(&colo_nl_release_notifier);
	if (err)
		goto err_family;
	err = colo_libxl_init();
	if (err)
		goto err_release_notifier;
	err = colo_notifier_register(&colo_nl_notifier);
	if (err)
		goto err_libxl;
	return 0;

err_libxl:
	colo_libxl_exit();
err_release_notifier:
	netlink_unregister_notifier(&colo_nl_release_notifier);
err_family:
	genl_unregister_family(&colo_genl_family);
	return err;
}

static void __exit nfnetlink_colo_exit(void)
{
	colo_notifier_unregister(&colo_nl_notifier);
	colo_libxl_exit();
	netlink_unregister_notifier(&colo_nl_release_notifier);
	genl_unregister_family(&colo_genl_family);
	/* Nobody is left to own or control them. */
	colo_instance_destroy_all();
}

module_init(nfnetlink_colo_init);
module_exit(nfnetlink_colo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("COLO proxy control plane (generic netlink, Xen libxl's NETLINK_COLO)");
MODULE_ALIAS_GENL_FAMILY(NFCOLO_GENL_NAME);
