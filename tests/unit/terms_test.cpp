// Filter -> term expansion, docs/semantics.md section 4, case by case.
#include "tree/terms.h"

#include <gtest/gtest.h>

namespace secpol {
namespace {

ir::Prefix v4(uint32_t a, unsigned len) {
    ir::Prefix p;
    p.v4 = true;
    p.len = static_cast<uint8_t>(96 + len);
    p.w = {0, 0, 0xffff, len == 0 ? 0 : len >= 32 ? a : a & ~(~0u >> len)};  // >> 32 is undefined
    return p;
}

ir::Policy one(ir::Filter f, ir::Action a = ir::Action::Permit) {
    ir::Policy pol;
    ir::Rule r;
    r.action.kind = a;
    pol.rules.push_back(r);
    pol.filters.push_back(f);
    return pol;
}

TEST(Terms, PrefixIsExactOnCoveredWordsAndRangeOnPartial) {
    ir::Filter f;
    f.src.kind = ir::AddrMatch::Kind::Prefix;
    f.src.prefix = v4(0x0a010000, 16);
    auto t = tree::expand(one(f), SECPOL_DIR_IN);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].lo[SECPOL_F_SRC2], 0xffffu);
    EXPECT_EQ(t[0].hi[SECPOL_F_SRC2], 0xffffu);
    EXPECT_EQ(t[0].lo[SECPOL_F_SRC3], 0x0a010000u);
    EXPECT_EQ(t[0].hi[SECPOL_F_SRC3], 0x0a01ffffu);
    EXPECT_EQ(t[0].hi[SECPOL_F_DST3], UINT32_MAX);  // any
    EXPECT_EQ(t[0].hi[SECPOL_F_FRAG], UINT32_MAX);  // no ports: fragments match
}

TEST(Terms, PortsExcludeNonFirstFragmentsAndFullRangeIsUntested) {
    ir::Filter f;
    f.proto = 6;
    f.l4_given = true;
    f.dport = {80, 80};
    auto t = tree::expand(one(f), SECPOL_DIR_OUT);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].hi[SECPOL_F_FRAG], 0u);
    EXPECT_EQ(t[0].lo[SECPOL_F_DPORT], 80u);
    EXPECT_EQ(t[0].lo[SECPOL_F_SPORT], 0u);
    EXPECT_EQ(t[0].hi[SECPOL_F_SPORT], UINT32_MAX);
    EXPECT_EQ(t[0].lo[SECPOL_F_PROTO], 6u);
}

TEST(Terms, DirectionSelectsRoot) {
    ir::Filter f;
    f.dir = ir::Dir::In;
    EXPECT_EQ(tree::expand(one(f), SECPOL_DIR_IN).size(), 1u);
    EXPECT_TRUE(tree::expand(one(f), SECPOL_DIR_OUT).empty());
}

TEST(Terms, SecureAddsAddressOnlyProtectedTerm) {
    ir::Filter f;
    f.dst.kind = ir::AddrMatch::Kind::Me;
    f.proto = 17;
    f.l4_given = true;
    f.dport = {53, 53};
    auto t = tree::expand(one(f, ir::Action::Secure), SECPOL_DIR_IN);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1].lo[SECPOL_F_IPSEC], 1u);
    EXPECT_EQ(t[1].lo[SECPOL_F_DST_LOCAL], 1u);
    EXPECT_EQ(t[1].hi[SECPOL_F_PROTO], UINT32_MAX);  // protocol and ports ignored
    EXPECT_EQ(t[1].hi[SECPOL_F_DPORT], UINT32_MAX);
    EXPECT_EQ(t[1].hi[SECPOL_F_FRAG], UINT32_MAX);
}

TEST(Terms, TunnelIsTransitPlusEndpointTerms) {
    ir::Filter f;
    f.tunnel = true;
    f.endpoint = v4(0xc0000201, 32);
    f.src.kind = ir::AddrMatch::Kind::Prefix;
    f.src.prefix = v4(0x0a000000, 8);
    auto t = tree::expand(one(f, ir::Action::Secure), SECPOL_DIR_IN);
    ASSERT_EQ(t.size(), 4u);  // plain, protected, endpoint->me, me->endpoint
    for (unsigned i = 0; i < 2; ++i) {
        EXPECT_EQ(t[i].hi[SECPOL_F_SRC_LOCAL], 0u);
        EXPECT_EQ(t[i].hi[SECPOL_F_DST_LOCAL], 0u);
        EXPECT_EQ(t[i].hi[SECPOL_F_MCBC], 0u);
    }
    EXPECT_EQ(t[2].lo[SECPOL_F_SRC3], 0xc0000201u);
    EXPECT_EQ(t[2].lo[SECPOL_F_DST_LOCAL], 1u);
    EXPECT_EQ(t[3].lo[SECPOL_F_DST3], 0xc0000201u);
    EXPECT_EQ(t[3].lo[SECPOL_F_SRC_LOCAL], 1u);
    // A tunnel filter from `me` can never be transit: no plain term.
    f.src.kind = ir::AddrMatch::Kind::Me;
    EXPECT_EQ(tree::expand(one(f, ir::Action::Permit), SECPOL_DIR_IN).size(), 2u);
}

TEST(Terms, V6PrefixCoveringMappedBlockExcludesIPv4Keys) {
    ir::Filter f;
    f.dst.kind = ir::AddrMatch::Kind::Prefix;
    f.dst.prefix.len = 0;  // ::/0 as a prefix, not `any`
    auto t = tree::expand(one(f), SECPOL_DIR_IN);
    EXPECT_EQ(t.size(), 4u);
    secpol_key k{};
    k.w[SECPOL_F_DST2] = 0xffff;
    k.w[SECPOL_F_DST3] = 0x01020304;
    EXPECT_EQ(tree::first_match(t, k), -1);  // an IPv4 packet
    k.w[SECPOL_F_DST2] = 0xfffe;
    EXPECT_EQ(tree::first_match(t, k), 0);
    k.w[SECPOL_F_DST2] = 0xffff;
    k.w[SECPOL_F_DST1] = 1;
    EXPECT_EQ(tree::first_match(t, k), 0);
}

TEST(Terms, IPv4PrefixDoesNotMatchIPv6Key) {
    ir::Filter f;
    f.src.kind = ir::AddrMatch::Kind::Prefix;
    f.src.prefix = v4(0, 0);  // 0.0.0.0/0
    auto t = tree::expand(one(f), SECPOL_DIR_IN);
    secpol_key k{};
    k.w[SECPOL_F_SRC0] = 0x20010db8;
    EXPECT_EQ(tree::first_match(t, k), -1);
    k = {};
    k.w[SECPOL_F_SRC2] = 0xffff;
    EXPECT_EQ(tree::first_match(t, k), 0);
}

}  // namespace
}  // namespace secpol
