/* SPDX-License-Identifier: MIT */
/*
 * The linear baseline of the benchmarks: secpol's own parser (parsing.h) and
 * key, then the policy's terms (tree::expand, priority order) checked one
 * after another, first match wins -- a one-filter-per-rule classifier like
 * bpfilter or an nftables chain, so the benchmark shows what the decision
 * tree buys.  Terms live in an array map scanned by bpf_loop: the verifier
 * checks one iteration whatever the policy size, so 10,000 filters load
 * (a generated `if` per rule does not: see docs/design.md).
 * No exemptions and no counters per rule: the baseline is the scan alone.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parsing.h"
#include "secpol_abi.h"

/* One term: lo <= key.w[f] <= hi for every field f (untested fields span
 * [0, UINT32_MAX]); the rule's action decides. */
struct linear_term {
	__u32 lo[SECPOL_NF];
	__u32 hi[SECPOL_NF];
	__u32 action; /* enum secpol_action */
	__u32 pad;
};

/* max_entries set at load from the policy's term count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct linear_term);
} linear_terms SEC(".maps");

/* Host addresses ("me"): IPv4 by its host-order word, IPv6 by its words. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} linear_local4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct secpol_addr6);
	__type(value, __u32);
} linear_local6 SEC(".maps");

/* Set at load (bench/peer_linear.cpp): the only .rodata variable, at offset 0. */
const volatile struct {
	__u32 nterms;
	__u32 default_action; /* enum secpol_action */
} linear_cfg = {};

struct scan_ctx {
	const struct secpol_key *key;
	__u32 action;
	__u32 matched;
};

static __always_inline __u32 is_local(const __u32 *a)
{
	if (a[0] == 0 && a[1] == 0 && a[2] == 0xffff) {
		__u32 k = a[3];
		return bpf_map_lookup_elem(&linear_local4, &k) != 0;
	}
	return bpf_map_lookup_elem(&linear_local6, a) != 0;
}

static long check_term(__u32 i, void *arg)
{
	struct scan_ctx *s = arg;
	const struct linear_term *t = bpf_map_lookup_elem(&linear_terms, &i);

	if (!t)
		return 1;
#pragma unroll
	for (int f = 0; f < SECPOL_NF; f++) {
		__u32 v = s->key->w[f];
		if (v < t->lo[f] || v > t->hi[f])
			return 0; /* next term */
	}
	s->action = t->action;
	s->matched = 1;
	return 1; /* first match: stop */
}

SEC("xdp")
int linear_xdp(struct xdp_md *ctx)
{
	struct secpol_cur c = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
	};
	struct secpol_pkt p = {};

	c.pkt_len = c.data_end - c.data;
	int rc = secpol_parse(&c, &p);
	if (rc == SECPOL_P_NONIP)
		return XDP_PASS;
	if (rc != SECPOL_P_OK)
		return XDP_DROP;
	p.key.w[SECPOL_F_SRC_LOCAL] = is_local(&p.key.w[SECPOL_F_SRC0]);
	p.key.w[SECPOL_F_DST_LOCAL] = is_local(&p.key.w[SECPOL_F_DST0]);
	p.key.w[SECPOL_F_MCBC] = p.mcast | p.lbcast; /* by the IP destination, as secpol (semantics 1.1) */

	struct scan_ctx s = {.key = &p.key};
	bpf_loop(linear_cfg.nterms, check_term, &s, 0);
	__u32 act = s.matched ? s.action : linear_cfg.default_action;
	return act == SECPOL_ACT_BLOCK ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
