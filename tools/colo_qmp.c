// SPDX-License-Identifier: GPL-2.0
/*
 * colo-qemu-agent: QMP transport and message classification.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "colo_qmp.h"

/* A stalled QEMU must not block the agent's checkpoint path for long. */
#define QMP_WRITE_TIMEOUT_MS	2000

static int qmp_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "connect %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * A unix socket is connected; anything else that is a character device or a
 * FIFO-like file (a virtio-serial port, a pty) is opened read-write.
 */
int qmp_open(struct colo_qmp *q, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	q->next_id = 1;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISSOCK(st.st_mode)) {
		fd = qmp_connect(path, err, errlen);
	} else if (S_ISCHR(st.st_mode)) {
		q->is_device = true;
		fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			snprintf(err, errlen, "open %s: %s", path,
				 strerror(errno));
	} else {
		snprintf(err, errlen, "%s: neither a unix socket nor a "
			 "character device", path);
		return -1;
	}
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	q->fd = fd;
	return 0;
}

void qmp_close(struct colo_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

int qmp_fill(struct colo_qmp *q)
{
	ssize_t n;

	if (q->len == sizeof(q->buf) - 1) {
		/* No newline in a full buffer: drop it up to the next one. */
		q->discarding = true;
		q->len = 0;
	}
	n = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
	if (n > 0)
		q->len += n;
	return n < 0 ? -1 : (int)n;
}

static void qmp_copy_str(const struct cj_doc *doc, int t, char *buf,
			 size_t size)
{
	/* Truncated text is still worth a log line. */
	if (cj_str(doc, t, buf, size) < 0 && !buf[0])
		snprintf(buf, size, "?");
}

void qmp_classify(struct cj_doc *doc, const char *line, size_t len,
		  struct qmp_msg *m)
{
	int err, t;

	memset(m, 0, sizeof(*m));
	m->doc = doc;
	m->ret = -1;
	m->kind = QMP_BAD;
	err = cj_parse(doc, line, len);
	if (err) {
		snprintf(m->err_desc, sizeof(m->err_desc), "%s",
			 cj_strerror(err));
		return;
	}
	if (doc->tok[0].type != CJ_OBJECT) {
		snprintf(m->err_desc, sizeof(m->err_desc), "not an object");
		return;
	}
	t = cj_get_type(doc, 0, "id", CJ_NUMBER);
	if (t >= 0 && cj_int(doc, t, &m->id) == 0)
		m->has_id = true;
	if (cj_get_type(doc, 0, "QMP", CJ_OBJECT) >= 0) {
		m->kind = QMP_GREETING;
	} else if ((t = cj_get_type(doc, 0, "event", CJ_STRING)) >= 0) {
		m->kind = QMP_EVENT;
		qmp_copy_str(doc, t, m->event, sizeof(m->event));
		m->ret = cj_get_type(doc, 0, "data", CJ_OBJECT);
	} else if ((t = cj_get(doc, 0, "return")) >= 0) {
		m->kind = QMP_RETURN;
		m->ret = t;
	} else if ((t = cj_get_type(doc, 0, "error", CJ_OBJECT)) >= 0) {
		m->kind = QMP_ERROR;
		qmp_copy_str(doc, cj_get_type(doc, t, "class", CJ_STRING),
			     m->err_class, sizeof(m->err_class));
		qmp_copy_str(doc, cj_get_type(doc, t, "desc", CJ_STRING),
			     m->err_desc, sizeof(m->err_desc));
	} else {
		snprintf(m->err_desc, sizeof(m->err_desc),
			 "neither greeting, reply nor event");
	}
}

int qmp_next(struct colo_qmp *q, struct qmp_msg *m)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(q->buf, '\n', q->len);
		if (!nl)
			return 0;
		n = nl - q->buf;
		memcpy(q->line, q->buf, n);
		q->line[n] = '\0';
		q->len -= n + 1;
		memmove(q->buf, nl + 1, q->len);
		if (q->discarding) {
			q->discarding = false;
			memset(m, 0, sizeof(*m));
			m->kind = QMP_BAD;
			m->ret = -1;
			snprintf(m->err_desc, sizeof(m->err_desc),
				 "message longer than %d bytes", CJ_MAX_LEN);
			return 1;
		}
		if (n && q->line[n - 1] == '\r')
			q->line[--n] = '\0';
		if (!n)
			continue;
		qmp_classify(&q->doc, q->line, n, m);
		return 1;
	}
}

static int qmp_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -1;
		n = poll(&pfd, 1, QMP_WRITE_TIMEOUT_MS);
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (n < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

int64_t qmp_send(struct colo_qmp *q, const char *cmd, const char *args)
{
	char buf[512];
	uint32_t id = q->next_id++;
	int n;

	if (args)
		n = snprintf(buf, sizeof(buf), "{\"execute\": \"%s\", "
			     "\"arguments\": %s, \"id\": %u}\n", cmd, args, id);
	else
		n = snprintf(buf, sizeof(buf), "{\"execute\": \"%s\", "
			     "\"id\": %u}\n", cmd, id);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		return -1;
	}
	return qmp_write_all(q->fd, buf, n) < 0 ? -1 : (int64_t)id;
}
