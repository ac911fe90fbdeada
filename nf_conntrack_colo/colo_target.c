// SPDX-License-Identifier: GPL-2.0
/*
 * What the PMYCOLO and SECCOLO targets share at rule insertion and removal:
 * the index check, the per-namespace resources a COLO rule holds, and the
 * mode its index has in the namespace (a rule settles an instance's unset
 * mode; PMYCOLO and SECCOLO rules may not share an index).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netfilter/x_tables.h>
#include "colo_internal.h"

int colo_target_check(const struct xt_tgchk_param *par, const char *target,
		      u8 mode, u32 index, u32 reserved)
{
	int err;

	if (index < NFCOLO_INDEX_MIN || index > NFCOLO_INDEX_MAX) {
		pr_info_ratelimited("%s: --index %u out of range %u..%u\n",
				    target, index, NFCOLO_INDEX_MIN,
				    NFCOLO_INDEX_MAX);
		return -EINVAL;
	}
	if (reserved) {
		pr_info_ratelimited("%s: reserved field set: iptables extension newer than the module?\n",
				    target);
		return -EINVAL;
	}
	err = nf_ct_netns_get(par->net, par->family);
	if (err) {
		pr_info_ratelimited("%s: cannot load conntrack for family %u\n",
				    target, par->family);
		return err;
	}
	err = nf_ct_colo_hooks_get(par->net);
	if (err)
		goto err_netns;
	/* Checkentry runs under the xtables or nf_tables mutex, before ours. */
	err = colo_rule_mode_get(par->net, index, mode, target);
	if (err)
		goto err_hooks;
	return 0;

err_hooks:
	nf_ct_colo_hooks_put(par->net);
err_netns:
	nf_ct_netns_put(par->net, par->family);
	return err;
}
EXPORT_SYMBOL_GPL(colo_target_check);

void colo_target_destroy(const struct xt_tgdtor_param *par, u32 index)
{
	colo_rule_mode_put(par->net, index);
	nf_ct_colo_hooks_put(par->net);
	nf_ct_netns_put(par->net, par->family);
}
EXPORT_SYMBOL_GPL(colo_target_destroy);
