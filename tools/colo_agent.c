// SPDX-License-Identifier: GPL-2.0
/*
 * colo-qemu-agent: turn the kernel's checkpoint requests into QEMU COLO
 * checkpoints and QEMU's STOP/RESUME/COLO_EXIT events into nfcolo commands.
 *
 * QEMU 7.2 facts this relies on: migrate-set-parameters with
 * x-checkpoint-delay, in COLO state, starts a checkpoint at once (and sets
 * the period of QEMU's own ones); each checkpoint emits STOP then RESUME on
 * both sides; COLO_EXIT (data: mode, reason) ends COLO; query-colo-status
 * gives mode, last-mode and reason.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_agent.h"
#include "colo_print.h"

/* How often to ask QEMU again while waiting for it to enter COLO. */
#define AGENT_STATUS_RETRY_MS	500

uint64_t colo_agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t agent_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t agent_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *agent_role(const struct colo_agent *a)
{
	return a->cfg->mode == NFCOLO_MODE_PRIMARY ? "primary" : "secondary";
}

static void agent_log(struct colo_agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void agent_log(struct colo_agent *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(a->out, "colo-qemu-agent: ");
	va_start(ap, fmt);
	vfprintf(a->out, fmt, ap);
	va_end(ap);
	fputc('\n', a->out);
	fflush(a->out);
}

static int agent_error(struct colo_agent *a, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int agent_error(struct colo_agent *a, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(a->err, "colo-qemu-agent: ");
	va_start(ap, fmt);
	vfprintf(a->err, fmt, ap);
	va_end(ap);
	fputc('\n', a->err);
	fflush(a->err);
	if (code != AGENT_RUNNING && a->exit_code == AGENT_RUNNING)
		a->exit_code = code;
	return a->exit_code;
}

void colo_agent_init(struct colo_agent *a, const struct colo_agent_cfg *cfg,
		     const struct colo_kernel_ops *kops, void *kctx,
		     struct colo_qmp *qmp, FILE *out, FILE *err)
{
	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->kops = kops;
	a->kctx = kctx;
	a->qmp = qmp;
	a->out = out;
	a->err = err;
	a->exit_code = AGENT_RUNNING;
	a->two_phase = true;
	a->caps_id = a->status_id = a->delay_id = a->heartbeat_id = -1;
	a->params_id = -1;
}

/* What happens to the instance when the agent exits, for the messages. */
static const char *agent_exit_outcome(const struct colo_agent *a)
{
	if (a->phase < AGENT_RUNNING_COLO)
		return "no instance was created";
	if (a->cfg->mode == NFCOLO_MODE_PRIMARY)
		return "the primary instance goes away, its held packets released";
	return "the secondary instance fails over and stays";
}

static int agent_send(struct colo_agent *a, const char *cmd, const char *args,
		      int64_t *id)
{
	*id = qmp_send(a->qmp, cmd, args);
	if (*id >= 0)
		return AGENT_RUNNING;
	return agent_error(a, AGENT_EXIT_QEMU_GONE, "QMP: cannot send %s: %s; "
			   "exiting (%s)", cmd, strerror(errno),
			   agent_exit_outcome(a));
}

static int agent_kernel_gone(struct colo_agent *a, const char *what,
			     const char *msg)
{
	return agent_error(a, AGENT_EXIT_KERNEL_GONE, "%s: instance %u is gone "
			   "(destroyed, or nfnetlink_colo unloaded)%s%s; exiting, "
			   "QEMU left as it is", what, a->cfg->index,
			   msg[0] ? ": " : "", msg);
}

/* ---- primary: ask QEMU for a checkpoint ---- */

/* x-checkpoint-delay: in COLO state, a checkpoint now, and the period. */
static int agent_set_delay(struct colo_agent *a, uint32_t ms)
{
	char args[64];

	snprintf(args, sizeof(args), "{\"x-checkpoint-delay\": %u}", ms);
	return agent_send(a, "migrate-set-parameters", args, &a->delay_id);
}

/*
 * The first request sets the period (--checkpoint-interval). Later ones
 * keep QEMU's, which the operator may have changed since: read it, and
 * set it again.
 */
static int agent_request(struct colo_agent *a, const char *reason)
{
	snprintf(a->in_flight_reason, sizeof(a->in_flight_reason), "%s",
		 reason);
	a->in_flight = true;
	if (a->start_delay)
		return agent_set_delay(a, a->cfg->interval_ms);
	return agent_send(a, "query-migrate-parameters", NULL, &a->params_id);
}

/* QEMU's period in a query-migrate-parameters reply, else ours. */
static uint32_t agent_period(const struct colo_agent *a,
			     const struct qmp_msg *m)
{
	int64_t ms = 0;

	if (m->ret < 0 || cj_int(m->doc, cj_get_type(m->doc, m->ret,
						     "x-checkpoint-delay",
						     CJ_NUMBER), &ms) ||
	    ms < 1 || ms > AGENT_INTERVAL_MAX_MS)
		return a->cfg->interval_ms;
	return ms;
}

void colo_agent_kernel_request(struct colo_agent *a, unsigned int reason)
{
	char buf[COLO_NAME_LEN];
	const char *name = reason == NFCOLO_REASON_UNSPEC ? "unspecified" :
			   colo_reason_name(reason, buf);

	if (a->phase != AGENT_RUNNING_COLO ||
	    a->cfg->mode != NFCOLO_MODE_PRIMARY)
		return;
	if (a->stopped) {
		/* The kernel may have seen the request after our BEGIN. */
		if (!a->deferred)
			snprintf(a->deferred_reason,
				 sizeof(a->deferred_reason), "%s", name);
		a->deferred = true;
		return;
	}
	if (a->in_flight) {
		a->requests_merged++;
		return;
	}
	agent_request(a, name);
}

/* x-colo-lost-heartbeat: QEMU's own failover; once per agent. */
static int agent_heartbeat(struct colo_agent *a)
{
	if (a->heartbeat_sent)
		return AGENT_RUNNING;
	a->heartbeat_sent = true;
	return agent_send(a, "x-colo-lost-heartbeat", NULL, &a->heartbeat_id);
}

int colo_agent_lost_heartbeat(struct colo_agent *a)
{
	if (a->phase != AGENT_RUNNING_COLO)
		return a->exit_code;
	agent_log(a, "failover asked for: sending x-colo-lost-heartbeat");
	return agent_heartbeat(a);
}

/* ---- start-up: capabilities, COLO status, instance ---- */

static int agent_query_status(struct colo_agent *a)
{
	a->next_status_ms = 0;
	return agent_send(a, "query-colo-status", NULL, &a->status_id);
}

static int agent_enter_colo(struct colo_agent *a)
{
	char msg[256] = "";
	int err = a->kops->init(a->kctx, msg, sizeof(msg));

	if (err)
		return agent_error(a, AGENT_EXIT_SETUP, "cannot create instance "
				   "%u: %s%s%s", a->cfg->index, strerror(-err),
				   msg[0] ? ": " : "", msg);
	a->phase = AGENT_RUNNING_COLO;
	a->next_probe_ms = colo_agent_now_ms() + a->cfg->probe_ms;
	agent_log(a, "ready: instance %u, %s, QMP %s", a->cfg->index,
		  agent_role(a), a->cfg->qmp_path);
	if (a->cfg->mode != NFCOLO_MODE_PRIMARY)
		return AGENT_RUNNING;
	/* Sets QEMU's period, and a first checkpoint syncs the instance. */
	a->start_delay = true;
	return agent_request(a, "start");
}

static int agent_colo_status(struct colo_agent *a, const struct qmp_msg *m)
{
	const struct cj_doc *d = m->doc;
	char mode[QMP_NAME_LEN] = "?", reason[QMP_NAME_LEN] = "?";

	a->status_id = -1;
	cj_str(d, cj_get_type(d, m->ret, "mode", CJ_STRING), mode,
	       sizeof(mode));
	cj_str(d, cj_get_type(d, m->ret, "reason", CJ_STRING), reason,
	       sizeof(reason));
	if (!strcmp(mode, agent_role(a)))
		return agent_enter_colo(a);
	if (strcmp(mode, "none"))
		return agent_error(a, AGENT_EXIT_QMP, "QEMU is in COLO as %s, "
				   "the agent was started as %s", mode,
				   agent_role(a));
	if (colo_agent_now_ms() - a->start_ms >= a->cfg->wait_ms)
		return agent_error(a, AGENT_EXIT_QMP, "the VM is not in COLO "
				   "(query-colo-status: mode none, last reason "
				   "%s)%s", reason, a->cfg->wait_ms ?
				   " after the --wait time" : "");
	a->next_status_ms = colo_agent_now_ms() + AGENT_STATUS_RETRY_MS;
	return AGENT_RUNNING;
}

static int agent_handshake(struct colo_agent *a)
{
	a->caps_sent = true;
	return agent_send(a, "qmp_capabilities", NULL, &a->caps_id);
}

int colo_agent_start(struct colo_agent *a)
{
	a->start_ms = colo_agent_now_ms();
	a->phase = AGENT_HANDSHAKE;
	/*
	 * A device has no connect: QEMU may have sent its greeting before we
	 * opened it, or sends it when we do. Negotiate at once; a monitor
	 * already in command mode answers CommandNotFound, which is fine.
	 */
	if (a->qmp->is_device)
		return agent_handshake(a);
	return AGENT_RUNNING;
}

/* ---- events ---- */

/* QEMU's own event time in us, else ours. */
static uint64_t agent_event_us(const struct qmp_msg *m)
{
	const struct cj_doc *d = m->doc;
	int ts = cj_get_type(d, 0, "timestamp", CJ_OBJECT);
	int64_t s, us;

	if (ts >= 0 && cj_int(d, cj_get(d, ts, "seconds"), &s) == 0 &&
	    cj_int(d, cj_get(d, ts, "microseconds"), &us) == 0 &&
	    s >= 0 && us >= 0 && us < 1000000)
		return (uint64_t)s * 1000000 + us;
	return agent_now_us();
}

static int agent_kcmd(struct colo_agent *a, enum colo_kcmd cmd,
		      const char *what)
{
	char msg[256] = "";
	int err = a->kops->cmd(a->kctx, cmd, msg, sizeof(msg));

	if (!err)
		return 0;
	if (err == -ENOENT)
		return agent_kernel_gone(a, what, msg);
	if (cmd == COLO_K_BEGIN && (err == -EOPNOTSUPP || err == -EINVAL)) {
		a->two_phase = false;
		agent_log(a, "the kernel has no NFCOLO_CHECKPOINT_BEGIN "
			  "(%s): one-phase checkpoints, DO_CHECKPOINT at RESUME "
			  "only", strerror(-err));
		return 0;
	}
	agent_error(a, AGENT_RUNNING, "%s failed: %s%s%s", what,
		    strerror(-err), msg[0] ? ": " : "", msg);
	return 0;
}

static int agent_stop(struct colo_agent *a, const struct qmp_msg *m)
{
	if (a->stopped)
		return AGENT_RUNNING;
	a->stopped = true;
	a->stop_us = agent_event_us(m);
	a->stop_seen_us = agent_mono_us();
	if (a->in_flight)
		memcpy(a->reason, a->in_flight_reason, sizeof(a->reason));
	else
		snprintf(a->reason, sizeof(a->reason), "periodic");
	a->in_flight = false;
	/*
	 * Both roles begin here. The secondary's SVM resumes as the PVM's
	 * copy and sends at once, before RESUME could reach us: its offsets
	 * must already be zero.
	 */
	if (a->two_phase && agent_kcmd(a, COLO_K_BEGIN, "CHECKPOINT_BEGIN"))
		return a->exit_code;
	return AGENT_RUNNING;
}

static int agent_resume(struct colo_agent *a, const struct qmp_msg *m)
{
	uint64_t now = agent_event_us(m);
	char pause[80] = "unknown";

	/*
	 * With how long before RESUME we handled STOP, by our clock: much
	 * less than the pause says our begin came late, after the VM had
	 * run again (on the secondary, its output got the old offsets).
	 */
	if (a->stopped && now >= a->stop_us)
		snprintf(pause, sizeof(pause),
			 "%llu ms, STOP seen %llu ms before RESUME",
			 (unsigned long long)(now - a->stop_us + 500) / 1000,
			 (unsigned long long)(agent_mono_us() -
					      a->stop_seen_us + 500) / 1000);
	else if (!a->stopped)
		snprintf(a->reason, sizeof(a->reason), "unknown");
	/*
	 * The primary marks again, just before the commit. The PVM has been
	 * stopped since STOP, so what reached the kernel since was sent
	 * before it, its frames behind QEMU's event on their way: left out of
	 * the mark, each would wait out the compare timeout, as the SVM, now
	 * the PVM's copy, never sends it. QEMU emits RESUME before its vCPUs
	 * run again. (The secondary's begin moves its epoch: once.)
	 */
	if (a->two_phase && a->stopped &&
	    a->cfg->mode == NFCOLO_MODE_PRIMARY &&
	    agent_kcmd(a, COLO_K_BEGIN, "CHECKPOINT_BEGIN"))
		return a->exit_code;
	a->stopped = false;
	if (agent_kcmd(a, COLO_K_DONE, "DO_CHECKPOINT"))
		return a->exit_code;
	a->checkpoints++;
	agent_log(a, "checkpoint %llu: reason %s, pause %s",
		  (unsigned long long)a->checkpoints, a->reason, pause);
	if (a->deferred) {
		a->deferred = false;
		return agent_request(a, a->deferred_reason);
	}
	return AGENT_RUNNING;
}

static int agent_colo_exit(struct colo_agent *a, const struct qmp_msg *m)
{
	const struct cj_doc *d = m->doc;
	char mode[QMP_NAME_LEN] = "?", reason[QMP_NAME_LEN] = "?";

	cj_str(d, cj_get_type(d, m->ret, "mode", CJ_STRING), mode,
	       sizeof(mode));
	cj_str(d, cj_get_type(d, m->ret, "reason", CJ_STRING), reason,
	       sizeof(reason));
	agent_log(a, "COLO_EXIT (mode %s, reason %s): failing instance %u "
		  "over", mode, reason, a->cfg->index);
	if (a->stopped)
		agent_log(a, "the checkpoint begun at STOP never completed: "
			  "the failover undoes it");
	a->phase = AGENT_FAILED_OVER;
	a->stopped = a->in_flight = a->deferred = false;
	if (agent_kcmd(a, COLO_K_FAILOVER, "DO_FAILOVER"))
		return a->exit_code;
	agent_log(a, "failed over after %llu checkpoints; staying until QEMU "
		  "closes QMP", (unsigned long long)a->checkpoints);
	/*
	 * On an error (its peer gone) QEMU 7.2 stops half-way: the COLO
	 * thread waits for a failover request, and a VM that a checkpoint
	 * had stopped stays stopped. x-colo-lost-heartbeat finishes QEMU's
	 * failover and runs the VM (QEMU's docs/COLO-FT.txt does the same).
	 */
	if (strcmp(reason, "error") || a->heartbeat_sent)
		return AGENT_RUNNING;
	agent_log(a, "QEMU left COLO on an error: sending "
		  "x-colo-lost-heartbeat to finish its failover");
	return agent_heartbeat(a);
}

static int agent_event(struct colo_agent *a, const struct qmp_msg *m)
{
	if (!strcmp(m->event, "COLO_EXIT") && a->phase == AGENT_RUNNING_COLO)
		return agent_colo_exit(a, m);
	if (a->phase == AGENT_FAILED_OVER && !strcmp(m->event, "RESUME"))
		agent_log(a, "the VM runs on its own (RESUME)");
	if (a->phase != AGENT_RUNNING_COLO)
		return AGENT_RUNNING;
	if (!strcmp(m->event, "STOP"))
		return agent_stop(a, m);
	if (!strcmp(m->event, "RESUME"))
		return agent_resume(a, m);
	return AGENT_RUNNING;
}

/* ---- replies ---- */

static int agent_return(struct colo_agent *a, const struct qmp_msg *m)
{
	if (!m->has_id)
		return AGENT_RUNNING;
	if (m->id == a->caps_id) {
		a->caps_id = -1;
		a->phase = AGENT_WAIT_COLO;
		return agent_query_status(a);
	}
	if (m->id == a->status_id && m->ret >= 0 &&
	    m->doc->tok[m->ret].type == CJ_OBJECT)
		return agent_colo_status(a, m);
	if (m->id == a->delay_id) {
		a->delay_id = -1;
		a->start_delay = false;
	}
	if (m->id == a->params_id) {
		a->params_id = -1;
		return agent_set_delay(a, agent_period(a, m));
	}
	return AGENT_RUNNING;
}

static int agent_qmp_error(struct colo_agent *a, const struct qmp_msg *m)
{
	if (!m->has_id)
		return agent_error(a, AGENT_RUNNING, "QMP error without id: "
				   "%s: %s", m->err_class, m->err_desc);
	if (m->id == a->caps_id) {
		a->caps_id = -1;
		/* Negotiated already (a device opened after an earlier user). */
		if (a->qmp->is_device && !strcmp(m->err_class, "CommandNotFound")) {
			a->phase = AGENT_WAIT_COLO;
			return agent_query_status(a);
		}
		return agent_error(a, AGENT_EXIT_QMP, "QMP: qmp_capabilities "
				   "refused: %s: %s", m->err_class, m->err_desc);
	}
	if (m->id == a->status_id)
		return agent_error(a, AGENT_EXIT_QMP, "QMP: query-colo-status "
				   "refused (a QEMU without COLO?): %s: %s",
				   m->err_class, m->err_desc);
	if (m->id == a->delay_id) {
		a->delay_id = -1;
		a->in_flight = false;
		if (a->start_delay)
			return agent_error(a, AGENT_EXIT_QMP, "QMP: "
					   "migrate-set-parameters refused at "
					   "start: %s: %s; exiting (%s)",
					   m->err_class, m->err_desc,
					   agent_exit_outcome(a));
		return agent_error(a, AGENT_RUNNING, "QMP: checkpoint request "
				   "(%s) refused: %s: %s; QEMU's next periodic "
				   "checkpoint serves it", a->in_flight_reason,
				   m->err_class, m->err_desc);
	}
	if (m->id == a->params_id) {
		a->params_id = -1;
		agent_error(a, AGENT_RUNNING, "QMP: query-migrate-parameters "
			    "refused: %s: %s; the checkpoint request sets the "
			    "period to %u ms", m->err_class, m->err_desc,
			    a->cfg->interval_ms);
		return agent_set_delay(a, a->cfg->interval_ms);
	}
	if (m->id == a->heartbeat_id)
		return agent_error(a, AGENT_RUNNING, "QMP: x-colo-lost-heartbeat "
				   "refused: %s: %s", m->err_class, m->err_desc);
	return agent_error(a, AGENT_RUNNING, "QMP error for request %lld: %s: "
			   "%s", (long long)m->id, m->err_class, m->err_desc);
}

int colo_agent_qmp_msg(struct colo_agent *a, const struct qmp_msg *m)
{
	switch (m->kind) {
	case QMP_GREETING:
		if (a->phase == AGENT_HANDSHAKE && !a->caps_sent)
			return agent_handshake(a);
		return AGENT_RUNNING;
	case QMP_RETURN:
		return agent_return(a, m);
	case QMP_ERROR:
		return agent_qmp_error(a, m);
	case QMP_EVENT:
		return agent_event(a, m);
	default:
		/* A device may hold the tail of an earlier session's line. */
		return agent_error(a, AGENT_RUNNING, "QMP: skipping a message: "
				   "%s", m->err_desc);
	}
}

/* ---- the loop ---- */

static int agent_qmp_input(struct colo_agent *a, short revents)
{
	struct qmp_msg m;
	int n, ret = AGENT_RUNNING;

	n = qmp_fill(a->qmp);
	if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
	    !(revents & (POLLHUP | POLLERR)))
		return AGENT_RUNNING;
	while (ret == AGENT_RUNNING && qmp_next(a->qmp, &m) == 1)
		ret = colo_agent_qmp_msg(a, &m);
	if (ret != AGENT_RUNNING || n > 0)
		return ret;
	if (a->phase == AGENT_FAILED_OVER) {
		agent_log(a, "QEMU closed QMP after COLO ended: exiting");
		a->exit_code = AGENT_EXIT_OK;
		return a->exit_code;
	}
	return agent_error(a, AGENT_EXIT_QEMU_GONE, "QEMU closed QMP (%s): "
			   "the VM is gone; exiting (%s)",
			   n == 0 ? "end of file" : n < 0 && errno != EAGAIN ?
			   strerror(errno) : "hang-up", agent_exit_outcome(a));
}

/* QMP must answer, and the VM be in COLO, within this. */
static uint64_t agent_start_deadline(const struct colo_agent *a)
{
	return a->start_ms + a->cfg->handshake_ms + a->cfg->wait_ms;
}

static int agent_timers(struct colo_agent *a, uint64_t now)
{
	char msg[256] = "";
	int err;

	if (a->phase < AGENT_RUNNING_COLO && now >= agent_start_deadline(a))
		return agent_error(a, AGENT_EXIT_QMP, "QEMU did not answer on "
				   "%s within %u ms", a->cfg->qmp_path,
				   a->cfg->handshake_ms + a->cfg->wait_ms);
	if (a->next_status_ms && now >= a->next_status_ms)
		return agent_query_status(a);
	if (a->phase >= AGENT_RUNNING_COLO && now >= a->next_probe_ms) {
		a->next_probe_ms = now + a->cfg->probe_ms;
		err = a->kops->probe(a->kctx, msg, sizeof(msg));
		if (err == -ENOENT)
			return agent_kernel_gone(a, "status", msg);
	}
	return AGENT_RUNNING;
}

static int agent_timeout(const struct colo_agent *a, uint64_t now, int max_ms)
{
	uint64_t next = now + max_ms;

	if (a->phase < AGENT_RUNNING_COLO && agent_start_deadline(a) < next)
		next = agent_start_deadline(a);
	if (a->next_status_ms && a->next_status_ms < next)
		next = a->next_status_ms;
	if (a->phase >= AGENT_RUNNING_COLO && a->next_probe_ms < next)
		next = a->next_probe_ms;
	return next > now ? (int)(next - now) : 0;
}

int colo_agent_step(struct colo_agent *a, int max_ms, const sigset_t *mask)
{
	struct pollfd pfd[2] = {
		{ .fd = a->qmp->fd, .events = POLLIN },
		{ .fd = a->kops->fd(a->kctx), .events = POLLIN },
	};
	uint64_t now = colo_agent_now_ms();
	int ms = agent_timeout(a, now, max_ms);
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = ms % 1000 * 1000000L };
	int n, err;

	if (a->exit_code != AGENT_RUNNING)
		return a->exit_code;
	n = ppoll(pfd, 2, &ts, mask);
	if (n < 0 && errno != EINTR)
		return agent_error(a, AGENT_EXIT_SETUP, "poll: %s",
				   strerror(errno));
	if (n > 0 && pfd[1].revents) {
		err = a->kops->recv(a->kctx, a);
		if (err == -ENOENT)
			return agent_kernel_gone(a, "nfcolo", "");
		if (err)
			agent_error(a, AGENT_RUNNING, "reading the kernel's "
				    "requests: %s", strerror(-err));
		if (a->exit_code != AGENT_RUNNING)
			return a->exit_code;
	}
	if (n > 0 && pfd[0].revents &&
	    agent_qmp_input(a, pfd[0].revents) != AGENT_RUNNING)
		return a->exit_code;
	return agent_timers(a, colo_agent_now_ms());
}
