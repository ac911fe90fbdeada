// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the COLO comparator core (xt_PMYCOLO/colo_compare.c), one
 * or more per rule in the block comment at the top of that file. Packets go
 * through compare_driver.c, which plays xt_PMYCOLO's part; each test checks
 * the log of what was released (+name), dropped (-name) and miscompared
 * (!seq/offset) and when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare_driver.h"

#define P	COLO_CMP_PVM
#define S	COLO_CMP_SVM
#define A	COLO_TCP_ACK
#define F	COLO_TCP_FIN
#define SY	COLO_TCP_SYN
#define R	COLO_TCP_RST

static int failed_checks;
static const char *cur_test;

#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)
#define CHECK_LOG(d, want) check_log((d), (want), __LINE__)
#define CHECK_EQ(a, b) check_eq((unsigned long)(a), (unsigned long)(b), \
				#a, __LINE__)

static void check(bool ok, const char *what, const char *file, int line)
{
	if (ok)
		return;
	failed_checks++;
	printf("  %s:%d: %s: check failed: %s\n", file, line, cur_test, what);
}

static void check_eq(unsigned long a, unsigned long b, const char *what,
		     int line)
{
	if (a == b)
		return;
	failed_checks++;
	printf("  line %d: %s: %s is %lu (%#lx), want %lu (%#lx)\n", line,
	       cur_test, what, a, a, b, b);
}

/* Compare the log, then clear it; also fail on any driver breach. */
static void check_log(struct drv *d, const char *want, int line)
{
	if (strcmp(d->log, want)) {
		failed_checks++;
		printf("  line %d: %s: log \"%s\", want \"%s\"\n", line,
		       cur_test, d->log, want);
	}
	if (d->error) {
		failed_checks++;
		printf("  line %d: %s: driver: %s\n", line, cur_test, d->error);
		d->error = NULL;
	}
	drv_clear_log(d);
}

static struct drv d;

static void tcp(void)
{
	drv_free(&d);
	drv_init(&d, true);
}

/* --- segmentation ------------------------------------------------------ */

static void test_pvm_3_7_svm_10(void)
{
	tcp();
	drv_established(&d, 1000, 1);
	drv_add(&d, P, "p1", 1000, 1, A, "abc");
	drv_add(&d, P, "p2", 1003, 1, A, "defghij");
	CHECK_LOG(&d, "");
	drv_add(&d, S, "s1", 1000, 1, A, "abcdefghij");
	CHECK_LOG(&d, "+p1 +p2 -s1");
	CHECK_EQ(d.flow.compared_seq, 1010);
	CHECK_EQ(d.n[0] + d.n[1], 0);
}

static void test_pvm_10_svm_3_7(void)
{
	tcp();
	drv_established(&d, 1000, 1);
	drv_add(&d, S, "s1", 1000, 1, A, "abc");
	drv_add(&d, P, "p1", 1000, 1, A, "abcdefghij");
	CHECK_LOG(&d, "-s1");
	drv_add(&d, S, "s2", 1003, 1, A, "defghij");
	CHECK_LOG(&d, "+p1 -s2");
	CHECK_EQ(d.n[0] + d.n[1], 0);
}

static void test_overlapping_cuts(void)
{
	/* PVM 4+4+2, SVM 2+5+3: the cuts never line up */
	tcp();
	drv_established(&d, 7, 1);
	drv_add(&d, P, "p1", 7, 1, A, "0123");
	drv_add(&d, P, "p2", 11, 1, A, "4567");
	drv_add(&d, P, "p3", 15, 1, A, "89");
	drv_add(&d, S, "s1", 7, 1, A, "01");
	CHECK_LOG(&d, "-s1");
	drv_add(&d, S, "s2", 9, 1, A, "23456");
	CHECK_LOG(&d, "+p1 -s2");
	drv_add(&d, S, "s3", 14, 1, A, "789");
	CHECK_LOG(&d, "+p2 +p3 -s3");
}

/*
 * Every segmentation of a small stream on each side, delivered PVM first,
 * SVM first and interleaved, with and without one differing byte and a
 * FIN, at a base that makes the stream cross the 32-bit wrap.
 */
#define XL 6

static int cuts(unsigned int mask, u32 *off, u32 *len)
{
	int n = 0;
	u32 start = 0, i;

	for (i = 1; i <= XL; i++)
		if (i == XL || (mask & (1u << (i - 1)))) {
			off[n] = start;
			len[n++] = i - start;
			start = i;
		}
	return n;
}

static void exhaustive(u32 base, bool fin, int diff)
{
	static const char stream[] = "qwerty";
	char svm[XL];
	unsigned int pm, sm, order, bad = 0;
	u32 poff[XL], plen[XL], soff[XL], slen[XL];

	memcpy(svm, stream, XL);
	if (diff >= 0)
		svm[diff] ^= 0x20;
	for (pm = 0; pm < 1u << (XL - 1); pm++)
		for (sm = 0; sm < 1u << (XL - 1); sm++)
			for (order = 0; order < 3; order++) {
				int np = cuts(pm, poff, plen);
				int ns = cuts(sm, soff, slen);
				struct drv_pkt *pp[XL], *sp[XL];
				u32 rel = 0;
				int i, j;

				tcp();
				drv_established(&d, base, 1);
				d.hold = true;
				for (i = 0; i < np; i++)
					pp[i] = drv_pkt(&d, P, "p", base + poff[i], 1,
							A | (fin && i == np - 1 ? F : 0),
							stream + poff[i], plen[i]);
				for (i = 0; i < ns; i++)
					sp[i] = drv_pkt(&d, S, "s", base + soff[i], 1,
							A | (fin && i == ns - 1 ? F : 0),
							svm + soff[i], slen[i]);
				d.hold = false;
				/* 0: PVM first, 1: SVM first (backwards), 2: zip */
				for (i = 0, j = 0; i < np || j < ns;) {
					bool pvm = order == 0 ? i < np :
						   order == 1 ? j >= ns :
						   (i <= j && i < np) || j >= ns;
					if (pvm)
						drv_queue(&d, pp[i++]);
					else
						drv_queue(&d, order == 1 ?
							  sp[ns - 1 - j++] : sp[j++]);
				}
				if (d.error)
					bad++;
				if (diff < 0) {
					if (d.miscompared || d.n[0] || d.n[1] ||
					    d.released != (u32)np || d.dropped != (u32)ns)
						bad++;
				} else {
					u32 pos = base + (u32)diff, k, in = 0;

					if (!d.miscompared || d.res.seq != pos)
						bad++;
					/* PVM segment holding the diff is the head */
					for (k = 0; k < (u32)np; k++)
						if (poff[k] <= (u32)diff &&
						    (u32)diff < poff[k] + plen[k])
							in = (u32)diff - poff[k];
					if (d.res.offset != in)
						bad++;
					/* released: exactly the segments before it */
					for (k = 0; k < (u32)np; k++)
						if (poff[k] + plen[k] <= (u32)diff)
							rel++;
					if (d.released != rel)
						bad++;
				}
				if (bad && !failed_checks) {
					printf("  exhaustive base %#x fin %d diff %d: pm %#x sm %#x order %u: %s\n",
					       base, fin, diff, pm, sm, order, d.log);
					failed_checks++;
				}
			}
	CHECK_EQ(bad, 0);
}

static void test_exhaustive_equal(void)
{
	exhaustive(100, false, -1);
	exhaustive(100, true, -1);
}

static void test_exhaustive_diff(void)
{
	int i;

	for (i = 0; i < XL; i++) {
		exhaustive(5000, false, i);
		exhaustive(5000, true, i);
	}
}

static void test_exhaustive_wrap(void)
{
	int i;

	exhaustive(0xfffffffdu, true, -1);
	for (i = 0; i < XL; i++)
		exhaustive(0xfffffffdu, false, i);
}

/* --- differences --------------------------------------------------------- */

static void test_one_byte_differs(void)
{
	tcp();
	drv_established(&d, 1000, 1);
	drv_add(&d, P, "p1", 1000, 1, A, "abcd");
	drv_add(&d, P, "p2", 1004, 1, A, "efgh");
	drv_add(&d, S, "s1", 1000, 1, A, "abcdefXh");
	CHECK_LOG(&d, "+p1 !1006/2");
	CHECK_EQ(d.res.seq, 1006);
	CHECK_EQ(d.res.offset, 2);
	/* nothing more happens until reset, whatever comes */
	drv_add(&d, S, "s2", 1008, 1, A, "i");
	CHECK_LOG(&d, "");
	CHECK_EQ(d.flow.compared_seq, 1004);
}

static void test_first_byte_differs(void)
{
	tcp();
	drv_established(&d, 50, 1);
	drv_add(&d, P, "p1", 50, 1, A, "xyz");
	drv_add(&d, S, "s1", 50, 1, A, "Xyz");
	CHECK_LOG(&d, "!50/0");
}

static void test_diff_in_partly_compared_head(void)
{
	/* SVM head starts before compared_seq: offsets are the PVM's */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, S, "s1", 0, 1, A, "hello world");
	drv_add(&d, P, "p1", 0, 1, A, "hello");
	CHECK_LOG(&d, "+p1");
	drv_add(&d, P, "p2", 5, 1, A, " wOrld");
	CHECK_LOG(&d, "!7/2");
}

/* --- retransmissions and gaps ------------------------------------------ */

static void test_retransmission_released_uncompared(void)
{
	unsigned int calls;

	tcp();
	drv_established(&d, 100, 1);
	drv_add(&d, P, "p1", 100, 1, A, "abcde");
	drv_add(&d, S, "s1", 100, 1, A, "abcde");
	CHECK_LOG(&d, "+p1 -s1");
	calls = d.cmp_calls;
	/* whole retransmission, even with other bytes: not compared again */
	drv_add(&d, P, "p1r", 100, 1, A, "ABCDE");
	CHECK_LOG(&d, "+p1r");
	drv_add(&d, S, "s1r", 100, 1, A, "zzzzz");
	CHECK_LOG(&d, "-s1r");
	drv_add(&d, P, "p1s", 102, 1, A, "cde");
	CHECK_LOG(&d, "+p1s");
	CHECK_EQ(d.cmp_calls, calls);
	/* partial: only the new bytes 105..107 are compared */
	drv_add(&d, P, "p2", 103, 1, A, "DEfg");
	CHECK_LOG(&d, "");
	drv_add(&d, S, "s2", 104, 1, A, "efg");
	CHECK_LOG(&d, "+p2 -s2");
	CHECK_EQ(d.cmp_calls, calls + 1);
	CHECK_EQ(d.flow.compared_seq, 107);
}

static void test_retransmission_held_by_ack_rule(void)
{
	tcp();
	drv_established(&d, 100, 10);
	drv_add(&d, P, "p1", 100, 10, A, "abc");
	drv_add(&d, S, "s1", 100, 10, A, "abc");
	CHECK_LOG(&d, "+p1 -s1");
	drv_add(&d, P, "p1r", 100, 20, A, "abc");
	CHECK_LOG(&d, "");
	drv_add(&d, S, "a", 103, 20, A, NULL);
	CHECK_LOG(&d, "-a +p1r");
}

static void test_gap_waits(void)
{
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A, "aaaaa");
	drv_add(&d, P, "p3", 10, 1, A, "ccccc");
	drv_add(&d, S, "s1", 0, 1, A, "aaaaa");
	drv_add(&d, S, "s3", 10, 1, A, "ccccc");
	CHECK_LOG(&d, "+p1 -s1");
	/* SVM's segment 5..10 missing too: both wait */
	drv_add(&d, P, "p2", 5, 1, A, "bbbbb");
	CHECK_LOG(&d, "");
	drv_add(&d, S, "s2", 5, 1, A, "bbbbb");
	CHECK_LOG(&d, "+p2 -s2 +p3 -s3");
}

static void test_gap_on_one_side(void)
{
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, S, "s1", 0, 1, A, "0123456789");
	drv_add(&d, P, "p2", 5, 1, A, "56789");
	CHECK_LOG(&d, "");
	drv_add(&d, P, "p1", 0, 1, A, "01234");
	CHECK_LOG(&d, "+p1 +p2 -s1");
	/* and the SVM out of order */
	drv_add(&d, P, "p3", 10, 1, A, "abcdef");
	drv_add(&d, S, "s3", 13, 1, A, "def");
	CHECK_LOG(&d, "");
	drv_add(&d, S, "s2", 10, 1, A, "abc");
	CHECK_LOG(&d, "-s2 +p3 -s3");
}

/* --- the ack rule -------------------------------------------------------- */

static void test_ack_rule(void)
{
	tcp();
	drv_established(&d, 0, 100);
	drv_add(&d, P, "p1", 0, 200, A, "data");
	drv_add(&d, S, "s1", 0, 150, A, "data");
	/* compared and the SVM copy dropped; the PVM's ack 200 > 150 */
	CHECK_LOG(&d, "-s1");
	CHECK_EQ(d.flow.compared_seq, 4);
	drv_add(&d, P, "p2", 4, 200, A, NULL);	/* pure ACK, behind p1 */
	CHECK_LOG(&d, "");
	drv_add(&d, S, "a1", 4, 199, A, NULL);
	CHECK_LOG(&d, "-a1");
	drv_add(&d, S, "a2", 4, 200, A, NULL);
	CHECK_LOG(&d, "-a2 +p1 +p2");
}

static void test_ack_rule_svm_never_acked(void)
{
	tcp();
	drv_add(&d, P, "a", 0, 5, A, NULL);
	CHECK_LOG(&d, "");
	drv_add(&d, S, "syn", 0, 0, SY, NULL);	/* no ACK: no ack */
	CHECK_LOG(&d, "");
	CHECK(!(d.flow.flags & COLO_CMP_F_ACK_SVM));
	drv_add(&d, S, "b", 1, 5, A, NULL);
	CHECK_LOG(&d, "+a");
}

static void test_no_ack_flag_no_constraint(void)
{
	tcp();
	drv_add(&d, P, "noack", 0, 12345, 0, NULL);
	CHECK_LOG(&d, "+noack");
}

static void test_ack_wrap(void)
{
	tcp();
	drv_established(&d, 0, 0xfffffff0u);
	drv_add(&d, P, "a1", 0, 0xfffffff8u, A, NULL);
	CHECK_LOG(&d, "");
	drv_add(&d, P, "a2", 0, 0x10, A, NULL);
	CHECK_LOG(&d, "");
	drv_add(&d, S, "x", 0, 0xfffffffcu, A, NULL);
	CHECK_LOG(&d, "-x +a1");
	drv_add(&d, S, "y", 0, 0x8, A, NULL);
	CHECK_LOG(&d, "-y");
	CHECK_EQ(d.flow.max_ack[S], 0x8);
	drv_add(&d, S, "z", 0, 0x10, A, NULL);
	CHECK_LOG(&d, "-z +a2");
	/* an older ack does not move the maximum back */
	drv_add(&d, S, "old", 0, 0xfffffff0u, A, NULL);
	CHECK_EQ(d.flow.max_ack[S], 0x10);
	CHECK_LOG(&d, "-old");
}

/* --- SYN ------------------------------------------------------------------ */

static void test_syn_ack_exchange(void)
{
	tcp();
	drv_add(&d, S, "ssyn", 90000, 501, SY | A, NULL);
	CHECK_LOG(&d, "");
	drv_add(&d, P, "psyn", 4999, 501, SY | A, NULL);
	CHECK_LOG(&d, "+psyn -ssyn");
	CHECK(d.flow.flags & COLO_CMP_F_SEQ_KNOWN);
	CHECK_EQ(d.flow.compared_seq, 5000);
	/* data from ISN + 1 on is compared */
	drv_add(&d, P, "p1", 5000, 501, A, "hi");
	drv_add(&d, S, "s1", 5000, 501, A, "hi");
	CHECK_LOG(&d, "+p1 -s1");
	/* late retransmitted SYN-ACKs: PVM's released, SVM's dropped */
	drv_add(&d, P, "psyn2", 4999, 501, SY | A, NULL);
	CHECK_LOG(&d, "+psyn2");
	drv_add(&d, S, "ssyn2", 90000, 501, SY | A, NULL);
	CHECK_LOG(&d, "-ssyn2");
}

static void test_bare_syn(void)
{
	/* a VM connecting out: its SYN has no ACK, so no ack constraint */
	tcp();
	drv_add(&d, P, "psyn", 0xffffffffu, 0, SY, NULL);
	CHECK_LOG(&d, "");
	drv_add(&d, S, "ssyn", 1234, 0, SY, NULL);
	CHECK_LOG(&d, "+psyn -ssyn");
	CHECK_EQ(d.flow.compared_seq, 0);
}

static void test_syn_ack_held_by_ack_rule(void)
{
	tcp();
	drv_add(&d, P, "psyn", 10, 78, SY | A, NULL);
	drv_add(&d, S, "ssyn", 20, 77, SY | A, NULL);
	CHECK_LOG(&d, "-ssyn");
	CHECK_EQ(d.flow.compared_seq, 11);
	drv_add(&d, S, "a", 21, 78, A, NULL);
	CHECK_LOG(&d, "-a +psyn");
}

static void test_syn_mismatch(void)
{
	tcp();
	drv_add(&d, P, "psyn", 10, 1, SY | A, NULL);
	drv_add(&d, S, "ssyn", 20, 1, SY, NULL);
	CHECK_LOG(&d, "!10/0");
	CHECK(!(d.flow.flags & COLO_CMP_F_SEQ_KNOWN));
}

static void test_syn_payload(void)
{
	tcp();
	drv_add(&d, P, "psyn", 10, 0, SY, "tfo");
	drv_add(&d, S, "ssyn", 20, 0, SY, "tfo");
	CHECK_LOG(&d, "+psyn -ssyn");
	CHECK_EQ(d.flow.compared_seq, 14);
	tcp();
	drv_add(&d, P, "psyn", 10, 0, SY, "tfo");
	drv_add(&d, S, "ssyn", 20, 0, SY, "tFo");
	CHECK_LOG(&d, "!12/1");
}

static void test_syn_vs_non_syn(void)
{
	/* PVM SYN vs an SVM bare FIN: the FIN goes; vs data: miscompare */
	tcp();
	drv_add(&d, P, "psyn", 10, 0, SY, NULL);
	drv_add(&d, S, "fin", 11, 0, F, NULL);
	CHECK_LOG(&d, "-fin");
	drv_add(&d, S, "data", 11, 0, 0, "x");
	CHECK_LOG(&d, "!10/0");
	/* SVM SYN vs PVM data before any exchange: miscompare */
	tcp();
	drv_add(&d, S, "ssyn", 10, 0, SY, NULL);
	drv_add(&d, P, "data", 11, 0, 0, "x");
	CHECK_LOG(&d, "!11/0");
	/* ... but a PVM pure ACK goes by it */
	tcp();
	drv_add(&d, S, "ssyn", 10, 0, SY, NULL);
	drv_add(&d, P, "a", 11, 0, 0, NULL);
	CHECK_LOG(&d, "+a");
}

static void test_stale_svm_syn_after_checkpoint(void)
{
	static const u32 marked[2] = { 3, 0 };
	struct colo_cmp_mark m = {};

	/*
	 * Seen in the real pair: at the begin the PVM had answered a new
	 * connection and sent data, the slower SVM not even its SYN-ACK,
	 * which came after the mark. The commit took the PVM's SYN-ACK and
	 * data; the new SVM goes on from where the PVM stood.
	 */
	tcp();
	d.hold = true;
	drv_add(&d, P, "psyn", 4999, 501, SY | A, NULL);
	drv_add(&d, P, "p1", 5000, 501, A, "hdr");
	drv_add(&d, P, "p2", 5003, 501, A, "body");
	colo_cmp_mark_take(&m, &d.flow, marked);
	drv_flush(&d);
	colo_cmp_mark_commit(&m, &d.flow);
	CHECK_LOG(&d, "+psyn +p1 +p2");
	d.hold = false;
	drv_add(&d, S, "ssyn", 4999, 501, SY | A, NULL);
	drv_add(&d, P, "p3", 5007, 501, A, "more");
	CHECK_LOG(&d, "-ssyn");
	drv_add(&d, S, "s3", 5007, 501, A, "more");
	CHECK_LOG(&d, "+p3 -s3");
	/* the same after a reset (a one-phase checkpoint) */
	tcp();
	d.hold = true;
	drv_add(&d, P, "psyn", 4999, 501, SY | A, NULL);
	drv_flush(&d);
	d.hold = false;
	drv_reset(&d);
	drv_add(&d, S, "ssyn", 4999, 501, SY | A, NULL);
	drv_add(&d, P, "p1", 5000, 501, A, "x");
	CHECK_LOG(&d, "+psyn -ssyn");
}

/* --- FIN --------------------------------------------------------------- */

static void test_fin_match(void)
{
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A | F, "bye");
	drv_add(&d, S, "s1", 0, 1, A | F, "bye");
	CHECK_LOG(&d, "+p1 -s1");
	CHECK_EQ(d.flow.compared_seq, 4);
	/* FIN retransmitted: already compared */
	drv_add(&d, P, "p1r", 0, 1, A | F, "bye");
	drv_add(&d, S, "s1r", 3, 1, A | F, NULL);
	CHECK_LOG(&d, "+p1r -s1r");
}

static void test_fin_split(void)
{
	/* data+FIN in one PVM segment, FIN alone on the SVM */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A | F, "bye");
	drv_add(&d, S, "s1", 0, 1, A, "bye");
	CHECK_LOG(&d, "-s1");
	drv_add(&d, S, "s2", 3, 1, A | F, NULL);
	CHECK_LOG(&d, "+p1 -s2");
	/* and the reverse */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, S, "s1", 0, 1, A | F, "bye");
	drv_add(&d, P, "p1", 0, 1, A, "bye");
	CHECK_LOG(&d, "+p1");
	drv_add(&d, P, "p2", 3, 1, A | F, NULL);
	CHECK_LOG(&d, "+p2 -s1");
}

static void test_fin_vs_data(void)
{
	/* PVM FIN where the SVM goes on: offset is past the PVM's payload */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A | F, "ab");
	drv_add(&d, S, "s1", 0, 1, A, "abc");
	CHECK_LOG(&d, "!2/2");
	/* SVM FIN where the PVM goes on */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A, "abcd");
	drv_add(&d, S, "s1", 0, 1, A | F, "ab");
	CHECK_LOG(&d, "!2/2");
	/* a bare FIN against data */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A | F, NULL);
	drv_add(&d, S, "s1", 0, 1, A, "z");
	CHECK_LOG(&d, "!0/0");
}

/* --- RST and pure ACKs ------------------------------------------------- */

static void test_rst(void)
{
	tcp();
	/* no SVM ack yet, a gap, no SVM packet at all: released at once */
	drv_add(&d, P, "rst", 5000, 99, R | A, NULL);
	CHECK_LOG(&d, "+rst");
	drv_add(&d, S, "srst", 5000, 99, R | A, NULL);
	CHECK_LOG(&d, "-srst");
	/* in an established flow, even when data would be compared */
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, P, "p1", 0, 1, A, "abc");
	drv_add(&d, S, "srst", 0, 1, R, NULL);
	CHECK_LOG(&d, "-srst");
	drv_add(&d, P, "prst", 0, 1, R, NULL);
	CHECK_LOG(&d, "");	/* sorted after p1, which waits */
	drv_add(&d, S, "s1", 0, 1, A, "abc");
	CHECK_LOG(&d, "+p1 -s1 +prst");
}

static void test_pure_acks(void)
{
	tcp();
	drv_established(&d, 0, 1);
	drv_add(&d, S, "sa", 0, 2, A, NULL);
	CHECK_LOG(&d, "-sa");
	/* a PVM pure ACK with a gap before its seq goes anyway */
	drv_add(&d, P, "pa", 50, 2, A, NULL);
	CHECK_LOG(&d, "+pa");
	drv_add(&d, P, "pb", 50, 3, A, NULL);
	CHECK_LOG(&d, "");
	drv_add(&d, S, "sb", 0, 3, A, NULL);
	CHECK_LOG(&d, "-sb +pb");
	CHECK_EQ(d.flow.compared_seq, 0);
}

/* --- midway join and reset ------------------------------------------------ */

static void test_midway_join(void)
{
	tcp();
	drv_add(&d, S, "a", 0, 1, A, NULL);
	drv_add(&d, P, "p1", 100, 1, A, "XXXXXabcde");
	CHECK_LOG(&d, "-a");
	drv_add(&d, S, "s1", 105, 1, A, "abcde");
	CHECK_LOG(&d, "+p1 -s1");
	CHECK_EQ(d.flow.compared_seq, 110);
	/* the other way round: the SVM's first segment starts earlier */
	tcp();
	drv_add(&d, S, "a", 0, 1, A, NULL);
	drv_add(&d, S, "s0", 90, 1, A, "YYY");
	drv_add(&d, S, "s1", 93, 1, A, "YYabc");
	drv_add(&d, P, "p1", 95, 1, A, "abc");
	CHECK_LOG(&d, "-a -s0 +p1 -s1");
}

static void test_midway_join_miscompare_keeps_state(void)
{
	tcp();
	drv_add(&d, S, "a", 0, 1, A, NULL);
	drv_add(&d, P, "p1", 100, 1, A, "abc");
	drv_add(&d, S, "s1", 100, 1, A, "abd");
	CHECK_LOG(&d, "-a !102/2");
	CHECK(!(d.flow.flags & COLO_CMP_F_SEQ_KNOWN));
}

static void test_reset_after_checkpoint(void)
{
	tcp();
	drv_established(&d, 0, 10);
	drv_add(&d, P, "p1", 0, 10, A, "abc");
	drv_add(&d, P, "p2", 3, 30, A, "def");
	drv_add(&d, S, "s1", 0, 10, A, "abX");
	CHECK_LOG(&d, "!2/2");
	/* checkpoint: the caller flushes and resets */
	drv_flush(&d);
	drv_clear_log(&d);
	drv_reset(&d);
	CHECK(!(d.flow.flags & COLO_CMP_F_SEQ_KNOWN));
	/* the SVM is now the PVM: what the PVM acked counts as acked */
	CHECK_EQ(d.flow.max_ack[S], 30);
	/* a fresh start at the later of the next heads */
	drv_add(&d, P, "p3", 6, 30, A, "ghi");
	drv_add(&d, S, "s3", 8, 30, A, "i");
	CHECK_LOG(&d, "+p3 -s3");
	drv_add(&d, P, "p4", 9, 30, A, "j");
	drv_add(&d, S, "s4", 9, 30, A, "j");
	CHECK_LOG(&d, "+p4 -s4");
	CHECK_EQ(d.flow.compared_seq, 10);
}

/* --- wrap-around ------------------------------------------------------- */

static void test_wrap_stream(void)
{
	tcp();
	drv_established(&d, 0xfffffffau, 1);
	drv_add(&d, P, "p1", 0xfffffffau, 1, A, "abc");
	drv_add(&d, P, "p2", 0xfffffffdu, 1, A, "defghij");
	drv_add(&d, S, "s1", 0xfffffffau, 1, A, "abcdefghij");
	CHECK_LOG(&d, "+p1 +p2 -s1");
	CHECK_EQ(d.flow.compared_seq, 4);
	/* a segment just before the wrap is a retransmission now */
	drv_add(&d, P, "p1r", 0xfffffffau, 1, A, "abc");
	CHECK_LOG(&d, "+p1r");
	/* queue order across the wrap: 0xfffffffe sorts before 2 */
	tcp();
	drv_established(&d, 0xfffffffeu, 1);
	drv_add(&d, P, "p2", 2, 1, A, "cd");
	drv_add(&d, P, "p1", 0xfffffffeu, 1, A, "abcd");
	drv_add(&d, S, "s1", 0xfffffffeu, 1, A, "abcdcX");
	CHECK_LOG(&d, "+p1 !3/1");
}

static void test_wrap_join(void)
{
	tcp();
	drv_add(&d, S, "a", 0, 1, A, NULL);
	drv_add(&d, P, "p1", 0xfffffffcu, 1, A, "12345678");
	drv_add(&d, S, "s1", 0xfffffffeu, 1, A, "345678");
	CHECK_LOG(&d, "-a +p1 -s1");
	CHECK_EQ(d.flow.compared_seq, 4);
}

/* --- datagrams ------------------------------------------------------------ */

static void test_datagram(void)
{
	drv_free(&d);
	drv_init(&d, false);
	drv_add(&d, P, "p1", 0, 0, 0, "ping");
	CHECK_LOG(&d, "");
	drv_add(&d, S, "s1", 0, 0, 0, "ping");
	CHECK_LOG(&d, "+p1 -s1");
	drv_add(&d, S, "s2", 0, 0, 0, NULL);
	drv_add(&d, P, "p2", 0, 0, 0, NULL);
	CHECK_LOG(&d, "+p2 -s2");
	drv_add(&d, P, "p3", 0, 0, 0, "abcdef");
	drv_add(&d, S, "s3", 0, 0, 0, "abcdXf");
	CHECK_LOG(&d, "!4");
	CHECK_EQ(d.res.seq, 0);

	drv_free(&d);
	drv_init(&d, false);
	drv_add(&d, P, "p1", 0, 0, 0, "abc");
	drv_add(&d, S, "s1", 0, 0, 0, "abcd");
	CHECK_LOG(&d, "!3");
	drv_free(&d);
	drv_init(&d, false);
	drv_add(&d, P, "p1", 0, 0, 0, "abc");
	drv_add(&d, S, "s1", 0, 0, 0, "Xbc");
	CHECK_LOG(&d, "!0");
}

static void test_datagram_null(void)
{
	struct colo_cmp_pkt p = { .len = 1, .data = "x" };
	struct colo_cmp_result res = { 7, 7 };

	CHECK_EQ(colo_cmp_datagram(NULL, NULL, NULL, &res), COLO_CMP_WAIT);
	CHECK_EQ(colo_cmp_datagram(&p, NULL, NULL, &res), COLO_CMP_WAIT);
	CHECK_EQ(colo_cmp_datagram(NULL, &p, NULL, &res), COLO_CMP_WAIT);
	CHECK_EQ(res.seq, 7);
}

/* --- note() ------------------------------------------------------------- */

static void test_note(void)
{
	struct colo_cmp_tcp f = { 0 };
	struct colo_cmp_pkt a = { .ack = 5, .tcp_flags = COLO_TCP_ACK };
	struct colo_cmp_pkt noack = { .ack = 900 };

	colo_cmp_tcp_note(&f, S, &noack);
	CHECK_EQ(f.flags, 0);
	colo_cmp_tcp_note(&f, S, &a);
	CHECK_EQ(f.flags, COLO_CMP_F_ACK_SVM);
	CHECK_EQ(f.max_ack[S], 5);
	a.ack = 3;
	colo_cmp_tcp_note(&f, S, &a);
	CHECK_EQ(f.max_ack[S], 5);
	a.ack = 0x80000006u;	/* more than 2^31 ahead: "before" */
	colo_cmp_tcp_note(&f, S, &a);
	CHECK_EQ(f.max_ack[S], 5);
	a.ack = 0x80000004u;	/* less than 2^31 ahead: "after" */
	colo_cmp_tcp_note(&f, S, &a);
	CHECK_EQ(f.max_ack[S], 0x80000004u);
	colo_cmp_tcp_note(&f, P, &a);
	CHECK_EQ(f.flags, COLO_CMP_F_ACK_SVM | COLO_CMP_F_ACK_PVM);
	CHECK_EQ(f.max_ack[P], 0x80000004u);
}

/* --- two-phase checkpoint: the mark ------------------------------------ */

static const u32 mark_none[2] = { 0, 0 };

static void test_mark_hides_unmarked_heads(void)
{
	static const u32 marked[2] = { 2, 1 };
	struct colo_cmp_mark m = {};

	CHECK(!colo_cmp_mark_pending(&m));
	CHECK(colo_cmp_mark_visible(&m, false));
	colo_cmp_mark_take(&m, &d.flow, marked);
	CHECK(colo_cmp_mark_pending(&m));
	CHECK(colo_cmp_mark_visible(&m, true));
	CHECK(!colo_cmp_mark_visible(&m, false));
	/* The worker matches the marked packets before the commit. */
	colo_cmp_mark_drop(&m, P);
	colo_cmp_mark_drop(&m, S);
	CHECK(!colo_cmp_mark_visible(&m, false));
	colo_cmp_mark_drop(&m, P);
	CHECK(!colo_cmp_mark_pending(&m));
	CHECK(colo_cmp_mark_visible(&m, false));
	/* Never below zero. */
	colo_cmp_mark_drop(&m, P);
	CHECK_EQ(m.held[P], 0);
}

static void test_mark_second_begin_adds(void)
{
	static const u32 first[2] = { 2, 0 }, second[2] = { 1, 3 };
	struct colo_cmp_mark m = {};

	drv_established(&d, 100, 1000);
	colo_cmp_mark_take(&m, &d.flow, first);
	colo_cmp_mark_drop(&m, P);
	d.flow.max_ack[P] = 1200;
	colo_cmp_mark_take(&m, &d.flow, second);
	CHECK_EQ(m.held[P], 2);
	CHECK_EQ(m.held[S], 3);
	/* The mark moved: the PVM's ack as of the second begin. */
	CHECK_EQ(m.pvm_ack, 1200);
	colo_cmp_mark_take(&m, &d.flow, mark_none);
	CHECK_EQ(m.held[P], 2);
}

static u32 cmp_equal(const struct colo_cmp_pkt *p, u32 poff,
		     const struct colo_cmp_pkt *s, u32 soff, u32 len)
{
	(void)p; (void)poff; (void)s; (void)soff;
	return len;
}

/*
 * After the commit the SVM counts as having acknowledged what the PVM had
 * at the mark and what the SVM itself acknowledged since, not what the PVM
 * acknowledged after the mark.
 */
static void test_mark_commit_acks_as_of_mark(void)
{
	static const u32 marked[2] = { 1, 1 };
	struct colo_cmp_pkt late_pvm = { .seq = 300, .ack = 2000,
					 .tcp_flags = A };
	struct colo_cmp_pkt late_svm = { .seq = 300, .ack = 1500,
					 .tcp_flags = A };
	struct colo_cmp_result res;
	struct colo_cmp_mark m = {};

	drv_established(&d, 300, 1000);
	colo_cmp_mark_take(&m, &d.flow, marked);
	/* Queued after the begin: PVM acks 2000, the new SVM 1500. */
	colo_cmp_tcp_note(&d.flow, P, &late_pvm);
	colo_cmp_mark_note(&m, P, &late_pvm);
	colo_cmp_tcp_note(&d.flow, S, &late_svm);
	colo_cmp_mark_note(&m, S, &late_svm);
	/* The old SVM's ack, seen before the begin, does not count. */
	d.flow.max_ack[S] = 1800;
	colo_cmp_mark_commit(&m, &d.flow);
	CHECK(!colo_cmp_mark_pending(&m));
	CHECK(!(d.flow.flags & COLO_CMP_F_SEQ_KNOWN));
	CHECK(d.flow.flags & COLO_CMP_F_ACK_SVM);
	CHECK_EQ(d.flow.max_ack[S], 1500);
	CHECK_EQ(d.flow.max_ack[P], 2000);
	/* The PVM's ACK of 2000 waits for the SVM's. */
	CHECK_EQ(colo_cmp_tcp_step(&d.flow, &late_pvm, NULL, cmp_equal, &res),
		 COLO_CMP_WAIT);
	late_svm.ack = 2000;
	colo_cmp_tcp_note(&d.flow, S, &late_svm);
	CHECK_EQ(colo_cmp_tcp_step(&d.flow, &late_pvm, NULL, cmp_equal, &res),
		 COLO_CMP_RELEASE_PVM);
}

/* Without an SVM ack since the mark: the PVM's ack at the mark. */
static void test_mark_commit_pvm_ack_at_mark(void)
{
	static const u32 marked[2] = { 1, 0 };
	struct colo_cmp_pkt svm_before = { .seq = 300, .ack = 900,
					   .tcp_flags = A };
	struct colo_cmp_mark m = {};

	drv_established(&d, 300, 1000);
	/* Not pending yet: the SVM's ack is not the mark's. */
	colo_cmp_mark_note(&m, S, &svm_before);
	CHECK(!(m.flags & COLO_CMP_F_ACK_SVM));
	colo_cmp_mark_take(&m, &d.flow, marked);
	d.flow.max_ack[P] = 2000;
	colo_cmp_mark_commit(&m, &d.flow);
	CHECK_EQ(d.flow.max_ack[S], 1000);
	CHECK(d.flow.flags & COLO_CMP_F_ACK_SVM);
}

/* A mark before any ack (the handshake): the SVM has acknowledged nothing. */
static void test_mark_commit_no_ack(void)
{
	static const u32 marked[2] = { 1, 1 };
	struct colo_cmp_mark m = {};

	d.flow.max_ack[S] = 77;
	d.flow.flags = COLO_CMP_F_ACK_SVM | COLO_CMP_F_SEQ_KNOWN;
	colo_cmp_mark_take(&m, &d.flow, marked);
	colo_cmp_mark_commit(&m, &d.flow);
	CHECK_EQ(d.flow.flags, COLO_CMP_F_RESYNCED);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
#define T(x) { #x, test_##x }
	T(pvm_3_7_svm_10),
	T(mark_hides_unmarked_heads),
	T(mark_second_begin_adds),
	T(mark_commit_acks_as_of_mark),
	T(mark_commit_pvm_ack_at_mark),
	T(mark_commit_no_ack),
	T(pvm_10_svm_3_7),
	T(overlapping_cuts),
	T(exhaustive_equal),
	T(exhaustive_diff),
	T(exhaustive_wrap),
	T(one_byte_differs),
	T(first_byte_differs),
	T(diff_in_partly_compared_head),
	T(retransmission_released_uncompared),
	T(retransmission_held_by_ack_rule),
	T(gap_waits),
	T(gap_on_one_side),
	T(ack_rule),
	T(ack_rule_svm_never_acked),
	T(no_ack_flag_no_constraint),
	T(ack_wrap),
	T(syn_ack_exchange),
	T(bare_syn),
	T(syn_ack_held_by_ack_rule),
	T(syn_mismatch),
	T(syn_payload),
	T(syn_vs_non_syn),
	T(stale_svm_syn_after_checkpoint),
	T(fin_match),
	T(fin_split),
	T(fin_vs_data),
	T(rst),
	T(pure_acks),
	T(midway_join),
	T(midway_join_miscompare_keeps_state),
	T(reset_after_checkpoint),
	T(wrap_stream),
	T(wrap_join),
	T(datagram),
	T(datagram_null),
	T(note),
#undef T
};

int main(void)
{
	unsigned int i, passed = 0, failed = 0;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		cur_test = tests[i].name;
		failed_checks = 0;
		tcp();
		tests[i].fn();
		if (d.error) {
			printf("  %s: driver: %s\n", cur_test, d.error);
			failed_checks++;
		}
		if (failed_checks) {
			printf("FAIL %s\n", cur_test);
			failed++;
		} else {
			printf("ok   %s\n", cur_test);
			passed++;
		}
	}
	drv_free(&d);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
