// The partition behind `secpol diff` (diff.h). Decisions follow
// docs/semantics.md section 2 as compiler/ref/classify.cpp implements it:
// a tunnel filter's transit traffic first, then the exemptions, the best
// filter, the default. Every example is classified by the reference before
// it is reported.
#include "diff/diff.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <tuple>

#include "ir/passes.h"
#include "ref/classify.h"
#include "tree/terms.h"

namespace secpol::diff {
namespace {

constexpr uint32_t kAll = UINT32_MAX;
constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kRsvp = 46, kEsp = 50, kAh = 51, kIcmpv6 = 58;
constexpr uint32_t kMcastLo = 0xe0000000u, kMcastHi = 0xefffffffu, kLimited = 0xffffffffu;

uint32_t domain_max(unsigned f) {
    return f == kBcast ? kBcastDirected : tree::field_domain_max(f);
}

Box full_box() {
    Box b;
    for (unsigned f = 0; f < kDims; ++f) b.hi[f] = domain_max(f);
    return b;
}

Box restricted(Box b, unsigned f, uint32_t lo, uint32_t hi) {
    b.lo[f] = std::max(b.lo[f], lo);
    b.hi[f] = std::min(b.hi[f], hi);
    return b;
}

bool empty(const Box& b) {
    for (unsigned f = 0; f < kDims; ++f)
        if (b.lo[f] > b.hi[f]) return true;
    return false;
}

// Terms test the 16 key words; the hidden dimension is never constrained.
bool intersects(const tree::Term& t, const Box& b) {
    for (unsigned f = 0; f < SECPOL_NF; ++f)
        if (t.hi[f] < b.lo[f] || t.lo[f] > b.hi[f]) return false;
    return true;
}
bool covers(const tree::Term& t, const Box& b) {
    for (unsigned f = 0; f < SECPOL_NF; ++f)
        if (t.lo[f] > b.lo[f] || t.hi[f] < b.hi[f]) return false;
    return true;
}
bool intersects(const Box& e, const Box& b) {
    for (unsigned f = 0; f < kDims; ++f)
        if (e.hi[f] < b.lo[f] || e.lo[f] > b.hi[f]) return false;
    return true;
}
bool covers(const Box& e, const Box& b) {
    for (unsigned f = 0; f < kDims; ++f)
        if (e.lo[f] > b.lo[f] || e.hi[f] < b.hi[f]) return false;
    return true;
}

// Cuts b along the first dimension where [lo, hi] cuts it: below, inside, above.
template <class Lo, class Hi>
std::vector<Box> cut(const Box& b, const Lo& lo, const Hi& hi, unsigned dims) {
    for (unsigned f = 0; f < dims; ++f) {
        if (lo[f] <= b.lo[f] && hi[f] >= b.hi[f]) continue;
        std::vector<Box> out;
        if (lo[f] > b.lo[f]) out.push_back(restricted(b, f, b.lo[f], lo[f] - 1));
        out.push_back(restricted(b, f, lo[f], hi[f]));
        if (hi[f] < b.hi[f]) out.push_back(restricted(b, f, hi[f] + 1, b.hi[f]));
        return out;
    }
    return {b};
}

// ---- Exemptions as boxes (compiler/ref/classify.cpp find_exemption) ----

struct ExBox {
    unsigned id;
    Box box;
};

Box dst_v4(Box b) {
    b = restricted(b, SECPOL_F_DST0, 0, 0);
    b = restricted(b, SECPOL_F_DST1, 0, 0);
    return restricted(b, SECPOL_F_DST2, 0xffff, 0xffff);
}

// IPv6 destinations: everything outside ::ffff:0:0/96.
std::vector<Box> dst_v6(const Box& b) {
    return {restricted(b, SECPOL_F_DST0, 1, kAll),
            restricted(restricted(b, SECPOL_F_DST0, 0, 0), SECPOL_F_DST1, 1, kAll),
            restricted(restricted(restricted(b, SECPOL_F_DST0, 0, 0), SECPOL_F_DST1, 0, 0), SECPOL_F_DST2, 0,
                       0xfffe),
            restricted(restricted(restricted(b, SECPOL_F_DST0, 0, 0), SECPOL_F_DST1, 0, 0), SECPOL_F_DST2,
                       0x10000, kAll)};
}

Box l4(uint8_t proto, uint32_t sl, uint32_t sh, uint32_t dl, uint32_t dh) {
    Box b = restricted(full_box(), SECPOL_F_FRAG, 0, 0);  // ports: not of a non-first fragment
    b = restricted(b, SECPOL_F_PROTO, proto, proto);
    b = restricted(b, SECPOL_F_SPORT, sl, sh);
    return restricted(b, SECPOL_F_DPORT, dl, dh);
}

std::vector<ExBox> exemption_boxes(uint32_t profile) {
    std::vector<ExBox> out;
    auto on = [&](unsigned ex) { return (profile >> ex) & 1u; };
    auto add = [&](unsigned id, const Box& b) {
        if (!empty(b)) out.push_back({id, b});
    };
    const uint32_t P = 0xffff;
    // Broadcast and multicast destinations always set the mcbc flag.
    const Box mcbc = restricted(full_box(), SECPOL_F_MCBC, 1, 1);
    if (on(SECPOL_EX_BROADCAST)) {
        add(SECPOL_EX_BROADCAST, restricted(dst_v4(mcbc), SECPOL_F_DST3, kLimited, kLimited));
    }
    if (on(SECPOL_EX_MULTICAST)) {
        add(SECPOL_EX_MULTICAST, restricted(dst_v4(mcbc), SECPOL_F_DST3, kMcastLo, kMcastHi));
        add(SECPOL_EX_MULTICAST, restricted(mcbc, SECPOL_F_DST0, 0xff000000u, kAll));
    }
    if (on(SECPOL_EX_RSVP)) add(SECPOL_EX_RSVP, restricted(full_box(), SECPOL_F_PROTO, kRsvp, kRsvp));
    if (on(SECPOL_EX_IKE)) add(SECPOL_EX_IKE, l4(kUdp, 500, 500, 500, 500));
    if (on(SECPOL_EX_IKE_NATT)) add(SECPOL_EX_IKE_NATT, l4(kUdp, 4500, 4500, 4500, 4500));
    if (on(SECPOL_EX_KERBEROS))
        for (uint8_t p : {kTcp, kUdp}) {
            add(SECPOL_EX_KERBEROS, l4(p, 88, 88, 0, P));
            add(SECPOL_EX_KERBEROS, l4(p, 0, P, 88, 88));
        }
    if (on(SECPOL_EX_ND))
        for (const Box& b : dst_v6(l4(kIcmpv6, 130, 137, 0, P))) add(SECPOL_EX_ND, b);
    if (on(SECPOL_EX_ND))
        for (const Box& b : dst_v6(l4(kIcmpv6, 143, 143, 0, P))) add(SECPOL_EX_ND, b);
    if (on(SECPOL_EX_DHCP)) {
        add(SECPOL_EX_DHCP, dst_v4(l4(kUdp, 67, 68, 67, 68)));
        for (const Box& b : dst_v6(l4(kUdp, 546, 547, 546, 547))) add(SECPOL_EX_DHCP, b);
    }
    // Last in the reference: a directed broadcast of a local subnet (IPv4).
    if (on(SECPOL_EX_BROADCAST))
        add(SECPOL_EX_BROADCAST, restricted(dst_v4(mcbc), kBcast, kBcastDirected, kBcastDirected));
    return out;
}

// ---- One policy's decision over a box whose flags are constant ----

struct Model {
    const ir::Policy& policy;
    std::vector<tree::Term> terms;
    std::vector<ExBox> exemptions;
};

Side action(const Model& m, int fi, const Box& b, int dir) {
    const ir::Filter& f = m.policy.filters[fi];
    const ir::ActionSpec& a = m.policy.rules.at(f.rule_id).action;
    Side s;
    s.filter = fi;
    s.rule = f.rule_id;
    s.reason = SECPOL_R_FILTER;
    switch (a.kind) {
        case ir::Action::Permit:
            s.verdict = SECPOL_V_PERMIT;
            break;
        case ir::Action::Block:
            s.verdict = SECPOL_V_BLOCK;
            break;
        case ir::Action::Secure:
            if (b.lo[SECPOL_F_IPSEC]) {
                s.verdict = SECPOL_V_PERMIT;
                s.reason = SECPOL_R_IPSEC;
            } else {
                bool allowed = dir == SECPOL_DIR_IN ? a.accept_clear : a.fallback_clear;
                s.verdict = allowed ? SECPOL_V_PERMIT : SECPOL_V_BLOCK;
            }
            break;
    }
    return s;
}

// exemption: the exemption that applies over the whole box, or -1.
Side decide(const Model& m, int best, int exemption, const Box& b, int dir) {
    const bool transit = !b.lo[SECPOL_F_SRC_LOCAL] && !b.lo[SECPOL_F_DST_LOCAL];
    const bool mcbc = b.lo[SECPOL_F_MCBC];
    if (best >= 0 && m.policy.filters[best].tunnel && transit && !mcbc) return action(m, best, b, dir);
    if (exemption >= 0) {
        Side s;
        s.reason = SECPOL_R_EXEMPTION;
        s.exemption = static_cast<uint32_t>(exemption);
        return s;
    }
    if (best >= 0) return action(m, best, b, dir);
    Side s;
    s.verdict = m.policy.default_action == ir::Action::Block ? SECPOL_V_BLOCK : SECPOL_V_PERMIT;
    s.reason = b.lo[SECPOL_F_FRAG] ? SECPOL_R_FRAGMENT : SECPOL_R_DEFAULT;
    return s;
}

// ---- The partition ----

struct Item {
    Box box;
    size_t pos[2] = {0, 0};
    bool done[2] = {false, false};
    int best[2] = {-1, -1};
};

struct Leaf {
    Box box;
    Side side[2];
};

// The flags are split first: every box then has constant me/mcbc/fragment/
// IPsec flags and a constant reason for mcbc, which the decision reads.
std::vector<Box> flag_boxes() {
    std::vector<Box> out;
    for (uint32_t bits = 0; bits < 32; ++bits)
        for (uint32_t bc = kBcastNone; bc <= kBcastDirected; ++bc) {
            const uint32_t mcbc = (bits >> 2) & 1;
            if (bc != kBcastNone && !mcbc) continue;
            // An Ethernet broadcast frame is classified by its IP destination
            // (docs/semantics.md 1.1): no region of its own.
            if (bc == kBcastEthernet) continue;
            Box b = full_box();
            const unsigned flags[] = {SECPOL_F_SRC_LOCAL, SECPOL_F_DST_LOCAL, SECPOL_F_MCBC, SECPOL_F_FRAG,
                                      SECPOL_F_IPSEC};
            for (unsigned i = 0; i < 5; ++i) b = restricted(b, flags[i], (bits >> i) & 1, (bits >> i) & 1);
            b = restricted(b, kBcast, bc, bc);
            // A non-first fragment carries no ports: the key has 0 there.
            if (b.lo[SECPOL_F_FRAG]) {
                b = restricted(b, SECPOL_F_SPORT, 0, 0);
                b = restricted(b, SECPOL_F_DPORT, 0, 0);
            }
            out.push_back(b);
        }
    return out;
}

// Whether any key of a leaf (flags constant) can come from a packet; a cheap
// filter so that what cannot happen (IPsec on TCP, the mcbc flag on a unicast
// address without a broadcast) is not listed. Examples are checked exactly.
bool plausible(const Box& b) {
    auto meets = [&](unsigned f, uint32_t lo, uint32_t hi) { return b.lo[f] <= hi && lo <= b.hi[f]; };
    if (b.lo[SECPOL_F_IPSEC]) {
        const bool natt = !b.lo[SECPOL_F_FRAG] && meets(SECPOL_F_PROTO, kUdp, kUdp) &&
                          (meets(SECPOL_F_SPORT, 4500, 4500) || meets(SECPOL_F_DPORT, 4500, 4500));
        if (!natt && !meets(SECPOL_F_PROTO, kEsp, kAh)) return false;
    } else if (b.lo[SECPOL_F_PROTO] >= kEsp && b.hi[SECPOL_F_PROTO] <= kAh) {
        return false;
    }
    const bool dst_v4 =
        meets(SECPOL_F_DST0, 0, 0) && meets(SECPOL_F_DST1, 0, 0) && meets(SECPOL_F_DST2, 0xffff, 0xffff);
    if (b.lo[SECPOL_F_MCBC] && b.lo[kBcast] == kBcastNone) {
        const bool v4_mc = dst_v4 && meets(SECPOL_F_DST3, kMcastLo, kMcastHi);
        const bool v4_limited = dst_v4 && meets(SECPOL_F_DST3, kLimited, kLimited);
        if (!v4_mc && !v4_limited && !meets(SECPOL_F_DST0, 0xff000000u, kAll)) return false;
    }
    if (b.lo[kBcast] == kBcastDirected && !dst_v4) return false;
    return true;
}

// The changed leaves of one direction. False when the budget ran out.
bool partition(const Model* models[2], int dir, size_t max_boxes, size_t& boxes, std::vector<Leaf>& changed) {
    std::vector<Item> stack;
    for (const Box& b : flag_boxes()) stack.push_back(Item{b});
    while (!stack.empty()) {
        Item it = stack.back();
        stack.pop_back();
        bool split = false;
        // The best filter of each policy: the first term that meets the
        // box, once it covers the box whole.
        for (int k = 0; k < 2 && !split; ++k) {
            if (it.done[k]) continue;
            const auto& terms = models[k]->terms;
            size_t& pos = it.pos[k];
            while (pos < terms.size() && !intersects(terms[pos], it.box)) ++pos;
            if (pos == terms.size()) {
                it.done[k] = true;
                it.best[k] = -1;
            } else if (covers(terms[pos], it.box)) {
                it.done[k] = true;
                it.best[k] = static_cast<int>(terms[pos].filter);
            } else {
                for (const Box& c : cut(it.box, terms[pos].lo, terms[pos].hi, SECPOL_NF)) {
                    Item child = it;
                    child.box = c;
                    stack.push_back(child);
                }
                split = true;
            }
        }
        if (split) continue;

        // The exemptions matter only where some exemption status would make
        // the verdicts differ; there they are resolved exactly (the first
        // exemption of the profile, in the reference's order).
        bool may_change = false;
        for (int ea : {-1, 0})
            for (int eb : {-1, 0}) {
                Side a = decide(*models[0], it.best[0], ea, it.box, dir);
                Side b = decide(*models[1], it.best[1], eb, it.box, dir);
                may_change = may_change || a.verdict != b.verdict;
            }
        if (!may_change) {
            ++boxes;
            if (boxes > max_boxes) return false;
            continue;
        }
        int ex[2] = {-1, -1};
        for (int k = 0; k < 2 && !split; ++k) {
            for (const ExBox& e : models[k]->exemptions) {
                if (!intersects(e.box, it.box)) continue;
                if (covers(e.box, it.box)) {
                    ex[k] = static_cast<int>(e.id);
                    break;
                }
                for (const Box& c : cut(it.box, e.box.lo, e.box.hi, kDims)) {
                    Item child = it;
                    child.box = c;
                    stack.push_back(child);
                }
                split = true;
                break;
            }
        }
        if (split) continue;
        ++boxes;
        if (boxes > max_boxes) return false;
        Leaf leaf{it.box,
                  {decide(*models[0], it.best[0], ex[0], it.box, dir),
                   decide(*models[1], it.best[1], ex[1], it.box, dir)}};
        if (leaf.side[0].verdict != leaf.side[1].verdict && plausible(leaf.box)) changed.push_back(leaf);
    }
    return true;
}

// Joins boxes with the same decisions that differ in one dimension only and
// touch there, until nothing joins.
std::vector<Box> merge(std::vector<Box> boxes) {
    for (bool again = true; again;) {
        again = false;
        for (unsigned d = 0; d < kDims; ++d) {
            auto other_then_lo = [d](const Box& a, const Box& b) {
                for (unsigned f = 0; f < kDims; ++f) {
                    if (f == d) continue;
                    if (a.lo[f] != b.lo[f]) return a.lo[f] < b.lo[f];
                    if (a.hi[f] != b.hi[f]) return a.hi[f] < b.hi[f];
                }
                return a.lo[d] < b.lo[d];
            };
            std::sort(boxes.begin(), boxes.end(), other_then_lo);
            std::vector<Box> out;
            for (const Box& b : boxes) {
                if (!out.empty()) {
                    Box& prev = out.back();
                    bool same_other = true;
                    for (unsigned f = 0; f < kDims && same_other; ++f)
                        if (f != d) same_other = prev.lo[f] == b.lo[f] && prev.hi[f] == b.hi[f];
                    if (same_other && prev.hi[d] != kAll && prev.hi[d] + 1 == b.lo[d]) {
                        prev.hi[d] = b.hi[d];
                        again = true;
                        continue;
                    }
                }
                out.push_back(b);
            }
            boxes = std::move(out);
        }
    }
    return boxes;
}

// ---- Examples ----

bool is_multicast(const net::Addr& a) {
    return net::is_v4(a) ? (a[3] & 0xf0000000u) == kMcastLo : (a[0] >> 24) == 0xff;
}

void push_unique(std::vector<uint32_t>& v, uint32_t x, uint32_t lo, uint32_t hi) {
    if (x < lo || x > hi) return;
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// Values of one word to try, readable ones first.
std::vector<uint32_t> word_values(uint32_t lo, uint32_t hi, std::initializer_list<uint32_t> preferred) {
    std::vector<uint32_t> v;
    for (uint32_t p : preferred) push_unique(v, p, lo, hi);
    push_unique(v, lo + (lo < hi ? 1 : 0), lo, hi);
    push_unique(v, lo, lo, hi);
    push_unique(v, hi, lo, hi);
    push_unique(v, lo + (hi - lo) / 2, lo, hi);
    if (hi > lo) push_unique(v, hi - 1, lo, hi);
    return v;
}

// Addresses inside the box's words from base, of one family.
std::vector<net::Addr> addr_values(const Box& b, unsigned base, bool v4, const net::LocalTable* locals) {
    std::vector<net::Addr> out;
    auto inside = [&](const net::Addr& a) {
        for (unsigned i = 0; i < 4; ++i)
            if (a[i] < b.lo[base + i] || a[i] > b.hi[base + i]) return false;
        return net::is_v4(a) == v4;
    };
    auto add = [&](const net::Addr& a) {
        if (inside(a) && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    };
    if (locals) {
        for (const auto& a : locals->addrs) add(a);
        for (const auto& a : locals->broadcasts) add(a);
    }
    if (v4) {
        for (uint32_t w : word_values(b.lo[base + 3], b.hi[base + 3],
                                      {0x0a000001u, 0x0a000002u, 0xc0000201u, kMcastLo + 0xfb, kLimited}))
            add({0, 0, 0xffff, w});
        return out;
    }
    std::vector<uint32_t> w[4] = {
        word_values(b.lo[base], b.hi[base], {0x20010db8u, 0xff020000u, 0xfe800000u}),
        word_values(b.lo[base + 1], b.hi[base + 1], {0}), word_values(b.lo[base + 2], b.hi[base + 2], {0}),
        word_values(b.lo[base + 3], b.hi[base + 3], {1, 2})};
    // Varied in every word early: the cheap checks may reject whole kinds
    // (multicast, mapped) of address.
    std::vector<std::pair<size_t, net::Addr>> all;
    for (size_t i = 0; i < w[0].size(); ++i)
        for (size_t j = 0; j < w[1].size(); ++j)
            for (size_t k = 0; k < w[2].size(); ++k)
                for (size_t l = 0; l < w[3].size(); ++l)
                    all.push_back({i + j + k + l, {w[0][i], w[1][j], w[2][k], w[3][l]}});
    std::stable_sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [_, a] : all) {
        if (out.size() >= 64) break;
        add(a);
    }
    return out;
}

struct L4 {
    explicit L4(uint8_t p) : proto(p) {}
    uint8_t proto;
    std::optional<uint16_t> sport, dport;
    std::optional<uint8_t> type, code;
    std::optional<uint32_t> spi;
};

// Protocol, ports and SPI whose key words fall in the box, for one family.
std::vector<L4> l4_values(const Box& b, bool v4) {
    std::vector<L4> out;
    const bool frag = b.lo[SECPOL_F_FRAG], ipsec = b.lo[SECPOL_F_IPSEC];
    std::vector<uint32_t> protos = word_values(b.lo[SECPOL_F_PROTO], b.hi[SECPOL_F_PROTO],
                                               {kTcp, kUdp, v4 ? kIcmp : kIcmpv6, kEsp, kAh, 47, 132});
    auto in = [&](unsigned f, uint32_t v) { return b.lo[f] <= v && v <= b.hi[f]; };
    for (uint32_t p : protos) {
        if ((p == kIcmp && !v4) || (p == kIcmpv6 && v4)) continue;
        if ((p == kEsp || p == kAh) != ipsec && p != kUdp) continue;
        const bool ports = !frag && (p == kTcp || p == kUdp);
        const bool icmp = !frag && (p == kIcmp || p == kIcmpv6);
        if (!ports && !icmp) {
            if (!in(SECPOL_F_SPORT, 0) || !in(SECPOL_F_DPORT, 0)) continue;
            if (p == kUdp && ipsec) continue;  // ESP-in-UDP needs its ports
            out.emplace_back(static_cast<uint8_t>(p));
            continue;
        }
        const uint32_t cap = icmp ? 255 : 0xffff;
        if (b.lo[SECPOL_F_SPORT] > cap || b.lo[SECPOL_F_DPORT] > cap) continue;
        auto sv = word_values(
            b.lo[SECPOL_F_SPORT], std::min(b.hi[SECPOL_F_SPORT], cap),
            icmp ? std::initializer_list<uint32_t>{8, 128} : std::initializer_list<uint32_t>{40000, 4500});
        auto dv = word_values(
            b.lo[SECPOL_F_DPORT], std::min(b.hi[SECPOL_F_DPORT], cap),
            icmp ? std::initializer_list<uint32_t>{0} : std::initializer_list<uint32_t>{443, 4500});
        for (uint32_t s : sv)
            for (uint32_t d : dv) {
                L4 x(static_cast<uint8_t>(p));
                if (icmp) {
                    x.type = static_cast<uint8_t>(s);
                    x.code = static_cast<uint8_t>(d);
                } else {
                    x.sport = static_cast<uint16_t>(s);
                    x.dport = static_cast<uint16_t>(d);
                }
                const bool natt = p == kUdp && (s == 4500 || d == 4500);
                if (p == kUdp && ipsec) {
                    if (!natt) continue;
                    x.spi = 0x100;
                } else if (natt) {
                    x.spi = 0;  // the non-ESP marker: IKE, not the protected form
                }
                out.push_back(x);
                if (out.size() > 24) return out;
            }
    }
    return out;
}

bool key_in(const Box& b, const secpol_key& k, uint32_t bcast) {
    for (unsigned f = 0; f < SECPOL_NF; ++f)
        if (k.w[f] < b.lo[f] || k.w[f] > b.hi[f]) return false;
    return b.lo[kBcast] <= bcast && bcast <= b.hi[kBcast];
}

bool same(const Side& s, const ref::Decision& d) {
    if (s.verdict != d.verdict || s.reason != d.reason) return false;
    if (s.reason == SECPOL_R_FILTER || s.reason == SECPOL_R_IPSEC) return s.filter == d.filter;
    if (s.reason == SECPOL_R_EXEMPTION) return s.exemption == d.exemption;
    return true;
}

std::optional<Example> realize_flat(const ir::Policy* pols[2], const Region& r, const Box& b,
                                    const Options& opts, unsigned& tries) {
    const bool sl = b.lo[SECPOL_F_SRC_LOCAL], dl = b.lo[SECPOL_F_DST_LOCAL];
    const bool mcbc = b.lo[SECPOL_F_MCBC];
    const uint32_t bc = b.lo[kBcast];
    const net::LocalTable* given = opts.locals ? &*opts.locals : nullptr;
    for (bool v4 : {true, false}) {
        auto srcs = addr_values(b, SECPOL_F_SRC0, v4, given);
        auto dsts = addr_values(b, SECPOL_F_DST0, v4, given);
        auto l4s = l4_values(b, v4);
        if (srcs.empty() || dsts.empty() || l4s.empty()) continue;
        for (const auto& src : srcs)
            for (const auto& dst : dsts) {
                // The host the example assumes: the given one, or one that
                // makes the box's me and broadcast flags true.
                net::LocalTable locals;
                if (given) {
                    locals = *given;
                } else {
                    if (sl) locals.addrs.insert(src);
                    if (dl) locals.addrs.insert(dst);
                    if (bc == kBcastDirected) locals.broadcasts.insert(dst);
                }
                if (locals.is_local(src) != sl || locals.is_local(dst) != dl) continue;
                const bool limited = v4 && dst[3] == kLimited;
                const bool directed = v4 && locals.is_bcast(dst);
                const bool eth = bc == kBcastEthernet;
                if ((eth || is_multicast(dst) || limited || directed) != mcbc) continue;
                if (bc == kBcastDirected && (!directed || is_multicast(dst) || limited)) continue;
                if (bc == kBcastNone && directed) continue;
                for (const L4& x : l4s) {
                    if (++tries > 3000) return std::nullopt;
                    pkt::PacketSpec s;
                    s.proto = x.proto;
                    s.src = src, s.dst = dst;
                    s.src_text = net::addr_str(src), s.dst_text = net::addr_str(dst);
                    s.v4 = v4;
                    s.sport = x.sport, s.dport = x.dport, s.type = x.type, s.code = x.code, s.spi = x.spi;
                    if (b.lo[SECPOL_F_FRAG]) s.frag = 185;
                    s.eth_broadcast = eth;
                    auto frame = pkt::build_packet(s).bytes();
                    ref::Decision d0 = ref::classify(*pols[0], frame.data(), frame.size(), r.dir, locals);
                    ref::Decision d1 = ref::classify(*pols[1], frame.data(), frame.size(), r.dir, locals);
                    const uint32_t got_bc = eth                    ? kBcastEthernet
                                            : directed && !limited ? kBcastDirected
                                                                   : kBcastNone;
                    if (d0.reason == SECPOL_R_MALFORMED || !key_in(b, d0.key, got_bc)) continue;
                    if (!same(r.before, d0) || !same(r.after, d1)) continue;
                    return Example{s, pkt::spec_text(s), locals};
                }
            }
    }
    return std::nullopt;
}

// Boxes merged across flags have several values there: one at a time.
std::optional<Example> realize(const ir::Policy* pols[2], const Region& r, const Box& box,
                               const Options& opts) {
    std::vector<Box> flat{box};
    for (unsigned f : {unsigned(SECPOL_F_SRC_LOCAL), unsigned(SECPOL_F_DST_LOCAL), unsigned(SECPOL_F_MCBC),
                       unsigned(SECPOL_F_FRAG), unsigned(SECPOL_F_IPSEC), kBcast}) {
        std::vector<Box> next;
        for (const Box& b : flat)
            for (uint32_t v = b.lo[f]; v <= b.hi[f]; ++v) next.push_back(restricted(b, f, v, v));
        flat = std::move(next);
    }
    unsigned tries = 0;
    for (const Box& b : flat) {
        if (b.hi[SECPOL_F_MCBC] == 0 && b.lo[kBcast] != kBcastNone) continue;
        Box fb = b;
        if (fb.lo[SECPOL_F_FRAG] && (fb.lo[SECPOL_F_SPORT] > 0 || fb.lo[SECPOL_F_DPORT] > 0)) continue;
        if (auto e = realize_flat(pols, r, fb, opts, tries)) return e;
    }
    return std::nullopt;
}

std::string side_key(const Side& s) {
    std::ostringstream os;
    os << s.verdict << '/' << s.reason << '/' << s.filter << '/' << s.exemption;
    return os.str();
}

}  // namespace

bool contains(const Box& b, const secpol_key& key, uint32_t bcast) {
    return key_in(b, key, bcast);
}

Result<Report> diff(const ir::Policy& before, const ir::Policy& after, const Options& opts) {
    Report rep;
    const ir::Policy* pols[2] = {&before, &after};
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        Model m0{before, tree::expand(before, dir), exemption_boxes(before.exemptions)};
        Model m1{after, tree::expand(after, dir), exemption_boxes(after.exemptions)};
        const Model* models[2] = {&m0, &m1};
        std::vector<Leaf> changed;
        if (!partition(models, dir, opts.max_boxes, rep.leaves, changed))
            return Error::msg("diff: the policies cut the traffic into more than " +
                              std::to_string(opts.max_boxes) + " regions; too large to compare exactly");
        // One region per pair of decisions; its boxes merged.
        std::map<std::string, std::pair<std::vector<Box>, Leaf>> groups;
        for (const Leaf& l : changed) {
            auto& g = groups[side_key(l.side[0]) + "|" + side_key(l.side[1])];
            g.first.push_back(l.box);
            g.second = l;
        }
        for (auto& [key, g] : groups) {
            Region r, none;
            r.dir = none.dir = dir;
            r.before = none.before = g.second.side[0];
            r.after = none.after = g.second.side[1];
            for (const Box& box : merge(std::move(g.first))) {
                // A box no packet was found in is kept apart (most are boxes
                // no packet can fall in), never silently in the region.
                if (!r.example) {
                    if (auto e = realize(pols, r, box, opts)) {
                        r.example = std::move(e);
                        r.example_box = r.boxes.size();
                        r.boxes.push_back(box);
                        continue;
                    }
                    none.boxes.push_back(box);
                    continue;
                }
                r.boxes.push_back(box);
            }
            if (!none.boxes.empty()) rep.unrealized.push_back(std::move(none));
            if (r.example) rep.regions.push_back(std::move(r));
        }
    }
    std::stable_sort(rep.regions.begin(), rep.regions.end(), [](const Region& a, const Region& b) {
        auto k = [](const Region& r) {
            return std::make_tuple(r.dir, r.before.filter < 0 ? INT32_MAX : r.before.filter,
                                   r.after.filter < 0 ? INT32_MAX : r.after.filter);
        };
        return k(a) < k(b);
    });
    return rep;
}

// ---- Words ----

namespace {

std::string v4_text(uint32_t w) {
    return net::addr_str({0, 0, 0xffff, w});
}

// A range of one family's addresses as a prefix, an address or LO-HI.
std::string addr_text(const Box& b, unsigned base) {
    bool any = true;
    for (unsigned i = 0; i < 4; ++i) any = any && b.lo[base + i] == 0 && b.hi[base + i] == kAll;
    if (any) return "any";
    net::Addr lo{b.lo[base], b.lo[base + 1], b.lo[base + 2], b.lo[base + 3]};
    net::Addr hi{b.hi[base], b.hi[base + 1], b.hi[base + 2], b.hi[base + 3]};
    if (lo == hi) return net::addr_str(lo);
    const bool v4 = b.lo[base] == 0 && b.hi[base] == 0 && b.lo[base + 1] == 0 && b.hi[base + 1] == 0 &&
                    b.lo[base + 2] == 0xffff && b.hi[base + 2] == 0xffff;
    if (v4 && b.lo[base + 3] == 0 && b.hi[base + 3] == kAll) return "any IPv4";
    // A prefix: exact words, one aligned partial word, then whole words.
    unsigned len = 0;
    bool prefix = true, open = false;
    for (unsigned i = 0; i < 4 && prefix; ++i) {
        uint32_t l = b.lo[base + i], h = b.hi[base + i];
        if (open) {
            prefix = l == 0 && h == kAll;
            continue;
        }
        if (l == h) {
            len += 32;
            continue;
        }
        uint32_t span = h - l;
        prefix = (span & (span + 1)) == 0 && (l & span) == 0;
        if (prefix) len += 32 - static_cast<unsigned>(__builtin_popcount(span));
        open = true;
    }
    if (prefix) {
        if (v4) return v4_text(b.lo[base + 3]) + "/" + std::to_string(len - 96);
        return net::addr_str(lo) + "/" + std::to_string(len);
    }
    return net::addr_str(lo) + "-" + net::addr_str(hi);
}

std::string range_text(uint32_t lo, uint32_t hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

}  // namespace

std::string describe(const Box& b, int dir) {
    std::ostringstream os;
    const uint32_t pl = b.lo[SECPOL_F_PROTO], ph = b.hi[SECPOL_F_PROTO];
    os << (pl == ph ? ir::passes::protocol_name(static_cast<uint8_t>(pl))
                    : (pl == 0 && ph == 255 ? std::string("ip") : "proto " + range_text(pl, ph)));
    auto addr = [&](unsigned base, unsigned local_flag) {
        std::string a = addr_text(b, base);
        if (b.lo[local_flag] == 1) return a == "any" ? std::string("me") : "me (" + a + ")";
        if (b.hi[local_flag] == 0) return a + " (not me)";
        return a;
    };
    os << " from " << addr(SECPOL_F_SRC0, SECPOL_F_SRC_LOCAL) << " to "
       << addr(SECPOL_F_DST0, SECPOL_F_DST_LOCAL);
    const bool icmp = pl == ph && (pl == kIcmp || pl == kIcmpv6);
    auto port = [&](unsigned f, const char* name, const char* icmp_name) {
        if (b.lo[f] == 0 && b.hi[f] >= (icmp ? 255u : 0xffffu)) return;
        if (b.lo[SECPOL_F_FRAG] == 1) return;
        os << " " << (icmp ? icmp_name : name) << " " << range_text(b.lo[f], b.hi[f]);
    };
    port(SECPOL_F_SPORT, "sport", "type");
    port(SECPOL_F_DPORT, "dport", "code");
    if (b.hi[SECPOL_F_FRAG] == 1 && b.lo[SECPOL_F_FRAG] == 1) os << ", non-first fragment";
    if (b.lo[SECPOL_F_IPSEC] == 1) os << ", IPsec-protected";
    if (b.lo[SECPOL_F_MCBC] == 1 && b.hi[kBcast] == kBcastNone) os << ", multicast or broadcast destination";
    if (b.lo[kBcast] == kBcastEthernet && b.hi[kBcast] == kBcastEthernet) os << ", Ethernet broadcast frame";
    if (b.lo[kBcast] == kBcastDirected) os << ", directed broadcast of a local subnet";
    if (b.hi[SECPOL_F_MCBC] == 0) os << ", unicast";
    os << ", " << (dir == SECPOL_DIR_IN ? "in" : "out");
    return os.str();
}

std::string describe(const ir::Policy& policy, const Side& s) {
    std::ostringstream os;
    os << ref::verdict_name(s.verdict) << " (";
    switch (s.reason) {
        case SECPOL_R_EXEMPTION:
            os << "exemption " << ir::exemption_name(s.exemption);
            break;
        case SECPOL_R_FILTER:
        case SECPOL_R_IPSEC: {
            const ir::Rule& r = policy.rules.at(s.rule);
            os << (s.reason == SECPOL_R_IPSEC ? "IPsec, filter " : "filter ") << s.rule;
            if (!r.label.empty()) os << " \"" << r.label << "\"";
            os << ", line " << r.loc.line;
            break;
        }
        default:
            os << ref::reason_name(s.reason);
            break;
    }
    os << ")";
    return os.str();
}

namespace {

nlohmann::json side_json(const ir::Policy& policy, const Side& s) {
    nlohmann::json j{{"verdict", ref::verdict_name(s.verdict)}, {"reason", ref::reason_name(s.reason)}};
    if (s.reason == SECPOL_R_EXEMPTION) j["exemption"] = ir::exemption_name(s.exemption);
    if (s.reason == SECPOL_R_FILTER || s.reason == SECPOL_R_IPSEC) {
        const ir::Rule& r = policy.rules.at(s.rule);
        j["filter"] = {{"id", s.rule}, {"label", r.label}, {"line", r.loc.line}, {"text", r.text}};
    }
    return j;
}

nlohmann::json range_json(const Box& b, unsigned f) {
    return nlohmann::json::array({b.lo[f], b.hi[f]});
}

}  // namespace

nlohmann::json box_json(const Box& b) {
    auto flag = [&](unsigned f) -> nlohmann::json {
        if (b.lo[f] == b.hi[f]) return b.lo[f] == 1;
        return nullptr;
    };
    return {{"src", addr_text(b, SECPOL_F_SRC0)},     {"dst", addr_text(b, SECPOL_F_DST0)},
            {"proto", range_json(b, SECPOL_F_PROTO)}, {"sport", range_json(b, SECPOL_F_SPORT)},
            {"dport", range_json(b, SECPOL_F_DPORT)}, {"src_me", flag(SECPOL_F_SRC_LOCAL)},
            {"dst_me", flag(SECPOL_F_DST_LOCAL)},     {"mcbc", flag(SECPOL_F_MCBC)},
            {"fragment", flag(SECPOL_F_FRAG)},        {"ipsec", flag(SECPOL_F_IPSEC)}};
}

nlohmann::json region_json(const ir::Policy& before, const ir::Policy& after, const Region& r) {
    nlohmann::json boxes = nlohmann::json::array();
    for (const Box& b : r.boxes) {
        auto j = box_json(b);
        j["traffic"] = describe(b, r.dir);
        boxes.push_back(j);
    }
    nlohmann::json j{{"dir", r.dir == SECPOL_DIR_IN ? "in" : "out"},
                     {"before", side_json(before, r.before)},
                     {"after", side_json(after, r.after)},
                     {"traffic", boxes}};
    if (r.example) {
        nlohmann::json me = nlohmann::json::array(), bc = nlohmann::json::array();
        for (const auto& a : r.example->locals.addrs) me.push_back(net::addr_str(a));
        for (const auto& a : r.example->locals.broadcasts) bc.push_back(net::addr_str(a));
        j["example"] = {{"packet", r.example->packet}, {"me", me}, {"broadcasts", bc}};
    }
    return j;
}

}  // namespace secpol::diff
