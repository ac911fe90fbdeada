// SPDX-License-Identifier: GPL-2.0
/*
 * iptables/ip6tables extension for the PMYCOLO target (COLO primary host).
 *
 *   -j PMYCOLO --index N [--forward-dev DEV]
 *
 * Without --forward-dev the kernel falls back to xt_PMYCOLO's sec_dev
 * module parameter, so an empty forward_dev is meaningful and is what
 * Xen's colo-proxy-setup relies on.
 */
#include <stdio.h>
#include <xtables.h>
#include <linux/netfilter/nfnetlink_colo.h>
#include <linux/netfilter/xt_PMYCOLO.h>

#include "colo_opt.h"

/* the Makefile names the constructor as iptables' own build would */
#ifndef _INIT
#define _INIT libxt_PMYCOLO_init
#endif

enum {
	O_INDEX = 0,
	O_FORWARD_DEV,
};

static const struct xt_option_entry pmycolo_tg_opts[] = {
	/* parsed by hand for a precise message; stored in pmycolo_tg_parse */
	{ .name = "index", .id = O_INDEX, .type = XTTYPE_STRING,
	  .flags = XTOPT_MAND },
	{ .name = "forward-dev", .id = O_FORWARD_DEV, .type = XTTYPE_STRING,
	  .flags = XTOPT_PUT,
	  XTOPT_POINTER(struct xt_pmycolo_info, forward_dev) },
	XTOPT_TABLEEND,
};

static void pmycolo_tg_help(void)
{
	printf("PMYCOLO target options:\n"
	       "  --index N             COLO proxy instance (%u-%u), as created over\n"
	       "                        nfnetlink_colo; mandatory\n"
	       "  --forward-dev DEV     device on which the secondary's output arrives;\n"
	       "                        default: xt_PMYCOLO's sec_dev module parameter\n",
	       NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);
}

static void pmycolo_tg_parse(struct xt_option_call *cb)
{
	struct xt_pmycolo_info *info = cb->data;

	/* generic checks first: repeated option, '!', missing argument */
	xtables_option_parse(cb);

	switch (cb->entry->id) {
	case O_INDEX:
		info->index = colo_parse_index(cb->ext_name, cb->arg);
		break;
	case O_FORWARD_DEV:
		/* XTOPT_PUT has copied (and maybe truncated) it: check the
		 * original so that nothing is silently cut off
		 */
		colo_check_ifname(cb->ext_name, "forward-dev", cb->arg,
				  sizeof(info->forward_dev));
		break;
	}
}

static void pmycolo_tg_check(struct xt_fcheck_call *cb)
{
	if (!(cb->xflags & (1U << O_INDEX)))
		colo_missing_index(cb->ext_name);
}

static void pmycolo_tg_print(const void *ip __attribute__((unused)),
			     const struct xt_entry_target *target,
			     int numeric __attribute__((unused)))
{
	const struct xt_pmycolo_info *info = (const void *)target->data;

	printf(" index %u", info->index);
	if (info->forward_dev[0] != '\0')
		printf(" forward-dev %.*s", (int)sizeof(info->forward_dev),
		       info->forward_dev);
}

static void pmycolo_tg_save(const void *ip __attribute__((unused)),
			    const struct xt_entry_target *target)
{
	const struct xt_pmycolo_info *info = (const void *)target->data;

	printf(" --index %u", info->index);
	if (info->forward_dev[0] != '\0')
		printf(" --forward-dev %.*s", (int)sizeof(info->forward_dev),
		       info->forward_dev);
}

/* nft has no COLO expression, hence no .xlate */
static struct xtables_target pmycolo_tg_reg = {
	.name		= "PMYCOLO",
	.revision	= 0,
	.family		= NFPROTO_UNSPEC,
	.version	= XTABLES_VERSION,
	.size		= XT_ALIGN(sizeof(struct xt_pmycolo_info)),
	.userspacesize	= XT_ALIGN(sizeof(struct xt_pmycolo_info)),
	.help		= pmycolo_tg_help,
	.print		= pmycolo_tg_print,
	.save		= pmycolo_tg_save,
	.x6_parse	= pmycolo_tg_parse,
	.x6_fcheck	= pmycolo_tg_check,
	.x6_options	= pmycolo_tg_opts,
};

static void __attribute__((constructor)) _INIT(void)
{
	xtables_register_target(&pmycolo_tg_reg);
}
