/* SPDX-License-Identifier: GPL-2.0 */
/*
 * colo-qemu-agent: a QMP client over a unix socket or a character device.
 * QEMU ends every message with a newline and escapes newlines inside
 * strings, so one line is one message.
 */
#ifndef COLO_QMP_H
#define COLO_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "colo_json.h"

enum qmp_kind {
	QMP_GREETING,
	QMP_RETURN,
	QMP_ERROR,
	QMP_EVENT,
	QMP_BAD,	/* not JSON, or not a QMP message: skipped */
};

#define QMP_NAME_LEN	64
#define QMP_DESC_LEN	256

struct qmp_msg {
	enum qmp_kind kind;
	bool has_id;
	int64_t id;
	char event[QMP_NAME_LEN];	/* QMP_EVENT */
	char err_class[QMP_NAME_LEN];	/* QMP_ERROR */
	char err_desc[QMP_DESC_LEN];	/* QMP_ERROR; QMP_BAD: why */
	const struct cj_doc *doc;
	int ret;			/* "return" or "data" token, or -1 */
};

struct colo_qmp {
	int fd;
	bool is_device;
	bool discarding;	/* the rest of an overlong line */
	uint32_t next_id;
	size_t len;
	char buf[CJ_MAX_LEN + 1];
	char line[CJ_MAX_LEN + 1];
	struct cj_doc doc;
};

/* 0, or -1 with a message in @err. */
int qmp_open(struct colo_qmp *q, const char *path, char *err, size_t errlen);
void qmp_close(struct colo_qmp *q);
/* Take what the fd has: >0 bytes, 0 end of file, -1 errno (EAGAIN: none). */
int qmp_fill(struct colo_qmp *q);
/* 1: @m holds the next message (valid until the next call); 0: none yet. */
int qmp_next(struct colo_qmp *q, struct qmp_msg *m);
/* Parse one line; the pure part of qmp_next(), for tests. */
void qmp_classify(struct cj_doc *doc, const char *line, size_t len,
		  struct qmp_msg *m);
/* Send {"execute": @cmd, "arguments": @args, "id": N}; N, or -1 (errno). */
int64_t qmp_send(struct colo_qmp *q, const char *cmd, const char *args);

#endif /* COLO_QMP_H */
