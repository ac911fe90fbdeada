// SPDX-License-Identifier: GPL-2.0
/*
 * coloctl: control and watch the COLO proxy (nfnetlink_colo) from the shell,
 * or stand in for a hypervisor's COLO frame ("run").
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_args.h"
#include "colo_nl.h"
#include "colo_print.h"

#ifndef COLOCTL_VERSION
#define COLOCTL_VERSION	"0.1"
#endif

static int colo_fail(const struct colo_opts *o, const struct colo_err *e)
{
	fprintf(stderr, "coloctl: %s: %s", o->name, strerror(e->err));
	if (e->msg[0])
		fprintf(stderr, ": %s", e->msg);
	fputc('\n', stderr);
	return COLO_EXIT_FAIL;
}

static int colo_open(const struct colo_opts *o, struct colo_sock *cs)
{
	struct colo_err e;

	if (colo_sock_open(cs, &e) < 0)
		return colo_fail(o, &e);
	if (cs->family.version &&
	    cs->family.version != NFCOLO_GENL_VERSION)
		fprintf(stderr, "coloctl: warning: kernel speaks %s version "
			"%u, coloctl version %u\n", NFCOLO_GENL_NAME,
			cs->family.version, NFCOLO_GENL_VERSION);
	return 0;
}

/* ---- signals: SIGINT/SIGTERM end monitor and run cleanly ---- */

static volatile sig_atomic_t colo_stop;
static sigset_t colo_wait_mask;	/* the mask while blocked in ppoll() */

static void colo_on_signal(int sig)
{
	(void)sig;
	colo_stop = 1;
}

/* Keep the signals blocked but while waiting, so none is missed. */
static void colo_signals_setup(void)
{
	struct sigaction sa = { .sa_handler = colo_on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &colo_wait_mask);
	sigdelset(&colo_wait_mask, SIGINT);
	sigdelset(&colo_wait_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* 1: @fd is readable; 0: a stop signal came; -1: error. */
static int colo_wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (!colo_stop) {
		int n = ppoll(&pfd, 1, NULL, &colo_wait_mask);

		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

static uint64_t colo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* false if a stop signal cut the sleep short. */
static bool colo_sleep_ms(uint32_t ms)
{
	uint64_t end = colo_now_ms() + ms;
	uint64_t now;

	while (!colo_stop && (now = colo_now_ms()) < end) {
		struct timespec ts = {
			.tv_sec = (end - now) / 1000,
			.tv_nsec = (end - now) % 1000 * 1000000,
		};

		ppoll(NULL, 0, &ts, &colo_wait_mask);
	}
	return !colo_stop;
}

/* ---- init, reset, destroy, checkpoint, failover ---- */

static void colo_put_init(struct nlmsghdr *nlh, const struct colo_opts *o,
			  uint32_t flags)
{
	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, o->index);
	mnl_attr_put_u8(nlh, NFCOLO_A_MODE, o->mode);
	if (flags)
		mnl_attr_put_u32(nlh, NFCOLO_A_FLAGS, flags);
	if (o->has_timeout)
		mnl_attr_put_u32(nlh, NFCOLO_A_COMPARE_TIMEOUT_MS,
				 o->timeout_ms);
	if (o->has_queue_limit)
		mnl_attr_put_u32(nlh, NFCOLO_A_QUEUE_LIMIT, o->queue_limit);
	if (o->has_flow_limit)
		mnl_attr_put_u32(nlh, NFCOLO_A_FLOW_LIMIT, o->flow_limit);
	if (o->has_neigh_checkpoint)
		mnl_attr_put_u8(nlh, NFCOLO_A_NEIGH_CHECKPOINT,
				o->neigh_checkpoint);
	if (o->has_compare_shards)
		mnl_attr_put_u32(nlh, NFCOLO_A_COMPARE_SHARDS,
				 o->compare_shards);
}

/* A CLI process exits at once, so only a persistent instance makes sense. */
static int colo_cmd_init(const struct colo_opts *o)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct colo_sock cs;
	struct nlmsghdr *nlh;
	struct colo_err e;
	int ret;

	ret = colo_open(o, &cs);
	if (ret)
		return ret;
	nlh = colo_msg_start(&cs, buf, NFCOLO_PROXY_INIT, 0);
	colo_put_init(nlh, o, NFCOLO_F_PERSISTENT);
	ret = colo_talk(&cs, nlh, NULL, NULL, NULL, &e);
	colo_sock_close(&cs);
	return ret < 0 ? colo_fail(o, &e) : COLO_EXIT_OK;
}

static uint8_t colo_simple_msg(enum colo_cmd cmd)
{
	switch (cmd) {
	case COLO_CMD_RESET:		return NFCOLO_PROXY_RESET;
	case COLO_CMD_DESTROY:		return NFCOLO_PROXY_DESTROY;
	case COLO_CMD_CHECKPOINT:	return NFCOLO_DO_CHECKPOINT;
	case COLO_CMD_CHECKPOINT_BEGIN:	return NFCOLO_CHECKPOINT_BEGIN;
	case COLO_CMD_FAILOVER:		return NFCOLO_DO_FAILOVER;
	default:			return NFCOLO_UNSPEC;
	}
}

static int colo_cmd_simple(const struct colo_opts *o)
{
	struct colo_sock cs;
	struct colo_err e;
	int ret;

	ret = colo_open(o, &cs);
	if (ret)
		return ret;
	ret = colo_simple_cmd(&cs, colo_simple_msg(o->cmd), o->index, &e);
	colo_sock_close(&cs);
	return ret < 0 ? colo_fail(o, &e) : COLO_EXIT_OK;
}

/* ---- status ---- */

struct colo_status {
	const struct colo_opts *o;
	uint16_t family_id;
	bool dump;
	struct colo_json_array out;
};

static void colo_status_reply(const struct nlmsghdr *nlh, void *data)
{
	struct colo_status *st = data;
	struct colo_instance in;

	if (nlh->nlmsg_type != st->family_id)
		return;
	if (colo_parse_instance(nlh, &in) < 0) {
		fputs("coloctl: status: ignoring a reply without index\n",
		      stderr);
		return;
	}
	if (st->out.n && !st->o->json)
		fputc('\n', stdout);
	colo_json_array_next(&st->out);
	colo_print_instance(stdout, &in, st->o->json);
	if (st->o->json)
		fputc('\n', stdout);
}

static int colo_status_request(struct colo_sock *cs, struct colo_status *st,
			       struct colo_err *e)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct nlmsghdr *nlh;

	nlh = colo_msg_start(cs, buf, NFCOLO_PROXY_GET,
			     st->dump ? NLM_F_DUMP : 0);
	if (!st->dump)
		mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, st->o->index);
	return colo_talk(cs, nlh, colo_status_reply, NULL, st, e);
}

static int colo_cmd_status(const struct colo_opts *o)
{
	struct colo_status st = { .o = o, .dump = !o->has_index };
	struct colo_sock cs;
	struct colo_err e;
	int ret;

	ret = colo_open(o, &cs);
	if (ret)
		return ret;
	st.family_id = cs.family.id;
	colo_json_array_init(&st.out, stdout, o->json);
	ret = colo_status_request(&cs, &st, &e);
	colo_sock_close(&cs);
	colo_json_array_end(&st.out);
	if (ret < 0)
		return colo_fail(o, &e);
	if (!st.dump && !st.out.n) {
		e.err = EPROTO;
		snprintf(e.msg, sizeof(e.msg), "no reply for index %u",
			 o->index);
		return colo_fail(o, &e);
	}
	return COLO_EXIT_OK;
}

/* ---- monitor ---- */

struct colo_monitor {
	const struct colo_opts *o;
	uint16_t family_id;
	uint32_t seen;
	struct colo_json_array out;
};

/* true once --count events have been printed. */
static bool colo_monitor_msg(struct colo_monitor *m,
			     const struct nlmsghdr *nlh)
{
	struct colo_event ev;

	if (!colo_is_event(nlh, m->family_id) ||
	    colo_parse_event(nlh, &ev) < 0)
		return false;
	if (m->o->has_index && ev.index != m->o->index)
		return false;
	colo_json_array_next(&m->out);
	colo_print_event(stdout, &ev, m->o->json);
	m->seen++;
	return m->o->count && m->seen >= m->o->count;
}

/* Read one datagram; 1 when done (--count reached), 0 go on, -1 error. */
static int colo_monitor_recv(struct colo_monitor *m, struct colo_sock *cs,
			     struct colo_err *e)
{
	char buf[COLO_RECV_BUF_SIZE];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len = mnl_socket_recvfrom(cs->nl, buf, sizeof(buf));

	if (len < 0 && errno == ENOBUFS) {
		/* The socket overran; report it and keep listening. */
		fprintf(stderr, "coloctl: %s: events lost (receive buffer "
			"overrun)\n", m->o->name);
		return 0;
	}
	if (len < 0) {
		e->err = errno;
		e->msg[0] = '\0';
		return errno == EINTR ? 0 : -1;
	}
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (colo_monitor_msg(m, nlh))
			return 1;
	return 0;
}

static int colo_monitor_loop(struct colo_monitor *m, struct colo_sock *cs,
			     struct colo_err *e)
{
	int ret;

	for (;;) {
		ret = colo_wait_readable(colo_sock_fd(cs));
		if (ret < 0) {
			e->err = errno;
			e->msg[0] = '\0';
			return -1;
		}
		if (ret == 0)
			return 0;
		ret = colo_monitor_recv(m, cs, e);
		if (ret)
			return ret < 0 ? -1 : 0;
	}
}

static int colo_cmd_monitor(const struct colo_opts *o)
{
	struct colo_monitor m = { .o = o };
	struct colo_sock cs;
	struct colo_err e;
	int ret;

	ret = colo_open(o, &cs);
	if (ret)
		return ret;
	m.family_id = cs.family.id;
	colo_json_array_init(&m.out, stdout, o->json);
	colo_signals_setup();
	ret = colo_join_events(&cs, &e);
	if (ret == 0)
		ret = colo_monitor_loop(&m, &cs, &e);
	colo_sock_close(&cs);
	colo_json_array_end(&m.out);
	return ret < 0 ? colo_fail(o, &e) : COLO_EXIT_OK;
}

/* ---- run: own an instance, complete its checkpoints ---- */

struct colo_run {
	const struct colo_opts *o;
	struct colo_sock owner;		/* owns the instance, gets events */
	struct colo_sock req;		/* DO_CHECKPOINT and its ACK */
	bool has_early;			/* an event that beat the INIT ACK */
	struct colo_event early;
	uint32_t done;
	struct colo_json_array out;
};

enum colo_run_result {
	COLO_RUN_GO_ON,
	COLO_RUN_STOP,			/* signal or --count: exit 0 */
	COLO_RUN_ERROR,
};

/* Events may arrive before the INIT ACK; keep one for after "ready". */
static void colo_run_early_event(const struct nlmsghdr *nlh, void *data)
{
	struct colo_run *r = data;
	struct colo_event ev;

	if (r->has_early || !colo_is_event(nlh, r->owner.family.id) ||
	    colo_parse_event(nlh, &ev) < 0 || ev.index != r->o->index)
		return;
	r->early = ev;
	r->has_early = true;
}

static int colo_run_init(struct colo_run *r, struct colo_err *e)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct nlmsghdr *nlh;

	nlh = colo_msg_start(&r->owner, buf, NFCOLO_PROXY_INIT, 0);
	colo_put_init(nlh, r->o, 0);
	/* INIT has no reply data: whatever comes is an event, whatever seq. */
	return colo_talk(&r->owner, nlh, colo_run_early_event,
			 colo_run_early_event, r, e);
}

static enum colo_run_result colo_run_event(struct colo_run *r,
					   const struct colo_event *ev,
					   struct colo_err *e)
{
	colo_json_array_next(&r->out);
	colo_print_event(stdout, ev, r->o->json);
	if (!colo_sleep_ms(r->o->delay_ms))
		return COLO_RUN_STOP;
	if (colo_simple_cmd(&r->req, NFCOLO_DO_CHECKPOINT, r->o->index, e) < 0)
		return COLO_RUN_ERROR;
	colo_json_array_next(&r->out);
	colo_print_checkpoint_done(stdout, r->o->index, r->o->json);
	r->done++;
	if (r->o->count && r->done >= r->o->count)
		return COLO_RUN_STOP;
	return COLO_RUN_GO_ON;
}

static void colo_run_get_reply(const struct nlmsghdr *nlh, void *data)
{
	struct colo_instance *in = data;

	if (colo_parse_instance(nlh, in) < 0)
		memset(in, 0, sizeof(*in));
}

/* After lost events, ask whether a checkpoint is still wanted. */
static enum colo_run_result colo_run_recover(struct colo_run *r,
					     struct colo_err *e)
{
	char buf[COLO_REQ_BUF_SIZE];
	struct colo_event ev = { 0 };
	struct colo_instance in;
	struct nlmsghdr *nlh;

	fprintf(stderr, "coloctl: %s: events lost (receive buffer overrun)\n",
		r->o->name);
	memset(&in, 0, sizeof(in));
	nlh = colo_msg_start(&r->req, buf, NFCOLO_PROXY_GET, 0);
	mnl_attr_put_u32(nlh, NFCOLO_A_INDEX, r->o->index);
	if (colo_talk(&r->req, nlh, colo_run_get_reply, NULL, &in, e) < 0)
		return COLO_RUN_ERROR;
	if (!in.checkpoint_pending)
		return COLO_RUN_GO_ON;
	ev.have = COLO_BIT(NFCOLO_A_INDEX) | COLO_BIT(NFCOLO_A_MODE);
	ev.index = r->o->index;
	ev.mode = r->o->mode;
	return colo_run_event(r, &ev, e);
}

static enum colo_run_result colo_run_recv(struct colo_run *r,
					  struct colo_err *e)
{
	char buf[COLO_RECV_BUF_SIZE];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len = mnl_socket_recvfrom(r->owner.nl, buf, sizeof(buf));
	enum colo_run_result res = COLO_RUN_GO_ON;
	struct colo_event ev;

	if (len < 0 && errno == ENOBUFS)
		return colo_run_recover(r, e);
	if (len < 0 && errno == EINTR)
		return COLO_RUN_GO_ON;
	if (len < 0) {
		e->err = errno;
		e->msg[0] = '\0';
		return COLO_RUN_ERROR;
	}
	for (; mnl_nlmsg_ok(nlh, len) && res == COLO_RUN_GO_ON;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		if (!colo_is_event(nlh, r->owner.family.id) ||
		    colo_parse_event(nlh, &ev) < 0 || ev.index != r->o->index)
			continue;
		res = colo_run_event(r, &ev, e);
	}
	return res;
}

static enum colo_run_result colo_run_loop(struct colo_run *r,
					  struct colo_err *e)
{
	enum colo_run_result res = COLO_RUN_GO_ON;
	int ready;

	if (r->has_early)
		res = colo_run_event(r, &r->early, e);
	while (res == COLO_RUN_GO_ON) {
		ready = colo_wait_readable(colo_sock_fd(&r->owner));
		if (ready < 0) {
			e->err = errno;
			e->msg[0] = '\0';
			return COLO_RUN_ERROR;
		}
		if (ready == 0)
			return COLO_RUN_STOP;
		res = colo_run_recv(r, e);
	}
	return res;
}

static int colo_cmd_run(const struct colo_opts *o)
{
	struct colo_run r = { .o = o };
	struct colo_err e;
	int ret;

	ret = colo_open(o, &r.req);
	if (ret)
		return ret;
	if (colo_sock_open_like(&r.owner, &r.req, &e) < 0) {
		colo_sock_close(&r.req);
		return colo_fail(o, &e);
	}
	/* Before INIT, so a signal right after "ready" still exits 0. */
	colo_signals_setup();
	colo_json_array_init(&r.out, stdout, o->json);
	ret = colo_run_init(&r, &e) < 0 ? COLO_EXIT_FAIL : COLO_EXIT_OK;
	if (ret == COLO_EXIT_OK) {
		colo_json_array_next(&r.out);
		colo_print_ready(stdout, o->index, o->mode, o->json);
		if (colo_run_loop(&r, &e) == COLO_RUN_ERROR)
			ret = COLO_EXIT_FAIL;
	}
	colo_json_array_end(&r.out);
	/* Closing the owner socket is what ends (or fails over) the instance. */
	colo_sock_close(&r.owner);
	colo_sock_close(&r.req);
	return ret ? colo_fail(o, &e) : COLO_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct colo_opts o;
	int ret;

	ret = colo_parse_args(argc, argv, &o, stderr);
	if (ret)
		return ret;
	switch (o.cmd) {
	case COLO_CMD_HELP:
		colo_usage(stdout);
		return COLO_EXIT_OK;
	case COLO_CMD_VERSION:
		printf("coloctl %s (%s version %u)\n", COLOCTL_VERSION,
		       NFCOLO_GENL_NAME, NFCOLO_GENL_VERSION);
		return COLO_EXIT_OK;
	case COLO_CMD_INIT:
		return colo_cmd_init(&o);
	case COLO_CMD_STATUS:
		return colo_cmd_status(&o);
	case COLO_CMD_MONITOR:
		return colo_cmd_monitor(&o);
	case COLO_CMD_RUN:
		return colo_cmd_run(&o);
	default:
		return colo_cmd_simple(&o);
	}
}
