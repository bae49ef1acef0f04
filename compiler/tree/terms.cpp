// Filter -> terms, docs/semantics.md section 4 (and the reference classifier,
// compiler/ref/classify.cpp, which is the oracle the BPF program is tested
// against).
#include "tree/terms.h"

#include <algorithm>

namespace secpol::tree {
namespace {

constexpr uint32_t kAll = UINT32_MAX;

// Every word of a term is constrained by intersection, so "and" of two
// partial terms is a field-wise intersection.
bool conjoin(Term& t, const Term& c) {
    for (unsigned f = 0; f < SECPOL_NF; ++f)
        if (!t.restrict(f, c.lo[f], c.hi[f])) return false;
    return true;
}

// The box a prefix covers in the four words starting at `base` (SRC0 or DST0):
// exact on fully covered words, a range on the partial word, any after.
Term prefix_box(const ir::Prefix& p, unsigned base) {
    Term t;
    unsigned bits = p.len;
    for (unsigned i = 0; i < 4; ++i) {
        unsigned b = std::min(bits, 32u);
        bits -= b;
        uint32_t mask = b == 0 ? 0 : (b == 32 ? kAll : ~(kAll >> b));
        t.lo[base + i] = p.w[i] & mask;
        t.hi[base + i] = (p.w[i] & mask) | ~mask;
    }
    return t;
}

// An IPv6 prefix must not match IPv4 packets, whose keys live in
// ::ffff:0:0/96. Only prefixes like ::/0 .. ::ffff:0:0/96 overlap that block;
// for them the box minus the block is up to four boxes (w0 != 0; w0 == 0 and
// w1 != 0; w0 == w1 == 0 and w2 below / above 0xffff).
std::vector<Term> v6_minus_mapped(const Term& box, unsigned base) {
    const uint32_t mapped[3] = {0, 0, 0xffff};
    bool overlaps = true;
    for (unsigned i = 0; i < 3; ++i)
        overlaps = overlaps && box.lo[base + i] <= mapped[i] && mapped[i] <= box.hi[base + i];
    if (!overlaps) return {box};
    std::vector<Term> out;
    Term prefix_eq = box;  // words before i pinned to the mapped value
    for (unsigned i = 0; i < 3; ++i) {
        unsigned f = base + i;
        uint32_t m = mapped[i];
        if (box.lo[f] < m) {
            Term t = prefix_eq;
            t.hi[f] = m - 1;
            out.push_back(t);
        }
        if (box.hi[f] > m) {
            Term t = prefix_eq;
            t.lo[f] = m + 1;
            out.push_back(t);
        }
        prefix_eq.lo[f] = prefix_eq.hi[f] = m;
    }
    return out;
}

// The alternatives (a disjunction of partial terms) for an address prefix.
std::vector<Term> prefix_alts(const ir::Prefix& p, unsigned base) {
    Term box = prefix_box(p, base);
    // An IPv4 prefix is exact on words 0..2 (0, 0, 0xffff): no IPv6 key there.
    return p.v4 ? std::vector<Term>{box} : v6_minus_mapped(box, base);
}

std::vector<Term> addr_alts(const ir::AddrMatch& m, bool is_src) {
    unsigned base = is_src ? SECPOL_F_SRC0 : SECPOL_F_DST0;
    switch (m.kind) {
        case ir::AddrMatch::Kind::Any:
            return {Term{}};
        case ir::AddrMatch::Kind::Me: {
            Term t;
            t.restrict(is_src ? SECPOL_F_SRC_LOCAL : SECPOL_F_DST_LOCAL, 1, kAll);
            return {t};
        }
        case ir::AddrMatch::Kind::Prefix:
            return prefix_alts(m.prefix, base);
    }
    return {};
}

// A range as a term bound: the whole natural domain of the word means "not tested".
std::pair<uint32_t, uint32_t> bound(unsigned f, uint32_t lo, uint32_t hi) {
    if (lo == 0 && hi >= field_domain_max(f)) return {0, kAll};
    return {lo, hi};
}

Term flags(std::initializer_list<std::pair<unsigned, bool>> fs) {
    Term t;
    for (auto [f, on] : fs) t.restrict(f, on ? 1 : 0, on ? kAll : 0);
    return t;
}

// A key's two addresses are of one family (IPv4 packets give two mapped
// addresses; IPv6 keys are never mapped: the parsers reject them), so a term
// whose source is IPv4 need not test that its destination is too: three
// tests fewer on every walk through an IPv4 term.
void drop_implied_family(Term& t) {
    if (only_mapped(t, SECPOL_F_SRC0) && only_mapped(t, SECPOL_F_DST0)) widen_upper_words(t, SECPOL_F_DST0);
}

// Appends every non-empty conjunction a & b & extra, a from as, b from bs.
void cross(std::vector<Term>& out, const std::vector<Term>& as, const std::vector<Term>& bs,
           const Term& extra, uint32_t rule, uint32_t filter) {
    for (const Term& a : as)
        for (const Term& b : bs) {
            Term t = a;
            if (!conjoin(t, b) || !conjoin(t, extra)) continue;
            drop_implied_family(t);
            t.rule = rule;
            t.filter = filter;
            out.push_back(t);
        }
}

bool dir_applies(ir::Dir d, int dir) {
    return d == ir::Dir::Both || (d == ir::Dir::In && dir == SECPOL_DIR_IN) ||
           (d == ir::Dir::Out && dir == SECPOL_DIR_OUT);
}

void expand_filter(const ir::Policy& policy, const ir::Filter& f, uint32_t index, std::vector<Term>& out) {
    std::vector<Term> src = addr_alts(f.src, true), dst = addr_alts(f.dst, false);
    // Tunnel filters only take transit traffic that is not multicast/broadcast.
    Term transit =
        f.tunnel ? flags({{SECPOL_F_SRC_LOCAL, false}, {SECPOL_F_DST_LOCAL, false}, {SECPOL_F_MCBC, false}})
                 : Term{};

    // The filter as written.
    Term plain = transit;
    if (f.proto) plain.restrict(SECPOL_F_PROTO, *f.proto, *f.proto);
    if (f.l4_given) {
        // A filter that looks at ports never matches a non-first fragment.
        auto [sl, sh] = bound(SECPOL_F_SPORT, f.sport.lo, f.sport.hi);
        auto [dl, dh] = bound(SECPOL_F_DPORT, f.dport.lo, f.dport.hi);
        plain.restrict(SECPOL_F_SPORT, sl, sh);
        plain.restrict(SECPOL_F_DPORT, dl, dh);
        plain.restrict(SECPOL_F_FRAG, 0, 0);
    }
    cross(out, src, dst, plain, f.rule_id, index);

    // The protected form hides protocol and ports: a secure filter takes it
    // on its addresses alone (transit still required of tunnel filters).
    if (policy.rules.at(f.rule_id).action.kind == ir::Action::Secure) {
        Term prot = transit;
        prot.restrict(SECPOL_F_IPSEC, 1, kAll);
        cross(out, src, dst, prot, f.rule_id, index);
    }

    // The outer header of a tunnel: protected traffic between its endpoint
    // and this host (not multicast/broadcast, as the reference classifier has it).
    if (f.tunnel) {
        std::vector<Term> ep_src = prefix_alts(f.endpoint, SECPOL_F_SRC0);
        std::vector<Term> ep_dst = prefix_alts(f.endpoint, SECPOL_F_DST0);
        Term to_me = flags({{SECPOL_F_DST_LOCAL, true}, {SECPOL_F_MCBC, false}, {SECPOL_F_IPSEC, true}});
        Term from_me = flags({{SECPOL_F_SRC_LOCAL, true}, {SECPOL_F_MCBC, false}, {SECPOL_F_IPSEC, true}});
        cross(out, ep_src, {Term{}}, to_me, f.rule_id, index);
        cross(out, {Term{}}, ep_dst, from_me, f.rule_id, index);
    }
}

}  // namespace

bool only_mapped(const Term& t, unsigned base) {
    return t.lo[base] == 0 && t.hi[base] == 0 && t.lo[base + 1] == 0 && t.hi[base + 1] == 0 &&
           t.lo[base + 2] == 0xffff && t.hi[base + 2] == 0xffff;
}

bool admits_mapped(const Term& t, unsigned base) {
    return t.lo[base] == 0 && t.lo[base + 1] == 0 && t.lo[base + 2] <= 0xffff && t.hi[base + 2] >= 0xffff;
}

void widen_upper_words(Term& t, unsigned base) {
    for (unsigned f = base; f < base + 3; ++f) {
        t.lo[f] = 0;
        t.hi[f] = kAll;
    }
}

uint32_t field_domain_max(unsigned field) {
    switch (field) {
        case SECPOL_F_PROTO:
            return 0xff;
        case SECPOL_F_SPORT:
        case SECPOL_F_DPORT:
            return 0xffff;
        case SECPOL_F_SRC_LOCAL:
        case SECPOL_F_DST_LOCAL:
        case SECPOL_F_MCBC:
        case SECPOL_F_FRAG:
        case SECPOL_F_IPSEC:
            return 1;
        default:
            return UINT32_MAX;
    }
}

const char* field_name(unsigned field) {
    static const char* const names[SECPOL_NF] = {"src0",      "src1", "src2",  "src3",  "dst0",  "dst1",
                                                 "dst2",      "dst3", "proto", "sport", "dport", "src_local",
                                                 "dst_local", "mcbc", "frag",  "ipsec"};
    return field < SECPOL_NF ? names[field] : "?";
}

bool Term::restrict(unsigned f, uint32_t l, uint32_t h) {
    lo[f] = std::max(lo[f], l);
    hi[f] = std::min(hi[f], h);
    return lo[f] <= hi[f];
}

std::vector<Term> expand(const ir::Policy& policy, int dir) {
    std::vector<Term> out;
    for (size_t i = 0; i < policy.filters.size(); ++i)
        if (dir_applies(policy.filters[i].dir, dir))
            expand_filter(policy, policy.filters[i], static_cast<uint32_t>(i), out);
    return out;
}

int64_t first_match(const std::vector<Term>& terms, const secpol_key& key) {
    for (const Term& t : terms)
        if (t.matches(key)) return t.rule;
    return -1;
}

}  // namespace secpol::tree
