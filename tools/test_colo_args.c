// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of coloctl's command line parsing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_args.h"

#define MAX_ARGS	16

static int passed, failed;
static char errtext[1024];

/* Parse a space-separated command line; stderr text goes to errtext. */
static int parse(const char *line, struct colo_opts *o)
{
	char copy[512], *argv[MAX_ARGS] = { "coloctl" }, *tok, *save;
	int argc = 1, ret;
	FILE *err;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(copy, " ", &save); tok && argc < MAX_ARGS - 1;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	err = fmemopen(errtext, sizeof(errtext), "w");
	ret = colo_parse_args(argc, argv, o, err);
	fclose(err);
	return ret;
}

static void check(bool ok, const char *what, const char *line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL: %s: coloctl %s\n", what, line);
	if (errtext[0])
		printf("  stderr: %s", errtext);
}

static void ok(const char *line, enum colo_cmd cmd)
{
	struct colo_opts o;

	errtext[0] = '\0';
	check(parse(line, &o) == 0 && o.cmd == cmd && !errtext[0],
	      "should parse", line);
}

/* A usage error, exit 2, whose message contains @msg. */
static void bad(const char *line, const char *msg)
{
	struct colo_opts o;

	errtext[0] = '\0';
	check(parse(line, &o) == COLO_EXIT_USAGE && strstr(errtext, msg),
	      msg, line);
}

static void test_values(void)
{
	struct colo_opts o;
	const char *l;

	l = "init 1 --mode primary";
	check(parse(l, &o) == 0 && o.index == 1 && o.has_index &&
	      o.mode == NFCOLO_MODE_PRIMARY && !o.has_timeout &&
	      !o.has_queue_limit && !strcmp(o.name, "init"), "values", l);
	l = "init --mode=secondary -t 10 65535 --queue-limit 1048576";
	check(parse(l, &o) == 0 && o.index == 65535 &&
	      o.mode == NFCOLO_MODE_SECONDARY && o.has_timeout &&
	      o.timeout_ms == 10 && o.has_queue_limit &&
	      o.queue_limit == 1048576, "values", l);
	check(!o.has_neigh_checkpoint, "no --neigh-checkpoint", l);
	l = "init 3 --mode primary --neigh-checkpoint off";
	check(parse(l, &o) == 0 && o.has_neigh_checkpoint &&
	      !o.neigh_checkpoint, "values", l);
	check(!o.has_compare_shards, "no --compare-shards", l);
	l = "init 3 --mode primary --compare-shards 4";
	check(parse(l, &o) == 0 && o.has_compare_shards &&
	      o.compare_shards == 4, "values", l);
	l = "run 3 -m primary -s 0";
	check(parse(l, &o) == 0 && o.has_compare_shards &&
	      o.compare_shards == 0, "values", l);
	l = "run 3 -m primary -n on";
	check(parse(l, &o) == 0 && o.has_neigh_checkpoint &&
	      o.neigh_checkpoint, "values", l);
	l = "run 2 -m secondary --delay 0 --count 5 --json -t 600000";
	check(parse(l, &o) == 0 && o.index == 2 && o.delay_ms == 0 &&
	      o.count == 5 && o.json && o.timeout_ms == 600000, "values", l);
	l = "run 2 -m primary -d 4294967295";
	check(parse(l, &o) == 0 && o.delay_ms == 4294967295U &&
	      o.count == 0 && !o.json, "values", l);
	l = "monitor --index 3 -c 2 -j";
	check(parse(l, &o) == 0 && o.has_index && o.index == 3 &&
	      o.count == 2 && o.json, "values", l);
	l = "status";
	check(parse(l, &o) == 0 && !o.has_index && !o.json, "values", l);
	l = "status --json 7";
	check(parse(l, &o) == 0 && o.has_index && o.index == 7 && o.json,
	      "values", l);
	l = "-j status 7";
	check(parse(l, &o) == 0 && o.cmd == COLO_CMD_STATUS && o.has_index &&
	      o.index == 7 && o.json, "values", l);
	l = "--json -j monitor --index 3";
	check(parse(l, &o) == 0 && o.cmd == COLO_CMD_MONITOR && o.json &&
	      o.index == 3, "values", l);
	l = "-j run 2 -m primary";
	check(parse(l, &o) == 0 && o.cmd == COLO_CMD_RUN && o.json,
	      "values", l);
	l = "checkpoint 9";
	check(parse(l, &o) == 0 && o.cmd == COLO_CMD_CHECKPOINT &&
	      o.index == 9, "values", l);
	l = "checkpoint-begin 9";
	check(parse(l, &o) == 0 && o.cmd == COLO_CMD_CHECKPOINT_BEGIN &&
	      o.index == 9, "values", l);
}

static void test_commands(void)
{
	ok("help", COLO_CMD_HELP);
	ok("--help", COLO_CMD_HELP);
	ok("-h", COLO_CMD_HELP);
	ok("init --help", COLO_CMD_HELP);
	ok("run 1 -h", COLO_CMD_HELP);
	ok("version", COLO_CMD_VERSION);
	ok("--version", COLO_CMD_VERSION);
	ok("reset 1", COLO_CMD_RESET);
	ok("destroy 1", COLO_CMD_DESTROY);
	ok("failover 1", COLO_CMD_FAILOVER);
	ok("monitor", COLO_CMD_MONITOR);
	ok("run 1 --mode primary", COLO_CMD_RUN);
	ok("init --mode primary -- 1", COLO_CMD_INIT);
}

static void test_errors(void)
{
	bad("", "missing COMMAND");
	bad("bogus", "unknown command 'bogus'");
	bad("--help extra", "unexpected argument 'extra'");
	bad("init --mode primary", "missing INDEX");
	bad("init 1", "missing --mode");
	bad("init 0 --mode primary", "invalid INDEX '0' (expected 1..65535)");
	bad("init 65536 --mode primary", "invalid INDEX '65536'");
	bad("init -1 --mode primary", "unknown option '-1'");
	bad("init +1 --mode primary", "invalid INDEX '+1'");
	bad("init 0x10 --mode primary", "invalid INDEX '0x10'");
	bad("init 1x --mode primary", "invalid INDEX '1x'");
	bad("init 99999999999999999999999 --mode primary", "invalid INDEX");
	bad("init 1 2 --mode primary", "unexpected argument '2'");
	bad("init 1 --mode tertiary", "invalid --mode 'tertiary'");
	bad("init 1 --mode Primary", "invalid --mode 'Primary'");
	bad("init 1 --mode", "option '--mode' needs a value");
	bad("init 1 -m", "option '-m' needs a value");
	bad("init 1 --mode primary --timeout 9", "invalid --timeout '9' "
	    "(expected 10..600000)");
	bad("init 1 --mode primary --timeout 600001", "invalid --timeout");
	bad("init 1 --mode primary --timeout ''", "invalid --timeout");
	bad("init 1 --mode primary -q 15", "invalid --queue-limit '15' "
	    "(expected 16..1048576)");
	bad("init 1 --mode primary -q 1048577", "invalid --queue-limit");
	bad("init 1 --mode primary --neigh-checkpoint 0",
	    "invalid --neigh-checkpoint '0' (expected on or off)");
	bad("init 1 --mode primary -n", "option '-n' needs a value");
	bad("init 1 --mode primary --compare-shards 1025",
	    "invalid --compare-shards '1025' (expected 0..1024)");
	bad("status --compare-shards 2", "option '--compare-shards' is not");
	bad("status --neigh-checkpoint on", "option '--neigh-checkpoint' is not");
	bad("init 1 --mode primary --json", "option '--json' is not valid");
	bad("init 1 --mode primary --delay 5", "option '--delay' is not");
	bad("init 1 --mode primary --bogus", "unknown option '--bogus'");
	bad("init 1 --mode primary -x", "unknown option '-x'");
	bad("reset", "missing INDEX");
	bad("destroy 1 --json", "option '--json' is not valid");
	bad("checkpoint 1 2", "unexpected argument");
	bad("failover abc", "invalid INDEX 'abc'");
	bad("status 1 2", "unexpected argument '2'");
	bad("status 0", "invalid INDEX '0'");
	bad("status --mode primary", "option '--mode' is not valid");
	bad("monitor 3", "unexpected argument '3'");
	bad("monitor --count 0", "invalid --count '0'");
	bad("monitor --index 0", "invalid --index '0'");
	bad("monitor --count -5", "invalid --count '-5'");
	bad("run 1", "missing --mode");
	bad("run --mode primary", "missing INDEX");
	bad("run 1 --mode primary --delay 4294967296", "invalid --delay");
	bad("run 1 --mode primary --index 2", "option '--index' is not");
	bad("help me", "unexpected argument 'me'");
	bad("-j", "missing COMMAND");
	bad("-j init 1 --mode primary", "option '--json' is not valid");
	bad("-j checkpoint 1", "option '--json' is not valid");
	bad("status -x -j", "unknown option '-x'");
	bad("init 1 -- --mode primary", "unexpected argument");
}

int main(void)
{
	test_values();
	test_commands();
	test_errors();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
