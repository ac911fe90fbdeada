/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xt_PMYCOLO internals: how the primary host holds, captures and compares.
 *
 * The netfilter glue:
 * pmycolo_target.c	the iptables target (PVM side) and module glue
 * pmycolo_net.c	per-netns hooks: the hold hook and the capture of
 *			the SVM's output on the forward device
 * The engine (pmycolo_engine.h lists its files) and its helpers:
 * pmycolo_flow.c	per-shard flow table: lookup, limit, idle expiry
 * pmycolo_parse.c	flow key and comparator view of an IP packet
 * pmycolo_defrag.c	reassembly of the SVM's IP fragments
 * pmycolo_neigh.c	the SVM's link plumbing: dropped, but its neighbour
 *			requests draw a checkpoint
 */
#ifndef _PMYCOLO_H
#define _PMYCOLO_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/netfilter.h>
#include <linux/spinlock.h>
#include <net/netfilter/nf_queue.h>
#include <net/netfilter/nf_conntrack_colo.h>
#include "colo_compare.h"

/*
 * A flow as both VMs see it: the tuple of the VM's output. The PVM's and
 * the SVM's packets of one connection have the same key (cloned VMs share
 * addresses, and the secondary host gives the SVM the PVM's sequence
 * numbers), so no conntrack lookup is needed to pair them.
 */
struct pmycolo_key {
	union nf_inet_addr	vm;
	union nf_inet_addr	peer;
	__be16			vm_port;	/* ICMP: echo identifier */
	__be16			peer_port;	/* ICMP: type and code */
	u8			family;
	u8			l4proto;
	u8			frag;		/* IP fragment: compared whole */
	u8			pad;		/* zero: the key is hashed whole */
};

struct pmycolo_flow;

/* One held packet. */
struct pmycolo_pkt {
	/* First: nf_reinject() frees the packet with kfree(&pkt->entry). */
	struct nf_queue_entry	entry;	/* PVM: all of it; SVM: ->skb, ->list */
	struct colo_cmp_pkt	cmp;	/* cmp.data points back here */
	struct rb_node		order;	/* TCP: in its flow's queue index */
	struct list_head	age;	/* pmycolo_shard.age[side], oldest first */
	struct pmycolo_flow	*flow;
	unsigned long		held_at;	/* jiffies */
	u32			data_off;	/* compared bytes start here */
	bool			marked;		/* by a checkpoint begin */
	/* SVM: may be stale (pmycolo_svm_maybe_stale()) */
	bool			maybe_stale;
};

int pmycolo_parse(const struct sk_buff *skb, u8 family,
		  struct pmycolo_key *key, struct pmycolo_pkt *pkt);
/* The comparator's view of payload: compares in place, never copies. */
u32 pmycolo_cmp_bytes(const struct colo_cmp_pkt *p, u32 poff,
		      const struct colo_cmp_pkt *s, u32 soff, u32 len);

/* Per-instance state of the primary role (colo_instance.role_data). */
struct pmycolo_inst;

/*
 * The engine's registration: the role, plugged into every primary instance,
 * and @reinject, how a released PVM packet continues (pmycolo_reinject()).
 */
int pmycolo_engine_init(bool (*reinject)(struct nf_queue_entry *entry,
					 bool drop));
void pmycolo_engine_exit(void);

/*
 * Data path, under RCU: the hook's verdict. NF_STOLEN when the packet was
 * taken; NF_ACCEPT lets a PVM packet pass unheld, NF_DROP drops it.
 */
unsigned int pmycolo_hold_pvm(struct colo_instance *inst,
			      struct sk_buff *skb,
			      const struct nf_hook_state *state);
unsigned int pmycolo_capture_svm(struct colo_instance *inst,
				 struct sk_buff *skb, u8 family);
/*
 * An SVM frame that is link plumbing, which the caller drops: counted,
 * and a neighbour request asks for a checkpoint.
 */
void pmycolo_svm_link(struct colo_instance *inst, const struct sk_buff *skb);
/* A PVM frame: its source is the VM's MAC, which the SVM shares. */
void pmycolo_neigh_learn(struct colo_instance *inst, const struct sk_buff *skb);

/*
 * Release every held packet of the namespace's instances (its last rule is
 * going). Process context.
 */
void pmycolo_flush_net(struct net *net);
/* A device is going down: drop held packets that refer to it. */
void pmycolo_drop_dev(struct net *net, const struct net_device *dev);

/*
 * Continue a held PVM packet after the hold hook; drop: free it. False if
 * it was dropped (asked to, or its bridge ports are no longer ports). The
 * glue gives it to the engine at pmycolo_engine_init().
 */
bool pmycolo_reinject(struct nf_queue_entry *entry, bool drop);

/* The target asks the hold hook, last in PRE_ROUTING, to hold @skb. */
void pmycolo_mark_hold(struct sk_buff *skb, u32 index);

/* What became of an SVM packet given to pmycolo_defrag(). */
enum pmycolo_defrag_result {
	PMYCOLO_DEFRAG_WHOLE,	/* a whole datagram (maybe reassembled) */
	PMYCOLO_DEFRAG_KEPT,	/* a fragment, kept for reassembly */
	PMYCOLO_DEFRAG_FREED,	/* malformed, already freed */
	PMYCOLO_DEFRAG_BAD,	/* malformed, the caller drops it */
};

enum pmycolo_defrag_result pmycolo_defrag(struct net *net,
					  struct sk_buff *skb, u8 family);

/* Per-netns registrations of xt_PMYCOLO rules (pmycolo_net.c). */
int pmycolo_net_get(struct net *net, const char *fwd_dev, u32 index);
void pmycolo_net_put(struct net *net, const char *fwd_dev);
int pmycolo_net_init(void);
void pmycolo_net_exit(void);

#endif /* _PMYCOLO_H */
