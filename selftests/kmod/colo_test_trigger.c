// SPDX-License-Identifier: GPL-2.0
/*
 * colo_test_trigger: for the selftests only. Until xt_PMYCOLO's compare
 * path asks for checkpoints, this asks for one on demand, the way the data
 * path does (colo_request_checkpoint(), bottom halves off):
 *
 *   ip netns exec NS sh -c 'echo INDEX > /sys/module/colo_test_trigger/parameters/request'
 *
 * asks instance INDEX of the writer's network namespace. ENOENT: no such
 * instance; EALREADY: not asked (one pending already, or failed over).
 *
 * Loaded with hold_netlink_colo=1, it takes netlink protocol 28 in the
 * initial namespace, as another module might, before nfnetlink_colo.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <net/netfilter/nf_conntrack_colo.h>
#include <linux/netfilter/colo_libxl.h>

static bool hold_netlink_colo;
module_param(hold_netlink_colo, bool, 0444);
MODULE_PARM_DESC(hold_netlink_colo, "take netlink protocol 28 in the initial namespace");

static struct sock *colo_test_sock;

static int colo_test_request(const char *val, const struct kernel_param *kp)
{
	struct colo_event ev = { .reason = NFCOLO_REASON_MISCOMPARE };
	struct colo_instance *inst;
	bool asked;
	u32 index;
	int err;

	err = kstrtou32(val, 0, &index);
	if (err)
		return err;
	inst = colo_instance_get(current->nsproxy->net_ns, index);
	if (!inst)
		return -ENOENT;
	local_bh_disable();
	asked = colo_request_checkpoint(inst, &ev);
	local_bh_enable();
	colo_instance_put(inst);
	return asked ? 0 : -EALREADY;
}

static const struct kernel_param_ops colo_test_request_ops = {
	.set	= colo_test_request,
};

module_param_cb(request, &colo_test_request_ops, NULL, 0200);
MODULE_PARM_DESC(request, "write an instance index: ask it for a checkpoint");

static void colo_test_rcv(struct sk_buff *skb)
{
}

static int __init colo_test_init(void)
{
	struct netlink_kernel_cfg cfg = { .input = colo_test_rcv };

	if (!hold_netlink_colo)
		return 0;
	colo_test_sock = netlink_kernel_create(&init_net, NETLINK_COLO, &cfg);
	return colo_test_sock ? 0 : -EBUSY;
}

static void __exit colo_test_exit(void)
{
	netlink_kernel_release(colo_test_sock);
}

module_init(colo_test_init);
module_exit(colo_test_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("COLO proxy selftests: checkpoint requests on demand");
