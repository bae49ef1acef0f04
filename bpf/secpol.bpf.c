/* SPDX-License-Identifier: MIT */
/*
 * secpol's packet classifier: XDP secpol_ingress and tc secpol_egress.
 *
 * One hand-written program for every policy.  The policy is the body of
 * secpol_walk (generated instructions swapped in at load, or the node
 * array secpol_nodes above the budget), the rule table (secpol_rules: read
 * only by the node-array walker) and the frozen config
 * (.rodata.cfg, so the verifier deletes the branches of exemptions and
 * features the policy does not use).  Order of work, as in
 * docs/semantics.md section 2:
 *   parse -> malformed / non-IP -> [tunnel pre-walk] -> exemptions ->
 *   directed broadcast -> walk (generated code, or the node array) ->
 *   action or default -> one decision counter (+ ipsec) -> trace
 * The walk returns the rule's decision packed with its id (secpol_abi.h
 * SECPOL_PK_*), so the action, the counter slot, the tunnel pre-walk's
 * answer and the `log` note's are a few ALU instructions, with no
 * rule-table lookup.
 * The common frame (IPv4 with a 20-byte header, not a fragment, or IPv6
 * without extension headers; whole; any protocol but UDP on port 4500)
 * takes parsing.h's fast paths: one bounds check, each key word written
 * once, no memset, and (XDP, off the full path) an exempt packet decided
 * before its address words are written; an Ethernet type that is not IP, VLAN or PPPoE is
 * non-IP at once; everything else the generic parser, which zeroes the
 * record only once it has an IP header to write; the parser also writes
 * mcbc's multicast and limited-broadcast part.  Malformed, non-IP, every
 * exemption (by protocol first, the packet's test before the frozen bit's)
 * and both addresses' local words (one read of the local table's selector
 * word for both; an IPv4 packet probes the table on its own path; the
 * destination's probe also answers the directed
 * broadcast, and without `me` that probe is skipped when the host bits
 * cannot be a local broadcast, local_table.h bcast_ones) are decided inline
 * in each entry program (no call); the filters and the default go through
 * one global function per direction.  `me` and directed broadcasts come
 * from the .data.locals table (local_table.h): plain loads, no map lookup,
 * and only when the policy uses `me` or tunnels, in trace mode, or (the
 * destination alone) with the broadcast exemption on.  A host whose
 * addresses overflow the table falls back to the hash maps
 * secpol_local4/6.  docs/design.md "The fixed path" has the measurements.
 *
 * Counted in xlated instructions per packet (an interpreter over the
 * loaded program's dump, 10-filter policy with host addresses; docs/design.md
 * "The fixed path", third round), these were tried and not kept: the full
 * path's memset after the parser (3 fewer for every other program, +32k
 * verified for trace and tunnel policies); no second L4 bounds check at tc
 * as at XDP (the same key, +36k verified for the egress program); both
 * local words in one branch before the directed-broadcast exemption (+21
 * for a directed broadcast, +1 for exemption hits, none fewer for
 * filters); an mcbc test in front of the broadcast and multicast
 * exemptions (+2 to +6 then; with the split join below it measured -2/-3
 * and is kept); the source's probe inside the `me` branch with
 * the directed-broadcast exemption as a goto between the probes (+1
 * everywhere, +6k verified); a failed IPv4 fast path entering the generic
 * parser after its Ethernet steps (malformed -13, +40k verified for the
 * ingress program: the generic IPv4 parser then explored from two entries);
 * the exemptions decided in the fast parsers before the record is written
 * (commit 09c930e: IPv4 exemption hits -2.2 to -3.0 ns, within 2.0x, but
 * the paths to the filters +0.4 to +1.5 ns and +21-41k verified); (fourth
 * round, the tail) the filters through a global function of the key and
 * the length alone (commit 883ad86: no rc, flags or NULL test across the
 * walk call, -27 for filter hits, -5 to -13 elsewhere) measured within the
 * A/B's noise and verified +29k for the 10-filter XDP program.
 * Fifth round (the path from the parser's stores to the call, design.md):
 * kept: rc passed as the constant it is past the malformed/non-IP test;
 * IPv4 with the table probed on its own (IPv6 and the hash maps apart, so
 * their registers spill nothing on it), the local words stored only when
 * set (the parser wrote 0), the home slot's offset in one shift and mask;
 * malformed/non-IP and parsed packets joining apart (a test of rc before
 * the join), their finish the fall-through; the broadcast exemption before
 * the words' stores.  Not kept: one test of both home slots before either
 * probe (filters -2 more, a local destination +9, a directed broadcast
 * +17: on a host's ingress the destination is usually local); the
 * selector's table bit tested in place of the table pointer (+2, clang
 * still makes and tests the NULL); proto, ports and mcbc crossing the join
 * in registers (the parser's values spill: +2 to +5 against reading them
 * back after it, +42k verified).
 * Sixth round (design.md): kept: the XDP fast parsers decide the
 * exemptions (exempt.h) before the address words' stores and return
 * SECPOL_P_EXEMPT + id, the config read only for a packet that matched;
 * the generic parser's packets (ex_checked 0) tested before the join, where
 * clang folds the test per return site; without `me`, the directed
 * broadcast probed in registers and exempt at once.  Not kept: ex_checked
 * tested after the join (a load and a taken jump on every fast-path packet:
 * defaults +1.1 to +1.9 ns with `me`); the same at tc (+400 xlated egress).
 *
 * Verifier (tests/bpf/verifier_test.cpp, kernel 6.x, clang 14; the fixed
 * part, to which a generated walk adds its own instructions):
 *   secpol_ingress: xlated ~2,080 insns (jited ~10.0 KB), verifier processed ~131k
 *   secpol_egress:  xlated ~3,400 insns (jited ~15.6 KB), verifier processed ~96k
 *     (with the node-array walker: its rule lookup at the end of the walk,
 *     which packs the decision, added ~10k processed; a generated body
 *     replaces the walker and its lookup)
 *     (windows2000 policy, kernel 6.18; parse paths dominate the count: the
 *     tc parser is a global function verified once whatever the pull
 *     retries, and so is the walk loop of SECPOL_MAX_STEPS; the IP-only
 *     pair secpol_l3_in/out is loaded instead on tun/WireGuard devices;
 *     the inline decision after the join point is verified once per XDP
 *     parse path, ~17k more than when only the exemptions were inline)
 * Seventeenth session (design.md): the XDP fast IPv4 parser decides the
 * directed broadcast and, with `me`, writes both local words from the table
 * before the record's address stores (parsing.h secpol_parse_fast4);
 * without `me` a destination that passes bcast_ones is compared with the
 * up to 4 broadcasts listed beside it (local_table.h), no probe.  Such a
 * packet with `me` jumps from the parser straight to the filters; the join
 * point probes only for the others (IPv6, the hash maps, the generic
 * parser's, tc).
 * Per-packet cost against the empty XDP program: bench/ and docs/performance.md.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bloom.h"
#include "exempt.h"
#include "local_table.h"
#include "parsing.h"
#include "secpol_abi.h"

/* Set at load (LoadedPolicy::load); frozen, so its fields are constants to
 * the verifier. */
const volatile struct secpol_config secpol_cfg SEC(".rodata.cfg") = {};

/* Directed broadcast Bloom filter (bloom.h), rewritten by set_locals. */
__u64 secpol_bcast_bloom[SECPOL_BLOOM_WORDS] SEC(".data.bloom") = {};

/* The local-address table (local_table.h): two copies, the selector says
 * which one is current.  Rewritten by set_locals. */
struct secpol_local_tab secpol_locals[2] SEC(".data.locals") = {};
__u32 secpol_locals_sel SEC(".data.localsel") = 0;

/* max_entries of the first three are set at load from the policy's size. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct secpol_node);
} secpol_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct secpol_rule);
} secpol_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SECPOL_CNT_RULE_BASE);
	__type(key, __u32);
	__type(value, struct secpol_counter);
} secpol_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} secpol_local4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct secpol_addr6);
	__type(value, __u32);
} secpol_local6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct secpol_trace);
} secpol_trace SEC(".maps");

/* The `log` clause: ring buffer, per-rule token buckets, note and emit.
 * Compiled in only with -DSECPOL_LOG_PATH (the object of policies with
 * `log`), and there behind SECPOL_CFG_LOG: any other policy runs the
 * program without a single instruction of it. */
#ifdef SECPOL_LOG_PATH
#include "log_emit.h"
#define SECPOL_LOG_NOTE(d, dir)                                                          \
	do {                                                                             \
		if (secpol_cfg.flags & SECPOL_CFG_LOG)                                   \
			secpol_log_note((d)->verdict, (d)->reason, (d)->detail, (d)->log, (dir)); \
	} while (0)
#define SECPOL_LOG_EMIT(fn, ctx, l3)                    \
	do {                                            \
		if (secpol_cfg.flags & SECPOL_CFG_LOG)  \
			fn((ctx), (l3));                \
	} while (0)
#else
#define SECPOL_LOG_NOTE(d, dir) ((void)0)
#define SECPOL_LOG_EMIT(fn, ctx, l3) ((void)0)
#endif

/* SECPOL_LOCAL_* flags of an address (key words) from the hash maps: only
 * for a host whose addresses overflow the table.  IPv4 addresses live in
 * secpol_local4.  v4 is the packet's family: for a parsed packet it says
 * whether the address is ::ffff:a.b.c.d (the parser calls an IPv6 packet
 * with such an address malformed), so no compare of the key words. */
static __always_inline __u32 secpol_local_flags_map(const __u32 *a, __u32 v4)
{
	__u32 *v;

	if (v4) {
		__u32 k = a[3];
		v = bpf_map_lookup_elem(&secpol_local4, &k);
	} else {
		v = bpf_map_lookup_elem(&secpol_local6, a);
	}
	return v ? *v : 0;
}

/* SECPOL_LOCAL_* flags of an address from the table: at most
 * SECPOL_LOCAL_PROBES compares, no helper call. */
static __always_inline __u32 secpol_local_flags_tab(const struct secpol_local_tab *t, const __u32 *a, __u32 v4)
{
	if (v4) {
		__u32 h = secpol_local_hash4(a[3]);
#pragma unroll
		for (__u32 i = 0; i < SECPOL_LOCAL_PROBES; i++) {
			const struct secpol_local_slot4 *s = &t->v4[(h + i) & (SECPOL_LOCAL4_SLOTS - 1)];
			if (s->flags == 0)
				return 0;
			if (s->addr == a[3])
				return s->flags;
		}
	} else {
		__u32 h = secpol_local_hash6(a);
#pragma unroll
		for (__u32 i = 0; i < SECPOL_LOCAL_PROBES; i++) {
			const struct secpol_local_slot6 *s = &t->v6[(h + i) & (SECPOL_LOCAL6_SLOTS - 1)];
			if (s->flags == 0)
				return 0;
			if (s->w[3] == a[3] && s->w[2] == a[2] && s->w[1] == a[1] && s->w[0] == a[0])
				return s->flags;
		}
	}
	return 0;
}

/* The current table, or NULL when the hash maps answer (an overflowed
 * table, or a writer older than the selector's table bit): one load of the
 * selector word says both (local_table.h), no multiply, no load of the
 * table before its probe. */
static __always_inline const struct secpol_local_tab *secpol_local_tab(void)
{
	__u32 sel = secpol_locals_sel;

	if (!(sel & SECPOL_LOCALSEL_TABLE))
		return 0;
	return (const struct secpol_local_tab *)((const char *)secpol_locals + (sel & SECPOL_LOCALSEL_OFF));
}

/* SECPOL_LOCAL_* flags of one of p's addresses: table t, or the hash maps
 * when t is NULL. */
static __always_inline __u32 secpol_local_flags(const struct secpol_local_tab *t, const struct secpol_pkt *p,
						const __u32 *a)
{
	if (t)
		return secpol_local_flags_tab(t, a, p->v4);
	return secpol_local_flags_map(a, p->v4);
}

/* Is the destination a local directed broadcast?  Only IPv4 has them.
 * With the table, a destination without every bit of bcast_ones set is no
 * broadcast of the host before any probe; without it (overflow), the Bloom
 * filter answers "no" for nearly every packet before the hash map. */
static __always_inline __u32 secpol_directed_bcast(const struct secpol_pkt *p)
{
	const struct secpol_key *k = &p->key;
	const struct secpol_local_tab *t;
	__u32 dst = k->w[SECPOL_F_DST3];

	if (!p->v4)
		return 0;
	t = secpol_local_tab();
	if (t) {
		if ((dst & t->bcast_ones) != t->bcast_ones)
			return 0;
		return (secpol_local_flags_tab(t, &k->w[SECPOL_F_DST0], 1) & SECPOL_LOCAL_BCAST) != 0;
	}
	__u32 bit = secpol_bloom_bit(dst);
	if (!(secpol_bcast_bloom[(bit / 64) & (SECPOL_BLOOM_WORDS - 1)] & (1ull << (bit & 63))))
		return 0;
	__u32 *v = bpf_map_lookup_elem(&secpol_local4, &dst);
	return v && (*v & SECPOL_LOCAL_BCAST);
}

/* The destination's local words: dst_local (when the policy uses `me` or
 * tunnels: one probe of table t that also answers the directed broadcast),
 * else the directed broadcast alone (with the broadcast exemption on), and
 * mcbc.  Returns the directed broadcast bit. */
static __always_inline __u32 secpol_fill_dst(struct secpol_pkt *p, const struct secpol_local_tab *t, __u32 flags,
					      __u32 ex)
{
	struct secpol_key *k = &p->key;
	__u32 dbcast = 0;

	if (flags & (SECPOL_CFG_USES_LOCAL | SECPOL_CFG_FULL_PATH)) {
		__u32 df = secpol_local_flags(t, p, &k->w[SECPOL_F_DST0]);
		k->w[SECPOL_F_DST_LOCAL] = (df & SECPOL_LOCAL_ADDR) != 0;
		dbcast = (df & SECPOL_LOCAL_BCAST) != 0;
	} else if (ex & (1u << SECPOL_EX_BROADCAST)) {
		dbcast = secpol_directed_bcast(p);
	}
	/* else nothing reads mcbc's directed-broadcast part: no lookup.  The
	 * parser wrote mcbc's multicast and limited broadcast part. */
	if (dbcast)
		k->w[SECPOL_F_MCBC] = 1;
	return dbcast;
}

static __always_inline void secpol_fill_src(struct secpol_pkt *p, const struct secpol_local_tab *t)
{
	struct secpol_key *k = &p->key;

	k->w[SECPOL_F_SRC_LOCAL] = (secpol_local_flags(t, p, &k->w[SECPOL_F_SRC0]) & SECPOL_LOCAL_ADDR) != 0;
}

/* Both local words of a packet the table cannot answer in registers (IPv6,
 * or the hash maps when t is NULL): 1 when the destination is a directed
 * broadcast and the exemption is on (the source's word is then not read). */
static __always_inline __u32 secpol_fill_locals(struct secpol_pkt *p, const struct secpol_local_tab *t, __u32 ex)
{
	if (secpol_fill_dst(p, t, SECPOL_CFG_USES_LOCAL, ex) && (ex & (1u << SECPOL_EX_BROADCAST)))
		return 1;
	secpol_fill_src(p, t);
	return 0;
}

/* The exemptions of section 2.3 up to dhcp (exempt.h; the directed
 * broadcast, which needs the local table, is checked by the caller) of a
 * parsed packet from its record: exemption id or -1.  The fast parsers
 * decide them before the record off the full path (secpol_fast_exempt). */
static __always_inline int secpol_exempt(const struct secpol_pkt *p)
{
	const struct secpol_key *k = &p->key;

	return secpol_exempt_of(k->w[SECPOL_F_PROTO], k->w[SECPOL_F_SPORT], k->w[SECPOL_F_DPORT], p->mcast,
				p->lbcast, p->v4, &secpol_cfg.exemptions);
}

/* The packed decision of a rule id (secpol_abi.h secpol_pack_rule), from the
 * rule table: the node-array walker's last step.  A rule the table does not
 * hold is no rule, so the packet gets the default. */
static __always_inline __u32 secpol_rule_packed(__u32 rule)
{
	const struct secpol_rule *r;

	if (rule >= SECPOL_PK_MAX_RULES)
		return SECPOL_NO_RULE;
	r = bpf_map_lookup_elem(&secpol_rules, &rule);
	return r ? secpol_pack_rule(rule, r->action, r->flags) : SECPOL_NO_RULE;
}

/* The node-array walker.  An object compiled with generated code
 * (SECPOL_SEC_CODE, compiler/backend/codegen.h) has this body replaced at
 * load by compare-and-branch instructions of the same contract (r1 = key,
 * w2 = root, w0 = the rule's packed decision, secpol_abi.h SECPOL_PK_*, or
 * SECPOL_NO_RULE); this C body runs for objects above the generated-code
 * budget.  Keep its name, prototype and global linkage: the loader finds it
 * by its BTF func_info.
 *
 * The decision program: a test node continues at next_pass when
 * lo <= key[field] <= hi, else at next_fail (field SECPOL_F_BEST tests the
 * best candidate's priority: forests, docs/design.md).  Its leaves hold rule
 * ids (the node array is the tree builder's output, unchanged); the walk
 * packs the winner with one rule-table lookup at the end, one more step of
 * the 15-100 it already took.
 * Array lookups are inlined by the verifier, so a step is a few loads.
 * A global (non-static, noinline) function: the verifier checks it once, not
 * once per parse path that reaches it (that was 128 loop iterations times
 * every path: 89k processed instructions for XDP), for the price of one call.
 * The generated body that replaces it is spliced into its callers at load
 * when it fits (runtime/walk_splice.h), so a filter hit pays no call at all;
 * larger bodies and this C walker stay called. */
__attribute__((noinline)) __u32 secpol_walk(const struct secpol_key *k, __u32 root)
{
	__u32 idx = root, best = SECPOL_NO_RULE, best_prio = 0xffffffffu;

	if (!k)
		return SECPOL_NO_RULE;

	for (__u32 i = 0; i < SECPOL_MAX_STEPS; i++) {
		const struct secpol_node *n = bpf_map_lookup_elem(&secpol_nodes, &idx);
		if (!n)
			break;
		__u32 f = n->field, v;
		/* Test nodes first: they are nearly every step of a walk. */
		if (f < SECPOL_NF) {
			v = k->w[f];
		} else if (f == SECPOL_F_BEST) {
			v = best_prio;
		} else if (f == SECPOL_NODE_CAND) {
			if (n->hi < best_prio) {
				best = n->lo;
				best_prio = n->hi;
			}
			idx = n->next_pass;
			continue;
		} else {
			if (f == SECPOL_NODE_MATCH)
				best = n->lo;
			break;
		}
		idx = (v >= n->lo && v <= n->hi) ? n->next_pass : n->next_fail;
	}
	/* (the compiler bounds every walk: the loop always ends at a leaf) */
	return best == SECPOL_NO_RULE ? SECPOL_NO_RULE : secpol_rule_packed(best);
}

/* Measured (docs/design.md "The fixed path", fourth round): on a filter hit
 * this lookup's chain (the slot stored and read back as the key, the
 * element's per-CPU pointer, the CPU's offset) costs ~1-2 ns and the two
 * read-modify-writes ~1-1.5 ns. An [cpu][slot] ARRAY, built in full with
 * runtime/ following it (branch `counter`, docs/design.md "Counters"),
 * made the map cheap to create but exemption hits 0.3-1.0 ns slower, so
 * the counters stay a per-CPU array. */
static __always_inline void secpol_count(__u32 slot, __u32 bytes)
{
	struct secpol_counter *c = bpf_map_lookup_elem(&secpol_counters, &slot);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

struct secpol_decision {
	__u32 verdict;
	__u32 reason;
	/* The exemption id; for a filter (SECPOL_R_FILTER, SECPOL_R_IPSEC)
	 * the walk's packed value, whose rule id (secpol_pk_rule: 3
	 * instructions) only the trace and the log note work out. */
	__u32 detail;
	__u32 slot;
	__u32 log; /* a filter decided and it has `log` (only the log path reads it) */
};

/* The trace's detail: the exemption id or the rule id. */
static __always_inline __u32 secpol_decision_detail(const struct secpol_decision *d)
{
	if (d->reason == SECPOL_R_FILTER || d->reason == SECPOL_R_IPSEC)
		return secpol_pk_rule(d->detail);
	return d->detail;
}

/* Section 3: what a matching rule does to the packet, from the walk's
 * packed decision v (secpol_abi.h SECPOL_PK_*): no rule-table lookup, a
 * few ALU instructions and the ipsec word's test.  dir is a constant. */
static __always_inline void secpol_apply_rule(struct secpol_decision *d, __u32 v, const struct secpol_key *k,
					      __u32 dir)
{
	/* A clear packet: SECPOL_RV_PERMIT or SECPOL_RV_BLOCK, which is also
	 * the verdict (SECPOL_PK_ASSERTS), so no mask of a rule verdict that
	 * may be SECPOL_RV_PROTECTED. */
	const __u32 clear = (v >> dir) & 1;
	/* The walk returns the rule's first slot: no multiply, no base. */
	const __u32 slot = (v >> SECPOL_PK_SHIFT) + dir * SECPOL_RV_COUNT;

	d->reason = SECPOL_R_FILTER;
	d->verdict = clear;
	d->slot = slot + clear;
	if ((v & SECPOL_PK_SECURE) && k->w[SECPOL_F_IPSEC]) {
		d->reason = SECPOL_R_IPSEC;
		d->verdict = SECPOL_V_PERMIT;
		d->slot = slot + SECPOL_RV_PROTECTED;
	}
	d->detail = v;
	d->log = v & SECPOL_PK_LOG;
}

static __always_inline void secpol_special(struct secpol_decision *d, __u32 verdict, __u32 reason,
					   __u32 detail, __u32 kind, __u32 dir)
{
	d->verdict = verdict;
	d->reason = reason;
	d->detail = detail;
	d->log = 0;
	d->slot = kind * 2 + dir;
}

/* Counts the decision (and ESP/AH/ESP-in-UDP) and, in trace mode, records
 * it.  flags: the frozen config's, read by the caller (one load for all). */
static __always_inline __u32 secpol_finish(const struct secpol_decision *d, const struct secpol_key *k,
						int rc, __u32 dir, __u32 pkt_len, __u32 flags)
{
	secpol_count(d->slot, pkt_len);
	if (rc == SECPOL_P_OK && k->w[SECPOL_F_IPSEC])
		secpol_count(SECPOL_CNT_IPSEC * 2 + dir, pkt_len);
	SECPOL_LOG_NOTE(d, dir);
	if (flags & SECPOL_CFG_TRACE) {
		__u32 zero = 0;
		struct secpol_trace *t = bpf_map_lookup_elem(&secpol_trace, &zero);
		if (t) {
			t->seq++;
			t->verdict = d->verdict;
			t->reason = d->reason;
			t->detail = secpol_decision_detail(d);
			__builtin_memcpy(&t->key, k, sizeof(*k));
		}
	}
	return d->verdict;
}

/* Section 2.1 and the exemptions of 2.3 that need no local address: what
 * most packets that skip the filters hit.  Inlined into each program so such
 * a packet pays no call and no spill; returns 1 when d holds the decision.
 * Tunnels (their pre-walk comes first) and trace mode (it wants the whole
 * key) take the global function's full path instead. */
static __always_inline int secpol_early(struct secpol_decision *d, const struct secpol_pkt *p, int rc, __u32 dir,
					__u32 flags)
{
	int e;

	if (rc != SECPOL_P_OK) {
		if (rc == SECPOL_P_NONIP)
			secpol_special(d, (flags & SECPOL_CFG_NONIP_BLOCK) ? SECPOL_V_BLOCK : SECPOL_V_PERMIT,
				       SECPOL_R_NONIP, 0, SECPOL_CNT_NONIP, dir);
		else /* malformed, or headers that could not be made readable */
			secpol_special(d, SECPOL_V_BLOCK, SECPOL_R_MALFORMED, 0, SECPOL_CNT_MALFORMED, dir);
		return 1;
	}
	e = secpol_exempt(p);
	if (e >= 0) {
		secpol_special(d, SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, e, SECPOL_CNT_EXEMPT + e, dir);
		return 1;
	}
	return 0;
}

/* Section 2 for a parsed packet; counts and traces; returns the verdict.
 * Without tunnels and trace, secpol_decide has already decided malformed,
 * non-IP and exempt packets and filled the destination's local words. */
static __always_inline __u32 secpol_classify(struct secpol_pkt *p, int rc, __u32 dir, __u32 pkt_len)
{
	const __u32 flags = secpol_cfg.flags;
	struct secpol_key *k = &p->key;
	struct secpol_decision d;
	__u32 v = SECPOL_NO_RULE; /* the walk's packed decision */
	int walked = 0;

	if (flags & SECPOL_CFG_FULL_PATH) {
		/* Read here: a load the verifier would leave in every other
		 * program, where nothing uses it. */
		const __u32 ex = secpol_cfg.exemptions;

		if (rc != SECPOL_P_OK) {
			secpol_early(&d, p, rc, dir, flags);
			goto out;
		}
		/* Tunnels need transit and mcbc before the exemptions; trace
		 * mode wants the complete key. */
		const struct secpol_local_tab *t = secpol_local_tab();
		__u32 dbcast = secpol_fill_dst(p, t, flags, ex);
		secpol_fill_src(p, t);
		if ((flags & SECPOL_CFG_HAS_TUNNEL) && !k->w[SECPOL_F_SRC_LOCAL] && !k->w[SECPOL_F_DST_LOCAL] &&
		    !k->w[SECPOL_F_MCBC]) {
			/* KB253169: exempt protocols routed through a tunnel obey it. */
			v = secpol_walk(k, dir == SECPOL_DIR_IN ? secpol_cfg.root_in : secpol_cfg.root_out);
			walked = 1;
			if (v != SECPOL_NO_RULE && (v & SECPOL_PK_TUNNEL)) {
				secpol_apply_rule(&d, v, k, dir);
				goto out;
			}
		}
		if (secpol_early(&d, p, rc, dir, flags))
			goto out;
		if ((ex & (1u << SECPOL_EX_BROADCAST)) && dbcast) {
			secpol_special(&d, SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, SECPOL_EX_BROADCAST,
				       SECPOL_CNT_EXEMPT + SECPOL_EX_BROADCAST, dir);
			goto out;
		}
	}
	/* Else secpol_decide has done the rest before the call: malformed,
	 * non-IP, the exemptions, both addresses' local words. */

	if (!walked)
		v = secpol_walk(k, dir == SECPOL_DIR_IN ? secpol_cfg.root_in : secpol_cfg.root_out);
	if (v != SECPOL_NO_RULE) {
		secpol_apply_rule(&d, v, k, dir);
		goto out;
	}
	{
		__u32 v = secpol_cfg.default_action == SECPOL_ACT_BLOCK ? SECPOL_V_BLOCK : SECPOL_V_PERMIT;
		if (k->w[SECPOL_F_FRAG])
			secpol_special(&d, v, SECPOL_R_FRAGMENT, 0, SECPOL_CNT_FRAGMENT, dir);
		else
			secpol_special(&d, v, SECPOL_R_DEFAULT, 0, SECPOL_CNT_DEFAULT, dir);
	}

out:
	return secpol_finish(&d, k, rc, dir, pkt_len, flags);
}

/* Global functions, one per direction: the verifier checks each once with
 * an unknown packet record instead of once per parse path (hundreds: every
 * VLAN/extension-header/L4 combination leaves different known constants in
 * the key), which cut verifier work from ~67k/159k processed instructions to
 * a fraction, for one BPF-to-BPF call per packet. */
__attribute__((noinline)) __u32 secpol_decide_in(struct secpol_pkt *p, int rc, __u32 pkt_len)
{
	if (!p)
		return SECPOL_V_BLOCK;
	return secpol_classify(p, rc, SECPOL_DIR_IN, pkt_len);
}

__attribute__((noinline)) __u32 secpol_decide_out(struct secpol_pkt *p, int rc, __u32 pkt_len)
{
	if (!p)
		return SECPOL_V_BLOCK;
	return secpol_classify(p, rc, SECPOL_DIR_OUT, pkt_len);
}

#ifdef SECPOL_DECIDE_INLINE
/* 0: no opaque store before the walk (the template of the smallest bodies,
 * secpol_inline_direct.bpf.o; see secpol_filters and
 * compiler/backend/object_image.h kOpaqueMaxInsns). */
#ifndef SECPOL_OPAQUE_RECORD
#define SECPOL_OPAQUE_RECORD 1
#endif
/* The XDP action's step (secpol_verdict_step) of a verdict that is
 * SECPOL_V_PERMIT or SECPOL_V_BLOCK and which clang sees so (the inline
 * filters' own: a rule verdict's low bit, secpol_apply_rule, or the
 * default's constant): -v, where clang folds the `& SECPOL_V_BLOCK`; were
 * it not the whole value, the step would still be 0 or -1, and 0 only for
 * a verdict whose low bit says permit. */
static __always_inline __s32 secpol_verdict_step_known(__u32 verdict)
{
	return -(__s32)(verdict & SECPOL_V_BLOCK);
}

/* The filters for a parsed packet off the full path, inline in the entry
 * program (the variant object, -DSECPOL_DECIDE_INLINE): the walk, the rule
 * or the default, the count.  The back end picks that object only when the
 * generated body is small enough for the loader to splice into each call
 * site (runtime/walk_splice.h), so a filter hit makes no BPF-to-BPF call at
 * all; larger policies keep the global function, verified once
 * (docs/design.md "The fixed path", ninth round). */
static __always_inline __u32 secpol_filters(struct secpol_pkt *p, __u32 dir, __u32 pkt_len)
{
	struct secpol_key *k = &p->key;
	struct secpol_decision d;

	/* The record made opaque to the verifier, so that it checks the walk
	 * and what follows once, not once per parse path reaching here.  Each
	 * parse path leaves its own known constants and stack slot types in
	 * the record (a 4-byte spill of the protocol it branched on, zeros,
	 * unaligned stores the verifier keeps as STACK_MISC); the walk's
	 * decided compares mark them precise, and stacksafe() tells a 4-byte
	 * spill from STACK_MISC even when imprecise, so no later arrival was
	 * pruned (docs/design.md "The fixed path", tenth round).  One 4-byte
	 * store at a variable offset the verifier cannot know makes every
	 * byte of the key STACK_MISC on every path: y is bit 6 of the local
	 * table's selector, never set (local_table.h), flipped, so at run time
	 * the store writes 64 over the four flag bytes after the key (v4,
	 * mcast, lbcast, ex_checked), which nothing reads past this point; to
	 * the verifier y is 0 or 64 (a stack pointer takes no subtraction, and
	 * its offsets must stay 4-aligned), an unknown value stored anywhere
	 * in [key, key + 68).  The selector is a .data word: unknown, with the
	 * same range, on every path (an offset derived from the packet length
	 * was marked precise through the pointer arithmetic, and its range
	 * differs per path).  The bit is the key's size, 64, so no shift: 6
	 * instructions on a filter hit (7 with bit 30).  Without the store
	 * (SECPOL_OPAQUE_RECORD 0, the template of the smallest bodies) the
	 * walk is verified once per explored parse path, which a small body
	 * affords: 10 filters ~135k processed, against ~107k with the store
	 * (docs/design.md "The fixed path", eleventh round). */
	_Static_assert(__builtin_offsetof(struct secpol_pkt, v4) == sizeof(p->key) &&
			       sizeof(struct secpol_pkt) == sizeof(p->key) + 4,
		       "the opaque store lands on the four flag bytes after the key");
#if SECPOL_OPAQUE_RECORD
	/* The selector's zero bit is the key's size itself, so no shift. */
	_Static_assert(SECPOL_LOCALSEL_ZERO_BIT == sizeof(p->key), "the zero bit is the store's offset");
	__u32 y = (secpol_locals_sel & SECPOL_LOCALSEL_ZERO_BIT) ^ sizeof(p->key);
	*(volatile __u32 *)((char *)p + y) = y;
#endif

	__u32 v = secpol_walk(k, dir == SECPOL_DIR_IN ? secpol_cfg.root_in : secpol_cfg.root_out);

	if (v != SECPOL_NO_RULE) {
		secpol_apply_rule(&d, v, k, dir);
	} else {
		__u32 dv = secpol_cfg.default_action == SECPOL_ACT_BLOCK ? SECPOL_V_BLOCK : SECPOL_V_PERMIT;
		if (k->w[SECPOL_F_FRAG])
			secpol_special(&d, dv, SECPOL_R_FRAGMENT, 0, SECPOL_CNT_FRAGMENT, dir);
		else
			secpol_special(&d, dv, SECPOL_R_DEFAULT, 0, SECPOL_CNT_DEFAULT, dir);
	}
	if (dir == SECPOL_DIR_IN) {
		/* Ingress returns the XDP action's step (secpol_action), made
		 * here, before the counts: so the ipsec word's test after them
		 * jumps straight to the action's last add (made after them,
		 * clang left the step alone behind a goto of its own). */
		__s32 step = secpol_verdict_step_known(d.verdict);

		asm volatile("" : "+r"(step));
		secpol_finish(&d, k, SECPOL_P_OK, dir, pkt_len, 0);
		return (__u32)step;
	}
	/* No trace: trace mode takes the full path. */
	return secpol_finish(&d, k, SECPOL_P_OK, dir, pkt_len, 0);
}
#endif

static __always_inline __u32 secpol_decide_fn(struct secpol_pkt *p, int rc, __u32 dir, __u32 pkt_len)
{
	return dir == SECPOL_DIR_IN ? secpol_decide_in(p, rc, pkt_len) : secpol_decide_out(p, rc, pkt_len);
}

/* A verdict as 0 (SECPOL_V_PERMIT) or -1 (anything else) without a branch
 * (a trace that alternates permit and block would mispredict one): the
 * step from XDP_PASS to the XDP action, XDP_DROP for -1.  None but
 * SECPOL_V_BLOCK (1) is produced, but the verifier sees the global
 * function's result as any value, and XDP_PASS - verdict alone would turn a
 * stray 0xffffffff into XDP_TX (the packet sent back out): (v | -v) >> 31,
 * arithmetic, is -1 for every v but 0. */
static __always_inline __s32 secpol_verdict_step(__u32 verdict)
{
	__u32 nonzero = verdict | -verdict;

	/* Opaque, or clang sees `verdict != 0` and branches again. */
	asm volatile("" : "+r"(nonzero));
	return (__s32)nonzero >> 31;
}

/* The entry program's return code for the verdict v and its step (above):
 * the XDP action at ingress, XDP_PASS + step, the tc action at egress (dir
 * is a constant, and the XDP programs are the ingress ones).  secpol_decide
 * returns it from its last exit, and from each exit whose verdict is known
 * (an exemption: permit) a constant instead. */
static __always_inline int secpol_action(__u32 v, __s32 step, __u32 dir)
{
	_Static_assert(SECPOL_V_PERMIT == 0 && SECPOL_V_BLOCK == 1 && XDP_PASS - 1 == XDP_DROP,
		       "the verdict's bit is the step from XDP_PASS to XDP_DROP");
	if (dir == SECPOL_DIR_IN)
		return XDP_PASS + step;
	return v == SECPOL_V_PERMIT ? TC_ACT_OK : TC_ACT_SHOT;
}

/* secpol_action of a permit: a constant (the exemptions' exits; the XDP
 * action's opaque arithmetic only for verdicts clang does not know). */
static __always_inline int secpol_action_permit(__u32 dir)
{
	return dir == SECPOL_DIR_IN ? XDP_PASS : TC_ACT_OK;
}

/* The entry programs' share: malformed, non-IP, every exemption and the
 * destination's local words inline (no call), the source's word and the
 * filters in the global function.  Returns the program's action
 * (secpol_action). */
static __always_inline int secpol_decide(struct secpol_pkt *p, int rc, __u32 dir, __u32 pkt_len)
{
	struct secpol_decision d;
	__u32 flags, ex, v;
	__s32 step;

	/* Exempt by a fast parser (secpol_fast_exempt, never on the full
	 * path): no record, no local word, only the count.  Tested before
	 * any join, so clang folds the test at each parser return site whose
	 * rc it knows: only the tc program, whose parser is a function of its
	 * own, pays the compare. */
	if (rc >= SECPOL_P_EXEMPT) {
		__u32 e = rc - SECPOL_P_EXEMPT;

		/* One join point for them (as for malformed and non-IP). */
		asm volatile("" : "+r"(e) : : "memory");
		secpol_special(&d, SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, e, SECPOL_CNT_EXEMPT + e, dir);
		/* Not OK to secpol_finish: no protected count (ESP and AH are
		 * never exempted early) and no read of the record; no flags
		 * (no trace: the full path has it), so no read of them. */
		secpol_finish(&d, &p->key, SECPOL_P_MALFORMED, dir, pkt_len, 0);
		return secpol_action_permit(dir);
	}
	/* Malformed and non-IP apart, before the join below: their parser
	 * paths write no key, so nothing of it crosses with them. */
	if (rc != SECPOL_P_OK) {
		/* One join point for them (else clang threads each of the
		 * parser's return sites into its own copy of what follows). */
		asm volatile("" : "+r"(rc), "+r"(p) : : "memory");
		/* One read of the frozen flags for every test below: each
		 * read is a load (and its address) that the verifier leaves in
		 * place even when it knows the value and removes the branch. */
		flags = secpol_cfg.flags;
		/* Expected, so that this path falls through (the verifier
		 * leaves the jump it removes as a goto when clang makes the
		 * full path the fall-through). */
		if (__builtin_expect(!(flags & SECPOL_CFG_FULL_PATH), 1)) {
			secpol_early(&d, p, rc, dir, flags);
			/* Not OK, which is all secpol_finish asks of rc
			 * (after the barrier clang no longer knows it, and
			 * kept rc on the stack for the test the verifier then
			 * removes); no trace (below). */
			v = secpol_finish(&d, &p->key, SECPOL_P_MALFORMED, dir, pkt_len, flags & ~SECPOL_CFG_TRACE);
			goto act;
		}
		v = secpol_decide_fn(p, rc, dir, pkt_len);
		goto act;
	}
	/* The generic parser's packets (the fast parsers have checked the
	 * exemptions of theirs), apart with a join of their own.  Tested
	 * before the join below: clang knows ex_checked at each of the
	 * parser's return sites (the fast parsers store 1, the generic one
	 * zeroes the record), so at XDP no packet pays a test for it; at tc
	 * (the parser a function of its own) one load and compare.  (Tested
	 * after the join, it cost every fast-path packet a load and a taken
	 * jump: clang made the generic side the fall-through.) */
	if (!p->ex_checked) {
		asm volatile("" : "+r"(p) : : "memory");
		flags = secpol_cfg.flags;
		if (!(flags & SECPOL_CFG_FULL_PATH)) {
			int e = secpol_exempt(p);
			if (e >= 0) {
				secpol_special(&d, SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, e, SECPOL_CNT_EXEMPT + e,
					       dir);
				goto done;
			}
			/* Without `me` only the directed-broadcast exemption
			 * reads the destination's words: decided here for
			 * these packets (the fast IPv4 parser decides it for
			 * its own, secpol_parse_fast4), exempt at once, no
			 * store of mcbc. */
			ex = secpol_cfg.exemptions;
			if (!(flags & SECPOL_CFG_USES_LOCAL) && (ex & (1u << SECPOL_EX_BROADCAST)) &&
			    secpol_directed_bcast(p)) {
				secpol_special(&d, SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, SECPOL_EX_BROADCAST,
					       SECPOL_CNT_EXEMPT + SECPOL_EX_BROADCAST, dir);
				goto done;
			}
		}
	}
	/* An IPv4 fast-path packet of a policy with `me` whose parser has
	 * written both local words from the table and checked the directed
	 * broadcast (parsing.h secpol_parse_fast4) has nothing left before
	 * the filters.  Tested before the join, as ex_checked above: clang
	 * knows it at each XDP parser return site, so such a packet jumps
	 * straight to the filters and no packet pays a test (a test after
	 * the join cost a load and a taken jump).  Never set at tc. */
	if (dir == SECPOL_DIR_IN && p->ex_checked == SECPOL_EX_LOCALS && !(secpol_cfg.flags & SECPOL_CFG_FULL_PATH))
		goto filters;
	/* One join point for the parsed packets.  (Their exemptions' words
	 * crossing it in registers, as the fast parsers hold them, was
	 * tried: the parser's own values then spill, +2 to +5 instructions
	 * against reading them back here, and +42k verified.) */
	asm volatile("" : "+r"(p) : : "memory");
	flags = secpol_cfg.flags;
	if (!(flags & SECPOL_CFG_FULL_PATH)) {
		ex = secpol_cfg.exemptions;
		if (flags & SECPOL_CFG_USES_LOCAL) {
			/* Both local words here, from one read of the
			 * selector.  The common case (IPv4, the table) in
			 * registers; IPv6 and the hash maps apart, so that
			 * their register needs spill nothing here. */
			const struct secpol_local_tab *t = secpol_local_tab();
			if (t && p->v4) {
				struct secpol_key *k = &p->key;
				__u32 df = secpol_local4_tab(t, k->w[SECPOL_F_DST3]), sf;

				/* The parser wrote both words 0: a store only
				 * for a local address. */
				if (df) {
					/* The exemption first: it reads neither
					 * word, so no store for it. */
					if (df & SECPOL_LOCAL_BCAST) {
						if (ex & (1u << SECPOL_EX_BROADCAST))
							goto dbcast;
						k->w[SECPOL_F_MCBC] = 1;
					}
					k->w[SECPOL_F_DST_LOCAL] = df & SECPOL_LOCAL_ADDR;
				}
				sf = secpol_local4_tab(t, k->w[SECPOL_F_SRC3]);
				if (sf & SECPOL_LOCAL_ADDR)
					k->w[SECPOL_F_SRC_LOCAL] = 1;
			} else if (secpol_fill_locals(p, t, ex)) {
				goto dbcast;
			}
		}
		/* Without `me` the directed broadcast is decided before the
		 * join: by the fast IPv4 parser (secpol_parse_fast4), for the
		 * others above. */
filters:
		/* A call of its own with rc as the constant it is here: else
		 * clang keeps rc for the call shared with the full path, a
		 * spill and two reloads around the local probes. */
#ifdef SECPOL_DECIDE_INLINE
		/* Its verdict is known to be a bit: no opaque step (3
		 * instructions fewer on every filter hit and default, and by
		 * clang's layout one taken jump fewer on a default;
		 * docs/design.md "Small policies' walks", thirteenth session). */
		v = secpol_filters(p, dir, pkt_len);
		step = (__s32)v; /* at egress the verdict, which secpol_action reads there */
		goto act_known;
#else
		v = secpol_decide_fn(p, SECPOL_P_OK, dir, pkt_len);
#endif
		goto act;
dbcast:
		secpol_special(&d, SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, SECPOL_EX_BROADCAST,
			       SECPOL_CNT_EXEMPT + SECPOL_EX_BROADCAST, dir);
		goto done;
	}
	v = secpol_decide_fn(p, rc, dir, pkt_len);
	goto act;
done:
	/* Every decision that comes here is an exemption: a permit.  Trace
	 * mode takes the full path, never this one: its record's code gone at
	 * compile time, not only its branch at load. */
	secpol_finish(&d, &p->key, SECPOL_P_OK, dir, pkt_len, flags & ~SECPOL_CFG_TRACE);
	return secpol_action_permit(dir);
act:
	/* The decisions whose verdict is not known here made a step, then one
	 * action for all (an action at each exit was tail-merged by clang
	 * behind a jump that every filter hit and default then took). */
	step = dir == SECPOL_DIR_IN ? secpol_verdict_step(v) : 0;
#ifdef SECPOL_DECIDE_INLINE
act_known:
#endif
	return secpol_action(v, step, dir);
}

static __always_inline int secpol_xdp(struct xdp_md *ctx, int l3)
{
	struct secpol_cur c = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.cfg = &secpol_cfg,
		.locals = secpol_locals,
		.locals_sel = &secpol_locals_sel,
	};
	struct secpol_pkt p;

	/* The parser writes all of p for an IP packet; the full path records
	 * the key of the others too (zero, or as far as parsing got).  (Zeroed
	 * after the parser instead, for rc != OK only, the test and its load
	 * of the flags leave every other program: 3 instructions, but +32k
	 * verified instructions for trace and tunnel policies.  Not kept.) */
	if (secpol_cfg.flags & SECPOL_CFG_FULL_PATH)
		__builtin_memset(&p, 0, sizeof(p));
	c.pkt_len = c.data_end - c.data;
	int rc = l3 ? secpol_parse_l3(&c, &p) : secpol_parse(&c, &p);
#ifdef SECPOL_LOG_PATH
	int a = secpol_decide(&p, rc, SECPOL_DIR_IN, c.pkt_len);
	SECPOL_LOG_EMIT(secpol_log_xdp, ctx, l3);
	return a;
#else
	return secpol_decide(&p, rc, SECPOL_DIR_IN, c.pkt_len);
#endif
}

/* The skb's frame parsed once; a global function, so the verifier checks
 * it once whatever the caller's retries.  SECPOL_P_PULL leaves in *need
 * the bytes to make readable before the next try. */
__attribute__((noinline)) int secpol_parse_skb(struct __sk_buff *skb, struct secpol_pkt *p, __u32 l3,
					       __u32 *need)
{
	if (!p || !need)
		return SECPOL_P_MALFORMED;
	struct secpol_cur c = {
		.data = (void *)(long)skb->data,
		.data_end = (void *)(long)skb->data_end,
		.pkt_len = skb->len,
		.gso = skb->gso_size != 0,
		.tc = 1,
		/* No .cfg: at tc the exemptions stay after the join.  This
		 * function holds four copies of the fast parsers (Ethernet and
		 * IP-only, IPv4 and IPv6); deciding them there too added ~400
		 * xlated egress instructions and ~3k verified, for a path the
		 * bench does not time (docs/design.md "The fixed path", sixth
		 * round). */
	};
	int rc = l3 ? secpol_parse_l3(&c, p) : secpol_parse(&c, p);
	*need = c.need;
	return rc;
}

/* Headers outside the linear area are rare: each try pulls what the parser
 * asked for plus some slack (the next IPv6 extension headers), never the
 * whole skb (that would copy a 64 KB GSO payload and un-clone every TCP
 * segment).  Headers still out of reach after the last try: malformed. */
#define SECPOL_PULL_TRIES 4
#define SECPOL_PULL_SLACK 256

static __always_inline int secpol_tc(struct __sk_buff *skb, __u32 l3)
{
	struct secpol_pkt p = {};
	__u32 need = 0;
	int rc = SECPOL_P_MALFORMED;

	for (int i = 0; i < SECPOL_PULL_TRIES; i++) {
		rc = secpol_parse_skb(skb, &p, l3, &need);
		if (rc != SECPOL_P_PULL)
			break;
		__u32 len = need + SECPOL_PULL_SLACK;
		if (len > skb->len)
			len = skb->len;
		if (bpf_skb_pull_data(skb, len) != 0)
			break;
	}
#ifdef SECPOL_LOG_PATH
	int a = secpol_decide(&p, rc, SECPOL_DIR_OUT, skb->len);
	SECPOL_LOG_EMIT(secpol_log_skb, skb, l3);
	return a;
#else
	return secpol_decide(&p, rc, SECPOL_DIR_OUT, skb->len);
#endif
}

/* Ethernet devices. */
SEC("xdp")
int secpol_ingress(struct xdp_md *ctx)
{
	return secpol_xdp(ctx, 0);
}

SEC("tc")
int secpol_egress(struct __sk_buff *skb)
{
	return secpol_tc(skb, 0);
}

/* Devices without a link-layer header (tun, WireGuard): the loader picks
 * these by the interface's link type (runtime/netif.h). */
SEC("xdp")
int secpol_l3_in(struct xdp_md *ctx)
{
	return secpol_xdp(ctx, 1);
}

SEC("tc")
int secpol_l3_out(struct __sk_buff *skb)
{
	return secpol_tc(skb, 1);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
