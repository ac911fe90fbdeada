// SPDX-License-Identifier: GPL-2.0
/*
 * iptables/ip6tables extension for the SECCOLO target (COLO secondary host).
 *
 *   -j SECCOLO --index N
 */
#include <stdio.h>
#include <xtables.h>
#include <linux/netfilter/nfnetlink_colo.h>
#include <linux/netfilter/xt_SECCOLO.h>

#include "colo_opt.h"

/* the Makefile names the constructor as iptables' own build would */
#ifndef _INIT
#define _INIT libxt_SECCOLO_init
#endif

enum {
	O_INDEX = 0,
};

static const struct xt_option_entry seccolo_tg_opts[] = {
	/* parsed by hand for a precise message; stored in seccolo_tg_parse */
	{ .name = "index", .id = O_INDEX, .type = XTTYPE_STRING,
	  .flags = XTOPT_MAND },
	XTOPT_TABLEEND,
};

static void seccolo_tg_help(void)
{
	printf("SECCOLO target options:\n"
	       "  --index N             COLO proxy instance (%u-%u), as created over\n"
	       "                        nfnetlink_colo; mandatory\n",
	       NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);
}

static void seccolo_tg_parse(struct xt_option_call *cb)
{
	struct xt_seccolo_info *info = cb->data;

	/* generic checks first: repeated option, '!', missing argument */
	xtables_option_parse(cb);

	switch (cb->entry->id) {
	case O_INDEX:
		info->index = colo_parse_index(cb->ext_name, cb->arg);
		break;
	}
}

static void seccolo_tg_check(struct xt_fcheck_call *cb)
{
	if (!(cb->xflags & (1U << O_INDEX)))
		colo_missing_index(cb->ext_name);
}

static void seccolo_tg_print(const void *ip __attribute__((unused)),
			     const struct xt_entry_target *target,
			     int numeric __attribute__((unused)))
{
	const struct xt_seccolo_info *info = (const void *)target->data;

	printf(" index %u", info->index);
}

static void seccolo_tg_save(const void *ip __attribute__((unused)),
			    const struct xt_entry_target *target)
{
	const struct xt_seccolo_info *info = (const void *)target->data;

	printf(" --index %u", info->index);
}

/* nft has no COLO expression, hence no .xlate */
static struct xtables_target seccolo_tg_reg = {
	.name		= "SECCOLO",
	.revision	= 0,
	.family		= NFPROTO_UNSPEC,
	.version	= XTABLES_VERSION,
	.size		= XT_ALIGN(sizeof(struct xt_seccolo_info)),
	.userspacesize	= XT_ALIGN(sizeof(struct xt_seccolo_info)),
	.help		= seccolo_tg_help,
	.print		= seccolo_tg_print,
	.save		= seccolo_tg_save,
	.x6_parse	= seccolo_tg_parse,
	.x6_fcheck	= seccolo_tg_check,
	.x6_options	= seccolo_tg_opts,
};

static void __attribute__((constructor)) _INIT(void)
{
	xtables_register_target(&seccolo_tg_reg);
}
