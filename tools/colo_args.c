// SPDX-License-Identifier: GPL-2.0
/*
 * coloctl: command line parsing. Strict on purpose: a typo must not turn
 * into a request for the wrong instance.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_args.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Which options a command takes. */
#define OPT_MODE	(1U << 0)
#define OPT_TIMEOUT	(1U << 1)
#define OPT_QLIMIT	(1U << 2)
#define OPT_DELAY	(1U << 3)
#define OPT_COUNT	(1U << 4)
#define OPT_INDEX	(1U << 5)
#define OPT_JSON	(1U << 6)
#define OPT_FLIMIT	(1U << 7)
#define OPT_NEIGH	(1U << 8)
#define OPT_SHARDS	(1U << 9)
#define OPT_INIT	(OPT_MODE | OPT_TIMEOUT | OPT_QLIMIT | OPT_FLIMIT | \
			 OPT_NEIGH | OPT_SHARDS)

enum colo_index_rule {
	IDX_NONE,
	IDX_OPTIONAL,
	IDX_REQUIRED,
};

struct colo_cmd_desc {
	const char *name;
	enum colo_cmd cmd;
	unsigned int opts;
	enum colo_index_rule index;
};

static const struct colo_cmd_desc colo_cmds[] = {
	{ "help",	COLO_CMD_HELP,		0,		IDX_NONE },
	{ "version",	COLO_CMD_VERSION,	0,		IDX_NONE },
	{ "init",	COLO_CMD_INIT,		OPT_INIT,	IDX_REQUIRED },
	{ "reset",	COLO_CMD_RESET,		0,		IDX_REQUIRED },
	{ "destroy",	COLO_CMD_DESTROY,	0,		IDX_REQUIRED },
	{ "checkpoint",	COLO_CMD_CHECKPOINT,	0,		IDX_REQUIRED },
	{ "checkpoint-begin", COLO_CMD_CHECKPOINT_BEGIN, 0,	IDX_REQUIRED },
	{ "failover",	COLO_CMD_FAILOVER,	0,		IDX_REQUIRED },
	{ "status",	COLO_CMD_STATUS,	OPT_JSON,	IDX_OPTIONAL },
	{ "monitor",	COLO_CMD_MONITOR,
	  OPT_JSON | OPT_INDEX | OPT_COUNT,			IDX_NONE },
	{ "run",	COLO_CMD_RUN,
	  OPT_INIT | OPT_DELAY | OPT_COUNT | OPT_JSON,		IDX_REQUIRED },
};

static const struct option colo_longopts[] = {
	{ "mode",	 required_argument, NULL, 'm' },
	{ "timeout",	 required_argument, NULL, 't' },
	{ "queue-limit", required_argument, NULL, 'q' },
	{ "flow-limit",	 required_argument, NULL, 'f' },
	{ "neigh-checkpoint", required_argument, NULL, 'n' },
	{ "compare-shards", required_argument, NULL, 's' },
	{ "delay",	 required_argument, NULL, 'd' },
	{ "count",	 required_argument, NULL, 'c' },
	{ "index",	 required_argument, NULL, 'i' },
	{ "json",	 no_argument,	    NULL, 'j' },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ NULL,		 0,		    NULL, 0 },
};

static const char colo_shortopts[] = ":m:t:q:f:n:s:d:c:i:jh";

void colo_usage(FILE *f)
{
	fprintf(f,
"Usage: coloctl [-j] COMMAND [ARGS]\n"
"Control the COLO proxy instances (nfnetlink_colo) of this network namespace.\n"
"\n"
"Commands:\n"
"  init INDEX --mode MODE [--timeout MS] [--queue-limit N]\n"
"      [--flow-limit N] [--neigh-checkpoint on|off] [--compare-shards N]\n"
"                         create a persistent instance\n"
"  reset INDEX            start an instance afresh (flow state, counters)\n"
"  destroy INDEX          remove an instance\n"
"  checkpoint INDEX       report that a checkpoint has completed (commit\n"
"                         the one begun, if any)\n"
"  checkpoint-begin INDEX report that a checkpoint has begun (the VMs are\n"
"                         stopped): mark what is held now\n"
"  failover INDEX         report that the peer host is gone\n"
"  status [INDEX] [--json]\n"
"                         show one instance, or all of them\n"
"  monitor [--index N] [--count N] [--json]\n"
"                         print checkpoint requests as they happen\n"
"  run INDEX --mode MODE [--timeout MS] [--queue-limit N] [--flow-limit N]\n"
"      [--neigh-checkpoint on|off] [--compare-shards N] [--delay MS]\n"
"      [--count N] [--json]\n"
"                         stand in for the hypervisor (tests, demos, trying\n"
"                         colo-proxy without COLO in QEMU or Xen): create\n"
"                         the instance and own it until exit, when it goes\n"
"                         away (primary) or fails over (secondary); print\n"
"                         each checkpoint request and complete it at once\n"
"                         (after --delay), copying no VM state\n"
"  help                   show this text\n"
"  version                show the version\n"
"\n"
"Options:\n"
"  -m, --mode MODE        primary or secondary\n"
"  -t, --timeout MS       primary: compare timeout, %u..%u (default %u)\n"
"  -q, --queue-limit N    primary: packets held per side, %u..%u\n"
"                         (default %u)\n"
"  -f, --flow-limit N     primary: flows tracked, %u..%u (default %u)\n"
"  -n, --neigh-checkpoint on|off\n"
"                         primary: the SVM's ARP requests and neighbour\n"
"                         solicitations draw a checkpoint (default on)\n"
"  -s, --compare-shards N primary: cut the flows into N shards, each compared\n"
"                         by a kernel worker of its own, 0..%u (default 0:\n"
"                         xt_PMYCOLO's compare_shards)\n"
"  -d, --delay MS         wait this long before each checkpoint (default 0)\n"
"  -c, --count N          exit after N events (monitor) or checkpoints (run)\n"
"  -i, --index N          only events of instance N (monitor)\n"
"  -j, --json             JSON output: one array, of instances (status) or\n"
"                         events (monitor, run); also before COMMAND\n"
"  -h, --help             show this text\n"
"\n"
"INDEX is %u..%u. Exit status: 0 success, 1 failure, 2 usage error.\n",
		NFCOLO_COMPARE_TIMEOUT_MIN_MS, NFCOLO_COMPARE_TIMEOUT_MAX_MS,
		NFCOLO_COMPARE_TIMEOUT_DEFAULT_MS,
		NFCOLO_QUEUE_LIMIT_MIN, NFCOLO_QUEUE_LIMIT_MAX,
		NFCOLO_QUEUE_LIMIT_DEFAULT,
		NFCOLO_FLOW_LIMIT_MIN, NFCOLO_FLOW_LIMIT_MAX,
		NFCOLO_FLOW_LIMIT_DEFAULT, NFCOLO_COMPARE_SHARDS_MAX,
		NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);
}

__attribute__((format(printf, 3, 4)))
static int colo_usage_err(FILE *err, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("coloctl: ", err);
	if (cmd)
		fprintf(err, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputs("\nTry 'coloctl help'.\n", err);
	return COLO_EXIT_USAGE;
}

/* Decimal digits only: no sign, no spaces, no hex, no overflow. */
static int colo_parse_u32(const char *s, uint32_t min, uint32_t max,
			  uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static const struct colo_cmd_desc *colo_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(colo_cmds); i++)
		if (!strcmp(colo_cmds[i].name, name))
			return &colo_cmds[i];
	return NULL;
}

static unsigned int colo_opt_bit(int c)
{
	switch (c) {
	case 'm': return OPT_MODE;
	case 't': return OPT_TIMEOUT;
	case 'q': return OPT_QLIMIT;
	case 'f': return OPT_FLIMIT;
	case 'n': return OPT_NEIGH;
	case 's': return OPT_SHARDS;
	case 'd': return OPT_DELAY;
	case 'c': return OPT_COUNT;
	case 'i': return OPT_INDEX;
	case 'j': return OPT_JSON;
	}
	return 0;
}

static const char *colo_opt_name(int c)
{
	const struct option *o;

	for (o = colo_longopts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int colo_number(FILE *err, const char *cmd, int c, const char *arg,
		       uint32_t min, uint32_t max, uint32_t *out)
{
	if (colo_parse_u32(arg, min, max, out) == 0)
		return 0;
	return colo_usage_err(err, cmd, "invalid --%s '%s' (expected %u..%u)",
			      colo_opt_name(c), arg, min, max);
}

static int colo_on_off(FILE *err, const char *cmd, int c, const char *arg,
		       bool *out)
{
	if (!strcmp(arg, "on"))
		*out = true;
	else if (!strcmp(arg, "off"))
		*out = false;
	else
		return colo_usage_err(err, cmd, "invalid --%s '%s' "
				      "(expected on or off)",
				      colo_opt_name(c), arg);
	return 0;
}

static int colo_mode(FILE *err, const char *cmd, const char *arg,
		     uint8_t *mode)
{
	if (!strcmp(arg, "primary"))
		*mode = NFCOLO_MODE_PRIMARY;
	else if (!strcmp(arg, "secondary"))
		*mode = NFCOLO_MODE_SECONDARY;
	else
		return colo_usage_err(err, cmd, "invalid --mode '%s' "
				      "(expected primary or secondary)", arg);
	return 0;
}

/* Apply one option's value; 0 or COLO_EXIT_USAGE. */
static int colo_apply_opt(FILE *err, struct colo_opts *o, int c,
			  const char *arg)
{
	const char *n = o->name;

	switch (c) {
	case 'm':
		return colo_mode(err, n, arg, &o->mode);
	case 't':
		o->has_timeout = true;
		return colo_number(err, n, c, arg, NFCOLO_COMPARE_TIMEOUT_MIN_MS,
				   NFCOLO_COMPARE_TIMEOUT_MAX_MS,
				   &o->timeout_ms);
	case 'q':
		o->has_queue_limit = true;
		return colo_number(err, n, c, arg, NFCOLO_QUEUE_LIMIT_MIN,
				   NFCOLO_QUEUE_LIMIT_MAX, &o->queue_limit);
	case 'f':
		o->has_flow_limit = true;
		return colo_number(err, n, c, arg, NFCOLO_FLOW_LIMIT_MIN,
				   NFCOLO_FLOW_LIMIT_MAX, &o->flow_limit);
	case 'n':
		o->has_neigh_checkpoint = true;
		return colo_on_off(err, n, c, arg, &o->neigh_checkpoint);
	case 's':
		o->has_compare_shards = true;
		return colo_number(err, n, c, arg, 0, NFCOLO_COMPARE_SHARDS_MAX,
				   &o->compare_shards);
	case 'd':
		return colo_number(err, n, c, arg, 0, UINT32_MAX, &o->delay_ms);
	case 'c':
		return colo_number(err, n, c, arg, 1, UINT32_MAX, &o->count);
	case 'i':
		o->has_index = true;
		return colo_number(err, n, c, arg, NFCOLO_INDEX_MIN,
				   NFCOLO_INDEX_MAX, &o->index);
	case 'j':
		o->json = true;
		return 0;
	}
	return COLO_EXIT_USAGE;
}

static int colo_getopt_err(FILE *err, const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return colo_usage_err(err, cmd, "option '%s' needs a value",
				      arg);
	if (optopt)
		return colo_usage_err(err, cmd, "unknown option '-%c'", optopt);
	return colo_usage_err(err, cmd, "unknown option '%s'", arg);
}

static int colo_parse_opts(int argc, char **argv, struct colo_opts *o,
			   const struct colo_cmd_desc *d, FILE *err)
{
	int c, ret;

	optind = 0;	/* full re-initialisation, for repeated calls */
	opterr = 0;
	optopt = 0;
	while ((c = getopt_long(argc, argv, colo_shortopts, colo_longopts,
				NULL)) != -1) {
		if (c == '?' || c == ':')
			return colo_getopt_err(err, d->name, c, argv);
		if (c == 'h') {
			o->cmd = COLO_CMD_HELP;
			return 0;
		}
		if (!(d->opts & colo_opt_bit(c)))
			return colo_usage_err(err, d->name, "option '--%s' is "
					      "not valid for this command",
					      colo_opt_name(c));
		ret = colo_apply_opt(err, o, c, optarg);
		if (ret)
			return ret;
	}
	return 0;
}

static int colo_parse_positional(int argc, char **argv, struct colo_opts *o,
				 const struct colo_cmd_desc *d, FILE *err)
{
	int max = d->index == IDX_NONE ? 0 : 1;
	int left = argc - optind;

	if (left > max)
		return colo_usage_err(err, d->name, "unexpected argument '%s'",
				      argv[optind + max]);
	if (left == 0 && d->index == IDX_REQUIRED)
		return colo_usage_err(err, d->name, "missing INDEX");
	if (left == 0)
		return 0;
	o->has_index = true;
	if (colo_parse_u32(argv[optind], NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX,
			   &o->index) < 0)
		return colo_usage_err(err, d->name, "invalid INDEX '%s' "
				      "(expected %u..%u)", argv[optind],
				      NFCOLO_INDEX_MIN, NFCOLO_INDEX_MAX);
	return 0;
}

/* Global forms: "coloctl --help", "coloctl -h", "coloctl --version". */
static bool colo_global_opt(const char *arg, struct colo_opts *o)
{
	if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
		o->cmd = COLO_CMD_HELP;
	else if (!strcmp(arg, "--version") || !strcmp(arg, "-V"))
		o->cmd = COLO_CMD_VERSION;
	else
		return false;
	o->name = arg;
	return true;
}

/* "-j" or "--json" before the command, as "ip -j" takes it. */
static bool colo_global_json(const char *arg)
{
	return !strcmp(arg, "-j") || !strcmp(arg, "--json");
}

/*
 * Parse "coloctl [-j] COMMAND ARGS..." into @o. Returns 0, or
 * COLO_EXIT_USAGE after printing why to @err.
 */
int colo_parse_args(int argc, char **argv, struct colo_opts *o, FILE *err)
{
	const struct colo_cmd_desc *d;
	bool json = false;
	int ret;

	memset(o, 0, sizeof(*o));
	/* Drop the global options; argv[1] is then the command. */
	while (argc > 1 && colo_global_json(argv[1])) {
		json = true;
		argc--;
		argv++;
	}
	if (argc < 2)
		return colo_usage_err(err, NULL, "missing COMMAND");
	if (!json && colo_global_opt(argv[1], o))
		return argc == 2 ? 0 : colo_usage_err(err, NULL,
						      "unexpected argument '%s'",
						      argv[2]);
	d = colo_find_cmd(argv[1]);
	if (!d)
		return colo_usage_err(err, NULL, "unknown command '%s'",
				      argv[1]);
	o->cmd = d->cmd;
	o->name = d->name;
	if (json && !(d->opts & OPT_JSON))
		return colo_usage_err(err, d->name, "option '--json' is not "
				      "valid for this command");
	o->json = json;
	/* From here on argv[0] is the command, as getopt expects. */
	ret = colo_parse_opts(argc - 1, argv + 1, o, d, err);
	if (ret || o->cmd != d->cmd)	/* error, or "COMMAND --help" */
		return ret;
	ret = colo_parse_positional(argc - 1, argv + 1, o, d, err);
	if (ret)
		return ret;
	if ((d->opts & OPT_MODE) && !o->mode)
		return colo_usage_err(err, d->name, "missing --mode");
	return 0;
}
