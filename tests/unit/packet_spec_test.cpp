// The explain packet spec: accepted forms, the frames they build, and errors.
#include <gtest/gtest.h>

#include "packet/spec.h"
#include "ref/classify.h"

using namespace secpol;

namespace {

ref::Parsed parsed(const std::string& text) {
    std::string err;
    auto s = pkt::parse_packet_spec(text, &err);
    EXPECT_TRUE(s.has_value()) << text << ": " << err;
    if (!s) return {};
    auto b = pkt::build_packet(*s).bytes();
    return ref::parse(b.data(), b.size());
}

std::string error_of(const std::string& text) {
    std::string err;
    auto s = pkt::parse_packet_spec(text, &err);
    EXPECT_FALSE(s.has_value()) << text;
    return err;
}

}  // namespace

TEST(PacketSpec, UdpIpv4WithPorts) {
    auto p = parsed("udp 10.0.0.1:500 > 10.0.0.2:500");
    ASSERT_EQ(p.kind, ref::Parsed::Kind::Ok);
    EXPECT_TRUE(p.v4);
    EXPECT_EQ(p.proto, 17);
    EXPECT_EQ(p.sport, 500);
    EXPECT_EQ(p.dport, 500);
    EXPECT_EQ(p.src, *net::parse_addr("10.0.0.1"));
    EXPECT_EQ(p.dst, *net::parse_addr("10.0.0.2"));
    EXPECT_FALSE(p.eth_broadcast);
}

TEST(PacketSpec, Ipv6BracketedAndBare) {
    auto p = parsed("tcp [2001:db8::1]:1234 > [2001:db8::2]:88");
    EXPECT_FALSE(p.v4);
    EXPECT_EQ(p.proto, 6);
    EXPECT_EQ(p.dport, 88);
    auto q = parsed("rsvp 2001:db8::1 > ff02::1");
    EXPECT_EQ(q.proto, 46);
    EXPECT_EQ(q.dst, *net::parse_addr("ff02::1"));
    auto r = parsed("udp [2001:db8::1] > [2001:db8::2]:547");
    EXPECT_EQ(r.sport, 0);
    EXPECT_EQ(r.dport, 547);
}

TEST(PacketSpec, ProtocolNamesAndNumbers) {
    EXPECT_EQ(parsed("46 10.0.0.1 > 10.0.0.2").proto, 46);
    EXPECT_EQ(parsed("RSVP 10.0.0.1 > 10.0.0.2").proto, 46);
    EXPECT_EQ(parsed("gre 10.0.0.1 > 10.0.0.2").proto, 47);
    EXPECT_EQ(parsed("6 10.0.0.1:1 > 10.0.0.2:2").dport, 2);  // numbers get ports when they are tcp/udp
    EXPECT_EQ(parsed("0x11 10.0.0.1:1 > 10.0.0.2:53").proto, 17);
}

TEST(PacketSpec, IcmpTypeAndCode) {
    auto p = parsed("icmp 10.0.0.1 > 10.0.0.2 type 3 code 4");
    EXPECT_EQ(p.sport, 3);
    EXPECT_EQ(p.dport, 4);
    auto echo = parsed("icmp 10.0.0.1 > 10.0.0.2");
    EXPECT_EQ(echo.sport, 8);
    auto ns = parsed("icmpv6 fe80::1 > ff02::1:ff00:2 type 135");
    EXPECT_EQ(ns.proto, 58);
    EXPECT_EQ(ns.sport, 135);
    EXPECT_EQ(parsed("icmpv6 fe80::1 > ff02::1").sport, 128);
}

TEST(PacketSpec, IpsecForms) {
    auto esp = parsed("esp 10.0.0.1 > 10.0.0.2");
    EXPECT_TRUE(esp.ipsec);
    EXPECT_TRUE(parsed("ah 10.0.0.1 > 10.0.0.2 spi 0x1234").ipsec);
    EXPECT_TRUE(parsed("udp 10.0.0.1:4500 > 10.0.0.2:4500 spi 7").ipsec);
    EXPECT_FALSE(parsed("udp 10.0.0.1:4500 > 10.0.0.2:4500 spi 0").ipsec);  // IKE's non-ESP marker
    EXPECT_FALSE(parsed("udp 10.0.0.1:4500 > 10.0.0.2:4500").ipsec);
}

TEST(PacketSpec, FragmentsAndBroadcastFrame) {
    auto later = parsed("udp 10.0.0.1 > 10.0.0.2 frag 10");
    EXPECT_TRUE(later.nonfirst_frag);
    EXPECT_EQ(later.proto, 17);
    auto first = parsed("udp 10.0.0.1:53 > 10.0.0.2:1000 frag 0");
    EXPECT_FALSE(first.nonfirst_frag);
    EXPECT_EQ(first.sport, 53);
    auto v6 = parsed("tcp 2001:db8::1 > 2001:db8::2 frag 3");
    EXPECT_TRUE(v6.nonfirst_frag);
    EXPECT_EQ(v6.proto, 6);
    auto v6first = parsed("tcp [2001:db8::1]:1 > [2001:db8::2]:22 frag 0");
    EXPECT_FALSE(v6first.nonfirst_frag);
    EXPECT_EQ(v6first.dport, 22);
    EXPECT_TRUE(parsed("udp 10.0.0.1:68 > 10.0.0.255:67 ether-broadcast").eth_broadcast);
}

TEST(PacketSpec, CompactArrow) {
    EXPECT_EQ(parsed("udp 10.0.0.1:1>10.0.0.2:2").dport, 2);
}

TEST(PacketSpec, Errors) {
    EXPECT_NE(error_of("").find("expected"), std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.1:500 10.0.0.2:500").find("expected"), std::string::npos);
    EXPECT_NE(error_of("bogus 10.0.0.1 > 10.0.0.2").find("unknown protocol 'bogus'"), std::string::npos);
    EXPECT_NE(error_of("256 10.0.0.1 > 10.0.0.2").find("unknown protocol"), std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.300:1 > 10.0.0.2:2").find("source '10.0.0.300:1'"), std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.1:1 > 10.0.0.2:70000").find("destination port '70000'"),
              std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.1:1 > 10.0.0.2:").find("missing port"), std::string::npos);
    EXPECT_NE(error_of("udp 2001:db8::1:500x > 2001:db8::2").find("[ADDR]:PORT"), std::string::npos);
    EXPECT_NE(error_of("udp [10.0.0.1]:1 > 10.0.0.2").find("not an IPv6 address"), std::string::npos);
    EXPECT_NE(error_of("udp [2001:db8::1 > 2001:db8::2").find("missing ']'"), std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.1 > 2001:db8::2").find("different address families"), std::string::npos);
    EXPECT_NE(error_of("icmp 10.0.0.1:1 > 10.0.0.2").find("only for tcp and udp"), std::string::npos);
    EXPECT_NE(error_of("tcp 10.0.0.1 > 10.0.0.2 type 3").find("only for icmp"), std::string::npos);
    EXPECT_NE(error_of("icmp 10.0.0.1 > 10.0.0.2 type 300").find("0-255"), std::string::npos);
    EXPECT_NE(error_of("icmp 10.0.0.1 > 10.0.0.2 type").find("needs a number"), std::string::npos);
    EXPECT_NE(error_of("icmp 2001:db8::1 > 2001:db8::2").find("use icmpv6"), std::string::npos);
    EXPECT_NE(error_of("icmpv6 10.0.0.1 > 10.0.0.2").find("use icmp"), std::string::npos);
    EXPECT_NE(error_of("tcp 10.0.0.1 > 10.0.0.2 spi 1").find("only for esp"), std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.1:1 > 10.0.0.2 frag 3").find("non-first fragment"), std::string::npos);
    EXPECT_NE(error_of("udp 10.0.0.1 > 10.0.0.2 sideways").find("unexpected 'sideways'"), std::string::npos);
}
