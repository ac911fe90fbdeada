/* SPDX-License-Identifier: GPL-2.0 */
/*
 * coloctl: parsing of nfcolo replies and events into plain structs, and
 * their human and JSON output. No sockets here, so it is unit-testable.
 */
#ifndef COLO_PRINT_H
#define COLO_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/netlink.h>

#define COLO_BIT(nr)		(1U << (nr))

/* More than enum nfcolo_stats has, so newer kernels' counters fit too. */
#define COLO_STATS_CAP		128

struct colo_stat {
	uint16_t id;
	uint64_t value;
};

/* One NFCOLO_PROXY_GET reply. @have: COLO_BIT(NFCOLO_A_*) present. */
struct colo_instance {
	uint32_t have;
	uint32_t index;
	uint8_t mode;
	uint32_t flags;
	uint8_t state;
	uint32_t owner_portid;
	uint32_t compare_timeout_ms;
	uint32_t queue_limit;
	uint32_t flow_limit;
	uint8_t neigh_checkpoint;
	uint8_t checkpoint_pending;
	uint32_t compare_shards;
	unsigned int nstats;
	struct colo_stat stats[COLO_STATS_CAP];
};

/* One NFCOLO_KERNEL_NOTIFY. @ev_have: COLO_BIT(NFCOLO_EV_*) present. */
struct colo_event {
	uint32_t have;
	uint32_t index;
	uint8_t mode;
	uint32_t ev_have;
	uint8_t reason;
	uint8_t family;
	uint8_t l4proto;
	uint8_t vm_addr_len;
	uint8_t vm_addr[16];
	uint8_t peer_addr_len;
	uint8_t peer_addr[16];
	uint16_t vm_port;
	uint16_t peer_port;
	uint32_t seq;
	uint32_t offset;
	uint32_t age_ms;
};

/* Fits every "<prefix>_<u32>" fallback name. */
#define COLO_NAME_LEN		24

const char *colo_mode_name(unsigned int mode, char *buf);
const char *colo_state_name(unsigned int state, char *buf);
const char *colo_reason_name(unsigned int reason, char *buf);
const char *colo_stat_name(unsigned int id, char *buf);
const char *colo_l4proto_name(unsigned int proto, char *buf);

int colo_parse_instance(const struct nlmsghdr *nlh, struct colo_instance *in);
int colo_parse_event(const struct nlmsghdr *nlh, struct colo_event *ev);

void colo_print_instance(FILE *f, const struct colo_instance *in, bool json);
void colo_print_event(FILE *f, const struct colo_event *ev, bool json);
void colo_print_ready(FILE *f, uint32_t index, uint8_t mode, bool json);
void colo_print_checkpoint_done(FILE *f, uint32_t index, bool json);
void colo_json_string(FILE *f, const char *s);

/*
 * --json prints one JSON array, whatever the command, as "ip -j" does: an
 * array of instances (status) or of events (monitor, run), one element a
 * line so that a stream can be read as it comes.
 */
struct colo_json_array {
	FILE *f;
	bool json;
	unsigned int n;
};

void colo_json_array_init(struct colo_json_array *a, FILE *f, bool json);
void colo_json_array_next(struct colo_json_array *a);
void colo_json_array_end(struct colo_json_array *a);

#endif /* COLO_PRINT_H */
