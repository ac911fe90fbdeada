/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A userspace stand-in for the comparator's caller: two queues per flow
 * (PVM and SVM output), sorted by seq for TCP, fed packet by packet, with
 * colo_cmp_*_step() run and its actions applied after each packet, as
 * xt_PMYCOLO does. Shared by test_compare and fuzz_compare. It checks the
 * core's contract as it goes (every action names a head that exists, each
 * call makes progress, cmp stays inside the packets, MISCOMPARE leaves the
 * flow unchanged, WAIT is stable) and records the first breach in ->error.
 */
#ifndef COMPARE_DRIVER_H
#define COMPARE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include "colo_compare.h"

#define DRV_MAXQ	4096

struct drv_pkt {
	struct colo_cmp_pkt c;	/* c.data points back here */
	char name[16];
	int side;		/* COLO_CMP_PVM or COLO_CMP_SVM */
	unsigned char *buf;	/* c.len payload bytes */
	struct drv_pkt *next_alloc;
};

enum drv_event { DRV_RELEASE, DRV_DROP };

struct drv {
	bool tcp;
	bool hold;		/* queue packets without running the core */
	struct colo_cmp_tcp flow;
	struct drv_pkt *q[2][DRV_MAXQ];
	unsigned int n[2];
	bool miscompared;	/* stops the driver until drv_reset() */
	struct colo_cmp_result res;
	u32 mis_pvm_seq;	/* seq of the PVM head at the miscompare */
	unsigned int released, dropped, cmp_calls;
	unsigned long steps;
	const char *error;	/* first contract breach seen, or NULL */
	char log[16384];	/* "+p1 -s1 !seq/off" ... */
	size_t loglen;
	/* optional hooks (fuzzer oracles) */
	void (*on_event)(struct drv *d, enum drv_event ev, struct drv_pkt *pkt);
	void (*on_cmp)(struct drv *d, const struct drv_pkt *p, u32 poff,
		       const struct drv_pkt *s, u32 soff, u32 len, u32 eq);
	/* called before each core call with the heads it gets */
	void (*on_step)(struct drv *d, const struct drv_pkt *p,
			const struct drv_pkt *s);
	void *priv;
	struct drv_pkt *allocs;
};

void drv_init(struct drv *d, bool tcp);
void drv_free(struct drv *d);
/* Make a packet (payload copied) without queueing it. */
struct drv_pkt *drv_pkt(struct drv *d, int side, const char *name, u32 seq,
			u32 ack, u8 flags, const void *data, u32 len);
/* Queue a packet (sorted by seq for TCP), note it, then run the core. */
void drv_queue(struct drv *d, struct drv_pkt *pkt);
/* Shorthand: make and queue a packet whose payload is a C string. */
struct drv_pkt *drv_add(struct drv *d, int side, const char *name, u32 seq,
			u32 ack, u8 flags, const char *payload);
/* Run the core until WAIT or MISCOMPARE. */
void drv_run(struct drv *d);
/* After a checkpoint: colo_cmp_tcp_reset(), un-stop; queues are kept. */
void drv_reset(struct drv *d);
/* Empty both queues (PVM released, SVM dropped) without the core. */
void drv_flush(struct drv *d);
/* An established flow: next byte @seq, both sides acked @ack. */
void drv_established(struct drv *d, u32 seq, u32 ack);
void drv_clear_log(struct drv *d);

#endif
