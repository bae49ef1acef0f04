/* SPDX-License-Identifier: MIT */
/*
 * Packet parsing shared by the XDP and tc programs: docs/semantics.md
 * section 1, step by step.  Everything is __always_inline so each program
 * gets one straight-line copy the verifier can follow.
 *
 * Offsets are scalars relative to the frame start.  Two limits apply:
 *  - pkt_len, the frame length: every *semantic* length check (IPv4 total
 *    length, IPv6 payload length, "bytes present") uses it, as the spec does;
 *  - data_end, the end of the directly readable bytes: every *access* is
 *    checked against it, for the verifier.  In XDP and BPF_PROG_TEST_RUN the
 *    two coincide.  At tc a frame's headers may be non-linear: an access that
 *    pkt_len allows but data_end does not returns SECPOL_P_PULL and records
 *    in c->need how many bytes it wanted; the tc program pulls that much
 *    (headers only, never the payload) into the linear area and parses again.
 *
 * Two entry points: secpol_parse for Ethernet frames, secpol_parse_l3 for
 * devices without a link-layer header (tun, WireGuard: IP at offset 0).
 */
#ifndef SECPOL_PARSING_H
#define SECPOL_PARSING_H

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "exempt.h"
#include "local_table.h"
#include "secpol_abi.h"

enum secpol_parse_result {
	SECPOL_P_OK = 0,
	SECPOL_P_MALFORMED,
	SECPOL_P_NONIP,
	SECPOL_P_PULL, /* headers beyond the linear area (tc only) */
	/* + exemption id: a fast parser found the packet exempt (only with
	 * c->cfg, off the full path); p is then not written at all. */
	SECPOL_P_EXEMPT = 16,
};

#define ETH_P_IPV4_ 0x0800
#define ETH_P_IPV6_ 0x86dd
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define ETH_P_PPP_SES_ 0x8864 /* PPPoE session stage */
#define PPP_IPV4_ 0x0021
#define PPP_IPV6_ 0x0057

#define SECPOL_MAX_VLAN 2
#define SECPOL_MAX_EXTHDR 8

/* Everything parsing learns besides the key. */
struct secpol_pkt {
	struct secpol_key key;
	__u8 v4;     /* IPv4 packet (else IPv6) */
	__u8 mcast;  /* destination in 224.0.0.0/4 or ff00::/8 */
	__u8 lbcast; /* IPv4 limited broadcast 255.255.255.255 */
	/* The fast parser has checked the exemptions of exempt.h and found
	 * none (else it had returned SECPOL_P_EXEMPT, or left the packet to
	 * the generic parser): 1 for every fast-path packet, 0 from the
	 * generic parser; SECPOL_EX_LOCALS (an IPv4 fast-path packet of a
	 * policy that uses `me`, with the table) when it has also written
	 * both local words and checked the directed broadcast
	 * (secpol_parse_fast4).  Read only off the full path, where every
	 * fast parser checks them. */
	__u8 ex_checked;
};

/* secpol_pkt.ex_checked: the exemptions, the directed broadcast and both
 * local words done by the fast IPv4 parser. */
#define SECPOL_EX_LOCALS 2

/* The parse cursor: frame start, readable end, frame length. */
struct secpol_cur {
	void *data;
	void *data_end;
	__u32 pkt_len;
	/* A GSO super-packet (tc only, skb->gso_size != 0): an IPv4 total
	 * length or IPv6 payload length of 0 means "to the end of the frame",
	 * as the kernel reads BIG TCP packets (docs/semantics.md 1.4, 1.5). */
	__u32 gso;
	/* On SECPOL_P_PULL: the frame bytes the parser wanted readable. */
	__u32 need;
	/* 1 at tc (a constant of each program): data_end may end before
	 * pkt_len there, never at XDP. */
	__u32 tc;
	/* The frozen config (secpol.bpf.c's secpol_cfg), or NULL: the fast
	 * parsers decide the exemptions of exempt.h with it, off the full
	 * path, before writing the record.  A constant address: no register
	 * is held for it across the parser, and it is read only for a packet
	 * that matches an exemption. */
	const volatile struct secpol_config *cfg;
	/* With cfg: the local-address table's two copies and its selector
	 * word (secpol.bpf.c secpol_locals, secpol_locals_sel; constant
	 * addresses, like cfg): the fast IPv4 parser answers the directed
	 * broadcast and the local words from them (secpol_parse_fast4). */
	const struct secpol_local_tab *locals;
	const volatile __u32 *locals_sel;
};

/* Are n bytes at off readable?  Callers have already checked the semantic
 * bound. */
static __always_inline int secpol_readable(struct secpol_cur *c, __u32 off, __u32 n)
{
	return c->data + off + n <= c->data_end;
}

/* What a failed access means: bytes the frame has but the linear area lacks
 * (pull and retry), or bytes the frame lacks (malformed). */
static __always_inline int secpol_short(struct secpol_cur *c, __u32 off, __u32 n)
{
	if ((__u64)off + n > c->pkt_len)
		return SECPOL_P_MALFORMED;
	c->need = off + n;
	return SECPOL_P_PULL;
}

/* var = the n bytes at off, or return what their absence means.  The
 * bounds test alone decides (no pointer-or-NULL result: clang cannot prove
 * data + off non-null and kept a NULL test after every bounds check). */
#define SECPOL_TAKE(var, c, off, n)                                   \
	do {                                                          \
		if (!secpol_readable((c), (off), (n)))                \
			return secpol_short((c), (off), (n));         \
		(var) = (void *)((c)->data + (off));                  \
	} while (0)

static __always_inline void secpol_set_v4addr(__u32 *w, __u32 be_addr)
{
	/* IPv4-mapped ::ffff:a.b.c.d, so one prefix model covers both families. */
	w[0] = 0;
	w[1] = 0;
	w[2] = 0xffff;
	w[3] = bpf_ntohl(be_addr);
}

static __always_inline void secpol_set_v6addr(__u32 *w, const __u32 *be)
{
	w[0] = bpf_ntohl(be[0]);
	w[1] = bpf_ntohl(be[1]);
	w[2] = bpf_ntohl(be[2]);
	w[3] = bpf_ntohl(be[3]);
}

/* Section 1.6 and 1.7: the L4 header of a first fragment or unfragmented
 * packet, bounded by the IP end (ip_end, an offset) and the frame. */
static __always_inline int secpol_parse_l4(struct secpol_cur *c, struct secpol_pkt *p, __u32 off,
					   __u32 ip_end)
{
	__u32 proto = p->key.w[SECPOL_F_PROTO];
	__u8 *h;

	if (proto == SECPOL_IPPROTO_TCP) {
		if (off + 20 > ip_end)
			return SECPOL_P_MALFORMED;
		SECPOL_TAKE(h, c, off, 20);
		p->key.w[SECPOL_F_SPORT] = bpf_ntohs(*(__u16 *)h);
		p->key.w[SECPOL_F_DPORT] = bpf_ntohs(*(__u16 *)(h + 2));
	} else if (proto == SECPOL_IPPROTO_UDP) {
		if (off + 8 > ip_end)
			return SECPOL_P_MALFORMED;
		SECPOL_TAKE(h, c, off, 8);
		__u32 sport = bpf_ntohs(*(__u16 *)h);
		__u32 dport = bpf_ntohs(*(__u16 *)(h + 2));
		p->key.w[SECPOL_F_SPORT] = sport;
		p->key.w[SECPOL_F_DPORT] = dport;
		/* ESP-in-UDP (RFC 3948): a non-zero SPI; zero is IKE's non-ESP
		 * marker.  Fewer than 8 payload bytes is not ESP, not malformed. */
		if ((sport == 4500 || dport == 4500) && off + 16 <= ip_end) {
			__u32 *spi;
			SECPOL_TAKE(spi, c, off + 8, 4);
			if (*spi != 0)
				p->key.w[SECPOL_F_IPSEC] = 1;
		}
	} else if (proto == SECPOL_IPPROTO_ICMP || proto == SECPOL_IPPROTO_ICMPV6) {
		if (off + 4 > ip_end)
			return SECPOL_P_MALFORMED;
		SECPOL_TAKE(h, c, off, 4);
		p->key.w[SECPOL_F_SPORT] = h[0]; /* type */
		p->key.w[SECPOL_F_DPORT] = h[1]; /* code */
	} else if (proto == SECPOL_IPPROTO_ESP || proto == SECPOL_IPPROTO_AH) {
		p->key.w[SECPOL_F_IPSEC] = 1;
	}
	return SECPOL_P_OK;
}

static __always_inline int secpol_parse_ipv4(struct secpol_cur *c, struct secpol_pkt *p, __u32 off)
{
	__u8 *ip;

	if (off + 20 > c->pkt_len)
		return SECPOL_P_MALFORMED;
	SECPOL_TAKE(ip, c, off, 20);
	__u32 vihl = ip[0];
	if ((vihl >> 4) != 4)
		return SECPOL_P_MALFORMED;
	__u32 hlen = (vihl & 0xf) * 4;
	if (hlen < 20)
		return SECPOL_P_MALFORMED;
	/* "IHL*4 bytes not present": against the frame, like every length. */
	if (off + hlen > c->pkt_len)
		return SECPOL_P_MALFORMED;
	__u32 tot_len = bpf_ntohs(*(__u16 *)(ip + 2));
	if (tot_len == 0 && c->gso) /* BIG TCP: the kernel's iph_totlen() */
		tot_len = c->pkt_len - off;
	if (tot_len < hlen || tot_len > c->pkt_len - off)
		return SECPOL_P_MALFORMED;
	__u32 ip_end = off + tot_len;

	/* Zeroed only now: a frame decided before this point (non-IP,
	 * malformed headers) never pays for it, and its key is not read. */
	__builtin_memset(p, 0, sizeof(*p));
	p->v4 = 1;
	__u32 proto = ip[9];
	p->key.w[SECPOL_F_PROTO] = proto;
	__u32 saddr = *(__u32 *)(ip + 12);
	__u32 daddr = *(__u32 *)(ip + 16);
	secpol_set_v4addr(&p->key.w[SECPOL_F_SRC0], saddr);
	secpol_set_v4addr(&p->key.w[SECPOL_F_DST0], daddr);
	__u32 dst = p->key.w[SECPOL_F_DST3];
	p->mcast = (dst & 0xf0000000u) == 0xe0000000u;
	p->lbcast = dst == 0xffffffffu;
	p->key.w[SECPOL_F_MCBC] = p->mcast | p->lbcast; /* as in secpol_fast_l4_key */

	__u32 frag = bpf_ntohs(*(__u16 *)(ip + 6)) & 0x1fff;
	if (frag != 0) {
		/* RFC 1858: a TCP fragment at offset 8 can rewrite the flags. */
		if (proto == SECPOL_IPPROTO_TCP && frag == 1)
			return SECPOL_P_MALFORMED;
		p->key.w[SECPOL_F_FRAG] = 1;
		if (proto == SECPOL_IPPROTO_ESP || proto == SECPOL_IPPROTO_AH)
			p->key.w[SECPOL_F_IPSEC] = 1;
		return SECPOL_P_OK;
	}
	return secpol_parse_l4(c, p, off + hlen, ip_end);
}

static __always_inline int secpol_parse_ipv6(struct secpol_cur *c, struct secpol_pkt *p, __u32 off)
{
	__u8 *ip;

	if (off + 40 > c->pkt_len)
		return SECPOL_P_MALFORMED;
	SECPOL_TAKE(ip, c, off, 40);
	if ((ip[0] >> 4) != 6)
		return SECPOL_P_MALFORMED;
	__u32 plen = bpf_ntohs(*(__u16 *)(ip + 4));
	/* BIG TCP: payload length 0, with or without a hop-by-hop jumbo
	 * option (RFC 2675), in a GSO packet runs to the end of the frame. */
	if (plen == 0 && c->gso)
		plen = c->pkt_len - off - 40;
	__u32 ip_end = off + 40 + plen;
	if (ip_end > c->pkt_len)
		return SECPOL_P_MALFORMED;

	__builtin_memset(p, 0, sizeof(*p)); /* as in secpol_parse_ipv4 */
	secpol_set_v6addr(&p->key.w[SECPOL_F_SRC0], (__u32 *)(ip + 8));
	secpol_set_v6addr(&p->key.w[SECPOL_F_DST0], (__u32 *)(ip + 24));
	/* The key writes IPv4 as ::ffff:0:0/96; an IPv6 packet with such an
	 * address would pass for IPv4 (RFC 4291 2.5.5.2 keeps them off the
	 * wire): malformed, as in the reference. */
	if ((p->key.w[SECPOL_F_SRC0] | p->key.w[SECPOL_F_SRC1]) == 0 && p->key.w[SECPOL_F_SRC2] == 0xffff)
		return SECPOL_P_MALFORMED;
	if ((p->key.w[SECPOL_F_DST0] | p->key.w[SECPOL_F_DST1]) == 0 && p->key.w[SECPOL_F_DST2] == 0xffff)
		return SECPOL_P_MALFORMED;
	p->mcast = (p->key.w[SECPOL_F_DST0] >> 24) == 0xff;
	p->key.w[SECPOL_F_MCBC] = p->mcast; /* as in secpol_fast_l4_key */

	__u32 nh = ip[6];
	__u32 cur = off + 40;
#pragma unroll
	for (int i = 0; i <= SECPOL_MAX_EXTHDR; i++) {
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			break;
		if (i == SECPOL_MAX_EXTHDR) /* a ninth extension header */
			return SECPOL_P_MALFORMED;
		/* Every extension header is at least 8 bytes. */
		if (cur + 8 > ip_end)
			return SECPOL_P_MALFORMED;
		__u8 *h;
		SECPOL_TAKE(h, c, cur, 8);
		/* Unlikely, so clang lays the fragment case out as the jump
		 * target: the verifier explores the generic case (whose offset
		 * range covers fragment's +8) first and prunes the other,
		 * instead of following 2^8 header sequences. */
		if (__builtin_expect(nh == 44, 0)) {
			__u32 fo = bpf_ntohs(*(__u16 *)(h + 2)) >> 3;
			nh = h[0];
			cur += 8;
			if (fo != 0) { /* non-first fragment: ports unknown, stop */
				p->key.w[SECPOL_F_PROTO] = nh;
				p->key.w[SECPOL_F_FRAG] = 1;
				if (nh == SECPOL_IPPROTO_ESP || nh == SECPOL_IPPROTO_AH)
					p->key.w[SECPOL_F_IPSEC] = 1;
				return SECPOL_P_OK;
			}
		} else {
			__u32 hlen = ((__u32)h[1] + 1) * 8;
			nh = h[0];
			if (cur + hlen > ip_end)
				return SECPOL_P_MALFORMED;
			cur += hlen;
		}
	}
	p->key.w[SECPOL_F_PROTO] = nh;
	return secpol_parse_l4(c, p, cur, ip_end);
}

/* Section 1.3: PPPoE session stage (RFC 2516), 6-byte header and the PPP
 * protocol; IP inside it is parsed like IP straight on Ethernet. */
static __always_inline int secpol_parse_pppoe(struct secpol_cur *c, struct secpol_pkt *p, __u32 off)
{
	__u8 *h;

	if (off + 8 > c->pkt_len)
		return SECPOL_P_MALFORMED;
	SECPOL_TAKE(h, c, off, 8);
	if (h[0] != 0x11 || h[1] != 0) /* version 1, type 1, code 0 (session data) */
		return SECPOL_P_MALFORMED;
	__u32 plen = bpf_ntohs(*(__u16 *)(h + 4));
	if (plen < 2 || off + 6 + plen > c->pkt_len)
		return SECPOL_P_MALFORMED;
	__u32 proto = bpf_ntohs(*(__u16 *)(h + 6));
	if (proto == PPP_IPV4_)
		return secpol_parse_ipv4(c, p, off + 8);
	if (proto == PPP_IPV6_)
		return secpol_parse_ipv6(c, p, off + 8);
	return SECPOL_P_NONIP; /* LCP, IPCP, ...: the session's control */
}

/* The key words after the addresses, as the fast parsers below write them
 * (secpol_parse_fast4, secpol_parse_fast6).  mcbc: multicast or limited
 * broadcast; the program adds the directed broadcast, which needs the
 * local table (every parser writes the parser's part, so that step is a
 * store only for a directed broadcast). */
static __always_inline void secpol_fast_l4_key(struct secpol_pkt *p, __u32 proto, __u32 sport, __u32 dport,
					       __u32 ipsec, __u32 mcbc)
{
	p->key.w[SECPOL_F_PROTO] = proto;
	p->key.w[SECPOL_F_SPORT] = sport;
	p->key.w[SECPOL_F_DPORT] = dport;
	p->key.w[SECPOL_F_SRC_LOCAL] = 0;
	p->key.w[SECPOL_F_DST_LOCAL] = 0;
	p->key.w[SECPOL_F_MCBC] = mcbc;
	p->key.w[SECPOL_F_FRAG] = 0;
	p->key.w[SECPOL_F_IPSEC] = ipsec;
}

/* The exemption a fast parser decides before the record's stores: an IKE,
 * Kerberos or RSVP packet (or any other of exempt.h's) then pays no key
 * store, no join and no local word, since nothing reads its key off the
 * full path.  Returns SECPOL_P_EXEMPT + id, -1 (not exempt: write the
 * record), or -2 for ESP or AH exempt as multicast or broadcast, which the
 * generic parser takes (their protected count reads the record; rare, so
 * that the test of ipsec is paid by exempt packets alone). */
static __always_inline int secpol_fast_exempt(struct secpol_cur *c, __u32 proto, __u32 sport, __u32 dport,
					      __u32 mcast, __u32 lbcast, __u32 v4, __u32 ipsec)
{
	const volatile struct secpol_config *cfg = c->cfg;

	if (!cfg)
		return -1;
	int e = secpol_exempt_of(proto, sport, dport, mcast, lbcast, v4, &cfg->exemptions);
	if (e < 0)
		return -1;
	/* The full path (tunnels, trace) wants the record: read only for a
	 * packet that matched. */
	if (cfg->flags & SECPOL_CFG_FULL_PATH)
		return -1;
	return ipsec ? -2 : SECPOL_P_EXEMPT + e;
}

/* The record's last stores for an IPv4 fast-path packet: the address words
 * but the destination's last (written before the exemptions), the family
 * and ex_checked. */
static __always_inline void secpol_fast4_addrs(struct secpol_pkt *p, const __u8 *ip, __u32 checked)
{
	secpol_set_v4addr(&p->key.w[SECPOL_F_SRC0], *(const __u32 *)(ip + 12));
	p->key.w[SECPOL_F_DST0] = 0;
	p->key.w[SECPOL_F_DST1] = 0;
	p->key.w[SECPOL_F_DST2] = 0xffff;
	p->v4 = 1;
	p->ex_checked = checked;
}

/* The common frame, IPv4 with a 20-byte header, not a fragment, whole
 * within the frame, any protocol but UDP on port 4500 (ESP-in-UDP needs its
 * SPI), parsed with one bounds check and no memset: returns SECPOL_P_OK with
 * every byte of p written, SECPOL_P_EXEMPT + id for an exempt packet off the
 * full path (secpol_fast_exempt, then the directed broadcast from the local
 * table; p partly written, not read), or -1 or -2 (p partly written), and
 * the generic parser
 * decides (malformed, options, fragments, ESP-in-UDP, BIG TCP's total
 * length 0, headers beyond the linear area).  Same key as
 * secpol_parse_ipv4 + secpol_parse_l4, proved by the differential tests and
 * tests/bpf/parse_test.cpp; off is where the IPv4 header starts. */
static __always_inline int secpol_parse_fast4(struct secpol_cur *c, struct secpol_pkt *p, __u32 off)
{
	__u8 *ip = c->data + off;

	if ((void *)(ip + 20 + 8) > c->data_end)
		return -1;
	/* Version 4, IHL 5 in one byte; no fragment offset (MF alone is a
	 * first fragment, parsed like a whole packet). */
	if (ip[0] != 0x45 || (*(__u16 *)(ip + 6) & bpf_htons(0x1fff)) != 0)
		return -1;
	__u32 proto = ip[9];
	__u32 tot_len = bpf_ntohs(*(__u16 *)(ip + 2));
	/* The L4 header secpol_parse_l4 reads must lie inside the IP packet,
	 * the packet inside the frame (secpol_parse_ipv4's length checks). */
	__u32 l4_len = 0;
	if (proto == SECPOL_IPPROTO_TCP)
		l4_len = 20;
	else if (proto == SECPOL_IPPROTO_UDP)
		l4_len = 8;
	else if (proto == SECPOL_IPPROTO_ICMP || proto == SECPOL_IPPROTO_ICMPV6)
		l4_len = 4;
	if (tot_len < 20 + l4_len || tot_len > c->pkt_len - off)
		return -1;
	/* At XDP no second bounds check for the L4 header: pkt_len is
	 * data_end there, so the length checks above already put it within
	 * the readable bytes.  At tc a TCP header beyond the linear area goes
	 * to the generic parser (it pulls); dropping the check there too would
	 * give the same key (the ports lie within the 28 bytes checked) but
	 * cost the egress program's verification ~36k more instructions. */
	if (c->tc && (void *)(ip + 20 + l4_len) > c->data_end)
		return -1;
	__u32 sport = 0, dport = 0, ipsec = 0;
	if (proto == SECPOL_IPPROTO_TCP || proto == SECPOL_IPPROTO_UDP) {
		sport = bpf_ntohs(*(__u16 *)(ip + 20));
		dport = bpf_ntohs(*(__u16 *)(ip + 22));
		if (proto == SECPOL_IPPROTO_UDP && (sport == 4500 || dport == 4500))
			return -1;
	} else if (l4_len) { /* ICMP, ICMPv6: type and code */
		sport = ip[20];
		dport = ip[21];
	} else {
		ipsec = proto == SECPOL_IPPROTO_ESP || proto == SECPOL_IPPROTO_AH;
	}
	__u32 dst = bpf_ntohl(*(__u32 *)(ip + 16));
	__u32 mcast = (dst & 0xf0000000u) == 0xe0000000u, lbcast = dst == 0xffffffffu;
	secpol_fast_l4_key(p, proto, sport, dport, ipsec, mcast | lbcast);
	p->key.w[SECPOL_F_DST3] = dst;
	p->mcast = mcast;
	p->lbcast = lbcast;
	int e = secpol_fast_exempt(c, proto, sport, dport, mcast, lbcast, 1, ipsec);
	if (e != -1) /* exempt, or declined */
		return e;
	__u32 checked = c->cfg != 0; /* a constant of each program */
	if (c->cfg) {
		/* The directed broadcast and the local words, from the local
		 * table with the addresses in registers, before the record's
		 * address stores (secpol.bpf.c did them after its join point;
		 * docs/design.md "The fixed path", seventeenth session).  The
		 * config's words are folded at load: only the policy's case
		 * stays in the program. */
		const volatile struct secpol_config *cfg = c->cfg;
		/* Read back, not held across the exemptions (a register
		 * held there spilled the ports: +5 on every exemption). */
		__u32 d = *(volatile __u32 *)&p->key.w[SECPOL_F_DST3];

		if (cfg->flags & SECPOL_CFG_FULL_PATH) {
			/* the full path does it all after the parser */
		} else if (cfg->flags & SECPOL_CFG_USES_LOCAL) {
			/* `me`: both words from the table, as the program
			 * did after its join point.  Without the table (an
			 * overflow: the hash maps) nothing here: the program
			 * asks the maps for both words after the join, from
			 * its own read of the selector, so an address change
			 * between the two reads never leaves one word
			 * unanswered. */
			__u32 sel = *c->locals_sel;

			if (sel & SECPOL_LOCALSEL_TABLE) {
				const struct secpol_local_tab *t =
					(const void *)((const char *)c->locals + (sel & SECPOL_LOCALSEL_OFF));
				__u32 df = secpol_local4_tab(t, d);

				/* The parser wrote both words 0 and mcbc without
				 * the directed broadcast: a store only for a
				 * local address. */
				if (df) {
					if (df & SECPOL_LOCAL_BCAST) {
						if (cfg->exemptions & (1u << SECPOL_EX_BROADCAST))
							goto dbcast;
						p->key.w[SECPOL_F_MCBC] = 1;
					}
					p->key.w[SECPOL_F_DST_LOCAL] = df & SECPOL_LOCAL_ADDR;
				}
				/* A return site of its own (the record's stores
				 * written out again), so that clang knows
				 * ex_checked there and the program's test of it
				 * folds (secpol.bpf.c secpol_decide); the stores
				 * before the source's probe, so that a source not
				 * local (an empty home slot) jumps from the probe
				 * straight to the filters. */
				secpol_fast4_addrs(p, ip, SECPOL_EX_LOCALS);
				if (secpol_local4_tab(t, bpf_ntohl(*(__u32 *)(ip + 12))) & SECPOL_LOCAL_ADDR)
					p->key.w[SECPOL_F_SRC_LOCAL] = 1;
				return SECPOL_P_OK;
			}
		} else if (cfg->exemptions & (1u << SECPOL_EX_BROADCAST)) {
			/* Without `me` only the directed-broadcast exemption
			 * reads the destination's words: a destination
			 * without every bit of the copy's bcast_ones is none
			 * (one AND and a compare for nearly every packet);
			 * the others the table answers, or the generic parser
			 * when the hash maps must (bcast_ones is written in an
			 * overflowed copy too, so that stays rare).  Nothing
			 * is left to the join point for the packet. */
			__u32 sel = *c->locals_sel;
			const struct secpol_local_tab *t =
				(const void *)((const char *)c->locals + (sel & SECPOL_LOCALSEL_OFF));
			__u32 ones = t->bcast_ones;

			if ((d & ones) == ones) {
				/* The list when it holds them all (local_table.h),
				 * else the table's probe, else the generic parser
				 * and the hash maps. */
				if (t->bcast_all) {
					if (d == t->bcast[0] || d == t->bcast[1] || d == t->bcast[2] ||
					    d == t->bcast[3])
						goto dbcast;
				} else if (!(sel & SECPOL_LOCALSEL_TABLE)) {
					return -2;
				} else if (secpol_local4_tab(t, d) & SECPOL_LOCAL_BCAST) {
					goto dbcast;
				}
			}
		}
	}
	secpol_fast4_addrs(p, ip, checked);
	return SECPOL_P_OK;
dbcast:
	/* Exempt as a directed broadcast; ESP or AH to the generic parser
	 * (their protected count reads the record; secpol_fast_exempt). */
	if (*(volatile __u32 *)&p->key.w[SECPOL_F_IPSEC])
		return -2;
	return SECPOL_P_EXEMPT + SECPOL_EX_BROADCAST;
}

/* The common IPv6 frame, parsed like secpol_parse_fast4: no extension
 * header (the next header is none of 0, 43, 44, 60), payload whole within
 * the frame, the L4 header secpol_parse_l4 reads inside the payload, not
 * UDP on port 4500 (ESP-in-UDP needs its SPI), neither address in
 * ::ffff:0:0/96 (malformed, the generic parser says so).  Returns
 * SECPOL_P_OK with every byte of p written, SECPOL_P_EXEMPT + id (as in
 * secpol_parse_fast4), or -1 with p untouched and the generic parser
 * decides.  Same key as secpol_parse_ipv6 + secpol_parse_l4
 * (differential tests, tests/bpf/parse_test.cpp). */
static __always_inline int secpol_parse_fast6(struct secpol_cur *c, struct secpol_pkt *p, __u32 off)
{
	__u8 *ip = c->data + off;

	if ((void *)(ip + 40 + 8) > c->data_end)
		return -1;
	if ((ip[0] & 0xf0) != 0x60)
		return -1;
	__u32 nh = ip[6];
	/* Extension headers 0, 43, 44 and 60 as one shift of a mask and
	 * one test (no compare for 0 or for the shift's range): nh & 63 also
	 * declines the values equal to them mod 64 (64, 107, 108, 124, 128,
	 * ... 252), which the generic parser then takes: the same answer,
	 * slower, for protocols nobody sends. */
	if ((0x1000180000000001ull >> (nh & 63)) & 1)
		return -1;
	__u32 plen = bpf_ntohs(*(__u16 *)(ip + 4));
	__u32 l4_len = 0;
	if (nh == SECPOL_IPPROTO_TCP)
		l4_len = 20;
	else if (nh == SECPOL_IPPROTO_UDP)
		l4_len = 8;
	else if (nh == SECPOL_IPPROTO_ICMP || nh == SECPOL_IPPROTO_ICMPV6)
		l4_len = 4;
	if (off + 40 > c->pkt_len || plen < l4_len || plen > c->pkt_len - off - 40)
		return -1;
	if (c->tc && (void *)(ip + 40 + l4_len) > c->data_end) /* as in secpol_parse_fast4 */
		return -1;
	/* Neither address in ::ffff:0:0/96, tested on the words as they are
	 * (in network order), which are then dead: the record's copies are
	 * loaded again after the exemptions (below). */
	const __u32 *a = (const __u32 *)(ip + 8);
	if ((a[0] | a[1] | (a[2] ^ bpf_htonl(0xffff))) == 0 || (a[4] | a[5] | (a[6] ^ bpf_htonl(0xffff))) == 0)
		return -1;
	__u32 sport = 0, dport = 0, ipsec = 0;
	if (nh == SECPOL_IPPROTO_TCP || nh == SECPOL_IPPROTO_UDP) {
		sport = bpf_ntohs(*(__u16 *)(ip + 40));
		dport = bpf_ntohs(*(__u16 *)(ip + 42));
		if (nh == SECPOL_IPPROTO_UDP && (sport == 4500 || dport == 4500))
			return -1;
	} else if (l4_len) { /* ICMPv6 (or ICMP): type and code */
		sport = ip[40];
		dport = ip[41];
	} else {
		ipsec = nh == SECPOL_IPPROTO_ESP || nh == SECPOL_IPPROTO_AH;
	}
	__u32 mcast = ip[24] == 0xff;
	secpol_fast_l4_key(p, nh, sport, dport, ipsec, mcast);
	int e = secpol_fast_exempt(c, nh, sport, dport, mcast, 0, 0, ipsec);
	if (e != -1) /* before the address words' loads and stores */
		return e;
	/* Loaded here, not held from the test above: eight words held across
	 * the exemptions spill (+13 instructions on the way to the filters). */
	asm volatile("" : : : "memory");
	secpol_set_v6addr(&p->key.w[SECPOL_F_SRC0], (const __u32 *)(ip + 8));
	secpol_set_v6addr(&p->key.w[SECPOL_F_DST0], (const __u32 *)(ip + 24));
	p->v4 = 0;
	p->mcast = mcast;
	p->lbcast = 0;
	p->ex_checked = c->cfg != 0; /* a constant of each program */
	return SECPOL_P_OK;
}

/* Section 1: fills p from an Ethernet frame.  SECPOL_P_OK: every byte of p
 * written (the fast paths write each field, the IPv4/IPv6 parsers start
 * from zero).  SECPOL_P_EXEMPT + id: a fast path found it exempt, p not
 * written.  Other results leave p unwritten when no IP header was
 * understood: callers that read the key then (trace mode) zero p first. */
static __always_inline int secpol_parse(struct secpol_cur *c, struct secpol_pkt *p)
{
	__u8 *eth;

	/* The Ethernet header and the 28 bytes secpol_parse_fast4 reads in
	 * one bounds check (clang drops fast4's own); a frame shorter than
	 * 42 bytes takes the generic parser, which gives every answer. */
	if (c->data + 14 + 28 <= c->data_end) {
		__u32 t = *(__u16 *)(c->data + 12);
		if (t == bpf_htons(ETH_P_IPV4_)) {
			int r = secpol_parse_fast4(c, p, 14);
			if (r >= 0) /* OK, or exempt */
				return r;
			/* The generic parser's first verdict on this header,
			 * without its Ethernet steps: a version that is not 4
			 * or an IHL under 5 is malformed (its length and
			 * bounds checks pass on a frame of 42 bytes or more). */
			__u32 vihl = *(__u8 *)(c->data + 14);
			if ((vihl >> 4) != 4 || (vihl & 0xf) < 5)
				return SECPOL_P_MALFORMED;
			goto generic;
		}
		/* Opaque from here: else clang merges the type tests into a
		 * binary search that puts IPv4, the common frame, behind two
		 * more compares and a taken jump (measured +1 ns on IPv4). */
		asm volatile("" : "+r"(t));
		if (t == bpf_htons(ETH_P_IPV6_)) {
			int r = secpol_parse_fast6(c, p, 14);
			if (r >= 0)
				return r;
		} else if (t != bpf_htons(ETH_P_8021Q_) && t != bpf_htons(ETH_P_8021AD_) &&
			   t != bpf_htons(ETH_P_PPP_SES_)) {
			/* ARP, LLDP, ...: what the generic parser says after
			 * its length and VLAN steps, without them. */
			return SECPOL_P_NONIP;
		}
	}
generic:
	if (c->pkt_len < 14)
		return SECPOL_P_MALFORMED;
	SECPOL_TAKE(eth, c, 0, 14);
	__u32 type = bpf_ntohs(*(__u16 *)(eth + 12));
	__u32 off = 14;

#pragma unroll
	for (int i = 0; i <= SECPOL_MAX_VLAN; i++) {
		if (type != ETH_P_8021Q_ && type != ETH_P_8021AD_)
			break;
		if (i == SECPOL_MAX_VLAN) /* a third tag */
			return SECPOL_P_MALFORMED;
		if (off + 4 > c->pkt_len)
			return SECPOL_P_MALFORMED;
		__u8 *tag;
		SECPOL_TAKE(tag, c, off, 4);
		type = bpf_ntohs(*(__u16 *)(tag + 2));
		off += 4;
	}

	if (type == ETH_P_IPV4_)
		return secpol_parse_ipv4(c, p, off);
	if (type == ETH_P_IPV6_)
		return secpol_parse_ipv6(c, p, off);
	if (type == ETH_P_PPP_SES_)
		return secpol_parse_pppoe(c, p, off);
	return SECPOL_P_NONIP;
}

/* Section 1 for devices without a link-layer header (fills p as
 * secpol_parse does): the version nibble
 * of the first byte says the family; any other version is not IP the
 * kernel would take (tun drops it too): malformed. */
static __always_inline int secpol_parse_l3(struct secpol_cur *c, struct secpol_pkt *p)
{
	__u8 *v;

	int r = secpol_parse_fast4(c, p, 0);
	if (r < 0)
		r = secpol_parse_fast6(c, p, 0);
	if (r >= 0) /* OK, or exempt */
		return r;
	if (c->pkt_len < 1)
		return SECPOL_P_MALFORMED;
	SECPOL_TAKE(v, c, 0, 1);
	__u32 version = v[0] >> 4;
	if (version == 4)
		return secpol_parse_ipv4(c, p, 0);
	if (version == 6)
		return secpol_parse_ipv6(c, p, 0);
	return SECPOL_P_MALFORMED;
}

#endif /* SECPOL_PARSING_H */
