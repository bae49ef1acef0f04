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
 * (LoadedPolicy::set_locals).  Two copies and a selector in a section of
 * its own: the loader rewrites the copy the program is not reading, then
 * flips the selector, so a packet never sees half a table.  A host with
 * more addresses than the table holds (docs/design.md) sets `overflow`:
 * the program then falls back to the hash maps secpol_local4/6.
 */
#ifndef SECPOL_LOCAL_TABLE_H
#define SECPOL_LOCAL_TABLE_H

#include <linux/types.h>

#define SECPOL_LOCAL4_SLOTS 256u /* power of two */
#define SECPOL_LOCAL6_SLOTS 128u /* power of two */
#define SECPOL_LOCAL_PROBES 4u

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
	struct secpol_local_slot4 v4[SECPOL_LOCAL4_SLOTS];
	struct secpol_local_slot6 v6[SECPOL_LOCAL6_SLOTS];
};

/* Multiplicative hashes, top bits. */
static inline __u32 secpol_local_hash4(__u32 a)
{
	return (__u32)(a * 2654435761u) >> 24; /* 256 slots */
}

static inline __u32 secpol_local_hash6(const __u32 *w)
{
	__u32 h = (w[0] * 2654435761u) ^ (w[1] * 2246822519u) ^ (w[2] * 3266489917u) ^ (w[3] * 668265263u);
	return (__u32)(h * 2654435761u) >> 25; /* 128 slots */
}

#ifdef __cplusplus
static_assert(sizeof(struct secpol_local_tab) == 8 + 8 * SECPOL_LOCAL4_SLOTS + 20 * SECPOL_LOCAL6_SLOTS,
	      "local table layout");
#else
_Static_assert(sizeof(struct secpol_local_tab) == 8 + 8 * SECPOL_LOCAL4_SLOTS + 20 * SECPOL_LOCAL6_SLOTS,
	       "local table layout");
#endif

#endif /* SECPOL_LOCAL_TABLE_H */
