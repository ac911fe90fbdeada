/* SPDX-License-Identifier: GPL-2.0 */
/*
 * coloctl: generic netlink plumbing for the nfcolo family.
 */
#ifndef COLO_NL_H
#define COLO_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>

struct mnl_socket;

/* Big enough for one dump skb of the kernel (it may use up to 32 KiB). */
#define COLO_RECV_BUF_SIZE	32768
/* Requests are a header and a few small attributes. */
#define COLO_REQ_BUF_SIZE	512

/* What CTRL_CMD_GETFAMILY told us about the nfcolo family. */
struct colo_family {
	uint16_t id;
	uint32_t version;
	uint32_t events_group;	/* 0: no NFCOLO_MCGRP_EVENTS group */
};

struct colo_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	struct colo_family family;
};

/* A kernel rejection: errno value and the extack message, if any. */
struct colo_err {
	int err;
	char msg[256];
};

typedef void (*colo_msg_cb)(const struct nlmsghdr *nlh, void *data);

int colo_sock_open(struct colo_sock *cs, struct colo_err *e);
int colo_sock_open_like(struct colo_sock *cs, const struct colo_sock *proto,
			struct colo_err *e);
void colo_sock_close(struct colo_sock *cs);
int colo_sock_fd(const struct colo_sock *cs);
int colo_join_events(struct colo_sock *cs, struct colo_err *e);

struct nlmsghdr *colo_msg_start(struct colo_sock *cs, void *buf, uint8_t cmd,
				uint16_t flags);
int colo_talk(struct colo_sock *cs, struct nlmsghdr *req, colo_msg_cb reply_cb,
	      colo_msg_cb other_cb, void *data, struct colo_err *e);
int colo_simple_cmd(struct colo_sock *cs, uint8_t cmd, uint32_t index,
		    struct colo_err *e);

/* Pure parsers, also used by the unit test. */
int colo_parse_family(const struct nlmsghdr *nlh, struct colo_family *fam);
bool colo_parse_err(const struct nlmsghdr *nlh, struct colo_err *e);
bool colo_is_event(const struct nlmsghdr *nlh, uint16_t family_id);

#endif /* COLO_NL_H */
