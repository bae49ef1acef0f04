// Exemptions (docs/semantics.md section 2.3) in the kernel, profile by
// profile: each exemption applies exactly when its profile has it, in the
// documented order, never to non-first fragments when port-based; directed
// broadcasts come from the local table. A catch-all block filter shows what is
// not exempt.
#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;
using pkt::Bytes;

namespace {

std::string policy(const std::string& profile) {
    return "policy \"ex\"\nexemptions " + profile +
           "\norder first-match\ndefault permit\n"
           "permit proto tcp from any to me port 22 \"ssh to me\"\n"
           "block from any to any \"everything else\"\n";
}

struct Probe {
    const char* name;
    Bytes frame;
    int exemption;      // the exemption it should hit, -1: none
    int fallback = -1;  // hit instead when `exemption` is off (first applicable wins)
};

std::vector<Probe> probes() {
    using namespace pkt;
    return {
        // Broadcast is an IP destination (issue 12 item 2): unicast IP in a
        // broadcast frame is unicast.
        {"unicast in eth broadcast", (Ethernet{.dst = kBroadcastMac} / IPv4{} / UDP{.dport = 9}).bytes(), -1},
        {"limited broadcast", (Ethernet{} / IPv4{.dst = "255.255.255.255"} / UDP{.dport = 9}).bytes(),
         SECPOL_EX_BROADCAST},
        {"directed broadcast", (Ethernet{} / IPv4{.dst = "10.0.0.255"} / UDP{.dport = 9}).bytes(),
         SECPOL_EX_BROADCAST},
        {"broadcast-looking, not local", (Ethernet{} / IPv4{.dst = "10.1.0.255"} / UDP{.dport = 9}).bytes(),
         -1},
        {"multicast v4",
         (Ethernet{} / IPv4{.dst = "224.0.0.251"} / UDP{.sport = 5353, .dport = 5353}).bytes(),
         SECPOL_EX_MULTICAST},
        {"multicast v6", (Ethernet{} / IPv6{.dst = "ff02::fb"} / UDP{.sport = 5353, .dport = 5353}).bytes(),
         SECPOL_EX_MULTICAST},
        {"multicast + eth broadcast",
         (Ethernet{.dst = kBroadcastMac} / IPv4{.dst = "239.1.1.1"} / UDP{}).bytes(), SECPOL_EX_MULTICAST},
        {"rsvp", (Ethernet{} / IPv4{.proto = 46} / Raw::zeros(8)).bytes(), SECPOL_EX_RSVP},
        {"rsvp fragment", (Ethernet{} / IPv4{.proto = 46, .frag_offset = 3} / Raw::zeros(8)).bytes(),
         SECPOL_EX_RSVP},
        {"ike", (Ethernet{} / IPv4{} / UDP{.sport = 500, .dport = 500}).bytes(), SECPOL_EX_IKE},
        {"ike v6", (Ethernet{} / IPv6{} / UDP{.sport = 500, .dport = 500}).bytes(), SECPOL_EX_IKE},
        {"ike one side", (Ethernet{} / IPv4{} / UDP{.sport = 500, .dport = 501}).bytes(), -1},
        {"ike over tcp", (Ethernet{} / IPv4{} / TCP{.sport = 500, .dport = 500}).bytes(), -1},
        {"ike fragment", (Ethernet{} / IPv4{.proto = 17, .frag_offset = 5} / Raw::zeros(8)).bytes(), -1},
        {"ike-nat-t", (Ethernet{} / IPv4{} / UDP{.sport = 4500, .dport = 4500} / ESP{.spi = 0}).bytes(),
         SECPOL_EX_IKE_NATT},
        {"ike-nat-t esp", (Ethernet{} / IPv4{} / UDP{.sport = 4500, .dport = 4500} / ESP{.spi = 5}).bytes(),
         SECPOL_EX_IKE_NATT},
        {"kerberos udp dst", (Ethernet{} / IPv4{} / UDP{.sport = 3000, .dport = 88}).bytes(),
         SECPOL_EX_KERBEROS},
        {"kerberos tcp src", (Ethernet{} / IPv6{} / TCP{.sport = 88, .dport = 3000}).bytes(),
         SECPOL_EX_KERBEROS},
        {"kerberos sctp", (Ethernet{} / IPv4{.proto = 132} / Raw::zeros(12)).bytes(), -1},
        {"nd neighbour solicitation", (Ethernet{} / IPv6{} / ICMPv6{.type = 135}).bytes(), SECPOL_EX_ND},
        {"nd mldv2", (Ethernet{} / IPv6{} / ICMPv6{.type = 143}).bytes(), SECPOL_EX_ND},
        {"nd type 138", (Ethernet{} / IPv6{} / ICMPv6{.type = 138}).bytes(), -1},
        {"nd over ipv4", (Ethernet{} / IPv4{.proto = 58} / ICMPv6{.type = 135}).bytes(), -1},
        {"dhcp", (Ethernet{} / IPv4{} / UDP{.sport = 68, .dport = 67}).bytes(), SECPOL_EX_DHCP},
        {"dhcp 67/67", (Ethernet{} / IPv4{} / UDP{.sport = 67, .dport = 67}).bytes(), SECPOL_EX_DHCP},
        {"dhcpv6", (Ethernet{} / IPv6{} / UDP{.sport = 546, .dport = 547}).bytes(), SECPOL_EX_DHCP},
        {"dhcpv4 ports over v6", (Ethernet{} / IPv6{} / UDP{.sport = 68, .dport = 67}).bytes(), -1},
        {"dhcpv6 ports over v4", (Ethernet{} / IPv4{} / UDP{.sport = 546, .dport = 547}).bytes(), -1},
        {"plain", (Ethernet{} / IPv4{} / TCP{}).bytes(), -1},
        {"ssh to me", (Ethernet{} / IPv4{.dst = "10.0.0.1"} / TCP{.dport = 22}).bytes(), -1},
    };
}

struct Profile {
    const char* text;
    uint32_t bits;
};

const uint32_t kAll = (1u << SECPOL_EX_COUNT) - 1;
const uint32_t B = 1u << SECPOL_EX_BROADCAST, M = 1u << SECPOL_EX_MULTICAST, R = 1u << SECPOL_EX_RSVP,
               I = 1u << SECPOL_EX_IKE, N = 1u << SECPOL_EX_IKE_NATT, K = 1u << SECPOL_EX_KERBEROS,
               D = 1u << SECPOL_EX_ND, H = 1u << SECPOL_EX_DHCP;

}  // namespace

class Exemptions : public ::testing::TestWithParam<const char*> {};

TEST_P(Exemptions, EachProbeAgreesWithTheReference) {
    require_root();
    auto locals = locals_of({"10.0.0.1/24", "2001:db8::2"});
    auto h = Harness::load(policy(GetParam()), locals);
    ASSERT_TRUE(h);
    const uint32_t on = h->policy.exemptions;
    for (const auto& p : probes()) {
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            auto t = expect_agree(*h, dir, p.frame, std::string(GetParam()) + ": " + p.name);
            int want = p.exemption >= 0 && (on >> p.exemption & 1) ? p.exemption : -1;
            if (want < 0 && p.fallback >= 0 && (on >> p.fallback & 1)) want = p.fallback;
            if (want >= 0) {
                EXPECT_EQ(t.reason, uint32_t(SECPOL_R_EXEMPTION)) << GetParam() << ": " << p.name;
                EXPECT_EQ(t.detail, uint32_t(want)) << GetParam() << ": " << p.name;
            } else {
                EXPECT_NE(t.reason, uint32_t(SECPOL_R_EXEMPTION)) << GetParam() << ": " << p.name;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Profiles, Exemptions,
                         ::testing::Values("windows2000", "windows2003", "none", "nodefaultexempt 0",
                                           "nodefaultexempt 1", "nodefaultexempt 2", "nodefaultexempt 3",
                                           "{ broadcast }", "{ multicast dhcp }", "{ ike-nat-t nd kerberos }",
                                           "{ broadcast multicast rsvp ike ike-nat-t kerberos nd dhcp }"));

TEST(ExemptionsDetail, ProfilesSetTheExpectedBits) {
    // The profile table of ../shared/README.md, as the program's config sees it.
    front::Diagnostics d;
    auto bits = [&](const char* prof) {
        auto p = front::compile_text(policy(prof), "x.pol", d);
        EXPECT_TRUE(p.has_value()) << prof;
        return p ? p->exemptions : 0u;
    };
    EXPECT_EQ(bits("nodefaultexempt 0") & (B | M | R | K | I), B | M | R | K | I);
    EXPECT_EQ(bits("nodefaultexempt 3") & (B | M | R | K | I), I);
    EXPECT_EQ(bits("none"), 0u);
    (void)kAll;
    (void)N;
    (void)D;
    (void)H;
}

TEST(ExemptionsDetail, DirectedBroadcastFollowsSetLocals) {
    require_root();
    auto h = Harness::load(policy("windows2000"), locals_of({"10.0.0.1/24"}));
    ASSERT_TRUE(h);
    auto b = (pkt::Ethernet{} / pkt::IPv4{.dst = "10.0.0.255"} / pkt::UDP{.dport = 9}).bytes();
    auto t = h->run(SECPOL_DIR_IN, b).trace;
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_EXEMPTION));
    EXPECT_EQ(t.key.w[SECPOL_F_MCBC], 1u);

    // The host moves to another subnet: the old broadcast is ordinary traffic.
    h->locals = locals_of({"10.5.0.1/16"});
    ASSERT_TRUE(h->loaded->set_locals(h->locals).ok());
    t = expect_agree(*h, SECPOL_DIR_IN, b, "after set_locals");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_FILTER));
    EXPECT_EQ(t.key.w[SECPOL_F_MCBC], 0u);
    auto nb = (pkt::Ethernet{} / pkt::IPv4{.dst = "10.5.255.255"} / pkt::UDP{.dport = 9}).bytes();
    t = expect_agree(*h, SECPOL_DIR_IN, nb, "new broadcast");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_EXEMPTION));
    // And "me" moved too.
    auto ssh = (pkt::Ethernet{} / pkt::IPv4{.dst = "10.5.0.1"} / pkt::TCP{.dport = 22}).bytes();
    t = expect_agree(*h, SECPOL_DIR_IN, ssh, "ssh to the new address");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_FILTER));
    EXPECT_EQ(t.detail, 0u);
}

TEST(ExemptionsDetail, DirectedBroadcastWithoutMeUsesTheBloomFilter) {
    // No `me` in the policy: the program looks up the destination alone, for
    // directed broadcasts (the local table; the Bloom filter and the map when
    // it overflows: tests/bpf/local_table_test.cpp), also in non-trace mode.
    require_root();
    const std::string text =
        "policy \"nome\"\nexemptions windows2000\norder first-match\ndefault block\n"
        "permit proto tcp from any to any port 80 \"web\"\n";
    for (bool trace : {true, false}) {
        auto h = Harness::load(text, locals_of({"192.168.7.1/24", "10.0.0.1/8"}), trace);
        ASSERT_TRUE(h);
        EXPECT_FALSE(h->image.config().flags & SECPOL_CFG_USES_LOCAL);
        for (const char* dst : {"192.168.7.255", "10.255.255.255", "192.168.8.255", "10.0.0.255"}) {
            auto b = (pkt::Ethernet{} / pkt::IPv4{.dst = dst} / pkt::UDP{.dport = 9}).bytes();
            auto r = h->run(SECPOL_DIR_IN, b);
            auto d = h->reference(SECPOL_DIR_IN, b);
            EXPECT_EQ(passed(SECPOL_DIR_IN, r.retval), d.verdict == SECPOL_V_PERMIT)
                << dst << " trace " << trace;
            if (trace) expect_agree(*h, SECPOL_DIR_IN, b, dst);
        }
    }
}
