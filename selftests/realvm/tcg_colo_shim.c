// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim that lets QEMU 7.2's COLO checkpoints run under TCG.
 * Test harness only; never used with KVM.
 *
 * Why: on the primary, colo_do_checkpoint_transaction() (migration/colo.c)
 * drops the BQL and calls qemu_savevm_live_state(); under TCG the RAM
 * bitmap sync, migration_bitmap_sync() -> memory_global_after_dirty_log_sync()
 * -> tcg_log_global_after_sync(), calls run_on_cpu(), whose
 * do_run_on_cpu() waits in qemu_cond_wait(&qemu_work_cond, &qemu_global_mutex)
 * without holding that mutex. pthread_cond_wait() then releases a mutex
 * owned by another thread (or by nobody) and re-acquires it on wake-up, so
 * the migration thread returns owning the BQL while QEMU believes it does
 * not; its qemu_mutex_lock_iothread() before vm_start() deadlocks.
 *
 * What: a pthread_cond_wait() on a mutex the caller does not own takes the
 * mutex, kicks every thread that waits with that mutex, waits for at most a
 * millisecond (the vCPU that runs the work item needs the mutex, which the
 * wait releases), gives the mutex back and returns as a spurious wake-up.
 * The caller's loop re-checks its condition, so a broadcast that came
 * before we held the mutex costs a millisecond.
 *
 * The kick: run_on_cpu() queued the work item and kicked the vCPU without
 * the BQL, so the kick can fall between the vCPU's check for work (under
 * the BQL) and its wait on its halt condition; the VM is stopped for the
 * checkpoint, so no interrupt wakes it after that and the checkpoint
 * waits forever (seen: the COLO thread in do_run_on_cpu(), the vCPU in
 * qemu_wait_io_event(), no checkpoint after it). So the shim remembers
 * every condition a thread waited on with a mutex it owned (the vCPUs'
 * halt conditions among them; QEMU's conditions on the BQL live as long
 * as the VM in this harness's configuration: no disks, no display) and
 * broadcasts those of the mutex at hand before it waits: a spurious
 * wake-up, which every QEMU wait loop tolerates.
 * Every other wait goes to glibc unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

typedef int (*cond_wait_fn)(pthread_cond_t *, pthread_mutex_t *);

static cond_wait_fn real_cond_wait;

static void find_real(void)
{
	real_cond_wait = (cond_wait_fn)dlvsym(RTLD_NEXT, "pthread_cond_wait",
					      "GLIBC_2.3.2");
	if (!real_cond_wait)
		real_cond_wait = (cond_wait_fn)dlsym(RTLD_NEXT,
						     "pthread_cond_wait");
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The conditions waited on, each with its mutex: QEMU has a few dozen. */
#define SHIM_CONDS	256
static struct {
	pthread_cond_t *cond;
	pthread_mutex_t *mutex;
} conds[SHIM_CONDS];
static int nconds;
static pthread_mutex_t conds_lock = PTHREAD_MUTEX_INITIALIZER;

static void remember(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
	int i;

	pthread_mutex_lock(&conds_lock);
	for (i = 0; i < nconds; i++)
		if (conds[i].cond == cond)
			break;
	if (i == nconds && nconds < SHIM_CONDS) {
		conds[i].cond = cond;
		nconds++;
	}
	if (i < nconds)
		conds[i].mutex = mutex;
	pthread_mutex_unlock(&conds_lock);
}

/* With @mutex held: wake every thread waiting with it. */
static void kick(pthread_mutex_t *mutex)
{
	int i;

	pthread_mutex_lock(&conds_lock);
	for (i = 0; i < nconds; i++)
		if (conds[i].mutex == mutex)
			pthread_cond_broadcast(conds[i].cond);
	pthread_mutex_unlock(&conds_lock);
}

int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
	struct timespec ts;

	pthread_once(&once, find_real);
	/* glibc records the owner's tid for the mutex types QEMU uses. */
	if (mutex->__data.__owner == gettid()) {
		remember(cond, mutex);
		return real_cond_wait(cond, mutex);
	}

	pthread_mutex_lock(mutex);
	kick(mutex);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	/* QEMU's conditions may use either clock: name ours. */
	pthread_cond_clockwait(cond, mutex, CLOCK_MONOTONIC, &ts);
	pthread_mutex_unlock(mutex);
	return 0;
}
