/* SPDX-License-Identifier: MIT */
/*
 * The `log` clause in the programs (BPF only; the ABI is log_event.h).
 * Included by secpol.bpf.c after secpol_cfg.
 *
 * Two steps, because the decision is taken where the packet is not at hand
 * (the global secpol_decide_in/out get the parsed record, not the context)
 * and the packet bytes are copied where the decision is not:
 *   1. secpol_log_note(), from secpol_finish: when the deciding rule (or the
 *      default) logs, it leaves the decision in a per-CPU note, one per
 *      direction (XDP and tc never interleave on one CPU within a packet);
 *   2. secpol_log_xdp() / secpol_log_skb(), right after the decision in the
 *      entry program: the note's rule's token bucket, then one ring buffer
 *      record with the first SECPOL_LOG_SNAPLEN bytes of the packet.
 * Only the object built with -DSECPOL_LOG_PATH has any of this (the one the
 * back end uses for policies with `log`), and there every call is behind
 * SECPOL_CFG_LOG, a frozen .rodata constant (docs/design.md, "Log").
 * Nothing here changes the verdict.
 */
#ifndef SECPOL_LOG_EMIT_H
#define SECPOL_LOG_EMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "log_event.h"
#include "secpol_abi.h"

/* max_entries are set at load: SECPOL_LOG_RING_BYTES for the ring (or the
 * pinned ring of the policy being replaced, reused), nrules + 1 for the
 * buckets. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SECPOL_LOG_RING_MIN);
} secpol_log_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct secpol_log_bucket);
} secpol_log_rate SEC(".maps");

struct secpol_log_note {
	__u32 want; /* a decision to log is waiting */
	__u32 verdict;
	__u32 reason;
	__u32 rule;
	__u32 slot; /* token bucket: rule id, or nrules for the default */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* enum secpol_dir */
	__type(key, __u32);
	__type(value, struct secpol_log_note);
} secpol_log_notes SEC(".maps");

/* Step 1: whether the decision logs: a filter's `log` (rule_logs, the
 * walk's SECPOL_PK_LOG bit: no rule-table lookup) or
 * SECPOL_CFG_LOG_DEFAULT; exemptions, malformed and non-IP never do.  rule:
 * a filter's packed value (secpol_abi.h SECPOL_PK_*). */
static __always_inline void secpol_log_note(__u32 verdict, __u32 reason, __u32 rule, __u32 rule_logs, __u32 dir)
{
	struct secpol_log_note *n;
	__u32 slot;

	if (reason == SECPOL_R_FILTER || reason == SECPOL_R_IPSEC) {
		if (!rule_logs)
			return;
		/* A filter's detail is the walk's packed value (secpol.bpf.c
		 * struct secpol_decision). */
		rule = secpol_pk_rule(rule);
		slot = rule;
	} else if (reason == SECPOL_R_DEFAULT || reason == SECPOL_R_FRAGMENT) {
		if (!(secpol_cfg.flags & SECPOL_CFG_LOG_DEFAULT))
			return;
		slot = secpol_cfg.nrules;
		rule = SECPOL_NO_RULE;
	} else {
		return;
	}
	n = bpf_map_lookup_elem(&secpol_log_notes, &dir);
	if (!n)
		return;
	n->want = 1;
	n->verdict = verdict;
	n->reason = reason;
	n->rule = rule;
	n->slot = slot;
}

/* Step 2, common part: takes the note, charges the bucket and reserves the
 * record with everything but the packet bytes; NULL when there is nothing
 * to log, the bucket is empty or the ring is full. */
static __always_inline struct secpol_log_event *secpol_log_begin(__u32 dir, __u32 pkt_len, __u32 ifindex,
								 __u32 l3)
{
	struct secpol_log_note *n = bpf_map_lookup_elem(&secpol_log_notes, &dir);
	struct secpol_log_bucket *b;
	struct secpol_log_event *e;
	__u64 now, t;
	__u32 slot;

	if (!n || !n->want)
		return NULL;
	n->want = 0;
	slot = n->slot;
	b = bpf_map_lookup_elem(&secpol_log_rate, &slot);
	if (!b || !b->interval_ns)
		return NULL;
	now = bpf_ktime_get_ns();
	t = now > b->last_ns ? b->tokens_ns + (now - b->last_ns) : b->tokens_ns;
	if (t > b->burst_ns)
		t = b->burst_ns;
	b->last_ns = now;
	if (t < b->interval_ns) {
		b->tokens_ns = t;
		b->suppressed++;
		return NULL;
	}
	b->tokens_ns = t - b->interval_ns;
	e = bpf_ringbuf_reserve(&secpol_log_ring, sizeof(*e), 0);
	if (!e) {
		b->lost++;
		return NULL;
	}
	e->ts_lo = (__u32)now;
	e->ts_hi = (__u32)(now >> 32);
	e->ifindex = ifindex;
	e->dir = dir;
	e->verdict = n->verdict;
	e->reason = n->reason;
	e->rule = n->rule;
	e->pkt_len = pkt_len;
	e->cap_len = 0;
	e->suppressed = b->suppressed;
	b->suppressed = 0;
	e->link = l3;
	e->tag = b->tag;
	return e;
}

/* The bytes to copy: 1..SECPOL_LOG_SNAPLEN, or 0 for an empty frame. */
static __always_inline __u32 secpol_log_caplen(__u32 pkt_len)
{
	return pkt_len < SECPOL_LOG_SNAPLEN ? pkt_len : SECPOL_LOG_SNAPLEN;
}

static __always_inline void secpol_log_xdp(struct xdp_md *ctx, __u32 l3)
{
	__u32 len = bpf_xdp_get_buff_len(ctx);
	struct secpol_log_event *e = secpol_log_begin(SECPOL_DIR_IN, len, ctx->ingress_ifindex, l3);
	__u32 cap;

	if (!e)
		return;
	cap = secpol_log_caplen(len);
	if (cap > 0 && bpf_xdp_load_bytes(ctx, 0, e->data, cap) == 0)
		e->cap_len = cap;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void secpol_log_skb(struct __sk_buff *skb, __u32 l3)
{
	__u32 len = skb->len;
	struct secpol_log_event *e = secpol_log_begin(SECPOL_DIR_OUT, len, skb->ifindex, l3);
	__u32 cap;

	if (!e)
		return;
	cap = secpol_log_caplen(len);
	if (cap > 0 && bpf_skb_load_bytes(skb, 0, e->data, cap) == 0)
		e->cap_len = cap;
	bpf_ringbuf_submit(e, 0);
}

#endif /* SECPOL_LOG_EMIT_H */
