/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PMYCOLO target (primary host): hold the PVM's output of proxy instance
 * @index and compare it with the SVM's output captured on @forward_dev.
 */
#ifndef _UAPI_XT_PMYCOLO_H
#define _UAPI_XT_PMYCOLO_H

#include <linux/types.h>

#define XT_PMYCOLO_IFNAMSIZ	16

struct xt_pmycolo_info {
	__u32	index;
	/* NUL-terminated; empty: the module parameter sec_dev */
	char	forward_dev[XT_PMYCOLO_IFNAMSIZ];
	__u32	reserved;	/* must be zero */
};

#endif /* _UAPI_XT_PMYCOLO_H */
