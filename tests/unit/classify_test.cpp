// ref::classify against docs/semantics.md sections 2-4, with policies built
// directly as IR (no front end). Exemption cases quote KB253169's wording.
#include "ref/classify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "packet/builder.h"
#include "runtime/capture.h"

using namespace secpol;
using ir::Action;

namespace {

constexpr uint32_t bit(unsigned ex) {
    return 1u << ex;
}
constexpr uint32_t kWin2000 = bit(SECPOL_EX_BROADCAST) | bit(SECPOL_EX_MULTICAST) | bit(SECPOL_EX_RSVP) |
                              bit(SECPOL_EX_IKE) | bit(SECPOL_EX_KERBEROS);  // nodefaultexempt 0
constexpr uint32_t kNde1 = bit(SECPOL_EX_BROADCAST) | bit(SECPOL_EX_MULTICAST) | bit(SECPOL_EX_IKE);
constexpr uint32_t kNde2 = bit(SECPOL_EX_RSVP) | bit(SECPOL_EX_KERBEROS) | bit(SECPOL_EX_IKE);
constexpr uint32_t kNde3 = bit(SECPOL_EX_IKE);  // windows2003
constexpr uint32_t kProfiles[4] = {kWin2000, kNde1, kNde2, kNde3};

ir::Prefix prefix(const std::string& cidr) {
    auto slash = cidr.find('/');
    auto a = net::parse_addr(cidr.substr(0, slash));
    EXPECT_TRUE(a.has_value()) << cidr;
    ir::Prefix p;
    p.v4 = net::is_v4(*a);
    int len = slash == std::string::npos ? (p.v4 ? 32 : 128) : std::stoi(cidr.substr(slash + 1));
    p.len = static_cast<uint8_t>(p.v4 ? 96 + len : len);
    p.w = *a;
    return p;
}

ir::AddrMatch addr(const std::string& s) {
    ir::AddrMatch m;
    if (s == "any") return m;
    if (s == "me") {
        m.kind = ir::AddrMatch::Kind::Me;
        return m;
    }
    m.kind = ir::AddrMatch::Kind::Prefix;
    m.prefix = prefix(s);
    return m;
}

// One filter statement, already expanded (the front end's job).
struct F {
    Action act = Action::Permit;
    ir::Dir dir = ir::Dir::Both;
    std::string src = "any", dst = "any";
    std::optional<uint8_t> proto{};
    std::optional<ir::Range> sport{}, dport{};
    std::string tunnel{};
    bool accept_clear = false, fallback_clear = false;
    std::string label{};
};

ir::Policy policy(uint32_t exemptions, Action def = Action::Permit) {
    ir::Policy p;
    p.exemptions = exemptions;
    p.default_action = def;
    p.order = ir::Order::FirstMatch;
    return p;
}

// Appends a rule and its filter (in priority order: call in the order you want them tried).
uint32_t add(ir::Policy& p, const F& f) {
    ir::Rule r;
    r.id = static_cast<uint32_t>(p.rules.size());
    r.label = f.label.empty() ? "rule" + std::to_string(r.id) : f.label;
    r.loc.line = 10 + static_cast<int>(r.id);
    r.action.kind = f.act;
    r.action.name = ir::to_string(f.act);
    r.action.accept_clear = f.accept_clear;
    r.action.fallback_clear = f.fallback_clear;
    r.dir = f.dir;
    ir::Filter x;
    x.rule_id = r.id;
    x.dir = f.dir;
    x.src = addr(f.src);
    x.dst = addr(f.dst);
    x.proto = f.proto;
    if (f.sport) x.sport = *f.sport;
    if (f.dport) x.dport = *f.dport;
    x.l4_given = f.sport || f.dport;
    if (!f.tunnel.empty()) {
        x.tunnel = true;
        x.endpoint = prefix(f.tunnel);
        r.tunnel = x.endpoint;
    }
    x.seq = static_cast<uint32_t>(p.filters.size());
    p.rules.push_back(r);
    p.filters.push_back(x);
    return r.id;
}

net::LocalTable locals(std::initializer_list<const char*> specs) {
    net::LocalTable t;
    for (auto s : specs) EXPECT_TRUE(t.add(s)) << s;
    return t;
}

const net::LocalTable kHost = locals({"192.168.0.5/24", "2001:db8::5/64"});

ref::Decision run(const ir::Policy& p, const pkt::Packet& pk, int dir = SECPOL_DIR_IN,
                  const net::LocalTable& l = kHost) {
    auto b = pk.bytes();
    return ref::classify(p, b.data(), b.size(), dir, l);
}

pkt::Packet udp4(const char* src, const char* dst, uint16_t sp, uint16_t dp,
                 const char* mac = "02:00:00:00:00:02") {
    return pkt::Ethernet{.dst = mac} / pkt::IPv4{.src = src, .dst = dst} / pkt::UDP{.sport = sp, .dport = dp};
}
pkt::Packet tcp4(const char* src, const char* dst, uint16_t sp, uint16_t dp) {
    return pkt::Ethernet{} / pkt::IPv4{.src = src, .dst = dst} / pkt::TCP{.sport = sp, .dport = dp};
}
pkt::Packet proto4(const char* src, const char* dst, uint8_t proto) {
    return pkt::Ethernet{} / pkt::IPv4{.src = src, .dst = dst, .proto = proto} / pkt::Raw::zeros(20);
}

// A policy that blocks everything, so "not exempt" shows as a filter block.
ir::Policy block_all(uint32_t exemptions) {
    auto p = policy(exemptions);
    add(p, F{.act = Action::Block, .label = "block all"});
    return p;
}

::testing::AssertionResult exempt_as(const ref::Decision& d, unsigned ex) {
    if (d.reason == SECPOL_R_EXEMPTION && d.exemption == ex && d.verdict == SECPOL_V_PERMIT)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "reason " << ref::reason_name(d.reason) << " exemption " << ir::exemption_name(d.exemption)
           << ", wanted " << ir::exemption_name(ex);
}

::testing::AssertionResult blocked_by_filter(const ref::Decision& d) {
    if (d.reason == SECPOL_R_FILTER && d.verdict == SECPOL_V_BLOCK) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << ref::verdict_name(d.verdict) << " " << ref::reason_name(d.reason)
           << (d.reason == SECPOL_R_EXEMPTION ? ir::exemption_name(d.exemption) : "");
}

}  // namespace

// --- Exemption profiles: NoDefaultExempt 0..3 ------------------------------------------

// "Windows 2000 always uses a User Datagram Protocol (UDP) source and destination port 500 for IKE traffic."
TEST(Exemptions, IkeIsExemptUnderEveryProfile) {
    for (uint32_t prof : kProfiles) {
        auto p = block_all(prof);
        EXPECT_TRUE(exempt_as(run(p, udp4("10.1.1.1", "192.168.0.5", 500, 500)), SECPOL_EX_IKE));
        EXPECT_TRUE(
            exempt_as(run(p, udp4("192.168.0.5", "10.1.1.1", 500, 500), SECPOL_DIR_OUT), SECPOL_EX_IKE));
        // Source AND destination: one side alone is not IKE.
        EXPECT_TRUE(blocked_by_filter(run(p, udp4("10.1.1.1", "192.168.0.5", 500, 501))));
        EXPECT_TRUE(blocked_by_filter(run(p, udp4("10.1.1.1", "192.168.0.5", 1234, 500))));
        EXPECT_TRUE(blocked_by_filter(run(p, tcp4("10.1.1.1", "192.168.0.5", 500, 500))));
    }
    EXPECT_TRUE(blocked_by_filter(run(block_all(0), udp4("10.1.1.1", "192.168.0.5", 500, 500))));
}

// "If a packet is TCP or UDP and has a source or destination port = 88, permit."
TEST(Exemptions, KerberosUnderProfiles0And2Only) {
    for (uint32_t prof : {kWin2000, kNde2}) {
        auto p = block_all(prof);
        EXPECT_TRUE(exempt_as(run(p, tcp4("10.1.1.1", "192.168.0.5", 1234, 88)), SECPOL_EX_KERBEROS));
        EXPECT_TRUE(exempt_as(run(p, tcp4("192.168.0.5", "10.1.1.1", 88, 1234)), SECPOL_EX_KERBEROS));
        EXPECT_TRUE(exempt_as(run(p, udp4("10.1.1.1", "192.168.0.5", 88, 40000)), SECPOL_EX_KERBEROS));
        EXPECT_TRUE(blocked_by_filter(run(p, tcp4("10.1.1.1", "192.168.0.5", 1234, 89))));
        // Port 88 of another protocol: not TCP or UDP.
        auto sctp =
            pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5", .proto = 132} / pkt::Raw{{0, 88, 0, 88}};
        EXPECT_TRUE(blocked_by_filter(run(p, sctp)));
    }
    for (uint32_t prof : {kNde1, kNde3})
        EXPECT_TRUE(blocked_by_filter(run(block_all(prof), tcp4("10.1.1.1", "192.168.0.5", 1234, 88))));
}

// "This traffic uses IP protocol 46"
TEST(Exemptions, RsvpUnderProfiles0And2Only) {
    for (uint32_t prof : {kWin2000, kNde2}) {
        EXPECT_TRUE(exempt_as(run(block_all(prof), proto4("10.1.1.1", "192.168.0.5", 46)), SECPOL_EX_RSVP));
        EXPECT_TRUE(blocked_by_filter(run(block_all(prof), proto4("10.1.1.1", "192.168.0.5", 47))));
    }
    for (uint32_t prof : {kNde1, kNde3})
        EXPECT_TRUE(blocked_by_filter(run(block_all(prof), proto4("10.1.1.1", "192.168.0.5", 46))));
    auto v6 = pkt::Ethernet{} / pkt::IPv6{.dst = "2001:db8::5", .next_header = 46} / pkt::Raw::zeros(8);
    EXPECT_TRUE(exempt_as(run(block_all(kWin2000), v6), SECPOL_EX_RSVP));
}

// "These are addresses in the range from 224.0.0.0 through 239.255.255.255."
TEST(Exemptions, MulticastUnderProfiles0And1Only) {
    for (uint32_t prof : {kWin2000, kNde1}) {
        auto p = block_all(prof);
        for (auto dst : {"224.0.0.0", "224.0.0.251", "239.255.255.255"})
            EXPECT_TRUE(exempt_as(run(p, udp4("10.1.1.1", dst, 5353, 5353)), SECPOL_EX_MULTICAST)) << dst;
        for (auto dst : {"223.255.255.255", "240.0.0.1"})
            EXPECT_TRUE(blocked_by_filter(run(p, udp4("10.1.1.1", dst, 5353, 5353)))) << dst;
        auto v6 = pkt::Ethernet{} / pkt::IPv6{.dst = "ff02::fb"} / pkt::UDP{.sport = 5353, .dport = 5353};
        EXPECT_TRUE(exempt_as(run(p, v6), SECPOL_EX_MULTICAST));
    }
    for (uint32_t prof : {kNde2, kNde3})
        EXPECT_TRUE(blocked_by_filter(run(block_all(prof), udp4("10.1.1.1", "224.0.0.251", 5353, 5353))));
}

// "a standard class C subnet using 192.168.0.x would have a broadcast address of 192.168.0.255"
TEST(Exemptions, BroadcastUnderProfiles0And1Only) {
    for (uint32_t prof : {kWin2000, kNde1}) {
        auto p = block_all(prof);
        EXPECT_TRUE(exempt_as(run(p, udp4("192.168.0.9", "255.255.255.255", 68, 67)), SECPOL_EX_BROADCAST));
        auto directed = run(p, udp4("192.168.0.9", "192.168.0.255", 137, 137));
        EXPECT_TRUE(exempt_as(directed, SECPOL_EX_BROADCAST));
        EXPECT_NE(directed.detail.find("directed"), std::string::npos);
        // Issue 12 item 2: broadcast is an IP destination; unicast IP in an
        // Ethernet broadcast frame is unicast.
        auto frame = run(p, udp4("192.168.0.9", "192.168.0.77", 137, 137, pkt::kBroadcastMac));
        EXPECT_TRUE(blocked_by_filter(frame));
        EXPECT_EQ(frame.key.w[SECPOL_F_MCBC], 0u);
        // "Your broadcast address depends on your subnet mask": with a /16, .0.255 is a host.
        auto wide = locals({"192.168.0.5/16"});
        EXPECT_TRUE(
            blocked_by_filter(run(p, udp4("192.168.0.9", "192.168.0.255", 137, 137), SECPOL_DIR_IN, wide)));
        EXPECT_TRUE(exempt_as(run(p, udp4("192.168.0.9", "192.168.255.255", 137, 137), SECPOL_DIR_IN, wide),
                              SECPOL_EX_BROADCAST));
    }
    for (uint32_t prof : {kNde2, kNde3}) {
        EXPECT_TRUE(blocked_by_filter(run(block_all(prof), udp4("192.168.0.9", "255.255.255.255", 68, 67))));
        EXPECT_TRUE(blocked_by_filter(run(block_all(prof), udp4("192.168.0.9", "192.168.0.255", 137, 137))));
    }
}

TEST(Exemptions, ReportedNameFollowsTheDocumentedOrder) {
    auto p = block_all(kWin2000);
    // Limited broadcast comes first, before kerberos.
    EXPECT_TRUE(exempt_as(run(p, udp4("10.1.1.1", "255.255.255.255", 88, 88)), SECPOL_EX_BROADCAST));
    // Multicast before IKE.
    EXPECT_TRUE(exempt_as(run(p, udp4("10.1.1.1", "224.0.0.1", 500, 500)), SECPOL_EX_MULTICAST));
    // Directed broadcast is last: RSVP to it reports rsvp.
    EXPECT_TRUE(exempt_as(run(p, proto4("192.168.0.9", "192.168.0.255", 46)), SECPOL_EX_RSVP));
    EXPECT_TRUE(exempt_as(run(p, proto4("192.168.0.9", "255.255.255.255", 46)), SECPOL_EX_BROADCAST));
    // IKE before kerberos.
    auto both = policy(bit(SECPOL_EX_IKE) | bit(SECPOL_EX_KERBEROS) | bit(SECPOL_EX_IKE_NATT));
    EXPECT_TRUE(exempt_as(run(both, udp4("10.1.1.1", "192.168.0.5", 500, 500)), SECPOL_EX_IKE));
}

TEST(Exemptions, ExtendedSet) {
    auto p = block_all(bit(SECPOL_EX_IKE_NATT) | bit(SECPOL_EX_ND) | bit(SECPOL_EX_DHCP));
    EXPECT_TRUE(exempt_as(run(p, udp4("10.1.1.1", "192.168.0.5", 4500, 4500)), SECPOL_EX_IKE_NATT));
    EXPECT_TRUE(blocked_by_filter(run(p, udp4("10.1.1.1", "192.168.0.5", 4500, 500))));
    auto nd = [](uint8_t type) {
        return pkt::Ethernet{} / pkt::IPv6{.src = "fe80::1", .dst = "ff02::1:ff00:5"} /
               pkt::ICMPv6{.type = type};
    };
    for (uint8_t t : {130, 133, 135, 136, 137, 143})
        EXPECT_TRUE(exempt_as(run(p, nd(t)), SECPOL_EX_ND)) << int(t);
    for (uint8_t t : {128, 129, 138, 142}) EXPECT_TRUE(blocked_by_filter(run(p, nd(t)))) << int(t);
    // ICMPv6 numbers carried over IPv4 are not neighbour discovery.
    auto v4nd = pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5", .proto = 58} / pkt::Raw{{135, 0, 0, 0}};
    EXPECT_TRUE(blocked_by_filter(run(p, v4nd)));
    EXPECT_TRUE(exempt_as(run(p, udp4("0.0.0.0", "192.168.0.5", 68, 67)), SECPOL_EX_DHCP));
    EXPECT_TRUE(exempt_as(run(p, udp4("192.168.0.1", "192.168.0.5", 67, 68)), SECPOL_EX_DHCP));
    EXPECT_TRUE(blocked_by_filter(run(p, udp4("192.168.0.1", "192.168.0.5", 67, 69))));
    EXPECT_TRUE(blocked_by_filter(run(p, udp4("192.168.0.1", "192.168.0.5", 546, 547))));
    auto v6dhcp = pkt::Ethernet{} / pkt::IPv6{.src = "fe80::1", .dst = "ff02::1:2"} /
                  pkt::UDP{.sport = 546, .dport = 547};
    EXPECT_TRUE(exempt_as(run(p, v6dhcp), SECPOL_EX_DHCP));
    // None of the default five are in this set.
    EXPECT_TRUE(blocked_by_filter(run(p, udp4("10.1.1.1", "192.168.0.5", 500, 500))));
    EXPECT_TRUE(blocked_by_filter(run(p, udp4("10.1.1.1", "224.0.0.251", 5353, 5353))));
}

TEST(Exemptions, PortExemptionsNeverMatchNonFirstFragments) {
    auto p = block_all(kWin2000 | bit(SECPOL_EX_DHCP));
    // Ports 0 because unknown; even if the bytes at the L4 offset look like 88/500.
    auto frag = pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5", .proto = 17, .frag_offset = 64} /
                pkt::Raw{{0x01, 0xf4, 0x01, 0xf4, 0, 8, 0, 0}};
    EXPECT_TRUE(blocked_by_filter(run(p, frag)));
    // Address and protocol exemptions still apply to fragments.
    auto mfrag =
        pkt::Ethernet{} / pkt::IPv4{.dst = "224.0.0.9", .proto = 17, .frag_offset = 64} / pkt::Raw::zeros(8);
    EXPECT_TRUE(exempt_as(run(p, mfrag), SECPOL_EX_MULTICAST));
    auto rfrag = pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5", .proto = 46, .frag_offset = 64} /
                 pkt::Raw::zeros(8);
    EXPECT_TRUE(exempt_as(run(p, rfrag), SECPOL_EX_RSVP));
}

// --- Tunnel filters and transit -----------------------------------------------------------

// "If Kerberos, IKE, or RSVP packets are received on one adapter and routed out of another adapter
// ... they are not exempt from IPSec tunnel-mode filters"
TEST(Tunnel, RoutedTrafficIsNotExemptFromTunnelFilters) {
    auto p = policy(kWin2000);
    add(p, F{.act = Action::Block, .src = "10.1.0.0/16", .dst = "10.2.0.0/16", .tunnel = "198.51.100.1"});
    for (auto pk : {udp4("10.1.0.7", "10.2.0.9", 500, 500), tcp4("10.1.0.7", "10.2.0.9", 1234, 88),
                    proto4("10.1.0.7", "10.2.0.9", 46)})
        EXPECT_TRUE(blocked_by_filter(run(p, pk)));
    // To this host (not transit) the same traffic is exempt, and a tunnel filter would not match anyway.
    auto p2 = policy(kWin2000);
    add(p2, F{.act = Action::Block, .dst = "192.168.0.0/24", .tunnel = "198.51.100.1"});
    add(p2, F{.act = Action::Block});
    EXPECT_TRUE(exempt_as(run(p2, udp4("10.1.0.7", "192.168.0.5", 500, 500)), SECPOL_EX_IKE));
    // Transit but outside the tunnel filter: exemptions apply as usual.
    EXPECT_TRUE(exempt_as(run(p, udp4("10.9.0.7", "10.2.0.9", 500, 500)), SECPOL_EX_IKE));
}

// "IPSec tunnel-mode filters also cannot process multicast or broadcast packets."
TEST(Tunnel, NeverMatchesMulticastOrBroadcast) {
    auto p = policy(0);
    add(p, F{.act = Action::Block, .tunnel = "198.51.100.1"});
    EXPECT_EQ(run(p, udp4("10.1.0.7", "10.2.0.9", 1, 2)).reason, SECPOL_R_FILTER);
    for (auto pk : {udp4("10.1.0.7", "224.0.0.5", 1, 2), udp4("10.1.0.7", "255.255.255.255", 1, 2),
                    udp4("10.1.0.7", "192.168.0.255", 1, 2)}) {
        auto d = run(p, pk);
        EXPECT_EQ(d.reason, SECPOL_R_DEFAULT);
        EXPECT_EQ(d.key.w[SECPOL_F_MCBC], 1u);
    }
    // Broadcast is an IP destination: unicast in a broadcast frame is transit unicast.
    EXPECT_EQ(run(p, udp4("10.1.0.7", "10.2.0.9", 1, 2, pkt::kBroadcastMac)).reason, SECPOL_R_FILTER);
}

TEST(Tunnel, SecureTunnelTakesItsOuterHeaderAndTransitEsp) {
    auto p = policy(kNde3, Action::Block);
    add(p, F{.act = Action::Secure, .src = "10.1.0.0/16", .dst = "10.2.0.0/16", .tunnel = "198.51.100.1"});
    // Outer ESP between the endpoint and this host, either way.
    auto in = pkt::Ethernet{} / pkt::IPv4{.src = "198.51.100.1", .dst = "192.168.0.5"} / pkt::ESP{} /
              pkt::Raw::zeros(16);
    auto d = run(p, in);
    EXPECT_EQ(d.reason, SECPOL_R_IPSEC);
    EXPECT_EQ(d.rule_verdict, SECPOL_RV_PROTECTED);
    auto out = pkt::Ethernet{} / pkt::IPv4{.src = "192.168.0.5", .dst = "198.51.100.1"} /
               pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 77};
    EXPECT_EQ(run(p, out, SECPOL_DIR_OUT).reason, SECPOL_R_IPSEC);
    // ESP from another endpoint: nothing matches.
    auto other = pkt::Ethernet{} / pkt::IPv4{.src = "198.51.100.2", .dst = "192.168.0.5"} / pkt::ESP{};
    EXPECT_EQ(run(p, other).reason, SECPOL_R_DEFAULT);
    // Clear transit traffic of the tunnel is a leak.
    EXPECT_TRUE(blocked_by_filter(run(p, tcp4("10.1.0.7", "10.2.0.9", 1234, 80), SECPOL_DIR_OUT)));
    // Transit ESP between addresses of the tunnel filter: secure matches on addresses alone.
    auto tesp = pkt::Ethernet{} / pkt::IPv4{.src = "10.1.0.7", .dst = "10.2.0.9"} / pkt::ESP{};
    EXPECT_EQ(run(p, tesp).reason, SECPOL_R_IPSEC);
}

// --- Actions (section 3) --------------------------------------------------------------------

TEST(Actions, SecureInboundAndOutbound) {
    auto require = policy(kNde3);
    add(require, F{.act = Action::Secure, .src = "10.1.0.0/16", .dst = "me", .proto = 6});
    add(require, F{.act = Action::Secure, .src = "me", .dst = "10.1.0.0/16", .proto = 6});
    auto in = tcp4("10.1.0.7", "192.168.0.5", 40000, 22);
    auto out = tcp4("192.168.0.5", "10.1.0.7", 22, 40000);
    auto d = run(require, in);
    EXPECT_EQ(d.verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(d.reason, SECPOL_R_FILTER);
    EXPECT_EQ(d.rule_verdict, SECPOL_RV_BLOCK);
    EXPECT_EQ(run(require, out, SECPOL_DIR_OUT).verdict, SECPOL_V_BLOCK);  // a leak

    auto request = policy(kNde3);
    add(request, F{.act = Action::Secure, .src = "10.1.0.0/16", .dst = "me", .accept_clear = true});
    add(request, F{.act = Action::Secure, .src = "me", .dst = "10.1.0.0/16", .fallback_clear = true});
    d = run(request, in);
    EXPECT_EQ(d.verdict, SECPOL_V_PERMIT);
    EXPECT_EQ(d.reason, SECPOL_R_FILTER);
    EXPECT_EQ(d.rule_verdict, SECPOL_RV_PERMIT);
    EXPECT_EQ(run(request, out, SECPOL_DIR_OUT).verdict, SECPOL_V_PERMIT);
    // accept-clear is about inbound only, fallback-clear about outbound only.
    auto half = policy(kNde3);
    add(half, F{.act = Action::Secure, .fallback_clear = true});
    EXPECT_EQ(run(half, in).verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(run(half, out, SECPOL_DIR_OUT).verdict, SECPOL_V_PERMIT);
    auto half2 = policy(kNde3);
    add(half2, F{.act = Action::Secure, .accept_clear = true});
    EXPECT_EQ(run(half2, in).verdict, SECPOL_V_PERMIT);
    EXPECT_EQ(run(half2, out, SECPOL_DIR_OUT).verdict, SECPOL_V_BLOCK);
}

TEST(Actions, ProtectedFormMatchesSecureOnAddressesAlone) {
    auto p = policy(kNde3, Action::Block);
    auto id = add(
        p,
        F{.act = Action::Secure, .src = "10.1.0.0/16", .dst = "me", .proto = 6, .dport = ir::Range{22, 22}});
    for (auto pk :
         {pkt::Ethernet{} / pkt::IPv4{.src = "10.1.0.7", .dst = "192.168.0.5"} / pkt::ESP{} /
              pkt::Raw::zeros(8),
          pkt::Ethernet{} / pkt::IPv4{.src = "10.1.0.7", .dst = "192.168.0.5"} / pkt::AH{} / pkt::TCP{},
          udp4("10.1.0.7", "192.168.0.5", 4500, 4500) / pkt::ESP{.spi = 5},
          udp4("10.1.0.7", "192.168.0.5", 61000, 4500) / pkt::ESP{.spi = 5}}) {
        auto d = run(p, pk);
        EXPECT_EQ(d.verdict, SECPOL_V_PERMIT);
        EXPECT_EQ(d.reason, SECPOL_R_IPSEC);
        EXPECT_EQ(d.rule, id);
        EXPECT_EQ(d.rule_verdict, SECPOL_RV_PROTECTED);
        EXPECT_EQ(d.key.w[SECPOL_F_IPSEC], 1u);
    }
    // IKE on 4500 (zero marker) is not the protected form: the default decides.
    auto ike = run(p, udp4("10.1.0.7", "192.168.0.5", 4500, 4500) / pkt::ESP{.spi = 0});
    EXPECT_EQ(ike.reason, SECPOL_R_DEFAULT);
    // Wrong addresses: no match.
    auto far = pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.7", .dst = "192.168.0.5"} / pkt::ESP{};
    EXPECT_EQ(run(p, far).reason, SECPOL_R_DEFAULT);
    // Non-secure filters do not get the addresses-alone match.
    auto q = policy(kNde3);
    add(q, F{.act = Action::Block, .proto = 6});
    EXPECT_EQ(run(q, far).reason, SECPOL_R_DEFAULT);
}

TEST(Actions, FiltersNamingEspApplyAsWritten) {
    auto p = policy(kNde3);
    add(p, F{.act = Action::Block, .proto = 50, .label = "no esp"});
    add(p, F{.act = Action::Secure});
    auto esp = pkt::Ethernet{} / pkt::IPv4{.src = "10.1.0.7", .dst = "192.168.0.5"} / pkt::ESP{};
    auto d = run(p, esp);
    EXPECT_TRUE(blocked_by_filter(d));
    EXPECT_EQ(d.rule, 0u);
    EXPECT_EQ(d.key.w[SECPOL_F_IPSEC], 1u);
    // A permit of UDP 4500 passes ESP-in-UDP in clear terms.
    auto q = policy(kNde3);
    add(q, F{.act = Action::Permit, .proto = 17, .dport = ir::Range{4500, 4500}});
    auto d2 = run(q, udp4("10.1.0.7", "192.168.0.5", 4500, 4500) / pkt::ESP{.spi = 9});
    EXPECT_EQ(d2.reason, SECPOL_R_FILTER);
    EXPECT_EQ(d2.rule_verdict, SECPOL_RV_PERMIT);
}

// --- Filter matching (section 4) --------------------------------------------------------------

TEST(Match, FirstFilterInPolicyOrderWins) {
    auto p = policy(0);
    add(p, F{.act = Action::Permit, .proto = 6, .dport = ir::Range{80, 80}});
    add(p, F{.act = Action::Block, .proto = 6});
    EXPECT_EQ(run(p, tcp4("10.1.1.1", "192.168.0.5", 999, 80)).rule, 0u);
    auto d = run(p, tcp4("10.1.1.1", "192.168.0.5", 999, 81));
    EXPECT_EQ(d.rule, 1u);
    EXPECT_EQ(d.filter, 1);
    EXPECT_EQ(d.verdict, SECPOL_V_BLOCK);
}

TEST(Match, Direction) {
    auto p = policy(0);
    add(p, F{.act = Action::Block, .dir = ir::Dir::In});
    EXPECT_EQ(run(p, tcp4("10.1.1.1", "192.168.0.5", 1, 2), SECPOL_DIR_IN).verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(run(p, tcp4("192.168.0.5", "10.1.1.1", 2, 1), SECPOL_DIR_OUT).reason, SECPOL_R_DEFAULT);
    auto q = policy(0);
    add(q, F{.act = Action::Block, .dir = ir::Dir::Out});
    EXPECT_EQ(run(q, tcp4("10.1.1.1", "192.168.0.5", 1, 2), SECPOL_DIR_IN).reason, SECPOL_R_DEFAULT);
    EXPECT_EQ(run(q, tcp4("192.168.0.5", "10.1.1.1", 2, 1), SECPOL_DIR_OUT).verdict, SECPOL_V_BLOCK);
}

TEST(Match, MeAnyAndPrefixesByFamily) {
    auto p = policy(0);
    add(p, F{.act = Action::Block, .src = "me", .dst = "10.0.0.0/8"});
    add(p, F{.act = Action::Block, .src = "::/0", .dst = "me"});
    // me -> 10/8
    EXPECT_EQ(run(p, tcp4("192.168.0.5", "10.3.3.3", 1, 2), SECPOL_DIR_OUT).rule, 0u);
    EXPECT_EQ(run(p, tcp4("192.168.0.6", "10.3.3.3", 1, 2), SECPOL_DIR_OUT).reason, SECPOL_R_DEFAULT);
    // ::/0 is every IPv6 address and no IPv4 one.
    auto v6 = pkt::Ethernet{} / pkt::IPv6{.src = "2001:db8:ff::1", .dst = "2001:db8::5"} / pkt::TCP{};
    EXPECT_EQ(run(p, v6).rule, 1u);
    EXPECT_EQ(run(p, tcp4("10.3.3.3", "192.168.0.5", 1, 2)).reason, SECPOL_R_DEFAULT);
    // And 0.0.0.0/0 is no IPv6 address.
    auto q = policy(0);
    add(q, F{.act = Action::Block, .src = "0.0.0.0/0"});
    EXPECT_EQ(run(q, v6).reason, SECPOL_R_DEFAULT);
    EXPECT_EQ(run(q, tcp4("10.3.3.3", "192.168.0.5", 1, 2)).verdict, SECPOL_V_BLOCK);
}

TEST(Match, PortsAndIcmpTypeCode) {
    auto p = policy(0);
    add(p,
        F{.act = Action::Block, .proto = 6, .sport = ir::Range{1024, 65535}, .dport = ir::Range{135, 139}});
    add(p, F{.act = Action::Block, .proto = 1, .sport = ir::Range{8, 8}, .dport = ir::Range{0, 0}});
    EXPECT_EQ(run(p, tcp4("10.1.1.1", "192.168.0.5", 1024, 139)).verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(run(p, tcp4("10.1.1.1", "192.168.0.5", 1023, 139)).reason, SECPOL_R_DEFAULT);
    EXPECT_EQ(run(p, tcp4("10.1.1.1", "192.168.0.5", 5000, 140)).reason, SECPOL_R_DEFAULT);
    EXPECT_EQ(run(p, udp4("10.1.1.1", "192.168.0.5", 5000, 135)).reason, SECPOL_R_DEFAULT);
    auto echo = pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5"} / pkt::ICMP{.type = 8, .code = 0};
    EXPECT_EQ(run(p, echo).rule, 1u);
    auto unreach = pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5"} / pkt::ICMP{.type = 3, .code = 3};
    EXPECT_EQ(run(p, unreach).reason, SECPOL_R_DEFAULT);
}

TEST(Match, NonFirstFragments) {
    auto p = policy(0, Action::Block);
    add(p, F{.act = Action::Permit, .proto = 17, .dport = ir::Range{0, 0}});  // even port 0 needs known ports
    auto frag = pkt::Ethernet{} / pkt::IPv4{.dst = "192.168.0.5", .proto = 17, .frag_offset = 100} /
                pkt::Raw::zeros(8);
    auto d = run(p, frag);
    EXPECT_EQ(d.reason, SECPOL_R_FRAGMENT);
    EXPECT_EQ(d.verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(d.key.w[SECPOL_F_FRAG], 1u);
    // A protocol-only filter matches fragments.
    auto q = policy(0, Action::Block);
    add(q, F{.act = Action::Permit, .proto = 17});
    EXPECT_EQ(run(q, frag).reason, SECPOL_R_FILTER);
    // IPv6 too; default permit: reason fragment, verdict permit.
    auto v6 = pkt::Ethernet{} / pkt::IPv6{.dst = "2001:db8::5"} /
              pkt::Fragment6{.offset = 9, .next_header = 6} / pkt::Raw::zeros(8);
    auto d6 = run(policy(0), v6);
    EXPECT_EQ(d6.reason, SECPOL_R_FRAGMENT);
    EXPECT_EQ(d6.verdict, SECPOL_V_PERMIT);
}

// --- Malformed, non-IP, default, key ------------------------------------------------------------

TEST(Classify, MalformedBlocksNonIpPermits) {
    auto p = policy(kWin2000);
    add(p, F{.act = Action::Permit});
    auto bad = pkt::Ethernet{} / pkt::IPv4{.ihl = 4} / pkt::UDP{.sport = 500, .dport = 500};
    auto d = run(p, bad);
    EXPECT_EQ(d.verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(d.reason, SECPOL_R_MALFORMED);
    EXPECT_FALSE(d.detail.empty());
    for (uint32_t w : d.key.w) EXPECT_EQ(w, 0u);
    auto b = block_all(0);
    auto arp =
        run(b, pkt::Packet(pkt::Ethernet{.dst = pkt::kBroadcastMac, .type = 0x0806}) / pkt::Raw::zeros(28));
    EXPECT_EQ(arp.verdict, SECPOL_V_PERMIT);
    EXPECT_EQ(arp.reason, SECPOL_R_NONIP);
}

// Issue 12 item 3: `non-ip block` drops what carries no IP.
TEST(Classify, NonIpFollowsTheNonIpStatement) {
    auto b = block_all(0);
    const auto arp = pkt::Packet(pkt::Ethernet{.type = 0x0806}) / pkt::Raw::zeros(28);
    const auto mpls =
        pkt::Packet(pkt::Ethernet{.type = 0x8847}) / pkt::Raw{{0, 1, 1, 0x40}} / pkt::IPv4{} / pkt::UDP{};
    for (const auto* pk : {&arp, &mpls}) {
        b.nonip_action = Action::Permit;
        auto d = run(b, *pk);
        EXPECT_EQ(d.verdict, SECPOL_V_PERMIT);
        EXPECT_EQ(d.reason, SECPOL_R_NONIP);
        b.nonip_action = Action::Block;
        d = run(b, *pk);
        EXPECT_EQ(d.verdict, SECPOL_V_BLOCK);
        EXPECT_EQ(d.reason, SECPOL_R_NONIP);
    }
}

TEST(Classify, DefaultVerdict) {
    EXPECT_EQ(run(policy(0), tcp4("10.1.1.1", "192.168.0.5", 1, 2)).verdict, SECPOL_V_PERMIT);
    auto d = run(policy(0, Action::Block), tcp4("10.1.1.1", "192.168.0.5", 1, 2));
    EXPECT_EQ(d.verdict, SECPOL_V_BLOCK);
    EXPECT_EQ(d.reason, SECPOL_R_DEFAULT);
}

TEST(Classify, KeyIsFilledLikeTheBpfProgram) {
    auto d =
        run(policy(0), pkt::Ethernet{} / pkt::Vlan{7} / pkt::IPv4{.src = "10.1.2.3", .dst = "192.168.0.5"} /
                           pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 1});
    const auto& w = d.key.w;
    EXPECT_EQ(w[SECPOL_F_SRC0], 0u);
    EXPECT_EQ(w[SECPOL_F_SRC2], 0xffffu);
    EXPECT_EQ(w[SECPOL_F_SRC3], 0x0a010203u);
    EXPECT_EQ(w[SECPOL_F_DST3], 0xc0a80005u);
    EXPECT_EQ(w[SECPOL_F_PROTO], 17u);
    EXPECT_EQ(w[SECPOL_F_SPORT], 4500u);
    EXPECT_EQ(w[SECPOL_F_DPORT], 4500u);
    EXPECT_EQ(w[SECPOL_F_SRC_LOCAL], 0u);
    EXPECT_EQ(w[SECPOL_F_DST_LOCAL], 1u);
    EXPECT_EQ(w[SECPOL_F_MCBC], 0u);
    EXPECT_EQ(w[SECPOL_F_FRAG], 0u);
    EXPECT_EQ(w[SECPOL_F_IPSEC], 1u);
    auto v6 =
        run(policy(0),
            pkt::Ethernet{} / pkt::IPv6{.src = "2001:db8::5", .dst = "ff02::1"} / pkt::ICMPv6{.type = 134},
            SECPOL_DIR_OUT);
    EXPECT_EQ(v6.key.w[SECPOL_F_SRC0], 0x20010db8u);
    EXPECT_EQ(v6.key.w[SECPOL_F_DST0], 0xff020000u);
    EXPECT_EQ(v6.key.w[SECPOL_F_DST3], 1u);
    EXPECT_EQ(v6.key.w[SECPOL_F_SPORT], 134u);
    EXPECT_EQ(v6.key.w[SECPOL_F_SRC_LOCAL], 1u);
    EXPECT_EQ(v6.key.w[SECPOL_F_MCBC], 1u);
    EXPECT_EQ(v6.dir, uint32_t(SECPOL_DIR_OUT));
}

TEST(Classify, DecisionJson) {
    auto p = policy(kWin2000);
    add(p, F{.act = Action::Block, .proto = 6, .dport = ir::Range{445, 445}, .label = "no SMB"});
    auto j = ref::decision_json(p, run(p, tcp4("10.1.1.1", "192.168.0.5", 1, 445)));
    EXPECT_EQ(j["verdict"], "block");
    EXPECT_EQ(j["reason"], "filter");
    EXPECT_EQ(j["filter"]["id"], 0);
    EXPECT_EQ(j["filter"]["label"], "no SMB");
    EXPECT_EQ(j["filter"]["line"], 10);
    EXPECT_FALSE(j.contains("exemption"));
    auto e = ref::decision_json(p, run(p, udp4("10.1.1.1", "192.168.0.5", 500, 500)));
    EXPECT_EQ(e["verdict"], "permit");
    EXPECT_EQ(e["reason"], "exemption");
    EXPECT_EQ(e["exemption"], "ike");
    EXPECT_FALSE(e.contains("filter"));
    EXPECT_EQ(e["key"]["dport"], 500);
    auto m = ref::decision_json(p, run(p, pkt::Packet(pkt::Ethernet{}).truncate(10)));
    EXPECT_EQ(m["reason"], "malformed");
    EXPECT_FALSE(m.contains("key"));
}

// --- Real traffic (../shared/captures): each capture's traffic class lands where the seed says ---

namespace {

// reason[:exemption][+ipsec] -> packets, for every packet of a capture classified inbound with
// every exemption on and no filters.
std::map<std::string, int> census(const std::string& file) {
    std::map<std::string, int> out;
    auto pkts = secpol::rt::read_capture(std::string(SECPOL_SHARED_DIR) + "/captures/" + file);
    if (!pkts) return out;
    auto p = policy(0xffu);  // every exemption
    for (const auto& b : *pkts) {
        auto d = ref::classify(p, b.data(), b.size(), SECPOL_DIR_IN, net::LocalTable{});
        std::string k = ref::reason_name(d.reason);
        if (d.reason == SECPOL_R_EXEMPTION) k += std::string(":") + ir::exemption_name(d.exemption);
        if (d.key.w[SECPOL_F_IPSEC]) k += "+ipsec";
        out[k]++;
    }
    return out;
}

using Census = std::map<std::string, int>;

}  // namespace

TEST(Captures, SeedTrafficClasses) {
    ASSERT_TRUE(std::filesystem::exists(std::string(SECPOL_SHARED_DIR) + "/captures/MANIFEST.tsv"))
        << "shared/captures missing beside the checkout";
    EXPECT_EQ(census("tcpdump__ISAKMP_sa_setup.pcap"), (Census{{"exemption:ike", 9}}));
    EXPECT_EQ(census("peafowl__kerberos5.cap"), (Census{{"exemption:kerberos", 32}}));
    EXPECT_EQ(census("peafowl__rsvp.pcap"), (Census{{"exemption:rsvp", 3}}));
    EXPECT_EQ(census("tcpdump__IGMP_V2.pcap"), (Census{{"exemption:multicast", 18}}));
    EXPECT_EQ(census("zeek__mdns.pcap"), (Census{{"exemption:multicast", 24}}));
    EXPECT_EQ(census("zeek__dhcp.pcap"), (Census{{"exemption:broadcast", 7}, {"exemption:dhcp", 2}}));
    EXPECT_EQ(census("tcpdump__08-sunrise-sunset-esp2.pcap"), (Census{{"default+ipsec", 8}}));
    // IKE on 500, IKE on 4500 (non-ESP marker), ESP-in-UDP (SPI), ARP.
    EXPECT_EQ(census("tcpdump__isakmp4500.pcap"), (Census{{"exemption:ike", 4},
                                                          {"exemption:ike-nat-t", 15},
                                                          {"exemption:ike-nat-t+ipsec", 8},
                                                          {"non-ip", 8}}));
    EXPECT_EQ(census("zeek__http-vlan-0.pcap"), (Census{{"default", 14}}));
    // Atomic fragments are ordinary packets; the rest is unicast TCP, one ND and one multicast.
    EXPECT_EQ(census("zeek__ipv6-http-atomic-frag.pcap"),
              (Census{{"default", 36}, {"exemption:multicast", 1}, {"exemption:nd", 1}}));
    EXPECT_EQ(census("pcpp__ip4_fragments.pcap"), (Census{{"default", 12}, {"fragment", 41}}));
    EXPECT_EQ(census("peafowl__ip_fragmentation_overlapping.pcap"),
              (Census{{"default", 1}, {"fragment", 9}}));
    // Captured with a snap length: three frames end before their IP total length.
    EXPECT_EQ(census("zeek__communityid_tcp.pcap"), (Census{{"default", 9}, {"malformed", 3}}));
}

// Section 6: `log` marks the decisions of a rule (or the default) as logged
// and changes nothing else; exemptions, malformed and non-IP never log.
TEST(Classify, LogMarksTheDecisionAndNeverChangesIt) {
    auto plain = policy(kWin2000, Action::Block);
    add(plain, F{.act = Action::Block, .proto = 6, .dport = ir::Range{445, 445}});
    add(plain, F{.act = Action::Permit, .proto = 17});
    auto logged = plain;
    logged.rules[0].log = ir::LogSpec{};
    logged.default_log = ir::LogSpec{};
    const std::vector<std::pair<pkt::Packet, bool>> cases = {
        {tcp4("10.0.0.1", "192.168.0.5", 1, 445), true},     // rule 0: logs
        {udp4("10.0.0.1", "192.168.0.5", 1, 53), false},     // rule 1: no log
        {tcp4("10.0.0.1", "192.168.0.5", 1, 80), true},      // default: logs
        {udp4("10.0.0.1", "192.168.0.5", 500, 500), false},  // ike exemption
        {proto4("10.0.0.1", "192.168.0.5", 46), false},      // rsvp exemption
    };
    for (const auto& [pk, logs] : cases) {
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            auto a = run(plain, pk, dir), b = run(logged, pk, dir);
            EXPECT_EQ(a.verdict, b.verdict);
            EXPECT_EQ(a.reason, b.reason);
            EXPECT_EQ(a.rule, b.rule);
            EXPECT_FALSE(a.log);
            EXPECT_EQ(b.log, logs);
        }
    }
    auto bytes = tcp4("10.0.0.1", "192.168.0.5", 1, 445).bytes();
    bytes.resize(20);
    EXPECT_FALSE(ref::classify(logged, bytes.data(), bytes.size(), SECPOL_DIR_IN, kHost).log);
    EXPECT_EQ(ref::decision_json(logged, run(logged, tcp4("10.0.0.1", "192.168.0.5", 1, 445)))["log"], true);
}
