// SPDX-License-Identifier: GPL-2.0
/*
 * The COLO comparator core: pure decisions over the heads of a flow's two
 * output queues. See colo_compare.h for the API; this comment is the
 * project's statement of the comparison rules.
 *
 * TCP (colo_cmp_tcp_step)
 *
 * The caller keeps, per flow, the PVM's and the SVM's output in two queues
 * sorted by sequence number (wrap-safe), calls colo_cmp_tcp_note() for each
 * packet as it is queued, and calls colo_cmp_tcp_step() with the two heads
 * until it returns WAIT or MISCOMPARE, popping what each action names.
 * Every other action pops at least one head, so the loop ends. The SVM's
 * sequence numbers have already been made equal to the PVM's by the
 * secondary host, except in its SYN/SYN-ACK, which carries its own ISN.
 * Only the payload and the SYN, FIN, RST and ACK flags and the seq/ack
 * numbers are looked at: IP id, TTL, TOS, checksums, window and TCP options
 * never are. All sequence arithmetic is modulo 2^32 (RFC 1982).
 *
 * A segment occupies [seq, seq + len) in the stream, plus one more number
 * for its FIN ("the FIN byte", at seq + len) and, for a SYN, one before its
 * payload (a SYN's payload starts at seq + 1). Rules, in the order applied
 * (but a PVM pure ACK is looked at after the SYN rules 3 and 4):
 *
 *  1. RST: a PVM RST is released at once, whatever its seq and ack (the
 *     connection is over; holding it helps nobody); an SVM RST is dropped.
 *  2. Pure ACKs (no payload, no SYN/FIN/RST): an SVM one is dropped at once
 *     (its ack was noted when it was queued); a PVM one is released under
 *     the ack rule (9), whatever its seq.
 *  3. SYN at the PVM head: if it lies wholly before compared_seq (a
 *     retransmission after the exchange) it is released under the ack
 *     rule. Else, with an SVM SYN at the SVM head, the two are compared:
 *     the same SYN/ACK/FIN flags and the same payload, but not their seq
 *     (the ISNs differ); equal: both go (RELEASE_BOTH) and compared_seq
 *     becomes the PVM's seq + 1 + payload (+ 1 for a FIN), SEQ_KNOWN set;
 *     different: MISCOMPARE at the PVM SYN. With a non-SYN SVM head (pure
 *     ACKs are gone by rule 2), that head is dropped if it has no payload
 *     (a bare FIN), else MISCOMPARE at the PVM SYN.
 *  4. SYN at the SVM head, not at the PVM head: once the exchange is done
 *     (SEQ_KNOWN) it is a retransmission and is dropped; before, it waits
 *     for the PVM's SYN, or is a MISCOMPARE if the PVM sends data or FIN
 *     instead. After a reset or a commit (RESYNCED), the PVM sending data
 *     or FIN means its SYN has gone: the SVM's is from before the
 *     checkpoint (the old SVM was slower than the PVM) and is dropped.
 *  5. Once SEQ_KNOWN, an SVM head wholly before compared_seq (retransmitted
 *     or already compared) is dropped, and a PVM one is released without
 *     comparing it again, under the ack rule.
 *  6. Without SEQ_KNOWN (a flow joined midway, or after
 *     colo_cmp_tcp_reset()), when both heads carry payload or FIN, the
 *     comparison starts at the later of the two heads' seq: the earlier
 *     bytes count as already compared. This is sound because a flow is
 *     joined only at its start or right after a checkpoint, when both VMs
 *     are identical.
 *  7. Payload is compared as a byte stream, independent of segmentation.
 *     If a head starts after compared_seq, that side's stream has a gap:
 *     WAIT. Otherwise the bytes from compared_seq to the nearer of the two
 *     heads' ends are compared (a head may start before compared_seq: only
 *     the bytes from compared_seq on count) and compared_seq moves past
 *     them. A FIN matches only a FIN at the same stream position; a FIN on
 *     one side where the other side's stream goes on with data is a
 *     MISCOMPARE at that position. A head whose every byte (and FIN) has
 *     been compared is popped: the SVM's dropped, the PVM's released under
 *     the ack rule (if the ack rule holds it, compared_seq still advances,
 *     the SVM head may still be dropped, and the PVM head is released later
 *     by rule 5).
 *  8. MISCOMPARE reports in res->seq the stream position of the first
 *     differing byte (or FIN, or of the PVM SYN) and in res->offset its
 *     offset in the PVM head's payload (a FIN's offset is the payload
 *     length). The flow state is left as it was: the caller asks for a
 *     checkpoint and then calls colo_cmp_tcp_reset().
 *  9. The ack rule: a PVM packet with ACK set is released only when what it
 *     acknowledges has been acknowledged by the SVM too, i.e. while
 *     !after(ack, min(max_ack[PVM], max_ack[SVM])). Until the SVM has sent
 *     any ACK, such a packet waits. A PVM packet without ACK (a bare SYN)
 *     has no ack constraint.
 *
 * colo_cmp_tcp_reset() forgets compared_seq (rule 6 applies next) and, since
 * after a checkpoint the SVM is the PVM, counts everything the PVM has
 * acknowledged as acknowledged by the SVM too. It and a two-phase commit
 * set RESYNCED (rule 4).
 *
 * Datagrams (colo_cmp_datagram: UDP, ICMP, other): the two heads are
 * compared one to one; equal length and bytes: RELEASE_BOTH; else
 * MISCOMPARE at the first differing byte (the shorter length if one is a
 * prefix of the other), res->seq = 0. Either head missing: WAIT.
 */
#include "colo_compare.h"

static bool tcp_has(const struct colo_cmp_pkt *pkt, u8 flag)
{
	return pkt->tcp_flags & flag;
}

/* No payload and no SYN, FIN or RST. */
static bool tcp_pure_ack(const struct colo_cmp_pkt *pkt)
{
	return !pkt->len &&
	       !tcp_has(pkt, COLO_TCP_SYN | COLO_TCP_FIN | COLO_TCP_RST);
}

/* First payload byte's sequence number. */
static u32 tcp_data_seq(const struct colo_cmp_pkt *pkt)
{
	return pkt->seq + !!tcp_has(pkt, COLO_TCP_SYN);
}

/* End of the payload, i.e. where the FIN byte is, if any. */
static u32 tcp_data_end(const struct colo_cmp_pkt *pkt)
{
	return tcp_data_seq(pkt) + pkt->len;
}

/* End of all the sequence space the segment occupies. */
static u32 tcp_end(const struct colo_cmp_pkt *pkt)
{
	return tcp_data_end(pkt) + !!tcp_has(pkt, COLO_TCP_FIN);
}

static bool tcp_ack_ok(const struct colo_cmp_tcp *flow,
		       const struct colo_cmp_pkt *p)
{
	u32 limit;

	if (!tcp_has(p, COLO_TCP_ACK))
		return true;
	if (!(flow->flags & COLO_CMP_F_ACK_SVM))
		return false;
	limit = flow->max_ack[COLO_CMP_SVM];
	if ((flow->flags & COLO_CMP_F_ACK_PVM) &&
	    colo_seq_before(flow->max_ack[COLO_CMP_PVM], limit))
		limit = flow->max_ack[COLO_CMP_PVM];
	return !colo_seq_after(p->ack, limit);
}

void colo_cmp_tcp_note(struct colo_cmp_tcp *flow, enum colo_cmp_side side,
		       const struct colo_cmp_pkt *pkt)
{
	u8 known = side == COLO_CMP_PVM ? COLO_CMP_F_ACK_PVM :
					  COLO_CMP_F_ACK_SVM;

	if (!tcp_has(pkt, COLO_TCP_ACK))
		return;
	if (!(flow->flags & known) ||
	    colo_seq_after(pkt->ack, flow->max_ack[side])) {
		flow->max_ack[side] = pkt->ack;
		flow->flags |= known;
	}
}

void colo_cmp_tcp_reset(struct colo_cmp_tcp *flow)
{
	flow->flags &= ~COLO_CMP_F_SEQ_KNOWN;
	flow->flags |= COLO_CMP_F_RESYNCED;
	if (!(flow->flags & COLO_CMP_F_ACK_PVM))
		return;
	if (!(flow->flags & COLO_CMP_F_ACK_SVM) ||
	    colo_seq_after(flow->max_ack[COLO_CMP_PVM],
			   flow->max_ack[COLO_CMP_SVM])) {
		flow->max_ack[COLO_CMP_SVM] = flow->max_ack[COLO_CMP_PVM];
		flow->flags |= COLO_CMP_F_ACK_SVM;
	}
}

void colo_cmp_mark_take(struct colo_cmp_mark *m,
			const struct colo_cmp_tcp *flow,
			const u32 marked[2])
{
	m->held[COLO_CMP_PVM] += marked[COLO_CMP_PVM];
	m->held[COLO_CMP_SVM] += marked[COLO_CMP_SVM];
	/* A second begin moves the mark: the SVM's acks so far are before it. */
	m->pvm_ack = flow->max_ack[COLO_CMP_PVM];
	m->svm_ack = 0;
	m->flags = flow->flags & COLO_CMP_F_ACK_PVM;
}

void colo_cmp_mark_note(struct colo_cmp_mark *m, enum colo_cmp_side side,
			const struct colo_cmp_pkt *pkt)
{
	if (side != COLO_CMP_SVM || !colo_cmp_mark_pending(m) ||
	    !tcp_has(pkt, COLO_TCP_ACK))
		return;
	if (!(m->flags & COLO_CMP_F_ACK_SVM) ||
	    colo_seq_after(pkt->ack, m->svm_ack)) {
		m->svm_ack = pkt->ack;
		m->flags |= COLO_CMP_F_ACK_SVM;
	}
}

void colo_cmp_mark_drop(struct colo_cmp_mark *m, enum colo_cmp_side side)
{
	if (m->held[side])
		m->held[side]--;
}

void colo_cmp_mark_commit(struct colo_cmp_mark *m, struct colo_cmp_tcp *flow)
{
	u32 ack = m->pvm_ack;
	bool known = m->flags & COLO_CMP_F_ACK_PVM;

	if ((m->flags & COLO_CMP_F_ACK_SVM) &&
	    (!known || colo_seq_after(m->svm_ack, ack))) {
		ack = m->svm_ack;
		known = true;
	}
	flow->flags &= ~(COLO_CMP_F_SEQ_KNOWN | COLO_CMP_F_ACK_SVM);
	flow->flags |= COLO_CMP_F_RESYNCED;
	if (known) {
		flow->max_ack[COLO_CMP_SVM] = ack;
		flow->flags |= COLO_CMP_F_ACK_SVM;
	}
	*m = (struct colo_cmp_mark){};
}

static enum colo_cmp_action tcp_miscompare(struct colo_cmp_result *res,
					   u32 seq, u32 offset)
{
	res->seq = seq;
	res->offset = offset;
	return COLO_CMP_MISCOMPARE;
}

/* Rule 3, both heads SYN and not a retransmission. */
static enum colo_cmp_action tcp_syn(struct colo_cmp_tcp *flow,
				    const struct colo_cmp_pkt *p,
				    const struct colo_cmp_pkt *s,
				    colo_cmp_bytes_fn cmp,
				    struct colo_cmp_result *res)
{
	const u8 mask = COLO_TCP_SYN | COLO_TCP_ACK | COLO_TCP_FIN;
	u32 n = p->len < s->len ? p->len : s->len;
	u32 eq;

	if ((p->tcp_flags & mask) != (s->tcp_flags & mask))
		return tcp_miscompare(res, p->seq, 0);
	eq = n ? cmp(p, 0, s, 0, n) : 0;
	if (eq < n || p->len != s->len)
		return tcp_miscompare(res, p->seq + 1 + eq, eq);
	flow->compared_seq = tcp_end(p);
	flow->flags |= COLO_CMP_F_SEQ_KNOWN;
	return tcp_ack_ok(flow, p) ? COLO_CMP_RELEASE_BOTH : COLO_CMP_DROP_SVM;
}

/* Rule 7: both heads hold @cseq, neither is a SYN, RST or pure ACK. */
static enum colo_cmp_action tcp_stream(struct colo_cmp_tcp *flow,
				       const struct colo_cmp_pkt *p,
				       const struct colo_cmp_pkt *s, u32 cseq,
				       colo_cmp_bytes_fn cmp,
				       struct colo_cmp_result *res)
{
	u32 p_dend = tcp_data_end(p), s_dend = tcp_data_end(s);
	u32 p_end = tcp_end(p), s_end = tcp_end(s);
	bool p_done, s_done;

	/*
	 * Each round consumes the common data up to the nearer payload end,
	 * or a FIN on both sides; at most two rounds (data, then FINs) before
	 * a head is used up.
	 */
	while (cseq != p_end && cseq != s_end) {
		bool p_data = colo_seq_before(cseq, p_dend);
		bool s_data = colo_seq_before(cseq, s_dend);
		u32 n, eq;

		if (p_data && s_data) {
			n = (colo_seq_before(p_dend, s_dend) ? p_dend : s_dend) -
			    cseq;
			eq = cmp(p, cseq - tcp_data_seq(p), s,
				 cseq - tcp_data_seq(s), n);
			if (eq < n)
				return tcp_miscompare(res, cseq + eq,
						      cseq - tcp_data_seq(p) + eq);
			cseq += n;
		} else if (!p_data && !s_data) {
			cseq++;		/* FIN matches FIN */
		} else {
			/* FIN on one side, data on the other */
			return tcp_miscompare(res, cseq, cseq - tcp_data_seq(p));
		}
	}

	flow->compared_seq = cseq;
	flow->flags |= COLO_CMP_F_SEQ_KNOWN;
	p_done = cseq == p_end;
	s_done = cseq == s_end;
	if (p_done && tcp_ack_ok(flow, p))
		return s_done ? COLO_CMP_RELEASE_BOTH : COLO_CMP_RELEASE_PVM;
	return s_done ? COLO_CMP_DROP_SVM : COLO_CMP_WAIT;
}

enum colo_cmp_action colo_cmp_tcp_step(struct colo_cmp_tcp *flow,
				       const struct colo_cmp_pkt *p,
				       const struct colo_cmp_pkt *s,
				       colo_cmp_bytes_fn cmp,
				       struct colo_cmp_result *res)
{
	const u8 flow_flags = flow->flags;
	const u32 flow_cseq = flow->compared_seq;
	bool known = flow_flags & COLO_CMP_F_SEQ_KNOWN;
	u32 cseq = flow_cseq;
	enum colo_cmp_action act;

	/* 1. RST */
	if (p && tcp_has(p, COLO_TCP_RST))
		return COLO_CMP_RELEASE_PVM;
	if (s && tcp_has(s, COLO_TCP_RST))
		return COLO_CMP_DROP_SVM;

	/* 2. SVM pure ACK */
	if (s && tcp_pure_ack(s))
		return COLO_CMP_DROP_SVM;

	/* 3. SYN at the PVM head */
	if (p && tcp_has(p, COLO_TCP_SYN)) {
		if (known && !colo_seq_after(tcp_end(p), cseq))
			return tcp_ack_ok(flow, p) ? COLO_CMP_RELEASE_PVM :
						     COLO_CMP_WAIT;
		if (!s)
			return COLO_CMP_WAIT;
		if (tcp_has(s, COLO_TCP_SYN))
			return tcp_syn(flow, p, s, cmp, res);
		if (!s->len)
			return COLO_CMP_DROP_SVM;
		return tcp_miscompare(res, p->seq, 0);
	}

	/* 4. SYN at the SVM head (not at the PVM head) */
	if (s && tcp_has(s, COLO_TCP_SYN)) {
		if (known)
			return COLO_CMP_DROP_SVM;
		if (!p)
			return COLO_CMP_WAIT;
		if (!tcp_pure_ack(p)) {
			if (flow_flags & COLO_CMP_F_RESYNCED)
				return COLO_CMP_DROP_SVM;
			return tcp_miscompare(res, p->seq, 0);
		}
		/* a PVM pure ACK may go by: rule 2, next */
	}

	/* 2. PVM pure ACK */
	if (p && tcp_pure_ack(p))
		return tcp_ack_ok(flow, p) ? COLO_CMP_RELEASE_PVM :
					     COLO_CMP_WAIT;

	if (!known) {
		/* 6. start comparing at the later head */
		if (!p || !s)
			return COLO_CMP_WAIT;
		cseq = colo_seq_after(s->seq, p->seq) ? s->seq : p->seq;
		known = true;
		flow->compared_seq = cseq;
		flow->flags |= COLO_CMP_F_SEQ_KNOWN;
	}

	/* 5. retransmitted or already compared */
	if (s && !colo_seq_after(tcp_end(s), cseq))
		return COLO_CMP_DROP_SVM;
	if (p && !colo_seq_after(tcp_end(p), cseq))
		return tcp_ack_ok(flow, p) ? COLO_CMP_RELEASE_PVM :
					     COLO_CMP_WAIT;

	/* 7. the byte stream */
	if (!p || !s || colo_seq_after(p->seq, cseq) ||
	    colo_seq_after(s->seq, cseq))
		return COLO_CMP_WAIT;
	act = tcp_stream(flow, p, s, cseq, cmp, res);
	if (act == COLO_CMP_MISCOMPARE && !(flow_flags & COLO_CMP_F_SEQ_KNOWN)) {
		/* 8. no state change: undo the start of rule 6 */
		flow->flags = flow_flags;
		flow->compared_seq = flow_cseq;
	}
	return act;
}

enum colo_cmp_action colo_cmp_datagram(const struct colo_cmp_pkt *p,
				       const struct colo_cmp_pkt *s,
				       colo_cmp_bytes_fn cmp,
				       struct colo_cmp_result *res)
{
	u32 n, eq;

	if (!p || !s)
		return COLO_CMP_WAIT;
	n = p->len < s->len ? p->len : s->len;
	eq = n ? cmp(p, 0, s, 0, n) : 0;
	if (eq < n || p->len != s->len) {
		res->seq = 0;
		res->offset = eq;
		return COLO_CMP_MISCOMPARE;
	}
	return COLO_CMP_RELEASE_BOTH;
}
