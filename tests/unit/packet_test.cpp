// The packet builder: byte layouts, automatic lengths and checksums, and the
// malformation knobs.
#include <gtest/gtest.h>

#include "packet/builder.h"

using namespace secpol;
using pkt::Bytes;

namespace {

uint16_t be16(const Bytes& b, size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
uint32_t be32(const Bytes& b, size_t at) {
    return uint32_t(be16(b, at)) << 16 | be16(b, at + 2);
}

}  // namespace

TEST(PacketBuilder, EthernetVlanIpv4Udp) {
    auto b = (pkt::Ethernet{} / pkt::Vlan{10} / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} /
              pkt::UDP{.sport = 500, .dport = 500} / pkt::Raw{{1, 2, 3}})
                 .bytes();
    ASSERT_EQ(b.size(), 14u + 4 + 20 + 8 + 3);
    EXPECT_EQ(be16(b, 12), 0x8100);
    EXPECT_EQ(be16(b, 14), 10);      // TCI
    EXPECT_EQ(be16(b, 16), 0x0800);  // inner type
    EXPECT_EQ(b[18], 0x45);
    EXPECT_EQ(be16(b, 20), 31);  // total length
    EXPECT_EQ(b[27], 17);
    EXPECT_EQ(pkt::inet_checksum(&b[18], 20), 0);  // header checksum verifies
    EXPECT_EQ(be32(b, 30), 0x0a000001u);
    EXPECT_EQ(be32(b, 34), 0x0a000002u);
    EXPECT_EQ(be16(b, 38), 500);
    EXPECT_EQ(be16(b, 40), 500);
    EXPECT_EQ(be16(b, 42), 11);  // UDP length
}

TEST(PacketBuilder, UdpChecksumVerifiesWithPseudoHeader) {
    auto b = (pkt::IPv4{.src = "192.0.2.1", .dst = "198.51.100.7"} / pkt::UDP{.sport = 1, .dport = 2} /
              pkt::Raw::text("hello"))
                 .bytes();
    // Re-sum the pseudo header + UDP: a correct checksum makes the total 0.
    Bytes ph{192, 0, 2, 1, 198, 51, 100, 7, 0, 17, 0, 13};
    uint32_t s = 0;
    for (size_t k = 0; k < ph.size(); k += 2) s += ph[k] << 8 | ph[k + 1];
    EXPECT_EQ(pkt::inet_checksum(&b[20], b.size() - 20, s), 0);
}

TEST(PacketBuilder, Ipv6ExtensionHeadersChainNextHeaders) {
    auto b = (pkt::Ethernet{} / pkt::IPv6{} / pkt::HopByHop{} / pkt::Routing{.len = 2} /
              pkt::Fragment6{.offset = 3, .m = true} / pkt::DestOpts{.len = 1} / pkt::UDP{})
                 .bytes();
    EXPECT_EQ(be16(b, 12), 0x86dd);
    EXPECT_EQ(b[14] >> 4, 6);
    EXPECT_EQ(be16(b, 18), 8 + 24 + 8 + 16 + 8);  // payload length
    EXPECT_EQ(b[20], 0);                          // hop-by-hop
    size_t o = 54;
    EXPECT_EQ(b[o], 43);
    EXPECT_EQ(b[o + 1], 0);
    o += 8;
    EXPECT_EQ(b[o], 44);
    EXPECT_EQ(b[o + 1], 2);
    o += 24;
    EXPECT_EQ(b[o], 60);
    EXPECT_EQ(be16(b, o + 2), (3 << 3) | 1);
    o += 8;
    EXPECT_EQ(b[o], 17);
    EXPECT_EQ(b[o + 1], 1);
    EXPECT_EQ(b.size(), o + 16 + 8);
}

TEST(PacketBuilder, MalformationKnobs) {
    auto b = (pkt::IPv4{.version = 5, .ihl = 4, .total_length = 9999} / pkt::TCP{.data_offset = 3}).bytes();
    EXPECT_EQ(b[0], 0x54);
    EXPECT_EQ(be16(b, 2), 9999);
    EXPECT_EQ(b[20 + 12] >> 4, 3);
    auto v6 = (pkt::IPv6{.version = 4, .payload_length = 1} / pkt::UDP{}).bytes();
    EXPECT_EQ(v6[0] >> 4, 4);
    EXPECT_EQ(be16(v6, 4), 1);
    auto t = (pkt::Ethernet{} / pkt::IPv4{} / pkt::TCP{}).truncate(30).bytes();
    EXPECT_EQ(t.size(), 30u);
    auto p = (pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{}).pad(10).bytes();
    EXPECT_EQ(p.size(), 14u + 28 + 10);
    EXPECT_EQ(be16(p, 16), 28);  // padding is not in the IP length
}

TEST(PacketBuilder, Ipv4OptionsAndFragments) {
    auto b =
        (pkt::IPv4{.mf = true, .frag_offset = 185, .options = {0x94, 0x04, 0, 0, 1}} / pkt::ICMP{}).bytes();
    EXPECT_EQ(b[0], 0x47);  // 20 + 8 bytes of options (5 padded to 8)
    EXPECT_EQ(be16(b, 6), 0x2000 | 185);
    EXPECT_EQ(b[9], 1);
    EXPECT_EQ(pkt::inet_checksum(&b[28], 8), 0);  // ICMP checksum
}

TEST(PacketBuilder, IpsecAndArbitraryProtocols) {
    auto esp = (pkt::IPv4{} / pkt::ESP{.spi = 0xdeadbeef} / pkt::Raw::zeros(16)).bytes();
    EXPECT_EQ(esp[9], 50);
    EXPECT_EQ(be32(esp, 20), 0xdeadbeefu);
    auto ah = (pkt::IPv6{} / pkt::AH{} / pkt::TCP{}).bytes();
    EXPECT_EQ(ah[6], 51);
    EXPECT_EQ(ah[40], 6);  // AH next header
    EXPECT_EQ(ah.size(), 40u + 24 + 20);
    auto natt = (pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 7}).bytes();
    EXPECT_EQ(be32(natt, 28), 7u);
    auto rsvp = (pkt::IPv4{.proto = 46} / pkt::Raw::zeros(8)).bytes();
    EXPECT_EQ(rsvp[9], 46);
    auto none = pkt::Packet(pkt::IPv6{}).bytes();
    EXPECT_EQ(none[6], 59);
    auto icmp6 = (pkt::IPv6{} / pkt::ICMPv6{.type = 135}).bytes();
    EXPECT_EQ(icmp6[6], 58);
    EXPECT_EQ(icmp6[40], 135);
}

TEST(PacketBuilder, BadAddressesThrow) {
    EXPECT_THROW((pkt::IPv4{.src = "10.0.0.300"} / pkt::UDP{}).bytes(), std::invalid_argument);
    EXPECT_THROW((pkt::Ethernet{.dst = "zz"} / pkt::IPv4{}).bytes(), std::invalid_argument);
}

TEST(PacketBuilder, QinQ) {
    auto b = (pkt::Ethernet{.dst = pkt::kBroadcastMac} / pkt::Vlan{.vid = 100, .tpid = 0x88a8} /
              pkt::Vlan{200} / pkt::IPv6{} / pkt::UDP{})
                 .bytes();
    EXPECT_EQ(b[0], 0xff);
    EXPECT_EQ(be16(b, 12), 0x88a8);
    EXPECT_EQ(be16(b, 16), 0x8100);
    EXPECT_EQ(be16(b, 20), 0x86dd);
}

TEST(PacketBuilder, SingleLayerBytes) {
    auto b = (pkt::Ethernet{.type = 0x0800}).bytes();
    ASSERT_EQ(b.size(), 14u);
    EXPECT_EQ(be16(b, 12), 0x0800);
    EXPECT_EQ(pkt::UDP{}.bytes().size(), 8u);
}
