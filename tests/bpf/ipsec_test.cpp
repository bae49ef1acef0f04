// Secure filters, the protected form (ESP, AH, ESP-in-UDP), accept-clear /
// fallback-clear by direction, `me`, and tunnel filters (transit traffic under
// a tunnel is not exempt; the tunnel's outer ESP between endpoint and host).
#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;
using pkt::Bytes;

namespace {

const char* kSecure = R"(policy "secure"
exemptions windows2000
order first-match
default block
action require = secure
action request = secure accept-clear fallback-clear
action inbound-clear = secure accept-clear
require from me to 192.0.2.0/24 mirrored "peers"
request from me to 198.51.100.0/24 mirrored "partners"
inbound-clear from me to 203.0.113.0/24 mirrored "respond-only"
require from me to 2001:db8:1::/64 mirrored "v6 peers"
permit proto tcp from any to me port 22 "ssh"
)";

}  // namespace

TEST(Ipsec, SecureFiltersAgreeWithTheReference) {
    require_root();
    auto h = Harness::load(kSecure, locals_of({"10.0.0.1/24", "2001:db8::1"}));
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->image.config().flags & SECPOL_CFG_USES_LOCAL);
    using namespace pkt;
    struct Case {
        const char* name;
        Packet p;
    };
    std::vector<Case> cases;
    for (const char* peer : {"192.0.2.7", "198.51.100.7", "203.0.113.7", "8.8.8.8"}) {
        for (bool out : {false, true}) {
            std::string s = out ? "10.0.0.1" : peer, d = out ? peer : "10.0.0.1";
            cases.push_back({"clear tcp", Ethernet{} / IPv4{.src = s, .dst = d} / TCP{.dport = 443}});
            cases.push_back({"esp", Ethernet{} / IPv4{.src = s, .dst = d} / ESP{} / Raw::zeros(32)});
            cases.push_back({"ah", Ethernet{} / IPv4{.src = s, .dst = d} / AH{.next_header = 6} / TCP{}});
            cases.push_back({"esp-in-udp", Ethernet{} / IPv4{.src = s, .dst = d} /
                                               UDP{.sport = 4500, .dport = 4501} / ESP{.spi = 77} /
                                               Raw::zeros(16)});
            cases.push_back(
                {"esp-in-udp marker (ike)",
                 Ethernet{} / IPv4{.src = s, .dst = d} / UDP{.sport = 1024, .dport = 4500} / ESP{.spi = 0}});
            cases.push_back({"esp-in-udp, 7 payload bytes", Ethernet{} / IPv4{.src = s, .dst = d} /
                                                                UDP{.sport = 1024, .dport = 4500} /
                                                                Raw{{1, 2, 3, 4, 5, 6, 7}}});
            cases.push_back(
                {"esp fragment",
                 Ethernet{} / IPv4{.src = s, .dst = d, .proto = 50, .frag_offset = 9} / Raw::zeros(16)});
            cases.push_back(
                {"udp 4500 fragment",
                 Ethernet{} / IPv4{.src = s, .dst = d, .proto = 17, .frag_offset = 9} / Raw::zeros(16)});
            cases.push_back({"ike", Ethernet{} / IPv4{.src = s, .dst = d} / UDP{.sport = 500, .dport = 500}});
        }
    }
    for (bool out : {false, true}) {
        std::string s = out ? "2001:db8::1" : "2001:db8:1::5", d = out ? "2001:db8:1::5" : "2001:db8::1";
        cases.push_back({"v6 clear", Ethernet{} / IPv6{.src = s, .dst = d} / UDP{.dport = 53}});
        cases.push_back({"v6 esp", Ethernet{} / IPv6{.src = s, .dst = d} / ESP{} / Raw::zeros(16)});
        cases.push_back({"v6 esp after hbh", Ethernet{} / IPv6{.src = s, .dst = d} / HopByHop{} / ESP{}});
        cases.push_back({"v6 esp fragment", Ethernet{} / IPv6{.src = s, .dst = d} /
                                                Fragment6{.offset = 3, .next_header = 50} / Raw::zeros(16)});
    }
    for (const auto& c : cases) expect_agree_both(*h, c.p.bytes(), c.name);

    // Spot checks of section 3's table.
    auto esp_in = (Ethernet{} / IPv4{.src = "192.0.2.7", .dst = "10.0.0.1"} / ESP{}).bytes();
    auto t = h->run(SECPOL_DIR_IN, esp_in).trace;
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_IPSEC));
    EXPECT_EQ(t.key.w[SECPOL_F_IPSEC], 1u);
    auto clear_in = (Ethernet{} / IPv4{.src = "203.0.113.7", .dst = "10.0.0.1"} / TCP{}).bytes();
    EXPECT_EQ(h->run(SECPOL_DIR_IN, clear_in).trace.verdict, uint32_t(SECPOL_V_PERMIT));  // accept-clear
    auto clear_out = (Ethernet{} / IPv4{.src = "10.0.0.1", .dst = "203.0.113.7"} / TCP{}).bytes();
    EXPECT_EQ(h->run(SECPOL_DIR_OUT, clear_out).trace.verdict, uint32_t(SECPOL_V_BLOCK));  // a leak
    auto fallback = (Ethernet{} / IPv4{.src = "10.0.0.1", .dst = "198.51.100.7"} / TCP{}).bytes();
    EXPECT_EQ(h->run(SECPOL_DIR_OUT, fallback).trace.verdict, uint32_t(SECPOL_V_PERMIT));
}

TEST(Ipsec, ProtectedCountersPerRule) {
    require_root();
    auto h = Harness::load(kSecure, locals_of({"10.0.0.1/24"}), /*trace=*/false);
    ASSERT_TRUE(h);
    using namespace pkt;
    auto esp = (Ethernet{} / IPv4{.src = "192.0.2.7", .dst = "10.0.0.1"} / ESP{} / Raw::zeros(20)).bytes();
    auto clear = (Ethernet{} / IPv4{.src = "192.0.2.7", .dst = "10.0.0.1"} / TCP{}).bytes();
    ASSERT_TRUE(h->loaded->test_run(SECPOL_DIR_IN, esp.data(), esp.size(), 3).ok());
    ASSERT_TRUE(h->loaded->test_run(SECPOL_DIR_IN, clear.data(), clear.size(), 2).ok());
    auto c = h->loaded->read_counters();
    ASSERT_TRUE(c.ok());
    auto slot = [](uint32_t rule, uint32_t dir, uint32_t rv) {
        return SECPOL_CNT_RULE_BASE + (rule * 2 + dir) * SECPOL_RV_COUNT + rv;
    };
    EXPECT_EQ((*c)[slot(0, SECPOL_DIR_IN, SECPOL_RV_PROTECTED)].packets, 3u);
    EXPECT_EQ((*c)[slot(0, SECPOL_DIR_IN, SECPOL_RV_PROTECTED)].bytes, 3 * esp.size());
    EXPECT_EQ((*c)[slot(0, SECPOL_DIR_IN, SECPOL_RV_BLOCK)].packets, 2u);
    EXPECT_EQ((*c)[SECPOL_CNT_IPSEC * 2 + SECPOL_DIR_IN].packets, 3u);
}

TEST(Ipsec, TunnelFiltersAgreeWithTheReference) {
    require_root();
    // This host is the gateway 203.0.113.1; the far end is 203.0.113.9.
    auto h = Harness::load(kTunnelPolicy, locals_of({"203.0.113.1/24", "10.1.0.1/16"}));
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->image.config().flags & SECPOL_CFG_HAS_TUNNEL);
    using namespace pkt;
    std::vector<std::pair<const char*, Packet>> cases = {
        {"transit clear", Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "10.2.3.4"} / TCP{}},
        {"transit ike (not exempt)",
         Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "10.2.3.4"} / UDP{.sport = 500, .dport = 500}},
        {"transit kerberos (not exempt)",
         Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "10.2.3.4"} / TCP{.dport = 88}},
        {"transit multicast: exempt", Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "224.0.0.5"} / UDP{}},
        {"local ike: exempt",
         Ethernet{} / IPv4{.src = "10.1.0.1", .dst = "10.2.3.4"} / UDP{.sport = 500, .dport = 500}},
        {"outer esp from the endpoint",
         Ethernet{} / IPv4{.src = "203.0.113.9", .dst = "203.0.113.1"} / ESP{}},
        {"outer esp to the endpoint", Ethernet{} / IPv4{.src = "203.0.113.1", .dst = "203.0.113.9"} / ESP{}},
        {"esp from elsewhere", Ethernet{} / IPv4{.src = "203.0.113.8", .dst = "203.0.113.1"} / ESP{}},
        {"ike with the endpoint",
         Ethernet{} / IPv4{.src = "203.0.113.9", .dst = "203.0.113.1"} / UDP{.sport = 500, .dport = 500}},
        {"other ike",
         Ethernet{} / IPv4{.src = "198.51.100.1", .dst = "198.51.100.2"} / UDP{.sport = 500, .dport = 501}},
        {"transit other", Ethernet{} / IPv4{.src = "10.3.0.1", .dst = "10.2.0.1"} / UDP{.dport = 500}},
        {"directed broadcast transit", Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "203.0.113.255"} / UDP{}},
    };
    for (const auto& [name, p] : cases) expect_agree_both(*h, p.bytes(), name);
    auto t = h->run(SECPOL_DIR_IN, cases[1].second.bytes()).trace;
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_FILTER));
    EXPECT_EQ(t.detail, 0u);
    t = h->run(SECPOL_DIR_IN, cases[5].second.bytes()).trace;
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_IPSEC));
}
