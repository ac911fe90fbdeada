// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the COLO comparator core. The input is decoded into
 * the PVM's and the SVM's output for one flow, fed through compare_driver.c
 * the way xt_PMYCOLO would, and checked against what the outputs really
 * were.
 *
 * Structured mode: a byte stream per side (the SVM's a copy of the PVM's
 * with, sometimes, bytes changed, a different length or FIN), optionally
 * opened by a SYN exchange, cut into random segments, with random
 * retransmissions and pure ACKs, delivered in a random interleaving and
 * order, near a random base (often across the 32-bit wrap), with random
 * acks; a last SVM ACK covers every ack. Checks:
 *  - the driver's contract checks (progress, valid actions, cmp in bounds,
 *    MISCOMPARE leaves the flow unchanged, WAIT stable);
 *  - cmp only ever lines up the same stream position on both sides;
 *  - every PVM byte (and FIN) released was compared equal, or lies before
 *    the point where comparison started (SYN + 1, or the join point);
 *  - a PVM packet with ACK is released only when the SVM has acked as far;
 *  - a MISCOMPARE is reported exactly at the first real difference, with
 *    the offset in the PVM head, and only if there is a difference;
 *  - at the end, with everything delivered: a difference has been found if
 *    there is one, else every PVM packet inside the compared region is out.
 * Chaos mode: random packets (any flags, seq, ack, len), resets after
 * miscompares; only the contract and ack-rule checks apply. Datagram mode
 * drives colo_cmp_datagram() likewise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare_driver.h"

#define MAXL	128
#define SPAN	(MAXL + 64)

struct rd {
	const u8 *p;
	size_t n;
};

static u8 rd8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static u32 rd32(struct rd *r)
{
	u32 v = rd8(r);

	v |= (u32)rd8(r) << 8;
	v |= (u32)rd8(r) << 16;
	return v | (u32)rd8(r) << 24;
}

static struct drv *g_drv;	/* for the report */

#define BUG(cond) do {							\
	if (cond) {							\
		fprintf(stderr, "fuzz_compare: %s:%d: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		if (g_drv)						\
			fprintf(stderr, "log: %s\n", g_drv->log);	\
		abort();						\
	}								\
} while (0)

/* Stream items: a byte, the FIN, or nothing. */
#define IT_NONE	(-1)
#define IT_FIN	(-2)

struct world {
	u32 base, ack_base;
	bool syn;
	u8 pdata[MAXL], sdata[MAXL];
	u32 plen, slen;
	bool pfin, sfin;
	bool equal[SPAN];	/* stream position compared equal */
	bool have_join;
	u32 join;		/* rel. position where comparison began */
	bool svm_acked;
	u32 svm_max_ack, pvm_max_ack;
	bool pvm_acked;
	bool chaos;
	bool flushing;
};

static int item(const struct world *w, int side, u32 x)
{
	u32 len = side == COLO_CMP_PVM ? w->plen : w->slen;
	bool fin = side == COLO_CMP_PVM ? w->pfin : w->sfin;

	if (x < len)
		return side == COLO_CMP_PVM ? w->pdata[x] : w->sdata[x];
	if (x == len && fin)
		return IT_FIN;
	return IT_NONE;
}

/* From @from on: first differing position (*diff) or end of common part. */
static bool first_diff(const struct world *w, u32 from, u32 *at)
{
	u32 x;

	for (x = from;; x++) {
		int a = item(w, COLO_CMP_PVM, x), b = item(w, COLO_CMP_SVM, x);

		if (a == IT_NONE || b == IT_NONE) {
			*at = x;
			return false;
		}
		if (a != b) {
			*at = x;
			return true;
		}
	}
}

static u32 data_seq(const struct colo_cmp_pkt *c)
{
	return c->seq + !!(c->tcp_flags & COLO_TCP_SYN);
}

static u32 end_seq(const struct colo_cmp_pkt *c)
{
	return data_seq(c) + c->len + !!(c->tcp_flags & COLO_TCP_FIN);
}

static bool pure(const struct colo_cmp_pkt *c)
{
	return !c->len && !(c->tcp_flags & (COLO_TCP_SYN | COLO_TCP_FIN |
					    COLO_TCP_RST));
}

static void on_cmp(struct drv *d, const struct drv_pkt *p, u32 poff,
		   const struct drv_pkt *s, u32 soff, u32 len, u32 eq)
{
	struct world *w = d->priv;
	u32 ppos = data_seq(&p->c) + poff, spos = data_seq(&s->c) + soff, i;

	if (w->chaos || (p->c.tcp_flags & COLO_TCP_SYN))
		return;
	BUG(ppos != spos);
	for (i = 0; i < eq; i++) {
		u32 x = ppos + i - w->base;

		BUG(x >= SPAN);
		w->equal[x] = true;
	}
	(void)len;
}

static void on_step(struct drv *d, const struct drv_pkt *p,
		    const struct drv_pkt *s)
{
	struct world *w = d->priv;

	/* rule 6: where a joined flow starts comparing */
	if (w->chaos || w->have_join || !p || !s ||
	    (d->flow.flags & COLO_CMP_F_SEQ_KNOWN))
		return;
	if (pure(&p->c) || pure(&s->c) ||
	    ((p->c.tcp_flags | s->c.tcp_flags) & (COLO_TCP_SYN | COLO_TCP_RST)))
		return;
	w->have_join = true;
	w->join = (colo_seq_after(s->c.seq, p->c.seq) ? s->c.seq : p->c.seq) -
		  w->base;
}

static void on_event(struct drv *d, enum drv_event ev, struct drv_pkt *pkt)
{
	struct world *w = d->priv;
	const struct colo_cmp_pkt *c = &pkt->c;
	u32 x, from, end;

	if (ev != DRV_RELEASE || !d->tcp || w->flushing ||
	    (c->tcp_flags & COLO_TCP_RST))
		return;
	/* the ack rule */
	if (c->tcp_flags & COLO_TCP_ACK)
		BUG(!w->svm_acked || colo_seq_after(c->ack, w->svm_max_ack));
	if (w->chaos || pure(c) || (c->tcp_flags & COLO_TCP_SYN))
		return;
	/* every byte and FIN released was compared, or is before the start */
	from = data_seq(c) - w->base;
	end = from + c->len;
	BUG(from >= SPAN || end >= SPAN);
	for (x = from; x < end; x++)
		BUG(!(w->have_join && x < w->join) && !w->equal[x]);
	if (c->tcp_flags & COLO_TCP_FIN)
		BUG(!(w->have_join && end < w->join) &&
		    !(item(w, COLO_CMP_PVM, end) == IT_FIN &&
		      item(w, COLO_CMP_SVM, end) == IT_FIN));
}

static void note_ack(struct world *w, const struct drv_pkt *pkt)
{
	if (!(pkt->c.tcp_flags & COLO_TCP_ACK))
		return;
	if (pkt->side == COLO_CMP_SVM) {
		if (!w->svm_acked || colo_seq_after(pkt->c.ack, w->svm_max_ack))
			w->svm_max_ack = pkt->c.ack;
		w->svm_acked = true;
	} else {
		if (!w->pvm_acked || colo_seq_after(pkt->c.ack, w->pvm_max_ack))
			w->pvm_max_ack = pkt->c.ack;
		w->pvm_acked = true;
	}
}

static void deliver(struct drv *d, struct drv_pkt *pkt)
{
	note_ack(d->priv, pkt);
	drv_queue(d, pkt);
	BUG(d->error && fprintf(stderr, "driver: %s\n", d->error));
}

/* Segments covering [0, len) (+ FIN), retransmissions and pure ACKs. */
static int make_side(struct drv *d, struct world *w, struct rd *r, int side,
		     struct drv_pkt **out)
{
	const u8 *data = side == COLO_CMP_PVM ? w->pdata : w->sdata;
	u32 len = side == COLO_CMP_PVM ? w->plen : w->slen;
	bool fin = side == COLO_CMP_PVM ? w->pfin : w->sfin;
	u32 at = 0, k, nre, npure;
	int n = 0;

#define SEG(a, b) do {							\
	u8 fl = COLO_TCP_ACK | (fin && (b) == len ? COLO_TCP_FIN : 0);	\
	out[n++] = drv_pkt(d, side, "x", w->base + (a),			\
			   w->ack_base + rd8(r) % 8, fl, data + (a),	\
			   (b) - (a));					\
} while (0)

	while (at < len) {
		u32 l = 1 + rd8(r) % 16;

		if (l > len - at)
			l = len - at;
		SEG(at, at + l);
		at += l;
	}
	if (!len && fin)
		SEG(0u, 0u);
	nre = rd8(r) % 4;
	for (k = 0; k < nre; k++) {
		u32 a = rd8(r) % (len + 1), b = a + rd8(r) % 16;

		if (b > len)
			b = len;
		if (a < b || (fin && b == len))
			SEG(a, b);
	}
	npure = rd8(r) % 3;
	for (k = 0; k < npure; k++)
		out[n++] = drv_pkt(d, side, "a", w->base + rd8(r) % (len + 1),
				   w->ack_base + rd8(r) % 8, COLO_TCP_ACK,
				   NULL, 0);
#undef SEG
	/* some local disorder */
	for (k = 0; k + 1 < (u32)n; k++)
		if (rd8(r) & 1) {
			struct drv_pkt *t = out[k];

			out[k] = out[k + 1];
			out[k + 1] = t;
		}
	return n;
}

static void structured(struct drv *d, struct world *w, struct rd *r, u8 mode)
{
	struct drv_pkt *pl[MAXL], *sl[MAXL], *psyn = NULL, *ssyn = NULL;
	int np, ns, i = 0, j = 0;
	u32 seed, k, at, x, ndiff;
	bool diff;

	w->syn = mode & 1;
	w->pfin = mode & 2;
	w->sfin = (mode & 0x0c) == 0x0c ? !w->pfin : w->pfin;
	w->base = (mode & 0x10) ? 0xffffffffu - rd8(r) : rd32(r);
	w->ack_base = (mode & 0x20) ? 0xfffffffcu + rd8(r) % 8 : rd32(r);
	w->plen = rd8(r) % 97;
	w->slen = rd8(r) < 24 ? rd8(r) % 97 : w->plen;
	seed = rd32(r) | 1;
	for (k = 0; k < MAXL; k++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		w->pdata[k] = w->sdata[k] = (u8)seed;
	}
	ndiff = rd8(r);
	ndiff = ndiff >= 200 ? 1 + ndiff % 3 : 0;
	for (k = 0; k < ndiff; k++)
		w->sdata[rd8(r) % MAXL] ^= 1 + rd8(r) % 255;

	if (w->syn) {
		u8 fl = COLO_TCP_SYN | (mode & 0x40 ? COLO_TCP_ACK : 0);

		psyn = drv_pkt(d, COLO_CMP_PVM, "syn", w->base - 1,
			       w->ack_base + rd8(r) % 8, fl, NULL, 0);
		ssyn = drv_pkt(d, COLO_CMP_SVM, "syn", rd32(r),
			       w->ack_base + rd8(r) % 8, fl, NULL, 0);
		w->have_join = true;
		w->join = 0;
		if (rd8(r) & 1) {
			deliver(d, psyn);
			deliver(d, ssyn);
		} else {
			deliver(d, ssyn);
			deliver(d, psyn);
		}
	}
	np = make_side(d, w, r, COLO_CMP_PVM, pl);
	ns = make_side(d, w, r, COLO_CMP_SVM, sl);
	while (i < np || j < ns) {
		if (j >= ns || (i < np && (rd8(r) & 1)))
			deliver(d, pl[i++]);
		else
			deliver(d, sl[j++]);
	}
	/* an SVM ACK that covers everything */
	deliver(d, drv_pkt(d, COLO_CMP_SVM, "last", w->base,
			   w->ack_base + 7, COLO_TCP_ACK, NULL, 0));
	if (w->syn) {
		/* both SYNs went, no matter the order */
		BUG(d->n[0] && d->q[0][0] == psyn);
	}

	/* what must have happened, given everything was delivered */
	if (!w->have_join) {
		BUG(d->miscompared);
		return;
	}
	diff = first_diff(w, w->join, &at);
	if (d->miscompared) {
		BUG(!diff);
		BUG(d->res.seq != w->base + at);
		BUG(d->res.offset != d->res.seq - d->mis_pvm_seq);
		return;
	}
	BUG(diff);
	/* nothing left that lies inside the compared region */
	if (d->n[0]) {
		const struct colo_cmp_pkt *c = &d->q[0][0]->c;

		BUG(pure(c));
		x = end_seq(c) - w->base;
		BUG(x <= at);
	}
	if (d->n[1]) {
		const struct colo_cmp_pkt *c = &d->q[1][0]->c;

		x = end_seq(c) - w->base;
		BUG(x <= at);
	}
}

static void chaos(struct drv *d, struct world *w, struct rd *r, u8 mode)
{
	u32 n = rd8(r) % 64, k, i;
	u8 buf[24];

	w->chaos = true;
	w->base = (mode & 0x10) ? 0xfffffff0u + rd8(r) % 32 : rd32(r);
	w->ack_base = (mode & 0x20) ? 0xfffffff0u + rd8(r) % 32 : rd32(r);
	for (k = 0; k < n; k++) {
		u8 b = rd8(r);
		int side = b & 1;
		u32 seq = w->base + (u32)(int)(int8_t)rd8(r);
		u32 ack = w->ack_base + (u32)((int8_t)rd8(r) / 8);
		u8 flags = b >> 1 & 0xf;
		u32 len = rd8(r) % 24;
		struct drv_pkt *pkt;

		/* mostly the same bytes at the same stream position */
		for (i = 0; i < len; i++)
			buf[i] = (b & 0x80) ? rd8(r) : (u8)(seq + i) * 7;
		pkt = drv_pkt(d, side, "c", seq, ack, flags, buf, len);
		deliver(d, pkt);
		if (d->miscompared && (b & 0x20)) {
			if (b & 0x40) {
				w->flushing = true;	/* not the core's doing */
				drv_flush(d);
				w->flushing = false;
			}
			if (d->tcp && w->pvm_acked &&
			    (!w->svm_acked ||
			     colo_seq_after(w->pvm_max_ack, w->svm_max_ack))) {
				/* a checkpoint: the SVM has acked what the PVM has */
				w->svm_max_ack = w->pvm_max_ack;
				w->svm_acked = true;
			}
			drv_reset(d);
			BUG(d->error);
		}
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct drv d;
	static struct world w;
	struct rd r = { data, size };
	u8 mode = rd8(&r);

	memset(&w, 0, sizeof(w));
	drv_init(&d, (mode & 0xc0) != 0xc0 || (mode & 1));
	d.priv = &w;
	g_drv = &d;
	d.on_cmp = on_cmp;
	d.on_step = on_step;
	d.on_event = on_event;
	if ((mode & 0xc0) == 0xc0)
		chaos(&d, &w, &r, mode);
	else
		structured(&d, &w, &r, mode);
	BUG(d.error && fprintf(stderr, "driver: %s\n", d.error));
	drv_free(&d);
	return 0;
}
