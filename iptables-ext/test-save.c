// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for test-options.sh: load libxt_NAME.so through libxtables as
 * iptables would, fill its target info from the command line and print what
 * .save and .print make of it. iptables-save needs the kernel module to
 * give the rule back; this does not.
 *
 *   test-save PMYCOLO INDEX [FORWARD_DEV]
 *   test-save SECCOLO INDEX
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xtables.h>
#include <linux/netfilter/xt_PMYCOLO.h>
#include <linux/netfilter/xt_SECCOLO.h>

static void __attribute__((noreturn, format(printf, 2, 3)))
test_exit_err(enum xtables_exittype status, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vfprintf(stderr, msg, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* no kernel to ask: every revision is fine */
static int test_compat_rev(const char *name __attribute__((unused)),
			   uint8_t rev __attribute__((unused)),
			   int opt __attribute__((unused)))
{
	return 1;
}

static struct xtables_globals test_globals = {
	.program_name		= "test-save",
	.program_version	= XTABLES_VERSION,
	.exit_err		= test_exit_err,
	.compat_rev		= test_compat_rev,
};

int main(int argc, char **argv)
{
	struct xt_entry_target *et;
	struct xtables_target *tg;
	size_t size;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PMYCOLO|SECCOLO INDEX [DEV]\n", argv[0]);
		return 2;
	}
	xtables_init_all(&test_globals, NFPROTO_IPV4);
	tg = xtables_find_target(argv[1], XTF_LOAD_MUST_SUCCEED);

	size = XT_ALIGN(sizeof(*et)) + tg->size;
	et = calloc(1, size);
	if (!et)
		return 1;
	et->u.target_size = size;
	strcpy(et->u.user.name, tg->name);

	if (strcmp(argv[1], "PMYCOLO") == 0) {
		struct xt_pmycolo_info *info = (void *)et->data;

		info->index = strtoul(argv[2], NULL, 10);
		if (argc > 3)
			strncpy(info->forward_dev, argv[3],
				sizeof(info->forward_dev) - 1);
	} else {
		struct xt_seccolo_info *info = (void *)et->data;

		info->index = strtoul(argv[2], NULL, 10);
	}

	printf("save:");
	tg->save(NULL, et);
	printf("\nprint:");
	tg->print(NULL, et, 0);
	printf("\n");
	free(et);
	return 0;
}
