/* SPDX-License-Identifier: MIT */
/*
 * The `log` clause's ABI, shared by the BPF programs (log_emit.h) and user
 * space (runtime/pktlog.*, `secpol log`): the event the programs put in the
 * ring buffer and the per-rule token bucket that limits them.
 *
 * A packet decided by a filter with `log` (or by the default, with
 * `default ... log`) may produce one event; the verdict is never changed
 * (docs/semantics.md section 6).  Events are rate-limited per rule in the
 * program by a token bucket (docs/runtime.md, "secpol log").
 */
#ifndef SECPOL_LOG_EVENT_H
#define SECPOL_LOG_EVENT_H

#include <linux/types.h>

/* Header bytes copied into an event: enough for Ethernet + 2 VLAN tags +
 * IPv6 + a few extension headers + TCP, or any IPv4 header with options. */
#define SECPOL_LOG_SNAPLEN 128u

/* Ring buffer size of a policy with a `log` clause (a policy without one
 * has no log maps at all: its object is built without the log path).  A
 * swap reuses the pinned ring when it is large enough (runtime/log_ring.h). */
#define SECPOL_LOG_RING_BYTES (256u * 1024u)
#define SECPOL_LOG_RING_MIN 4096u /* the kernel's minimum: the size in the object file */

/* `log` without a rate: 10 events per second, bursts of 10. */
#define SECPOL_LOG_DEFAULT_RATE 10u
#define SECPOL_LOG_MAX_RATE 1000000u /* per second or per minute, and bursts */

/* One logged packet.  Only __u32 words and bytes, so the layout is the same
 * for clang -target bpf and the host compiler (sizes checked below). */
struct secpol_log_event {
	__u32 ts_lo;      /* bpf_ktime_get_ns() (CLOCK_MONOTONIC), low word */
	__u32 ts_hi;      /* and high word */
	__u32 ifindex;    /* the device the packet was seen on */
	__u32 dir;        /* enum secpol_dir: SECPOL_DIR_IN (XDP), SECPOL_DIR_OUT (tc) */
	__u32 verdict;    /* enum secpol_verdict */
	__u32 reason;     /* enum secpol_reason: filter, ipsec, default or fragment */
	__u32 rule;       /* rule id; SECPOL_NO_RULE for the default */
	__u32 pkt_len;    /* the whole packet's length */
	__u32 cap_len;    /* bytes of data[] that hold the packet: min(pkt_len, SNAPLEN) */
	__u32 suppressed; /* packets of this rule the rate limit held back since its last event */
	__u32 link;       /* 0: data starts at the Ethernet header; 1: at the IP header */
	__u32 tag;        /* the deciding policy: its XDP program id (`secpol status`), so a
			   * reader tells the old policy's rule ids from the new one's across a swap */
	__u8 data[SECPOL_LOG_SNAPLEN];
};

/* Token bucket of one rule (slot = rule id) or of the default (slot =
 * nrules), in the array map secpol_log_rate.  Credit is kept in
 * nanoseconds: a token is interval_ns of credit, the bucket holds at most
 * burst_ns.  The loader writes interval_ns and burst_ns (0: the slot does not
 * log), the tag and a full bucket (or the state of the rule this one
 * continues, on a swap); the program updates tokens_ns and last_ns without
 * atomics, so two CPUs logging the same rule at the same instant may both
 * take the last token (at most one extra event per CPU). */
struct secpol_log_bucket {
	__u64 interval_ns; /* 1e9 * period / rate */
	__u64 burst_ns;    /* burst * interval_ns */
	__u64 tokens_ns;   /* credit at last_ns */
	__u64 last_ns;
	__u32 suppressed;  /* held back since the last event (reported in it) */
	__u32 lost;        /* events the ring buffer had no room for */
	__u32 tag;         /* copied into the events (secpol_log_event.tag) */
	__u32 pad;
};

/* Map names (user space finds them by name, pins them as map_NAME). */
#define SECPOL_MAP_LOG_RING  "secpol_log_ring"
#define SECPOL_MAP_LOG_RATE  "secpol_log_rate"
#define SECPOL_MAP_LOG_NOTES "secpol_log_notes"

#ifdef __cplusplus
static_assert(sizeof(struct secpol_log_event) == 48 + SECPOL_LOG_SNAPLEN, "log event layout");
static_assert(sizeof(struct secpol_log_bucket) == 48, "log bucket layout");
#else
_Static_assert(sizeof(struct secpol_log_event) == 48 + SECPOL_LOG_SNAPLEN, "log event layout");
_Static_assert(sizeof(struct secpol_log_bucket) == 48, "log bucket layout");
#endif

#endif /* SECPOL_LOG_EVENT_H */
