// runtime/local_image.cpp: the program's local-address table is exact for
// what fits and says overflow, with no half table, for what does not.
#include "local_image.h"

#include <gtest/gtest.h>

#include <set>

using namespace secpol::rt;

namespace {

const uint32_t* v4key(uint32_t a) {
    static uint32_t k[4];
    k[0] = 0, k[1] = 0, k[2] = 0xffff, k[3] = a;
    return k;
}

}  // namespace

TEST(LocalImage, ExactForAFewAddresses) {
    Local4 v4{
        {0x0a000101, SECPOL_LOCAL_ADDR}, {0x0a0001ff, SECPOL_LOCAL_BCAST}, {0xc0000207, SECPOL_LOCAL_ADDR}};
    Local6 v6;
    secpol_addr6 a{{0x20010db8, 0, 0, 1}};
    v6[a] = SECPOL_LOCAL_ADDR;
    auto t = build_local_table(v4, v6);
    EXPECT_EQ(t->overflow, 0u);
    for (const auto& [k, f] : v4) EXPECT_EQ(local_table_flags(*t, v4key(k)), f);
    EXPECT_EQ(local_table_flags(*t, a.w), uint32_t(SECPOL_LOCAL_ADDR));
    EXPECT_EQ(local_table_flags(*t, v4key(0x0a000102)), 0u);
    const uint32_t other6[4] = {0x20010db8, 0, 0, 2};
    EXPECT_EQ(local_table_flags(*t, other6), 0u);
    // An IPv6 address never matches an IPv4 slot, nor the reverse.
    const uint32_t mapped_as_v6[4] = {0x20010db8, 0, 0xffff, 0x0a000101};
    EXPECT_EQ(local_table_flags(*t, mapped_as_v6), 0u);
}

TEST(LocalImage, HundredsOfAddressesStillExactWhenTheyFit) {
    Local4 v4;
    for (uint32_t i = 0; i < 100; ++i) v4[0x0a000000 + i * 7919] = SECPOL_LOCAL_ADDR;
    auto t = build_local_table(v4, {});
    ASSERT_EQ(t->overflow, 0u) << "100 addresses in 256 slots with 4 probes should fit";
    for (const auto& [k, f] : v4) EXPECT_EQ(local_table_flags(*t, v4key(k)), f) << k;
    for (uint32_t i = 0; i < 1000; ++i) {
        if (!v4.count(0x0b000000 + i)) {
            EXPECT_EQ(local_table_flags(*t, v4key(0x0b000000 + i)), 0u);
        }
    }
}

TEST(LocalImage, TooManyAddressesOverflowWholly) {
    Local4 v4;
    for (uint32_t i = 0; i < 300; ++i) v4[0x0a000000 + i] = SECPOL_LOCAL_ADDR;
    auto t = build_local_table(v4, {});
    EXPECT_EQ(t->overflow, 1u);
    // Nothing left in the table: the program must not trust any of it.
    for (uint32_t i = 0; i < SECPOL_LOCAL4_SLOTS; ++i) EXPECT_EQ(t->v4[i].flags, 0u);
    Local6 v6;
    for (uint32_t i = 0; i < 200; ++i) v6[secpol_addr6{{0x20010db8, 0, 0, i}}] = SECPOL_LOCAL_ADDR;
    EXPECT_EQ(build_local_table({}, v6)->overflow, 1u);
}

// The program skips the directed-broadcast probe for a destination without
// every bit of bcast_ones set: the bits must be set in every broadcast the
// host has, in the table and when it overflows to the hash maps.
TEST(LocalImage, BroadcastOnesAreSetInEveryDirectedBroadcast) {
    Local4 v4{{0x0a000101, SECPOL_LOCAL_ADDR},
              {0x0a0001ff, SECPOL_LOCAL_BCAST},   // 10.0.1.255 (/24)
              {0x0a02ffff, SECPOL_LOCAL_BCAST},   // 10.2.255.255 (/16)
              {0xc0000203, SECPOL_LOCAL_BCAST}};  // 192.0.2.3 (/30)
    auto t = build_local_table(v4, {});
    EXPECT_EQ(t->bcast_ones, 0x0a0001ffu & 0x0a02ffffu & 0xc0000203u);
    for (const auto& [a, f] : v4)
        if (f & SECPOL_LOCAL_BCAST) {
            EXPECT_EQ(a & t->bcast_ones, t->bcast_ones) << a;
        }
    // 10.0.1.1 is an address, not a broadcast: it does not narrow the test.
    EXPECT_EQ(build_local_table({{0x0a000101, SECPOL_LOCAL_ADDR}}, {})->bcast_ones, 0xffffffffu);
    Local4 many;
    for (uint32_t i = 0; i < 300; ++i) many[0x0a000000 + (i << 8) + 0xff] = SECPOL_LOCAL_BCAST;
    auto o = build_local_table(many, {});
    ASSERT_EQ(o->overflow, 1u);
    EXPECT_EQ(o->bcast_ones, 0x0a0000ffu);  // 10.0.0.255 ... 10.1.43.255
    for (const auto& [a, f] : many) EXPECT_EQ(a & o->bcast_ones, o->bcast_ones) << a;
}

// The list beside bcast_ones (local_table.h bcast[], bcast_all): every entry
// a directed broadcast of the host (the program exempts what it finds
// there, with no probe), complete up to SECPOL_LOCAL_BCASTS of them, and
// marked incomplete beyond, in the table and when it overflows.
TEST(LocalImage, DirectedBroadcastListHoldsOnlyBroadcasts) {
    auto bcasts_of = [](const Local4& v4) {
        std::set<uint32_t> s;
        for (const auto& [a, f] : v4)
            if (f & SECPOL_LOCAL_BCAST) s.insert(a);
        return s;
    };
    for (uint32_t n : {0u, 1u, 3u, 4u, 5u, 9u, 300u}) {
        Local4 v4{{0x0a000101, SECPOL_LOCAL_ADDR}};
        for (uint32_t i = 0; i < n; ++i) v4[0x0a000000 + (i << 8) + 0xff] = SECPOL_LOCAL_BCAST;
        auto t = build_local_table(v4, {});
        const auto all = bcasts_of(v4);
        EXPECT_EQ(t->overflow, n > 200 ? 1u : 0u) << n;
        EXPECT_EQ(t->bcast_all, n <= SECPOL_LOCAL_BCASTS ? 1u : 0u) << n;
        std::set<uint32_t> listed;
        for (uint32_t i = 0; i < SECPOL_LOCAL_BCASTS; ++i) {
            if (n == 0) {
                // Only the limited broadcast passes bcast_ones then, and it
                // is exempt (or not) before the list.
                EXPECT_EQ(t->bcast[i], 0xffffffffu);
                EXPECT_EQ(t->bcast_ones, 0xffffffffu);
                continue;
            }
            EXPECT_EQ(all.count(t->bcast[i]), 1u) << n << " entry " << i << " " << t->bcast[i];
            listed.insert(t->bcast[i]);
        }
        if (n > 0 && n <= SECPOL_LOCAL_BCASTS) EXPECT_EQ(listed, all) << n;
        if (n > SECPOL_LOCAL_BCASTS) EXPECT_EQ(listed.size(), size_t(SECPOL_LOCAL_BCASTS)) << n;
    }
}
