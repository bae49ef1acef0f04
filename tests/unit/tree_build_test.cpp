// Shape and limits of the built program, and the --dump=tree text.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "front/frontend.h"
#include "gen/generator.h"
#include "tree/program.h"
#include "tree/terms.h"

namespace secpol {
namespace {

ir::Policy policy_of(std::vector<ir::Filter> fs) {
    ir::Policy pol;
    for (auto& f : fs) {
        ir::Rule r;
        r.id = static_cast<uint32_t>(pol.rules.size());
        r.label = "rule" + std::to_string(r.id);
        r.action.kind = ir::Action::Block;
        f.rule_id = r.id;
        pol.rules.push_back(r);
        pol.filters.push_back(f);
    }
    return pol;
}

secpol_key v4key(uint32_t src, uint32_t dst, uint32_t proto, uint32_t dport) {
    secpol_key k{};
    k.w[SECPOL_F_SRC2] = k.w[SECPOL_F_DST2] = 0xffff;
    k.w[SECPOL_F_SRC3] = src;
    k.w[SECPOL_F_DST3] = dst;
    k.w[SECPOL_F_PROTO] = proto;
    k.w[SECPOL_F_DPORT] = dport;
    return k;
}

TEST(TreeBuild, EmptyPolicyIsOneNoMatch) {
    tree::Program p = tree::build(ir::Policy{});
    ASSERT_EQ(p.nodes.size(), 1u);
    EXPECT_EQ(p.nodes[p.root_in].field, SECPOL_NODE_NOMATCH);
    unsigned steps = 0;
    EXPECT_EQ(tree::walk(p, p.root_in, secpol_key{}, &steps), -1);
    EXPECT_EQ(steps, 1u);
    EXPECT_EQ(p.max_steps, 1u);
}

TEST(TreeBuild, CoveringFilterIsAMatchLeafWithoutChecks) {
    ir::Filter any;
    tree::Program p = tree::build(policy_of({any, any}));
    EXPECT_EQ(p.nodes[p.root_in].field, SECPOL_NODE_MATCH);
    EXPECT_EQ(p.nodes[p.root_in].lo, 0u);
    EXPECT_EQ(p.root_in, p.root_out);
}

TEST(TreeBuild, DirectionsGetTheirOwnRoots) {
    ir::Filter in, out;
    in.dir = ir::Dir::In;
    out.dir = ir::Dir::Out;
    tree::Program p = tree::build(policy_of({in, out}));
    EXPECT_EQ(tree::walk(p, p.root_in, secpol_key{}), 0);
    EXPECT_EQ(tree::walk(p, p.root_out, secpol_key{}), 1);
}

TEST(TreeBuild, ManyHostsGiveLogarithmicWalks) {
    std::vector<ir::Filter> fs;
    for (uint32_t i = 0; i < 4096; ++i) {
        ir::Filter f;
        f.dst.kind = ir::AddrMatch::Kind::Prefix;
        f.dst.prefix.v4 = true;
        f.dst.prefix.len = 128;
        f.dst.prefix.w = {0, 0, 0xffff, 0x0a000000 + i * 7};
        f.proto = 6;
        f.l4_given = true;
        f.dport = {443, 443};
        fs.push_back(f);
    }
    tree::BuildStats st;
    tree::Program p = tree::build(policy_of(fs), {.leaf_size = 4, .stats = &st});
    EXPECT_LE(p.max_steps, 30u);  // ~12 splits + gates + a short chain
    EXPECT_LT(p.nodes.size(), 8u * 4096);
    for (uint32_t i = 0; i < 4096; i += 97) {
        EXPECT_EQ(tree::walk(p, p.root_in, v4key(1, 0x0a000000 + i * 7, 6, 443)), i);
        EXPECT_EQ(tree::walk(p, p.root_in, v4key(1, 0x0a000000 + i * 7, 6, 444)), -1);
        EXPECT_EQ(tree::walk(p, p.root_in, v4key(1, 0x0a000000 + i * 7 + 1, 6, 443)), -1);
    }
}

// A program past the node budget fails as soon as the builder gets there,
// naming the limit, rather than after building all of it.
TEST(TreeBuild, NodeBudgetIsAClearError) {
    std::vector<ir::Filter> fs;
    for (uint32_t i = 0; i < 4096; ++i) {
        ir::Filter f;
        f.dst.kind = ir::AddrMatch::Kind::Prefix;
        f.dst.prefix.v4 = true;
        f.dst.prefix.len = 128;
        f.dst.prefix.w = {0, 0, 0xffff, 0x0a000000 + i * 7};
        fs.push_back(f);
    }
    tree::BuildStats st;
    try {
        tree::build(policy_of(fs), {.leaf_size = 4, .stats = &st, .max_nodes = 1000});
        FAIL() << "built past the node budget";
    } catch (const std::length_error& e) {
        EXPECT_NE(std::string(e.what()).find("more than 1000 nodes"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("tree::kMaxNodes"), std::string::npos) << e.what();
    }
    EXPECT_LE(st.tree_nodes, 1100u);  // stopped at the budget, not after the whole tree
    tree::Program p = tree::build(policy_of(fs), {.leaf_size = 4, .stats = &st, .max_nodes = 100000});
    EXPECT_EQ(tree::walk(p, p.root_in, v4key(1, 0x0a000000 + 7 * 7, 6, 443)), 7);
}

// Filters on a source host to any destination, interleaved in priority with
// filters on any source to a destination host: one tree would need a leaf
// for every pair; the forest keeps the two shapes apart.
std::vector<ir::Filter> crossed_hosts(uint32_t n) {
    std::vector<ir::Filter> fs;
    for (uint32_t i = 0; i < n; ++i) {
        ir::Filter f;
        ir::AddrMatch& a = i % 2 ? f.dst : f.src;
        a.kind = ir::AddrMatch::Kind::Prefix;
        a.prefix.v4 = true;
        a.prefix.len = 128;
        a.prefix.w = {0, 0, 0xffff, 0x0a000000 + i};
        if (i % 3 == 0) {
            f.proto = 6;
            f.l4_given = true;
            f.dport = {1000 + i, 1000 + i};
        }
        fs.push_back(f);
    }
    return fs;
}

// Host 10.5.x.y (x.y = k) to 10.6.0.0/16: the filters of a large third tree.
ir::Filter host_to_subnet(uint32_t k) {
    ir::Filter f;
    for (ir::AddrMatch* a : {&f.src, &f.dst}) {
        a->kind = ir::AddrMatch::Kind::Prefix;
        a->prefix.v4 = true;
    }
    f.src.prefix.len = 128;
    f.src.prefix.w = {0, 0, 0xffff, 0x0a050000 + k};
    f.dst.prefix.len = 112;
    f.dst.prefix.w = {0, 0, 0xffff, 0x0a060000};
    return f;
}

TEST(TreeBuild, CrossedShapesBecomeAForestThatStaysFirstMatch) {
    const uint32_t n = 2000;
    ir::Policy pol = policy_of(crossed_hosts(n));
    tree::BuildStats st;
    tree::Program p = tree::build(pol, {.leaf_size = 4, .stats = &st});
    EXPECT_EQ(st.trees, 2u);
    EXPECT_LT(p.nodes.size(), 20u * n);  // one tree: a leaf per (source, destination) pair
    size_t cands = 0;
    for (const auto& node : p.nodes) cands += node.field == SECPOL_NODE_CAND;
    EXPECT_GT(cands, 0u);
    // Every pair of hosts: the lower filter index wins, whichever tree holds it.
    for (uint32_t s = 0; s < n; s += 37)
        for (uint32_t d = 1; d < n; d += 41) {
            secpol_key k = v4key(0x0a000000 + s, 0x0a000000 + d, 6, 1000 + (s % 2 ? d : s));
            int64_t want = -1;
            for (uint32_t i = 0; i < n && want < 0; ++i) {
                bool addr = i % 2 ? d == i : s == i;
                bool port = i % 3 != 0 || k.w[SECPOL_F_DPORT] == 1000 + i;
                if (addr && port) want = i;
            }
            unsigned steps = 0;
            ASSERT_EQ(tree::walk(p, p.root_in, k, &steps), want) << "src " << s << " dst " << d;
            EXPECT_LE(steps, p.max_steps);
        }
    std::string d = tree::dump(p, pol);
    EXPECT_NE(d.find("next tree ["), std::string::npos) << d;
    EXPECT_NE(d.find("candidate rule"), std::string::npos) << d;
    EXPECT_NE(d.find("no candidate better than filter #"), std::string::npos) << d;
}

// Gates (SECPOL_F_BEST tests, one per tree entered after the first) a walk passes through.
unsigned gates_visited(const tree::Program& p, const secpol_key& k) {
    unsigned gates = 0, best = UINT32_MAX;
    for (uint32_t i = p.root_in, steps = 0; steps < SECPOL_MAX_STEPS; ++steps) {
        const secpol_node& n = p.nodes[i];
        if (n.field == SECPOL_NODE_CAND) {
            best = std::min(best, n.hi);
            i = n.next_pass;
            continue;
        }
        if (n.field > SECPOL_F_BEST) break;
        const uint32_t v = n.field == SECPOL_F_BEST ? best : k.w[n.field];
        gates += n.field == SECPOL_F_BEST;
        i = v >= n.lo && v <= n.hi ? n.next_pass : n.next_fail;
    }
    return gates;
}

// A leaf whose term no better term of another tree intersects ends the
// walk in its own tree, although other trees hold better filters elsewhere
// (before, a rule had to beat every term of every other tree); the largest
// tree is walked first.
TEST(TreeBuild, ForestLeafWithNoBetterTermIntersectingItEndsTheWalk) {
    const uint32_t n = 2000, m = 3000;
    std::vector<ir::Filter> fs = crossed_hosts(n);  // two trees: source hosts, destination hosts
    for (uint32_t k = 0; k < m; ++k) fs.push_back(host_to_subnet(k));  // a third, larger tree
    ir::Policy pol = policy_of(fs);
    tree::BuildStats st;
    tree::Program p = tree::build(pol, {.leaf_size = 4, .stats = &st});
    ASSERT_EQ(st.trees, 3u);
    const std::vector<tree::Term> terms = tree::expand(pol, SECPOL_DIR_IN);
    for (uint32_t k = 0; k < m; k += 7) {
        const secpol_key key = v4key(0x0a050000 + k, 0x0a060000 + k, 17, 53);
        ASSERT_EQ(tree::walk(p, p.root_in, key), n + k);
        EXPECT_EQ(gates_visited(p, key), 0u) << "filter " << n + k << " walked past its own tree";
    }
    // Still exactly first-match across the trees.
    for (uint32_t s = 0; s < n; s += 37)
        for (uint32_t d = 1; d < n; d += 41) {
            const secpol_key key = v4key(0x0a000000 + s, 0x0a000000 + d, 6, 1000 + (s % 2 ? d : s));
            ASSERT_EQ(tree::walk(p, p.root_in, key), tree::first_match(terms, key)) << s << " " << d;
        }
    for (uint32_t k = 0; k < m; k += 97) {
        const secpol_key key = v4key(0x0a050000 + k, 0x0a000000 + (k % n), 6, 1000 + k % n);
        ASSERT_EQ(tree::walk(p, p.root_in, key), tree::first_match(terms, key)) << k;
    }
}

// A leaf whose better terms in the later trees all need a flag the leaf's
// term leaves open (`from me ...`: the source is this host) tests those
// flags in a block shared by every such leaf: a packet with them clear ends
// the walk with its candidate instead of walking the later trees. Before,
// the candidate went on into the tree of `me` filters.
TEST(TreeBuild, ForestLeafWhoseBetterTermsNeedAFlagEndsTheWalkWhenItIsClear) {
    const uint32_t me = 40, n = 2000, m = 3000;
    std::vector<ir::Filter> fs;
    for (uint32_t j = 0; j < me; ++j) {  // from me to any / from any to me, one TCP port each
        ir::Filter f;
        (j % 2 ? f.dst : f.src).kind = ir::AddrMatch::Kind::Me;
        f.proto = 6;
        f.l4_given = true;
        f.dport = {2000 + j, 2000 + j};
        fs.push_back(f);
    }
    for (const ir::Filter& f : crossed_hosts(n)) fs.push_back(f);  // two trees of `any` on one side
    // The largest tree, any TCP port.
    for (uint32_t k = 0; k < m; ++k) {
        ir::Filter f = host_to_subnet(k);
        f.proto = 6;
        fs.push_back(f);
    }
    ir::Policy pol = policy_of(fs);
    tree::BuildStats st;
    tree::Program p = tree::build(pol, {.leaf_size = 4, .stats = &st});
    ASSERT_EQ(st.trees, 4u);
    const std::vector<tree::Term> terms = tree::expand(pol, SECPOL_DIR_IN);
    for (uint32_t k = 0; k < m; k += 7) {
        secpol_key key = v4key(0x0a050000 + k, 0x0a060000 + k, 6, 2000 + k % me);
        ASSERT_EQ(tree::walk(p, p.root_in, key), me + n + k);
        EXPECT_EQ(gates_visited(p, key), 0u) << "filter " << me + n + k << " walked into the `me` tree";
        // This host at either end: the `me` filter of that port, through the guard.
        for (unsigned f : {SECPOL_F_SRC_LOCAL, SECPOL_F_DST_LOCAL}) {
            secpol_key local = key;
            local.w[f] = 1;
            const int64_t want = tree::first_match(terms, local);
            ASSERT_EQ(tree::walk(p, p.root_in, local), want) << k;
            EXPECT_EQ(want, (k % me) % 2 == (f == SECPOL_F_DST_LOCAL) ? int64_t(k % me) : me + n + k) << k;
        }
    }
    // Exactly first-match everywhere, flags included.
    for (uint32_t s = 0; s < n; s += 37)
        for (uint32_t d = 1; d < n; d += 41)
            for (unsigned flags = 0; flags < 4; ++flags) {
                secpol_key key = v4key(0x0a000000 + s, 0x0a000000 + d, 6, 2000 + (s + d) % (me + 4));
                key.w[SECPOL_F_SRC_LOCAL] = flags & 1;
                key.w[SECPOL_F_DST_LOCAL] = flags >> 1;
                ASSERT_EQ(tree::walk(p, p.root_in, key), tree::first_match(terms, key)) << s << " " << d;
            }
}

TEST(TreeBuild, ForestCandidateLosesToABetterOneHeld) {
    // Built by hand: tree 1 holds filter #5 as a candidate, tree 2 would
    // offer filter #9; the walk must end with #5's rule.
    tree::Program p;
    p.nodes.push_back({SECPOL_NODE_NOMATCH, 0, 0, 0, 0, 0});     // 0
    p.nodes.push_back({SECPOL_NODE_CAND, 9, 9, 0, 0, 0});        // 1: tree 2's leaf
    p.nodes.push_back({SECPOL_F_BEST, 7, UINT32_MAX, 1, 0, 0});  // 2: tree 2 entry (its best is #7)
    p.nodes.push_back({SECPOL_NODE_CAND, 5, 5, 2, 0, 0});        // 3: tree 1's leaf
    p.nodes.push_back({SECPOL_F_PROTO, 6, 6, 3, 2, 0});          // 4: tree 1 root
    unsigned steps = 0;
    EXPECT_EQ(tree::walk(p, 4, v4key(1, 2, 6, 0), &steps), 5);  // #5 held, tree 2 skipped
    EXPECT_EQ(steps, 4u);
    EXPECT_EQ(tree::walk(p, 4, v4key(1, 2, 17, 0)), 9);  // nothing held: tree 2's candidate
    EXPECT_EQ(tree::walk(p, 2, v4key(1, 2, 17, 0)), 9);
}

ir::Policy policy_text(const std::string& text) {
    front::Diagnostics diags;
    auto p = front::compile_text(text, "t.pol", diags);
    if (!p) throw std::runtime_error("test policy does not compile");
    return std::move(*p);
}

// The key words a walk tests, one bit each.
uint32_t fields_tested(const tree::Program& p, uint32_t root, const secpol_key& k) {
    uint32_t bits = 0;
    for (uint32_t i = root, steps = 0; steps < SECPOL_MAX_STEPS && i < p.nodes.size(); ++steps) {
        const secpol_node& n = p.nodes[i];
        if (n.field >= SECPOL_NF) break;  // one tree: no candidates
        bits |= 1u << n.field;
        i = k.w[n.field] >= n.lo && k.w[n.field] <= n.hi ? n.next_pass : n.next_fail;
    }
    return bits;
}

// Fewer than 64 terms make one tree, where each leaf's chain tested the
// family of both addresses; with IPv4 and IPv6 filters mixed the families
// now part at the root (as above 64 terms), and an IPv4 walk never tests
// its destination's family. A policy whose every term admits both
// families is not parted: nothing to save, a test to pay.
TEST(TreeBuild, SmallPolicyMixingFamiliesPartsThemAtTheRoot) {
    const ir::Policy mixed = policy_text(
        "policy \"t\"\norder first-match\ndefault permit\n"
        "block proto udp from 10.1.2.3 to 10.4.0.0/16 port 53 \"a\"\n"
        "permit from 2001:db8::1 to 2001:db8::2 \"b\"\n"
        "block proto tcp from any to 10.9.9.9 port 22 \"c\"\n"
        "permit proto tcp from any to any port 80 \"d\"\n");
    const tree::Program p = tree::build(mixed);
    EXPECT_EQ(p.nodes[p.root_in].field, SECPOL_F_SRC0);
    const uint32_t dst_family = 1u << SECPOL_F_DST0 | 1u << SECPOL_F_DST1 | 1u << SECPOL_F_DST2;
    for (uint32_t dst : {0x0a040001u, 0x0a090909u, 0x0b000001u})
        for (uint32_t dport : {22u, 53u, 80u}) {
            for (uint32_t proto : {6u, 17u}) {
                const secpol_key k = v4key(0x0a010203, dst, proto, dport);
                EXPECT_EQ(fields_tested(p, p.root_in, k) & dst_family, 0u) << dst << " " << dport;
                const int64_t want = proto == 17 && dport == 53 && dst == 0x0a040001  ? 0
                                     : proto == 6 && dport == 22 && dst == 0x0a090909 ? 2
                                     : proto == 6 && dport == 80                      ? 3
                                                                                      : -1;
                EXPECT_EQ(tree::walk(p, p.root_in, k), want) << dst << " " << dport << " " << proto;
            }
        }
    secpol_key v6{};
    v6.w[SECPOL_F_SRC0] = v6.w[SECPOL_F_DST0] = 0x20010db8;
    v6.w[SECPOL_F_SRC3] = 1;
    v6.w[SECPOL_F_DST3] = 2;
    EXPECT_EQ(tree::walk(p, p.root_in, v6), 1);

    const ir::Policy both = policy_text(
        "policy \"t\"\norder first-match\ndefault permit\n"
        "block proto tcp from any to any port 23 \"a\"\n"
        "permit proto udp from any port 53 to any \"b\"\n");
    const tree::Program q = tree::build(both);
    const secpol_key k = v4key(1, 2, 6, 23);
    EXPECT_EQ(fields_tested(q, q.root_in, k) & (dst_family | dst_family >> 4), 0u);
    EXPECT_EQ(tree::walk(q, q.root_in, k), 0);
}

// A policy of fewer than 64 terms builds its trees with leaves of at most 3
// terms whatever larger leaf size is asked (a split more, a chain
// shorter: the bench's 10-filter walks take 0.35 fewer jumps); the
// 100-filter policy keeps the leaf size asked.
TEST(TreeBuild, SmallPolicyLeavesHoldAtMostThreeTerms) {
    for (unsigned filters : {10u, 100u}) {
        const ir::Policy pol = policy_text(gen::generate_policy(gen::bench_options(filters, true)));
        const tree::Program p3 = tree::build(pol, {.leaf_size = 3});
        const tree::Program p4 = tree::build(pol, {.leaf_size = 4});
        const bool same = p3.nodes.size() == p4.nodes.size() &&
                          std::equal(p3.nodes.begin(), p3.nodes.end(), p4.nodes.begin(),
                                     [](auto& a, auto& b) { return std::memcmp(&a, &b, sizeof a) == 0; });
        EXPECT_EQ(same, filters == 10)
            << filters << " filters: " << p3.nodes.size() << " / " << p4.nodes.size();
    }
}

TEST(TreeBuild, WalkStopsAtTheStepBoundLikeBpf) {
    // A cycle (never built by the builder) must not hang the walker.
    tree::Program p;
    p.nodes.push_back(secpol_node{SECPOL_F_PROTO, 0, UINT32_MAX, 0, 0, 0});
    unsigned steps = 0;
    EXPECT_EQ(tree::walk(p, 0, secpol_key{}, &steps), -1);
    EXPECT_EQ(steps, SECPOL_MAX_STEPS);
    EXPECT_EQ(tree::walk(p, 5, secpol_key{}), -1);  // out of range: no rule
}

TEST(TreeBuild, DumpNamesFieldsValuesAndRules) {
    ir::Filter f;
    f.dst.kind = ir::AddrMatch::Kind::Prefix;
    f.dst.prefix.v4 = true;
    f.dst.prefix.len = 96 + 8;
    f.dst.prefix.w = {0, 0, 0xffff, 0x0a000000};
    f.proto = 6;
    f.l4_given = true;
    f.dport = {22, 22};
    ir::Filter g;
    g.src.kind = ir::AddrMatch::Kind::Me;
    ir::Policy pol = policy_of({f, g});
    tree::Program p = tree::build(pol);
    std::string d = tree::dump(p, pol);
    EXPECT_NE(d.find("max steps"), std::string::npos) << d;
    EXPECT_NE(d.find("10.0.0.0/8"), std::string::npos) << d;
    EXPECT_NE(d.find("dport == 22"), std::string::npos) << d;
    EXPECT_NE(d.find("proto == tcp"), std::string::npos) << d;
    EXPECT_NE(d.find("src_local"), std::string::npos) << d;
    EXPECT_NE(d.find("match rule 0 \"rule0\""), std::string::npos) << d;
    EXPECT_NE(d.find("no match: default"), std::string::npos) << d;
    // Huge trees are cut with a summary line.
    std::string cut = tree::dump(p, pol, 3);
    EXPECT_NE(cut.find("more lines not shown"), std::string::npos) << cut;
}

}  // namespace
}  // namespace secpol
