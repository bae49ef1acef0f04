// ref::parse against docs/semantics.md section 1: every malformed rule, every
// truncation point, VLAN tags, fragments and the protected form.
#include <gtest/gtest.h>

#include "packet/builder.h"
#include "ref/classify.h"

using namespace secpol;
using ref::Parsed;

namespace {

Parsed parse(const pkt::Bytes& b) {
    return ref::parse(b.data(), b.size());
}
Parsed parse(const pkt::Packet& p) {
    return parse(p.bytes());
}

bool is_malformed(const Parsed& p) {
    return p.kind == Parsed::Kind::Malformed;
}

// Assertions as functions: packet expressions contain braces with commas,
// which a macro argument would split.
::testing::AssertionResult malformed(const pkt::Bytes& b, const std::string& why) {
    auto r = parse(b);
    if (!is_malformed(r)) return ::testing::AssertionFailure() << "not malformed, expected: " << why;
    if (r.why.find(why) == std::string::npos)
        return ::testing::AssertionFailure() << "malformed for: " << r.why;
    return ::testing::AssertionSuccess();
}
::testing::AssertionResult malformed(const pkt::Packet& p, const std::string& why) {
    return malformed(p.bytes(), why);
}

::testing::AssertionResult ok(const pkt::Packet& p) {
    auto r = parse(p);
    if (r.kind == Parsed::Kind::Ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << (r.why.empty() ? "non-ip" : r.why);
}

const pkt::Ethernet eth{};

}  // namespace

TEST(Parse, EthernetShorterThan14IsMalformed) {
    auto full = (eth / pkt::IPv4{} / pkt::UDP{}).bytes();
    for (size_t n = 0; n < 14; ++n)
        EXPECT_TRUE(malformed(pkt::Bytes(full.begin(), full.begin() + n), "Ethernet"));
}

TEST(Parse, NonIpEtherTypes) {
    for (uint16_t t : {0x0806, 0x88cc, 0x88b5}) {
        auto p = parse(pkt::Packet(pkt::Ethernet{.type = t}) / pkt::Raw::zeros(28));
        EXPECT_EQ(p.kind, Parsed::Kind::NonIp);
    }
    // A bare 14-byte header is enough to know it is not IP.
    EXPECT_EQ(parse(pkt::Packet(pkt::Ethernet{.type = 0x0806})).kind, Parsed::Kind::NonIp);
}

TEST(Parse, EthernetBroadcastFlag) {
    EXPECT_TRUE(parse(pkt::Ethernet{.dst = pkt::kBroadcastMac} / pkt::IPv4{} / pkt::UDP{}).eth_broadcast);
    EXPECT_FALSE(parse(pkt::Ethernet{.dst = "ff:ff:ff:ff:ff:fe"} / pkt::IPv4{} / pkt::UDP{}).eth_broadcast);
}

TEST(Parse, VlanZeroToThreeTags) {
    auto l4 = pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} / pkt::UDP{.sport = 1, .dport = 2};
    auto zero = parse(eth / l4);
    auto one = parse(eth / pkt::Vlan{10} / l4);
    auto two = parse(eth / pkt::Vlan{.vid = 10, .tpid = 0x88a8} / pkt::Vlan{20} / l4);
    for (const auto& p : {zero, one, two}) {
        EXPECT_EQ(p.kind, Parsed::Kind::Ok);
        EXPECT_EQ(p.dport, 2);
        EXPECT_EQ(p.dst, (net::Addr{0, 0, 0xffff, 0x0a000002}));
    }
    EXPECT_TRUE(malformed(eth / pkt::Vlan{1} / pkt::Vlan{2} / pkt::Vlan{3} / l4, "more than two tags"));
    EXPECT_TRUE(malformed(eth / pkt::Vlan{.vid = 1, .tpid = 0x88a8} / pkt::Vlan{.vid = 2, .tpid = 0x88a8} /
                              pkt::Vlan{.vid = 3, .tpid = 0x8100} / l4,
                          "more than two tags"));
    // Two tags around a non-IP payload are fine.
    EXPECT_EQ(parse(eth / pkt::Vlan{1} / pkt::Vlan{.vid = 2, .type = 0x0806} / pkt::Raw::zeros(28)).kind,
              Parsed::Kind::NonIp);
}

TEST(Parse, VlanTruncatedTag) {
    auto b = (eth / pkt::Vlan{10} / pkt::IPv4{} / pkt::UDP{}).bytes();
    for (size_t n = 14; n < 18; ++n)
        EXPECT_TRUE(malformed(pkt::Bytes(b.begin(), b.begin() + n), "VLAN: truncated"));
}

TEST(Parse, Ipv4HeaderChecks) {
    EXPECT_TRUE(malformed((eth / pkt::IPv4{} / pkt::TCP{}).truncate(14 + 19), "fewer than 20"));
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.version = 6} / pkt::UDP{}, "version is not 4"));
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.version = 5} / pkt::UDP{}, "version is not 4"));
    for (uint8_t ihl = 0; ihl < 5; ++ihl)
        EXPECT_TRUE(malformed(eth / pkt::IPv4{.ihl = ihl} / pkt::UDP{}, "IHL < 5"));
    // IHL says 15 words (60 bytes) but only 20 + 8 are there.
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.ihl = 15} / pkt::UDP{}, "IHL*4 bytes"));
    // Total length shorter than the header.
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.options = {1, 1, 1, 1}, .total_length = 20} / pkt::UDP{},
                          "total length < IHL"));
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.total_length = 19} / pkt::UDP{}, "total length < IHL"));
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.total_length = 29} / pkt::UDP{}, "beyond the frame"));
}

TEST(Parse, Ipv4OptionsAreSkipped) {
    // Record route (7), 11 bytes + padding: IHL 8.
    auto p = parse(eth / pkt::IPv4{.options = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}} /
                   pkt::TCP{.sport = 7, .dport = 9});
    ASSERT_EQ(p.kind, Parsed::Kind::Ok);
    EXPECT_EQ(p.proto, 6);
    EXPECT_EQ(p.sport, 7);
    EXPECT_EQ(p.dport, 9);
}

TEST(Parse, EthernetPaddingIsIgnored) {
    // 60-byte minimum frame: the padding after the IP end is not L4 payload.
    auto p = parse((eth / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500}).pad(18, 0xab));
    ASSERT_EQ(p.kind, Parsed::Kind::Ok);
    EXPECT_FALSE(p.ipsec);  // the 0xab padding is not an SPI
}

TEST(Parse, EveryTruncationOfEthIpv4TcpIsMalformed) {
    auto b = (eth / pkt::IPv4{.options = {1, 1, 1, 1}} / pkt::TCP{.options = {2, 4, 5, 0xb4}} /
              pkt::Raw::text("x"))
                 .bytes();
    ASSERT_EQ(parse(b).kind, Parsed::Kind::Ok);
    for (size_t n = 0; n < b.size(); ++n) {
        auto p = parse(pkt::Bytes(b.begin(), b.begin() + n));
        EXPECT_TRUE(is_malformed(p)) << "truncated to " << n;
    }
}

TEST(Parse, EveryTruncationOfEthIpv6ExtUdpIsMalformed) {
    auto b = (eth / pkt::Vlan{5} / pkt::IPv6{} / pkt::HopByHop{} / pkt::Routing{.len = 2} / pkt::DestOpts{} /
              pkt::UDP{} / pkt::Raw::text("payload"))
                 .bytes();
    ASSERT_EQ(parse(b).kind, Parsed::Kind::Ok);
    for (size_t n = 0; n < b.size(); ++n) {
        auto p = parse(pkt::Bytes(b.begin(), b.begin() + n));
        EXPECT_TRUE(is_malformed(p)) << "truncated to " << n;
    }
}

TEST(Parse, L4MinimumSizesBoundedByTheIpEnd) {
    // The L4 bytes are in the frame but outside the IP total length.
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.total_length = 20 + 19} / pkt::TCP{}, "TCP: fewer than 20"));
    EXPECT_TRUE(ok(eth / pkt::IPv4{.total_length = 20 + 20} / pkt::TCP{} / pkt::Raw::zeros(4)));
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.total_length = 20 + 7} / pkt::UDP{}, "UDP: fewer than 8"));
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.total_length = 20 + 3} / pkt::ICMP{}, "ICMP: fewer than 4"));
    EXPECT_TRUE(ok(eth / pkt::IPv4{.total_length = 20 + 4} / pkt::ICMP{}));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.payload_length = 3} / pkt::ICMPv6{}, "ICMPv6: fewer than 4"));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.payload_length = 7} / pkt::UDP{}, "UDP: fewer than 8"));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.payload_length = 8 + 19} / pkt::HopByHop{} / pkt::TCP{}, "TCP"));
    // Other protocols have no L4 check, even with no payload at all.
    auto rsvp = parse(pkt::Packet(eth) / pkt::IPv4{.proto = 46});
    ASSERT_EQ(rsvp.kind, Parsed::Kind::Ok);
    EXPECT_EQ(rsvp.proto, 46);
    EXPECT_EQ(rsvp.sport, 0);
    EXPECT_TRUE(ok(pkt::Packet(eth) / pkt::IPv6{.next_header = 47}));
}

TEST(Parse, IcmpTypeAndCodeInPorts) {
    auto p = parse(eth / pkt::IPv4{} / pkt::ICMP{.type = 3, .code = 13});
    EXPECT_EQ(p.proto, 1);
    EXPECT_EQ(p.sport, 3);
    EXPECT_EQ(p.dport, 13);
    auto q = parse(eth / pkt::IPv6{} / pkt::ICMPv6{.type = 135, .code = 0});
    EXPECT_EQ(q.proto, 58);
    EXPECT_EQ(q.sport, 135);
    EXPECT_EQ(q.dport, 0);
}

TEST(Parse, Ipv4Fragments) {
    // First fragment (MF, offset 0): ports parsed.
    auto first = parse(eth / pkt::IPv4{.mf = true} / pkt::UDP{.sport = 53, .dport = 1000});
    EXPECT_FALSE(first.nonfirst_frag);
    EXPECT_EQ(first.sport, 53);
    // Non-first: no ports, no L4 check, even with too few bytes for a header.
    auto later = parse(eth / pkt::IPv4{.proto = 17, .frag_offset = 100} / pkt::Raw::zeros(2));
    ASSERT_EQ(later.kind, Parsed::Kind::Ok);
    EXPECT_TRUE(later.nonfirst_frag);
    EXPECT_EQ(later.proto, 17);
    EXPECT_EQ(later.sport, 0);
    EXPECT_EQ(later.dport, 0);
    // A first fragment too short for its ports.
    EXPECT_TRUE(
        malformed(eth / pkt::IPv4{.proto = 17, .mf = true} / pkt::Raw::zeros(4), "UDP: fewer than 8"));
    EXPECT_TRUE(
        malformed(eth / pkt::IPv4{.proto = 6, .mf = true} / pkt::Raw::zeros(16), "TCP: fewer than 20"));
    // RFC 1858: TCP at offset 1 rewrites the header; UDP at offset 1 is merely odd.
    EXPECT_TRUE(malformed(eth / pkt::IPv4{.proto = 6, .frag_offset = 1} / pkt::Raw::zeros(24), "RFC 1858"));
    EXPECT_TRUE(ok(eth / pkt::IPv4{.proto = 17, .frag_offset = 1} / pkt::Raw::zeros(24)));
    auto tcp2 = parse(eth / pkt::IPv4{.proto = 6, .frag_offset = 2} / pkt::Raw::zeros(24));
    EXPECT_TRUE(tcp2.nonfirst_frag);
}

TEST(Parse, Ipv6HeaderChecks) {
    EXPECT_TRUE(malformed((eth / pkt::IPv6{} / pkt::UDP{}).truncate(14 + 39), "fewer than 40"));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.version = 4} / pkt::UDP{}, "version is not 6"));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.payload_length = 9} / pkt::UDP{}, "beyond the frame"));
    // Padding after the payload length is ignored.
    EXPECT_TRUE(ok((eth / pkt::IPv6{} / pkt::UDP{}).pad(20)));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.src = "::ffff:10.0.0.1"} / pkt::UDP{}, "IPv4-mapped"));
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.dst = "::ffff:10.0.0.1"} / pkt::UDP{}, "IPv4-mapped"));
}

TEST(Parse, Ipv6ExtensionHeadersAreSkipped) {
    auto p = parse(eth / pkt::IPv6{.src = "2001:db8::1", .dst = "ff02::1"} / pkt::HopByHop{} /
                   pkt::DestOpts{.len = 3} / pkt::Routing{.len = 2} / pkt::Fragment6{} / pkt::DestOpts{} /
                   pkt::TCP{.sport = 1, .dport = 2});
    ASSERT_EQ(p.kind, Parsed::Kind::Ok);
    EXPECT_FALSE(p.v4);
    EXPECT_EQ(p.proto, 6);
    EXPECT_EQ(p.dport, 2);
    EXPECT_EQ(p.src, (net::Addr{0x20010db8, 0, 0, 1}));
    EXPECT_EQ(p.dst, (net::Addr{0xff020000, 0, 0, 1}));
}

TEST(Parse, Ipv6ExtensionHeaderBeyondIpEnd) {
    // Hop-by-hop claims 16 bytes; the payload length leaves 8.
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.payload_length = 8} / pkt::HopByHop{.len = 1} / pkt::UDP{},
                          "beyond the IP end"));
    // Not even the length byte fits.
    EXPECT_TRUE(malformed(eth / pkt::IPv6{.payload_length = 1} / pkt::HopByHop{}, "beyond the IP end"));
    EXPECT_TRUE(
        malformed(eth / pkt::IPv6{.payload_length = 7} / pkt::Fragment6{} / pkt::UDP{}, "fragment header"));
}

TEST(Parse, Ipv6AtMostEightExtensionHeaders) {
    auto chain = [](int n) {
        pkt::Packet p = eth / pkt::IPv6{};
        for (int i = 0; i < n; ++i) p = p / pkt::DestOpts{};
        return p / pkt::UDP{.sport = 5, .dport = 6};
    };
    auto eight = parse(chain(8));
    ASSERT_EQ(eight.kind, Parsed::Kind::Ok);
    EXPECT_EQ(eight.dport, 6);
    EXPECT_TRUE(malformed(chain(9), "more than 8"));
    // The fragment header counts too.
    auto with_frag = [](int n) {
        pkt::Packet p = eth / pkt::IPv6{};
        for (int i = 0; i < n; ++i) p = p / pkt::DestOpts{};
        return p / pkt::Fragment6{} / pkt::UDP{};
    };
    EXPECT_TRUE(ok(with_frag(7)));
    EXPECT_TRUE(malformed(with_frag(8), "more than 8"));
}

TEST(Parse, Ipv6Fragments) {
    // Non-first fragment: stop at the fragment header, protocol is its next header, no ports.
    auto later = parse(eth / pkt::IPv6{} / pkt::HopByHop{} / pkt::Fragment6{.offset = 10, .next_header = 17} /
                       pkt::Raw::zeros(3));
    ASSERT_EQ(later.kind, Parsed::Kind::Ok);
    EXPECT_TRUE(later.nonfirst_frag);
    EXPECT_EQ(later.proto, 17);
    EXPECT_EQ(later.sport, 0);
    // First fragment (offset 0, M=1): parsing goes on to the ports.
    auto first = parse(eth / pkt::IPv6{} / pkt::Fragment6{.m = true} / pkt::UDP{.sport = 500, .dport = 500});
    EXPECT_FALSE(first.nonfirst_frag);
    EXPECT_EQ(first.sport, 500);
    EXPECT_TRUE(
        malformed(eth / pkt::IPv6{} / pkt::Fragment6{.m = true, .next_header = 17} / pkt::Raw::zeros(4),
                  "UDP: fewer than 8"));
    // Atomic fragment (offset 0, M=0) is an ordinary packet (RFC 6946).
    auto atomic = parse(eth / pkt::IPv6{} / pkt::Fragment6{} / pkt::TCP{.dport = 22});
    ASSERT_EQ(atomic.kind, Parsed::Kind::Ok);
    EXPECT_FALSE(atomic.nonfirst_frag);
    EXPECT_EQ(atomic.dport, 22);
}

TEST(Parse, Ipv6EspAndAhStopTheWalk) {
    auto esp = parse(eth / pkt::IPv6{} / pkt::HopByHop{} / pkt::ESP{} / pkt::Raw::zeros(8));
    EXPECT_EQ(esp.proto, 50);
    EXPECT_TRUE(esp.ipsec);
    auto ah = parse(eth / pkt::IPv6{} / pkt::AH{} / pkt::TCP{.dport = 22});
    EXPECT_EQ(ah.proto, 51);
    EXPECT_EQ(ah.dport, 0);  // AH's payload is not looked into
    EXPECT_TRUE(ah.ipsec);
}

TEST(Parse, IpsecFlag) {
    EXPECT_TRUE(parse(eth / pkt::IPv4{} / pkt::ESP{} / pkt::Raw::zeros(16)).ipsec);
    EXPECT_TRUE(parse(eth / pkt::IPv4{} / pkt::AH{} / pkt::UDP{}).ipsec);
    // ESP-in-UDP: non-zero SPI after the UDP header, either port 4500.
    EXPECT_TRUE(
        parse(eth / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 0x1234}).ipsec);
    EXPECT_TRUE(
        parse(eth / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 61000} / pkt::ESP{.spi = 1}).ipsec);
    EXPECT_TRUE(
        parse(eth / pkt::IPv6{} / pkt::UDP{.sport = 33000, .dport = 4500} / pkt::ESP{.spi = 1}).ipsec);
    // IKE on 4500: the zero non-ESP marker (RFC 3948).
    EXPECT_FALSE(
        parse(eth / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 0}).ipsec);
    // NAT keepalive: one 0xff byte, fewer than 8 bytes of payload.
    EXPECT_FALSE(parse(eth / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} / pkt::Raw{{0xff}}).ipsec);
    EXPECT_FALSE(
        parse(eth / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} / pkt::Raw{{0, 0, 0, 1, 0, 0, 0}})
            .ipsec);
    // The SPI must be inside the IP end, not in Ethernet padding.
    EXPECT_FALSE(parse(eth / pkt::IPv4{.total_length = 20 + 8 + 7} / pkt::UDP{.sport = 4500, .dport = 4500} /
                       pkt::ESP{.spi = 9})
                     .ipsec);
    // Other ports do not count, whatever the payload.
    EXPECT_FALSE(parse(eth / pkt::IPv4{} / pkt::UDP{.sport = 500, .dport = 500} / pkt::ESP{.spi = 9}).ipsec);
    // Non-first fragments: only by protocol.
    EXPECT_TRUE(parse(eth / pkt::IPv4{.proto = 50, .frag_offset = 20} / pkt::Raw::zeros(8)).ipsec);
    EXPECT_FALSE(parse(eth / pkt::IPv4{.proto = 17, .frag_offset = 20} / pkt::Raw::zeros(16)).ipsec);
    EXPECT_TRUE(
        parse(eth / pkt::IPv6{} / pkt::Fragment6{.offset = 3, .next_header = 51} / pkt::Raw::zeros(8)).ipsec);
}

// Issue 12 item 1: on tun/WireGuard the packet starts at the IP header.
TEST(Parse, L3PacketsStartAtTheIpHeader) {
    const ref::Frame l3{ref::Link::L3};
    auto v4 = (pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} / pkt::TCP{.sport = 5, .dport = 445}).bytes();
    auto p = ref::parse(v4.data(), v4.size(), l3);
    ASSERT_EQ(p.kind, Parsed::Kind::Ok);
    EXPECT_TRUE(p.v4);
    EXPECT_EQ(p.proto, 6);
    EXPECT_EQ(p.dport, 445);
    // The same bytes read as Ethernet: IP bytes 12-13 taken for an EtherType.
    EXPECT_EQ(ref::parse(v4.data(), v4.size()).kind, Parsed::Kind::NonIp);
    auto v6 = (pkt::IPv6{} / pkt::UDP{.dport = 53}).bytes();
    auto q = ref::parse(v6.data(), v6.size(), l3);
    ASSERT_EQ(q.kind, Parsed::Kind::Ok);
    EXPECT_FALSE(q.v4);
    EXPECT_EQ(q.dport, 53);
    auto v5 = (pkt::IPv4{.version = 5} / pkt::UDP{}).bytes();
    EXPECT_EQ(ref::parse(v5.data(), v5.size(), l3).kind, Parsed::Kind::Malformed);
    EXPECT_EQ(ref::parse(v4.data(), 0, l3).kind, Parsed::Kind::Malformed);
    for (size_t n = 1; n < v4.size(); ++n)
        EXPECT_EQ(ref::parse(v4.data(), n, l3).kind, Parsed::Kind::Malformed) << "cut at " << n;
}

// Issue 12 item 3: IP inside PPPoE sessions is IP.
TEST(Parse, PppoeSessionCarriesIp) {
    auto frame = [](uint16_t proto, const pkt::Bytes& payload, uint8_t vertype = 0x11) {
        pkt::Bytes b = pkt::Ethernet{.type = 0x8864}.bytes();
        const uint16_t len = static_cast<uint16_t>(payload.size() + 2);
        pkt::Bytes h = {vertype,       0, 0, 1, uint8_t(len >> 8), uint8_t(len), uint8_t(proto >> 8),
                        uint8_t(proto)};
        b.insert(b.end(), h.begin(), h.end());
        b.insert(b.end(), payload.begin(), payload.end());
        return b;
    };
    auto v4 = parse(frame(0x0021, (pkt::IPv4{.dst = "10.9.9.9"} / pkt::TCP{.dport = 445}).bytes()));
    ASSERT_EQ(v4.kind, Parsed::Kind::Ok);
    EXPECT_EQ(v4.dport, 445);
    EXPECT_EQ(v4.dst[3], 0x0a090909u);
    auto v6 = parse(frame(0x0057, (pkt::IPv6{} / pkt::UDP{.dport = 53}).bytes()));
    ASSERT_EQ(v6.kind, Parsed::Kind::Ok);
    EXPECT_EQ(v6.dport, 53);
    EXPECT_EQ(parse(frame(0xc021, pkt::Bytes(8, 1))).kind, Parsed::Kind::NonIp);
    EXPECT_TRUE(malformed(frame(0x0021, (pkt::IPv4{} / pkt::TCP{}).bytes(), 0x12), "PPPoE"));
    auto full = frame(0x0021, (pkt::IPv4{} / pkt::TCP{}).bytes());
    for (size_t n = 14; n < full.size(); ++n)
        EXPECT_TRUE(is_malformed(ref::parse(full.data(), n))) << "cut at " << n;
}

// Issue 12 item 4: total length 0 / payload length 0 in a GSO skb at tc.
TEST(Parse, GsoLengthZeroRunsToTheFrameEnd) {
    const ref::Frame gso{ref::Link::Ether, true};
    auto v4 = (pkt::Ethernet{} / pkt::IPv4{.total_length = 0} / pkt::TCP{.dport = 80} / pkt::Raw::zeros(100))
                  .bytes();
    EXPECT_EQ(ref::parse(v4.data(), v4.size(), gso).kind, Parsed::Kind::Ok);
    EXPECT_TRUE(malformed(v4, "total length < IHL*4"));
    auto v6 = (pkt::Ethernet{} / pkt::IPv6{.payload_length = 0} / pkt::HopByHop{} / pkt::TCP{.dport = 80} /
               pkt::Raw::zeros(100))
                  .bytes();
    auto p = ref::parse(v6.data(), v6.size(), gso);
    ASSERT_EQ(p.kind, Parsed::Kind::Ok);
    EXPECT_EQ(p.dport, 80);
    EXPECT_TRUE(is_malformed(parse(v6)));
}
