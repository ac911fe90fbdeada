// SPDX-License-Identifier: GPL-2.0
/*
 * colo-qemu-agent: nfcolo over generic netlink. The owner socket sends
 * PROXY_INIT, so the instance lives exactly as long as the agent; it also
 * receives the KERNEL_NOTIFY requests and nlctrl's family removals.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_agent_nl.h"
#include "colo_print.h"

/* nlctrl's only multicast group, "notify", has the fixed id GENL_ID_CTRL. */
#define COLO_NLCTRL_NOTIFY_GRP	GENL_ID_CTRL

static int colo_agent_nl_err(const struct colo_err *e, char *msg, size_t len)
{
	snprintf(msg, len, "%s", e->msg);
	return -(e->err ? e->err : EIO);
}

int colo_agent_nl_open(struct colo_agent_nl *k, struct colo_err *e)
{
	int grp = COLO_NLCTRL_NOTIFY_GRP;

	if (colo_sock_open(&k->req, e) < 0)
		return -1;
	if (colo_sock_open_like(&k->owner, &k->req, e) < 0) {
		colo_sock_close(&k->req);
		return -1;
	}
	/* Best effort: without it, the liveness probe notices an unload. */
	mnl_socket_setsockopt(k->owner.nl, NETLINK_ADD_MEMBERSHIP, &grp,
			      sizeof(grp));
	return 0;
}

void colo_agent_nl_close(struct colo_agent_nl *k)
{
	/* Closing the owner socket ends (primary) or fails over the instance. */
	colo_sock_close(&k->owner);
	colo_sock_close(&k->req);
}

static int colo_agent_nl_init(void *ctx, char *msg, size_t len)
{
	struct colo_agent_nl *k = ctx;
	char buf[COLO_REQ_BUF_SIZE];
	struct nlmsghdr *nlh;
	struct colo_err e;

	nlh = colo_msg_start(&k->owner, buf, NFCOLO_PROXY_INIT, 0);
	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, k->index);
	mnl_attr_put_u8(nlh, NFCOLO_A_MODE, k->mode);
	if (k->has_timeout)
		mnl_attr_put_u32(nlh, NFCOLO_A_COMPARE_TIMEOUT_MS,
				 k->timeout_ms);
	if (k->has_queue_limit)
		mnl_attr_put_u32(nlh, NFCOLO_A_QUEUE_LIMIT, k->queue_limit);
	/*
	 * A request that beats the ACK is dropped here: the primary's first
	 * checkpoint, asked for right after INIT, serves it.
	 */
	if (colo_talk(&k->owner, nlh, NULL, NULL, NULL, &e) < 0)
		return colo_agent_nl_err(&e, msg, len);
	return 0;
}

static int colo_agent_nl_cmd(void *ctx, enum colo_kcmd cmd, char *msg,
			     size_t len)
{
	static const uint8_t msgs[] = {
		[COLO_K_BEGIN]		= NFCOLO_CHECKPOINT_BEGIN,
		[COLO_K_DONE]		= NFCOLO_DO_CHECKPOINT,
		[COLO_K_FAILOVER]	= NFCOLO_DO_FAILOVER,
	};
	struct colo_agent_nl *k = ctx;
	struct colo_err e;

	if (colo_simple_cmd(&k->req, msgs[cmd], k->index, &e) < 0)
		return colo_agent_nl_err(&e, msg, len);
	return 0;
}

static void colo_agent_nl_get_reply(const struct nlmsghdr *nlh, void *data)
{
	struct colo_instance *in = data;

	if (colo_parse_instance(nlh, in) < 0)
		memset(in, 0, sizeof(*in));
}

static int colo_agent_nl_get(struct colo_agent_nl *k, struct colo_instance *in,
			     char *msg, size_t len)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct nlmsghdr *nlh;
	struct colo_err e;

	memset(in, 0, sizeof(*in));
	nlh = colo_msg_start(&k->req, buf, NFCOLO_PROXY_GET, 0);
	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, k->index);
	if (colo_talk(&k->req, nlh, colo_agent_nl_get_reply, NULL, in, &e) < 0)
		return colo_agent_nl_err(&e, msg, len);
	/* Same index, but not ours: destroyed and created again. */
	if ((in->have & COLO_BIT(NFCOLO_A_OWNER_PORTID)) &&
	    in->owner_portid != k->owner.portid) {
		snprintf(msg, len, "index %u now belongs to another socket",
			 k->index);
		return -ENOENT;
	}
	return 0;
}

static int colo_agent_nl_probe(void *ctx, char *msg, size_t len)
{
	struct colo_instance in;

	return colo_agent_nl_get(ctx, &in, msg, len);
}

static int colo_agent_nl_fd(void *ctx)
{
	struct colo_agent_nl *k = ctx;

	return colo_sock_fd(&k->owner);
}

/* CTRL_CMD_DELFAMILY for our family: nfnetlink_colo was unloaded. */
static bool colo_agent_nl_family_gone(const struct colo_agent_nl *k,
				      const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct colo_family fam;

	if (nlh->nlmsg_type != GENL_ID_CTRL ||
	    mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN ||
	    genl->cmd != CTRL_CMD_DELFAMILY)
		return false;
	return colo_parse_family(nlh, &fam) == 0 &&
	       fam.id == k->owner.family.id;
}

static int colo_agent_nl_recv(void *ctx, struct colo_agent *a)
{
	struct colo_agent_nl *k = ctx;
	char buf[COLO_RECV_BUF_SIZE];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len = mnl_socket_recvfrom(k->owner.nl, buf, sizeof(buf));
	struct colo_instance in;
	struct colo_event ev;
	char msg[256];
	int err;

	if (len < 0 && errno == ENOBUFS) {
		/* Requests were lost: ask whether one is still pending. */
		err = colo_agent_nl_get(k, &in, msg, sizeof(msg));
		if (err)
			return err;
		if (in.checkpoint_pending)
			colo_agent_kernel_request(a, NFCOLO_REASON_UNSPEC);
		return 0;
	}
	if (len < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (colo_agent_nl_family_gone(k, nlh))
			return -ENOENT;
		if (!colo_is_event(nlh, k->owner.family.id) ||
		    colo_parse_event(nlh, &ev) < 0 || ev.index != k->index)
			continue;
		colo_agent_kernel_request(a, ev.ev_have &
					  COLO_BIT(NFCOLO_EV_REASON) ?
					  ev.reason : NFCOLO_REASON_UNSPEC);
	}
	return 0;
}

const struct colo_kernel_ops colo_agent_nl_ops = {
	.init	= colo_agent_nl_init,
	.cmd	= colo_agent_nl_cmd,
	.probe	= colo_agent_nl_probe,
	.fd	= colo_agent_nl_fd,
	.recv	= colo_agent_nl_recv,
};
