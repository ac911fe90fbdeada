/* SPDX-License-Identifier: GPL-2.0 */
/* What the xtables glue of SECCOLO needs from the learning logic. */
#ifndef _SECCOLO_H
#define _SECCOLO_H

#include <net/netfilter/nf_conntrack_colo.h>

/* A packet from the SVM, seen by the SECCOLO rule. */
void seccolo_svm_packet(struct colo_instance *inst, struct sk_buff *skb,
			unsigned int thoff, struct nf_conn *ct,
			enum ip_conntrack_info ctinfo,
			struct nf_conn_colo *flow);

/* A packet from the SVM while its instance is missing. */
void seccolo_svm_packet_unclaimed(struct nf_conn *ct, struct nf_conn_colo *flow);

extern const struct colo_role_ops seccolo_role;

#endif /* _SECCOLO_H */
