// SPDX-License-Identifier: GPL-2.0
/*
 * Xen libxl's COLO proxy protocol: raw netlink protocol NETLINK_COLO (28),
 * next to the generic netlink family, on the same instances (wire format:
 * uapi colo_libxl.h).
 *
 * The socket's port id is the instance index; COLO_PROXY_INIT makes the
 * socket the owner (protocol NETLINK_COLO), so that closing it tears the
 * instance down like any owner socket. The mode is not in the message: the
 * libxl_mode parameter may force it; by default ("auto") the instance takes
 * it from the namespace's PMYCOLO or SECCOLO rules for its index, present
 * or to come (until then its mode is unset and its packets pass).
 *
 * libxl reads the first message that follows a COLO_CHECKPOINT as the next
 * checkpoint request and takes an error there as fatal: an error goes back
 * only to a request that asked for an ack, and to the kernel log always.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/netns/generic.h>
#include <net/netfilter/nf_conntrack_colo.h>
#include <linux/netfilter/colo_libxl.h>
#include "colo_libxl.h"

struct colo_libxl_net {
	struct sock __rcu	*nl;	/* for senders; NULL once dying */
	struct sock		*sock;	/* released at exit */
};

static unsigned int colo_libxl_net_id __read_mostly;

static const char * const colo_libxl_mode_names[] = {
	[NFCOLO_MODE_UNSPEC]	= "auto",
	[NFCOLO_MODE_PRIMARY]	= "primary",
	[NFCOLO_MODE_SECONDARY]	= "secondary",
};

/* enum nfcolo_mode; NFCOLO_MODE_UNSPEC: "auto". */
static unsigned int colo_libxl_mode;

static int colo_libxl_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(colo_libxl_mode_names, val);

	if (mode < 0)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, mode);
	return 0;
}

static int colo_libxl_mode_get(char *buf, const struct kernel_param *kp)
{
	unsigned int mode = READ_ONCE(*(unsigned int *)kp->arg);

	return sysfs_emit(buf, "%s\n", colo_libxl_mode_names[mode]);
}

static const struct kernel_param_ops colo_libxl_mode_ops = {
	.set	= colo_libxl_mode_set,
	.get	= colo_libxl_mode_get,
};

module_param_cb(libxl_mode, &colo_libxl_mode_ops, &colo_libxl_mode, 0644);
MODULE_PARM_DESC(libxl_mode,
		 "mode of the instances Xen libxl creates: primary, secondary, or auto (default: from the first PMYCOLO or SECCOLO rule for the index)");

static struct sock *colo_libxl_sock_rcu(const struct net *net)
{
	struct colo_libxl_net *xn = net_generic(net, colo_libxl_net_id);

	return rcu_dereference(xn->nl);
}

static bool colo_libxl_owns(const struct colo_instance *inst, u32 portid)
{
	return inst->owner.protocol == NETLINK_COLO &&
	       READ_ONCE(inst->owner.portid) == portid;
}

/*
 * A second INIT from the owner succeeds: libxl may set up again. So does an
 * INIT from a new socket on the owner's port (libxl restarted; the old
 * socket is closing): it takes the instance over.
 */
static int colo_libxl_proxy_init(struct sk_buff *skb, struct net *net,
				 u32 portid, struct netlink_ext_ack *extack)
{
	struct colo_instance_config cfg = {
		.index			= portid,
		.adopt			= true,
		.owner.portid		= portid,
		.owner.protocol		= NETLINK_COLO,
		.owner.sk		= NETLINK_CB(skb).sk,
		.compare_timeout_ms	= NFCOLO_COMPARE_TIMEOUT_DEFAULT_MS,
		.queue_limit		= NFCOLO_QUEUE_LIMIT_DEFAULT,
		.flow_limit		= NFCOLO_FLOW_LIMIT_DEFAULT,
		.neigh_checkpoint	= true,
		/* Unset in auto mode: the rules for the index set it. */
		.mode			= READ_ONCE(colo_libxl_mode),
	};

	return colo_instance_create(net, &cfg, extack);
}

/* CHECKPOINT, FAILOVER and RESET act on the sender's own instance only. */
static int colo_libxl_owned_op(struct net *net, u32 portid,
			       struct netlink_ext_ack *extack,
			       int (*op)(struct net *net, u32 index,
					 struct netlink_ext_ack *extack))
{
	struct colo_instance *inst;
	bool mine;

	inst = colo_instance_get(net, portid);
	if (!inst) {
		COLO_SET_ERR_MSG(extack,
				 "no instance with this index: send COLO_PROXY_INIT first");
		return -ENOENT;
	}
	mine = colo_libxl_owns(inst, portid);
	colo_instance_put(inst);
	if (!mine) {
		COLO_SET_ERR_MSG(extack,
				 "the instance with this index belongs to another control socket");
		return -EPERM;
	}
	return op(net, portid, extack);
}

static struct sk_buff *colo_libxl_msg_new(u32 seq, bool is_checkpoint,
					  gfp_t gfp)
{
	struct colo_libxl_msg *m;
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	skb = nlmsg_new(sizeof(*m), gfp);
	if (!skb)
		return NULL;
	nlh = nlmsg_put(skb, 0, seq, COLO_QUERY_CHECKPOINT, sizeof(*m), 0);
	if (!nlh) {
		kfree_skb(skb);
		return NULL;
	}
	m = nlmsg_data(nlh);
	m->is_checkpoint = is_checkpoint;
	nlmsg_end(skb, nlh);
	return skb;
}

/* COLO_QUERY_CHECKPOINT from userspace: is a checkpoint pending? */
static int colo_libxl_query(struct net *net, u32 portid,
			    const struct nlmsghdr *nlh,
			    struct netlink_ext_ack *extack)
{
	struct colo_instance *inst;
	struct sk_buff *reply;
	struct sock *nl;
	bool pending;
	int err;

	inst = colo_instance_get(net, portid);
	if (!inst) {
		COLO_SET_ERR_MSG(extack,
				 "no instance with this index: send COLO_PROXY_INIT first");
		return -ENOENT;
	}
	pending = test_bit(COLO_INST_CHECKPOINT_PENDING, &inst->flags);
	colo_instance_put(inst);

	reply = colo_libxl_msg_new(nlh->nlmsg_seq, pending, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	/* The sender's socket holds the namespace: ours is still there. */
	rcu_read_lock();
	nl = colo_libxl_sock_rcu(net);
	if (nl) {
		err = netlink_unicast(nl, reply, portid, MSG_DONTWAIT);
	} else {
		kfree_skb(reply);
		err = -ENODEV;
	}
	rcu_read_unlock();
	return err < 0 ? err : 0;
}

static int colo_libxl_handle(struct sk_buff *skb, const struct nlmsghdr *nlh,
			     struct netlink_ext_ack *extack)
{
	struct net *net = sock_net(skb->sk);
	u32 portid = NETLINK_CB(skb).portid;

	if (portid < NFCOLO_INDEX_MIN || portid > NFCOLO_INDEX_MAX) {
		COLO_SET_ERR_MSG(extack,
				 "bind the socket to a port id 1..65535: it is the instance index");
		return -EINVAL;
	}
	if (nlh->nlmsg_type == COLO_QUERY_CHECKPOINT)
		return colo_libxl_query(net, portid, nlh, extack);

	if (nlh->nlmsg_type < COLO_QUERY_CHECKPOINT ||
	    nlh->nlmsg_type > COLO_PROXY_RESET) {
		COLO_SET_ERR_MSG(extack, "unknown message type");
		return -EOPNOTSUPP;
	}
	if (!netlink_net_capable(skb, CAP_NET_ADMIN)) {
		COLO_SET_ERR_MSG(extack,
				 "needs CAP_NET_ADMIN in the network namespace's user namespace");
		return -EPERM;
	}
	switch (nlh->nlmsg_type) {
	case COLO_PROXY_INIT:
		return colo_libxl_proxy_init(skb, net, portid, extack);
	case COLO_CHECKPOINT:
		return colo_libxl_owned_op(net, portid, extack,
					   colo_instance_checkpoint_done);
	case COLO_FAILOVER:
		return colo_libxl_owned_op(net, portid, extack,
					   colo_instance_failover);
	default:
		return colo_libxl_owned_op(net, portid, extack,
					   colo_instance_reset);
	}
}

/* netlink_rcv_skb() replies with any error: only when an ack was asked. */
static int colo_libxl_rcv_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			      struct netlink_ext_ack *extack)
{
	bool ack = nlh->nlmsg_flags & NLM_F_ACK;
	int err;

	err = colo_libxl_handle(skb, nlh, extack);
	if (!err)
		return 0;
	net_info_ratelimited("%s: libxl port %u, message type %u: %s (error %d%s)\n",
			     KBUILD_MODNAME, NETLINK_CB(skb).portid,
			     nlh->nlmsg_type, extack->_msg ?: "failed", err,
			     ack ? "" : ", not sent: no ack asked");
	return ack ? err : 0;
}

static void colo_libxl_rcv(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, colo_libxl_rcv_msg);
}

bool colo_libxl_checkpoint_requested(struct net *net, u32 portid, u32 index)
{
	struct sock *nl = colo_libxl_sock_rcu(net);
	struct sk_buff *skb;
	int err = -ENOMEM;

	if (!nl)
		return false;
	skb = colo_libxl_msg_new(0, true, GFP_ATOMIC);
	if (skb)
		err = netlink_unicast(nl, skb, portid, MSG_DONTWAIT);
	if (err < 0)
		net_warn_ratelimited("%s: instance %u: cannot send the checkpoint request to libxl (error %d): asked again later\n",
				     KBUILD_MODNAME, index, err);
	return err >= 0;
}

static int colo_libxl_rcv_nl_event(struct notifier_block *this,
				   unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_COLO)
		colo_instance_owner_released(n->net, n->protocol, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block colo_libxl_release_notifier = {
	.notifier_call = colo_libxl_rcv_nl_event,
};

static int __net_init colo_libxl_net_init(struct net *net)
{
	struct colo_libxl_net *xn = net_generic(net, colo_libxl_net_id);
	struct netlink_kernel_cfg cfg = {
		.input	= colo_libxl_rcv,
	};
	struct sock *nl;

	nl = netlink_kernel_create(net, NETLINK_COLO, &cfg);
	if (!nl) {
		pr_err_ratelimited("cannot create the kernel socket of netlink protocol %d (NETLINK_COLO, Xen libxl's COLO proxy): another module owns it in this network namespace, or out of memory\n",
				   NETLINK_COLO);
		return -EBUSY;
	}
	xn->sock = nl;
	rcu_assign_pointer(xn->nl, nl);
	return 0;
}

/* Checkpoint requests stop here; a grace period passes before exit. */
static void __net_exit colo_libxl_net_pre_exit(struct net *net)
{
	struct colo_libxl_net *xn = net_generic(net, colo_libxl_net_id);

	RCU_INIT_POINTER(xn->nl, NULL);
}

static void __net_exit colo_libxl_net_exit(struct net *net)
{
	struct colo_libxl_net *xn = net_generic(net, colo_libxl_net_id);

	netlink_kernel_release(xn->sock);
}

static struct pernet_operations colo_libxl_net_ops = {
	.init		= colo_libxl_net_init,
	.pre_exit	= colo_libxl_net_pre_exit,
	.exit		= colo_libxl_net_exit,
	.id		= &colo_libxl_net_id,
	.size		= sizeof(struct colo_libxl_net),
};

int colo_libxl_init(void)
{
	int err;

	err = register_pernet_subsys(&colo_libxl_net_ops);
	if (err)
		return err;
	err = netlink_register_notifier(&colo_libxl_release_notifier);
	if (err)
		unregister_pernet_subsys(&colo_libxl_net_ops);
	return err;
}

void colo_libxl_exit(void)
{
	netlink_unregister_notifier(&colo_libxl_release_notifier);
	unregister_pernet_subsys(&colo_libxl_net_ops);
}

/* socket(PF_NETLINK, SOCK_RAW, NETLINK_COLO) loads this module. */
MODULE_ALIAS_NET_PF_PROTO(PF_NETLINK, NETLINK_COLO);
