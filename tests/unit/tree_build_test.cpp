// Shape and limits of the built program, and the --dump=tree text.
#include <gtest/gtest.h>

#include "tree/program.h"

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
