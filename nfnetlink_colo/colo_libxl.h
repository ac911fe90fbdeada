/* SPDX-License-Identifier: GPL-2.0 */
/* Xen libxl's raw netlink protocol, as seen by the generic netlink side. */
#ifndef _COLO_LIBXL_H
#define _COLO_LIBXL_H

#include <linux/types.h>
#include <net/net_namespace.h>

int colo_libxl_init(void);
void colo_libxl_exit(void);
/*
 * Under RCU, any context: ask the libxl socket @portid to checkpoint. False
 * if the request did not reach it.
 */
bool colo_libxl_checkpoint_requested(struct net *net, u32 portid, u32 index);

#endif /* _COLO_LIBXL_H */
