// SPDX-License-Identifier: GPL-2.0
/*
 * colo-qemu-agent: for one VM on one host, own its nfcolo instance and drive
 * it from QEMU's COLO frame over QMP. See colo-qemu-agent(8).
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/netfilter/nfnetlink_colo.h>

#include "colo_agent.h"
#include "colo_agent_nl.h"

#ifndef COLOCTL_VERSION
#define COLOCTL_VERSION	"0.1"
#endif

#define AGENT_INTERVAL_DEFAULT_MS	20000U
#define AGENT_PROBE_MS			1000U
#define AGENT_HANDSHAKE_MS		10000U

static volatile sig_atomic_t agent_stop_sig;
static volatile sig_atomic_t agent_failover_sig;

static void agent_on_signal(int sig)
{
	if (sig == SIGUSR1)
		agent_failover_sig = 1;
	else
		agent_stop_sig = sig;
}

static void agent_usage(FILE *f)
{
	fputs("usage: colo-qemu-agent --index N --mode primary|secondary "
	      "--qmp PATH\n"
	      "                       [--checkpoint-interval MS] "
	      "[--wait SECS]\n"
	      "                       [--compare-timeout MS] "
	      "[--queue-limit N]\n"
	      "                       [--realtime PRIO]\n"
	      "       colo-qemu-agent --help | --version\n"
	      "PATH: QEMU's QMP unix socket, or a character device.\n"
	      "SIGTERM/SIGINT: exit 0; SIGUSR1: x-colo-lost-heartbeat.\n"
	      "Exit: 0 ok, 1 setup, 2 usage, 3 QMP refused or not in COLO,\n"
	      "      4 QEMU went away, 5 the kernel instance went away.\n", f);
}

static bool agent_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	unsigned long long n;
	char *end;

	if (!s[0] || s[0] == '-')
		return false;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || *end || n < min || n > max)
		return false;
	*v = n;
	return true;
}

static int agent_bad(const char *opt, const char *val)
{
	fprintf(stderr, "colo-qemu-agent: bad value for %s: '%s'\n", opt, val);
	return AGENT_EXIT_USAGE;
}

static int agent_parse(int argc, char **argv, struct colo_agent_cfg *cfg,
		       struct colo_agent_nl *k, uint32_t *rt_prio)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "qmp", required_argument, NULL, 'q' },
		{ "checkpoint-interval", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' },
		{ "compare-timeout", required_argument, NULL, 't' },
		{ "queue-limit", required_argument, NULL, 'l' },
		{ "realtime", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	uint32_t secs;
	int c;

	while ((c = getopt_long(argc, argv, "i:m:q:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!agent_u32(optarg, NFCOLO_INDEX_MIN,
				       NFCOLO_INDEX_MAX, &cfg->index))
				return agent_bad("--index", optarg);
			break;
		case 'm':
			if (!strcmp(optarg, "primary"))
				cfg->mode = NFCOLO_MODE_PRIMARY;
			else if (!strcmp(optarg, "secondary"))
				cfg->mode = NFCOLO_MODE_SECONDARY;
			else
				return agent_bad("--mode", optarg);
			break;
		case 'q':
			cfg->qmp_path = optarg;
			break;
		case 'c':
			/* QEMU's x-checkpoint-delay: 1 ms to one day. */
			if (!agent_u32(optarg, 1, AGENT_INTERVAL_MAX_MS,
				       &cfg->interval_ms))
				return agent_bad("--checkpoint-interval",
						 optarg);
			break;
		case 'w':
			if (!agent_u32(optarg, 0, 86400, &secs))
				return agent_bad("--wait", optarg);
			cfg->wait_ms = secs * 1000;
			break;
		case 't':
			if (!agent_u32(optarg, NFCOLO_COMPARE_TIMEOUT_MIN_MS,
				       NFCOLO_COMPARE_TIMEOUT_MAX_MS,
				       &k->timeout_ms))
				return agent_bad("--compare-timeout", optarg);
			k->has_timeout = true;
			break;
		case 'l':
			if (!agent_u32(optarg, NFCOLO_QUEUE_LIMIT_MIN,
				       NFCOLO_QUEUE_LIMIT_MAX, &k->queue_limit))
				return agent_bad("--queue-limit", optarg);
			k->has_queue_limit = true;
			break;
		case 'r':
			if (!agent_u32(optarg, 1, 99, rt_prio))
				return agent_bad("--realtime", optarg);
			break;
		case 'h':
			agent_usage(stdout);
			exit(AGENT_EXIT_OK);
		case 'V':
			printf("colo-qemu-agent %s (%s version %u)\n",
			       COLOCTL_VERSION, NFCOLO_GENL_NAME,
			       NFCOLO_GENL_VERSION);
			exit(AGENT_EXIT_OK);
		default:
			agent_usage(stderr);
			return AGENT_EXIT_USAGE;
		}
	}
	if (optind < argc || !cfg->index || !cfg->mode || !cfg->qmp_path) {
		fputs("colo-qemu-agent: --index, --mode and --qmp are needed, "
		      "and nothing else\n", stderr);
		agent_usage(stderr);
		return AGENT_EXIT_USAGE;
	}
	if (cfg->mode != NFCOLO_MODE_PRIMARY &&
	    (k->has_timeout || k->has_queue_limit)) {
		fputs("colo-qemu-agent: --compare-timeout and --queue-limit "
		      "apply to a primary only\n", stderr);
		return AGENT_EXIT_USAGE;
	}
	k->index = cfg->index;
	k->mode = cfg->mode;
	return AGENT_EXIT_OK;
}

/*
 * --realtime: the secondary's agent must begin the kernel's checkpoint
 * before QEMU resumes the SVM, a pause of a few ms, and QEMU does not wait
 * for it (colo-qemu-agent(8)). On a host whose CPUs are busy with the VMs
 * a SCHED_OTHER agent may be woken too late; a SCHED_FIFO one preempts
 * them, and with its memory locked takes no page fault on the way.
 */
static int agent_realtime(uint32_t prio)
{
	struct sched_param sp = { .sched_priority = (int)prio };

	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		fprintf(stderr,
			"colo-qemu-agent: --realtime %u: SCHED_FIFO: %s (needs CAP_SYS_NICE)\n",
			prio, strerror(errno));
		return AGENT_EXIT_SETUP;
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		fprintf(stderr,
			"colo-qemu-agent: --realtime: mlockall: %s (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK)\n",
			strerror(errno));
		return AGENT_EXIT_SETUP;
	}
	return AGENT_EXIT_OK;
}

/* Signals stay blocked but while the agent waits, so none is missed. */
static void agent_signals(sigset_t *wait_mask)
{
	struct sigaction sa = { .sa_handler = agent_on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGUSR1);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* A QEMU that goes away must not kill us on write. */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct colo_agent_cfg cfg = {
		.interval_ms	= AGENT_INTERVAL_DEFAULT_MS,
		.probe_ms	= AGENT_PROBE_MS,
		.handshake_ms	= AGENT_HANDSHAKE_MS,
	};
	static struct colo_qmp qmp;
	struct colo_agent_nl k = { 0 };
	struct colo_agent a;
	sigset_t wait_mask;
	uint32_t rt_prio = 0;
	struct colo_err e;
	char err[512];
	int ret;

	ret = agent_parse(argc, argv, &cfg, &k, &rt_prio);
	if (ret)
		return ret;
	if (rt_prio) {
		ret = agent_realtime(rt_prio);
		if (ret)
			return ret;
	}
	agent_signals(&wait_mask);
	if (colo_agent_nl_open(&k, &e) < 0) {
		fprintf(stderr, "colo-qemu-agent: netlink: %s%s%s\n",
			strerror(e.err), e.msg[0] ? ": " : "", e.msg);
		return AGENT_EXIT_SETUP;
	}
	if (qmp_open(&qmp, cfg.qmp_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "colo-qemu-agent: QMP: %s\n", err);
		colo_agent_nl_close(&k);
		return AGENT_EXIT_SETUP;
	}
	colo_agent_init(&a, &cfg, &colo_agent_nl_ops, &k, &qmp, stdout,
			stderr);
	ret = colo_agent_start(&a);
	while (ret == AGENT_RUNNING && !agent_stop_sig) {
		if (agent_failover_sig) {
			agent_failover_sig = 0;
			ret = colo_agent_lost_heartbeat(&a);
			continue;
		}
		ret = colo_agent_step(&a, 60000, &wait_mask);
	}
	if (ret == AGENT_RUNNING) {
		printf("colo-qemu-agent: %s: exiting; instance %u %s\n",
		       strsignal(agent_stop_sig), cfg.index,
		       a.phase < AGENT_RUNNING_COLO ? "was never created" :
		       cfg.mode == NFCOLO_MODE_PRIMARY ? "goes away" :
		       "fails over and stays");
		ret = AGENT_EXIT_OK;
	}
	qmp_close(&qmp);
	colo_agent_nl_close(&k);
	return ret;
}
