// Random policies of every field kind x random and boundary keys: the
// decision program's walk must equal first-match over the terms, and both
// must equal a linear first-match over the filters written directly from
// docs/semantics.md section 4 (independent of tree/terms.cpp).
#include <gtest/gtest.h>

#include <random>

#include "tree/program.h"
#include "tree/terms.h"

namespace secpol {
namespace {

using Key = secpol_key;

// ---- The reference: docs/semantics.md section 4, filter by filter --------
bool key_is_v4(const Key& k) {
    return k.w[SECPOL_F_SRC0] == 0 && k.w[SECPOL_F_SRC1] == 0 && k.w[SECPOL_F_SRC2] == 0xffff;
}

bool addr_ok(const ir::AddrMatch& m, const Key& k, unsigned base, bool local) {
    switch (m.kind) {
        case ir::AddrMatch::Kind::Any:
            return true;
        case ir::AddrMatch::Kind::Me:
            return local;
        case ir::AddrMatch::Kind::Prefix:
            // IPv4 prefixes never match IPv6 packets and the reverse.
            return m.prefix.v4 == key_is_v4(k) && m.prefix.contains(&k.w[base]);
    }
    return false;
}

bool filter_matches(const ir::Policy& pol, const ir::Filter& f, const Key& k, int dir) {
    if (f.dir == ir::Dir::In && dir != SECPOL_DIR_IN) return false;
    if (f.dir == ir::Dir::Out && dir != SECPOL_DIR_OUT) return false;
    bool src_local = k.w[SECPOL_F_SRC_LOCAL], dst_local = k.w[SECPOL_F_DST_LOCAL], mcbc = k.w[SECPOL_F_MCBC];
    bool frag = k.w[SECPOL_F_FRAG], ipsec = k.w[SECPOL_F_IPSEC];
    bool addrs = addr_ok(f.src, k, SECPOL_F_SRC0, src_local) && addr_ok(f.dst, k, SECPOL_F_DST0, dst_local);
    bool tunnel_ok = !f.tunnel || (!src_local && !dst_local && !mcbc);
    bool proto_ok = !f.proto || *f.proto == k.w[SECPOL_F_PROTO];
    auto in = [](const ir::Range& r, uint32_t v) { return r.lo <= v && v <= r.hi; };
    bool l4_ok =
        !f.l4_given || (!frag && in(f.sport, k.w[SECPOL_F_SPORT]) && in(f.dport, k.w[SECPOL_F_DPORT]));
    if (addrs && tunnel_ok && proto_ok && l4_ok) return true;
    if (!ipsec) return false;
    if (pol.rules[f.rule_id].action.kind == ir::Action::Secure && addrs && tunnel_ok) return true;
    if (f.tunnel && !mcbc) {  // !mcbc: as the reference classifier (compiler/ref) has it
        auto ep = [&](unsigned base) {
            return f.endpoint.v4 == key_is_v4(k) && f.endpoint.contains(&k.w[base]);
        };
        if ((ep(SECPOL_F_SRC0) && dst_local) || (src_local && ep(SECPOL_F_DST0))) return true;
    }
    return false;
}

int64_t reference(const ir::Policy& pol, const Key& k, int dir) {
    for (const ir::Filter& f : pol.filters)
        if (filter_matches(pol, f, k, dir)) return f.rule_id;
    return -1;
}

// ---- Random policies -------------------------------------------------------
struct Gen {
    std::mt19937_64 rng;
    explicit Gen(uint64_t seed) : rng(seed) {}
    uint32_t u(uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); }
    bool p(double x) { return std::bernoulli_distribution(x)(rng); }

    // Few distinct base addresses, so prefixes nest and overlap.
    ir::Prefix prefix(bool v4) {
        ir::Prefix pr;
        pr.v4 = v4;
        if (v4) {
            static const uint32_t bases[] = {0x0a000000, 0x0a010200, 0xc0a80000,
                                             0xc0a80101, 0x7f000001, 0xffffffff};
            pr.w = {0, 0, 0xffff, bases[u(0, 5)] ^ (p(0.3) ? u(0, 255) : 0)};
            pr.len = static_cast<uint8_t>(
                96 + (p(0.2) ? u(0, 32) : std::array<unsigned, 5>{8, 16, 24, 31, 32}[u(0, 4)]));
        } else {
            static const uint32_t bases[] = {0x20010db8, 0xfe800000, 0x00000000, 0xff020000};
            pr.w = {bases[u(0, 3)], p(0.5) ? 0u : u(0, 3), p(0.5) ? 0u : 0xffffu,
                    p(0.5) ? 1u : u(0, 0xffffffff)};
            // Includes ::/0 .. ::/96, which cover the IPv4-mapped block the
            // prefix must still not match.
            pr.len = static_cast<uint8_t>(
                p(0.3) ? u(0, 128) : std::array<unsigned, 7>{0, 16, 32, 64, 80, 96, 128}[u(0, 6)]);
        }
        unsigned bits = pr.len;  // clear host bits
        for (int i = 0; i < 4; ++i) {
            unsigned b = std::min(bits, 32u);
            pr.w[i] &= b == 0 ? 0 : (b == 32 ? ~0u : ~(~0u >> b));
            bits -= b;
        }
        return pr;
    }

    ir::AddrMatch addr(bool v4) {
        ir::AddrMatch m;
        unsigned r = u(0, 9);
        if (r < 2) return m;
        if (r < 4) {
            m.kind = ir::AddrMatch::Kind::Me;
            return m;
        }
        m.kind = ir::AddrMatch::Kind::Prefix;
        m.prefix = prefix(v4);
        return m;
    }

    ir::Range range(uint32_t max) {
        if (p(0.4)) {
            uint32_t v = p(0.5) ? u(0, 4) * 20 : u(0, max);
            return {v, v};
        }
        uint32_t a = u(0, max), b = u(0, max);
        return {std::min(a, b), std::max(a, b)};
    }

    ir::Policy policy(unsigned nrules) {
        ir::Policy pol;
        pol.order = ir::Order::FirstMatch;
        for (uint32_t id = 0; id < nrules; ++id) {
            ir::Rule r;
            r.id = id;
            r.label = "r" + std::to_string(id);
            r.action.kind = static_cast<ir::Action>(u(0, 2));
            ir::Filter f;
            f.rule_id = id;
            f.dir = static_cast<ir::Dir>(u(0, 2));
            bool v4 = p(0.6);
            f.src = addr(v4);
            f.dst = addr(p(0.9) ? v4 : !v4);
            if (p(0.6)) f.proto = std::array<uint8_t, 6>{6, 17, 1, 58, 50, 47}[u(0, 5)];
            if (p(0.5)) {
                bool icmp = f.proto && (*f.proto == 1 || *f.proto == 58);
                f.sport = p(0.5) ? ir::Range{0, icmp ? 255u : 65535u} : range(icmp ? 255 : 65535);
                f.dport = range(icmp ? 255 : 65535);
                f.l4_given = true;
            }
            if (p(0.15)) {
                f.tunnel = true;
                f.endpoint = prefix(p(0.7));
                f.endpoint.len = f.endpoint.v4 ? 128 : 128;
                r.tunnel = f.endpoint;
                r.action.kind = ir::Action::Secure;
            }
            r.mirrored = p(0.25);
            pol.rules.push_back(r);
            pol.filters.push_back(f);
            if (r.mirrored) {
                ir::Filter m = f;
                std::swap(m.src, m.dst);
                std::swap(m.sport, m.dport);
                m.reversed = true;
                if (m.dir != ir::Dir::Both) m.dir = m.dir == ir::Dir::In ? ir::Dir::Out : ir::Dir::In;
                pol.filters.push_back(m);
            }
        }
        return pol;
    }

    // Keys the parsers can produce: ports <= 65535, proto <= 255, flags
    // 0/1, IPv6 addresses never IPv4-mapped.
    Key random_key() {
        Key k{};
        bool v4 = p(0.6);
        for (unsigned base : {SECPOL_F_SRC0, SECPOL_F_DST0}) {
            if (v4) {
                k.w[base + 2] = 0xffff;
                k.w[base + 3] =
                    p(0.5) ? u(0, ~0u)
                           : std::array<uint32_t, 4>{0x0a000001, 0x0a010203, 0xc0a80101, 0xffffffff}[u(0, 3)];
            } else {
                k.w[base] = p(0.5) ? 0x20010db8 : (p(0.5) ? 0 : u(0, ~0u));
                k.w[base + 1] = p(0.5) ? 0 : u(0, 3);
                k.w[base + 2] = p(0.5) ? 0 : u(0, ~0u);
                k.w[base + 3] = p(0.5) ? 1 : u(0, ~0u);
            }
        }
        k.w[SECPOL_F_PROTO] = p(0.7) ? std::array<uint32_t, 6>{6, 17, 1, 58, 50, 47}[u(0, 5)] : u(0, 255);
        k.w[SECPOL_F_SPORT] = u(0, 65535);
        k.w[SECPOL_F_DPORT] = p(0.3) ? u(0, 4) * 20 : u(0, 65535);
        for (unsigned f = SECPOL_F_SRC_LOCAL; f <= SECPOL_F_IPSEC; ++f) k.w[f] = p(0.3);
        return k;
    }

    // A key with one word on (or next to) a range endpoint of some term.
    Key boundary_key(const std::vector<tree::Term>& terms) {
        Key k = random_key();
        if (terms.empty()) return k;
        const tree::Term& t = terms[u(0, static_cast<uint32_t>(terms.size() - 1))];
        // Usually copy the whole term's low corner, then perturb one word.
        if (p(0.7))
            for (unsigned f = 0; f < SECPOL_NF; ++f) k.w[f] = std::min(t.lo[f], tree::field_domain_max(f));
        unsigned f = u(0, SECPOL_NF - 1);
        uint32_t v = p(0.5) ? t.lo[f] : t.hi[f];
        int d = static_cast<int>(u(0, 2)) - 1;
        v = d < 0 ? (v == 0 ? 0 : v - 1) : (d > 0 ? (v == ~0u ? v : v + 1) : v);
        k.w[f] = std::min(v, tree::field_domain_max(f));
        // Keep the key producible: an IPv6 key must not land in ::ffff:0:0/96, and
        // if the address is IPv4-mapped on one side, make both sides consistent.
        for (unsigned base : {SECPOL_F_SRC0, SECPOL_F_DST0}) {
            bool mapped = k.w[base] == 0 && k.w[base + 1] == 0 && k.w[base + 2] == 0xffff;
            bool other_mapped =
                k.w[(base ^ 4)] == 0 && k.w[(base ^ 4) + 1] == 0 && k.w[(base ^ 4) + 2] == 0xffff;
            if (mapped != other_mapped) {
                k.w[base ^ 4] = 0;
                k.w[(base ^ 4) + 1] = 0;
                k.w[(base ^ 4) + 2] = mapped ? 0xffff : 0x1;
            }
        }
        return k;
    }
};

void check_policy(const ir::Policy& pol, Gen& g, unsigned keys, unsigned leaf_size, size_t& total) {
    tree::Program prog = tree::build(pol, {.leaf_size = leaf_size});
    ASSERT_LE(prog.max_steps, SECPOL_MAX_STEPS);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        std::vector<tree::Term> terms = tree::expand(pol, dir);
        uint32_t root = dir == SECPOL_DIR_IN ? prog.root_in : prog.root_out;
        for (unsigned i = 0; i < keys; ++i) {
            Key k = g.p(0.5) ? g.boundary_key(terms) : g.random_key();
            unsigned steps = 0;
            int64_t want = reference(pol, k, dir);
            int64_t by_terms = tree::first_match(terms, k);
            int64_t got = tree::walk(prog, root, k, &steps);
            ASSERT_EQ(by_terms, want)
                << "term expansion disagrees with section 4, key #" << i << " dir " << dir;
            ASSERT_EQ(got, want) << "walk disagrees, key #" << i << " dir " << dir << " leaf " << leaf_size;
            ASSERT_LE(steps, prog.max_steps);
            ++total;
        }
    }
}

TEST(TreeWalk, RandomPoliciesMatchFirstMatch) {
    Gen g(20240611);
    size_t total = 0;
    for (unsigned round = 0; round < 60; ++round) {
        unsigned n = round < 20 ? g.u(1, 8) : (round < 50 ? g.u(10, 60) : g.u(100, 300));
        ir::Policy pol = g.policy(n);
        check_policy(pol, g, 1000, 1 + round % 6, total);
    }
    EXPECT_GE(total, 100000u);
    std::cout << "[tree_walk] " << total << " keys checked\n";
}

// Many filters sharing few endpoints: deep trees, many leaves, heavy sharing.
TEST(TreeWalk, DenseOverlapsMatchFirstMatch) {
    Gen g(7);
    size_t total = 0;
    for (unsigned round = 0; round < 4; ++round) {
        ir::Policy pol = g.policy(600);
        check_policy(pol, g, 5000, 4, total);
    }
    EXPECT_GE(total, 40000u);
}

}  // namespace
}  // namespace secpol
