// SPDX-License-Identifier: GPL-2.0
/*
 * colo_libxl_client: Xen libxl's side of the COLO proxy protocol
 * (tools/libs/light/libxl_colo_proxy.c), step for step, for the selftests.
 *
 *   colo_libxl_client [-i INDEX [-w]]
 *
 * Sets up like libxl: socket(PF_NETLINK, SOCK_RAW, NETLINK_COLO), bind to
 * port id 1, 2, ... 9 (the next one on EADDRINUSE; only INDEX with -i),
 * COLO_PROXY_INIT with NLM_F_ACK, then up to 500 ms for an answer, failing
 * only on an NLMSG_ERROR whose error is not 0. With -w, a libxl restarting
 * while its old socket still closes: port INDEX in use prints "waiting
 * INDEX" and the bind is retried at once until it succeeds (10 s at most).
 * Prints "ready INDEX" (or
 * "init-failed ERRNO", exit 1), then runs one command per line of stdin and
 * answers each with one line, holding the socket until EOF or "quit":
 *
 *   wait [SECS]     libxl's wait for a checkpoint request (SO_RCVTIMEO,
 *                   default 5 s, the first message read): "request 1",
 *                   "timeout", "error ERRNO" or "short LEN"
 *   checkpoint      COLO_CHECKPOINT, no ack asked: "sent"
 *   query           COLO_QUERY_CHECKPOINT: "pending 0|1" or as recv
 *   failover|reset  with NLM_F_ACK: "ok" or "error ERRNO"
 *   raw TYPE FLAGS LEN  LEN bytes (a header if LEN >= 16): "sent"
 *   recv MS         the next message within MS ms: "none",
 *                   "error ERRNO", "msg TYPE LEN"
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/netfilter/colo_libxl.h>

static int fd;
static unsigned int colo_index;
static bool wait_port;

/* What libxl's colo_proxy_send() sends: a bare header to the kernel. */
static int send_msg(unsigned short type, unsigned short flags, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[NLMSG_SPACE(64)] = { 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)buf;

	if (len > sizeof(buf))
		len = sizeof(buf);
	h->nlmsg_len = len;
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_pid = colo_index;
	return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
}

/*
 * libxl's colo_proxy_recv(): one message with a receive timeout. Returns
 * its length, 0 on timeout, -1 on error.
 */
static ssize_t recv_msg(char *buf, size_t size, unsigned int timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};
	ssize_t n;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	n = recv(fd, buf, size, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n;
}

static int msg_error(const char *buf, ssize_t n)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	const struct nlmsgerr *e = NLMSG_DATA(h);

	if (n < (ssize_t)NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	return e->error;
}

/* Print what arrived, as "none", "error ERRNO" or "msg TYPE LEN". */
static void print_msg(const char *buf, ssize_t n)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

	if (n == 0)
		puts("none");
	else if (n < 0)
		printf("recv-failed %d\n", errno);
	else if (n >= NLMSG_HDRLEN && h->nlmsg_type == NLMSG_ERROR)
		printf("error %d\n", -msg_error(buf, n));
	else
		printf("msg %u %zd\n", n >= NLMSG_HDRLEN ? h->nlmsg_type : 0, n);
}

/* -w: spin on bind() until the old socket lets the port go. */
static bool bind_retry(const struct sockaddr_nl *sa, socklen_t len)
{
	struct timespec t0, t;

	printf("waiting %u\n", sa->nl_pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (!bind(fd, (const struct sockaddr *)sa, len))
			return true;
		if (errno != EADDRINUSE)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 10);
	return false;
}

static int setup(int want)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct pollfd pfd;
	char buf[4096];
	int i = want ? want : 1;
	ssize_t n;

	fd = socket(PF_NETLINK, SOCK_RAW, NETLINK_COLO);
	if (fd < 0) {
		printf("socket-failed %d\n", errno);
		return -1;
	}
	for (;; i++) {
		if (i > (want ? want : 9)) {
			printf("bind-failed %d\n", errno);
			return -1;
		}
		sa.nl_pid = i;
		if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		if (errno == EADDRINUSE && wait_port &&
		    bind_retry(&sa, sizeof(sa)))
			break;
		if (errno != EADDRINUSE) {
			printf("bind-failed %d\n", errno);
			return -1;
		}
		printf("in-use %d\n", i);
	}
	colo_index = i;

	if (send_msg(COLO_PROXY_INIT, NLM_F_REQUEST | NLM_F_ACK,
		     NLMSG_SPACE(0)) < 0) {
		printf("init-failed %d\n", errno);
		return -1;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 500) == 1) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n >= NLMSG_HDRLEN &&
		    ((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR &&
		    msg_error(buf, n)) {
			printf("init-failed %d\n", -msg_error(buf, n));
			return -1;
		}
	}
	printf("ready %u\n", colo_index);
	return 0;
}

/* libxl's colo_proxy_checkpoint(): the first message, or the timeout. */
static void cmd_wait(unsigned int secs)
{
	const struct nlmsghdr *h;
	char buf[4096];
	ssize_t n;

	n = recv_msg(buf, sizeof(buf), secs * 1000);
	h = (const struct nlmsghdr *)buf;
	if (n == 0)
		puts("timeout");
	else if (n < 0)
		printf("recv-failed %d\n", errno);
	else if (n >= NLMSG_HDRLEN && h->nlmsg_type == NLMSG_ERROR)
		printf("error %d\n", -msg_error(buf, n));
	else if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct colo_libxl_msg)) ||
		 h->nlmsg_len < NLMSG_LENGTH(sizeof(struct colo_libxl_msg)))
		printf("short %zd\n", n);
	else
		printf("request %u\n",
		       ((struct colo_libxl_msg *)NLMSG_DATA(h))->is_checkpoint);
}

static void cmd_query(void)
{
	const struct nlmsghdr *h;
	char buf[4096];
	ssize_t n;

	if (send_msg(COLO_QUERY_CHECKPOINT, NLM_F_REQUEST, NLMSG_SPACE(0)) < 0) {
		printf("send-failed %d\n", errno);
		return;
	}
	n = recv_msg(buf, sizeof(buf), 1000);
	h = (const struct nlmsghdr *)buf;
	if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct colo_libxl_msg)) &&
	    h->nlmsg_type == COLO_QUERY_CHECKPOINT)
		printf("pending %u\n",
		       ((struct colo_libxl_msg *)NLMSG_DATA(h))->is_checkpoint);
	else
		print_msg(buf, n);
}

static void cmd_acked(unsigned short type)
{
	char buf[4096];
	ssize_t n;

	if (send_msg(type, NLM_F_REQUEST | NLM_F_ACK, NLMSG_SPACE(0)) < 0) {
		printf("send-failed %d\n", errno);
		return;
	}
	n = recv_msg(buf, sizeof(buf), 1000);
	if (n >= NLMSG_HDRLEN &&
	    ((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR &&
	    !msg_error(buf, n))
		puts("ok");
	else
		print_msg(buf, n);
}

static void cmd_sent(int ret)
{
	if (ret < 0)
		printf("send-failed %d\n", errno);
	else
		puts("sent");
}

int main(int argc, char **argv)
{
	unsigned int a, b, c;
	char line[256];
	int want = 0;
	char buf[4096];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "-i")) {
		want = atoi(argv[2]);
		wait_port = argc == 4 && !strcmp(argv[3], "-w");
		if (argc == 4 && !wait_port)
			want = 0;
	}
	if (argc != 1 && !want) {
		fprintf(stderr, "usage: %s [-i INDEX [-w]]\n", argv[0]);
		return 2;
	}
	if (setup(want))
		return 1;

	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "quit", 4))
			break;
		if (sscanf(line, "wait %u", &a) == 1)
			cmd_wait(a);
		else if (!strncmp(line, "wait", 4))
			cmd_wait(5);
		else if (!strncmp(line, "checkpoint", 10))
			cmd_sent(send_msg(COLO_CHECKPOINT, NLM_F_REQUEST,
					  NLMSG_SPACE(0)));
		else if (!strncmp(line, "query", 5))
			cmd_query();
		else if (!strncmp(line, "failover", 8))
			cmd_acked(COLO_FAILOVER);
		else if (!strncmp(line, "reset", 5))
			cmd_acked(COLO_PROXY_RESET);
		else if (sscanf(line, "raw %u %u %u", &a, &b, &c) == 3)
			cmd_sent(send_msg(a, b, c));
		else if (sscanf(line, "recv %u", &a) == 1)
			print_msg(buf, recv_msg(buf, sizeof(buf), a));
		else
			puts("unknown-command");
	}
	close(fd);
	return 0;
}
