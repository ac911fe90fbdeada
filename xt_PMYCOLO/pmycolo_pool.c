// SPDX-License-Identifier: GPL-2.0
/*
 * The worker threads that compare for every primary instance, of every
 * namespace: a pool started with the module, one thread per online CPU
 * unless compare_workers says otherwise. Each instance is served by one
 * worker, the one serving fewest when it attaches.
 *
 * A worker keeps a FIFO of its instances with news, each on it at most
 * once, and gives them turns: it compares one instance's flows for about
 * PMYCOLO_POOL_TURN, then puts it back at the tail if news is left. A
 * packet for an instance wakes its worker only when the worker sleeps, so
 * a burst of packets over many instances costs a wake-up per worker, not
 * one per instance. Every instance's tick (pmycolo_scan()) comes due in
 * its worker's loop, between turns: a turn never outlasts the next tick.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include "pmycolo_engine.h"

static unsigned int compare_workers;
module_param(compare_workers, uint, 0444);
MODULE_PARM_DESC(compare_workers, "worker threads comparing for all primary instances (0: one per online CPU)");

/* An instance's turn: then the next instance with news has its turn. */
#define PMYCOLO_POOL_TURN	msecs_to_jiffies(2)

struct pmycolo_pool_worker {
	spinlock_t		lock;		/* ready, running */
	struct list_head	ready;		/* instances with news, FIFO */
	struct pmycolo_inst	*running;	/* whose turn it is, if any */
	/* Held over the ticks, so that a detach waits for them. */
	struct mutex		insts_mutex;	/* insts, count, next_tick */
	struct list_head	insts;		/* every instance it serves */
	unsigned int		count;
	unsigned long		next_tick;	/* the earliest instance's */
	struct task_struct	*task;
};

static struct pmycolo_pool_worker *pmycolo_pool;
static unsigned int pmycolo_pool_size;

/*
 * Tick the instances whose tick is due, or due within half of it: those
 * with the same tick fall in step, and one walk ticks them all.
 */
static void pmycolo_pool_tick(struct pmycolo_pool_worker *w)
{
	unsigned long next = jiffies + MAX_JIFFY_OFFSET;
	struct pmycolo_inst *pi;

	mutex_lock(&w->insts_mutex);
	list_for_each_entry(pi, &w->insts, pool.node) {
		unsigned long tick = pmycolo_tick(pi);

		if (!time_before(jiffies + tick / 2, pi->pool.next_scan)) {
			pmycolo_scan(pi);
			pi->pool.next_scan = jiffies + tick;
		}
		if (time_before(pi->pool.next_scan, next))
			next = pi->pool.next_scan;
	}
	WRITE_ONCE(w->next_tick, next);
	mutex_unlock(&w->insts_mutex);
}

/* The instance whose turn it is, off the FIFO; NULL when none has news. */
static struct pmycolo_inst *pmycolo_pool_next(struct pmycolo_pool_worker *w)
{
	struct pmycolo_inst *pi;

	spin_lock_bh(&w->lock);
	pi = list_first_entry_or_null(&w->ready, struct pmycolo_inst,
				      pool.ready);
	if (pi)
		list_del_init(&pi->pool.ready);
	w->running = pi;
	spin_unlock_bh(&w->lock);
	return pi;
}

/* @pi's turn is over: back at the tail if it still has news. */
static void pmycolo_pool_done(struct pmycolo_pool_worker *w,
			      struct pmycolo_inst *pi, bool more)
{
	struct completion *left;

	spin_lock_bh(&w->lock);
	w->running = NULL;
	left = pi->pool.left;
	if (more && !pi->pool.gone && list_empty(&pi->pool.ready))
		list_add_tail(&pi->pool.ready, &w->ready);
	spin_unlock_bh(&w->lock);
	/* Its detach frees @pi once told: touch it no more. */
	if (left)
		complete(left);
}

static int pmycolo_pool_thread(void *data)
{
	struct pmycolo_pool_worker *w = data;
	unsigned long next_tick, deadline;
	struct pmycolo_inst *pi;
	bool more;

	while (!kthread_should_stop()) {
		if (!time_before(jiffies, READ_ONCE(w->next_tick)))
			pmycolo_pool_tick(w);

		pi = pmycolo_pool_next(w);
		if (!pi) {
			/* A wake (or a stop) after these checks finds us asleep. */
			set_current_state(TASK_INTERRUPTIBLE);
			next_tick = READ_ONCE(w->next_tick);
			if (list_empty_careful(&w->ready) &&
			    time_before(jiffies, next_tick) &&
			    !kthread_should_stop())
				schedule_timeout(next_tick - jiffies);
			__set_current_state(TASK_RUNNING);
			continue;
		}

		next_tick = READ_ONCE(w->next_tick);
		deadline = jiffies + PMYCOLO_POOL_TURN;
		if (time_before(next_tick, deadline))
			deadline = next_tick;
		more = pmycolo_compare_ready(pi, deadline);
		pmycolo_pool_done(w, pi, more);
	}
	return 0;
}

/*
 * @pi has news (a flow joined its empty ready list). Packet context. The
 * worker is woken only if it may be asleep: one in the middle of a turn
 * looks at its FIFO again before it sleeps.
 */
void pmycolo_pool_wake(struct pmycolo_inst *pi)
{
	struct pmycolo_pool_worker *w = pi->pool.worker;
	bool wake = false;

	spin_lock_bh(&w->lock);
	if (!pi->pool.gone && list_empty(&pi->pool.ready)) {
		wake = list_empty(&w->ready) && !w->running;
		list_add_tail(&pi->pool.ready, &w->ready);
	}
	spin_unlock_bh(&w->lock);
	if (wake)
		wake_up_process(w->task);
}

/* Give a new instance to the worker serving fewest; ticked at once. */
void pmycolo_pool_join(struct pmycolo_inst *pi)
{
	struct pmycolo_pool_worker *w = &pmycolo_pool[0];
	unsigned int i;

	for (i = 1; i < pmycolo_pool_size; i++) {
		if (READ_ONCE(pmycolo_pool[i].count) < READ_ONCE(w->count))
			w = &pmycolo_pool[i];
	}
	pi->pool.worker = w;
	INIT_LIST_HEAD(&pi->pool.ready);
	pi->pool.left = NULL;
	pi->pool.gone = false;
	pi->pool.next_scan = jiffies;

	mutex_lock(&w->insts_mutex);
	list_add_tail(&pi->pool.node, &w->insts);
	WRITE_ONCE(w->count, w->count + 1);
	WRITE_ONCE(w->next_tick, jiffies);
	mutex_unlock(&w->insts_mutex);
	wake_up_process(w->task);
}

/*
 * Take @pi away from its worker, and wait until the worker no longer
 * touches it: a tick under way ends first (the mutex), and so does its
 * turn. No wake queues it again.
 */
void pmycolo_pool_leave(struct pmycolo_inst *pi)
{
	struct pmycolo_pool_worker *w = pi->pool.worker;
	DECLARE_COMPLETION_ONSTACK(left);
	bool running;

	mutex_lock(&w->insts_mutex);
	list_del(&pi->pool.node);
	WRITE_ONCE(w->count, w->count - 1);
	mutex_unlock(&w->insts_mutex);

	spin_lock_bh(&w->lock);
	pi->pool.gone = true;
	list_del_init(&pi->pool.ready);
	running = w->running == pi;
	if (running)
		pi->pool.left = &left;
	spin_unlock_bh(&w->lock);
	if (running)
		wait_for_completion(&left);
}

static void pmycolo_pool_stop(unsigned int n)
{
	while (n--)
		kthread_stop(pmycolo_pool[n].task);
	kfree(pmycolo_pool);
	pmycolo_pool = NULL;
}

/* Before any instance: every attach joins the pool. */
int pmycolo_pool_init(void)
{
	unsigned int i, n = compare_workers ?: num_online_cpus();
	struct pmycolo_pool_worker *w;

	/* More runnable threads than CPUs would only take turns. */
	n = clamp(n, 1U, num_possible_cpus());
	pmycolo_pool = kcalloc(n, sizeof(*pmycolo_pool), GFP_KERNEL);
	if (!pmycolo_pool)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		w = &pmycolo_pool[i];
		spin_lock_init(&w->lock);
		INIT_LIST_HEAD(&w->ready);
		mutex_init(&w->insts_mutex);
		INIT_LIST_HEAD(&w->insts);
		w->next_tick = jiffies + MAX_JIFFY_OFFSET;
		w->task = kthread_run(pmycolo_pool_thread, w, "colo_pmy/w%u", i);
		if (IS_ERR(w->task)) {
			int err = PTR_ERR(w->task);

			pmycolo_pool_stop(i);
			return err;
		}
	}
	pmycolo_pool_size = n;
	return 0;
}

/* After every instance has detached. */
void pmycolo_pool_exit(void)
{
	unsigned int i;

	for (i = 0; i < pmycolo_pool_size; i++)
		WARN_ON_ONCE(!list_empty(&pmycolo_pool[i].insts));
	pmycolo_pool_stop(pmycolo_pool_size);
	pmycolo_pool_size = 0;
}
