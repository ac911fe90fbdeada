// SPDX-License-Identifier: GPL-2.0
/*
 * What every COLO rule front end (today the PMYCOLO and SECCOLO xtables
 * targets) shares at rule insertion and removal: the index check, the
 * per-namespace resources a COLO rule holds, and the mode its index has in
 * the namespace (a rule settles an instance's unset mode; PMYCOLO and
 * SECCOLO rules may not share an index). Plain arguments, no xtables
 * structure: an nf_tables expression could call the same.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include "colo_internal.h"

/**
 * colo_target_check() - take what a COLO rule needs, at its insertion
 * @net: the rule's network namespace
 * @family: the rule's family (NFPROTO_IPV4 or NFPROTO_IPV6)
 * @index: the instance the rule names
 * @mode: the mode the rule gives @index (enum nfcolo_mode)
 * @target: the rule's name, for the kernel log ("PMYCOLO")
 *
 * Checks @index, takes conntrack for @family and the core's flow hooks in
 * @net, and counts the rule in the modes of @net's indexes: the first rule
 * for @index settles the mode of an instance whose mode is unset, and a
 * rule of the other mode is refused. Process context; takes colo_mutex.
 * colo_target_destroy() gives everything back.
 *
 * Return: 0, or a negative errno: -EINVAL for a bad index, -EEXIST when
 * rules of the other mode use @index.
 */
int colo_target_check(struct net *net, u8 family, u32 index, u8 mode,
		      const char *target)
{
	int err;

	if (index < NFCOLO_INDEX_MIN || index > NFCOLO_INDEX_MAX) {
		pr_info_ratelimited("%s: --index %u out of range %u..%u\n",
				    target, index, NFCOLO_INDEX_MIN,
				    NFCOLO_INDEX_MAX);
		return -EINVAL;
	}
	err = nf_ct_netns_get(net, family);
	if (err) {
		pr_info_ratelimited("%s: cannot load conntrack for family %u\n",
				    target, family);
		return err;
	}
	err = nf_ct_colo_hooks_get(net);
	if (err)
		goto err_netns;
	/* Checkentry runs under the xtables or nf_tables mutex, before ours. */
	err = colo_rule_mode_get(net, index, mode, target);
	if (err)
		goto err_hooks;
	return 0;

err_hooks:
	nf_ct_colo_hooks_put(net);
err_netns:
	nf_ct_netns_put(net, family);
	return err;
}
EXPORT_SYMBOL_GPL(colo_target_check);

/**
 * colo_target_destroy() - give back what colo_target_check() took
 * @net: the rule's network namespace
 * @family: the rule's family, as given to colo_target_check()
 * @index: the instance the rule names
 *
 * Process context; takes colo_mutex.
 */
void colo_target_destroy(struct net *net, u8 family, u32 index)
{
	colo_rule_mode_put(net, index);
	nf_ct_colo_hooks_put(net);
	nf_ct_netns_put(net, family);
}
EXPORT_SYMBOL_GPL(colo_target_destroy);
