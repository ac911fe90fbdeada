// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of colo-qemu-agent's state machine: the test is a fake QEMU
 * speaking QMP (over a unix socket, or a pty standing in for a character
 * device) and a fake kernel (a pipe of checkpoint requests, a log of
 * commands); the agent runs its real loop, one step at a time, between them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_agent.h"

static int passed, failed;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- the fake kernel ---- */

struct fake_kernel {
	int pipe[2];		/* requests: one byte each, its reason */
	char log[64];		/* I init, B begin, D done, F failover */
	int init_err, begin_err, done_err, probe_err;
};

/* A request byte that makes recv() report the family gone. */
#define FAKE_FAMILY_GONE	0xff

static void fk_log(struct fake_kernel *k, char c)
{
	size_t n = strlen(k->log);

	if (n + 1 < sizeof(k->log)) {
		k->log[n] = c;
		k->log[n + 1] = '\0';
	}
}

static int fk_init(void *ctx, char *msg, size_t len)
{
	struct fake_kernel *k = ctx;

	fk_log(k, 'I');
	snprintf(msg, len, "fake init");
	return k->init_err;
}

static int fk_cmd(void *ctx, enum colo_kcmd cmd, char *msg, size_t len)
{
	struct fake_kernel *k = ctx;

	(void)msg;
	(void)len;
	fk_log(k, "BDF"[cmd]);
	if (cmd == COLO_K_BEGIN)
		return k->begin_err;
	if (cmd == COLO_K_DONE)
		return k->done_err;
	return 0;
}

static int fk_probe(void *ctx, char *msg, size_t len)
{
	struct fake_kernel *k = ctx;

	(void)msg;
	(void)len;
	return k->probe_err;
}

static int fk_fd(void *ctx)
{
	return ((struct fake_kernel *)ctx)->pipe[0];
}

static int fk_recv(void *ctx, struct colo_agent *a)
{
	struct fake_kernel *k = ctx;
	unsigned char reason;

	if (read(k->pipe[0], &reason, 1) != 1)
		return -EIO;
	if (reason == FAKE_FAMILY_GONE)
		return -ENOENT;
	colo_agent_kernel_request(a, reason);
	return 0;
}

static const struct colo_kernel_ops fk_ops = {
	.init = fk_init, .cmd = fk_cmd, .probe = fk_probe,
	.fd = fk_fd, .recv = fk_recv,
};

/* ---- the world of one case ---- */

struct world {
	struct fake_kernel k;
	struct colo_agent_cfg cfg;
	struct colo_qmp qmp;
	struct colo_agent a;
	int srv;		/* the fake QEMU's end */
	char rx[4096];		/* what the agent sent, not yet taken */
	char last_cmd[512];	/* the last command expect_cmd() took */
	size_t rx_len;
	char out[16384];	/* the agent's progress and error lines */
	FILE *outf;
	int ret;
	char dir[64];
};

static struct world w;

static void kernel_request(unsigned char reason)
{
	if (write(w.k.pipe[1], &reason, 1) != 1)
		abort();
}

static void srv_send(const char *line)
{
	size_t len = strlen(line);

	if (write(w.srv, line, len) != (ssize_t)len || write(w.srv, "\n", 1) != 1)
		abort();
}

/* One agent step, then take what it wrote to the fake QEMU. */
static void step(void)
{
	ssize_t n;

	if (w.ret == AGENT_RUNNING)
		w.ret = colo_agent_step(&w.a, 20, NULL);
	n = read(w.srv, w.rx + w.rx_len, sizeof(w.rx) - 1 - w.rx_len);
	if (n > 0)
		w.rx_len += n;
	w.rx[w.rx_len] = '\0';
}

/*
 * Step until the agent sends a command naming @what; return its id (-1 if
 * it never does, within a bound that only stops a broken agent hanging).
 */
static int64_t expect_cmd(const char *what)
{
	uint64_t end = colo_agent_now_ms() + 3000;
	static struct cj_doc doc;

	while (colo_agent_now_ms() < end) {
		char *nl = memchr(w.rx, '\n', w.rx_len);

		if (nl) {
			size_t len = nl - w.rx + 1;
			int64_t id = -1;
			bool match;

			match = cj_parse(&doc, w.rx, len - 1) == CJ_OK &&
				cj_str_eq(&doc, cj_get(&doc, 0, "execute"),
					  what);
			if (match) {
				cj_int(&doc, cj_get(&doc, 0, "id"), &id);
				snprintf(w.last_cmd, sizeof(w.last_cmd), "%.*s",
					 (int)len, w.rx);
			}
			else
				printf("note: agent sent %.*s", (int)len, w.rx);
			memmove(w.rx, w.rx + len, w.rx_len - len + 1);
			w.rx_len -= len;
			if (match)
				return id;
			continue;
		}
		if (w.ret != AGENT_RUNNING)
			break;
		step();
	}
	return -1;
}

static void reply(int64_t id, const char *ret)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"return\": %s, \"id\": %lld}", ret,
		 (long long)id);
	srv_send(line);
}

static void reply_error(int64_t id, const char *class, const char *desc)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"id\": %lld, \"error\": {\"class\": "
		 "\"%s\", \"desc\": \"%s\"}}", (long long)id, class, desc);
	srv_send(line);
}

static void event(const char *name, long long ms, const char *data)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"timestamp\": {\"seconds\": %lld, "
		 "\"microseconds\": %lld}, \"event\": \"%s\"%s%s}", ms / 1000,
		 ms % 1000 * 1000, name, data ? ", \"data\": " : "",
		 data ? data : "");
	srv_send(line);
}

/* Step until @cond holds (or the agent exits, or a generous bound). */
#define STEP_UNTIL(cond) do {						\
	uint64_t _end = colo_agent_now_ms() + 3000;			\
	while (!(cond) && w.ret == AGENT_RUNNING &&			\
	       colo_agent_now_ms() < _end)				\
		step();							\
} while (0)

/* Steps enough for anything queued to be handled. */
static void settle(void)
{
	int i;

	for (i = 0; i < 5; i++)
		step();
}

static bool logged(const char *s)
{
	fflush(w.outf);
	return strstr(w.out, s) != NULL;
}

static int count_logged(const char *s)
{
	const char *p = w.out;
	int n = 0;

	fflush(w.outf);
	while ((p = strstr(p, s))) {
		n++;
		p++;
	}
	return n;
}

static void world_start(uint8_t mode, bool device, uint32_t wait_ms)
{
	char path[128];
	int fd;

	memset(&w, 0, sizeof(w));
	w.ret = AGENT_RUNNING;
	if (pipe(w.k.pipe) < 0)
		abort();
	w.cfg.index = 7;
	w.cfg.mode = mode;
	w.cfg.interval_ms = 1234;
	w.cfg.wait_ms = wait_ms;
	w.cfg.probe_ms = 100000;
	w.cfg.handshake_ms = 3000;
	w.outf = fmemopen(w.out, sizeof(w.out), "w");
	if (device) {
		struct termios t;
		int slave;

		/* A pty stands in for /dev/virtio-ports/NAME. */
		if (openpty(&w.srv, &slave, path, NULL, NULL) < 0)
			abort();
		tcgetattr(slave, &t);
		cfmakeraw(&t);
		tcsetattr(slave, TCSANOW, &t);
		/* QEMU greeted before anyone opened the device. */
		srv_send("{\"QMP\": {\"version\": {}, \"capabilities\": []}}");
		close(slave);
	} else {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		strcpy(w.dir, "/tmp/test_colo_agent.XXXXXX");
		if (!mkdtemp(w.dir))
			abort();
		snprintf(path, sizeof(path), "%s/qmp", w.dir);
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
		    listen(fd, 1))
			abort();
		w.srv = fd;
	}
	w.cfg.qmp_path = strdup(path);
	check(qmp_open(&w.qmp, path, path, sizeof(path)) == 0,
	      "qmp_open: %s", path);
	check(w.qmp.is_device == device, "a pty is a device, a socket not");
	if (!device) {
		w.srv = accept(fd, NULL, NULL);
		close(fd);
		srv_send("{\"QMP\": {\"version\": {}, \"capabilities\": "
			 "[\"oob\"]}}");
	}
	fcntl(w.srv, F_SETFL, fcntl(w.srv, F_GETFL) | O_NONBLOCK);
	colo_agent_init(&w.a, &w.cfg, &fk_ops, &w.k, &w.qmp, w.outf, w.outf);
	w.ret = colo_agent_start(&w.a);
}

static void world_end(void)
{
	qmp_close(&w.qmp);
	close(w.srv);
	close(w.k.pipe[0]);
	close(w.k.pipe[1]);
	fclose(w.outf);
	if (w.dir[0]) {
		char path[128];

		snprintf(path, sizeof(path), "%s/qmp", w.dir);
		unlink(path);
		rmdir(w.dir);
	}
	free((void *)w.cfg.qmp_path);
}

/*
 * A checkpoint request after the first: the agent reads QEMU's period and
 * sets it again. Answers the query with @period_ms; returns the id of the
 * migrate-set-parameters that follows.
 */
static int64_t expect_request(unsigned int period_ms)
{
	char ret[64];
	int64_t id = expect_cmd("query-migrate-parameters");

	if (id < 0)
		return -1;
	snprintf(ret, sizeof(ret), "{\"x-checkpoint-delay\": %u}", period_ms);
	reply(id, ret);
	return expect_cmd("migrate-set-parameters");
}

/* Greeting, capabilities, status @mode: up to the instance's creation. */
static void handshake(const char *mode)
{
	char status[128];

	reply(expect_cmd("qmp_capabilities"), "{}");
	snprintf(status, sizeof(status), "{\"mode\": \"%s\", \"last-mode\": "
		 "\"none\", \"reason\": \"none\"}", mode);
	reply(expect_cmd("query-colo-status"), status);
}

/* The primary's start: instance, then a first checkpoint that sets the period. */
static void primary_up(void)
{
	int64_t id;

	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	handshake("primary");
	id = expect_cmd("migrate-set-parameters");
	check(id > 0 && !strcmp(w.k.log, "I"),
	      "primary: instance created, then the first checkpoint asked "
	      "(kernel log '%s')", w.k.log);
	reply(id, "{}");
	event("STOP", 1000, NULL);
	event("RESUME", 1012, NULL);
	STEP_UNTIL(logged("checkpoint 1:"));
	check(logged("checkpoint 1: reason start, pause 12 ms"),
	      "first checkpoint logged with reason start and its pause:\n%s",
	      w.out);
	/* Both events were read at once: the begin came as late as RESUME. */
	check(logged("pause 12 ms, STOP seen 0 ms before RESUME"),
	      "the log says how long before RESUME STOP was handled:\n%s",
	      w.out);
}

static void test_primary(void)
{
	int64_t id;

	primary_up();
	check(!strcmp(w.k.log, "IBBD"), "STOP: BEGIN, RESUME: BEGIN again "
	      "(what the stopped PVM sent before STOP came since), then "
	      "DO_CHECKPOINT (kernel log '%s')", w.k.log);
	check(strstr(w.out, "\"x-checkpoint-delay\"") == NULL,
	      "(sanity) the log does not echo commands");

	/*
	 * A kernel request becomes a QEMU checkpoint, with the period QEMU
	 * has now (an operator set 3000 ms), not the agent's.
	 */
	kernel_request(NFCOLO_REASON_MISCOMPARE);
	id = expect_request(3000);
	check(id > 0 && strstr(w.last_cmd, "\"x-checkpoint-delay\": 3000"),
	      "kernel request: QEMU's period read and set again (%s)",
	      w.last_cmd);
	/* More requests before STOP merge into that one. */
	kernel_request(NFCOLO_REASON_TIMEOUT);
	kernel_request(NFCOLO_REASON_QUEUE_FULL);
	settle();
	check(w.rx_len == 0, "requests before STOP merge: no second command "
	      "(got '%s')", w.rx);
	reply(id, "{}");
	event("STOP", 5000, NULL);
	event("RESUME", 5025, NULL);
	STEP_UNTIL(logged("checkpoint 2:"));
	check(logged("checkpoint 2: reason miscompare, pause 25 ms"),
	      "requested checkpoint logged with the kernel's reason:\n%s",
	      w.out);

	/* QEMU's own checkpoint. */
	event("STOP", 9000, NULL);
	event("RESUME", 9003, NULL);
	STEP_UNTIL(logged("checkpoint 3:"));
	check(logged("checkpoint 3: reason periodic, pause 3 ms"),
	      "a checkpoint nobody asked for is periodic");
	check(!strcmp(w.k.log, "IBBDBBDBBD"), "each checkpoint: BEGIN, "
	      "BEGIN, DO_CHECKPOINT (kernel log '%s')", w.k.log);

	/* A request during a checkpoint: another one follows it. */
	event("STOP", 12000, NULL);
	settle();
	kernel_request(NFCOLO_REASON_TIMEOUT);
	settle();
	check(w.rx_len == 0, "no command while QEMU is stopped");
	event("RESUME", 12001, NULL);
	id = expect_request(3000);
	check(id > 0, "a request during a checkpoint: one more after RESUME");
	/* QEMU refuses it: logged, the agent goes on. */
	reply_error(id, "GenericError", "fake refusal");
	STEP_UNTIL(logged("fake refusal"));
	check(w.ret == AGENT_RUNNING && logged("refused: GenericError: fake "
	      "refusal"), "a refused checkpoint request is logged, not fatal");
	kernel_request(NFCOLO_REASON_MISCOMPARE);
	id = expect_cmd("query-migrate-parameters");
	reply_error(id, "GenericError", "no parameters");
	check(id > 0 && expect_cmd("migrate-set-parameters") > 0 &&
	      strstr(w.last_cmd, "\"x-checkpoint-delay\": 1234") &&
	      logged("query-migrate-parameters refused"),
	      "after a refusal, the next request is sent again; without "
	      "QEMU's period, with the agent's (%s)", w.last_cmd);

	/* COLO ends: DO_FAILOVER; QEMU closing afterwards is a clean exit. */
	event("COLO_EXIT", 20000, "{\"mode\": \"primary\", \"reason\": "
	      "\"request\"}");
	STEP_UNTIL(strchr(w.k.log, 'F'));
	check(w.ret == AGENT_RUNNING && w.k.log[strlen(w.k.log) - 1] == 'F',
	      "COLO_EXIT: DO_FAILOVER (kernel log '%s')", w.k.log);
	event("STOP", 21000, NULL);
	event("RESUME", 21001, NULL);
	settle();
	check(w.k.log[strlen(w.k.log) - 1] == 'F',
	      "after failover, STOP/RESUME do nothing");
	close(w.srv);
	w.srv = open("/dev/null", O_RDONLY);
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_OK, "QEMU closing after COLO_EXIT: exit 0 "
	      "(got %d)", w.ret);
	world_end();
}

static void test_one_phase(void)
{
	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	w.k.begin_err = -EOPNOTSUPP;
	handshake("primary");
	reply(expect_cmd("migrate-set-parameters"), "{}");
	event("STOP", 1000, NULL);
	event("RESUME", 1010, NULL);
	event("STOP", 2000, NULL);
	event("RESUME", 2010, NULL);
	STEP_UNTIL(logged("checkpoint 2:"));
	check(!strcmp(w.k.log, "IBDD"), "no CHECKPOINT_BEGIN in the kernel: "
	      "tried once, then DO_CHECKPOINT only (kernel log '%s')",
	      w.k.log);
	check(count_logged("one-phase") == 1, "the fallback is said once");
	world_end();
}

static void test_secondary_device(void)
{
	world_start(NFCOLO_MODE_SECONDARY, true, 0);
	/* On a device the agent does not wait for the (old) greeting. */
	reply_error(expect_cmd("qmp_capabilities"), "CommandNotFound",
		    "Capabilities negotiation is already complete, command "
		    "ignored");
	reply(expect_cmd("query-colo-status"), "{\"mode\": \"secondary\", "
	      "\"last-mode\": \"none\", \"reason\": \"none\"}");
	STEP_UNTIL(logged("ready"));
	check(!strcmp(w.k.log, "I"), "secondary over a device: instance "
	      "created (kernel log '%s')", w.k.log);
	event("STOP", 3000, NULL);
	event("RESUME", 3040, NULL);
	STEP_UNTIL(logged("checkpoint 1:"));
	check(!strcmp(w.k.log, "IBD") &&
	      logged("checkpoint 1: reason periodic, pause 40 ms"),
	      "secondary: STOP is CHECKPOINT_BEGIN, RESUME DO_CHECKPOINT "
	      "(kernel log '%s')", w.k.log);
	kernel_request(NFCOLO_REASON_MISCOMPARE);
	settle();
	check(w.rx_len == 0, "secondary: no checkpoint requests to QEMU");
	check(colo_agent_lost_heartbeat(&w.a) == AGENT_RUNNING &&
	      expect_cmd("x-colo-lost-heartbeat") > 0,
	      "operator failover: x-colo-lost-heartbeat sent");
	event("COLO_EXIT", 4000, "{\"mode\": \"secondary\", \"reason\": "
	      "\"error\"}");
	STEP_UNTIL(strchr(w.k.log, 'F'));
	check(!strcmp(w.k.log, "IBDF") && logged("reason error"),
	      "secondary COLO_EXIT (reason error): DO_FAILOVER");
	settle();
	check(w.rx_len == 0, "after the operator's failover, no second "
	      "x-colo-lost-heartbeat (%.*s)", (int)w.rx_len, w.rx);
	world_end();
}

/*
 * The primary dies mid-checkpoint: the secondary saw STOP, never RESUME
 * as the PVM's copy, and QEMU leaves COLO with its VM stopped. The
 * failover follows the begin without a commit, which tells the kernel to
 * undo the begin; x-colo-lost-heartbeat then has QEMU run the VM.
 */
static void test_secondary_dies_mid_checkpoint(void)
{
	world_start(NFCOLO_MODE_SECONDARY, false, 0);
	handshake("secondary");
	STEP_UNTIL(logged("ready"));
	event("STOP", 3000, NULL);
	STEP_UNTIL(strchr(w.k.log, 'B'));
	event("COLO_EXIT", 3100, "{\"mode\": \"secondary\", \"reason\": "
	      "\"error\"}");
	STEP_UNTIL(strchr(w.k.log, 'F'));
	check(expect_cmd("x-colo-lost-heartbeat") > 0 &&
	      logged("left COLO on an error"),
	      "COLO_EXIT (reason error): x-colo-lost-heartbeat finishes "
	      "QEMU's failover");
	event("RESUME", 3200, NULL);
	settle();
	check(!strcmp(w.k.log, "IBF") && logged("never completed") &&
	      !logged("checkpoint 1:") && logged("runs on its own"),
	      "STOP, then COLO_EXIT: BEGIN, DO_FAILOVER, no commit, and the "
	      "RESUME of the failover is no checkpoint (kernel log '%s')",
	      w.k.log);
	world_end();
}

static void test_qemu_gone(bool device)
{
	world_start(NFCOLO_MODE_SECONDARY, device, 0);
	if (device)
		reply(expect_cmd("qmp_capabilities"), "{}");
	else
		handshake("secondary");
	if (device)
		reply(expect_cmd("query-colo-status"), "{\"mode\": "
		      "\"secondary\", \"last-mode\": \"none\", \"reason\": "
		      "\"none\"}");
	STEP_UNTIL(logged("ready"));
	close(w.srv);
	w.srv = open("/dev/null", O_RDONLY);
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_QEMU_GONE && logged("QEMU closed QMP") &&
	      logged("fails over and stays"),
	      "%s: QEMU gone while in COLO: exit 4 with the instance's fate "
	      "(got %d):\n%s", device ? "device" : "socket", w.ret, w.out);
	world_end();
}

static void test_kernel_gone(void)
{
	primary_up();
	kernel_request(FAKE_FAMILY_GONE);
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_KERNEL_GONE && logged("is gone"),
	      "nfcolo family gone: exit 5 (got %d)", w.ret);
	world_end();

	primary_up();
	w.cfg.probe_ms = 10;
	w.a.next_probe_ms = 0;
	w.k.probe_err = -ENOENT;
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_KERNEL_GONE,
	      "instance destroyed under the agent: the probe sees it, exit 5 "
	      "(got %d)", w.ret);
	world_end();

	primary_up();
	w.k.done_err = -ENOENT;
	event("STOP", 3000, NULL);
	event("RESUME", 3001, NULL);
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_KERNEL_GONE && logged("DO_CHECKPOINT"),
	      "DO_CHECKPOINT answered ENOENT: exit 5 (got %d)", w.ret);
	world_end();
}

static void test_start_refused(void)
{
	/* Not in COLO and no --wait. */
	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	handshake("none");
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_QMP && !w.k.log[0] && logged("not in COLO"),
	      "VM not in COLO: exit 3, no instance (got %d)", w.ret);
	world_end();

	/* With --wait, it asks again until COLO starts. */
	world_start(NFCOLO_MODE_PRIMARY, false, 5000);
	handshake("none");
	reply(expect_cmd("query-colo-status"), "{\"mode\": \"primary\", "
	      "\"last-mode\": \"none\", \"reason\": \"none\"}");
	check(expect_cmd("migrate-set-parameters") > 0 &&
	      !strcmp(w.k.log, "I"), "--wait: COLO came, the agent started");
	world_end();

	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	handshake("secondary");
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_QMP && logged("as secondary"),
	      "QEMU in the other role: exit 3 (got %d)", w.ret);
	world_end();

	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	reply(expect_cmd("qmp_capabilities"), "{}");
	reply_error(expect_cmd("query-colo-status"), "CommandNotFound",
		    "The command query-colo-status has not been found");
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_QMP, "no query-colo-status: exit 3");
	world_end();

	/* A QEMU that stops answering during the start. */
	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	w.cfg.handshake_ms = 200;
	reply(expect_cmd("qmp_capabilities"), "{}");
	check(expect_cmd("query-colo-status") > 0, "status asked");
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_QMP && logged("did not answer") &&
	      !w.k.log[0], "no answer to query-colo-status: exit 3 (got %d)",
	      w.ret);
	world_end();

	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	handshake("primary");
	reply_error(expect_cmd("migrate-set-parameters"), "GenericError",
		    "nope");
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_QMP && logged("refused at start"),
	      "first migrate-set-parameters refused: exit 3 (got %d)", w.ret);
	world_end();

	world_start(NFCOLO_MODE_PRIMARY, false, 0);
	w.k.init_err = -EEXIST;
	handshake("primary");
	STEP_UNTIL(w.ret != AGENT_RUNNING);
	check(w.ret == AGENT_EXIT_SETUP && logged("cannot create instance 7"),
	      "INIT refused: exit 1 (got %d)", w.ret);
	world_end();

	/* Hostile input is skipped, the session goes on. */
	world_start(NFCOLO_MODE_SECONDARY, false, 0);
	srv_send("{\"event\": \"STOP\"");
	srv_send("\x01\x02garbage");
	handshake("secondary");
	STEP_UNTIL(logged("ready"));
	check(w.ret == AGENT_RUNNING && logged("skipping a message"),
	      "malformed QMP lines are skipped with a message");
	world_end();
}

int main(void)
{
	test_primary();
	test_one_phase();
	test_secondary_device();
	test_secondary_dies_mid_checkpoint();
	test_qemu_gone(false);
	test_qemu_gone(true);
	test_kernel_gone();
	test_start_refused();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
