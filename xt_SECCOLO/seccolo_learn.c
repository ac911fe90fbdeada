// SPDX-License-Identifier: GPL-2.0
/*
 * How the secondary learns the two initial sequence numbers of a TCP flow
 * and hands the difference to nf_conntrack_seqadj, which then rewrites the
 * SVM's seq and the peer's ack and SACK blocks for the rest of the flow.
 *
 *   client opens:  SVM's SYN-ACK     -> ISN of the SVM   (SECCOLO rule)
 *                  client's 1st ACK  -> ISN of the PVM = ack - 1
 *                  (the ACK that completes the handshake: its seq is the
 *                  one the SYN-ACK acknowledged, so later ACKs, which may
 *                  acknowledge data too, are never taken for it)
 *   guest opens:   SVM's SYN         -> ISN of the SVM   (SECCOLO rule)
 *                  peer's SYN-ACK    -> ISN of the PVM = ack - 1
 *
 * The peer's packets reach the secondary through the primary's mirror (and
 * directly after failover); we see them when conntrack confirms them, just
 * before seqadj, so the packet that completes learning is rewritten too.
 * Flow state changes happen under ct->lock.
 */
#include <linux/tcp.h>
#include <net/netfilter/nf_conntrack_seqadj.h>
#include "seccolo.h"

struct seccolo_tcp {
	bool	syn;
	bool	ack;
	u32	seq;
	u32	ack_seq;
};

static bool seccolo_tcp_read(const struct sk_buff *skb, unsigned int thoff,
			     struct seccolo_tcp *t)
{
	struct tcphdr _th;
	const struct tcphdr *th;

	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	if (!th)
		return false;
	t->syn = th->syn;
	t->ack = th->ack;
	t->seq = ntohl(th->seq);
	t->ack_seq = ntohl(th->ack_seq);
	return true;
}

/*
 * Conntrack's window tracking would call the peer's ACK of the PVM's ISN
 * invalid, as it only saw the SVM's. The per-conntrack "be liberal" flag
 * turns that check off for this flow alone.
 */
static void seccolo_be_liberal(struct nf_conn *ct)
{
	ct->proto.tcp.seen[IP_CT_DIR_ORIGINAL].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
	ct->proto.tcp.seen[IP_CT_DIR_REPLY].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
}

/*
 * A SYN-ACK that answers a SYN conntrack had ignored (a client's or an
 * SVM's repeated SYN) makes conntrack take the SYN's TCP flags afresh,
 * and "be liberal" is lost with them: the peer's acks of bytes the SVM
 * has not sent yet would then be invalid, and seqadj would skip them.
 * Every SYN of a flow we rewrite sets it again, right after conntrack.
 */
static void seccolo_keep_liberal(struct nf_conn *ct,
				 const struct nf_conn_colo *flow,
				 const struct seccolo_tcp *t)
{
	if (t->syn && flow->index && !(flow->flags & NF_CT_COLO_F_UNTRACKED))
		seccolo_be_liberal(ct);
}

/*
 * seqadj has no call to take offsets back to zero (nf_ct_seqadj_init
 * ignores a zero offset), so clear its per-direction state directly.
 */
static void seccolo_zero_offsets(struct nf_conn *ct)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);

	if (seqadj)
		memset(seqadj->seq, 0, sizeof(seqadj->seq));
}

static bool seccolo_owns(const struct colo_instance *inst,
			 const struct nf_conn_colo *flow)
{
	return flow->index == inst->index &&
	       flow->generation == READ_ONCE(inst->generation) &&
	       !(flow->flags & NF_CT_COLO_F_UNTRACKED);
}

static bool seccolo_offset_set(struct nf_conn *ct, const struct nf_conn_colo *flow)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);

	return seqadj && seqadj->seq[flow->vm_dir].offset_after;
}

/* Back to the offset learned from the two ISNs (as nf_ct_seqadj_init()). */
static void seccolo_restore_offset(struct nf_conn *ct,
				   const struct nf_conn_colo *flow)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	s32 offset = flow->sec.isn_pvm - flow->sec.isn_svm;

	if (!seqadj)
		return;
	seqadj->seq[flow->vm_dir].offset_before = offset;
	seqadj->seq[flow->vm_dir].offset_after = offset;
}

/*
 * A failover undid the checkpoint begun at @undone (the epoch is now
 * @undone + 1): the SVM runs on from its own state. A flow that caught up
 * with that checkpoint from the epoch before gets back what the catch-up
 * took; one that had not caught up yet keeps what it has. Returns false if
 * the flow missed a committed checkpoint too, which still applies.
 */
static bool seccolo_undo(struct nf_conn *ct, struct nf_conn_colo *flow,
			 u32 from, u32 undone)
{
	if (from == undone) {
		if (flow->flags & NF_CT_COLO_F_CKPT_ZEROED)
			seccolo_restore_offset(ct, flow);
		if (flow->flags & NF_CT_COLO_F_CKPT_LEARNED)
			flow->flags &= ~NF_CT_COLO_F_LEARNED;
	} else if (from != undone - 1) {
		return false;
	}
	flow->flags &= ~(NF_CT_COLO_F_CKPT_ZEROED | NF_CT_COLO_F_CKPT_LEARNED);
	return true;
}

/*
 * After a checkpoint the SVM is a copy of the PVM, sequence numbers and
 * all: nothing is left to rewrite, and a handshake in progress went along.
 */
static void seccolo_catch_up(const struct colo_instance *inst,
			     struct nf_conn *ct, struct nf_conn_colo *flow)
{
	/* Acquire: pairs with the release that moved the epoch on. */
	u32 epoch = smp_load_acquire(&inst->checkpoint_epoch);
	u32 from = flow->checkpoint_epoch;
	bool one_step = from + 1 == epoch;

	if (from == epoch)
		return;
	flow->checkpoint_epoch = epoch;
	if (test_bit(COLO_INST_CHECKPOINT_UNDONE, &inst->flags) &&
	    epoch == READ_ONCE(inst->undone_epoch) + 1 &&
	    seccolo_undo(ct, flow, from, epoch - 1))
		return;
	flow->flags &= ~(NF_CT_COLO_F_CKPT_ZEROED | NF_CT_COLO_F_CKPT_LEARNED);
	if (one_step && seccolo_offset_set(ct, flow))
		flow->flags |= NF_CT_COLO_F_CKPT_ZEROED;
	seccolo_zero_offsets(ct);
	if ((flow->flags & (NF_CT_COLO_F_SEEN_SYN | NF_CT_COLO_F_LEARNED)) ==
	    NF_CT_COLO_F_SEEN_SYN) {
		flow->flags |= NF_CT_COLO_F_LEARNED;
		if (one_step)
			flow->flags |= NF_CT_COLO_F_CKPT_LEARNED;
	}
}

static void seccolo_record_syn(struct nf_conn_colo *flow,
			       const struct seccolo_tcp *t)
{
	flow->flags |= NF_CT_COLO_F_SEEN_SYN;
	flow->sec.isn_svm = t->seq;
	flow->sec.peer_next = t->ack_seq;	/* SYN-ACK only */
}

/*
 * The SVM's first packet decides: its SYN or SYN-ACK starts learning, any
 * other packet (or a SYN after packets seen while the instance was
 * missing) means the handshake was missed.
 */
static void seccolo_claim(struct colo_instance *inst, struct nf_conn *ct,
			  enum ip_conntrack_dir dir, struct nf_conn_colo *flow,
			  const struct seccolo_tcp *t)
{
	flow->index = inst->index;
	flow->generation = READ_ONCE(inst->generation);
	flow->checkpoint_epoch = READ_ONCE(inst->checkpoint_epoch);
	flow->vm_dir = dir;
	if (t->syn && !(flow->flags & NF_CT_COLO_F_UNTRACKED)) {
		flow->flags = 0;
		seccolo_record_syn(flow, t);
		seccolo_be_liberal(ct);
	} else {
		/* Opened before the instance, or its handshake was missed. */
		flow->flags = NF_CT_COLO_F_UNTRACKED;
		colo_stat_inc(inst, NFCOLO_STATS_FLOWS_UNTRACKED);
	}
}

/* The SVM sent a packet while its instance was missing or inactive. */
void seccolo_svm_packet_unclaimed(struct nf_conn *ct, struct nf_conn_colo *flow)
{
	spin_lock_bh(&ct->lock);
	if (!flow->index)
		flow->flags |= NF_CT_COLO_F_UNTRACKED;
	spin_unlock_bh(&ct->lock);
}

void seccolo_svm_packet(struct colo_instance *inst, struct sk_buff *skb,
			unsigned int thoff, struct nf_conn *ct,
			enum ip_conntrack_info ctinfo,
			struct nf_conn_colo *flow)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	bool adjusted = false, relearned = false;
	struct seccolo_tcp t;

	if (!seccolo_tcp_read(skb, thoff, &t))
		return;

	spin_lock_bh(&ct->lock);
	if (!flow->index) {
		/* After failover, new flows are the SVM's own. */
		if (READ_ONCE(inst->state) == NFCOLO_STATE_ACTIVE)
			seccolo_claim(inst, ct, dir, flow, &t);
		else
			flow->flags |= NF_CT_COLO_F_UNTRACKED;
		goto unlock;
	}
	seccolo_keep_liberal(ct, flow, &t);
	if (!seccolo_owns(inst, flow) || dir != flow->vm_dir)
		goto unlock;
	seccolo_catch_up(inst, ct, flow);
	if (t.syn) {
		if (!(flow->flags & NF_CT_COLO_F_LEARNED)) {
			seccolo_record_syn(flow, &t);
		} else if (t.seq != flow->sec.isn_svm) {
			/* The SVM reuses the ports for a new connection. */
			flow->flags = 0;
			seccolo_record_syn(flow, &t);
			seccolo_zero_offsets(ct);
			relearned = true;
		}
	}
	adjusted = (flow->flags & NF_CT_COLO_F_LEARNED) &&
		   flow->sec.isn_pvm != flow->sec.isn_svm;
unlock:
	spin_unlock_bh(&ct->lock);
	if (relearned)
		colo_stat_inc(inst, NFCOLO_STATS_FLOWS_RELEARNED);
	if (adjusted)
		colo_stat_inc(inst, NFCOLO_STATS_PKTS_ADJUSTED);
}

/* A packet of the peer: returns true when it completed learning. */
static bool seccolo_peer_packet(const struct colo_instance *inst,
				struct nf_conn *ct, struct nf_conn_colo *flow,
				const struct seccolo_tcp *t, bool *relearned)
{
	bool guest_opened = flow->vm_dir == IP_CT_DIR_ORIGINAL;

	seccolo_catch_up(inst, ct, flow);
	if (t->syn && !t->ack) {
		/* The client reuses the ports: learn again. */
		if (flow->flags & NF_CT_COLO_F_LEARNED) {
			flow->flags = 0;
			seccolo_zero_offsets(ct);
			*relearned = true;
		}
		return false;
	}
	if ((flow->flags & (NF_CT_COLO_F_SEEN_SYN | NF_CT_COLO_F_LEARNED)) !=
	    NF_CT_COLO_F_SEEN_SYN || !t->ack)
		return false;
	/* Client-opened: its first ACK; guest-opened: the peer's SYN-ACK. */
	if (t->syn != guest_opened ||
	    (!guest_opened && t->seq != flow->sec.peer_next))
		return false;
	flow->sec.isn_pvm = t->ack_seq - 1;
	flow->flags |= NF_CT_COLO_F_LEARNED;
	return true;
}

static void seccolo_confirm(struct colo_instance *inst, struct sk_buff *skb,
			    unsigned int protoff, struct nf_conn *ct,
			    enum ip_conntrack_info ctinfo,
			    struct nf_conn_colo *flow)
{
	bool learned = false, relearned = false;
	struct seccolo_tcp t;
	s32 offset = 0;

	if (nf_ct_protonum(ct) != IPPROTO_TCP ||
	    CTINFO2DIR(ctinfo) == flow->vm_dir ||
	    !seccolo_tcp_read(skb, protoff, &t))
		return;

	spin_lock_bh(&ct->lock);
	seccolo_keep_liberal(ct, flow, &t);
	if (seccolo_owns(inst, flow)) {
		learned = seccolo_peer_packet(inst, ct, flow, &t, &relearned);
		offset = flow->sec.isn_pvm - flow->sec.isn_svm;
	}
	spin_unlock_bh(&ct->lock);

	if (relearned)
		colo_stat_inc(inst, NFCOLO_STATS_FLOWS_RELEARNED);
	if (!learned)
		return;
	/* Takes ct->lock itself; a zero offset needs nothing. */
	nf_ct_seqadj_init(ct, flow->vm_dir == IP_CT_DIR_ORIGINAL ?
			  IP_CT_ESTABLISHED : IP_CT_ESTABLISHED_REPLY, offset);
	colo_stat_inc(inst, NFCOLO_STATS_FLOWS_LEARNED);
}

const struct colo_role_ops seccolo_role = {
	.mode		= NFCOLO_MODE_SECONDARY,
	.confirm	= seccolo_confirm,
};
