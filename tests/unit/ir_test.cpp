#include "ir/ir.h"

#include <gtest/gtest.h>

using namespace secpol::ir;

TEST(Prefix, ContainsIpv4Mapped) {
    Prefix p;
    p.v4 = true;
    p.len = 96 + 8;
    p.w = {0, 0, 0xffff, 0x0a000000};  // 10.0.0.0/8
    uint32_t in[4] = {0, 0, 0xffff, 0x0a010203};
    uint32_t out[4] = {0, 0, 0xffff, 0x0b010203};
    EXPECT_TRUE(p.contains(in));
    EXPECT_FALSE(p.contains(out));
    EXPECT_EQ(p.str(), "10.0.0.0/8");
}

TEST(Prefix, ZeroLengthMatchesEverything) {
    Prefix p;
    uint32_t a[4] = {0x20010db8, 1, 2, 3};
    EXPECT_TRUE(p.contains(a));
}

TEST(Exemptions, NamesRoundTrip) {
    for (unsigned i = 0; i < SECPOL_EX_COUNT; ++i) EXPECT_EQ(exemption_from_name(exemption_name(i)), i);
    EXPECT_FALSE(exemption_from_name("bogus").has_value());
}
