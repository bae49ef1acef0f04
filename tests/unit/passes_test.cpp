// The passes one by one: resolve (names, sets, literals, exemption
// profiles), expand (lists, sets, mirrored), normalise, order.
#include "ir/passes.h"

#include <gtest/gtest.h>

#include "front/parser.h"
#include "unit/front_util.h"

using namespace secpol;
using namespace secpol::ir;
using secpol::test::any_contains;
using secpol::test::compile_ok;
using Sev = front::Diagnostic::Severity;

namespace {

passes::Resolved resolve_text(const std::string& text, front::Diagnostics& d) {
    auto f = front::parse(text, "t.pol", d);
    return passes::resolve(f, d);
}

std::vector<std::string> errors_of(const std::string& text) {
    front::Diagnostics d;
    front::compile_text(text, "t.pol", d);
    return test::messages(d, Sev::Error);
}

constexpr uint32_t bit(unsigned ex) {
    return 1u << ex;
}

}  // namespace

// ---- exemption profiles: the seed's list and the NoDefaultExempt table ----

TEST(Exemptions, Windows2000IsTheSeedsList) {
    // KB253169: broadcast, multicast, RSVP, IKE and Kerberos are exempted.
    for (const char* text : {"", "exemptions windows2000\n", "exemptions nodefaultexempt 0\n"}) {
        auto p = compile_ok(text);
        EXPECT_EQ(p.exemptions, bit(SECPOL_EX_BROADCAST) | bit(SECPOL_EX_MULTICAST) | bit(SECPOL_EX_RSVP) |
                                    bit(SECPOL_EX_IKE) | bit(SECPOL_EX_KERBEROS))
            << text;
        EXPECT_FALSE(p.exemptions & bit(SECPOL_EX_IKE_NATT));
        EXPECT_FALSE(p.exemptions & bit(SECPOL_EX_ND));
        EXPECT_FALSE(p.exemptions & bit(SECPOL_EX_DHCP));
    }
}

TEST(Exemptions, NoDefaultExemptTable) {
    // 1: multicast, broadcast, IKE (Kerberos and RSVP are no longer exempt).
    auto p1 = compile_ok("exemptions nodefaultexempt 1\n");
    EXPECT_EQ(p1.exemptions, bit(SECPOL_EX_BROADCAST) | bit(SECPOL_EX_MULTICAST) | bit(SECPOL_EX_IKE));
    EXPECT_FALSE(p1.exemptions & bit(SECPOL_EX_KERBEROS));
    EXPECT_FALSE(p1.exemptions & bit(SECPOL_EX_RSVP));
    EXPECT_EQ(p1.exemptions_name, "nodefaultexempt 1");
    // 2: RSVP, Kerberos, IKE (multicast and broadcast are no longer exempt).
    auto p2 = compile_ok("exemptions nodefaultexempt 2\n");
    EXPECT_EQ(p2.exemptions, bit(SECPOL_EX_RSVP) | bit(SECPOL_EX_KERBEROS) | bit(SECPOL_EX_IKE));
    EXPECT_FALSE(p2.exemptions & bit(SECPOL_EX_MULTICAST));
    // 3 = Windows Server 2003: IKE only.
    for (const char* text : {"exemptions nodefaultexempt 3\n", "exemptions windows2003\n"}) {
        auto p3 = compile_ok(text);
        EXPECT_EQ(p3.exemptions, bit(SECPOL_EX_IKE)) << text;
    }
    EXPECT_EQ(compile_ok("exemptions windows2003\n").exemptions_name, "windows2003");
}

TEST(Exemptions, NoneAndExplicitSets) {
    auto none = compile_ok("exemptions none\n");
    EXPECT_EQ(none.exemptions, 0u);
    EXPECT_EQ(none.exemptions_name, "none");
    auto all = compile_ok("exemptions { broadcast multicast rsvp ike kerberos ike-nat-t nd dhcp }\n");
    EXPECT_EQ(all.exemptions, (1u << SECPOL_EX_COUNT) - 1);
    EXPECT_EQ(all.exemptions_name, "custom");
    auto some = compile_ok("exemptions { ike-nat-t, dhcp }\n");
    EXPECT_EQ(some.exemptions, bit(SECPOL_EX_IKE_NATT) | bit(SECPOL_EX_DHCP));
    EXPECT_FALSE(some.exemptions & bit(SECPOL_EX_IKE));  // only what is listed
}

TEST(Exemptions, Errors) {
    EXPECT_TRUE(
        any_contains(errors_of("exemptions nodefaultexempt 4\n"), "nodefaultexempt takes 0, 1, 2 or 3"));
    EXPECT_TRUE(any_contains(errors_of("exemptions { ike snmp }\n"), "unknown exemption 'snmp'"));
    EXPECT_TRUE(any_contains(errors_of("exemptions none\nexemptions none\n"), "duplicate 'exemptions'"));
}

TEST(Exemptions, HelperMatchesTable) {
    EXPECT_EQ(passes::nodefaultexempt_bits(0), passes::kWindows2000Exemptions);
    EXPECT_EQ(passes::nodefaultexempt_bits(3), passes::kWindows2003Exemptions);
    EXPECT_EQ(passes::nodefaultexempt_bits(4), 0u);
}

// ---- resolve ----

TEST(Resolve, HeaderDefaults) {
    auto p = compile_ok("permit from any to me\n");
    EXPECT_EQ(p.order, Order::Specificity);
    EXPECT_EQ(p.default_action, Action::Permit);
    EXPECT_EQ(p.exemptions_name, "windows2000");
    ASSERT_EQ(p.rules.size(), 1u);
    EXPECT_EQ(p.rules[0].label, "line 1");
    EXPECT_EQ(p.rules[0].loc.line, 1);
    EXPECT_EQ(p.rules[0].text, "permit from any to me");
}

TEST(Resolve, RulesKeepSourceOrderIdsAndActions) {
    auto p = compile_ok(
        "action req = secure accept-clear\npermit from any to me \"a\"\nreq from me to any \"b\"\n"
        "block in from any to me \"c\"\n");
    ASSERT_EQ(p.rules.size(), 3u);
    EXPECT_EQ(p.rules[1].id, 1u);
    EXPECT_EQ(p.rules[1].label, "b");
    EXPECT_EQ(p.rules[1].action.kind, Action::Secure);
    EXPECT_TRUE(p.rules[1].action.accept_clear);
    EXPECT_EQ(p.rules[1].action.name, "req");
    EXPECT_EQ(p.rules[2].dir, Dir::In);
    EXPECT_EQ(p.rules[0].action.name, "permit");
}

TEST(Resolve, SetsOfSetsAndTyping) {
    front::Diagnostics d;
    auto r = resolve_text(
        "set a = { 10.0.0.0/8 }\nset b = { $a, 192.0.2.1, me }\nset p = { 22, 80-81 }\nset q = { $p, 443 }\n"
        "permit proto tcp from $b to any port $q\n",
        d);
    ASSERT_FALSE(d.has_errors());
    ASSERT_EQ(r.ops.size(), 1u);
    EXPECT_EQ(r.ops[0].src.size(), 3u);
    EXPECT_EQ(r.ops[0].src[2].kind, AddrMatch::Kind::Me);
    EXPECT_EQ(r.ops[0].dport, (std::vector<Range>{{22, 22}, {80, 81}, {443, 443}}));
    EXPECT_TRUE(r.ops[0].sport.empty());
    EXPECT_EQ(r.ops[0].proto, 6);
}

TEST(Resolve, DuplicateMembersCollapse) {
    front::Diagnostics d;
    auto r = resolve_text(
        "set a = { 10.0.0.1, 10.0.0.1 }\npermit proto udp from { $a 10.0.0.1 } to any port 53,53\n", d);
    ASSERT_FALSE(d.has_errors());
    EXPECT_EQ(r.ops[0].src.size(), 1u);
    EXPECT_EQ(r.ops[0].dport.size(), 1u);
}

TEST(Resolve, NameErrors) {
    EXPECT_TRUE(any_contains(errors_of("permit from $nope to me\n"), "unknown set '$nope'"));
    EXPECT_TRUE(
        any_contains(errors_of("set a = { $b }\nset b = { 1 }\n"), "used before its definition at line 2"));
    EXPECT_TRUE(any_contains(errors_of("requre from any to me\n"), "unknown action 'requre'"));
    EXPECT_TRUE(any_contains(errors_of("permit proto tpc from any to me\n"), "unknown protocol 'tpc'"));
    EXPECT_TRUE(
        any_contains(errors_of("permit proto 256 from any to me\n"), "protocol number 256 is out of range"));
    EXPECT_TRUE(any_contains(errors_of("set a = {1}\nset a = {2}\n"), "duplicate set 'a'"));
    EXPECT_TRUE(any_contains(errors_of("action a = block\naction a = permit\n"), "duplicate action 'a'"));
    EXPECT_TRUE(
        any_contains(errors_of("set p = { 22 }\npermit from $p to me\n"), "holds ports, not addresses"));
    EXPECT_TRUE(any_contains(errors_of("set a = { me }\npermit proto tcp from any to me port $a\n"),
                             "holds addresses, not ports"));
    EXPECT_TRUE(any_contains(errors_of("set m = { 10.0.0.1, 22 }\n"), "mixes addresses and ports"));
}

TEST(Resolve, LabelErrors) {
    EXPECT_TRUE(any_contains(errors_of("permit from any to me \"x\"\nblock from any to me \"x\"\n"),
                             "duplicate label \"x\": the rule at line 1"));
    // An explicit label may not take the name of another rule's automatic one.
    EXPECT_TRUE(any_contains(errors_of("permit from any to me\nblock from any to me \"line 1\"\n"),
                             "duplicate label"));
    EXPECT_TRUE(any_contains(errors_of("permit from any to me \"\"\n"), "cannot be empty"));
}

TEST(Resolve, PortAndIcmpErrors) {
    EXPECT_TRUE(
        any_contains(errors_of("permit from any to me port 80\n"), "ports need 'proto tcp' or 'proto udp'"));
    EXPECT_TRUE(
        any_contains(errors_of("permit proto esp from any to me port 80\n"), "protocol esp has no ports"));
    EXPECT_TRUE(any_contains(errors_of("permit proto tcp from any to me port 65536\n"),
                             "port 65536 is out of range"));
    EXPECT_TRUE(
        any_contains(errors_of("permit proto tcp from any to me port 90-80\n"), "inverted port range 90-80"));
    EXPECT_TRUE(
        any_contains(errors_of("permit proto tcp type 8 from any to me\n"), "'type' needs proto icmp"));
    EXPECT_TRUE(any_contains(errors_of("permit type 8 from any to me\n"), "'type' needs proto icmp"));
    EXPECT_TRUE(any_contains(errors_of("permit proto icmp type 8 code 256 from any to me\n"),
                             "code 256 is out of range"));
    EXPECT_TRUE(any_contains(errors_of("permit proto tcp from any to me port me\n"), "'me' is not a port"));
    EXPECT_TRUE(any_contains(errors_of("permit from 22 to me\n"), "'22' is not an address"));
}

TEST(Resolve, ProtocolsByNameAndNumber) {
    auto p = compile_ok(
        "permit proto ipv6-icmp from any to me\npermit proto 6 from any to me port 80\npermit proto gre from "
        "any to me\n");
    std::set<int> protos;
    for (const auto& f : p.filters) protos.insert(*f.proto);
    EXPECT_EQ(protos, (std::set<int>{58, 6, 47}));
    EXPECT_EQ(passes::protocol_number("esp"), 50);
    EXPECT_EQ(passes::protocol_number("ah"), 51);
    EXPECT_EQ(passes::protocol_number("rsvp"), 46);
    EXPECT_EQ(passes::protocol_number("icmpv6"), 58);
    EXPECT_FALSE(passes::protocol_number("bogus"));
    EXPECT_EQ(passes::protocol_name(58), "icmpv6");
    EXPECT_EQ(passes::protocol_name(200), "200");
}

TEST(Resolve, TunnelEndpoint) {
    auto p = compile_ok("secure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 192.0.2.1\n");
    ASSERT_TRUE(p.rules[0].tunnel);
    EXPECT_EQ(p.rules[0].tunnel->str(), "192.0.2.1/32");
    ASSERT_EQ(p.filters.size(), 1u);
    EXPECT_TRUE(p.filters[0].tunnel);
    EXPECT_EQ(p.filters[0].endpoint.str(), "192.0.2.1/32");
    EXPECT_TRUE(p.has_tunnel());
    for (const char* ep : {"any", "me", "192.0.2.0/24", "$s", "bogus.example"})
        EXPECT_TRUE(any_contains(
            errors_of(std::string("set s = { 192.0.2.1 }\nsecure from any to any tunnel ") + ep + "\n"),
            "bad tunnel endpoint"))
            << ep;
}

TEST(Resolve, TunnelWithMeWarns) {
    front::Diagnostics d;
    compile_ok("secure from me to 10.2.0.0/16 tunnel 192.0.2.1\n", &d);
    EXPECT_TRUE(any_contains(test::messages(d, Sev::Warning), "'me' never matches in a tunnel filter"));
}

// ---- literals ----

TEST(Literals, Prefixes) {
    auto v4 = passes::parse_prefix("10.1.2.0/24");
    ASSERT_TRUE(v4.prefix);
    EXPECT_TRUE(v4.prefix->v4);
    EXPECT_EQ(v4.prefix->len, 96 + 24);
    EXPECT_EQ(v4.prefix->w, (std::array<uint32_t, 4>{0, 0, 0xffff, 0x0a010200}));
    EXPECT_FALSE(v4.host_bits);
    auto host = passes::parse_prefix("192.0.2.7");
    EXPECT_EQ(host.prefix->len, 128);
    auto v6 = passes::parse_prefix("2001:db8::/32");
    ASSERT_TRUE(v6.prefix);
    EXPECT_FALSE(v6.prefix->v4);
    EXPECT_EQ(v6.prefix->len, 32);
    EXPECT_EQ(v6.prefix->w[0], 0x20010db8u);
    auto mapped = passes::parse_prefix("::ffff:10.0.0.0/104");
    EXPECT_TRUE(mapped.prefix->v4);
    EXPECT_EQ(mapped.prefix->str(), "10.0.0.0/8");
    EXPECT_NE(passes::parse_prefix("10.0.0.0/33").error.find("out of range for IPv4"), std::string::npos);
    EXPECT_NE(passes::parse_prefix("::/129").error.find("out of range for IPv6"), std::string::npos);
    EXPECT_NE(passes::parse_prefix("10.0.0.256").error.find("not a valid IPv4"), std::string::npos);
    EXPECT_NE(passes::parse_prefix("host.example").error.find("host names are not resolved"),
              std::string::npos);
    EXPECT_NE(passes::parse_prefix("10.0.0.0/x").error.find("bad prefix length"), std::string::npos);
    auto hb = passes::parse_prefix("10.1.2.3/8");
    EXPECT_TRUE(hb.host_bits);
    EXPECT_EQ(passes::clear_host_bits(*hb.prefix).str(), "10.0.0.0/8");
}

// ---- expand ----

TEST(Expand, CrossProductOfMembersAndPorts) {
    auto p = compile_ok(
        "permit proto tcp from { 10.0.0.1, 10.0.0.2 } port 1,2 to { me, any, 10.9.0.0/16 } port 80,443\n");
    EXPECT_EQ(p.filters.size(), 2u * 3u * 2u * 2u);
    for (const auto& f : p.filters) {
        EXPECT_TRUE(f.l4_given);
        EXPECT_FALSE(f.reversed);
        EXPECT_EQ(f.rule_id, 0u);
    }
}

TEST(Expand, MirroredAddsTheReverse) {
    front::Diagnostics d;
    auto f = front::parse("permit in proto tcp from 10.0.0.0/8 port 1000-2000 to me port 22 mirrored\n",
                          "t.pol", d);
    auto r = passes::resolve(f, d);
    passes::expand(r, d);
    ASSERT_EQ(r.policy.filters.size(), 2u);
    const Filter& fwd = r.policy.filters[0];
    const Filter& rev = r.policy.filters[1];
    EXPECT_FALSE(fwd.reversed);
    EXPECT_TRUE(rev.reversed);
    EXPECT_EQ(fwd.dir, Dir::In);
    EXPECT_EQ(rev.dir, Dir::Out);
    EXPECT_EQ(rev.src.kind, AddrMatch::Kind::Me);
    EXPECT_EQ(rev.dst.prefix.str(), "10.0.0.0/8");
    EXPECT_EQ(rev.sport, (Range{22, 22}));
    EXPECT_EQ(rev.dport, (Range{1000, 2000}));
    EXPECT_EQ(fwd.seq + 1, rev.seq);
}

TEST(Expand, UnconstrainedPortsAreTheFullRange) {
    auto p = compile_ok("permit proto udp from any to me\n");
    ASSERT_EQ(p.filters.size(), 1u);
    EXPECT_FALSE(p.filters[0].l4_given);
    EXPECT_EQ(p.filters[0].sport, (Range{0, 65535}));
    EXPECT_EQ(p.filters[0].dport, (Range{0, 65535}));
}

TEST(Expand, IcmpTypeAndCodeRideInThePortFields) {
    auto p = compile_ok("permit proto icmp type 3 code 4 from any to me\n");
    ASSERT_EQ(p.filters.size(), 1u);
    EXPECT_EQ(p.filters[0].sport, (Range{3, 3}));
    EXPECT_EQ(p.filters[0].dport, (Range{4, 4}));
    EXPECT_TRUE(p.filters[0].l4_given);
}

namespace {
// The reverse filter of a single mirrored ICMP rule.
Filter reverse_of_rule(const std::string& text) {
    auto p = compile_ok("order first-match\n" + text + "\n");
    EXPECT_EQ(p.filters.size(), 2u);
    EXPECT_TRUE(p.filters.size() == 2 && p.filters[1].reversed);
    return p.filters.size() == 2 ? p.filters[1] : Filter{};
}
}  // namespace

TEST(Expand, MirroredIcmpQueryTypesBecomeTheirReplies) {
    // web-server.pol's ping rule: the reverse must be echo reply, not "type any code 8".
    for (auto [q, a] : {std::pair{8u, 0u}, {13u, 14u}, {15u, 16u}, {17u, 18u}, {0u, 8u}, {14u, 13u}}) {
        SCOPED_TRACE(q);
        Filter rev =
            reverse_of_rule("permit proto icmp type " + std::to_string(q) + " from any to me mirrored");
        EXPECT_EQ(rev.sport, (Range{a, a}));
        EXPECT_EQ(rev.dport, (Range{0, 65535}));
        EXPECT_EQ(rev.src.kind, AddrMatch::Kind::Me);
        EXPECT_TRUE(rev.l4_given);
    }
    Filter v6 = reverse_of_rule("permit proto icmpv6 type 128 code 0 from any to me mirrored");
    EXPECT_EQ(v6.sport, (Range{129, 129}));
    EXPECT_EQ(v6.dport, (Range{0, 0}));
    EXPECT_EQ(reverse_of_rule("permit proto icmpv6 type 129 from any to me mirrored").sport,
              (Range{128, 128}));
    // ICMP numbers are not ICMPv6 ones: icmpv6 type 8 is not a query.
    EXPECT_EQ(reverse_of_rule("permit proto icmpv6 type 8 from any to me mirrored").sport, (Range{8, 8}));
}

TEST(Expand, MirroredIcmpKeepsOtherTypesRangesAndCodes) {
    Filter unreach = reverse_of_rule("permit proto icmp type 3 code 4 from any to me mirrored");
    EXPECT_EQ(unreach.sport, (Range{3, 3}));
    EXPECT_EQ(unreach.dport, (Range{4, 4}));
    Filter range = reverse_of_rule("permit proto icmp type 0-8 from any to me mirrored");
    EXPECT_EQ(range.sport, (Range{0, 8}));
    EXPECT_EQ(range.dport, (Range{0, 65535}));
    Filter all = reverse_of_rule("permit proto icmp from any to me mirrored");
    EXPECT_EQ(all.sport, (Range{0, 65535}));
    EXPECT_FALSE(all.l4_given);
    // Echo request with a code: the reply keeps the code as written.
    EXPECT_EQ(reverse_of_rule("permit proto icmp type 8 code 0 from any to me mirrored").dport,
              (Range{0, 0}));
}

TEST(Expand, RefusesExplosions) {
    std::string big = "set a = {";
    for (int i = 0; i < 2000; ++i) big += " 10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    big += " }\nset p = {";
    for (int i = 1; i <= 600; ++i) big += " " + std::to_string(i);
    big += " }\npermit proto tcp from $a to $a port $p\n";
    EXPECT_TRUE(any_contains(errors_of(big), "past the limit"));
}

// ---- normalise ----

TEST(Normalise, HostBitsWarnedThenCleared) {
    front::Diagnostics d;
    auto p = compile_ok("block from 10.1.2.3/8 to 2001:db8::1/32\nblock from 10.1.2.3/8 to any\n", &d);
    auto w = test::messages(d, Sev::Warning);
    EXPECT_TRUE(any_contains(w, "host bits set in '10.1.2.3/8'; it means 10.0.0.0/8"));
    ASSERT_FALSE(p.filters.empty());
    for (const auto& f : p.filters)
        if (f.src.kind == AddrMatch::Kind::Prefix) {
            EXPECT_EQ(f.src.prefix.str(), "10.0.0.0/8");
        }
}

TEST(Normalise, CrossFamilyPairsDropped) {
    front::Diagnostics d;
    auto p = compile_ok(
        "set mixed = { 10.0.0.0/8, 2001:db8::/32 }\npermit from $mixed to $mixed \"m\"\n"
        "block from 10.0.0.1 to 2001:db8::1 \"never\"\n",
        &d);
    // v4->v4 and v6->v6 survive; the two mixed pairs and the whole second rule do not.
    ASSERT_EQ(p.filters.size(), 2u);
    for (const auto& f : p.filters) EXPECT_EQ(f.src.prefix.v4, f.dst.prefix.v4);
    auto w = test::messages(d, Sev::Warning);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("\"never\" can never match"), std::string::npos);
}

// ---- order ----

TEST(Order, FirstMatchIsSourceOrder) {
    auto p = compile_ok(
        "order first-match\npermit from any to any \"a\"\nblock proto tcp from 10.0.0.1 to me port 22 "
        "mirrored \"b\"\n");
    ASSERT_EQ(p.filters.size(), 3u);
    EXPECT_EQ(p.filters[0].rule_id, 0u);
    EXPECT_EQ(p.filters[1].rule_id, 1u);
    EXPECT_FALSE(p.filters[1].reversed);
    EXPECT_TRUE(p.filters[2].reversed);
}

TEST(Order, SpecificityPutsTheMostSpecificFirst) {
    auto p = compile_ok("permit from any to any \"a\"\nblock proto tcp from 10.0.0.1 to me port 22 \"b\"\n");
    ASSERT_EQ(p.filters.size(), 2u);
    EXPECT_EQ(p.filters[0].rule_id, 1u);
    EXPECT_EQ(p.filters[1].rule_id, 0u);
}

TEST(Normalise, IcmpOfTheWrongFamilyIsWarned) {
    front::Diagnostics d;
    compile_ok(
        "permit proto icmp from 2001:db8::/32 to me \"v6 icmp\"\npermit proto icmpv6 from any to 10.0.0.1\n"
        "permit proto icmp from any to me \"fine\"\n",
        &d);
    auto w = test::messages(d, Sev::Warning);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_NE(w[0].find("\"v6 icmp\" can never match: ICMP is IPv4's"), std::string::npos);
    EXPECT_NE(w[1].find("\"line 2\" can never match"), std::string::npos);
}

TEST(Resolve, LogSpecsWithTheirDefaults) {
    auto p = compile_ok(
        "default block log\n"
        "block proto tcp from any to any port 1 log \"a\"\n"
        "block proto tcp from any to any port 2 log rate 6/min \"b\"\n"
        "block proto tcp from any to any port 3 log rate 50/s burst 5 \"c\"\n"
        "block proto tcp from any to any port 4 \"d\"\n");
    ASSERT_EQ(p.rules.size(), 4u);
    ASSERT_TRUE(p.default_log);
    EXPECT_EQ(p.default_log->str(), "10/s burst 10");
    EXPECT_EQ(p.rules[0].log->str(), "10/s burst 10");
    EXPECT_EQ(p.rules[0].log->interval_ns(), 100000000u);
    EXPECT_EQ(p.rules[1].log->str(), "6/min burst 6");
    EXPECT_EQ(p.rules[1].log->interval_ns(), 10000000000u);
    EXPECT_EQ(p.rules[2].log->str(), "50/s burst 5");
    EXPECT_FALSE(p.rules[3].log);
    EXPECT_TRUE(p.has_log());
    EXPECT_FALSE(compile_ok("block from any to any\n").has_log());
}

TEST(Resolve, LogRatesOutOfRangeAreErrorsAtTheirNumber) {
    front::Diagnostics d;
    resolve_text(
        "block from any to any log rate 0/s\nblock proto tcp from any to any port 5 log rate 1/s burst "
        "1000001\n",
        d);
    ASSERT_EQ(d.error_count(), 2u);
    EXPECT_EQ(d.all()[0].loc.line, 1);
    EXPECT_EQ(d.all()[0].loc.col, 32);
    EXPECT_NE(d.all()[0].message.find("log rate 0 is out of range (1..1000000)"), std::string::npos);
    EXPECT_EQ(d.all()[1].loc.line, 2);
    EXPECT_NE(d.all()[1].message.find("log burst 1000001"), std::string::npos);
}
