// SPDX-License-Identifier: GPL-2.0
/*
 * The frame source of the comparator benchmark (selftests/bench/
 * compare_bench.sh): one TCP stream from the VM (10.0.0.2:80) to the client
 * (10.0.0.1:40000) as the primary and the secondary would both send it,
 * the same bytes and sequence numbers cut into segments of different sizes,
 * fed to one of two comparators:
 *
 *   colo_frames packet PVM_IF SVM_NETNS SVM_IF SINK_IF [options]
 *	AF_PACKET: the primary's frames out of PVM_IF (this namespace), the
 *	secondary's out of SVM_IF in the namespace SVM_NETNS (/run/netns/),
 *	what the comparator lets out counted on SINK_IF (this namespace).
 *   colo_frames qemu PRI_SOCK SEC_SOCK OUT_SOCK [options]
 *	QEMU colo-compare's chardevs (unix sockets): each frame a big-endian
 *	32-bit length then the Ethernet frame; OUT_SOCK is connected first
 *	(colo-compare drops what it releases before that), and QEMU must
 *	create it first, waiting for this client (server=on,wait=on).
 *
 * Options: -p BYTES -s BYTES (payload per primary / secondary segment),
 * -m MB (stream length), -w FRAMES (primary frames in flight at most),
 * -f OFFSET (flip the secondary's byte at that stream offset), -q PID (the
 * comparator process whose CPU time to count), -t SECONDS (give up), -c PORT
 * (the client's port: a new flow for each run), -n FLOWS -k SEGMENTS (packet
 * mode: FLOWS concurrent flows from as many client addresses, SEGMENTS
 * segments each, sent round-robin; both sides cut them alike, -s is unused),
 * -i INSTANCES (with -n: flow f goes through instance i = f % INSTANCES,
 * its frames out of PVM_IF<i>, SVM_IF<i> and SINK_IF<i>, the client's
 * too; what comes out of every instance is counted on SINK_IF, a bridge of
 * those ports whose address is the client's).
 *
 * Every frame is built before the clock starts: the timed loop only hands
 * prebuilt buffers to sendmmsg() or write(). Prints one line of key=value
 * pairs; exits 1 when the comparator let out fewer frames than expected
 * (more than expected, too, with -f).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN (ETH_HLEN + 20 + 20 + 4)	/* at most: SYNs carry 4 bytes of options */
#define BATCH 32
#define VM_PORT 80
#define VM_ISN 1000000u
#define CLIENT_ISN 5000000u

static const uint8_t vm_mac[ETH_ALEN] = { 0x52, 0x54, 0x00, 0xc0, 0x10, 0x02 };
static const uint8_t client_mac[ETH_ALEN] = { 0x52, 0x54, 0x00, 0xc0, 0x10, 0x01 };

/* One side's frames, each preceded by its big-endian length (QEMU's framing). */
struct side {
	uint8_t *buf;
	size_t *off;		/* of each frame's length word in buf */
	uint32_t *len;		/* of each frame, without the length word */
	uint64_t *end;		/* stream offset just past each frame's payload */
	size_t n;
};

static struct {
	long payload_p, payload_s, window, timeout;
	uint64_t stream;
	long long flip;
	int qemu_pid, client_port;
	long flows, per_flow, instances;
} opt = { 1448, 2896, 512, 120, 16 << 20, -1, 0, 40000, 0, 1, 0 };

/* The client's address in the frame being built: one per flow with -n. */
static uint32_t client_ip = 0x0a000001;

static atomic_ullong out_frames;	/* qemu mode: counted by the reader */
/* Seconds the timed loop slept for the comparator to catch up. */
static double window_wait;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/* The stream's byte at offset: reproducible, and not all alike. */
static uint8_t stream_byte(uint64_t off)
{
	return (off * 2654435761u) >> 13;
}

/*
 * build_frame: an Ethernet + IPv4 + TCP frame into p. from_vm picks the
 * direction; seq, ack, flags and payload_len as named; the payload is the
 * stream from stream_off.
 */
static uint32_t build_frame(uint8_t *p, bool from_vm, uint32_t seq, uint32_t ack,
			    uint8_t flags, uint64_t stream_off, uint32_t payload_len,
			    bool flip)
{
	struct ether_header *eth = (struct ether_header *)p;
	struct iphdr *ip = (struct iphdr *)(p + ETH_HLEN);
	struct tcphdr *tcp = (struct tcphdr *)(p + ETH_HLEN + 20);
	/* SYNs offer window scaling, as a VM's stack does: nothing falls out of
	 * conntrack's window
	 */
	uint32_t tcp_len = flags & TH_SYN ? 24 : 20, i, sum;
	uint8_t *data = (uint8_t *)tcp + tcp_len, pseudo[12];

	memcpy(eth->ether_dhost, from_vm ? client_mac : vm_mac, ETH_ALEN);
	memcpy(eth->ether_shost, from_vm ? vm_mac : client_mac, ETH_ALEN);
	eth->ether_type = htons(ETHERTYPE_IP);
	memset(ip, 0, 20 + tcp_len);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(20 + tcp_len + payload_len);
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = htonl(from_vm ? 0x0a000002 : client_ip);
	ip->daddr = htonl(from_vm ? client_ip : 0x0a000002);
	ip->check = htons(csum_fold(csum_add(0, (uint8_t *)ip, 20)));
	tcp->source = htons(from_vm ? VM_PORT : opt.client_port);
	tcp->dest = htons(from_vm ? opt.client_port : VM_PORT);
	tcp->seq = htonl(seq);
	tcp->ack_seq = htonl(ack);
	tcp->doff = tcp_len / 4;
	if (tcp_len > 20)
		memcpy(tcp + 1, "\x01\x03\x03\x0e", 4);	/* NOP, window scale 14 */
	((uint8_t *)tcp)[13] = flags;
	tcp->window = htons(65535);
	for (i = 0; i < payload_len; i++)
		data[i] = stream_byte(stream_off + i);
	if (opt.flip >= 0 && (uint64_t)opt.flip >= stream_off &&
	    (uint64_t)opt.flip < stream_off + payload_len && flip)
		data[opt.flip - stream_off] ^= 0xff;
	memcpy(pseudo, &ip->saddr, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = (tcp_len + payload_len) >> 8;
	pseudo[11] = (tcp_len + payload_len) & 0xff;
	sum = csum_add(csum_add(0, pseudo, 12), (uint8_t *)tcp, tcp_len + payload_len);
	tcp->check = htons(csum_fold(sum));
	return ETH_HLEN + 20 + tcp_len + payload_len;
}

/*
 * build_side: the VM's SYN-ACK, then the stream in segments of seg bytes,
 * every one acking the client's SYN. Only the secondary's copy (flip) gets
 * the flipped byte.
 */
static void build_side(struct side *s, long seg, bool flip)
{
	size_t n = 1 + (opt.stream + seg - 1) / seg, pos = 0, i;
	uint64_t off = 0;

	s->buf = malloc(n * (4 + HDR_LEN) + opt.stream);
	s->off = calloc(n, sizeof(*s->off));
	s->len = calloc(n, sizeof(*s->len));
	s->end = calloc(n, sizeof(*s->end));
	if (!s->buf || !s->off || !s->len || !s->end)
		die("malloc");
	for (i = 0; i < n; i++) {
		uint32_t plen = i ? (opt.stream - off < (uint64_t)seg ?
				     opt.stream - off : (uint64_t)seg) : 0;
		uint32_t flen;

		s->off[i] = pos;
		flen = build_frame(s->buf + pos + 4, true,
				   i ? VM_ISN + 1 + off : VM_ISN, CLIENT_ISN + 1,
				   i ? TH_ACK | TH_PUSH : TH_SYN | TH_ACK, off, plen, flip);
		*(uint32_t *)(s->buf + pos) = htonl(flen);
		s->len[i] = flen;
		off += plen;
		s->end[i] = off;
		pos += 4 + flen;
	}
	s->n = n;
}

/* The client's SYN and its ACK of the VM's SYN-ACK. */
static void build_client(struct side *s)
{
	s->buf = malloc(2 * (4 + HDR_LEN));
	s->off = calloc(2, sizeof(*s->off));
	s->len = calloc(2, sizeof(*s->len));
	if (!s->buf || !s->off || !s->len)
		die("malloc");
	s->len[0] = build_frame(s->buf + 4, false, CLIENT_ISN, 0, TH_SYN, 0, 0, false);
	s->off[1] = 4 + s->len[0];
	s->len[1] = build_frame(s->buf + s->off[1] + 4, false, CLIENT_ISN + 1,
				VM_ISN + 1, TH_ACK, 0, 0, false);
	s->n = 2;
	s->end = NULL;
}

/* ---- the two ways in ---- */

struct sink {
	int pkt_fd[3];		/* packet mode: primary, secondary, client */
	int *ifx[3];		/* with -i: each side's device of each instance */
	int stats_fd;		/* packet mode: the sink's rx_packets */
	int sock[3];		/* qemu mode: primary, secondary, out */
	bool qemu;
};

static uint64_t read_sink(struct sink *k)
{
	char buf[32];
	ssize_t r;

	if (k->qemu)
		return atomic_load(&out_frames);
	r = pread(k->stats_fd, buf, sizeof(buf) - 1, 0);
	if (r <= 0)
		die("rx_packets");
	buf[r] = 0;
	return strtoull(buf, NULL, 10);
}

/*
 * packet_socket: a socket to send frames out of ifname in netns (NULL: this
 * one). With -i, ifname<i> for each instance i: *ifx gets their indexes,
 * which each frame names, and the socket is bound to none of them.
 */
static int packet_socket(const char *netns, const char *ifname, int **ifx)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int self = -1, ns, fd, size = 4 << 20;
	char path[256];
	long i;

	if (netns) {
		self = open("/proc/self/ns/net", O_RDONLY);
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		ns = open(path, O_RDONLY);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET))
			die(path);
		close(ns);
	}
	/* protocol 0: send only, nothing is queued to this socket */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		die("AF_PACKET socket");
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	*ifx = opt.instances ? calloc(opt.instances, sizeof(**ifx)) : NULL;
	for (i = 0; i < opt.instances; i++) {
		snprintf(path, sizeof(path), "%s%ld", ifname, i);
		(*ifx)[i] = if_nametoindex(path);
		if (!(*ifx)[i])
			die(path);
	}
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!opt.instances &&
	    (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))))
		die(ifname);
	if (netns && (setns(self, CLONE_NEWNET) || close(self)))
		die("setns back");
	return fd;
}

/*
 * unix_connect: connect to a chardev socket of colo-compare. QEMU waits for
 * each client in turn before it makes the next socket (wait=on): that is
 * how the output is known to be accepted before any frame is fed in. So
 * a socket that is not there yet is tried again until the deadline.
 */
static int unix_connect(const char *path, double deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			return fd;
		if ((errno != ENOENT && errno != ECONNREFUSED) || now() > deadline)
			die(path);
		close(fd);
		usleep(10000);
	}
}

/* qemu mode: count the frames colo-compare writes to its outdev. */
static void *out_reader(void *arg)
{
	static uint8_t buf[1 << 20];
	int fd = *(int *)arg;
	size_t have = 0, pos;
	ssize_t r;

	while ((r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		uint64_t n = 0;

		have += r;
		pos = 0;
		while (have - pos >= 4) {
			uint32_t len = ntohl(*(uint32_t *)(buf + pos));

			if (len > sizeof(buf) - 4) {
				fprintf(stderr, "outdev: frame of %u bytes\n", len);
				exit(2);
			}
			if (have - pos < 4 + len)
				break;
			pos += 4 + len;
			n++;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		atomic_fetch_add(&out_frames, n);
	}
	return NULL;
}

/* send frames [from, to) of one side (0 primary, 1 secondary) */
static void send_frames(struct sink *k, int which, struct side *s, size_t from, size_t to)
{
	struct sockaddr_ll to_dev[BATCH];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	size_t i, n;
	int r;

	if (k->qemu) {
		const uint8_t *p = s->buf + s->off[from];
		size_t len = s->off[to - 1] + 4 + s->len[to - 1] - s->off[from];
		ssize_t w;

		/* length words and frames lie back to back: one write */
		while (len) {
			w = write(k->sock[which], p, len);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("write to colo-compare");
			p += w;
			len -= w;
		}
		return;
	}
	while (from < to) {
		n = to - from < BATCH ? to - from : BATCH;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = s->buf + s->off[from + i] + 4;
			iov[i].iov_len = s->len[from + i];
			memset(&msg[i].msg_hdr, 0, sizeof(msg[i].msg_hdr));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			if (!k->ifx[which])
				continue;
			/* frame j of build_flows is flow j % flows's */
			to_dev[i] = (struct sockaddr_ll){
				.sll_family = AF_PACKET,
				.sll_ifindex = k->ifx[which][(from + i) % opt.flows %
							     opt.instances],
			};
			msg[i].msg_hdr.msg_name = &to_dev[i];
			msg[i].msg_hdr.msg_namelen = sizeof(to_dev[i]);
		}
		r = sendmmsg(k->pkt_fd[which], msg, n, 0);
		if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
			sched_yield();
			continue;
		}
		if (r <= 0)
			die("sendmmsg");
		from += r;
	}
}

/* every CPU's busy time in clock ticks; *ctxt: context switches so far */
static uint64_t proc_busy(uint64_t *ctxt)
{
	unsigned long long v[8] = { 0 }, cs = 0;
	FILE *f = fopen("/proc/stat", "r");
	char line[256];

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		die("/proc/stat");
	while (fgets(line, sizeof(line), f) && sscanf(line, "ctxt %llu", &cs) != 1)
		;
	fclose(f);
	*ctxt = cs;
	/* user nice system irq softirq steal: not idle, not iowait */
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

/* utime + stime of a process (all its threads) in clock ticks; *user: utime */
static uint64_t pid_ticks(int pid, uint64_t *user)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;

	*user = 0;
	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		die(path);
	fclose(f);
	p = strrchr(buf, ')');
	/* fields 14 and 15 (utime, stime); p points at the end of field 2 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		die(path);
	*user = ut;
	return ut + st;
}

/*
 * Many flows (-n): flow i is the client 10.(1 + i / 65536).x.y, port -c.
 * Each side: the flows' SYN-ACKs, then round r of every flow's segments for
 * r = 0..per_flow-1; the client: the SYNs, then the ACKs. Both VMs' copies
 * are cut alike, so frame j of one side matches frame j of the other.
 */
static void build_flows(struct side *s, bool client)
{
	size_t n = opt.flows * (client ? 2 : 1 + opt.per_flow), pos = 0, j;
	long i, r;

	s->buf = malloc(n * (4 + HDR_LEN + (client ? 0 : opt.payload_p)));
	s->off = calloc(n, sizeof(*s->off));
	s->len = calloc(n, sizeof(*s->len));
	if (!s->buf || !s->off || !s->len)
		die("malloc");
	s->end = NULL;
	for (j = 0; j < n; j++) {
		bool syn = j < (size_t)opt.flows;

		i = j % opt.flows;
		r = syn ? 0 : (j - opt.flows) / opt.flows;
		client_ip = 0x0a000000 + ((1 + (i >> 16)) << 16) + (i & 0xffff);
		s->off[j] = pos;
		if (client)
			s->len[j] = build_frame(s->buf + pos + 4, false, CLIENT_ISN + !syn,
						syn ? 0 : VM_ISN + 1, syn ? TH_SYN : TH_ACK,
						0, 0, false);
		else
			s->len[j] = build_frame(s->buf + pos + 4, true,
						syn ? VM_ISN : VM_ISN + 1 + r * opt.payload_p,
						CLIENT_ISN + 1,
						syn ? TH_SYN | TH_ACK : TH_ACK | TH_PUSH,
						r * opt.payload_p, syn ? 0 : opt.payload_p, false);
		pos += 4 + s->len[j];
	}
	s->n = n;
}

/*
 * wait until at most window of the first sent counted frames are still out.
 * The sink counts every frame its device receives: a stray one can put
 * its count past sent, and the unsigned difference must not wrap.
 */
static bool wait_window(struct sink *k, uint64_t out0, uint64_t sent, uint64_t window,
			double deadline)
{
	double t = now();
	uint64_t out;

	while ((out = read_sink(k) - out0) < sent && sent - out > window) {
		if (now() > deadline)
			return false;
		usleep(100);
	}
	window_wait += now() - t;
	return true;
}

/* packet mode with -n: handshakes, then the timed round-robin of segments */
static int run_flows(struct sink *k)
{
	struct side pri, sec, cli;
	uint64_t out0, expect, busy0, busy1, s0, s1, su0, su1, cs0, cs1, f = opt.flows;
	double t0, t1, deadline = now() + opt.timeout;
	size_t a, b;

	build_flows(&pri, false);
	build_flows(&sec, false);
	build_flows(&cli, true);
	out0 = read_sink(k);
	for (a = 0; a < f; a = b) {
		b = a + BATCH < f ? a + BATCH : f;
		if (!wait_window(k, out0, a, opt.window, deadline))
			break;
		send_frames(k, 2, &cli, a, b);
		send_frames(k, 0, &pri, a, b);
		send_frames(k, 1, &sec, a, b);
	}
	if (!wait_window(k, out0, f, 0, deadline)) {
		fprintf(stderr, "%llu of %llu SYN-ACKs came out\n",
			(unsigned long long)(read_sink(k) - out0), (unsigned long long)f);
		return 1;
	}
	send_frames(k, 2, &cli, f, 2 * f);
	out0 += f;

	expect = pri.n - f;
	busy0 = proc_busy(&cs0);
	s0 = pid_ticks(getpid(), &su0);
	window_wait = 0;
	t0 = now();
	deadline = t0 + opt.timeout;
	for (a = f; a < pri.n; a = b) {
		b = a + BATCH < pri.n ? a + BATCH : pri.n;
		if (!wait_window(k, out0, a - f, opt.window, deadline))
			break;
		send_frames(k, 0, &pri, a, b);
		send_frames(k, 1, &sec, a, b);
	}
	wait_window(k, out0, expect, 0, deadline);
	t1 = now();
	busy1 = proc_busy(&cs1);
	s1 = pid_ticks(getpid(), &su1);
	printf("flows=%llu instances=%ld frames_in=%llu frames_out=%llu expected=%llu bytes=%llu seconds=%.4f busy_ticks=%llu comparator_ticks=0 sender_ticks=%llu sender_user_ticks=%llu hz=%ld switches=%llu window_wait=%.4f\n",
	       (unsigned long long)f, opt.instances ? opt.instances : 1,
	       (unsigned long long)(2 * expect),
	       (unsigned long long)(read_sink(k) - out0), (unsigned long long)expect,
	       (unsigned long long)(expect * opt.payload_p), t1 - t0,
	       (unsigned long long)(busy1 - busy0), (unsigned long long)(s1 - s0),
	       (unsigned long long)(su1 - su0), sysconf(_SC_CLK_TCK),
	       (unsigned long long)(cs1 - cs0), window_wait);
	return read_sink(k) - out0 == expect ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: colo_frames packet PVM_IF SVM_NETNS SVM_IF SINK_IF [options]\n"
		"       colo_frames qemu PRI_SOCK SEC_SOCK OUT_SOCK [options]\n"
		"options: -p BYTES -s BYTES -m MB -w FRAMES -f OFFSET -q PID -t SECONDS -c PORT\n"
		"         -n FLOWS -k SEGMENTS -i INSTANCES\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sink k = { .stats_fd = -1 };
	struct side pri, sec, cli;
	uint64_t out0, out, expect, busy0, busy1, q0, q1, s0, s1, su0, su1, ign;
	double t0, t1, deadline, settled;
	size_t ps = 1, ss = 1, pn;
	pthread_t reader;
	int c, nargs;

	if (argc < 2)
		usage();
	k.qemu = !strcmp(argv[1], "qemu");
	if (!k.qemu && strcmp(argv[1], "packet"))
		usage();
	nargs = k.qemu ? 3 : 4;
	if (argc < 2 + nargs)
		usage();
	optind = 2 + nargs;
	while ((c = getopt(argc, argv, "p:s:m:w:f:q:t:c:n:k:i:")) != -1) {
		switch (c) {
		case 'p':
			opt.payload_p = atol(optarg);
			break;
		case 's':
			opt.payload_s = atol(optarg);
			break;
		case 'm':
			opt.stream = (uint64_t)atol(optarg) << 20;
			break;
		case 'w':
			opt.window = atol(optarg);
			break;
		case 'f':
			opt.flip = atoll(optarg);
			break;
		case 'q':
			opt.qemu_pid = atoi(optarg);
			break;
		case 't':
			opt.timeout = atol(optarg);
			break;
		case 'c':
			opt.client_port = atoi(optarg);
			break;
		case 'n':
			opt.flows = atol(optarg);
			break;
		case 'k':
			opt.per_flow = atol(optarg);
			break;
		case 'i':
			opt.instances = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (opt.payload_p < 1 || opt.payload_s < 1 || opt.payload_p > 65000 ||
	    opt.payload_s > 65000 || !opt.stream || opt.window < BATCH ||
	    opt.flows < 0 || opt.flows > 1 << 24 || opt.per_flow < 1 ||
	    (opt.flows && (k.qemu || opt.flip >= 0)) || opt.instances < 0 ||
	    opt.instances > opt.flows || opt.instances > 1 << 16)
		usage();
	if (!opt.flows) {
		build_side(&pri, opt.payload_p, false);
		build_side(&sec, opt.payload_s, true);
	}

	if (k.qemu) {
		deadline = now() + opt.timeout;
		k.sock[2] = unix_connect(argv[4], deadline);
		k.sock[0] = unix_connect(argv[2], deadline);
		k.sock[1] = unix_connect(argv[3], deadline);
		if (pthread_create(&reader, NULL, out_reader, &k.sock[2]))
			die("pthread_create");
	} else {
		char path[128];

		k.pkt_fd[0] = packet_socket(NULL, argv[2], &k.ifx[0]);
		k.pkt_fd[1] = packet_socket(argv[3], argv[4], &k.ifx[1]);
		k.pkt_fd[2] = packet_socket(NULL, argv[5], &k.ifx[2]);
		build_client(&cli);
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_packets", argv[5]);
		k.stats_fd = open(path, O_RDONLY);
		if (k.stats_fd < 0)
			die(path);
		if (opt.flows)
			return run_flows(&k);
	}

	/*
	 * The handshake as the client and both VMs make it: the client's SYN
	 * through the bridge (conntrack confirms the flow there, as in a real
	 * deployment), each VM's SYN-ACK, the client's ACK. colo-compare sees
	 * only the VMs' side.
	 */
	out0 = read_sink(&k);
	if (!k.qemu)
		send_frames(&k, 2, &cli, 0, 1);
	send_frames(&k, 0, &pri, 0, 1);
	send_frames(&k, 1, &sec, 0, 1);
	deadline = now() + opt.timeout;
	while (read_sink(&k) < out0 + 1) {
		if (now() > deadline) {
			fprintf(stderr, "the SYN-ACK never came out\n");
			return 1;
		}
		usleep(1000);
	}
	out0++;
	if (!k.qemu)
		send_frames(&k, 2, &cli, 1, 2);

	/* Expected out: every data frame, or those before the flipped byte's. */
	expect = pri.n - 1;
	if (opt.flip >= 0)
		expect = opt.flip / opt.payload_p;

	/*
	 * With a flip nothing comes out after it: stop half a window past it,
	 * so that neither comparator's queue reaches its limit.
	 */
	pn = pri.n;
	if (opt.flip >= 0 && expect + 1 + opt.window / 2 < pn)
		pn = expect + 1 + opt.window / 2;

	busy0 = proc_busy(&ign);
	q0 = pid_ticks(opt.qemu_pid, &ign);
	s0 = pid_ticks(getpid(), &su0);
	t0 = now();
	deadline = t0 + opt.timeout;
	while (ps < pn) {
		size_t pe = ps + BATCH < pn ? ps + BATCH : pn, se = ss;

		/* Bounded in flight, as a VM's window bounds it; sleep, not spin. */
		if (!wait_window(&k, out0, ps - 1, opt.window, deadline))
			break;
		if (ps < pe)
			send_frames(&k, 0, &pri, ps, pe);
		ps = pe;
		/* the secondary's frames that cover what the primary sent */
		while (se < sec.n && (sec.end[se - 1] < pri.end[ps - 1] || ps == pri.n))
			se++;
		if (se > ss)
			send_frames(&k, 1, &sec, ss, se);
		ss = se;
		if (now() > deadline)
			break;
	}
	/* All released (or, with a flip, nothing more for a second). */
	settled = now();
	out = read_sink(&k) - out0;
	while (now() < deadline) {
		uint64_t o = read_sink(&k) - out0;

		if (o != out) {
			out = o;
			settled = now();
		}
		if (opt.flip < 0 && out >= expect)
			break;
		if (opt.flip >= 0 && now() - settled > 1.0)
			break;
		usleep(1000);
	}
	t1 = opt.flip < 0 ? now() : settled;
	busy1 = proc_busy(&ign);
	q1 = pid_ticks(opt.qemu_pid, &ign);
	s1 = pid_ticks(getpid(), &su1);
	/* CPU time in clock ticks, all sampled alike by the kernel's tick */
	printf("frames_in=%zu frames_out=%llu expected=%llu bytes=%llu seconds=%.4f busy_ticks=%llu comparator_ticks=%llu sender_ticks=%llu sender_user_ticks=%llu hz=%ld window_wait=%.4f\n",
	       ps + ss - 2, (unsigned long long)out, (unsigned long long)expect,
	       (unsigned long long)(opt.flip < 0 ? opt.stream : (uint64_t)expect * opt.payload_p),
	       t1 - t0, (unsigned long long)(busy1 - busy0), (unsigned long long)(q1 - q0),
	       (unsigned long long)(s1 - s0), (unsigned long long)(su1 - su0),
	       sysconf(_SC_CLK_TCK), window_wait);
	return out == expect ? 0 : 1;
}
