/* SPDX-License-Identifier: GPL-2.0 */
/*
 * colo-qemu-agent: the kernel side of the agent over the nfcolo generic
 * netlink family (colo_nl.c).
 */
#ifndef COLO_AGENT_NL_H
#define COLO_AGENT_NL_H

#include "colo_agent.h"
#include "colo_nl.h"

struct colo_agent_nl {
	struct colo_sock owner;		/* INIT: owns the instance; events */
	struct colo_sock req;		/* commands and their ACKs */
	uint32_t index;
	uint8_t mode;
	bool has_timeout;
	uint32_t timeout_ms;
	bool has_queue_limit;
	uint32_t queue_limit;
};

extern const struct colo_kernel_ops colo_agent_nl_ops;

int colo_agent_nl_open(struct colo_agent_nl *k, struct colo_err *e);
void colo_agent_nl_close(struct colo_agent_nl *k);

#endif /* COLO_AGENT_NL_H */
