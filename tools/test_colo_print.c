// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of coloctl's reply parsing and output: hand-built netlink
 * messages in, exact text out. Needs no kernel module.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_nl.h"
#include "colo_print.h"

#define FAMILY_ID	0x1c

static int passed, failed;
static char msgbuf[8192];

static void check(bool ok, const char *name)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL: %s\n", name);
	}
}

static void check_str(const char *got, const char *want, const char *name)
{
	bool ok = got && !strcmp(got, want);

	check(ok, name);
	if (!ok)
		printf("  want: \"%s\"\n  got:  \"%s\"\n", want,
		       got ? got : "(null)");
}

static struct nlmsghdr *genl_msg(uint16_t type, uint8_t cmd)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = type;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = NFCOLO_GENL_VERSION;
	return nlh;
}

/* ---- instances ---- */

static char *instance_text(const struct nlmsghdr *nlh, bool json)
{
	struct colo_instance in;
	char *out = NULL;
	size_t len;
	FILE *f;

	if (colo_parse_instance(nlh, &in) < 0)
		return NULL;
	f = open_memstream(&out, &len);
	colo_print_instance(f, &in, json);
	fclose(f);
	return out;
}

static void put_stat(struct nlmsghdr *nlh, uint16_t id, uint64_t v)
{
	mnl_attr_put_u64(nlh, id, v);
}

/* A primary owned by portid 4242, as PROXY_GET would describe it. */
static struct nlmsghdr *owned_primary(void)
{
	struct nlmsghdr *nlh = genl_msg(FAMILY_ID, NFCOLO_PROXY_GET);
	struct nlattr *stats;

	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, 1);
	mnl_attr_put_u8(nlh, NFCOLO_A_MODE, NFCOLO_MODE_PRIMARY);
	mnl_attr_put_u32(nlh, NFCOLO_A_FLAGS, 0);
	mnl_attr_put_u8(nlh, NFCOLO_A_STATE, NFCOLO_STATE_ACTIVE);
	mnl_attr_put_u32(nlh, NFCOLO_A_OWNER_PORTID, 4242);
	mnl_attr_put_u32(nlh, NFCOLO_A_COMPARE_TIMEOUT_MS, 3000);
	mnl_attr_put_u32(nlh, NFCOLO_A_QUEUE_LIMIT, 8192);
	mnl_attr_put_u8(nlh, NFCOLO_A_NEIGH_CHECKPOINT, 0);
	mnl_attr_put_u8(nlh, NFCOLO_A_CHECKPOINT_PENDING, 1);
	mnl_attr_put_u32(nlh, NFCOLO_A_COMPARE_SHARDS, 2);
	stats = mnl_attr_nest_start(nlh, NFCOLO_A_STATS);
	mnl_attr_put(nlh, NFCOLO_STATS_PAD, 0, NULL);
	put_stat(nlh, NFCOLO_STATS_CHECKPOINTS_REQUESTED, 3);
	put_stat(nlh, NFCOLO_STATS_PKTS_COMPARED, 123456789012ULL);
	put_stat(nlh, 200, 7);			/* a newer kernel's counter */
	mnl_attr_put_u32(nlh, NFCOLO_STATS_PKTS_MATCHED, 5);	/* not u64 */
	mnl_attr_nest_end(nlh, stats);
	mnl_attr_put_u32(nlh, 90, 1);		/* unknown attribute */
	return nlh;
}

static void test_instance_human(void)
{
	char *s = instance_text(owned_primary(), false);

	check_str(s,
		  "index 1\n"
		  "  mode: primary\n"
		  "  state: active\n"
		  "  owner: 4242\n"
		  "  compare timeout: 3000 ms\n"
		  "  queue limit: 8192\n"
		  "  neigh checkpoint: off\n"
		  "  compare shards: 2\n"
		  "  checkpoint pending: yes\n"
		  "  stats:\n"
		  "    checkpoints_requested: 3\n"
		  "    pkts_compared: 123456789012\n"
		  "    stat_200: 7\n",
		  "instance, human");
	free(s);
}

static void test_instance_json(void)
{
	char *s = instance_text(owned_primary(), true);

	check_str(s,
		  "{\"index\":1,\"mode\":\"primary\",\"state\":\"active\","
		  "\"owner\":4242,\"persistent\":false,"
		  "\"compare_timeout_ms\":3000,\"queue_limit\":8192,"
		  "\"neigh_checkpoint\":false,\"compare_shards\":2,"
		  "\"checkpoint_pending\":true,\"stats\":{"
		  "\"checkpoints_requested\":3,\"pkts_compared\":123456789012,"
		  "\"stat_200\":7}}",
		  "instance, JSON");
	free(s);
}

static struct nlmsghdr *persistent_secondary(uint32_t flags, bool put_flags)
{
	struct nlmsghdr *nlh = genl_msg(FAMILY_ID, NFCOLO_PROXY_GET);

	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, 65535);
	mnl_attr_put_u8(nlh, NFCOLO_A_MODE, NFCOLO_MODE_SECONDARY);
	if (put_flags)
		mnl_attr_put_u32(nlh, NFCOLO_A_FLAGS, flags);
	mnl_attr_put_u8(nlh, NFCOLO_A_STATE, NFCOLO_STATE_FAILED_OVER);
	mnl_attr_put_u8(nlh, NFCOLO_A_CHECKPOINT_PENDING, 0);
	return nlh;
}

static void test_instance_persistent(void)
{
	char *s;

	s = instance_text(persistent_secondary(NFCOLO_F_PERSISTENT, true),
			  true);
	check_str(s,
		  "{\"index\":65535,\"mode\":\"secondary\","
		  "\"state\":\"failed-over\",\"owner\":null,"
		  "\"persistent\":true,\"checkpoint_pending\":false,"
		  "\"stats\":{}}",
		  "persistent instance, JSON");
	free(s);
	s = instance_text(persistent_secondary(NFCOLO_F_PERSISTENT, true),
			  false);
	check_str(s,
		  "index 65535\n"
		  "  mode: secondary\n"
		  "  state: failed-over\n"
		  "  owner: persistent\n"
		  "  checkpoint pending: no\n",
		  "persistent instance, human");
	free(s);
	/* Owner socket closed, instance failed over: neither. */
	s = instance_text(persistent_secondary(0, true), false);
	check(s && strstr(s, "  owner: none\n"), "orphaned instance: none");
	free(s);
	/* No FLAGS in the reply: no owner means persistent. */
	s = instance_text(persistent_secondary(0, false), true);
	check(s && strstr(s, "\"persistent\":true"), "persistent w/o flags");
	free(s);
}

static void test_instance_malformed(void)
{
	struct nlmsghdr *nlh;
	char *s;

	nlh = genl_msg(FAMILY_ID, NFCOLO_PROXY_GET);
	mnl_attr_put_u16(nlh, NFCOLO_A_INDEX, 1);	/* wrong size */
	check(instance_text(nlh, false) == NULL, "u16 index rejected");

	nlh = genl_msg(FAMILY_ID, NFCOLO_PROXY_GET);
	check(instance_text(nlh, false) == NULL, "missing index rejected");

	nlh = genl_msg(FAMILY_ID, NFCOLO_PROXY_GET);
	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, 9);
	mnl_attr_put_u8(nlh, NFCOLO_A_MODE, 7);
	mnl_attr_put_u8(nlh, NFCOLO_A_STATE, 9);
	mnl_attr_put_u32(nlh, NFCOLO_A_QUEUE_LIMIT, 16);
	mnl_attr_put_u8(nlh, NFCOLO_A_COMPARE_TIMEOUT_MS, 1); /* wrong size */
	s = instance_text(nlh, true);
	check_str(s,
		  "{\"index\":9,\"mode\":\"mode_7\",\"state\":\"state_9\","
		  "\"owner\":null,\"persistent\":true,\"queue_limit\":16,"
		  "\"stats\":{}}",
		  "unknown values, bad attribute skipped");
	free(s);

	/* Too short to even hold a genetlink header. */
	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = FAMILY_ID;
	check(instance_text(nlh, false) == NULL, "no genl header rejected");
}

/* ---- events ---- */

static char *event_text(const struct nlmsghdr *nlh, bool json)
{
	struct colo_event ev;
	char *out = NULL;
	size_t len;
	FILE *f;

	if (colo_parse_event(nlh, &ev) < 0)
		return NULL;
	f = open_memstream(&out, &len);
	colo_print_event(f, &ev, json);
	fclose(f);
	return out;
}

struct flow {
	uint8_t reason;
	int family;
	uint8_t proto;
	const char *vm, *peer;
	int vm_port, peer_port;		/* -1: absent */
};

static struct nlmsghdr *event_msg(uint32_t index, const struct flow *fl)
{
	struct nlmsghdr *nlh = genl_msg(FAMILY_ID, NFCOLO_KERNEL_NOTIFY);
	uint8_t addr[16];
	struct nlattr *ev;
	size_t alen = fl->family == AF_INET6 ? 16 : 4;

	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, index);
	mnl_attr_put_u8(nlh, NFCOLO_A_MODE, NFCOLO_MODE_PRIMARY);
	ev = mnl_attr_nest_start(nlh, NFCOLO_A_EVENT);
	mnl_attr_put_u8(nlh, NFCOLO_EV_REASON, fl->reason);
	mnl_attr_put_u8(nlh, NFCOLO_EV_FAMILY, fl->family);
	if (fl->proto)	/* 0: none (an ARP request) */
		mnl_attr_put_u8(nlh, NFCOLO_EV_L4PROTO, fl->proto);
	inet_pton(fl->family, fl->vm, addr);
	mnl_attr_put(nlh, NFCOLO_EV_VM_ADDR, alen, addr);
	inet_pton(fl->family, fl->peer, addr);
	mnl_attr_put(nlh, NFCOLO_EV_PEER_ADDR, alen, addr);
	if (fl->vm_port >= 0)
		mnl_attr_put_u16(nlh, NFCOLO_EV_VM_PORT, fl->vm_port);
	if (fl->peer_port >= 0)
		mnl_attr_put_u16(nlh, NFCOLO_EV_PEER_PORT, fl->peer_port);
	mnl_attr_nest_end(nlh, ev);
	return nlh;
}

/* Reopen the event nest, the message's last attribute, to extend it. */
static struct nlattr *event_nest(struct nlmsghdr *nlh)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN);

	while (mnl_attr_get_type(attr) != NFCOLO_A_EVENT)
		attr = mnl_attr_next(attr);
	return attr;
}

static void test_event_ipv4(void)
{
	const struct flow fl = { NFCOLO_REASON_MISCOMPARE, AF_INET,
				 IPPROTO_TCP, "10.0.0.2", "10.0.0.1",
				 80, 43210 };
	struct nlmsghdr *nlh = event_msg(1, &fl);
	struct nlattr *ev = event_nest(nlh);
	char *s;

	mnl_attr_put_u32(nlh, NFCOLO_EV_SEQ, 123456);
	mnl_attr_put_u32(nlh, NFCOLO_EV_OFFSET, 17);
	mnl_attr_nest_end(nlh, ev);

	s = event_text(nlh, false);
	check_str(s, "checkpoint requested: index 1 reason miscompare tcp "
		  "10.0.0.2:80 <-> 10.0.0.1:43210 seq 123456 offset 17\n",
		  "event IPv4, human");
	free(s);
	s = event_text(nlh, true);
	check_str(s, "{\"event\":\"checkpoint_requested\",\"index\":1,"
		  "\"mode\":\"primary\",\"reason\":\"miscompare\","
		  "\"family\":\"ipv4\",\"l4proto\":\"tcp\","
		  "\"vm_addr\":\"10.0.0.2\",\"vm_port\":80,"
		  "\"peer_addr\":\"10.0.0.1\",\"peer_port\":43210,"
		  "\"seq\":123456,\"offset\":17}\n",
		  "event IPv4, JSON");
	free(s);
	check(colo_is_event(nlh, FAMILY_ID), "NOTIFY is an event");
	check(!colo_is_event(nlh, FAMILY_ID + 1), "other family: no event");
}

static void test_event_ipv6(void)
{
	const struct flow fl = { NFCOLO_REASON_QUEUE_FULL, AF_INET6,
				 IPPROTO_UDP, "fd00::2", "2001:db8::1",
				 53, 5353 };
	char *s;

	s = event_text(event_msg(7, &fl), false);
	check_str(s, "checkpoint requested: index 7 reason queue_full udp "
		  "[fd00::2]:53 <-> [2001:db8::1]:5353\n",
		  "event IPv6, human");
	free(s);
	s = event_text(event_msg(7, &fl), true);
	check_str(s, "{\"event\":\"checkpoint_requested\",\"index\":7,"
		  "\"mode\":\"primary\",\"reason\":\"queue_full\","
		  "\"family\":\"ipv6\",\"l4proto\":\"udp\","
		  "\"vm_addr\":\"fd00::2\",\"vm_port\":53,"
		  "\"peer_addr\":\"2001:db8::1\",\"peer_port\":5353}\n",
		  "event IPv6, JSON");
	free(s);
}

/* The SVM asked for a neighbour: ARP has no transport protocol. */
static void test_event_neigh(void)
{
	const struct flow arp = { NFCOLO_REASON_NEIGH, AF_INET, 0,
				  "10.0.0.2", "10.0.0.1", -1, -1 };
	const struct flow ns = { NFCOLO_REASON_NEIGH, AF_INET6,
				 IPPROTO_ICMPV6, "fd00::2", "fd00::1", -1, -1 };
	char *s;

	s = event_text(event_msg(1, &arp), false);
	check_str(s, "checkpoint requested: index 1 reason neigh "
		  "10.0.0.2 <-> 10.0.0.1\n", "event neigh ARP, human");
	free(s);
	s = event_text(event_msg(1, &arp), true);
	check_str(s, "{\"event\":\"checkpoint_requested\",\"index\":1,"
		  "\"mode\":\"primary\",\"reason\":\"neigh\","
		  "\"family\":\"ipv4\",\"vm_addr\":\"10.0.0.2\","
		  "\"peer_addr\":\"10.0.0.1\"}\n", "event neigh ARP, JSON");
	free(s);
	s = event_text(event_msg(1, &ns), false);
	check_str(s, "checkpoint requested: index 1 reason neigh icmpv6 "
		  "fd00::2 <-> fd00::1\n", "event neigh NS, human");
	free(s);
}

static void test_event_icmp_timeout(void)
{
	const struct flow fl = { NFCOLO_REASON_TIMEOUT, AF_INET6,
				 IPPROTO_ICMPV6, "fd00::2", "fd00::1",
				 -1, -1 };
	struct nlmsghdr *nlh = event_msg(3, &fl);
	struct nlattr *ev = event_nest(nlh);
	char *s;

	mnl_attr_put_u32(nlh, NFCOLO_EV_AGE_MS, 3001);
	mnl_attr_put_u32(nlh, 31, 0);		/* unknown event attribute */
	mnl_attr_nest_end(nlh, ev);
	s = event_text(nlh, false);
	check_str(s, "checkpoint requested: index 3 reason timeout icmpv6 "
		  "fd00::2 <-> fd00::1 age 3001 ms\n",
		  "event ICMPv6 timeout, human");
	free(s);
}

static void test_event_malformed(void)
{
	struct nlmsghdr *nlh = genl_msg(FAMILY_ID, NFCOLO_KERNEL_NOTIFY);
	const uint8_t v6[16] = { 0xfd, [15] = 1 };
	struct nlattr *ev;
	char *s;

	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, 2);
	ev = mnl_attr_nest_start(nlh, NFCOLO_A_EVENT);
	mnl_attr_put_u8(nlh, NFCOLO_EV_REASON, 9);
	mnl_attr_put_u8(nlh, NFCOLO_EV_FAMILY, AF_INET);
	mnl_attr_put_u8(nlh, NFCOLO_EV_L4PROTO, 47);
	mnl_attr_put(nlh, NFCOLO_EV_VM_ADDR, 16, v6);	/* not AF_INET */
	mnl_attr_put(nlh, NFCOLO_EV_PEER_ADDR, 5, v6);	/* bad length */
	mnl_attr_put_u8(nlh, NFCOLO_EV_SEQ, 1);		/* bad length */
	mnl_attr_nest_end(nlh, ev);
	s = event_text(nlh, false);
	check_str(s, "checkpoint requested: index 2 reason reason_9 "
		  "proto_47\n", "malformed event, human");
	free(s);
	s = event_text(nlh, true);
	check_str(s, "{\"event\":\"checkpoint_requested\",\"index\":2,"
		  "\"reason\":\"reason_9\",\"family\":\"ipv4\","
		  "\"l4proto\":\"proto_47\"}\n", "malformed event, JSON");
	free(s);

	nlh = genl_msg(FAMILY_ID, NFCOLO_KERNEL_NOTIFY);
	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, 4);
	s = event_text(nlh, false);
	check_str(s, "checkpoint requested: index 4\n", "bare event");
	free(s);
}

static void test_ready_done(void)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	colo_print_ready(f, 5, NFCOLO_MODE_SECONDARY, false);
	colo_print_ready(f, 5, NFCOLO_MODE_PRIMARY, true);
	colo_print_checkpoint_done(f, 5, false);
	colo_print_checkpoint_done(f, 5, true);
	fclose(f);
	check_str(out, "ready: index 5 mode secondary\n"
		  "{\"event\":\"ready\",\"index\":5,\"mode\":\"primary\"}\n"
		  "checkpoint done: index 5\n"
		  "{\"event\":\"checkpoint_done\",\"index\":5}\n",
		  "ready and checkpoint done lines");
	free(out);
}

/* --json is one array, as run prints it: ready, then done; or empty. */
static void test_json_array(void)
{
	struct colo_json_array a;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	colo_json_array_init(&a, f, true);
	colo_json_array_end(&a);
	colo_json_array_init(&a, f, true);
	colo_json_array_next(&a);
	colo_print_ready(f, 5, NFCOLO_MODE_PRIMARY, true);
	colo_json_array_next(&a);
	colo_print_checkpoint_done(f, 5, true);
	colo_json_array_end(&a);
	colo_json_array_init(&a, f, false);
	colo_json_array_next(&a);
	colo_print_checkpoint_done(f, 6, false);
	colo_json_array_end(&a);
	fclose(f);
	check_str(out, "[]\n"
		  "[{\"event\":\"ready\",\"index\":5,\"mode\":\"primary\"}\n"
		  ",{\"event\":\"checkpoint_done\",\"index\":5}\n"
		  "]\n"
		  "checkpoint done: index 6\n",
		  "a JSON array of lines, nothing around human text");
	free(out);
}

static void test_json_string(void)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	colo_json_string(f, "a\"b\\c\nd\x01\xc3\xa9");
	fclose(f);
	check_str(out, "\"a\\\"b\\\\c\\u000ad\\u0001\xc3\xa9\"",
		  "JSON string escaping");
	free(out);
}

static void test_names(void)
{
	char buf[COLO_NAME_LEN], unknown[COLO_NAME_LEN];

	check_str(colo_stat_name(NFCOLO_STATS_FLOWS_UNTRACKED, buf),
		  "flows_untracked", "stat name from the enum");
	/* The first id this build does not know, whatever the enum's size. */
	snprintf(unknown, sizeof(unknown), "stat_%u", NFCOLO_STATS_MAX + 1);
	check_str(colo_stat_name(NFCOLO_STATS_MAX + 1, buf), unknown,
		  "unknown stat id");
	check_str(colo_stat_name(UINT16_MAX, buf), "stat_65535",
		  "largest stat id");
	check_str(colo_mode_name(NFCOLO_MODE_UNSPEC, buf), "pending",
		  "unset mode: a libxl instance before its rule");
	check_str(colo_l4proto_name(IPPROTO_ICMP, buf), "icmp", "icmp name");
}

/* ---- acks, errors, family resolution ---- */

static struct nlmsghdr *err_msg(int error, uint16_t flags, size_t echo,
				const char *text)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *err;

	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = flags;
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err) + echo);
	err->error = error;
	err->msg.nlmsg_len = sizeof(struct nlmsghdr) + echo;
	err->msg.nlmsg_type = FAMILY_ID;
	/* The echoed request must not be mistaken for TLVs. */
	memset(err + 1, 0x01, echo);
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	return nlh;
}

static void test_errors(void)
{
	struct colo_err e;
	struct nlmsghdr *nlh;

	check(colo_parse_err(err_msg(0, NLM_F_CAPPED, 0, NULL), &e) &&
	      e.err == 0 && !e.msg[0], "plain ACK");
	check(colo_parse_err(err_msg(-EEXIST, NLM_F_CAPPED | NLM_F_ACK_TLVS,
				     0, "index 1 already exists"), &e) &&
	      e.err == EEXIST, "capped error");
	check_str(e.msg, "index 1 already exists", "capped extack message");
	check(colo_parse_err(err_msg(-ENOENT, NLM_F_ACK_TLVS, 24,
				     "no such instance"), &e) &&
	      e.err == ENOENT, "uncapped error");
	check_str(e.msg, "no such instance", "uncapped extack message");
	/* TLVs are only there when NLM_F_ACK_TLVS says so. */
	colo_parse_err(err_msg(-EINVAL, NLM_F_CAPPED, 0, "ignored"), &e);
	check(e.err == EINVAL && !e.msg[0], "no ACK_TLVS, no message");

	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct nlmsgerr)) =
		-EPERM;
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_MISS_TYPE, NFCOLO_A_MODE);
	colo_parse_err(nlh, &e);
	check(e.err == EPERM, "missing-attribute error");
	check_str(e.msg, "missing attribute 3", "missing-attribute message");

	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = NLMSG_DONE;
	check(colo_parse_err(nlh, &e) && e.err == 0, "empty DONE");
	nlh->nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = -EMSGSIZE;
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "dump failed");
	check(colo_parse_err(nlh, &e) && e.err == EMSGSIZE, "DONE error");
	check_str(e.msg, "dump failed", "DONE extack message");

	check(!colo_parse_err(genl_msg(FAMILY_ID, NFCOLO_PROXY_GET), &e),
	      "a reply does not end the request");

	/* Truncated NLMSG_ERROR must not be read past its end. */
	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = NLMSG_ERROR;
	check(colo_parse_err(nlh, &e) && e.err == EBADMSG, "short error");
}

static void put_mcgrp(struct nlmsghdr *nlh, uint16_t nr, const char *name,
		      uint32_t id)
{
	struct nlattr *grp = mnl_attr_nest_start(nlh, nr);

	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, id);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, name);
	mnl_attr_nest_end(nlh, grp);
}

static void test_family(void)
{
	struct nlmsghdr *nlh = genl_msg(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY);
	struct colo_family fam;
	struct nlattr *grps;

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NFCOLO_GENL_NAME);
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, FAMILY_ID);
	mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, NFCOLO_GENL_VERSION);
	grps = mnl_attr_nest_start(nlh, CTRL_ATTR_MCAST_GROUPS);
	put_mcgrp(nlh, 1, "other", 5);
	put_mcgrp(nlh, 2, NFCOLO_MCGRP_EVENTS, 11);
	mnl_attr_nest_end(nlh, grps);
	check(colo_parse_family(nlh, &fam) == 0, "family parsed");
	check(fam.id == FAMILY_ID, "family id");
	check(fam.version == NFCOLO_GENL_VERSION, "family version");
	check(fam.events_group == 11, "events group id");

	nlh = genl_msg(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY);
	mnl_attr_put_u32(nlh, CTRL_ATTR_FAMILY_ID, FAMILY_ID); /* not u16 */
	check(colo_parse_family(nlh, &fam) < 0, "bad family id rejected");
}

int main(void)
{
	test_instance_human();
	test_instance_json();
	test_instance_persistent();
	test_instance_malformed();
	test_event_ipv4();
	test_event_ipv6();
	test_event_neigh();
	test_event_icmp_timeout();
	test_event_malformed();
	test_ready_done();
	test_json_array();
	test_json_string();
	test_names();
	test_errors();
	test_family();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
