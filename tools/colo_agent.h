/* SPDX-License-Identifier: GPL-2.0 */
/*
 * colo-qemu-agent: the state machine between one VM's QEMU (QMP) and its
 * nfcolo instance. The kernel side is a set of operations, so that a unit
 * test can put a fake in its place.
 */
#ifndef COLO_AGENT_H
#define COLO_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "colo_qmp.h"

/* Exit codes, documented in colo-qemu-agent.8. */
#define AGENT_EXIT_OK		0	/* signal, or QEMU closed after COLO ended */
#define AGENT_EXIT_SETUP	1	/* netlink, INIT or opening QMP failed */
#define AGENT_EXIT_USAGE	2
#define AGENT_EXIT_QMP		3	/* QMP refused the start, or not in COLO */
#define AGENT_EXIT_QEMU_GONE	4	/* QEMU closed QMP while COLO ran */
#define AGENT_EXIT_KERNEL_GONE	5	/* the instance or nfcolo went away */
#define AGENT_RUNNING		(-1)

enum colo_kcmd {
	COLO_K_BEGIN,		/* NFCOLO_CHECKPOINT_BEGIN */
	COLO_K_DONE,		/* NFCOLO_DO_CHECKPOINT */
	COLO_K_FAILOVER,	/* NFCOLO_DO_FAILOVER */
};

struct colo_agent;

/* Each returns 0 or a negative errno, with a reason in @msg when known. */
struct colo_kernel_ops {
	int (*init)(void *ctx, char *msg, size_t len);
	int (*cmd)(void *ctx, enum colo_kcmd cmd, char *msg, size_t len);
	/* -ENOENT once the instance is gone. */
	int (*probe)(void *ctx, char *msg, size_t len);
	/* Polled for input; recv() reads it and reports each checkpoint
	 * request with colo_agent_kernel_request(). -ENOENT: nfcolo is gone.
	 */
	int (*fd)(void *ctx);
	int (*recv)(void *ctx, struct colo_agent *a);
};

/* The longest x-checkpoint-delay QEMU takes: one day, in ms. */
#define AGENT_INTERVAL_MAX_MS	86400000

struct colo_agent_cfg {
	uint32_t index;
	uint8_t mode;			/* NFCOLO_MODE_* */
	const char *qmp_path;
	uint32_t interval_ms;		/* x-checkpoint-delay, primary */
	uint32_t wait_ms;		/* for the VM to enter COLO; 0: no */
	uint32_t probe_ms;		/* how often to check the instance */
	uint32_t handshake_ms;		/* for QMP to answer, beyond wait_ms */
};

#define AGENT_REASON_LEN	24

enum agent_phase {
	AGENT_HANDSHAKE,		/* greeting, qmp_capabilities */
	AGENT_WAIT_COLO,		/* query-colo-status until in COLO */
	AGENT_RUNNING_COLO,
	AGENT_FAILED_OVER,		/* COLO_EXIT seen: pass through */
};

struct colo_agent {
	const struct colo_agent_cfg *cfg;
	const struct colo_kernel_ops *kops;
	void *kctx;
	struct colo_qmp *qmp;
	FILE *out;			/* progress: ready, checkpoints */
	FILE *err;			/* errors */

	enum agent_phase phase;
	int exit_code;
	uint64_t start_ms;
	uint64_t next_status_ms;	/* next query-colo-status, or 0 */
	uint64_t next_probe_ms;
	int64_t caps_id, status_id, delay_id, heartbeat_id;
	int64_t params_id;		/* query-migrate-parameters */
	bool caps_sent;
	bool heartbeat_sent;		/* x-colo-lost-heartbeat, once */
	bool start_delay;		/* delay_id is the start-up one */

	bool two_phase;			/* still sending CHECKPOINT_BEGIN */
	bool stopped;			/* between STOP and RESUME */
	uint64_t stop_us;		/* when it stopped (QEMU's clock) */
	uint64_t stop_seen_us;		/* when STOP reached us (monotonic) */
	bool in_flight;			/* asked QEMU, no STOP yet */
	bool deferred;			/* asked again during a checkpoint */
	char in_flight_reason[AGENT_REASON_LEN];
	char deferred_reason[AGENT_REASON_LEN];
	char reason[AGENT_REASON_LEN];	/* of the checkpoint running */
	uint64_t checkpoints;
	uint64_t requests_merged;
};

void colo_agent_init(struct colo_agent *a, const struct colo_agent_cfg *cfg,
		     const struct colo_kernel_ops *kops, void *kctx,
		     struct colo_qmp *qmp, FILE *out, FILE *err);
/* Start talking QMP (qmp already open). AGENT_RUNNING or an exit code. */
int colo_agent_start(struct colo_agent *a);
/*
 * Wait up to @max_ms (or until a signal not in @mask's blocked set) for
 * QMP or the kernel and handle what came. AGENT_RUNNING or an exit code.
 */
int colo_agent_step(struct colo_agent *a, int max_ms, const sigset_t *mask);
/* From recv(): the kernel asks for a checkpoint (enum nfcolo_reason). */
void colo_agent_kernel_request(struct colo_agent *a, unsigned int reason);
/* The operator's failover: x-colo-lost-heartbeat to QEMU. */
int colo_agent_lost_heartbeat(struct colo_agent *a);
/* Handle one QMP message; for the unit test too. */
int colo_agent_qmp_msg(struct colo_agent *a, const struct qmp_msg *m);

uint64_t colo_agent_now_ms(void);

#endif /* COLO_AGENT_H */
