/* SPDX-License-Identifier: GPL-2.0 */
/*
 * coloctl: command line parsing, kept apart from main() for unit tests.
 */
#ifndef COLO_ARGS_H
#define COLO_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes. */
#define COLO_EXIT_OK		0
#define COLO_EXIT_FAIL		1
#define COLO_EXIT_USAGE		2

enum colo_cmd {
	COLO_CMD_HELP,
	COLO_CMD_VERSION,
	COLO_CMD_INIT,
	COLO_CMD_RESET,
	COLO_CMD_DESTROY,
	COLO_CMD_CHECKPOINT,
	COLO_CMD_CHECKPOINT_BEGIN,
	COLO_CMD_FAILOVER,
	COLO_CMD_STATUS,
	COLO_CMD_MONITOR,
	COLO_CMD_RUN,
};

struct colo_opts {
	enum colo_cmd cmd;
	const char *name;		/* command name, for messages */
	bool has_index;
	uint32_t index;
	uint8_t mode;			/* enum nfcolo_mode */
	bool has_timeout;
	uint32_t timeout_ms;
	bool has_queue_limit;
	uint32_t queue_limit;
	bool has_flow_limit;
	uint32_t flow_limit;
	bool has_neigh_checkpoint;
	bool neigh_checkpoint;
	bool has_compare_shards;
	uint32_t compare_shards;
	uint32_t delay_ms;
	uint32_t count;			/* 0: no limit */
	bool json;
};

int colo_parse_args(int argc, char **argv, struct colo_opts *o, FILE *err);
void colo_usage(FILE *f);

#endif /* COLO_ARGS_H */
