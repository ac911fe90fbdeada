// SPDX-License-Identifier: GPL-2.0
/*
 * What the comparator needs of an IP packet: its flow key (the VM's output
 * tuple) and, for TCP, seq, ack and flags, plus where the compared bytes
 * are. PVM packets come here validated by the IP layer; SVM packets come
 * straight off the forward device, so every length is checked against the
 * packet and trailing link-layer padding is cut off by the IP length.
 *
 * Neighbour discovery and MLD (ICMPv6 types 130 to 137 and 143) are link
 * plumbing, like ARP: -EOPNOTSUPP tells the caller not to compare them.
 *
 * Compared bytes: TCP and UDP, the payload; ICMP and ICMPv6, the ICMP
 * header and payload; anything else (and a fragment that stayed one:
 * both sides' fragments are reassembled before they come here, the PVM's
 * by conntrack, the SVM's by pmycolo_defrag.c), everything after the IP
 * header and its options or extension headers. Addresses and protocol are
 * part of the key; IP id, TTL, TOS and checksums are never compared.
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include "pmycolo.h"

/* Network header at skb->data: the IP header's end, the packet's end. */
static int pmycolo_parse_ipv4(const struct sk_buff *skb,
			      struct pmycolo_key *key, u32 *l4off, u32 *end,
			      bool *frag)
{
	struct iphdr _iph;
	const struct iphdr *iph;
	u32 ihl, tot;

	iph = skb_header_pointer(skb, 0, sizeof(_iph), &_iph);
	if (!iph || iph->version != 4 || iph->ihl < 5)
		return -EINVAL;
	ihl = iph->ihl * 4;
	tot = ntohs(iph->tot_len);
	/* GSO packets may carry 0 there; the skb's length is then right. */
	if (!tot && skb_is_gso(skb))
		tot = skb->len;
	if (tot < ihl || tot > skb->len)
		return -EINVAL;
	key->family = NFPROTO_IPV4;
	key->l4proto = iph->protocol;
	key->vm.ip = iph->saddr;
	key->peer.ip = iph->daddr;
	*frag = ip_is_fragment(iph);
	*l4off = ihl;
	*end = tot;
	return 0;
}

static int pmycolo_parse_ipv6(const struct sk_buff *skb,
			      struct pmycolo_key *key, u32 *l4off, u32 *end,
			      bool *frag)
{
	struct ipv6hdr _ip6h;
	const struct ipv6hdr *ip6h;
	unsigned short fragoff = 0;
	__be16 frag_off = 0;
	int off, hdr;
	u8 nexthdr;
	u32 tot;

	ip6h = skb_header_pointer(skb, 0, sizeof(_ip6h), &_ip6h);
	if (!ip6h || ip6h->version != 6)
		return -EINVAL;
	tot = sizeof(*ip6h) + ntohs(ip6h->payload_len);
	if (!ip6h->payload_len && skb_is_gso(skb))
		tot = skb->len;
	if (tot > skb->len)
		return -EINVAL;
	nexthdr = ip6h->nexthdr;
	off = ipv6_skip_exthdr(skb, sizeof(*ip6h), &nexthdr, &frag_off);
	if (off < 0 || off > tot)
		return -EINVAL;
	key->family = NFPROTO_IPV6;
	key->l4proto = nexthdr;
	key->vm.in6 = ip6h->saddr;
	key->peer.in6 = ip6h->daddr;
	/* Also a first fragment, whose fragment offset is 0. */
	hdr = 0;
	*frag = ipv6_find_hdr(skb, &hdr, NEXTHDR_FRAGMENT, &fragoff, NULL) ==
		NEXTHDR_FRAGMENT;
	*l4off = off;
	*end = tot;
	return 0;
}

static int pmycolo_parse_tcp(const struct sk_buff *skb, u32 l4off, u32 end,
			     struct pmycolo_key *key, struct pmycolo_pkt *pkt)
{
	struct tcphdr _th;
	const struct tcphdr *th;
	u32 doff;

	th = skb_header_pointer(skb, l4off, sizeof(_th), &_th);
	if (!th)
		return -EINVAL;
	doff = th->doff * 4;
	if (doff < sizeof(*th) || l4off + doff > end)
		return -EINVAL;
	key->vm_port = th->source;
	key->peer_port = th->dest;
	pkt->cmp.seq = ntohl(th->seq);
	pkt->cmp.ack = ntohl(th->ack_seq);
	pkt->cmp.tcp_flags = (th->fin ? COLO_TCP_FIN : 0) |
			     (th->syn ? COLO_TCP_SYN : 0) |
			     (th->rst ? COLO_TCP_RST : 0) |
			     (th->ack ? COLO_TCP_ACK : 0);
	pkt->data_off = l4off + doff;
	return 0;
}

static int pmycolo_parse_udp(const struct sk_buff *skb, u32 l4off, u32 end,
			     struct pmycolo_key *key, struct pmycolo_pkt *pkt)
{
	struct udphdr _uh;
	const struct udphdr *uh;

	uh = skb_header_pointer(skb, l4off, sizeof(_uh), &_uh);
	if (!uh || l4off + sizeof(*uh) > end)
		return -EINVAL;
	key->vm_port = uh->source;
	key->peer_port = uh->dest;
	pkt->data_off = l4off + sizeof(*uh);
	return 0;
}

static bool pmycolo_icmp_is_echo(u8 l4proto, u8 type)
{
	if (l4proto == IPPROTO_ICMP)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/* When each VM sends these depends on its caches, not on its service. */
static bool pmycolo_icmp_is_link(u8 l4proto, u8 type)
{
	return l4proto == IPPROTO_ICMPV6 &&
	       ((type >= ICMPV6_MGM_QUERY && type <= NDISC_REDIRECT) ||
		type == ICMPV6_MLD2_REPORT);
}

static int pmycolo_parse_icmp(const struct sk_buff *skb, u32 l4off, u32 end,
			      struct pmycolo_key *key, struct pmycolo_pkt *pkt)
{
	struct icmphdr _ih;
	const struct icmphdr *ih;

	/* ICMP and ICMPv6 share the layout of these first 8 bytes. */
	ih = skb_header_pointer(skb, l4off, sizeof(_ih), &_ih);
	if (!ih || l4off + sizeof(*ih) > end)
		return -EINVAL;
	if (pmycolo_icmp_is_link(key->l4proto, ih->type))
		return -EOPNOTSUPP;
	if (pmycolo_icmp_is_echo(key->l4proto, ih->type))
		key->vm_port = ih->un.echo.id;
	key->peer_port = htons(ih->type << 8 | ih->code);
	pkt->data_off = l4off;
	return 0;
}

int pmycolo_parse(const struct sk_buff *skb, u8 family,
		  struct pmycolo_key *key, struct pmycolo_pkt *pkt)
{
	u32 l4off, end;
	bool frag;
	int err;

	memset(key, 0, sizeof(*key));
	memset(&pkt->cmp, 0, sizeof(pkt->cmp));
	if (family == NFPROTO_IPV4)
		err = pmycolo_parse_ipv4(skb, key, &l4off, &end, &frag);
	else
		err = pmycolo_parse_ipv6(skb, key, &l4off, &end, &frag);
	if (err)
		return err;

	pkt->data_off = l4off;
	key->frag = frag;
	if (!frag) {
		switch (key->l4proto) {
		case IPPROTO_TCP:
			err = pmycolo_parse_tcp(skb, l4off, end, key, pkt);
			break;
		case IPPROTO_UDP:
		case IPPROTO_UDPLITE:
			err = pmycolo_parse_udp(skb, l4off, end, key, pkt);
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			err = pmycolo_parse_icmp(skb, l4off, end, key, pkt);
			break;
		}
	}
	if (err)
		return err;
	pkt->cmp.len = end - pkt->data_off;
	pkt->cmp.data = pkt;
	return 0;
}

/*
 * Both packets are walked in place with skb_seq_read(), which maps one
 * fragment at a time: GSO super-packets and paged skbs are never copied or
 * linearised.
 */
u32 pmycolo_cmp_bytes(const struct colo_cmp_pkt *p, u32 poff,
		      const struct colo_cmp_pkt *s, u32 soff, u32 len)
{
	const struct pmycolo_pkt *pp = p->data, *sp = s->data;
	u32 pstart = pp->data_off + poff, sstart = sp->data_off + soff;
	struct skb_seq_state pst, sst;
	u32 done = 0;

	skb_prepare_seq_read(pp->entry.skb, pstart, pstart + len, &pst);
	skb_prepare_seq_read(sp->entry.skb, sstart, sstart + len, &sst);
	while (done < len) {
		const u8 *pd, *sd;
		u32 pl, sl, n, i;

		pl = skb_seq_read(done, &pd, &pst);
		sl = skb_seq_read(done, &sd, &sst);
		if (!pl || !sl)
			break;
		n = min3(pl, sl, len - done);
		if (memcmp(pd, sd, n)) {
			for (i = 0; pd[i] == sd[i]; i++)
				;
			done += i;
			break;
		}
		done += n;
	}
	skb_abort_seq_read(&pst);
	skb_abort_seq_read(&sst);
	return done;
}
