// Lints of `secpol check`: each fires on the case it is for and stays quiet otherwise.
#include <gtest/gtest.h>

#include "unit/front_util.h"

using namespace secpol;
using secpol::test::any_contains;
using secpol::test::compile_ok;

namespace {

std::vector<front::Diagnostic> lint_of(const std::string& text) {
    auto p = compile_ok(text);
    front::Diagnostics d;
    front::lint(p, d);
    return d.all();
}

bool has(const std::vector<front::Diagnostic>& v, const std::string& needle, int line = 0) {
    for (const auto& d : v)
        if (d.message.find(needle) != std::string::npos && (line == 0 || d.loc.line == line)) return true;
    return false;
}

}  // namespace

TEST(LintShadow, FullyCoveredRuleIsNeverReached) {
    auto w = lint_of(
        "block from any to me \"all\"\npermit proto tcp from 10.0.0.0/8 to me port 80 \"web\"\n"
        "order first-match\n");
    ASSERT_TRUE(has(w, "rule \"web\" (line 2) is never reached", 2));
    EXPECT_TRUE(has(w, "decided first by \"all\" (line 1)"));
}

TEST(LintShadow, UnderSpecificityTheNarrowRuleWins) {
    // Same two rules, Windows order: the narrower one comes first and both are reached.
    auto w =
        lint_of("block from any to me \"all\"\npermit proto tcp from 10.0.0.0/8 to me port 80 \"web\"\n");
    EXPECT_FALSE(has(w, "never reached"));
}

TEST(LintShadow, PartialCoverIsNotShadowing) {
    auto w = lint_of("order first-match\nblock from 10.0.0.0/9 to me\npermit from 10.0.0.0/8 to me\n");
    EXPECT_FALSE(has(w, "never reached"));
}

TEST(LintShadow, EveryFilterOfTheRuleMustBeCovered) {
    auto w = lint_of(
        "order first-match\nblock proto tcp from any to me port 22 \"ssh\"\nblock proto tcp from any to me "
        "port 23 "
        "\"telnet\"\npermit proto tcp from any to me port 22,23 \"both\"\npermit proto tcp from any to me "
        "port 22,24 "
        "\"half\"\n");
    EXPECT_TRUE(has(w, "rule \"both\" (line 4) is never reached"));
    EXPECT_TRUE(has(w, "and 1 other rule"));
    EXPECT_FALSE(has(w, "\"half\" (line 5) is never reached"));
}

TEST(LintShadow, PortFilterDoesNotCoverAPortlessOne) {
    // Non-first fragments match the portless rule but never the port filter.
    auto w = lint_of(
        "order first-match\nblock proto tcp from any to me port 0-65535\npermit proto tcp from any to me\n");
    EXPECT_FALSE(has(w, "never reached"));
}

TEST(LintShadow, SecureFilterAlsoMatchesProtectedPackets) {
    // A tcp-only block does not stop ESP, which the secure tcp filter also matches.
    auto w = lint_of(
        "order first-match\nblock proto tcp from any to me\nsecure proto tcp from any to me port 80\n");
    EXPECT_FALSE(has(w, "never reached"));
    auto w2 = lint_of("order first-match\nblock from any to me\nsecure proto tcp from any to me port 80\n");
    EXPECT_TRUE(has(w2, "never reached"));
}

TEST(LintIke, SecureWithoutIkeIsWarned) {
    auto w = lint_of("exemptions none\nsecure from me to 10.0.0.0/8 mirrored \"s\"\n");
    EXPECT_TRUE(has(w, "secure rule \"s\" (line 2): its IKE traffic", 2));
    EXPECT_TRUE(has(w, "negotiation can never start"));
}

TEST(LintIke, QuietWhenIkeIsExemptOrPermitted) {
    // Every Windows profile exempts IKE (even NoDefaultExempt 3).
    EXPECT_FALSE(has(lint_of("secure from me to 10.0.0.0/8 mirrored\n"), "IKE"));
    EXPECT_FALSE(
        has(lint_of("exemptions nodefaultexempt 3\nsecure from me to 10.0.0.0/8 mirrored\n"), "IKE"));
    EXPECT_FALSE(has(lint_of("exemptions { ike }\nsecure from me to 10.0.0.0/8 mirrored\n"), "IKE"));
    EXPECT_FALSE(has(lint_of("exemptions none\nsecure from me to 10.0.0.0/8 mirrored\n"
                             "permit proto udp from me port 500 to 10.0.0.0/8 port 500 mirrored\n"),
                     "IKE"));
    // A secure filter for TCP only leaves IKE to the default, which permits.
    EXPECT_FALSE(has(lint_of("exemptions none\nsecure proto tcp from me to 10.0.0.0/8 mirrored\n"), "IKE"));
}

TEST(LintIke, DefaultBlockStopsIkeOfANarrowSecureFilter) {
    auto w =
        lint_of("exemptions none\ndefault block\nsecure proto tcp from me to 10.0.0.0/8 port 80 mirrored\n");
    EXPECT_TRUE(has(w, "blocked by 'default block'"));
}

TEST(LintIke, TunnelNeedsIkeWithTheEndpoint) {
    auto w =
        lint_of("exemptions none\ndefault block\nsecure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 192.0.2.1\n");
    EXPECT_TRUE(has(w, "its IKE traffic"));
    auto ok = lint_of(
        "exemptions none\ndefault block\nsecure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 192.0.2.1\n"
        "permit proto udp from me port 500 to 192.0.2.1 port 500 mirrored\n");
    EXPECT_FALSE(has(ok, "IKE"));
}

TEST(LintOverlap, EqualSpecificityDifferentActions) {
    auto w = lint_of("permit from 10.0.0.0/8 to me \"p\"\nblock from 10.0.0.0/8 to me \"b\"\n");
    EXPECT_TRUE(has(w, "overlap at equal specificity with different actions (block vs permit)"));
    EXPECT_TRUE(has(w, "wins because it is more restrictive"));
}

TEST(LintOverlap, QuietForSameActionDifferentSpecificityOrDisjoint) {
    EXPECT_FALSE(has(lint_of("block from 10.0.0.0/8 to me\nblock proto tcp from 10.0.0.0/8 to me port 1\n"),
                     "overlap"));
    EXPECT_FALSE(has(lint_of("permit from 10.0.0.0/8 to me\nblock from 11.0.0.0/8 to me\n"), "overlap"));
    EXPECT_FALSE(has(lint_of("permit from 10.0.0.0/8 to me\nblock from 10.0.0.0/9 to me\n"), "overlap"));
    EXPECT_FALSE(
        has(lint_of("permit proto tcp from any to me\nblock proto udp from any to me\n"), "overlap"));
    EXPECT_FALSE(
        has(lint_of("order first-match\npermit from 10.0.0.0/8 to me\nblock from 10.0.0.0/8 to me\n"),
            "overlap"));
}

TEST(LintOverlap, SecureVariantsAreSpelledOut) {
    auto w =
        lint_of("secure accept-clear from any to me \"a\"\nsecure fallback-clear from any to me \"b\"\n");
    EXPECT_TRUE(has(w, "(secure accept-clear vs secure fallback-clear)"));
    EXPECT_FALSE(has(w, "secure vs secure"));
}

TEST(LintOverlap, SourceOrderBreaksTiesBetweenSecureVariants) {
    auto w = lint_of("secure from any to me \"a\"\nsecure accept-clear from any to me \"b\"\n");
    EXPECT_TRUE(has(w, "\"a\" (line 1) wins because it comes first"));
}

TEST(LintNd, BlockingDefaultWithoutNd) {
    auto w = lint_of("default block\npermit proto tcp from any to me port 22\n");
    EXPECT_TRUE(has(w, "IPv6 neighbour discovery", 1));
}

TEST(LintNd, QuietWhenExemptPermittedOrDefaultPermit) {
    EXPECT_FALSE(has(lint_of("permit proto tcp from any to me port 22\n"), "neighbour"));
    EXPECT_FALSE(has(lint_of("exemptions { ike nd }\ndefault block\n"), "neighbour"));
    EXPECT_FALSE(has(lint_of("default block\npermit proto icmpv6 from any to me mirrored\n"), "neighbour"));
    EXPECT_FALSE(has(lint_of("default block\npermit proto icmpv6 type 133-137 from fe80::/10 to me mirrored\n"
                             "permit proto icmpv6 type 133-137 from me to any\n"),
                     "neighbour"));
}

TEST(LintNd, AnIpv4PermitDoesNotCount) {
    EXPECT_TRUE(has(lint_of("default block\npermit from 10.0.0.0/8 to me mirrored\n"), "neighbour"));
}

TEST(Lint, BuiltInPoliciesAreClean) {
    for (const char* name :
         {"client-respond-only", "server-request-security", "secure-server-require-security"}) {
        front::Diagnostics d;
        auto p = front::compile_file(std::string(SECPOL_SOURCE_DIR) + "/policies/" + name + ".pol", d);
        ASSERT_TRUE(p) << name;
        front::lint(*p, d);
        EXPECT_EQ(d.warning_count(), 0u) << name;
    }
}

TEST(LintExemptHidden, KerberosUnderWindows2000HidesAPortFilter) {
    auto w = lint_of("exemptions windows2000\nblock proto udp from any to me port 88 \"krb\"\n");
    EXPECT_TRUE(
        has(w, "rule \"krb\" (line 2) never applies: every packet it matches is exempt (kerberos", 2));
    EXPECT_TRUE(has(w, "'exemptions { broadcast multicast rsvp ike }'"));
    // The mirrored reverse (source port 88) is just as exempt.
    EXPECT_TRUE(has(lint_of("block proto tcp from any to me port 88 mirrored \"k\"\n"), "never applies"));
}

TEST(LintExemptHidden, EachExemptionThatCoversAWholeFilter) {
    EXPECT_TRUE(has(lint_of("block proto rsvp from any to me\n"), "exempt (rsvp"));
    EXPECT_TRUE(has(lint_of("block proto udp from any port 500 to me port 500\n"), "exempt (ike"));
    EXPECT_TRUE(has(lint_of("block from any to 224.0.0.0/4\n"), "exempt (multicast"));
    EXPECT_TRUE(has(lint_of("block from any to ff02::/16\n"), "exempt (multicast"));
    EXPECT_TRUE(has(lint_of("block from any to 255.255.255.255\n"), "exempt (broadcast"));
    EXPECT_TRUE(
        has(lint_of("exemptions { nd }\nblock proto icmpv6 type 135 from fe80::/10 to me\n"), "exempt (nd"));
    EXPECT_TRUE(has(lint_of("exemptions { dhcp }\nblock proto udp from 0.0.0.0/0 port 68 to any port 67\n"),
                    "'exemptions none'"));
    EXPECT_TRUE(has(lint_of("exemptions windows2003\nblock proto udp from any port 500 to any port 500\n"),
                    "'exemptions none'"));
}

TEST(LintExemptHidden, QuietWhenSomePacketReachesTheFilter) {
    EXPECT_FALSE(
        has(lint_of("exemptions windows2003\nblock proto udp from any to me port 88\n"), "never applies"));
    EXPECT_FALSE(has(lint_of("block proto udp from any to me port 88-89\n"), "never applies"));
    EXPECT_FALSE(has(lint_of("block proto udp from any to me port 500\n"), "never applies"));
    EXPECT_FALSE(has(lint_of("block proto udp from any to me\n"), "never applies"));
    EXPECT_FALSE(has(lint_of("secure proto udp from any to me port 88\n"), "never applies"));
    EXPECT_FALSE(
        has(lint_of("exemptions { nd }\nblock proto icmpv6 type 135 from any to me\n"), "never applies"));
    EXPECT_FALSE(has(lint_of("block proto udp from 10.1.0.0/16 port 88 to 10.2.0.0/16 tunnel 192.0.2.1\n"),
                     "never applies"));
    // One filter of the rule reaches: the rule applies.
    EXPECT_FALSE(has(lint_of("block proto udp from any to me port 88,99\n"), "never applies"));
}

TEST(LintFallback, FallbackWithoutAcceptClearIsWarned) {
    auto w = lint_of("secure fallback-clear from me to 10.0.0.0/8 mirrored \"f\"\n");
    EXPECT_TRUE(has(w, "rule \"f\" (line 1): 'fallback-clear' sends clear traffic", 1));
    EXPECT_TRUE(has(w, "blocked by the rule itself"));
    EXPECT_TRUE(has(w, "'secure accept-clear fallback-clear from me to 10.0.0.0/8 mirrored \"f\"'"));
    auto named = lint_of("action req = secure fallback-clear\nreq from me to any \"r\"\ndefault block\n");
    EXPECT_TRUE(has(named, "blocked by 'default block'"));
    EXPECT_TRUE(has(named, "'action req = secure accept-clear fallback-clear'"));
    auto other = lint_of(
        "secure fallback-clear out from me to 10.0.0.0/8 \"o\"\nblock in from 10.0.0.0/8 to me \"b\"\n");
    EXPECT_TRUE(has(other, "blocked by rule \"b\" (line 2)"));
}

TEST(LintFallback, QuietWhenTheClearReplyGetsIn) {
    EXPECT_FALSE(
        has(lint_of("secure accept-clear fallback-clear from me to 10.0.0.0/8 mirrored\n"), "fallback"));
    EXPECT_FALSE(
        has(lint_of("secure fallback-clear out from me to 10.0.0.0/8\n"), "fallback"));  // default permit
    EXPECT_FALSE(has(lint_of("default block\nsecure fallback-clear out from me to 10.0.0.0/8\n"
                             "permit in from 10.0.0.0/8 to me\n"),
                     "fallback"));
    EXPECT_FALSE(has(lint_of("secure fallback-clear in from 10.0.0.0/8 to me\n"), "fallback"));
}

namespace {
// Every '...' fragment of a message that starts with a statement keyword.
std::vector<std::string> quoted_statements(const std::string& msg) {
    std::vector<std::string> out;
    for (size_t b = msg.find('\''); b != std::string::npos; b = msg.find('\'', b + 1)) {
        size_t e = msg.find('\'', b + 1);
        if (e == std::string::npos) break;
        std::string q = msg.substr(b + 1, e - b - 1);
        for (const char* w : {"permit ", "block ", "secure ", "exemptions ", "action ", "default "})
            if (q.rfind(w, 0) == 0) out.push_back(q);
        b = e;
    }
    return out;
}
}  // namespace

TEST(LintHints, EveryHintIsAStatementThatParses) {
    // One policy per lint that carries a hint; each must emit at least one.
    const char* policies[] = {
        "exemptions none\nsecure from me to 10.0.0.0/8 mirrored\n",  // ike
        "exemptions none\ndefault block\nsecure proto tcp from 10.1.0.0/16 to me port 22 mirrored\n",
        "exemptions none\norder first-match\nsecure from me to 10.0.0.0/8 mirrored\n",
        "exemptions none\ndefault block\nsecure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 192.0.2.1\n",
        "default block\npermit proto tcp from any to me port 22\n",  // nd
        "block proto udp from any to me port 88\n",                  // exemption hides
        "exemptions { ike }\nblock proto udp from any port 500 to any port 500\n",
        "secure fallback-clear from me to 10.0.0.0/8 mirrored \"f\"\n",             // fallback, inline
        "action req = secure fallback-clear\nreq from me to any\ndefault block\n",  // fallback, named
    };
    for (const char* text : policies) {
        SCOPED_TRACE(text);
        size_t hints = 0;
        for (const auto& d : lint_of(text))
            for (const auto& hint : quoted_statements(d.message)) {
                ++hints;
                front::Diagnostics pd;
                auto p = front::compile_text(hint + "\n", "hint.pol", pd);
                EXPECT_TRUE(p.has_value() && pd.error_count() == 0)
                    << "hint does not parse: " << hint << " ("
                    << (pd.all().empty() ? "" : pd.all()[0].message) << ")";
                // A permit hint adds to the policy: following it must silence the warning.
                // First in the file, so it is also "above the rule" under first-match.
                if (hint.rfind("permit ", 0) == 0) {
                    const std::string first_words = d.message.substr(0, 40);
                    EXPECT_FALSE(has(lint_of(hint + "\n" + text), first_words))
                        << "following the hint '" << hint << "' leaves: " << d.message;
                }
            }
        EXPECT_GE(hints, 1u);
    }
}

TEST(LintMirroredIcmp, ARangeWithAQueryButNotItsReplyIsWarned) {
    auto w = lint_of("permit proto icmp type 8-11 from any to me mirrored \"r\"\n");
    EXPECT_TRUE(has(w, "its type range 8-11 includes type 8 but not its counterpart 0", 1));
    EXPECT_FALSE(has(lint_of("permit proto icmp type 0-8 from any to me mirrored\n"), "counterpart"));
    EXPECT_FALSE(has(lint_of("permit proto icmp type 8 from any to me mirrored\n"), "counterpart"));
    EXPECT_FALSE(has(lint_of("permit proto icmp type 8-11 from any to me\n"), "counterpart"));
    EXPECT_FALSE(
        has(lint_of("permit proto icmpv6 type 133-137 from fe80::/10 to me mirrored\n"), "counterpart"));
    EXPECT_FALSE(has(lint_of("permit proto icmpv6 type 128-130 from any to me mirrored\n"), "counterpart"));
    EXPECT_TRUE(has(lint_of("permit proto icmpv6 type 129-130 from any to me mirrored\n"),
                    "includes type 129 but not its counterpart 128"));
}

// Issue 12 item 3: `default block` meets the implicit `non-ip permit`.
TEST(LintNonIp, DefaultBlockWithImplicitNonIpPermitWarns) {
    auto w = lint_of("default block\npermit proto tcp from any to me port 22 \"ssh\"\n");
    EXPECT_TRUE(has(w, "'default block' meets 'non-ip permit'", 1));
    EXPECT_FALSE(has(lint_of("default block\nnon-ip permit\n"), "non-ip"));
    EXPECT_FALSE(has(lint_of("default block\nnon-ip block\n"), "non-ip"));
    EXPECT_FALSE(has(lint_of("default permit\n"), "non-ip"));
}
