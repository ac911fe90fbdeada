// SPDX-License-Identifier: GPL-2.0
/*
 * coloctl: parsing of nfcolo replies and events, and their human and JSON
 * output.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_print.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const colo_mode_names[] = {
	[NFCOLO_MODE_UNSPEC]	= "pending",
	[NFCOLO_MODE_PRIMARY]	= "primary",
	[NFCOLO_MODE_SECONDARY]	= "secondary",
};
_Static_assert(ARRAY_SIZE(colo_mode_names) == __NFCOLO_MODE_MAX,
	       "name every enum nfcolo_mode value");

static const char *const colo_state_names[] = {
	[NFCOLO_STATE_ACTIVE]		= "active",
	[NFCOLO_STATE_FAILED_OVER]	= "failed-over",
};
_Static_assert(ARRAY_SIZE(colo_state_names) == __NFCOLO_STATE_MAX,
	       "name every enum nfcolo_state value");

static const char *const colo_reason_names[] = {
	[NFCOLO_REASON_MISCOMPARE]	= "miscompare",
	[NFCOLO_REASON_TIMEOUT]		= "timeout",
	[NFCOLO_REASON_QUEUE_FULL]	= "queue_full",
	[NFCOLO_REASON_FLOW_LIMIT]	= "flow_limit",
	[NFCOLO_REASON_NEIGH]		= "neigh",
};
_Static_assert(ARRAY_SIZE(colo_reason_names) == __NFCOLO_REASON_MAX,
	       "name every enum nfcolo_reason value");

static const char *const colo_stat_names[] = {
	[NFCOLO_STATS_CHECKPOINTS_REQUESTED]	= "checkpoints_requested",
	[NFCOLO_STATS_CHECKPOINTS_DONE]		= "checkpoints_done",
	[NFCOLO_STATS_FAILOVERS]		= "failovers",
	[NFCOLO_STATS_PKTS_COMPARED]		= "pkts_compared",
	[NFCOLO_STATS_BYTES_COMPARED]		= "bytes_compared",
	[NFCOLO_STATS_PKTS_MATCHED]		= "pkts_matched",
	[NFCOLO_STATS_PKTS_RELEASED]		= "pkts_released",
	[NFCOLO_STATS_BYTES_RELEASED]		= "bytes_released",
	[NFCOLO_STATS_SVM_PKTS_CAPTURED]	= "svm_pkts_captured",
	[NFCOLO_STATS_SVM_PKTS_FREED]		= "svm_pkts_freed",
	[NFCOLO_STATS_REQ_MISCOMPARE]		= "req_miscompare",
	[NFCOLO_STATS_REQ_TIMEOUT]		= "req_timeout",
	[NFCOLO_STATS_REQ_QUEUE_FULL]		= "req_queue_full",
	[NFCOLO_STATS_PVM_QUEUE]		= "pvm_queue",
	[NFCOLO_STATS_PVM_QUEUE_HIGH]		= "pvm_queue_high",
	[NFCOLO_STATS_SVM_QUEUE]		= "svm_queue",
	[NFCOLO_STATS_SVM_QUEUE_HIGH]		= "svm_queue_high",
	[NFCOLO_STATS_FLOWS_LEARNED]		= "flows_learned",
	[NFCOLO_STATS_FLOWS_RELEARNED]		= "flows_relearned",
	[NFCOLO_STATS_FLOWS_UNTRACKED]		= "flows_untracked",
	[NFCOLO_STATS_PKTS_ADJUSTED]		= "pkts_adjusted",
	[NFCOLO_STATS_PKTS_DROPPED]		= "pkts_dropped",
	[NFCOLO_STATS_SVM_PKTS_LINK]		= "svm_pkts_link",
	[NFCOLO_STATS_REQ_FLOW_LIMIT]		= "req_flow_limit",
	[NFCOLO_STATS_FLOWS]			= "flows",
	[NFCOLO_STATS_FLOWS_HIGH]		= "flows_high",
	[NFCOLO_STATS_FLOWS_EVICTED]		= "flows_evicted",
	[NFCOLO_STATS_SVM_PKTS_NO_FLOW]		= "svm_pkts_no_flow",
	[NFCOLO_STATS_REQ_UNDELIVERED]		= "req_undelivered",
	[NFCOLO_STATS_CHECKPOINTS_BEGUN]	= "checkpoints_begun",
	[NFCOLO_STATS_CHECKPOINTS_COMMITTED]	= "checkpoints_committed",
	[NFCOLO_STATS_REQ_NEIGH]		= "req_neigh",
	[NFCOLO_STATS_CHECKPOINTS_UNDONE]	= "checkpoints_undone",
	[NFCOLO_STATS_SVM_PKTS_STALE]		= "svm_pkts_stale",
	[NFCOLO_STATS_PVM_PKTS_SPLIT]		= "pvm_pkts_split",
};
_Static_assert(ARRAY_SIZE(colo_stat_names) == __NFCOLO_STATS_MAX,
	       "name every enum nfcolo_stats counter");

/* Unknown values get "<prefix>_<n>" so newer kernels still print. */
static const char *colo_name(const char *const *names, size_t n,
			     unsigned int v, const char *prefix, char *buf)
{
	if (v < n && names[v])
		return names[v];
	snprintf(buf, COLO_NAME_LEN, "%s_%u", prefix, v);
	return buf;
}

const char *colo_mode_name(unsigned int mode, char *buf)
{
	return colo_name(colo_mode_names, ARRAY_SIZE(colo_mode_names), mode,
			 "mode", buf);
}

const char *colo_state_name(unsigned int state, char *buf)
{
	return colo_name(colo_state_names, ARRAY_SIZE(colo_state_names), state,
			 "state", buf);
}

const char *colo_reason_name(unsigned int reason, char *buf)
{
	return colo_name(colo_reason_names, ARRAY_SIZE(colo_reason_names),
			 reason, "reason", buf);
}

const char *colo_stat_name(unsigned int id, char *buf)
{
	return colo_name(colo_stat_names, ARRAY_SIZE(colo_stat_names), id,
			 "stat", buf);
}

const char *colo_l4proto_name(unsigned int proto, char *buf)
{
	switch (proto) {
	case IPPROTO_TCP:	return "tcp";
	case IPPROTO_UDP:	return "udp";
	case IPPROTO_ICMP:	return "icmp";
	case IPPROTO_ICMPV6:	return "icmpv6";
	case IPPROTO_SCTP:	return "sctp";
	case IPPROTO_UDPLITE:	return "udplite";
	}
	snprintf(buf, COLO_NAME_LEN, "proto_%u", proto);
	return buf;
}

/* ---- parsing ---- */

/* The presence masks have a bit per attribute type. */
_Static_assert(__NFCOLO_A_MAX <= 32 && __NFCOLO_EV_MAX <= 32,
	       "attribute types no longer fit a u32 presence mask");

/* Expected types of the top-level attributes; UNSPEC ones are ignored. */
static const enum mnl_attr_data_type colo_attr_types[__NFCOLO_A_MAX] = {
	[NFCOLO_A_INDEX]		= MNL_TYPE_U32,
	[NFCOLO_A_MODE]			= MNL_TYPE_U8,
	[NFCOLO_A_FLAGS]		= MNL_TYPE_U32,
	[NFCOLO_A_STATE]		= MNL_TYPE_U8,
	[NFCOLO_A_OWNER_PORTID]		= MNL_TYPE_U32,
	[NFCOLO_A_COMPARE_TIMEOUT_MS]	= MNL_TYPE_U32,
	[NFCOLO_A_QUEUE_LIMIT]		= MNL_TYPE_U32,
	[NFCOLO_A_CHECKPOINT_PENDING]	= MNL_TYPE_U8,
	[NFCOLO_A_STATS]		= MNL_TYPE_NESTED,
	[NFCOLO_A_EVENT]		= MNL_TYPE_NESTED,
	[NFCOLO_A_FLOW_LIMIT]		= MNL_TYPE_U32,
	[NFCOLO_A_NEIGH_CHECKPOINT]	= MNL_TYPE_U8,
	[NFCOLO_A_COMPARE_SHARDS]	= MNL_TYPE_U32,
};

static const enum mnl_attr_data_type colo_ev_types[__NFCOLO_EV_MAX] = {
	[NFCOLO_EV_REASON]	= MNL_TYPE_U8,
	[NFCOLO_EV_FAMILY]	= MNL_TYPE_U8,
	[NFCOLO_EV_L4PROTO]	= MNL_TYPE_U8,
	[NFCOLO_EV_VM_ADDR]	= MNL_TYPE_BINARY,
	[NFCOLO_EV_PEER_ADDR]	= MNL_TYPE_BINARY,
	[NFCOLO_EV_VM_PORT]	= MNL_TYPE_U16,
	[NFCOLO_EV_PEER_PORT]	= MNL_TYPE_U16,
	[NFCOLO_EV_SEQ]		= MNL_TYPE_U32,
	[NFCOLO_EV_OFFSET]	= MNL_TYPE_U32,
	[NFCOLO_EV_AGE_MS]	= MNL_TYPE_U32,
};

struct colo_attr_table {
	const enum mnl_attr_data_type *types;
	unsigned int max;
	const struct nlattr **tb;
};

/* Keep known, well-formed attributes; skip everything else. */
static int colo_table_cb(const struct nlattr *attr, void *data)
{
	const struct colo_attr_table *t = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type >= t->max || t->types[type] == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, t->types[type]) < 0)
		return MNL_CB_OK;
	t->tb[type] = attr;
	return MNL_CB_OK;
}

static int colo_parse_top(const struct nlmsghdr *nlh,
			  const struct nlattr **tb)
{
	struct colo_attr_table t = { colo_attr_types, __NFCOLO_A_MAX, tb };

	memset(tb, 0, sizeof(*tb) * __NFCOLO_A_MAX);
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -1;
	mnl_attr_parse(nlh, GENL_HDRLEN, colo_table_cb, &t);
	return tb[NFCOLO_A_INDEX] ? 0 : -1;
}

static int colo_stat_cb(const struct nlattr *attr, void *data)
{
	struct colo_instance *in = data;
	unsigned int id = mnl_attr_get_type(attr);

	if (id <= NFCOLO_STATS_PAD || in->nstats >= COLO_STATS_CAP)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return MNL_CB_OK;
	in->stats[in->nstats].id = id;
	in->stats[in->nstats].value = mnl_attr_get_u64(attr);
	in->nstats++;
	return MNL_CB_OK;
}

static uint32_t colo_have(const struct nlattr *const *tb, unsigned int max)
{
	uint32_t have = 0;
	unsigned int i;

	for (i = 0; i < max; i++)
		if (tb[i])
			have |= COLO_BIT(i);
	return have;
}

static uint32_t colo_u32_or0(const struct nlattr *attr)
{
	return attr ? mnl_attr_get_u32(attr) : 0;
}

static uint8_t colo_u8_or0(const struct nlattr *attr)
{
	return attr ? mnl_attr_get_u8(attr) : 0;
}

static uint16_t colo_u16_or0(const struct nlattr *attr)
{
	return attr ? mnl_attr_get_u16(attr) : 0;
}

/* One NFCOLO_PROXY_GET reply; -1 if it is not one (no index). */
int colo_parse_instance(const struct nlmsghdr *nlh, struct colo_instance *in)
{
	const struct nlattr *tb[__NFCOLO_A_MAX];

	memset(in, 0, sizeof(*in));
	if (colo_parse_top(nlh, tb) < 0)
		return -1;
	in->have = colo_have(tb, __NFCOLO_A_MAX);
	in->index = colo_u32_or0(tb[NFCOLO_A_INDEX]);
	in->mode = colo_u8_or0(tb[NFCOLO_A_MODE]);
	in->flags = colo_u32_or0(tb[NFCOLO_A_FLAGS]);
	in->state = colo_u8_or0(tb[NFCOLO_A_STATE]);
	in->owner_portid = colo_u32_or0(tb[NFCOLO_A_OWNER_PORTID]);
	in->compare_timeout_ms = colo_u32_or0(tb[NFCOLO_A_COMPARE_TIMEOUT_MS]);
	in->queue_limit = colo_u32_or0(tb[NFCOLO_A_QUEUE_LIMIT]);
	in->flow_limit = colo_u32_or0(tb[NFCOLO_A_FLOW_LIMIT]);
	in->neigh_checkpoint = colo_u8_or0(tb[NFCOLO_A_NEIGH_CHECKPOINT]);
	in->compare_shards = colo_u32_or0(tb[NFCOLO_A_COMPARE_SHARDS]);
	in->checkpoint_pending = colo_u8_or0(tb[NFCOLO_A_CHECKPOINT_PENDING]);
	if (tb[NFCOLO_A_STATS])
		mnl_attr_parse_nested(tb[NFCOLO_A_STATS], colo_stat_cb, in);
	return 0;
}

/* Addresses must be 4 or 16 bytes; others are dropped as malformed. */
static uint8_t colo_copy_addr(const struct nlattr *attr, uint8_t *addr)
{
	uint16_t len;

	if (!attr)
		return 0;
	len = mnl_attr_get_payload_len(attr);
	if (len != 4 && len != 16)
		return 0;
	memcpy(addr, mnl_attr_get_payload(attr), len);
	return len;
}

static void colo_parse_ev_nest(const struct nlattr *nest,
			       struct colo_event *ev)
{
	const struct nlattr *tb[__NFCOLO_EV_MAX] = { 0 };
	struct colo_attr_table t = { colo_ev_types, __NFCOLO_EV_MAX, tb };

	mnl_attr_parse_nested(nest, colo_table_cb, &t);
	ev->reason = colo_u8_or0(tb[NFCOLO_EV_REASON]);
	ev->family = colo_u8_or0(tb[NFCOLO_EV_FAMILY]);
	ev->l4proto = colo_u8_or0(tb[NFCOLO_EV_L4PROTO]);
	ev->vm_addr_len = colo_copy_addr(tb[NFCOLO_EV_VM_ADDR], ev->vm_addr);
	if (!ev->vm_addr_len)
		tb[NFCOLO_EV_VM_ADDR] = NULL;
	ev->peer_addr_len = colo_copy_addr(tb[NFCOLO_EV_PEER_ADDR],
					   ev->peer_addr);
	if (!ev->peer_addr_len)
		tb[NFCOLO_EV_PEER_ADDR] = NULL;
	ev->vm_port = colo_u16_or0(tb[NFCOLO_EV_VM_PORT]);
	ev->peer_port = colo_u16_or0(tb[NFCOLO_EV_PEER_PORT]);
	ev->seq = colo_u32_or0(tb[NFCOLO_EV_SEQ]);
	ev->offset = colo_u32_or0(tb[NFCOLO_EV_OFFSET]);
	ev->age_ms = colo_u32_or0(tb[NFCOLO_EV_AGE_MS]);
	ev->ev_have = colo_have(tb, __NFCOLO_EV_MAX);
}

/* One NFCOLO_KERNEL_NOTIFY; -1 if it is not one (no index). */
int colo_parse_event(const struct nlmsghdr *nlh, struct colo_event *ev)
{
	const struct nlattr *tb[__NFCOLO_A_MAX];

	memset(ev, 0, sizeof(*ev));
	if (colo_parse_top(nlh, tb) < 0)
		return -1;
	ev->have = colo_have(tb, __NFCOLO_A_MAX);
	ev->index = colo_u32_or0(tb[NFCOLO_A_INDEX]);
	ev->mode = colo_u8_or0(tb[NFCOLO_A_MODE]);
	if (tb[NFCOLO_A_EVENT])
		colo_parse_ev_nest(tb[NFCOLO_A_EVENT], ev);
	return 0;
}

/* ---- JSON ---- */

void colo_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void colo_json_array_init(struct colo_json_array *a, FILE *f, bool json)
{
	a->f = f;
	a->json = json;
	a->n = 0;
}

/* Before each element: "[" opens the array, "," follows a line. */
void colo_json_array_next(struct colo_json_array *a)
{
	if (a->json)
		fputc(a->n ? ',' : '[', a->f);
	a->n++;
}

/* Once, at the end, after an error too: stdout stays one JSON value. */
void colo_json_array_end(struct colo_json_array *a)
{
	if (a->json) {
		fputs(a->n ? "]\n" : "[]\n", a->f);
		fflush(a->f);
	}
}

/* An object being written: just enough state to place the commas. */
struct colo_json {
	FILE *f;
	bool first;
};

static void colo_json_begin(struct colo_json *j, FILE *f)
{
	j->f = f;
	j->first = true;
	fputc('{', f);
}

static void colo_json_end(struct colo_json *j)
{
	fputc('}', j->f);
}

static void colo_json_key(struct colo_json *j, const char *key)
{
	if (!j->first)
		fputc(',', j->f);
	j->first = false;
	colo_json_string(j->f, key);
	fputc(':', j->f);
}

static void colo_json_u64(struct colo_json *j, const char *key, uint64_t v)
{
	colo_json_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

static void colo_json_str(struct colo_json *j, const char *key,
			  const char *v)
{
	colo_json_key(j, key);
	colo_json_string(j->f, v);
}

static void colo_json_bool(struct colo_json *j, const char *key, bool v)
{
	colo_json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

/* ---- instances ---- */

static bool colo_instance_persistent(const struct colo_instance *in)
{
	if (in->have & COLO_BIT(NFCOLO_A_FLAGS))
		return in->flags & NFCOLO_F_PERSISTENT;
	return !(in->have & COLO_BIT(NFCOLO_A_OWNER_PORTID));
}

static void colo_print_stats_json(struct colo_json *j,
				  const struct colo_instance *in)
{
	struct colo_json stats;
	char buf[COLO_NAME_LEN];
	unsigned int i;

	colo_json_key(j, "stats");
	colo_json_begin(&stats, j->f);
	for (i = 0; i < in->nstats; i++)
		colo_json_u64(&stats, colo_stat_name(in->stats[i].id, buf),
			      in->stats[i].value);
	colo_json_end(&stats);
}

static void colo_print_instance_json(FILE *f, const struct colo_instance *in)
{
	char buf[COLO_NAME_LEN];
	struct colo_json j;

	colo_json_begin(&j, f);
	colo_json_u64(&j, "index", in->index);
	if (in->have & COLO_BIT(NFCOLO_A_MODE))
		colo_json_str(&j, "mode", colo_mode_name(in->mode, buf));
	if (in->have & COLO_BIT(NFCOLO_A_STATE))
		colo_json_str(&j, "state", colo_state_name(in->state, buf));
	colo_json_key(&j, "owner");
	if (in->have & COLO_BIT(NFCOLO_A_OWNER_PORTID))
		fprintf(f, "%" PRIu32, in->owner_portid);
	else
		fputs("null", f);
	colo_json_bool(&j, "persistent", colo_instance_persistent(in));
	if (in->have & COLO_BIT(NFCOLO_A_COMPARE_TIMEOUT_MS))
		colo_json_u64(&j, "compare_timeout_ms", in->compare_timeout_ms);
	if (in->have & COLO_BIT(NFCOLO_A_QUEUE_LIMIT))
		colo_json_u64(&j, "queue_limit", in->queue_limit);
	if (in->have & COLO_BIT(NFCOLO_A_FLOW_LIMIT))
		colo_json_u64(&j, "flow_limit", in->flow_limit);
	if (in->have & COLO_BIT(NFCOLO_A_NEIGH_CHECKPOINT))
		colo_json_bool(&j, "neigh_checkpoint", in->neigh_checkpoint);
	if (in->have & COLO_BIT(NFCOLO_A_COMPARE_SHARDS))
		colo_json_u64(&j, "compare_shards", in->compare_shards);
	if (in->have & COLO_BIT(NFCOLO_A_CHECKPOINT_PENDING))
		colo_json_bool(&j, "checkpoint_pending",
			       in->checkpoint_pending);
	colo_print_stats_json(&j, in);
	colo_json_end(&j);
}

static void colo_print_owner(FILE *f, const struct colo_instance *in)
{
	if (in->have & COLO_BIT(NFCOLO_A_OWNER_PORTID))
		fprintf(f, "  owner: %" PRIu32 "\n", in->owner_portid);
	else if (colo_instance_persistent(in))
		fputs("  owner: persistent\n", f);
	else
		fputs("  owner: none\n", f);	/* its owner socket closed */
}

static void colo_print_instance_human(FILE *f, const struct colo_instance *in)
{
	char buf[COLO_NAME_LEN];
	unsigned int i;

	fprintf(f, "index %" PRIu32 "\n", in->index);
	if (in->have & COLO_BIT(NFCOLO_A_MODE))
		fprintf(f, "  mode: %s\n", colo_mode_name(in->mode, buf));
	if (in->have & COLO_BIT(NFCOLO_A_STATE))
		fprintf(f, "  state: %s\n", colo_state_name(in->state, buf));
	colo_print_owner(f, in);
	if (in->have & COLO_BIT(NFCOLO_A_COMPARE_TIMEOUT_MS))
		fprintf(f, "  compare timeout: %" PRIu32 " ms\n",
			in->compare_timeout_ms);
	if (in->have & COLO_BIT(NFCOLO_A_QUEUE_LIMIT))
		fprintf(f, "  queue limit: %" PRIu32 "\n", in->queue_limit);
	if (in->have & COLO_BIT(NFCOLO_A_FLOW_LIMIT))
		fprintf(f, "  flow limit: %" PRIu32 "\n", in->flow_limit);
	if (in->have & COLO_BIT(NFCOLO_A_NEIGH_CHECKPOINT))
		fprintf(f, "  neigh checkpoint: %s\n",
			in->neigh_checkpoint ? "on" : "off");
	if (in->have & COLO_BIT(NFCOLO_A_COMPARE_SHARDS))
		fprintf(f, "  compare shards: %" PRIu32 "\n",
			in->compare_shards);
	if (in->have & COLO_BIT(NFCOLO_A_CHECKPOINT_PENDING))
		fprintf(f, "  checkpoint pending: %s\n",
			in->checkpoint_pending ? "yes" : "no");
	if (in->nstats)
		fputs("  stats:\n", f);
	for (i = 0; i < in->nstats; i++)
		fprintf(f, "    %s: %" PRIu64 "\n",
			colo_stat_name(in->stats[i].id, buf),
			in->stats[i].value);
}

/* JSON: one object, no newline (the caller may be building an array). */
void colo_print_instance(FILE *f, const struct colo_instance *in, bool json)
{
	if (json)
		colo_print_instance_json(f, in);
	else
		colo_print_instance_human(f, in);
}

/* ---- events ---- */

/* The address family of the event: given, or implied by the address. */
static int colo_event_af(const struct colo_event *ev)
{
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_FAMILY))
		return ev->family;
	return ev->vm_addr_len == 16 || ev->peer_addr_len == 16 ?
	       AF_INET6 : AF_INET;
}

/* NULL if the address does not fit the family. */
static const char *colo_format_addr(const struct colo_event *ev,
				    const uint8_t *addr, uint8_t len,
				    char *buf)
{
	int af = colo_event_af(ev);

	if (!((af == AF_INET && len == 4) || (af == AF_INET6 && len == 16)))
		return NULL;
	return inet_ntop(af, addr, buf, INET6_ADDRSTRLEN);
}

static void colo_print_endpoint(FILE *f, const struct colo_event *ev,
				const char *addr, bool has_port, uint16_t port)
{
	bool brackets = has_port && colo_event_af(ev) == AF_INET6;

	fprintf(f, brackets ? "[%s]" : "%s", addr);
	if (has_port)
		fprintf(f, ":%u", port);
}

static void colo_print_flow_human(FILE *f, const struct colo_event *ev)
{
	char vm[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	const char *vm_s, *peer_s;

	vm_s = colo_format_addr(ev, ev->vm_addr, ev->vm_addr_len, vm);
	peer_s = colo_format_addr(ev, ev->peer_addr, ev->peer_addr_len, peer);
	if (vm_s) {
		fputc(' ', f);
		colo_print_endpoint(f, ev, vm_s,
				    ev->ev_have & COLO_BIT(NFCOLO_EV_VM_PORT),
				    ev->vm_port);
	}
	if (peer_s) {
		fputs(" <-> ", f);
		colo_print_endpoint(f, ev, peer_s,
				    ev->ev_have & COLO_BIT(NFCOLO_EV_PEER_PORT),
				    ev->peer_port);
	}
}

static void colo_print_event_human(FILE *f, const struct colo_event *ev)
{
	char buf[COLO_NAME_LEN];

	fprintf(f, "checkpoint requested: index %" PRIu32, ev->index);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_REASON))
		fprintf(f, " reason %s", colo_reason_name(ev->reason, buf));
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_L4PROTO))
		fprintf(f, " %s", colo_l4proto_name(ev->l4proto, buf));
	colo_print_flow_human(f, ev);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_SEQ))
		fprintf(f, " seq %" PRIu32, ev->seq);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_OFFSET))
		fprintf(f, " offset %" PRIu32, ev->offset);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_AGE_MS))
		fprintf(f, " age %" PRIu32 " ms", ev->age_ms);
	fputc('\n', f);
}

static const char *colo_af_name(int af, char *buf)
{
	if (af == AF_INET)
		return "ipv4";
	if (af == AF_INET6)
		return "ipv6";
	snprintf(buf, COLO_NAME_LEN, "family_%d", af);
	return buf;
}

static void colo_print_flow_json(struct colo_json *j,
				 const struct colo_event *ev)
{
	char vm[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	const char *vm_s, *peer_s;

	vm_s = colo_format_addr(ev, ev->vm_addr, ev->vm_addr_len, vm);
	peer_s = colo_format_addr(ev, ev->peer_addr, ev->peer_addr_len, peer);
	if (vm_s)
		colo_json_str(j, "vm_addr", vm_s);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_VM_PORT))
		colo_json_u64(j, "vm_port", ev->vm_port);
	if (peer_s)
		colo_json_str(j, "peer_addr", peer_s);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_PEER_PORT))
		colo_json_u64(j, "peer_port", ev->peer_port);
}

static void colo_print_event_json(FILE *f, const struct colo_event *ev)
{
	char buf[COLO_NAME_LEN];
	struct colo_json j;

	colo_json_begin(&j, f);
	colo_json_str(&j, "event", "checkpoint_requested");
	colo_json_u64(&j, "index", ev->index);
	if (ev->have & COLO_BIT(NFCOLO_A_MODE))
		colo_json_str(&j, "mode", colo_mode_name(ev->mode, buf));
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_REASON))
		colo_json_str(&j, "reason", colo_reason_name(ev->reason, buf));
	if (ev->vm_addr_len || ev->peer_addr_len ||
	    (ev->ev_have & COLO_BIT(NFCOLO_EV_FAMILY)))
		colo_json_str(&j, "family", colo_af_name(colo_event_af(ev), buf));
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_L4PROTO))
		colo_json_str(&j, "l4proto", colo_l4proto_name(ev->l4proto, buf));
	colo_print_flow_json(&j, ev);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_SEQ))
		colo_json_u64(&j, "seq", ev->seq);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_OFFSET))
		colo_json_u64(&j, "offset", ev->offset);
	if (ev->ev_have & COLO_BIT(NFCOLO_EV_AGE_MS))
		colo_json_u64(&j, "age_ms", ev->age_ms);
	colo_json_end(&j);
	fputc('\n', f);
}

/* One line per event, flushed: a test may be reading the other end. */
void colo_print_event(FILE *f, const struct colo_event *ev, bool json)
{
	if (json)
		colo_print_event_json(f, ev);
	else
		colo_print_event_human(f, ev);
	fflush(f);
}

void colo_print_ready(FILE *f, uint32_t index, uint8_t mode, bool json)
{
	char buf[COLO_NAME_LEN];
	struct colo_json j;

	if (!json) {
		fprintf(f, "ready: index %" PRIu32 " mode %s\n", index,
			colo_mode_name(mode, buf));
	} else {
		colo_json_begin(&j, f);
		colo_json_str(&j, "event", "ready");
		colo_json_u64(&j, "index", index);
		colo_json_str(&j, "mode", colo_mode_name(mode, buf));
		colo_json_end(&j);
		fputc('\n', f);
	}
	fflush(f);
}

void colo_print_checkpoint_done(FILE *f, uint32_t index, bool json)
{
	struct colo_json j;

	if (!json) {
		fprintf(f, "checkpoint done: index %" PRIu32 "\n", index);
	} else {
		colo_json_begin(&j, f);
		colo_json_str(&j, "event", "checkpoint_done");
		colo_json_u64(&j, "index", index);
		colo_json_end(&j);
		fputc('\n', f);
	}
	fflush(f);
}
