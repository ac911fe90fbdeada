// SPDX-License-Identifier: GPL-2.0
/*
 * Counters of a COLO instance: per-cpu so that the data path never shares a
 * cache line, summed only when userspace asks.
 */
#include <linux/percpu.h>
#include "colo_internal.h"

struct colo_pcpu_stats __percpu *colo_stats_alloc(void)
{
	struct colo_pcpu_stats __percpu *stats;
	int cpu;

	stats = alloc_percpu_gfp(struct colo_pcpu_stats, GFP_KERNEL_ACCOUNT);
	if (!stats)
		return NULL;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(stats, cpu)->syncp);
	return stats;
}

void colo_stats_free(struct colo_pcpu_stats __percpu *stats)
{
	free_percpu(stats);
}

/* Only while no data path can count: the role is detached. */
void colo_stats_reset(struct colo_instance *inst)
{
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct colo_pcpu_stats *s = per_cpu_ptr(inst->stats, cpu);

		u64_stats_update_begin(&s->syncp);
		for (i = 0; i <= NFCOLO_STATS_MAX; i++)
			u64_stats_set(&s->cnt[i], 0);
		u64_stats_update_end(&s->syncp);
	}
	for (i = 0; i < ARRAY_SIZE(inst->gauge); i++) {
		atomic_set(&inst->gauge[i], 0);
		atomic_set(&inst->gauge_high[i], 0);
	}
}

/**
 * colo_gauge_set() - set a gauge of an instance
 * @inst: the instance
 * @g: which gauge
 * @value: its new value
 *
 * Also raises the gauge's high-water mark. Any context.
 */
void colo_gauge_set(struct colo_instance *inst, enum colo_gauge g,
		    unsigned int value)
{
	int high = atomic_read(&inst->gauge_high[g]);

	atomic_set(&inst->gauge[g], value);
	while ((int)value > high &&
	       !atomic_try_cmpxchg(&inst->gauge_high[g], &high, value))
		;
}
EXPORT_SYMBOL_GPL(colo_gauge_set);

/**
 * colo_stats_read() - read every counter and gauge of an instance
 * @inst: the instance
 * @out: NFCOLO_STATS_MAX + 1 counters, summed over the CPUs
 *
 * Any context.
 */
void colo_stats_read(const struct colo_instance *inst, u64 *out)
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * (NFCOLO_STATS_MAX + 1));
	for_each_possible_cpu(cpu) {
		const struct colo_pcpu_stats *s = per_cpu_ptr(inst->stats, cpu);
		u64 snap[NFCOLO_STATS_MAX + 1];
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (i = 0; i <= NFCOLO_STATS_MAX; i++)
				snap[i] = u64_stats_read(&s->cnt[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i <= NFCOLO_STATS_MAX; i++)
			out[i] += snap[i];
	}
	out[NFCOLO_STATS_PVM_QUEUE] = atomic_read(&inst->gauge[COLO_GAUGE_PVM_QUEUE]);
	out[NFCOLO_STATS_PVM_QUEUE_HIGH] =
		atomic_read(&inst->gauge_high[COLO_GAUGE_PVM_QUEUE]);
	out[NFCOLO_STATS_SVM_QUEUE] = atomic_read(&inst->gauge[COLO_GAUGE_SVM_QUEUE]);
	out[NFCOLO_STATS_SVM_QUEUE_HIGH] =
		atomic_read(&inst->gauge_high[COLO_GAUGE_SVM_QUEUE]);
	out[NFCOLO_STATS_FLOWS] = atomic_read(&inst->gauge[COLO_GAUGE_FLOWS]);
	out[NFCOLO_STATS_FLOWS_HIGH] =
		atomic_read(&inst->gauge_high[COLO_GAUGE_FLOWS]);
}
EXPORT_SYMBOL_GPL(colo_stats_read);
