/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The COLO proxy protocol of Xen's libxl (tools/libs/light/libxl_colo_proxy.c):
 * this is its wire format, which the kernel must follow as it is.
 *
 * Transport: raw netlink, socket(PF_NETLINK, SOCK_RAW, NETLINK_COLO), one
 * kernel socket per network namespace. libxl binds with nl_pid 1, 2, ... 9
 * (the next one on EADDRINUSE) and that port id is the proxy instance index,
 * the one iptables rules name with --index.
 *
 * Requests (userspace -> kernel, port 0) are a bare struct nlmsghdr:
 * nlmsg_len = NLMSG_SPACE(0), NLM_F_REQUEST, nlmsg_pid = the index.
 *   COLO_PROXY_INIT        with NLM_F_ACK: create the instance owned by the
 *                          socket. Closing the socket tears a primary down
 *                          and fails a secondary over.
 *   COLO_CHECKPOINT        "a checkpoint has completed".
 *   COLO_FAILOVER          the peer host is gone (libxl never sends it).
 *   COLO_PROXY_RESET       back to a fresh instance (libxl never sends it).
 *   COLO_QUERY_CHECKPOINT  answered with a COLO_QUERY_CHECKPOINT message
 *                          carrying struct colo_libxl_msg: is a checkpoint
 *                          pending?
 * An error comes back only for a request with NLM_F_ACK: libxl reads the
 * first message after a COLO_CHECKPOINT as the next checkpoint request and
 * takes an NLMSG_ERROR there as fatal.
 *
 * Events (kernel -> userspace): when the instance needs a checkpoint, its
 * owner gets an unsolicited COLO_QUERY_CHECKPOINT with is_checkpoint = 1.
 */
#ifndef _UAPI_COLO_LIBXL_H
#define _UAPI_COLO_LIBXL_H

#include <linux/types.h>
#include <linux/netlink.h>

#define NETLINK_COLO	28

enum colo_libxl_msg_types {
	COLO_QUERY_CHECKPOINT = NLMSG_MIN_TYPE + 1,	/* 17 */
	COLO_CHECKPOINT,				/* 18 */
	COLO_FAILOVER,					/* 19 */
	COLO_PROXY_INIT,				/* 20 */
	COLO_PROXY_RESET,				/* 21 */
};

/* The payload of COLO_QUERY_CHECKPOINT: a C bool in libxl, one byte. */
struct colo_libxl_msg {
	__u8	is_checkpoint;
};

#endif /* _UAPI_COLO_LIBXL_H */
