/* SPDX-License-Identifier: MIT */
/*
 * The host's addresses ("me") and directed broadcasts as a small open
 * addressing table in a .data section, shared by the BPF program and the
 * loader.  The program reads it with plain loads (a direct value access):
 * no helper call and no hash map lookup per packet, for either address.
 * Every entry sits within SECPOL_LOCAL_PROBES slots of its hash, so a
 * lookup is at most that many compares and stops at the first empty slot.
 *
 * The loader builds the table whenever the local addresses change
 * (LoadedPolicy::set_locals).  Two copies and a selector word in a section
 * of its own: the loader rewrites the copy the program is not reading, then
 * flips the selector, so a packet never sees half a table.  A host with
 * more addresses than the table holds (docs/design.md) sets `overflow`:
 * the program then falls back to the hash maps secpol_local4/6.
 *
 * The selector word says all the program needs in one load (the copy's
 * address and whether to probe it are known before any load of the table
 * itself): bit 0 the current copy, SECPOL_LOCALSEL_TABLE when that copy
 * holds every address (clear: the hash maps answer), and the copy's byte
 * offset in secpol_locals (0 or SECPOL_LOCALSEL_OFF, bits that bit 0 and
 * the table bit never share).  A writer that predates the table bit (an
 * older secpol's daemon) leaves it clear: the program then asks the hash
 * maps, which are always complete, so a mix of versions is slower, never
 * wrong; and `overflow` is still written for programs that read it.
 */
#ifndef SECPOL_LOCAL_TABLE_H
#define SECPOL_LOCAL_TABLE_H

#include <linux/types.h>

#define SECPOL_LOCAL4_SLOTS 256u /* power of two */
#define SECPOL_LOCAL6_SLOTS 128u /* power of two */
#define SECPOL_LOCAL_PROBES 4u
#define SECPOL_LOCAL_BCASTS 4u /* directed broadcasts listed beside bcast_ones */

struct secpol_local_slot4 {
	__u32 addr;  /* host byte order; the IPv4 part of ::ffff:a.b.c.d */
	__u32 flags; /* SECPOL_LOCAL_*; 0 = empty slot */
};

struct secpol_local_slot6 {
	__u32 w[4];  /* host byte order words, like the key */
	__u32 flags; /* SECPOL_LOCAL_*; 0 = empty slot */
};

struct secpol_local_tab {
	__u32 overflow; /* 1: the addresses did not fit, use the hash maps */
	/* Bits set in every directed broadcast of the host (the AND of them
	 * all, table or hash maps; 0xffffffff when there is none): an IPv4
	 * destination without all of them set is no directed broadcast, and
	 * the program skips the probe.  0 (a table never written) tests
	 * nothing. */
	__u32 bcast_ones;
	/* The directed broadcasts themselves, when the host has at most
	 * SECPOL_LOCAL_BCASTS (bcast_all 1; unused entries repeat one of
	 * them, or are 0xffffffff when there is none): the program compares
	 * a destination that passed bcast_ones with them, independent loads
	 * and no hash (parsing.h secpol_parse_fast4, a policy without `me`).
	 * bcast_all 0 (more of them, or a table never written): the probe,
	 * or the hash maps, answer.  Written in an overflowed copy too. */
	__u32 bcast[SECPOL_LOCAL_BCASTS];
	__u32 bcast_all;
	__u32 reserved; /* 0; keeps the slots 8-byte aligned */
	struct secpol_local_slot4 v4[SECPOL_LOCAL4_SLOTS];
	struct secpol_local_slot6 v6[SECPOL_LOCAL6_SLOTS];
};

#define SECPOL_LOCALSEL_COPY 1u  /* the copy the program reads */
#define SECPOL_LOCALSEL_TABLE 2u /* that copy is complete: probe it, not the hash maps */
#define SECPOL_LOCALSEL_OFF ((__u32)sizeof(struct secpol_local_tab)) /* mask of the copy's offset */

/* Bit 6 of the selector is never set: the inline filters (bpf/secpol.bpf.c
 * secpol_filters) read it as a zero the verifier cannot know, whose set
 * value is the size of the packet key (the offset of their opaque store). */
#define SECPOL_LOCALSEL_ZERO_BIT (1u << 6)

/* The selector word for `copy` (0 or 1) of a table that overflowed or not. */
static inline __u32 secpol_localsel(__u32 copy, __u32 overflow)
{
	return (copy & 1) | (overflow ? 0 : SECPOL_LOCALSEL_TABLE) | ((copy & 1) ? SECPOL_LOCALSEL_OFF : 0);
}

/* Multiplicative hashes, top bits. */
static inline __u32 secpol_local_hash4(__u32 a)
{
	return (__u32)(a * 2654435761u) >> 24; /* 256 slots */
}

/* The byte offset of a's home slot in v4[], secpol_local_hash4(a) * 8 in
 * one shift and mask (the program's probe; the same slot). */
static inline __u32 secpol_local_off4(__u32 a)
{
	return (__u32)(a * 2654435761u) >> 21 & ((SECPOL_LOCAL4_SLOTS - 1) * 8u);
}

/* SECPOL_LOCAL_* flags of IPv4 address a (host order, in a register) from
 * table t: at most SECPOL_LOCAL_PROBES compares from its home slot, no
 * helper call.  The program's probe (bpf/secpol.bpf.c, and the fast IPv4
 * parser, parsing.h secpol_parse_fast4). */
static inline __attribute__((always_inline)) __u32 secpol_local4_tab(const struct secpol_local_tab *t, __u32 a)
{
	__u32 o = secpol_local_off4(a);
#ifdef __clang__ /* the BPF build; the C++ side never calls it */
#pragma unroll
#endif
	for (__u32 i = 0; i < SECPOL_LOCAL_PROBES; i++) {
		const struct secpol_local_slot4 *s =
			(const struct secpol_local_slot4 *)((const char *)t->v4 +
							    ((o + i * sizeof(*s)) &
							     ((SECPOL_LOCAL4_SLOTS - 1) * sizeof(*s))));
		if (s->flags == 0)
			return 0;
		if (s->addr == a)
			return s->flags;
	}
	return 0;
}

static inline __u32 secpol_local_hash6(const __u32 *w)
{
	__u32 h = (w[0] * 2654435761u) ^ (w[1] * 2246822519u) ^ (w[2] * 3266489917u) ^ (w[3] * 668265263u);
	return (__u32)(h * 2654435761u) >> 25; /* 128 slots */
}

#ifdef __cplusplus
static_assert(sizeof(struct secpol_local_tab) == 16 + 4 * SECPOL_LOCAL_BCASTS + 8 * SECPOL_LOCAL4_SLOTS + 20 * SECPOL_LOCAL6_SLOTS,
	      "local table layout");
static_assert((SECPOL_LOCALSEL_OFF & (SECPOL_LOCALSEL_COPY | SECPOL_LOCALSEL_TABLE)) == 0,
	      "the copy's offset shares no bit with the flags of the selector");
static_assert(((SECPOL_LOCALSEL_COPY | SECPOL_LOCALSEL_TABLE | SECPOL_LOCALSEL_OFF) & SECPOL_LOCALSEL_ZERO_BIT) == 0,
	      "no selector value sets the bit the inline filters read as zero");
#else
_Static_assert(sizeof(struct secpol_local_tab) == 16 + 4 * SECPOL_LOCAL_BCASTS + 8 * SECPOL_LOCAL4_SLOTS + 20 * SECPOL_LOCAL6_SLOTS,
	       "local table layout");
_Static_assert((SECPOL_LOCALSEL_OFF & (SECPOL_LOCALSEL_COPY | SECPOL_LOCALSEL_TABLE)) == 0,
	       "the copy's offset shares no bit with the flags of the selector");
_Static_assert(((SECPOL_LOCALSEL_COPY | SECPOL_LOCALSEL_TABLE | SECPOL_LOCALSEL_OFF) & SECPOL_LOCALSEL_ZERO_BIT) == 0,
	       "no selector value sets the bit the inline filters read as zero");
#endif

#endif /* SECPOL_LOCAL_TABLE_H */
