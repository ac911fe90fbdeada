/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * COLO proxy control plane: the wire format between the kernel modules and
 * the hypervisor's COLO frame (QEMU, Xen libxl) or coloctl.
 *
 * Transport: a generic netlink family named NFCOLO_GENL_NAME, version
 * NFCOLO_GENL_VERSION, per network namespace. Stock kernels have no free
 * nfnetlink subsystem id, so the message names of the original nfnetlink
 * design (NFCOLO_*) are kept as generic netlink commands instead.
 *
 * Every request carries NFCOLO_A_INDEX, the proxy instance index chosen by
 * userspace; iptables rules name the same index (-j PMYCOLO --index N).
 *
 * Requests (userspace -> kernel):
 *   NFCOLO_PROXY_INIT     INDEX, MODE, [FLAGS], [COMPARE_TIMEOUT_MS],
 *                         [QUEUE_LIMIT], [FLOW_LIMIT], [NEIGH_CHECKPOINT],
 *                         [COMPARE_SHARDS]; the last five for a primary
 *                         only (EINVAL otherwise). Without
 *                         NFCOLO_F_PERSISTENT the requesting socket owns
 *                         the instance: closing it tears a primary down
 *                         (held packets released) and fails a secondary
 *                         over (offsets kept).
 *                         EEXIST if INDEX exists in this netns; ENOSPC
 *                         if the netns has as many instances as it may
 *                         (nf_conntrack_colo parameter max_instances).
 *   NFCOLO_PROXY_RESET    INDEX. Back to a fresh, active instance; flow
 *                         state and counters start again.
 *   NFCOLO_PROXY_DESTROY  INDEX. Primary: held packets are released first.
 *   NFCOLO_DO_CHECKPOINT  INDEX. "A checkpoint has completed": the SVM is
 *                         now a copy of the PVM.
 *   NFCOLO_DO_FAILOVER    INDEX. The peer host is gone.
 *   NFCOLO_CHECKPOINT_BEGIN INDEX. "A checkpoint has begun" (the VMs
 *                         are stopped, QEMU's STOP): a primary marks the
 *                         packets it holds, on both sides. The
 *                         DO_CHECKPOINT that follows commits it: only the
 *                         marked packets are released (PVM) and freed
 *                         (SVM), and what came after the mark is compared
 *                         afresh against the SVM's output after the
 *                         checkpoint. DO_CHECKPOINT without a begin
 *                         releases everything (Xen libxl). A second begin
 *                         before the commit marks again: what is held
 *                         then. A secondary's SVM is stopped from the
 *                         begin on and resumes as the PVM's copy: its
 *                         offsets are zero from the begin, not the
 *                         commit. A DO_FAILOVER after a begin without its
 *                         commit undoes the begin (the checkpoint never
 *                         happened): a secondary's flows get back the
 *                         offsets the begin took.
 *                         EINVAL after failover. Kernels without it answer
 *                         EOPNOTSUPP; colo-qemu-agent then sends
 *                         DO_CHECKPOINT alone.
 *   NFCOLO_PROXY_GET      [INDEX]. doit: one instance; dump: all of them.
 *                         Replies carry INDEX, MODE, STATE, FLAGS,
 *                         [OWNER_PORTID], COMPARE_TIMEOUT_MS, QUEUE_LIMIT,
 *                         CHECKPOINT_PENDING, STATS, FLOW_LIMIT,
 *                         NEIGH_CHECKPOINT and, for a primary the
 *                         comparison is attached to, COMPARE_SHARDS.
 *                         Needs no privilege;
 *                         all others need CAP_NET_ADMIN in the netns's user
 *                         namespace.
 *   Commands on an unknown INDEX fail with ENOENT. Every rejection carries an
 *   extack message. Every command is validated strictly: unknown attributes,
 *   attributes only the kernel sends, a non-zero genlmsghdr.reserved and
 *   nlmsg_flags other than REQUEST, ACK, ECHO and DUMP are refused (EINVAL).
 *
 * Events (kernel -> userspace):
 *   NFCOLO_KERNEL_NOTIFY  INDEX, MODE, NFCOLO_A_EVENT (nested): a checkpoint
 *                         is requested. Unicast to the owner socket and
 *                         multicast to group NFCOLO_MCGRP_EVENTS (which
 *                         anyone in the netns may join). One request
 *                         is pending at a time; DO_CHECKPOINT clears it.
 *                         A request that reaches neither the owner (its
 *                         receive buffer is full) nor, without an owner,
 *                         any listener is not pending: it counts in
 *                         NFCOLO_STATS_REQ_UNDELIVERED and is made again
 *                         while its reason lasts.
 */
#ifndef _UAPI_NFNETLINK_COLO_H
#define _UAPI_NFNETLINK_COLO_H

#include <linux/types.h>

#define NFCOLO_GENL_NAME	"nfcolo"
#define NFCOLO_GENL_VERSION	1
#define NFCOLO_MCGRP_EVENTS	"events"

/* Instance indices: libxl uses its netlink port id (1..9). */
#define NFCOLO_INDEX_MIN	1U
#define NFCOLO_INDEX_MAX	0xffffU

enum nfcolo_msg_types {
	NFCOLO_UNSPEC,
	NFCOLO_KERNEL_NOTIFY,
	NFCOLO_DO_CHECKPOINT,
	NFCOLO_DO_FAILOVER,
	NFCOLO_PROXY_INIT,
	NFCOLO_PROXY_RESET,
	NFCOLO_PROXY_DESTROY,
	NFCOLO_PROXY_GET,
	NFCOLO_CHECKPOINT_BEGIN,
	__NFCOLO_MSG_MAX
};

#define NFCOLO_MSG_MAX (__NFCOLO_MSG_MAX - 1)

enum nfcolo_mode {
	/* In status: not set yet (a libxl instance before its first rule). */
	NFCOLO_MODE_UNSPEC,
	NFCOLO_MODE_PRIMARY,
	NFCOLO_MODE_SECONDARY,
	__NFCOLO_MODE_MAX
};

#define NFCOLO_MODE_MAX (__NFCOLO_MODE_MAX - 1)

enum nfcolo_state {
	NFCOLO_STATE_UNSPEC,
	NFCOLO_STATE_ACTIVE,		/* comparing / rewriting */
	NFCOLO_STATE_FAILED_OVER,	/* peer gone: pass through / keep offsets */
	__NFCOLO_STATE_MAX
};

#define NFCOLO_STATE_MAX (__NFCOLO_STATE_MAX - 1)

/* NFCOLO_A_FLAGS */
#define NFCOLO_F_PERSISTENT	(1U << 0)	/* no owner socket */
#define NFCOLO_F_ALL		NFCOLO_F_PERSISTENT

/* Defaults and bounds of the per-instance settings. */
#define NFCOLO_COMPARE_TIMEOUT_DEFAULT_MS	3000U
#define NFCOLO_COMPARE_TIMEOUT_MIN_MS		10U
#define NFCOLO_COMPARE_TIMEOUT_MAX_MS		600000U
#define NFCOLO_QUEUE_LIMIT_DEFAULT		8192U
#define NFCOLO_QUEUE_LIMIT_MIN			16U
#define NFCOLO_QUEUE_LIMIT_MAX			1048576U
#define NFCOLO_FLOW_LIMIT_DEFAULT		65536U
#define NFCOLO_FLOW_LIMIT_MIN			16U
#define NFCOLO_FLOW_LIMIT_MAX			4194304U
#define NFCOLO_COMPARE_SHARDS_MAX		1024U

enum nfcolo_attrs {
	NFCOLO_A_UNSPEC,
	NFCOLO_A_PAD,
	NFCOLO_A_INDEX,			/* u32 */
	NFCOLO_A_MODE,			/* u8, enum nfcolo_mode */
	NFCOLO_A_FLAGS,			/* u32, NFCOLO_F_* */
	NFCOLO_A_STATE,			/* u8, enum nfcolo_state (reply) */
	NFCOLO_A_OWNER_PORTID,		/* u32, absent when persistent */
	NFCOLO_A_COMPARE_TIMEOUT_MS,	/* u32 */
	NFCOLO_A_QUEUE_LIMIT,		/* u32, packets per side */
	NFCOLO_A_CHECKPOINT_PENDING,	/* u8, 0 or 1 (reply) */
	NFCOLO_A_STATS,			/* nested, enum nfcolo_stats (reply) */
	NFCOLO_A_EVENT,			/* nested, enum nfcolo_event_attrs */
	NFCOLO_A_FLOW_LIMIT,		/* u32, flows of a primary instance */
	/*
	 * u8, 0 or 1 (default 1): the SVM's ARP requests and neighbour
	 * solicitations draw a checkpoint (NFCOLO_REASON_NEIGH).
	 */
	NFCOLO_A_NEIGH_CHECKPOINT,
	/*
	 * u32: the shards a primary instance's flows are cut into, each
	 * compared by a worker of its own (0 or absent: xt_PMYCOLO's
	 * compare_shards; at most its workers). In a reply: the shards in use.
	 */
	NFCOLO_A_COMPARE_SHARDS,
	__NFCOLO_A_MAX
};

#define NFCOLO_A_MAX (__NFCOLO_A_MAX - 1)

/*
 * Counters of an instance, each a u64 attribute inside NFCOLO_A_STATS whose
 * type is the counter's id. Gauges (queue depths) are current values;
 * *_HIGH are their high-water marks since INIT or RESET.
 */
enum nfcolo_stats {
	NFCOLO_STATS_UNSPEC,
	NFCOLO_STATS_PAD,
	/* both roles */
	NFCOLO_STATS_CHECKPOINTS_REQUESTED,
	NFCOLO_STATS_CHECKPOINTS_DONE,
	NFCOLO_STATS_FAILOVERS,
	/* primary */
	NFCOLO_STATS_PKTS_COMPARED,
	NFCOLO_STATS_BYTES_COMPARED,
	NFCOLO_STATS_PKTS_MATCHED,
	NFCOLO_STATS_PKTS_RELEASED,
	NFCOLO_STATS_BYTES_RELEASED,
	NFCOLO_STATS_SVM_PKTS_CAPTURED,
	NFCOLO_STATS_SVM_PKTS_FREED,
	NFCOLO_STATS_REQ_MISCOMPARE,
	NFCOLO_STATS_REQ_TIMEOUT,
	NFCOLO_STATS_REQ_QUEUE_FULL,
	NFCOLO_STATS_PVM_QUEUE,		/* gauge */
	NFCOLO_STATS_PVM_QUEUE_HIGH,
	NFCOLO_STATS_SVM_QUEUE,		/* gauge */
	NFCOLO_STATS_SVM_QUEUE_HIGH,
	/* secondary */
	NFCOLO_STATS_FLOWS_LEARNED,
	NFCOLO_STATS_FLOWS_RELEARNED,
	NFCOLO_STATS_FLOWS_UNTRACKED,	/* existed before, or handshake missed */
	NFCOLO_STATS_PKTS_ADJUSTED,
	/* primary, again */
	NFCOLO_STATS_PKTS_DROPPED,	/* PVM: no memory, queue full, device gone */
	NFCOLO_STATS_SVM_PKTS_LINK,	/* ARP, ND, MLD: dropped, not compared */
	NFCOLO_STATS_REQ_FLOW_LIMIT,
	NFCOLO_STATS_FLOWS,		/* gauge */
	NFCOLO_STATS_FLOWS_HIGH,
	NFCOLO_STATS_FLOWS_EVICTED,	/* idle flows reused at the limit */
	NFCOLO_STATS_SVM_PKTS_NO_FLOW,	/* SVM: nothing held to match */
	/* both roles */
	NFCOLO_STATS_REQ_UNDELIVERED,	/* request lost on its way: asked again */
	NFCOLO_STATS_CHECKPOINTS_BEGUN,	/* CHECKPOINT_BEGIN accepted */
	NFCOLO_STATS_CHECKPOINTS_COMMITTED, /* DO_CHECKPOINT after a begin */
	/* primary, again */
	NFCOLO_STATS_REQ_NEIGH,
	/* both roles, again */
	NFCOLO_STATS_CHECKPOINTS_UNDONE, /* begun, then failover: undone */
	/* primary, again */
	NFCOLO_STATS_SVM_PKTS_STALE,	/* differed, came during a checkpoint */
	NFCOLO_STATS_PVM_PKTS_SPLIT,	/* GSO packets cut: the SVM's window */
	__NFCOLO_STATS_MAX
};

#define NFCOLO_STATS_MAX (__NFCOLO_STATS_MAX - 1)

/* Why a checkpoint was requested (NFCOLO_EV_REASON). */
enum nfcolo_reason {
	NFCOLO_REASON_UNSPEC,
	NFCOLO_REASON_MISCOMPARE,	/* PVM and SVM output differ */
	NFCOLO_REASON_TIMEOUT,		/* a held packet waited too long */
	NFCOLO_REASON_QUEUE_FULL,	/* a queue reached QUEUE_LIMIT */
	NFCOLO_REASON_FLOW_LIMIT,	/* FLOW_LIMIT flows all hold packets */
	/*
	 * The SVM asked for a neighbour (an ARP request or a neighbour
	 * solicitation, see NFCOLO_A_NEIGH_CHECKPOINT): the event's VM_ADDR
	 * is its sender address, PEER_ADDR the address asked for; an ARP
	 * request's event has no L4PROTO.
	 */
	NFCOLO_REASON_NEIGH,
	__NFCOLO_REASON_MAX
};

#define NFCOLO_REASON_MAX (__NFCOLO_REASON_MAX - 1)

/* NFCOLO_A_EVENT: which flow, and where the PVM and SVM streams diverged. */
enum nfcolo_event_attrs {
	NFCOLO_EV_UNSPEC,
	NFCOLO_EV_PAD,
	NFCOLO_EV_REASON,		/* u8, enum nfcolo_reason */
	NFCOLO_EV_FAMILY,		/* u8, AF_INET or AF_INET6 */
	NFCOLO_EV_L4PROTO,		/* u8, IPPROTO_* */
	NFCOLO_EV_VM_ADDR,		/* binary, 4 or 16 bytes, network order */
	NFCOLO_EV_PEER_ADDR,		/* binary, 4 or 16 bytes, network order */
	NFCOLO_EV_VM_PORT,		/* u16, host order (TCP, UDP) */
	NFCOLO_EV_PEER_PORT,		/* u16, host order (TCP, UDP) */
	NFCOLO_EV_SEQ,			/* u32, TCP seq of first differing byte */
	NFCOLO_EV_OFFSET,		/* u32, offset of it in the PVM payload */
	NFCOLO_EV_AGE_MS,		/* u32, age of the oldest held packet */
	__NFCOLO_EV_MAX
};

#define NFCOLO_EV_MAX (__NFCOLO_EV_MAX - 1)

#endif /* _UAPI_NFNETLINK_COLO_H */
