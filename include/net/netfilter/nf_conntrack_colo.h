/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_conntrack_colo: COLO proxy instances (per network namespace) and the
 * per-flow COLO state kept with each conntrack entry. Shared by the control
 * plane (nfnetlink_colo) and the two data-path roles (xt_PMYCOLO on the
 * primary host, xt_SECCOLO on the secondary host).
 */
#ifndef _NF_CONNTRACK_COLO_H
#define _NF_CONNTRACK_COLO_H

#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/refcount.h>
#include <linux/u64_stats_sync.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_conntrack.h>
#include <linux/netfilter/nfnetlink_colo.h>

/*
 * Every extack message of the COLO modules starts with "colo: ", whichever
 * module sets it: one voice for the user of coloctl or libxl.
 */
#define COLO_SET_ERR_MSG(extack, msg)	NL_SET_ERR_MSG(extack, "colo: " msg)
#define COLO_SET_ERR_MSG_ATTR(extack, attr, msg) \
	NL_SET_ERR_MSG_ATTR(extack, attr, "colo: " msg)

/* Bits of colo_instance.flags */
enum colo_instance_flag {
	COLO_INST_CHECKPOINT_PENDING,	/* one request at a time */
	COLO_INST_CHECKPOINT_BEGUN,	/* DO_CHECKPOINT will commit it */
	COLO_INST_CHECKPOINT_UNDONE,	/* failover undid a begun one */
	COLO_INST_DEAD,			/* unlinked, being freed */
};

struct colo_pcpu_stats {
	u64_stats_t		cnt[NFCOLO_STATS_MAX + 1];
	struct u64_stats_sync	syncp;
};

/*
 * Which socket owns an instance: the control plane tells them apart. A
 * port id is free again before its old socket's NETLINK_URELEASE runs, so
 * the instance also holds the socket itself: the release of a socket that
 * no longer owns the instance (a new one bound the port and took it over)
 * leaves the instance alone. @sk is written under colo_mutex only.
 */
struct colo_owner {
	u32		portid;		/* 0: persistent, no owner */
	int		protocol;	/* NETLINK_GENERIC, or the libxl protocol */
	struct sock	*sk;		/* a reference; NULL when persistent */
};

struct colo_instance {
	struct rcu_head			rcu;
	refcount_t			refcnt;
	possible_net_t			net;
	u32				index;
	/* enum nfcolo_mode; UNSPEC: unset until a rule or command sets it */
	u8				mode;
	u8				state;		/* enum nfcolo_state */
	unsigned long			flags;		/* colo_instance_flag */
	struct colo_owner		owner;
	u32				compare_timeout_ms;
	u32				queue_limit;
	u32				flow_limit;
	/* The SVM's neighbour requests draw a checkpoint (primary). */
	bool				neigh_checkpoint;
	/* Shards asked for (primary): 0, the comparing module's default. */
	u32				compare_shards;
	/* Shards the attached role compares with; 0 while none is. */
	u32				shards_in_use;
	/* The VM's MAC (ether_addr_to_u64), seen in the PVM's frames. */
	u64				vm_mac;
	/*
	 * Flows remember both: a flow of an older generation was claimed
	 * before a RESET and is left alone; a flow of an older epoch has
	 * not yet seen the last checkpoint. The epoch moves on at the begin
	 * of a two-phase checkpoint (the SVM is stopped from then on, and
	 * resumes as the PVM's copy), or at a DO_CHECKPOINT without one. A
	 * failover between a begin and its commit moves it on once more, past
	 * @undone_epoch (COLO_INST_CHECKPOINT_UNDONE): that checkpoint never
	 * happened, the SVM runs on from its own state.
	 */
	u32				generation;
	u32				checkpoint_epoch;
	u32				undone_epoch;
	struct colo_pcpu_stats __percpu	*stats;
	/* Queue depths and their high-water marks: the primary sets them. */
	atomic_t			gauge[3];
	atomic_t			gauge_high[3];
	/* Private state of the role module attached to this instance. */
	const struct colo_role_ops	*role;
	void				*role_data;
};

enum colo_gauge {
	COLO_GAUGE_PVM_QUEUE,
	COLO_GAUGE_SVM_QUEUE,
	COLO_GAUGE_FLOWS,
};

/* What INIT asks for. */
struct colo_instance_config {
	u32			index;
	u8			mode;
	/*
	 * An existing instance of @index owned by the same port and
	 * protocol is taken over by @owner.sk (Xen libxl: a restarted
	 * libxl binds the same port and sends INIT again): 0, not EEXIST.
	 */
	bool			adopt;
	struct colo_owner	owner;	/* owner.sk: the requesting socket */
	u32			compare_timeout_ms;
	u32			queue_limit;
	u32			flow_limit;
	bool			neigh_checkpoint;
	u32			compare_shards;
};

/* A checkpoint request: why, and for which flow. */
struct colo_event {
	u8			reason;		/* enum nfcolo_reason */
	u8			family;		/* 0 when no flow is known */
	u8			l4proto;
	bool			has_seq;
	union nf_inet_addr	vm_addr;
	union nf_inet_addr	peer_addr;
	u16			vm_port;
	u16			peer_port;
	u32			seq;
	u32			offset;
	u32			age_ms;
};

struct nf_conn_colo;

/*
 * A data-path role (primary or secondary) plugs into every instance of its
 * mode, whenever the role module and the instance come to exist. Every hook
 * is optional. All but @confirm run in process context under the core's
 * control mutex.
 */
struct colo_role_ops {
	u8	mode;
	/* Allocate role state for a new or reset instance. */
	int	(*attach)(struct colo_instance *inst);
	/* Free it; a primary releases every held packet first. */
	void	(*detach)(struct colo_instance *inst);
	/*
	 * Two-phase checkpoint: the VMs are stopped for a checkpoint; the
	 * next @checkpoint commits it. Called again before the commit, it
	 * begins afresh from what is held then.
	 */
	void	(*checkpoint_begin)(struct colo_instance *inst);
	/*
	 * A checkpoint completed: the SVM is a copy of the PVM (as of the
	 * begin, if one came first).
	 */
	void	(*checkpoint)(struct colo_instance *inst);
	/* The peer host is gone; inst->state is already FAILED_OVER. */
	void	(*failover)(struct colo_instance *inst);
	/*
	 * Every packet of a flow the instance claimed, in both directions,
	 * when conntrack confirms it, just before seqadj rewrites it. Called
	 * under RCU in packet context.
	 */
	void	(*confirm)(struct colo_instance *inst, struct sk_buff *skb,
			   unsigned int protoff, struct nf_conn *ct,
			   enum ip_conntrack_info ctinfo,
			   struct nf_conn_colo *flow);
};

/* The control plane's way of reaching userspace. */
struct colo_notifier {
	/*
	 * Any context. True if the request reached the owner socket (or,
	 * for an instance without an owner, at least one listener of the
	 * events group); false if it was lost (no memory, receive buffer
	 * full, nobody listening): the core then lets the next attempt
	 * through.
	 */
	bool	(*checkpoint_requested)(struct colo_instance *inst,
					const struct colo_event *ev);
};

static inline struct net *colo_instance_net(const struct colo_instance *inst)
{
	return read_pnet(&inst->net);
}

/*
 * The core's calls; each is documented (kernel-doc) where it is defined, in
 * nf_conntrack_colo/.
 */
struct colo_instance *colo_instance_lookup_rcu(struct net *net, u32 index);

struct colo_instance *colo_instance_get(struct net *net, u32 index);
void colo_instance_put(struct colo_instance *inst);
struct colo_instance *colo_instance_next(struct net *net, u32 *index);

/* Control operations (process context). */
int colo_instance_create(struct net *net,
			 const struct colo_instance_config *cfg,
			 struct netlink_ext_ack *extack);
int colo_instance_destroy(struct net *net, u32 index,
			  struct netlink_ext_ack *extack);
int colo_instance_reset(struct net *net, u32 index,
			struct netlink_ext_ack *extack);
int colo_instance_checkpoint_begin(struct net *net, u32 index,
				   struct netlink_ext_ack *extack);
int colo_instance_checkpoint_done(struct net *net, u32 index,
				  struct netlink_ext_ack *extack);
int colo_instance_failover(struct net *net, u32 index,
			   struct netlink_ext_ack *extack);
void colo_instance_owner_released(struct net *net, int protocol, u32 portid);
void colo_instance_destroy_all(void);

/* Data path. */
void colo_warn_rule(struct net *net, u32 index, const char *target,
		    const char *problem);
bool colo_request_checkpoint(struct colo_instance *inst,
			     const struct colo_event *ev);

int colo_role_register(const struct colo_role_ops *ops);
void colo_role_unregister(const struct colo_role_ops *ops);
int colo_notifier_register(const struct colo_notifier *nb);
void colo_notifier_unregister(const struct colo_notifier *nb);

/* Counters. */
static inline void colo_stat_add(struct colo_instance *inst,
				 enum nfcolo_stats id, u64 n)
{
	struct colo_pcpu_stats *s = get_cpu_ptr(inst->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_add(&s->cnt[id], n);
	u64_stats_update_end(&s->syncp);
	put_cpu_ptr(inst->stats);
}

static inline void colo_stat_inc(struct colo_instance *inst,
				 enum nfcolo_stats id)
{
	colo_stat_add(inst, id, 1);
}

void colo_gauge_set(struct colo_instance *inst, enum colo_gauge g,
		    unsigned int value);
void colo_stats_read(const struct colo_instance *inst, u64 *out);

/*
 * Per-flow state, kept inline in the conntrack helper extension's data area
 * so that it lives and dies with the conntrack entry (confirmed or not) and
 * costs one pointer chase per packet. 32 bytes at most.
 */
enum nf_ct_colo_flag {
	NF_CT_COLO_F_LEARNED	= 1 << 0,	/* secondary: offset known */
	NF_CT_COLO_F_UNTRACKED	= 1 << 1,	/* handshake missed: left alone */
	NF_CT_COLO_F_SEEN_SYN	= 1 << 2,	/* secondary: SVM ISN known */
	/*
	 * Secondary: what the flow's last catch-up with a checkpoint did, if
	 * it came from the epoch just before: zeroed a learned offset, or
	 * took a handshake in progress as learned. A failover that undoes
	 * that checkpoint undoes these.
	 */
	NF_CT_COLO_F_CKPT_ZEROED  = 1 << 3,
	NF_CT_COLO_F_CKPT_LEARNED = 1 << 4,
};

struct nf_conn_colo {
	u32	index;		/* instance of the flow; 0: not yet claimed */
	u16	flags;		/* enum nf_ct_colo_flag */
	u8	vm_dir;		/* conntrack direction of the VM's output */
	u8	reserved;
	u32	generation;	/* of the instance when it claimed the flow */
	u32	checkpoint_epoch; /* of the instance, last seen by the flow */
	/*
	 * The secondary's. The primary keeps its flows in a table of its own,
	 * keyed by the VM's output tuple (see xt_PMYCOLO/pmycolo_flow.c).
	 */
	struct {
		u32	isn_svm;
		u32	isn_pvm;
		u32	peer_next;	/* peer's seq after its SYN */
	} sec;
};

struct nf_conn_colo *nf_ct_colo_find(const struct nf_conn *ct);

/*
 * Tag new conntrack entries of @net with COLO state (and a seqadj area):
 * taken by the targets' checkentry, given back by their destroy.
 */
int nf_ct_colo_hooks_get(struct net *net);
void nf_ct_colo_hooks_put(struct net *net);

/*
 * A COLO rule's insertion and removal, whatever its front end: index check,
 * conntrack, hooks, and the mode (enum nfcolo_mode) its rules give index
 * @index.
 */
int colo_target_check(struct net *net, u8 family, u32 index, u8 mode,
		      const char *target);
void colo_target_destroy(struct net *net, u8 family, u32 index);

#endif /* _NF_CONNTRACK_COLO_H */
