/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The COLO comparator core: decides, from the heads of a flow's two queues
 * (PVM output and SVM output, each sorted by sequence number for TCP),
 * what to do next. It never touches an skb, a lock or a list: the caller
 * owns the packets and hands over their descriptors and a function that
 * compares payload bytes in place. The same source builds into xt_PMYCOLO,
 * the userspace unit test and the fuzz target (tests/unit/).
 */
#ifndef _COLO_COMPARE_H
#define _COLO_COMPARE_H

#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __s32 s32;
#define BIT(nr)	(1U << (nr))
#endif

enum colo_cmp_side {
	COLO_CMP_PVM,
	COLO_CMP_SVM,
};

/* TCP flags the comparator cares about. */
enum colo_cmp_tcp_flag {
	COLO_TCP_FIN	= 1 << 0,
	COLO_TCP_SYN	= 1 << 1,
	COLO_TCP_RST	= 1 << 2,
	COLO_TCP_ACK	= 1 << 3,
};

/* One held packet, as the comparator sees it. */
struct colo_cmp_pkt {
	u32		seq;		/* TCP: sequence number of the segment */
	u32		ack;		/* TCP: acknowledgment number */
	u32		len;		/* bytes compared: TCP/UDP payload, ... */
	u8		tcp_flags;	/* enum colo_cmp_tcp_flag */
	const void	*data;		/* opaque to the core: the caller's packet */
};

/*
 * Compare @len bytes at offset @poff of @p's compared bytes with those at
 * @soff of @s's. Returns the number of equal leading bytes (== @len when
 * all are equal).
 */
typedef u32 (*colo_cmp_bytes_fn)(const struct colo_cmp_pkt *p, u32 poff,
				 const struct colo_cmp_pkt *s, u32 soff,
				 u32 len);

/* Per-flow TCP compare state; all zero is "nothing compared yet". */
struct colo_cmp_tcp {
	u32	compared_seq;	/* next stream byte to compare */
	u32	max_ack[2];	/* highest ack seen, per side */
	u8	flags;		/* COLO_CMP_F_* */
};

#define COLO_CMP_F_SEQ_KNOWN	BIT(0)	/* compared_seq is valid */
#define COLO_CMP_F_ACK_PVM	BIT(1)	/* max_ack[PVM] is valid */
#define COLO_CMP_F_ACK_SVM	BIT(2)	/* max_ack[SVM] is valid */
#define COLO_CMP_F_RESYNCED	BIT(3)	/* a reset or a commit came */

/* What the caller must do with the queue heads it passed in. */
enum colo_cmp_action {
	COLO_CMP_WAIT,		/* nothing more until another packet comes */
	COLO_CMP_RELEASE_PVM,	/* send the PVM head on, pop it */
	COLO_CMP_DROP_SVM,	/* free the SVM head, pop it */
	COLO_CMP_RELEASE_BOTH,	/* both of the above */
	COLO_CMP_MISCOMPARE,	/* the outputs differ: ask for a checkpoint */
};

struct colo_cmp_result {
	u32	seq;		/* TCP: sequence number of the first difference */
	u32	offset;		/* offset of it in the PVM head's compared bytes */
};

/* Wrap-safe sequence arithmetic (RFC 1982). */
static inline bool colo_seq_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

static inline bool colo_seq_after(u32 a, u32 b)
{
	return colo_seq_before(b, a);
}

/* A packet of @side is queued: remember its ack (TCP with ACK set). */
void colo_cmp_tcp_note(struct colo_cmp_tcp *flow, enum colo_cmp_side side,
		       const struct colo_cmp_pkt *pkt);

/*
 * One step of the TCP comparison. @p and @s are the heads of the PVM and
 * SVM queues, either may be NULL. Repeat while it returns an action that
 * pops something.
 */
enum colo_cmp_action colo_cmp_tcp_step(struct colo_cmp_tcp *flow,
				       const struct colo_cmp_pkt *p,
				       const struct colo_cmp_pkt *s,
				       colo_cmp_bytes_fn cmp,
				       struct colo_cmp_result *res);

/*
 * UDP, ICMP and other protocols: packets are compared one to one, in
 * order, on their len bytes.
 */
enum colo_cmp_action colo_cmp_datagram(const struct colo_cmp_pkt *p,
				       const struct colo_cmp_pkt *s,
				       colo_cmp_bytes_fn cmp,
				       struct colo_cmp_result *res);

/* After a checkpoint: compare afresh from the next packets on. */
void colo_cmp_tcp_reset(struct colo_cmp_tcp *flow);

/*
 * A two-phase checkpoint's mark on one flow. The begin marks the packets the
 * flow holds; until the commit, only marked heads are compared while any
 * marked packet is still queued (unmarked ones belong to after the
 * checkpoint, and are compared against the SVM's output of after it). The
 * commit takes the marked packets away and restarts the comparison as of
 * the mark. All zero: no mark.
 */
struct colo_cmp_mark {
	u32	held[2];	/* marked packets still queued, per side */
	u32	pvm_ack;	/* max_ack[PVM] at the mark */
	u32	svm_ack;	/* highest ack of the SVM's output since it */
	u8	flags;		/* COLO_CMP_F_ACK_PVM, _SVM: the above valid */
};

/* Begin (again): @marked[side] more packets of the flow are marked now. */
void colo_cmp_mark_take(struct colo_cmp_mark *m,
			const struct colo_cmp_tcp *flow,
			const u32 marked[2]);

static inline bool colo_cmp_mark_pending(const struct colo_cmp_mark *m)
{
	return m->held[COLO_CMP_PVM] || m->held[COLO_CMP_SVM];
}

/* May the comparator look at a queue head, marked or not, now? */
static inline bool colo_cmp_mark_visible(const struct colo_cmp_mark *m,
					 bool marked)
{
	return marked || !colo_cmp_mark_pending(m);
}

/* A packet of @side is queued while the mark is pending (TCP: its ack). */
void colo_cmp_mark_note(struct colo_cmp_mark *m, enum colo_cmp_side side,
			const struct colo_cmp_pkt *pkt);

/* A marked packet of @side left the queue (matched or committed). */
void colo_cmp_mark_drop(struct colo_cmp_mark *m, enum colo_cmp_side side);

/*
 * The commit, once the marked packets are gone: TCP compares afresh (rule
 * 6) and the SVM, now a copy of the PVM as of the mark, counts as having
 * acknowledged what the PVM had then, and what it acknowledged since. The
 * mark is cleared.
 */
void colo_cmp_mark_commit(struct colo_cmp_mark *m, struct colo_cmp_tcp *flow);

#endif /* _COLO_COMPARE_H */
