/* SPDX-License-Identifier: MIT */
/*
 * The exemptions of docs/semantics.md section 2.3 up to dhcp, as a function
 * of the packet's fields (the directed broadcast, which needs the local
 * table, is checked after them by the program).  One function for the two
 * places that decide them: the fast parsers (parsing.h, fields still in
 * registers, before the record is written) and the program after its join
 * point (secpol.bpf.c, fields read back from the record of a packet the
 * generic parser took, and the full path).
 */
#ifndef SECPOL_EXEMPT_H
#define SECPOL_EXEMPT_H

#include <linux/types.h>

#include "secpol_abi.h"

#define SECPOL_IPPROTO_ICMP 1
#define SECPOL_IPPROTO_TCP 6
#define SECPOL_IPPROTO_UDP 17
#define SECPOL_IPPROTO_RSVP 46
#define SECPOL_IPPROTO_ESP 50
#define SECPOL_IPPROTO_AH 51
#define SECPOL_IPPROTO_ICMPV6 58

/* Tunnels (their pre-walk needs the local words before the exemptions) and
 * trace mode (it records the whole key) take the global function's full
 * path, which wants the record written: no exemption is decided before it
 * there.  Every other packet is decided inline up to the filters. */
#define SECPOL_CFG_FULL_PATH (SECPOL_CFG_HAS_TUNNEL | SECPOL_CFG_TRACE)

/* The exemption's bit, read from the frozen config (ex points at its
 * exemptions word) only where the packet already matched: the verifier
 * knows the value and removes the jumps on it, but not the load and the
 * AND, so an ordinary packet, which fails on the packet's tests, never
 * reads the config (and the fast parsers hold no register for it). */
static __always_inline __u32 secpol_ex_on(const volatile __u32 *ex, __u32 id)
{
	return *ex & (1u << id);
}

/* Exemption id or -1.  ex: the frozen config's exemptions word; mcast:
 * destination in 224.0.0.0/4 or ff00::/8; lbcast: 255.255.255.255; v4: an
 * IPv4 packet.  Non-first fragments have ports 0, so the port-based ones
 * cannot match.  Broadcast and multicast first, behind one test of either
 * (section 2.3's order: a multicast UDP 500 packet is a multicast exemption
 * when both are on); then by protocol: the exemptions of one protocol
 * exclude those of every other, so the order holds within each protocol and
 * a TCP packet tests Kerberos alone.  The packet's tests come before each
 * bit's read (secpol_ex_on). */
static __always_inline int secpol_exempt_of(__u32 proto, __u32 sport, __u32 dport, __u32 mcast, __u32 lbcast,
					    __u32 v4, const volatile __u32 *ex)
{
	if (mcast | lbcast) {
		if (lbcast && secpol_ex_on(ex, SECPOL_EX_BROADCAST))
			return SECPOL_EX_BROADCAST;
		if (mcast && secpol_ex_on(ex, SECPOL_EX_MULTICAST))
			return SECPOL_EX_MULTICAST;
	}
	if (proto == SECPOL_IPPROTO_UDP) {
		/* Each UDP exemption has a port of at most 4500: most packets
		 * leave after two compares. */
		if (sport > 4500 && dport > 4500)
			return -1;
		if (sport == 500 && dport == 500 && secpol_ex_on(ex, SECPOL_EX_IKE))
			return SECPOL_EX_IKE;
		if (sport == 4500 && dport == 4500 && secpol_ex_on(ex, SECPOL_EX_IKE_NATT))
			return SECPOL_EX_IKE_NATT;
		if ((sport == 88 || dport == 88) && secpol_ex_on(ex, SECPOL_EX_KERBEROS))
			return SECPOL_EX_KERBEROS;
		if ((v4 ? ((sport == 67 || sport == 68) && (dport == 67 || dport == 68))
			: ((sport == 546 || sport == 547) && (dport == 546 || dport == 547))) &&
		    secpol_ex_on(ex, SECPOL_EX_DHCP))
			return SECPOL_EX_DHCP;
		return -1;
	}
	if (proto == SECPOL_IPPROTO_TCP) {
		if ((sport == 88 || dport == 88) && secpol_ex_on(ex, SECPOL_EX_KERBEROS))
			return SECPOL_EX_KERBEROS;
		return -1;
	}
	if (proto == SECPOL_IPPROTO_RSVP && secpol_ex_on(ex, SECPOL_EX_RSVP))
		return SECPOL_EX_RSVP;
	if (proto == SECPOL_IPPROTO_ICMPV6 && !v4 && ((sport >= 130 && sport <= 137) || sport == 143) &&
	    secpol_ex_on(ex, SECPOL_EX_ND))
		return SECPOL_EX_ND;
	return -1;
}

#endif /* SECPOL_EXEMPT_H */
