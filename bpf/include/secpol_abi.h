/* SPDX-License-Identifier: MIT */
/*
 * secpol ABI shared by the BPF programs (bpf/secpol.bpf.c) and user space
 * (compiler, runtime).  Every struct or map value that crosses the boundary
 * is defined here once; sizes are checked on both sides.
 */
#ifndef SECPOL_ABI_H
#define SECPOL_ABI_H

#include <linux/types.h>

/* ---- Packet key: what the classifier matches on -------------------------
 * Sixteen 32-bit words in host byte order.  IPv4 addresses are IPv4-mapped
 * (::ffff:a.b.c.d), so one prefix model covers both families.  For ICMP and
 * ICMPv6 the type sits in SPORT and the code in DPORT.  Flag words are 0/1. */
enum secpol_field {
	SECPOL_F_SRC0 = 0, SECPOL_F_SRC1, SECPOL_F_SRC2, SECPOL_F_SRC3,
	SECPOL_F_DST0, SECPOL_F_DST1, SECPOL_F_DST2, SECPOL_F_DST3,
	SECPOL_F_PROTO,     /* L4 protocol after IPv6 extension headers */
	SECPOL_F_SPORT,     /* TCP/UDP source port, ICMP type; 0 when unknown */
	SECPOL_F_DPORT,     /* TCP/UDP destination port, ICMP code; 0 when unknown */
	SECPOL_F_SRC_LOCAL, /* source is an address of this host */
	SECPOL_F_DST_LOCAL, /* destination is an address of this host */
	SECPOL_F_MCBC,      /* destination is multicast or broadcast (any kind) */
	SECPOL_F_FRAG,      /* non-first fragment: ports unknown */
	SECPOL_F_IPSEC,     /* ESP, AH or ESP-in-UDP (protected form) */
	SECPOL_NF           /* number of fields */
};

struct secpol_key {
	__u32 w[SECPOL_NF];
};

/* ---- Decision program ---------------------------------------------------
 * An array of nodes walked from a root.  A test node passes when
 * lo <= key.w[field] <= hi and continues at next_pass, else at next_fail.
 * Internal tree nodes and leaf checks use the same node shape. */
#define SECPOL_NODE_MATCH   0x100u /* lo = rule id that matched; ends the walk */
#define SECPOL_NODE_NOMATCH 0x101u /* ends the walk with the best candidate, or no rule */
/* A forest (several trees walked in turn, docs/design.md): lo = rule id
 * matched in one tree, hi = its priority (filter index, lower wins); kept
 * as the best candidate if it beats the one held; the walk goes on at
 * next_pass. */
#define SECPOL_NODE_CAND    0x102u
/* Pseudo key word a test node may name: the priority of the best candidate
 * so far (0xffffffff while there is none), so a tree whose terms cannot
 * beat it is skipped. */
#define SECPOL_F_BEST       SECPOL_NF
#define SECPOL_NO_RULE      0xffffffffu /* what a walk returns when no filter matched */
#define SECPOL_MAX_STEPS    256u   /* bound of the walk; the compiler enforces it */

struct secpol_node {
	__u32 field;
	__u32 lo;
	__u32 hi;
	__u32 next_pass;
	__u32 next_fail;
	__u32 pad;
};

/* ---- Rules (one per filter statement of the policy) --------------------- */
enum secpol_action {
	SECPOL_ACT_PERMIT = 0,
	SECPOL_ACT_BLOCK = 1,
	SECPOL_ACT_SECURE = 2,
};

#define SECPOL_RULE_ACCEPT_CLEAR   (1u << 0) /* secure: inbound clear allowed */
#define SECPOL_RULE_FALLBACK_CLEAR (1u << 1) /* secure: outbound clear allowed */
#define SECPOL_RULE_TUNNEL         (1u << 2) /* tunnel-mode filter */
#define SECPOL_RULE_LOG            (1u << 3) /* `log`: its packets go to the log ring (log_event.h) */

struct secpol_rule {
	__u32 action; /* enum secpol_action */
	__u32 flags;  /* SECPOL_RULE_* */
};

/* ---- Exemptions (bit = 1 << enum value) --------------------------------- */
enum secpol_exemption {
	SECPOL_EX_BROADCAST = 0,
	SECPOL_EX_MULTICAST,
	SECPOL_EX_RSVP,
	SECPOL_EX_IKE,
	SECPOL_EX_IKE_NATT,
	SECPOL_EX_KERBEROS,
	SECPOL_EX_ND,
	SECPOL_EX_DHCP,
	SECPOL_EX_COUNT
};

/* ---- Verdict reasons ----------------------------------------------------- */
enum secpol_reason {
	SECPOL_R_EXEMPTION = 0,
	SECPOL_R_IPSEC,
	SECPOL_R_FILTER,
	SECPOL_R_DEFAULT,
	SECPOL_R_MALFORMED,
	SECPOL_R_FRAGMENT,
	SECPOL_R_NONIP,
	SECPOL_R_COUNT
};

enum secpol_verdict {
	SECPOL_V_PERMIT = 0,
	SECPOL_V_BLOCK = 1,
};

enum secpol_dir {
	SECPOL_DIR_IN = 0,
	SECPOL_DIR_OUT = 1,
};

/* ---- Counters: per-CPU array of struct secpol_counter -------------------
 * Every packet increments exactly one decision slot, so the slots sum to the
 * packets seen.  SECPOL_CNT_IPSEC additionally counts every ESP/AH/ESP-in-UDP
 * packet, whatever decided it.
 *   special slot:  kind * 2 + dir                 (kind < SECPOL_CNT_SPECIAL)
 *   rule slot:     SECPOL_CNT_RULE_BASE + (rule * 2 + dir) * 3 + rule verdict */
enum secpol_counter_kind {
	SECPOL_CNT_EXEMPT = 0, /* + enum secpol_exemption */
	SECPOL_CNT_DEFAULT = SECPOL_EX_COUNT,
	SECPOL_CNT_MALFORMED,
	SECPOL_CNT_FRAGMENT,
	SECPOL_CNT_NONIP,
	SECPOL_CNT_IPSEC,
	SECPOL_CNT_SPECIAL = 16
};

enum secpol_rule_verdict {
	SECPOL_RV_PERMIT = 0,    /* passed in clear */
	SECPOL_RV_BLOCK = 1,     /* dropped (block, or clear traffic of a secure filter) */
	SECPOL_RV_PROTECTED = 2, /* ESP/AH/ESP-in-UDP passed to the kernel's IPsec */
	SECPOL_RV_COUNT = 3
};

#define SECPOL_CNT_RULE_BASE (SECPOL_CNT_SPECIAL * 2)
#define SECPOL_CNT_SLOTS(nrules) (SECPOL_CNT_RULE_BASE + (nrules) * 2 * SECPOL_RV_COUNT)

/* ---- The walk's result: the rule's decision, packed ----------------------
 * secpol_walk (generated code, or the node-array walker) returns
 * SECPOL_NO_RULE or, for the rule that matched first (or most specifically):
 *   bits 31..5  the rule's first counter slot, SECPOL_CNT_RULE_BASE + rule * 6
 *   bit 4       SECPOL_PK_LOG        `log`: the log path notes the decision
 *   bit 3       SECPOL_PK_TUNNEL     a tunnel filter (the pre-walk's question)
 *   bit 2       SECPOL_PK_SECURE     secure: ESP/AH/ESP-in-UDP passes protected
 *   bit 1       SECPOL_PK_BLOCK_OUT  a clear packet is blocked outbound
 *   bit 0       SECPOL_PK_BLOCK_IN   a clear packet is blocked inbound
 * So the program decides, counts and logs without the rule table: the rule verdict
 * of a clear packet is (v >> dir) & 1 (SECPOL_RV_PERMIT or SECPOL_RV_BLOCK),
 * SECPOL_RV_PROTECTED when SECURE and the key's ipsec word are set, and the
 * counter slot is (v >> SECPOL_PK_SHIFT) + dir * 3 + rule verdict: a shift
 * and two adds on a filter hit (with the rule id there, a multiply and an add
 * more; docs/design.md "Small policies' walks", thirteenth session).  The rule
 * id, which only the trace and the log path name, is secpol_pk_rule(v).  The
 * value does not depend on the direction, so one generated body (and one node
 * array) serves both when their trees are one.  Rule ids stay below
 * SECPOL_PK_MAX_RULES, so no packed value is all ones.  secpol_pack_rule is
 * the one definition, used by the code generator and by the node-array walker. */
#define SECPOL_PK_BLOCK_IN  (1u << 0)
#define SECPOL_PK_BLOCK_OUT (1u << 1)
#define SECPOL_PK_SECURE    (1u << 2)
#define SECPOL_PK_TUNNEL    (1u << 3)
#define SECPOL_PK_LOG       (1u << 4)
#define SECPOL_PK_SHIFT     5
/* rule ids 0 .. this - 1: the last one's slots end below SECPOL_NO_RULE >> SECPOL_PK_SHIFT */
#define SECPOL_PK_MAX_RULES (((SECPOL_NO_RULE >> SECPOL_PK_SHIFT) - SECPOL_CNT_RULE_BASE) / (2 * SECPOL_RV_COUNT))

static inline __u32 secpol_pack_rule(__u32 rule, __u32 action, __u32 flags)
{
	__u32 v = (SECPOL_CNT_RULE_BASE + rule * (2 * SECPOL_RV_COUNT)) << SECPOL_PK_SHIFT;

	if (action == SECPOL_ACT_SECURE) {
		v |= SECPOL_PK_SECURE;
		if (!(flags & SECPOL_RULE_ACCEPT_CLEAR))
			v |= SECPOL_PK_BLOCK_IN;
		if (!(flags & SECPOL_RULE_FALLBACK_CLEAR))
			v |= SECPOL_PK_BLOCK_OUT;
	} else if (action != SECPOL_ACT_PERMIT) { /* block, or an action this program does not know */
		v |= SECPOL_PK_BLOCK_IN | SECPOL_PK_BLOCK_OUT;
	}
	if (flags & SECPOL_RULE_TUNNEL)
		v |= SECPOL_PK_TUNNEL;
	if (flags & SECPOL_RULE_LOG)
		v |= SECPOL_PK_LOG;
	return v;
}

/* The rule id of a packed decision (not SECPOL_NO_RULE): its first slot less
 * the base is rule * 6, an exact multiple, so halved and multiplied by the
 * inverse of 3 modulo 2^32: no division (a BPF `div` on the full path's hits). */
static inline __u32 secpol_pk_rule(__u32 v)
{
	return (((v >> SECPOL_PK_SHIFT) - SECPOL_CNT_RULE_BASE) >> 1) * 0xaaaaaaabu;
}

struct secpol_counter {
	__u64 packets;
	__u64 bytes;
};

/* ---- Local addresses ("me", directed broadcasts), filled at load --------- */
#define SECPOL_LOCAL_ADDR  (1u << 0) /* an address of this host */
#define SECPOL_LOCAL_BCAST (1u << 1) /* directed broadcast of a local subnet */

struct secpol_addr6 {
	__u32 w[4]; /* host byte order words, like the key */
};

/* ---- Load-time configuration (.rodata, frozen: the verifier prunes the
 * branches of exemptions that are off) ------------------------------------ */
#define SECPOL_CFG_HAS_TUNNEL (1u << 0) /* policy has tunnel filters */
#define SECPOL_CFG_TRACE      (1u << 1) /* record every decision in the trace map */
#define SECPOL_CFG_USES_LOCAL (1u << 2) /* some filter uses `me` or `tunnel`: look up
					 * src/dst in the local tables for every packet */
#define SECPOL_CFG_NONIP_BLOCK (1u << 3) /* `non-ip block`: drop what is not IP */
#define SECPOL_CFG_LOG         (1u << 4) /* some filter or the default has `log` (such a
					 * policy is loaded from the log build, log_emit.h) */
#define SECPOL_CFG_LOG_DEFAULT (1u << 5) /* `default ... log`: default and fragment decisions log */

struct secpol_config {
	__u32 exemptions;     /* bit set of enum secpol_exemption */
	__u32 default_action; /* SECPOL_ACT_PERMIT or SECPOL_ACT_BLOCK */
	__u32 flags;          /* SECPOL_CFG_* */
	__u32 root_in;        /* root node of the inbound program */
	__u32 root_out;       /* root node of the outbound program */
	__u32 nrules;
};

/* Last decision, written only with SECPOL_CFG_TRACE (replay, tests). */
struct secpol_trace {
	__u32 seq;     /* incremented per packet */
	__u32 verdict; /* enum secpol_verdict */
	__u32 reason;  /* enum secpol_reason */
	__u32 detail;  /* exemption id or rule id, else 0 */
	struct secpol_key key;
};

/* Map names (user space finds them by name). */
#define SECPOL_MAP_NODES    "secpol_nodes"
#define SECPOL_MAP_RULES    "secpol_rules"
#define SECPOL_MAP_COUNTERS "secpol_counters"
#define SECPOL_MAP_LOCAL4   "secpol_local4"
#define SECPOL_MAP_LOCAL6   "secpol_local6"
#define SECPOL_MAP_TRACE    "secpol_trace"

/* ELF sections added by `secpol compile` to the program object. */
#define SECPOL_SEC_META  ".secpol.meta"  /* JSON: policy, rules, config */
#define SECPOL_SEC_NODES ".secpol.nodes" /* struct secpol_node[] */
/* struct bpf_insn[]: the decision as instructions, the body that replaces
 * secpol_walk at load (compiler/backend/codegen.h); absent or empty when the
 * object keeps the node-array walker. SECPOL_SEC_CODE walks root_in (the XDP
 * programs) and, when SECPOL_SEC_CODE_OUT is absent or empty, root_out too;
 * SECPOL_SEC_CODE_OUT walks root_out (the tc programs). */
#define SECPOL_SEC_CODE     ".secpol.code"
#define SECPOL_SEC_CODE_OUT ".secpol.code_out"

/* The packed decision's arithmetic (secpol.bpf.c secpol_apply_rule): the
 * clear verdict bit of direction dir is bit dir, a rule verdict's low bit is
 * the packet's verdict, and the largest packed value is not SECPOL_NO_RULE. */
#define SECPOL_PK_ASSERTS(sa)                                                                        \
	sa(SECPOL_DIR_IN == 0 && SECPOL_PK_BLOCK_IN == 1u << SECPOL_DIR_IN, "inbound clear bit");      \
	sa(SECPOL_PK_BLOCK_OUT == 1u << SECPOL_DIR_OUT, "outbound clear bit");                          \
	sa((unsigned)SECPOL_RV_PERMIT == (unsigned)SECPOL_V_PERMIT, "permit verdicts");                 \
	sa((unsigned)SECPOL_RV_BLOCK == (unsigned)SECPOL_V_BLOCK, "block verdicts");                    \
	sa(((unsigned)SECPOL_RV_PROTECTED & 1u) == (unsigned)SECPOL_V_PERMIT, "protected passes");      \
	sa((SECPOL_PK_BLOCK_IN | SECPOL_PK_BLOCK_OUT | SECPOL_PK_SECURE | SECPOL_PK_TUNNEL | SECPOL_PK_LOG) < \
		   (1u << SECPOL_PK_SHIFT), "kind bits below the rule id");                                \
	sa((((SECPOL_PK_MAX_RULES - 1) * 2ull * SECPOL_RV_COUNT + SECPOL_CNT_RULE_BASE) << SECPOL_PK_SHIFT | \
	    ((1u << SECPOL_PK_SHIFT) - 1)) < SECPOL_NO_RULE, "no packed value is SECPOL_NO_RULE");        \
	sa(2 * SECPOL_RV_COUNT == 6 && 3u * 0xaaaaaaabu == 1u, "secpol_pk_rule's inverse of 3");       \
	sa((SECPOL_PK_MAX_RULES - 1) * 2ull * SECPOL_RV_COUNT + SECPOL_CNT_RULE_BASE + 2 * SECPOL_RV_COUNT < \
		   (1ull << 32), "counter slots of every rule fit a u32")

#ifdef __cplusplus
SECPOL_PK_ASSERTS(static_assert);
static_assert(sizeof(struct secpol_key) == 64, "key layout");
static_assert(sizeof(struct secpol_node) == 24, "node layout");
static_assert(sizeof(struct secpol_rule) == 8, "rule layout");
static_assert(sizeof(struct secpol_counter) == 16, "counter layout");
static_assert(sizeof(struct secpol_config) == 24, "config layout");
static_assert(sizeof(struct secpol_trace) == 80, "trace layout");
#else
SECPOL_PK_ASSERTS(_Static_assert);
_Static_assert(sizeof(struct secpol_key) == 64, "key layout");
_Static_assert(sizeof(struct secpol_node) == 24, "node layout");
_Static_assert(sizeof(struct secpol_rule) == 8, "rule layout");
_Static_assert(sizeof(struct secpol_counter) == 16, "counter layout");
_Static_assert(sizeof(struct secpol_config) == 24, "config layout");
_Static_assert(sizeof(struct secpol_trace) == 80, "trace layout");
#endif

#endif /* SECPOL_ABI_H */
