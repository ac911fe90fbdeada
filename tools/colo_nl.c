// SPDX-License-Identifier: GPL-2.0
/*
 * coloctl: generic netlink plumbing for the nfcolo family: sockets, family
 * resolution, requests and their acknowledgements with extended ACKs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_nl.h"

static int colo_sys_err(struct colo_err *e)
{
	e->err = errno ? errno : EIO;
	e->msg[0] = '\0';
	return -1;
}

static int colo_set_err(struct colo_err *e, int err, const char *msg)
{
	e->err = err;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return -1;
}

struct colo_mcgrp {
	const char *name;
	uint32_t id;
};

static int colo_mcgrp_attr_cb(const struct nlattr *attr, void *data)
{
	struct colo_mcgrp *grp = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_MCAST_GRP_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			grp->name = mnl_attr_get_str(attr);
		break;
	case CTRL_ATTR_MCAST_GRP_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			grp->id = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/* CTRL_ATTR_MCAST_GROUPS is an array of nests, one per group. */
static void colo_parse_mcgrps(const struct nlattr *groups,
			      struct colo_family *fam)
{
	const struct nlattr *pos;

	mnl_attr_for_each_nested(pos, groups) {
		struct colo_mcgrp grp = { 0 };

		if (mnl_attr_validate(pos, MNL_TYPE_NESTED) < 0)
			continue;
		mnl_attr_parse_nested(pos, colo_mcgrp_attr_cb, &grp);
		if (grp.name && grp.id && !strcmp(grp.name, NFCOLO_MCGRP_EVENTS))
			fam->events_group = grp.id;
	}
}

static int colo_family_attr_cb(const struct nlattr *attr, void *data)
{
	struct colo_family *fam = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			fam->id = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_VERSION:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			fam->version = mnl_attr_get_u32(attr);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			colo_parse_mcgrps(attr, fam);
		break;
	}
	return MNL_CB_OK;
}

/* Parse a CTRL_CMD_NEWFAMILY reply; 0 if it named a family id. */
int colo_parse_family(const struct nlmsghdr *nlh, struct colo_family *fam)
{
	memset(fam, 0, sizeof(*fam));
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -1;
	mnl_attr_parse(nlh, GENL_HDRLEN, colo_family_attr_cb, fam);
	return fam->id ? 0 : -1;
}

static int colo_extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct colo_err *e = data;

	switch (mnl_attr_get_type(attr)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(e->msg, sizeof(e->msg), "%s",
				 mnl_attr_get_str(attr));
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		/* Only a fallback: a text message says more. */
		if (!e->msg[0] && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			snprintf(e->msg, sizeof(e->msg),
				 "missing attribute %u", mnl_attr_get_u32(attr));
		break;
	}
	return MNL_CB_OK;
}

static void colo_parse_extack(const struct nlmsghdr *nlh, size_t tlv_off,
			      struct colo_err *e)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (MNL_ALIGN(tlv_off) >= mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, tlv_off, colo_extack_attr_cb, e);
}

static void colo_parse_nlmsgerr(const struct nlmsghdr *nlh, struct colo_err *e)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		e->err = EBADMSG;
		return;
	}
	e->err = err->error < 0 ? -err->error : err->error;
	/* Uncapped errors echo the whole request before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    err->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	colo_parse_extack(nlh, off, e);
}

static void colo_parse_done(const struct nlmsghdr *nlh, struct colo_err *e)
{
	int error;

	/* Very old kernels send an empty NLMSG_DONE. */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(error))
		return;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	e->err = error < 0 ? -error : error;
	colo_parse_extack(nlh, sizeof(error), e);
}

/*
 * If @nlh ends a request (NLMSG_ERROR, which is also the ACK, or the
 * NLMSG_DONE of a dump), fill @e (err 0 on success) and return true.
 */
bool colo_parse_err(const struct nlmsghdr *nlh, struct colo_err *e)
{
	e->err = 0;
	e->msg[0] = '\0';
	if (nlh->nlmsg_type == NLMSG_ERROR)
		colo_parse_nlmsgerr(nlh, e);
	else if (nlh->nlmsg_type == NLMSG_DONE)
		colo_parse_done(nlh, e);
	else
		return false;
	return true;
}

bool colo_is_event(const struct nlmsghdr *nlh, uint16_t family_id)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	return nlh->nlmsg_type == family_id &&
	       mnl_nlmsg_get_payload_len(nlh) >= GENL_HDRLEN &&
	       genl->cmd == NFCOLO_KERNEL_NOTIFY;
}

static struct nlmsghdr *colo_genl_start(struct colo_sock *cs, void *buf,
					uint16_t type, uint8_t cmd,
					uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	/* Attribute padding is not zeroed by libmnl; the kernel sees it. */
	memset(buf, 0, COLO_REQ_BUF_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	/* Sequence 0 is what unsolicited kernel messages carry. */
	if (++cs->seq == 0)
		cs->seq = 1;
	nlh->nlmsg_seq = cs->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

/* Start an nfcolo request in @buf, which holds COLO_REQ_BUF_SIZE bytes. */
struct nlmsghdr *colo_msg_start(struct colo_sock *cs, void *buf, uint8_t cmd,
				uint16_t flags)
{
	return colo_genl_start(cs, buf, cs->family.id, cmd,
			       NFCOLO_GENL_VERSION, flags);
}

/*
 * Send @req and read until its ACK (or NLMSG_DONE for a dump). Replies to it
 * go to @reply_cb; anything else arriving meanwhile, such as an event on an
 * owner socket, goes to @other_cb. Returns 0, or -1 with @e filled.
 */
int colo_talk(struct colo_sock *cs, struct nlmsghdr *req, colo_msg_cb reply_cb,
	      colo_msg_cb other_cb, void *data, struct colo_err *e)
{
	char buf[COLO_RECV_BUF_SIZE];
	uint32_t seq = req->nlmsg_seq;

	if (mnl_socket_sendto(cs->nl, req, req->nlmsg_len) < 0)
		return colo_sys_err(e);
	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = mnl_socket_recvfrom(cs->nl, buf, sizeof(buf));

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return colo_sys_err(e);
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq) {
				if (other_cb)
					other_cb(nlh, data);
				continue;
			}
			if (colo_parse_err(nlh, e))
				return e->err ? -1 : 0;
			if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && reply_cb)
				reply_cb(nlh, data);
		}
	}
}

static void colo_family_reply(const struct nlmsghdr *nlh, void *data)
{
	struct colo_family fam;

	if (colo_parse_family(nlh, &fam) == 0)
		*(struct colo_family *)data = fam;
}

static int colo_resolve_family(struct colo_sock *cs, struct colo_err *e)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct nlmsghdr *nlh;

	nlh = colo_genl_start(cs, buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NFCOLO_GENL_NAME);
	memset(&cs->family, 0, sizeof(cs->family));
	if (colo_talk(cs, nlh, colo_family_reply, NULL, &cs->family, e) < 0) {
		if (e->err == ENOENT && !e->msg[0])
			colo_set_err(e, ENOENT, "generic netlink family "
				     NFCOLO_GENL_NAME " not found (is "
				     "nfnetlink_colo loaded?)");
		return -1;
	}
	if (!cs->family.id)
		return colo_set_err(e, EPROTO, "no family id in the "
				    "CTRL_CMD_GETFAMILY reply");
	return 0;
}

/* Open and bind a socket; the extended ACK options are best effort. */
static int colo_sock_setup(struct colo_sock *cs, struct colo_err *e)
{
	int one = 1;

	memset(cs, 0, sizeof(*cs));
	cs->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!cs->nl)
		return colo_sys_err(e);
	if (mnl_socket_bind(cs->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		colo_sys_err(e);
		colo_sock_close(cs);
		return -1;
	}
	mnl_socket_setsockopt(cs->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(cs->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	cs->portid = mnl_socket_get_portid(cs->nl);
	cs->seq = time(NULL);
	return 0;
}

int colo_sock_open(struct colo_sock *cs, struct colo_err *e)
{
	if (colo_sock_setup(cs, e) < 0)
		return -1;
	if (colo_resolve_family(cs, e) < 0) {
		colo_sock_close(cs);
		return -1;
	}
	return 0;
}

/* A second socket for the same family, without asking the kernel again. */
int colo_sock_open_like(struct colo_sock *cs, const struct colo_sock *proto,
			struct colo_err *e)
{
	if (colo_sock_setup(cs, e) < 0)
		return -1;
	cs->family = proto->family;
	return 0;
}

void colo_sock_close(struct colo_sock *cs)
{
	if (cs->nl)
		mnl_socket_close(cs->nl);
	cs->nl = NULL;
}

int colo_sock_fd(const struct colo_sock *cs)
{
	return mnl_socket_get_fd(cs->nl);
}

int colo_join_events(struct colo_sock *cs, struct colo_err *e)
{
	int grp = cs->family.events_group;

	if (!grp)
		return colo_set_err(e, ENOENT, "family " NFCOLO_GENL_NAME
				    " has no \"" NFCOLO_MCGRP_EVENTS
				    "\" multicast group");
	if (mnl_socket_setsockopt(cs->nl, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return colo_sys_err(e);
	return 0;
}

/* The commands that carry nothing but the index. */
int colo_simple_cmd(struct colo_sock *cs, uint8_t cmd, uint32_t index,
		    struct colo_err *e)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct nlmsghdr *nlh = colo_msg_start(cs, buf, cmd, 0);

	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, index);
	return colo_talk(cs, nlh, NULL, NULL, NULL, e);
}
