/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * SECCOLO target (secondary host): make the SVM's TCP sequence numbers of
 * proxy instance @index those of the PVM, before and after failover.
 */
#ifndef _UAPI_XT_SECCOLO_H
#define _UAPI_XT_SECCOLO_H

#include <linux/types.h>

struct xt_seccolo_info {
	__u32	index;
	__u32	reserved;	/* must be zero */
};

#endif /* _UAPI_XT_SECCOLO_H */
