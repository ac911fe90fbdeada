/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of nf_conntrack_colo share and nobody else sees. */
#ifndef _COLO_INTERNAL_H
#define _COLO_INTERNAL_H

#include <linux/mutex.h>
#include <linux/xarray.h>
#include <net/netfilter/nf_conntrack_colo.h>

struct colo_net {
	struct xarray		instances;	/* index -> colo_instance */
	struct xarray		warned;		/* indices missing, logged */
	struct xarray		rule_modes;	/* index -> colo_rule_mode() */
	struct list_head	node;		/* on colo_nets */
	possible_net_t		net;
	unsigned int		hook_users;	/* under colo_mutex */
	unsigned int		n_instances;	/* under colo_mutex */
};

/* Serialises control operations, role and netns changes. */
extern struct mutex colo_mutex;

struct colo_net *colo_pernet(const struct net *net);

/*
 * The COLO rules of a namespace: how many use each index and the mode they
 * give it; an instance whose mode is unset takes it (under colo_mutex).
 */
int colo_rule_mode_get(struct net *net, u32 index, u8 mode,
		       const char *target);
void colo_rule_mode_put(struct net *net, u32 index);

int colo_instance_pernet_init(struct net *net);
void colo_instance_pernet_exit_batch(struct list_head *net_exit_list);
extern unsigned int colo_net_id;
extern atomic_t colo_instances_alive;

int colo_flow_init(void);
void colo_flow_exit(void);

struct colo_pcpu_stats __percpu *colo_stats_alloc(void);
void colo_stats_reset(struct colo_instance *inst);
void colo_stats_free(struct colo_pcpu_stats __percpu *stats);

#endif /* _COLO_INTERNAL_H */
