/* SPDX-License-Identifier: MIT */
/*
 * A 4096-bit Bloom filter of the local directed broadcast addresses, shared
 * by the BPF program and the loader.  Used only when the host's addresses
 * overflow the .data.locals table (local_table.h) and the policy otherwise
 * needs no local-address lookups (no `me`, no tunnels): a miss in the
 * filter is a definite "not a directed broadcast", so the hash lookup in
 * secpol_local4 is skipped for almost every IPv4 packet.  User space
 * rebuilds it whenever the local table changes (it lives in the .data.bloom
 * map).
 */
#ifndef SECPOL_BLOOM_H
#define SECPOL_BLOOM_H

#include <linux/types.h>

#define SECPOL_BLOOM_BITS 4096u
#define SECPOL_BLOOM_WORDS (SECPOL_BLOOM_BITS / 64)

/* One hash (multiplicative, top 12 bits): a handful of broadcast addresses
 * leaves the filter nearly empty, so one probe is enough. */
static inline __u32 secpol_bloom_bit(__u32 addr_host_order)
{
	return (__u32)(addr_host_order * 2654435761u) >> 20;
}

#endif /* SECPOL_BLOOM_H */
