// SPDX-License-Identifier: GPL-2.0
/*
 * The SVM's link plumbing (ARP, neighbour discovery, MLD, VLAN-tagged
 * frames) is never compared and never leaves the forward device. But an
 * SVM that asks for a neighbour is an SVM whose neighbour cache has
 * drifted from the PVM's (entries age on randomised timers): with its
 * question dropped it goes silent for that peer until the compare timeout
 * fires. A checkpoint copies the PVM's cache into it at once, so unless
 * the instance says otherwise (NFCOLO_A_NEIGH_CHECKPOINT) these ask for
 * one, with reason NFCOLO_REASON_NEIGH:
 *  - an ARP request (Ethernet, IPv4) for another address: not an ARP
 *    probe (sender 0.0.0.0, RFC 5227) nor a gratuitous ARP (sender and
 *    target the same), which check or announce the SVM's own address;
 *  - an IPv6 neighbour solicitation with a source address, so not
 *    duplicate address detection (source ::, RFC 4862).
 * Broadcast and unicast (reachability probes) alike, and only from the
 * VM's MAC, which the PVM's frames show the target: the secondary host's
 * own stack may talk on the forward link too (its bridge's link-local
 * neighbour discovery), and its questions are not the SVM's. Replies and
 * unsolicited advertisements, router solicitations, redirects and MLD
 * ask for nothing. The request goes through the one-pending rule of the
 * core and is not asked for again: a checkpoint already pending serves
 * it, and an SVM still asking after one asks again by itself.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/icmpv6.h>
#include <linux/ipv6.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include "pmycolo.h"
#include "pmycolo_trace.h"

/* An ARP packet for Ethernet and IPv4, as the wire has it. */
struct pmycolo_arp_eth {
	struct arphdr	hdr;
	u8		sha[ETH_ALEN];
	u8		sip[4];
	u8		tha[ETH_ALEN];
	u8		tip[4];
};

static bool pmycolo_arp_request(const struct sk_buff *skb,
				struct colo_event *ev)
{
	struct pmycolo_arp_eth _arp;
	const struct pmycolo_arp_eth *arp;
	__be32 sip, tip;

	arp = skb_header_pointer(skb, 0, sizeof(_arp), &_arp);
	if (!arp || arp->hdr.ar_hrd != htons(ARPHRD_ETHER) ||
	    arp->hdr.ar_pro != htons(ETH_P_IP) ||
	    arp->hdr.ar_hln != ETH_ALEN || arp->hdr.ar_pln != 4 ||
	    arp->hdr.ar_op != htons(ARPOP_REQUEST))
		return false;
	memcpy(&sip, arp->sip, sizeof(sip));
	memcpy(&tip, arp->tip, sizeof(tip));
	if (!sip || sip == tip)
		return false;
	ev->family = NFPROTO_IPV4;
	ev->vm_addr.ip = sip;
	ev->peer_addr.ip = tip;
	return true;
}

static bool pmycolo_ndisc_solicit(const struct sk_buff *skb,
				  struct colo_event *ev)
{
	struct ipv6hdr _ip6h;
	const struct ipv6hdr *ip6h;
	struct nd_msg _ns;
	const struct nd_msg *ns;
	__be16 frag_off;
	u8 nexthdr;
	int off;

	ip6h = skb_header_pointer(skb, 0, sizeof(_ip6h), &_ip6h);
	if (!ip6h || ip6h->version != 6 || ip6h->hop_limit != 255 ||
	    ipv6_addr_any(&ip6h->saddr))
		return false;
	nexthdr = ip6h->nexthdr;
	off = ipv6_skip_exthdr(skb, sizeof(*ip6h), &nexthdr, &frag_off);
	if (off < 0 || nexthdr != IPPROTO_ICMPV6 || frag_off)
		return false;
	ns = skb_header_pointer(skb, off, sizeof(_ns), &_ns);
	if (!ns || ns->icmph.icmp6_type != NDISC_NEIGHBOUR_SOLICITATION ||
	    ns->icmph.icmp6_code)
		return false;
	ev->family = NFPROTO_IPV6;
	ev->l4proto = IPPROTO_ICMPV6;
	ev->vm_addr.in6 = ip6h->saddr;
	ev->peer_addr.in6 = ns->target;
	return true;
}

void pmycolo_neigh_learn(struct colo_instance *inst, const struct sk_buff *skb)
{
	u64 mac;

	if (!skb_mac_header_was_set(skb) || skb_mac_header_len(skb) < ETH_HLEN)
		return;
	mac = ether_addr_to_u64(eth_hdr(skb)->h_source);
	if (READ_ONCE(inst->vm_mac) != mac)
		WRITE_ONCE(inst->vm_mac, mac);
}

static bool pmycolo_from_vm(struct colo_instance *inst,
			    const struct sk_buff *skb)
{
	return skb_mac_header_was_set(skb) &&
	       ether_addr_to_u64(eth_hdr(skb)->h_source) ==
	       READ_ONCE(inst->vm_mac);
}

void pmycolo_svm_link(struct colo_instance *inst, const struct sk_buff *skb)
{
	struct colo_event ev = { .reason = NFCOLO_REASON_NEIGH };
	bool asks = false;

	colo_stat_inc(inst, NFCOLO_STATS_SVM_PKTS_LINK);
	if (!READ_ONCE(inst->neigh_checkpoint) || skb_vlan_tag_present(skb) ||
	    !pmycolo_from_vm(inst, skb))
		return;
	if (skb->protocol == htons(ETH_P_ARP))
		asks = pmycolo_arp_request(skb, &ev);
	else if (skb->protocol == htons(ETH_P_IPV6))
		asks = pmycolo_ndisc_solicit(skb, &ev);
	if (asks && colo_request_checkpoint(inst, &ev))
		trace_colo_checkpoint_request(inst->index, &ev);
}
