// SPDX-License-Identifier: GPL-2.0
/*
 * Checkpoint requests of a primary instance. One that cannot be made now is
 * remembered and made again every tick, while its reason lasts. A
 * miscompare's waits a moment first: a checkpoint that begins meanwhile
 * covers it.
 */
#include <linux/module.h>
#include "pmycolo_engine.h"

#define CREATE_TRACE_POINTS
#include "pmycolo_trace.h"

void pmycolo_event(struct colo_event *ev, u8 reason,
		   const struct pmycolo_flow *flow)
{
	memset(ev, 0, sizeof(*ev));
	ev->reason = reason;
	ev->family = flow->key.family;
	ev->l4proto = flow->key.l4proto;
	ev->vm_addr = flow->key.vm;
	ev->peer_addr = flow->key.peer;
	ev->vm_port = ntohs(flow->key.vm_port);
	ev->peer_port = ntohs(flow->key.peer_port);
}

/*
 * Ask for a checkpoint. One that could not be asked for now (another is
 * pending, or the request could not be delivered) is remembered and asked
 * for again every tick, until a request is pending or a checkpoint came.
 */
void pmycolo_request(struct pmycolo_inst *pi, const struct colo_event *ev)
{
	bool asked = colo_request_checkpoint(pi->inst, ev);

	if (asked)
		trace_colo_checkpoint_request(pi->inst->index, ev);
	spin_lock_bh(&pi->want_lock);
	if (asked) {
		pi->want = false;
	} else if (!pi->want &&
		   READ_ONCE(pi->inst->state) == NFCOLO_STATE_ACTIVE) {
		pi->want = true;
		pi->want_ev = *ev;
	}
	spin_unlock_bh(&pi->want_lock);
}

/*
 * QEMU stops the SVM before the PVM, and each side's agent begins the
 * checkpoint at its own stop: an SVM segment from before the stop that is
 * late on its way to the secondary gets the offsets of after it there, and
 * may reach us just before our begin, which would have taken it for stale.
 * It miscompares. Its request is held back this long; a begin meanwhile
 * covers it, as it covers any divergence found before it (docs/design.md,
 * "A real COLO pair").
 */
static unsigned int miscompare_grace_ms = 20;
module_param(miscompare_grace_ms, uint, 0644);
MODULE_PARM_DESC(miscompare_grace_ms, "how long a miscompare's checkpoint request waits for a checkpoint that begins anyway (ms, 0: none; default 20)");

static void pmycolo_request_deferred(struct timer_list *t)
{
	struct pmycolo_inst *pi = from_timer(pi, t, deferred_timer);
	struct colo_event ev;
	bool ask;

	spin_lock_bh(&pi->want_lock);
	ask = pi->deferred;
	pi->deferred = false;
	if (ask)
		ev = pi->deferred_ev;
	spin_unlock_bh(&pi->want_lock);
	if (ask)
		pmycolo_request(pi, &ev);
}

void pmycolo_request_init(struct pmycolo_inst *pi)
{
	timer_setup(&pi->deferred_timer, pmycolo_request_deferred, 0);
}

/*
 * Ask for a checkpoint for a miscompare, after miscompare_grace_ms unless a
 * checkpoint begins first. A request already deferred or wanted stands for it.
 */
void pmycolo_request_miscompare(struct pmycolo_inst *pi,
				const struct colo_event *ev)
{
	unsigned int grace = READ_ONCE(miscompare_grace_ms);

	if (!grace) {
		pmycolo_request(pi, ev);
		return;
	}
	spin_lock_bh(&pi->want_lock);
	if (!pi->deferred && !pi->want) {
		pi->deferred = true;
		pi->deferred_ev = *ev;
		mod_timer(&pi->deferred_timer, jiffies + msecs_to_jiffies(grace));
	}
	spin_unlock_bh(&pi->want_lock);
}

/* A checkpoint begins or is done: it is the one any request was for. */
void pmycolo_request_covered(struct pmycolo_inst *pi)
{
	spin_lock_bh(&pi->want_lock);
	pi->want = false;
	pi->deferred = false;
	spin_unlock_bh(&pi->want_lock);
}

/*
 * The instance's last moment: no worker compares for it any more, so no
 * miscompare defers a request again. One deferred goes with the timer.
 */
void pmycolo_request_stop(struct pmycolo_inst *pi)
{
	spin_lock_bh(&pi->want_lock);
	pi->deferred = false;
	spin_unlock_bh(&pi->want_lock);
	del_timer_sync(&pi->deferred_timer);
}

/* Every tick: ask again for a checkpoint still wanted. */
void pmycolo_request_again(struct pmycolo_inst *pi)
{
	struct colo_event ev;
	bool again;

	spin_lock_bh(&pi->want_lock);
	again = pi->want &&
		!test_bit(COLO_INST_CHECKPOINT_PENDING, &pi->inst->flags);
	if (again)
		ev = pi->want_ev;
	spin_unlock_bh(&pi->want_lock);
	if (again)
		pmycolo_request(pi, &ev);
}
