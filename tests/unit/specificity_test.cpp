// Specificity and the order it gives (docs/policy-language.md, "Ordering").
#include <gtest/gtest.h>

#include "ir/passes.h"
#include "unit/front_util.h"

using namespace secpol;
using namespace secpol::ir;
using secpol::test::compile_ok;

namespace {

Specificity spec_of(const std::string& filter) {
    auto p = compile_ok(filter + "\n");
    EXPECT_FALSE(p.filters.empty());
    return p.filters.empty() ? Specificity{} : p.filters[0].spec;
}

// Labels of the rules in the order their first filters appear.
std::vector<std::string> order_of(const ir::Policy& p) {
    std::vector<std::string> out;
    for (const auto& f : p.filters) {
        const auto& l = p.rules[f.rule_id].label;
        if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
    }
    return out;
}

}  // namespace

TEST(Specificity, Fields) {
    auto any = spec_of("permit from any to any");
    EXPECT_EQ(any, (Specificity{0, 0, 0, 0}));
    // me counts as a host (128 bits); an IPv4 /32 is 128 bits in the mapped space.
    EXPECT_EQ(spec_of("permit from me to 192.0.2.7").prefix_bits, 256u);
    EXPECT_EQ(spec_of("permit from 10.0.0.0/8 to any").prefix_bits, 104u);
    EXPECT_EQ(spec_of("permit from 0.0.0.0/0 to any").prefix_bits, 96u);  // excludes IPv6: more than any
    EXPECT_EQ(spec_of("permit from 2001:db8::/32 to any").prefix_bits, 32u);
    EXPECT_EQ(spec_of("permit proto esp from any to any").proto, 1u);
    EXPECT_EQ(spec_of("permit proto tcp from any to any port 80").port_narrowness, 2u * 65536 - (65536 + 1));
    EXPECT_EQ(spec_of("permit proto tcp from any port 1024-65535 to any port 80-81").port_narrowness,
              2u * 65536 - (64512 + 2));
    EXPECT_EQ(spec_of("permit proto icmp type 8 code 0 from any to any").port_narrowness, 2u * 65536 - 2);
    EXPECT_EQ(spec_of("permit in from any to any").dir, 1u);
    EXPECT_EQ(spec_of("permit from any to any mirrored").dir, 0u);
}

TEST(Specificity, ComparedFieldByField) {
    // Prefix bits dominate everything else.
    EXPECT_GT(spec_of("permit from 10.0.0.0/9 to any"),
              spec_of("permit in proto tcp from 10.0.0.0/8 to any port 1"));
    // Then the protocol.
    EXPECT_GT(spec_of("permit proto tcp from any to any"), spec_of("permit in from any to any"));
    // Then port narrowness.
    EXPECT_GT(spec_of("permit proto tcp from any to any port 80"),
              spec_of("permit in proto tcp from any to any port 80-81"));
    // Then the direction.
    EXPECT_GT(spec_of("permit out from any to any"), spec_of("permit from any to any"));
}

TEST(Specificity, MirroredFilterHasTheSameSpecificity) {
    auto p = compile_ok("permit proto tcp from 10.0.0.0/8 port 99 to me port 22-23 mirrored\n");
    ASSERT_EQ(p.filters.size(), 2u);
    EXPECT_EQ(p.filters[0].spec, p.filters[1].spec);
}

TEST(SpecificityOrder, MostSpecificFirstRegardlessOfSourceOrder) {
    auto p = compile_ok(
        "permit from any to any \"all\"\n"
        "block proto tcp from any to me \"tcp to me\"\n"
        "permit proto tcp from any to me port 80 \"web\"\n"
        "block from 10.0.0.0/8 to me \"ten\"\n"
        "permit from 10.1.0.0/16 to me \"ten-one\"\n");
    EXPECT_EQ(order_of(p), (std::vector<std::string>{"ten-one", "ten", "web", "tcp to me", "all"}));
}

TEST(SpecificityOrder, TiesGoToTheMostRestrictiveAction) {
    auto p = compile_ok(
        "permit from any to me \"p\"\nsecure from any to me \"s\"\nblock from any to me \"b\"\n"
        "secure accept-clear fallback-clear from any to me \"s2\"\n");
    EXPECT_EQ(order_of(p), (std::vector<std::string>{"b", "s", "s2", "p"}));
    EXPECT_GT(passes::restrictiveness(Action::Block), passes::restrictiveness(Action::Secure));
    EXPECT_GT(passes::restrictiveness(Action::Secure), passes::restrictiveness(Action::Permit));
}

TEST(SpecificityOrder, ThenSourceOrderThenExpansionOrder) {
    auto p = compile_ok(
        "permit proto udp from any to me port 53,123 \"first\"\npermit proto udp from any to me port 67 "
        "\"second\"\n");
    ASSERT_EQ(p.filters.size(), 3u);
    EXPECT_EQ(p.filters[0].rule_id, 0u);
    EXPECT_EQ(p.filters[0].dport.lo, 53u);
    EXPECT_EQ(p.filters[1].dport.lo, 123u);
    EXPECT_EQ(p.filters[2].rule_id, 1u);
}

TEST(SpecificityOrder, FirstMatchIgnoresSpecificityAndAction) {
    auto p = compile_ok(
        "order first-match\npermit from any to any \"all\"\nblock proto tcp from 10.0.0.1 to me port 22 "
        "\"narrow\"\n");
    EXPECT_EQ(order_of(p), (std::vector<std::string>{"all", "narrow"}));
}
