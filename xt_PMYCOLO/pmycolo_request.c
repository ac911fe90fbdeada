// SPDX-License-Identifier: GPL-2.0
/*
 * Checkpoint requests of a primary instance. One that cannot be made now is
 * remembered and made again every tick, while its reason lasts.
 */
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
