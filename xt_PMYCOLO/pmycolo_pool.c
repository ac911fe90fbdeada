// SPDX-License-Identifier: GPL-2.0
/*
 * The worker threads that compare for every primary instance, of every
 * namespace: a pool started with the module, one thread per online CPU
 * unless compare_workers says otherwise. The unit a worker serves is a
 * shard of an instance (pmycolo_shard.c): an instance gets the shards it
 * asked for at INIT, else compare_shards (by default one), on as many
 * different workers, starting from the one serving fewest when it
 * attaches.
 *
 * A worker keeps a FIFO of its shards with news, each on it at most once,
 * and gives them turns: it compares one shard's flows for about
 * PMYCOLO_POOL_TURN, then puts it back at the tail if news is left. A
 * packet for a shard wakes its worker only when the worker sleeps, so a
 * burst of packets over many instances costs a wake-up per worker, not
 * one per instance; a worker that had work polls its FIFO for a moment
 * before it sleeps (compare_poll_us), so a stream of packets wakes it
 * seldom. Every shard's tick (pmycolo_scan()) comes due in its worker's
 * loop, between turns: a turn never outlasts the next tick.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include "pmycolo_engine.h"

static unsigned int compare_workers;
module_param(compare_workers, uint, 0444);
MODULE_PARM_DESC(compare_workers, "worker threads comparing for all primary instances (0: one per online CPU)");

/*
 * Read at each attach of an instance that asked for no count of its own
 * (NFCOLO_A_COMPARE_SHARDS): those made after a change get it. One by
 * default: a second shard pays only where one worker is what holds
 * an instance back (docs/design.md measures it).
 */
static unsigned int compare_shards = 1;
module_param(compare_shards, uint, 0644);
MODULE_PARM_DESC(compare_shards, "shards of a new primary instance, each compared by its own worker (0: one per worker; default 1)");

/* A shard's turn: then the next shard with news has its turn. */
#define PMYCOLO_POOL_TURN	msecs_to_jiffies(2)

/*
 * A worker that just had work waits this long for more, awake, before it
 * sleeps: in a stream, news that comes meanwhile costs the packet path no
 * wake-up and the worker no context switch, which cost more than the wait
 * (docs/design.md, Benchmarks). Only while polling pays (the worker's
 * loop). At most PMYCOLO_POOL_POLL_MAX_US.
 */
static unsigned int compare_poll_us = 50;
module_param(compare_poll_us, uint, 0644);
MODULE_PARM_DESC(compare_poll_us, "how long a compare worker that had work polls for more before it sleeps (us, 0: never, at most 1000; default 50)");
#define PMYCOLO_POOL_POLL_MAX_US	1000U

struct pmycolo_pool_worker {
	spinlock_t		lock;		/* ready, running, polling */
	struct list_head	ready;		/* shards with news, FIFO */
	struct pmycolo_shard	*running;	/* whose turn it is, if any */
	bool			polling;	/* waits for news, awake */
	/* Held over the ticks, so that a detach waits for them. */
	struct mutex		shards_mutex;	/* shards, count, next_tick */
	struct list_head	shards;		/* every shard it serves */
	unsigned int		count;
	unsigned long		next_tick;	/* the earliest shard's */
	struct task_struct	*task;
};

static struct pmycolo_pool_worker *pmycolo_pool;
static unsigned int pmycolo_pool_size;

/*
 * Tick the shards whose tick is due, or due within half of it: those with
 * the same tick fall in step, and one walk ticks them all.
 */
static void pmycolo_pool_tick(struct pmycolo_pool_worker *w)
{
	unsigned long next = jiffies + MAX_JIFFY_OFFSET;
	struct pmycolo_shard *sh;

	mutex_lock(&w->shards_mutex);
	list_for_each_entry(sh, &w->shards, pool.node) {
		unsigned long tick = pmycolo_tick(sh->pi);

		if (!time_before(jiffies + tick / 2, sh->pool.next_scan)) {
			pmycolo_scan(sh);
			sh->pool.next_scan = jiffies + tick;
		}
		if (time_before(sh->pool.next_scan, next))
			next = sh->pool.next_scan;
	}
	WRITE_ONCE(w->next_tick, next);
	mutex_unlock(&w->shards_mutex);
}

/* The shard whose turn it is, off the FIFO; NULL when none has news. */
static struct pmycolo_shard *pmycolo_pool_next(struct pmycolo_pool_worker *w)
{
	struct pmycolo_shard *sh;

	spin_lock_bh(&w->lock);
	sh = list_first_entry_or_null(&w->ready, struct pmycolo_shard,
				      pool.ready);
	if (sh)
		list_del_init(&sh->pool.ready);
	w->running = sh;
	spin_unlock_bh(&w->lock);
	return sh;
}

/* @sh's turn is over: back at the tail if it still has news. */
static void pmycolo_pool_done(struct pmycolo_pool_worker *w,
			      struct pmycolo_shard *sh, bool more)
{
	struct completion *left;

	spin_lock_bh(&w->lock);
	w->running = NULL;
	left = sh->pool.left;
	if (more && !sh->pool.gone && list_empty(&sh->pool.ready))
		list_add_tail(&sh->pool.ready, &w->ready);
	spin_unlock_bh(&w->lock);
	/* Its detach frees @sh once told: touch it no more. */
	if (left)
		complete(left);
}

static u64 pmycolo_pool_poll_ns(void)
{
	return (u64)min(READ_ONCE(compare_poll_us), PMYCOLO_POOL_POLL_MAX_US) *
	       NSEC_PER_USEC;
}

/*
 * Wait up to compare_poll_us for news, awake, or until the next tick or
 * another task wants the CPU. True if news came: a packet path that queued
 * it saw the worker polling and woke nobody. *@expired: it waited the
 * whole time in vain.
 */
static bool pmycolo_pool_poll(struct pmycolo_pool_worker *w, u64 poll_ns,
			      bool *expired)
{
	u64 end = local_clock() + poll_ns;
	bool news;

	*expired = false;
	spin_lock_bh(&w->lock);
	w->polling = true;
	spin_unlock_bh(&w->lock);
	do {
		cpu_relax();
		news = !list_empty_careful(&w->ready);
		if (!news && local_clock() >= end)
			*expired = true;
	} while (!news && !*expired && !need_resched() &&
		 time_before(jiffies, READ_ONCE(w->next_tick)));
	/* Under the lock: a packet path that saw it polling queued first. */
	spin_lock_bh(&w->lock);
	w->polling = false;
	news = !list_empty(&w->ready);
	spin_unlock_bh(&w->lock);
	if (news)
		*expired = false;
	return news;
}

/*
 * The worker's loop. It polls after work only while polling pays: a poll
 * that waited in vain stops it (packets come seldom: a request and its
 * answer), a sleep shorter than a poll starts it again (a stream).
 */
static int pmycolo_pool_thread(void *data)
{
	struct pmycolo_pool_worker *w = data;
	bool more, worked = false, poll = true, expired;
	unsigned long next_tick, deadline;
	struct pmycolo_shard *sh;
	u64 poll_ns, slept;

	while (!kthread_should_stop()) {
		if (!time_before(jiffies, READ_ONCE(w->next_tick)))
			pmycolo_pool_tick(w);

		sh = pmycolo_pool_next(w);
		poll_ns = pmycolo_pool_poll_ns();
		if (!sh && worked && poll && poll_ns) {
			worked = false;
			if (pmycolo_pool_poll(w, poll_ns, &expired))
				continue;
			poll = !expired;
		}
		if (!sh) {
			/* A wake (or a stop) after these checks finds us asleep. */
			set_current_state(TASK_INTERRUPTIBLE);
			next_tick = READ_ONCE(w->next_tick);
			slept = local_clock();
			if (list_empty_careful(&w->ready) &&
			    time_before(jiffies, next_tick) &&
			    !kthread_should_stop())
				schedule_timeout(next_tick - jiffies);
			__set_current_state(TASK_RUNNING);
			if (!poll && local_clock() - slept < poll_ns &&
			    !list_empty_careful(&w->ready))
				poll = true;
			continue;
		}

		next_tick = READ_ONCE(w->next_tick);
		deadline = jiffies + PMYCOLO_POOL_TURN;
		if (time_before(next_tick, deadline))
			deadline = next_tick;
		more = pmycolo_compare_ready(sh, deadline);
		pmycolo_pool_done(w, sh, more);
		worked = true;
	}
	return 0;
}

/*
 * @sh has news (a flow joined its empty ready list). Packet context. The
 * worker is woken only if it may be asleep: one in the middle of a turn
 * looks at its FIFO again before it sleeps, and a polling one sees it.
 */
void pmycolo_pool_wake(struct pmycolo_shard *sh)
{
	struct pmycolo_pool_worker *w = sh->pool.worker;
	bool wake = false;

	spin_lock_bh(&w->lock);
	if (!sh->pool.gone && list_empty(&sh->pool.ready)) {
		wake = list_empty(&w->ready) && !w->running && !w->polling;
		list_add_tail(&sh->pool.ready, &w->ready);
	}
	spin_unlock_bh(&w->lock);
	if (wake)
		wake_up_process(w->task);
}

u32 pmycolo_pool_shards(u32 asked)
{
	u32 n = asked ?: READ_ONCE(compare_shards) ?: pmycolo_pool_size;

	/* Shards beyond the workers would only share them. */
	return clamp(n, 1U, pmycolo_pool_size);
}

static void pmycolo_pool_join_shard(struct pmycolo_shard *sh,
				    struct pmycolo_pool_worker *w)
{
	sh->pool.worker = w;
	INIT_LIST_HEAD(&sh->pool.ready);
	sh->pool.left = NULL;
	sh->pool.gone = false;
	sh->pool.next_scan = jiffies;

	mutex_lock(&w->shards_mutex);
	list_add_tail(&sh->pool.node, &w->shards);
	WRITE_ONCE(w->count, w->count + 1);
	WRITE_ONCE(w->next_tick, jiffies);
	mutex_unlock(&w->shards_mutex);
	wake_up_process(w->task);
}

/*
 * Give a new instance's shards to the workers: the first to the one
 * serving fewest, the others each to the next; ticked at once.
 */
void pmycolo_pool_join(struct pmycolo_inst *pi)
{
	unsigned int i, first = 0;

	for (i = 1; i < pmycolo_pool_size; i++) {
		if (READ_ONCE(pmycolo_pool[i].count) <
		    READ_ONCE(pmycolo_pool[first].count))
			first = i;
	}
	for (i = 0; i < pi->n_shards; i++)
		pmycolo_pool_join_shard(pi->shard[i],
					&pmycolo_pool[(first + i) %
						      pmycolo_pool_size]);
}

/*
 * Take @sh away from its worker, and wait until the worker no longer
 * touches it: a tick under way ends first (the mutex), and so does its
 * turn. No wake queues it again.
 */
static void pmycolo_pool_leave_shard(struct pmycolo_shard *sh)
{
	struct pmycolo_pool_worker *w = sh->pool.worker;
	DECLARE_COMPLETION_ONSTACK(left);
	bool running;

	mutex_lock(&w->shards_mutex);
	list_del(&sh->pool.node);
	WRITE_ONCE(w->count, w->count - 1);
	mutex_unlock(&w->shards_mutex);

	spin_lock_bh(&w->lock);
	sh->pool.gone = true;
	list_del_init(&sh->pool.ready);
	running = w->running == sh;
	if (running)
		sh->pool.left = &left;
	spin_unlock_bh(&w->lock);
	if (running)
		wait_for_completion(&left);
}

void pmycolo_pool_leave(struct pmycolo_inst *pi)
{
	u32 i;

	for (i = 0; i < pi->n_shards; i++)
		pmycolo_pool_leave_shard(pi->shard[i]);
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
		mutex_init(&w->shards_mutex);
		INIT_LIST_HEAD(&w->shards);
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
		WARN_ON_ONCE(!list_empty(&pmycolo_pool[i].shards));
	pmycolo_pool_stop(pmycolo_pool_size);
	pmycolo_pool_size = 0;
}
