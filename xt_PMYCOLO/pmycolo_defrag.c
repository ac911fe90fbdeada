// SPDX-License-Identifier: GPL-2.0
/*
 * Reassembly of the SVM's IP fragments before they are compared.
 *
 * Conntrack (which every COLO rule takes) hands the PVM's fragmented
 * datagrams to PRE_ROUTING reassembled, while the SVM's arrive on the
 * forward device as fragments: compared as they come, the two would never
 * pair. So the capture reassembles the SVM's side with the kernel's own
 * defragmentation, bounded by the namespace's fragment memory limits and
 * timeouts (net.ipv4.ipfrag_* and net.netfilter.nf_conntrack_frag6_*).
 *
 * The PVM's copy of a datagram has the same id and addresses as the SVM's,
 * so the SVM's fragments must never join a queue of the stack's or of
 * conntrack's. IPv4 queues them under the user id of AF_PACKET's fanout
 * reassembly, which runs after the ingress hook that takes every frame of
 * the forward device, and whose expiry sends no ICMP error to the SVM's
 * peers on the primary's behalf. IPv6 keys its queues by input device too:
 * a user id past those the kernel names keeps them apart.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ipv6_frag.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include "pmycolo.h"

#define PMYCOLO_DEFRAG_USER4	IP_DEFRAG_AF_PACKET
#define PMYCOLO_DEFRAG_USER6	(__IP6_DEFRAG_CONNTRACK_BRIDGE_IN + 1)

/* Network header at skb->data, as the netdev ingress hook has it. */
static enum pmycolo_defrag_result pmycolo_defrag_ipv4(struct net *net,
						      struct sk_buff *skb)
{
	const struct iphdr *iph;
	u32 ihl, len;
	int err;

	if (!pskb_may_pull(skb, sizeof(*iph)))
		return PMYCOLO_DEFRAG_BAD;
	iph = ip_hdr(skb);
	ihl = iph->ihl * 4;
	if (iph->version != 4 || ihl < sizeof(*iph))
		return PMYCOLO_DEFRAG_BAD;
	if (!ip_is_fragment(iph))
		return PMYCOLO_DEFRAG_WHOLE;
	if (!pskb_may_pull(skb, ihl))
		return PMYCOLO_DEFRAG_BAD;
	iph = ip_hdr(skb);
	len = ntohs(iph->tot_len);
	/* The reassembly counts the skb's length: cut off link padding. */
	if (len < ihl || len > skb->len || pskb_trim_rcsum(skb, len))
		return PMYCOLO_DEFRAG_BAD;

	skb_orphan(skb);
	local_bh_disable();
	err = ip_defrag(net, skb, PMYCOLO_DEFRAG_USER4);
	local_bh_enable();
	if (!err)
		return PMYCOLO_DEFRAG_WHOLE;
	/* ip_defrag() frees what it does not keep. */
	return err == -EINPROGRESS ? PMYCOLO_DEFRAG_KEPT : PMYCOLO_DEFRAG_FREED;
}

static enum pmycolo_defrag_result pmycolo_defrag_ipv6(struct net *net,
						      struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
	const struct ipv6hdr *ip6h;
	u32 len;
	int err;

	if (!pskb_may_pull(skb, sizeof(*ip6h)))
		return PMYCOLO_DEFRAG_BAD;
	ip6h = ipv6_hdr(skb);
	if (ip6h->version != 6)
		return PMYCOLO_DEFRAG_BAD;
	/* A jumbogram has no fragment header. */
	if (!ip6h->payload_len)
		return PMYCOLO_DEFRAG_WHOLE;
	len = sizeof(*ip6h) + ntohs(ip6h->payload_len);
	if (len > skb->len || pskb_trim_rcsum(skb, len))
		return PMYCOLO_DEFRAG_BAD;

	skb_orphan(skb);
	/* 0: not a fragment, or the datagram is whole now. */
	err = nf_ct_frag6_gather(net, skb, PMYCOLO_DEFRAG_USER6);
	if (!err)
		return PMYCOLO_DEFRAG_WHOLE;
	/* Unlike ip_defrag(), it leaves a refused fragment to us. */
	return err == -EINPROGRESS ? PMYCOLO_DEFRAG_KEPT : PMYCOLO_DEFRAG_BAD;
#else
	return PMYCOLO_DEFRAG_WHOLE;
#endif
}

/**
 * pmycolo_defrag - reassemble an SVM packet taken on the forward device
 * @net: the forward device's namespace
 * @skb: an IPv4 or IPv6 packet, network header at skb->data
 * @family: NFPROTO_IPV4 or NFPROTO_IPV6
 *
 * Return: %PMYCOLO_DEFRAG_WHOLE when @skb is now a whole datagram (it may
 * have been reassembled in place) or was never a fragment;
 * %PMYCOLO_DEFRAG_KEPT when @skb was queued for reassembly;
 * %PMYCOLO_DEFRAG_FREED when @skb was malformed and has been freed;
 * %PMYCOLO_DEFRAG_BAD when @skb is malformed and the caller must drop it.
 */
enum pmycolo_defrag_result pmycolo_defrag(struct net *net,
					  struct sk_buff *skb, u8 family)
{
	if (family == NFPROTO_IPV4)
		return pmycolo_defrag_ipv4(net, skb);
	return pmycolo_defrag_ipv6(net, skb);
}
