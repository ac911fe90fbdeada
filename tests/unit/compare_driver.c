// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare_driver.h"

static struct drv *cur;		/* the driver whose core call is running */

static void logf_(struct drv *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->loglen >= sizeof(d->log) - 1)
		return;
	if (d->loglen)
		d->log[d->loglen++] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(d->log + d->loglen, sizeof(d->log) - d->loglen, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->loglen += (size_t)n;
	if (d->loglen >= sizeof(d->log))
		d->loglen = sizeof(d->log) - 1;
}

static void fail(struct drv *d, const char *what)
{
	if (!d->error)
		d->error = what;
}

void drv_init(struct drv *d, bool tcp)
{
	memset(d, 0, sizeof(*d));
	d->tcp = tcp;
}

void drv_free(struct drv *d)
{
	struct drv_pkt *p, *next;

	for (p = d->allocs; p; p = next) {
		next = p->next_alloc;
		free(p->buf);
		free(p);
	}
	d->allocs = NULL;
	d->n[0] = d->n[1] = 0;
}

void drv_clear_log(struct drv *d)
{
	d->loglen = 0;
	d->log[0] = 0;
}

struct drv_pkt *drv_pkt(struct drv *d, int side, const char *name, u32 seq,
			u32 ack, u8 flags, const void *data, u32 len)
{
	struct drv_pkt *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->buf = malloc(len ? len : 1);
	if (!p->buf)
		abort();
	if (len)
		memcpy(p->buf, data, len);
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "?");
	p->side = side;
	p->c.seq = seq;
	p->c.ack = ack;
	p->c.len = len;
	p->c.tcp_flags = flags;
	p->c.data = p;
	p->next_alloc = d->allocs;
	d->allocs = p;
	return p;
}

void drv_queue(struct drv *d, struct drv_pkt *pkt)
{
	struct drv_pkt **q = d->q[pkt->side];
	unsigned int i = d->n[pkt->side];

	if (i >= DRV_MAXQ)
		abort();
	/* stable sorted insert: after every packet not after it in seq */
	if (d->tcp)
		while (i > 0 && colo_seq_after(q[i - 1]->c.seq, pkt->c.seq)) {
			q[i] = q[i - 1];
			i--;
		}
	q[i] = pkt;
	d->n[pkt->side]++;
	if (d->tcp)
		colo_cmp_tcp_note(&d->flow, pkt->side, &pkt->c);
	if (!d->hold)
		drv_run(d);
}

struct drv_pkt *drv_add(struct drv *d, int side, const char *name, u32 seq,
			u32 ack, u8 flags, const char *payload)
{
	struct drv_pkt *p = drv_pkt(d, side, name, seq, ack, flags, payload,
				    payload ? (u32)strlen(payload) : 0);

	drv_queue(d, p);
	return p;
}

static u32 drv_cmp(const struct colo_cmp_pkt *cp, u32 poff,
		   const struct colo_cmp_pkt *cs, u32 soff, u32 len)
{
	struct drv *d = cur;
	const struct drv_pkt *p = cp->data, *s = cs->data;
	u32 i;

	d->cmp_calls++;
	if (!len)
		fail(d, "cmp called with len 0");
	if (p->side != COLO_CMP_PVM || s->side != COLO_CMP_SVM)
		fail(d, "cmp called with packets of the wrong sides");
	if ((!d->n[0] || cp != &d->q[0][0]->c) ||
	    (!d->n[1] || cs != &d->q[1][0]->c))
		fail(d, "cmp called on packets that are not the heads");
	if (poff > cp->len || len > cp->len - poff ||
	    soff > cs->len || len > cs->len - soff) {
		fail(d, "cmp out of bounds");
		return 0;
	}
	for (i = 0; i < len; i++)
		if (p->buf[poff + i] != s->buf[soff + i])
			break;
	if (d->on_cmp)
		d->on_cmp(d, p, poff, s, soff, len, i);
	return i;
}

static void pop(struct drv *d, int side)
{
	struct drv_pkt *pkt = d->q[side][0];

	memmove(&d->q[side][0], &d->q[side][1],
		(d->n[side] - 1) * sizeof(d->q[side][0]));
	d->n[side]--;
	if (side == COLO_CMP_PVM) {
		d->released++;
		logf_(d, "+%s", pkt->name);
	} else {
		d->dropped++;
		logf_(d, "-%s", pkt->name);
	}
	if (d->on_event)
		d->on_event(d, side == COLO_CMP_PVM ? DRV_RELEASE : DRV_DROP,
			    pkt);
}

static enum colo_cmp_action step(struct drv *d, struct colo_cmp_result *res)
{
	const struct colo_cmp_pkt *p = d->n[0] ? &d->q[0][0]->c : NULL;
	const struct colo_cmp_pkt *s = d->n[1] ? &d->q[1][0]->c : NULL;
	enum colo_cmp_action act;

	d->steps++;
	if (d->on_step)
		d->on_step(d, d->n[0] ? d->q[0][0] : NULL,
			   d->n[1] ? d->q[1][0] : NULL);
	cur = d;
	if (d->tcp)
		act = colo_cmp_tcp_step(&d->flow, p, s, drv_cmp, res);
	else
		act = colo_cmp_datagram(p, s, drv_cmp, res);
	cur = NULL;
	return act;
}

void drv_run(struct drv *d)
{
	unsigned long bound;
	struct colo_cmp_tcp before;
	struct colo_cmp_result res;
	enum colo_cmp_action act;

	if (d->miscompared)
		return;
	/* every action but WAIT and MISCOMPARE pops a packet */
	bound = d->n[0] + d->n[1] + 1;
	while (bound--) {
		before = d->flow;
		memset(&res, 0xa5, sizeof(res));
		act = step(d, &res);
		switch (act) {
		case COLO_CMP_WAIT:
			before = d->flow;
			if (step(d, &res) != COLO_CMP_WAIT ||
			    memcmp(&before, &d->flow, sizeof(before)))
				fail(d, "WAIT is not stable");
			return;
		case COLO_CMP_MISCOMPARE:
			if (memcmp(&before, &d->flow, sizeof(before)))
				fail(d, "MISCOMPARE changed the flow state");
			d->miscompared = true;
			d->res = res;
			d->mis_pvm_seq = d->n[0] ? d->q[0][0]->c.seq : 0;
			if (d->tcp)
				logf_(d, "!%u/%u", res.seq, res.offset);
			else
				logf_(d, "!%u", res.offset);
			return;
		case COLO_CMP_RELEASE_PVM:
			if (!d->n[0]) {
				fail(d, "RELEASE_PVM without a PVM head");
				return;
			}
			pop(d, COLO_CMP_PVM);
			break;
		case COLO_CMP_DROP_SVM:
			if (!d->n[1]) {
				fail(d, "DROP_SVM without an SVM head");
				return;
			}
			pop(d, COLO_CMP_SVM);
			break;
		case COLO_CMP_RELEASE_BOTH:
			if (!d->n[0] || !d->n[1]) {
				fail(d, "RELEASE_BOTH without both heads");
				return;
			}
			pop(d, COLO_CMP_PVM);
			pop(d, COLO_CMP_SVM);
			break;
		default:
			fail(d, "unknown action");
			return;
		}
	}
	fail(d, "no progress: more steps than packets");
}

void drv_reset(struct drv *d)
{
	if (d->tcp)
		colo_cmp_tcp_reset(&d->flow);
	d->miscompared = false;
	if (!d->hold)
		drv_run(d);
}

void drv_flush(struct drv *d)
{
	while (d->n[0])
		pop(d, COLO_CMP_PVM);
	while (d->n[1])
		pop(d, COLO_CMP_SVM);
}

void drv_established(struct drv *d, u32 seq, u32 ack)
{
	d->flow.compared_seq = seq;
	d->flow.flags |= COLO_CMP_F_SEQ_KNOWN | COLO_CMP_F_ACK_PVM |
			 COLO_CMP_F_ACK_SVM;
	d->flow.max_ack[COLO_CMP_PVM] = ack;
	d->flow.max_ack[COLO_CMP_SVM] = ack;
}
