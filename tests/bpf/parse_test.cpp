// docs/semantics.md section 1 in the kernel: malformed frames, VLAN stacks,
// IPv4 options and lengths, IPv6 extension header chains, fragments, L4
// truncation, non-IP. Every frame is checked against the reference classifier
// in both directions (verdict, reason, rule, return code, key).
#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;
using pkt::Bytes;

namespace {

const char* kPolicy = R"(policy "parse"
exemptions none
order first-match
default permit
block proto tcp from any to any port 445 "smb"
block proto udp from any port 53 to any "dns replies"
block proto icmp type 3 from any to any "unreachables"
block proto icmpv6 type 1 from any to any "v6 unreachables"
block proto 50 from 10.9.0.0/16 to any "esp from 10.9"
block proto 47 from any to any "gre"
)";

class Parse : public ::testing::Test {
  protected:
    void SetUp() override {
        require_root();
        h_ = Harness::load(kPolicy);
        ASSERT_TRUE(h_);
    }
    // Agreement in both directions plus the expected reason.
    void check(const Bytes& b, uint32_t reason, const std::string& what) {
        auto t = expect_agree(*h_, SECPOL_DIR_IN, b, what);
        EXPECT_EQ(std::string(ref::reason_name(t.reason)), ref::reason_name(reason)) << what;
        expect_agree(*h_, SECPOL_DIR_OUT, b, what);
    }
    std::unique_ptr<Harness> h_;
};

pkt::Packet v4tcp(uint16_t dport = 445) {
    return pkt::Ethernet{} / pkt::IPv4{} / pkt::TCP{.dport = dport};
}
pkt::Packet v6tcp(uint16_t dport = 445) {
    return pkt::Ethernet{} / pkt::IPv6{} / pkt::TCP{.dport = dport};
}

}  // namespace

TEST_F(Parse, EthernetAndNonIp) {
    check((pkt::Ethernet{.type = 0x0806} / pkt::Raw::zeros(28)).bytes(), SECPOL_R_NONIP, "ARP");
    check((pkt::Ethernet{.type = 0x88cc} / pkt::Raw::zeros(40)).bytes(), SECPOL_R_NONIP, "LLDP");
    check(pkt::Packet(pkt::Ethernet{}).bytes(), SECPOL_R_NONIP, "bare Ethernet header");
    check(pkt::Packet(pkt::Ethernet{.type = 0x0800}).bytes(), SECPOL_R_MALFORMED, "IPv4 type, no header");
    check((pkt::Ethernet{.type = 0x86dd} / pkt::Raw::zeros(39)).bytes(), SECPOL_R_MALFORMED,
          "39 bytes of IPv6");
}

TEST_F(Parse, VlanStacks) {
    check((pkt::Ethernet{} / pkt::Vlan{10} / pkt::IPv4{} / pkt::TCP{.dport = 445}).bytes(), SECPOL_R_FILTER,
          "one tag");
    check((pkt::Ethernet{} / pkt::Vlan{.vid = 10, .tpid = 0x88a8} / pkt::Vlan{20} / pkt::IPv6{} /
           pkt::TCP{.dport = 445})
              .bytes(),
          SECPOL_R_FILTER, "QinQ");
    check(
        (pkt::Ethernet{} / pkt::Vlan{10} / pkt::Vlan{20} / pkt::Vlan{30} / pkt::IPv4{} / pkt::TCP{}).bytes(),
        SECPOL_R_MALFORMED, "three tags");
    check((pkt::Ethernet{} / pkt::Vlan{10} / pkt::IPv4{} / pkt::TCP{}).truncate(16).bytes(),
          SECPOL_R_MALFORMED, "truncated tag");
    check((pkt::Ethernet{} / pkt::Vlan{.vid = 10, .type = 0x0806} / pkt::Raw::zeros(28)).bytes(),
          SECPOL_R_NONIP, "ARP in a VLAN");
}

TEST_F(Parse, Ipv4HeaderChecks) {
    check(v4tcp().bytes(), SECPOL_R_FILTER, "plain");
    check((pkt::Ethernet{} / pkt::IPv4{.options = {1, 1, 1, 1, 1, 1, 1, 0}} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "options");
    check((pkt::Ethernet{} / pkt::IPv4{.options = pkt::Bytes(40, 1)} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "IHL 15");
    for (uint8_t ihl = 0; ihl < 5; ++ihl)
        check((pkt::Ethernet{} / pkt::IPv4{.ihl = ihl} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
              "IHL " + std::to_string(ihl));
    check((pkt::Ethernet{} / pkt::IPv4{.ihl = 15} / pkt::Raw::zeros(10)).bytes(), SECPOL_R_MALFORMED,
          "IHL 15 without the bytes");
    check((pkt::Ethernet{} / pkt::IPv4{.version = 6} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
          "version 6 in IPv4");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 19} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
          "total length < IHL*4");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 100} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
          "total length beyond the frame");
    check(v4tcp().truncate(14 + 19).bytes(), SECPOL_R_MALFORMED, "19 bytes of IPv4");
    check(v4tcp().pad(30, 0xee).bytes(), SECPOL_R_FILTER, "Ethernet padding");
    // Padding is outside the IP end: a TCP header that only fits thanks to it is truncated.
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 30} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_MALFORMED, "TCP cut by the total length");
}

// The fast path (parsing.h secpol_parse_fast4) takes IPv4 with IHL 5, no
// fragment offset, any protocol but UDP on port 4500; each of its
// conditions, just met and just missed, must give the generic parser's key
// and verdict.
TEST_F(Parse, Ipv4FastPathEdges) {
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 40} / pkt::TCP{.dport = 445}).bytes(), SECPOL_R_FILTER,
          "TCP, total length exactly 40");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 39} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_MALFORMED, "TCP, total length 39");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 28} / pkt::UDP{.sport = 53}).bytes(), SECPOL_R_FILTER,
          "UDP, total length exactly 28");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 27} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_MALFORMED, "UDP, total length 27");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 0} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_MALFORMED, "total length 0 outside GSO");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 53}).pad(20, 0x55).bytes(), SECPOL_R_FILTER,
          "UDP with Ethernet padding");
    check((pkt::Ethernet{} / pkt::IPv4{.df = true, .mf = true} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_FILTER, "DF and MF, offset 0");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} /
           pkt::Raw{{0, 0, 1, 2, 0, 0, 0, 0}})
              .bytes(),
          SECPOL_R_DEFAULT, "ESP-in-UDP (SPI 258): the generic path marks it");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 9} / pkt::Raw::zeros(8)).bytes(),
          SECPOL_R_DEFAULT, "port 4500, non-ESP marker");
    check((pkt::Ethernet{} / pkt::IPv4{.dst = "224.0.0.251"} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_FILTER, "multicast destination");
    check((pkt::Ethernet{} / pkt::IPv4{.dst = "255.255.255.255"} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_FILTER, "limited broadcast destination");
    check((pkt::Ethernet{} / pkt::IPv4{.src = "200.1.2.3", .dst = "250.4.5.6"} / pkt::TCP{.dport = 445})
              .bytes(),
          SECPOL_R_FILTER, "addresses >= 2^31");
    check(v4tcp().truncate(14 + 20 + 8).bytes(), SECPOL_R_MALFORMED,
          "TCP with 8 bytes: fast path's UDP bound only");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 24} / pkt::ICMP{.type = 3, .code = 1}).bytes(),
          SECPOL_R_FILTER, "ICMP, total length exactly 24");
    check((pkt::Ethernet{} / pkt::IPv4{.total_length = 23} / pkt::ICMP{.type = 3}).bytes(),
          SECPOL_R_MALFORMED, "ICMP, total length 23");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 58} / pkt::ICMPv6{.type = 1}).bytes(), SECPOL_R_FILTER,
          "ICMPv6 number in IPv4");
    check((pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.1"} / pkt::ESP{}).bytes(), SECPOL_R_FILTER,
          "ESP: protected form, no L4 bytes");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 51} / pkt::Raw::zeros(12)).bytes(), SECPOL_R_DEFAULT, "AH");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 46} / pkt::Raw::zeros(20)).bytes(), SECPOL_R_DEFAULT, "RSVP");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 47} / pkt::Raw::zeros(8)).bytes(), SECPOL_R_FILTER,
          "GRE with 8 bytes (fast path), no L4 check");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 47, .total_length = 20} / pkt::Raw::zeros(8)).bytes(),
          SECPOL_R_FILTER, "GRE, total length 20: the 8 bytes are padding");
}

TEST_F(Parse, L4Truncation) {
    check(v4tcp().truncate(14 + 20 + 19).bytes(), SECPOL_R_MALFORMED, "TCP 19 bytes");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 53}).truncate(14 + 20 + 7).bytes(),
          SECPOL_R_MALFORMED, "UDP 7 bytes");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::ICMP{.type = 3}).truncate(14 + 20 + 3).bytes(),
          SECPOL_R_MALFORMED, "ICMP 3 bytes");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::ICMPv6{.type = 1}).truncate(14 + 40 + 3).bytes(),
          SECPOL_R_MALFORMED, "ICMPv6 3 bytes");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::ICMP{.type = 3, .code = 1}).bytes(), SECPOL_R_FILTER,
          "ICMP type 3");
    check((pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 53}).bytes(), SECPOL_R_FILTER, "UDP from 53");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 47} / pkt::Raw::zeros(2)).bytes(), SECPOL_R_FILTER,
          "GRE: no L4 check");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 58} / pkt::ICMPv6{.type = 1}).bytes(), SECPOL_R_FILTER,
          "ICMPv6 number in IPv4: the ICMPv6 filter matches");
}

TEST_F(Parse, Ipv4Fragments) {
    check((pkt::Ethernet{} / pkt::IPv4{.mf = true} / pkt::TCP{.dport = 445}).bytes(), SECPOL_R_FILTER,
          "first fragment");
    check((pkt::Ethernet{} / pkt::IPv4{.mf = true} / pkt::TCP{.dport = 445}).truncate(14 + 20 + 10).bytes(),
          SECPOL_R_MALFORMED, "first fragment with a short TCP header");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 6, .frag_offset = 1} / pkt::Raw::zeros(20)).bytes(),
          SECPOL_R_MALFORMED, "TCP at offset 1 (RFC 1858)");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 6, .frag_offset = 2} / pkt::Raw::zeros(4)).bytes(),
          SECPOL_R_FRAGMENT, "TCP at offset 2");
    check((pkt::Ethernet{} / pkt::IPv4{.proto = 17, .frag_offset = 1} / pkt::Raw::zeros(4)).bytes(),
          SECPOL_R_FRAGMENT, "UDP at offset 1");
    check(
        (pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.1", .proto = 50, .frag_offset = 20} / pkt::Raw::zeros(4))
            .bytes(),
        SECPOL_R_FILTER, "ESP non-first fragment still matches an address filter on proto 50");
}

TEST_F(Parse, Ipv6HeaderChecks) {
    check(v6tcp().bytes(), SECPOL_R_FILTER, "plain");
    check((pkt::Ethernet{} / pkt::IPv6{.version = 4} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED, "version 4");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 100} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
          "payload length beyond the frame");
    check(v6tcp().pad(20).bytes(), SECPOL_R_FILTER, "padding");
    check((pkt::Ethernet{} / pkt::IPv6{.src = "::ffff:10.0.0.1"} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
          "IPv4-mapped source");
    check((pkt::Ethernet{} / pkt::IPv6{.dst = "::ffff:10.0.0.2"} / pkt::TCP{}).bytes(), SECPOL_R_MALFORMED,
          "IPv4-mapped destination");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::ICMPv6{.type = 1}).bytes(), SECPOL_R_FILTER, "ICMPv6 type 1");
}

// The IPv6 fast path (parsing.h secpol_parse_fast6) takes IPv6 without
// extension headers, payload whole, L4 header inside it, not UDP on 4500,
// no IPv4-mapped address; each condition just met and just missed gives the
// generic parser's key and verdict.
TEST_F(Parse, Ipv6FastPathEdges) {
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 20} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "TCP, payload length exactly 20");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 19} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_MALFORMED, "TCP, payload length 19");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 8} / pkt::UDP{.sport = 53}).bytes(), SECPOL_R_FILTER,
          "UDP, payload length exactly 8");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 7} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_MALFORMED, "UDP, payload length 7");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 0} / pkt::UDP{.sport = 53}).bytes(),
          SECPOL_R_MALFORMED, "UDP, payload length 0 outside GSO");
    check((pkt::Ethernet{} / pkt::IPv6{.next_header = 59, .payload_length = 0}).bytes(), SECPOL_R_DEFAULT,
          "no next header, payload length 0");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::UDP{.sport = 53}).pad(20, 0x55).bytes(), SECPOL_R_FILTER,
          "UDP with Ethernet padding");
    check(v6tcp().truncate(14 + 40 + 8).bytes(), SECPOL_R_MALFORMED,
          "TCP with 8 bytes: fast path's UDP bound only");
    check(v6tcp().truncate(14 + 40 + 7).bytes(), SECPOL_R_MALFORMED, "7 bytes after the header");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::UDP{.sport = 4500, .dport = 4500} /
           pkt::Raw{{0, 0, 1, 2, 0, 0, 0, 0}})
              .bytes(),
          SECPOL_R_DEFAULT, "ESP-in-UDP (SPI 258): the generic path marks it");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::UDP{.sport = 9, .dport = 4500} / pkt::Raw::zeros(8)).bytes(),
          SECPOL_R_DEFAULT, "port 4500, non-ESP marker");
    check((pkt::Ethernet{} / pkt::IPv6{.dst = "ff02::fb"} / pkt::UDP{.sport = 53}).bytes(), SECPOL_R_FILTER,
          "multicast destination");
    check((pkt::Ethernet{} / pkt::IPv6{.src = "fe80::ffff:1", .dst = "ffff::1"} / pkt::TCP{.dport = 445})
              .bytes(),
          SECPOL_R_FILTER, "words >= 2^31");
    check((pkt::Ethernet{} / pkt::IPv6{.src = "::fffe:0:1"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "::fffe:0:1 is not IPv4-mapped");
    check((pkt::Ethernet{} / pkt::IPv6{.src = "::1:ffff:10.0.0.1"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "::1:ffff:a.b.c.d is not IPv4-mapped");
    // The mapped test ORs the first three words (each against its value in
    // ::ffff:0:0/96): a nonzero first or second word alone keeps the
    // address out, for either address.
    check((pkt::Ethernet{} / pkt::IPv6{.src = "1::ffff:10.0.0.1"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "1::ffff:a.b.c.d (first word) is not IPv4-mapped");
    check((pkt::Ethernet{} / pkt::IPv6{.src = "::1:0:ffff:10.0.0.1"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "::1:0:ffff:a.b.c.d (second word) is not IPv4-mapped");
    check((pkt::Ethernet{} / pkt::IPv6{.dst = "1::ffff:10.0.0.2"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "destination 1::ffff:a.b.c.d is not IPv4-mapped");
    check((pkt::Ethernet{} / pkt::IPv6{.dst = "::1:0:ffff:10.0.0.2"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "destination ::1:0:ffff:a.b.c.d is not IPv4-mapped");
    check((pkt::Ethernet{} / pkt::IPv6{.dst = "::fffe:0:1"} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "destination ::fffe:0:1 is not IPv4-mapped");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 4} / pkt::ICMPv6{.type = 1}).bytes(),
          SECPOL_R_FILTER, "ICMPv6, payload length exactly 4");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 3} / pkt::ICMPv6{.type = 1}).bytes(),
          SECPOL_R_MALFORMED, "ICMPv6, payload length 3");
    check((pkt::Ethernet{} / pkt::IPv6{.next_header = 1} / pkt::Raw{{3, 0, 0, 0}}).bytes(), SECPOL_R_FILTER,
          "ICMP number in IPv6: type and code read");
    check((pkt::Ethernet{} / pkt::IPv6{.next_header = 50} / pkt::Raw::zeros(8)).bytes(), SECPOL_R_DEFAULT,
          "ESP: protected form, no L4 bytes");
    check((pkt::Ethernet{} / pkt::IPv6{.next_header = 47} / pkt::Raw::zeros(8)).bytes(), SECPOL_R_FILTER,
          "GRE with 8 bytes (fast path)");
    check((pkt::Ethernet{} / pkt::IPv6{.next_header = 47, .payload_length = 0} / pkt::Raw::zeros(8)).bytes(),
          SECPOL_R_FILTER, "GRE, payload length 0: the 8 bytes are padding");
    for (uint8_t nh : {0, 43, 44, 60})
        check((pkt::Ethernet{} / pkt::IPv6{.next_header = nh} / pkt::Raw::zeros(8)).bytes(),
              SECPOL_R_MALFORMED,
              "extension header " + std::to_string(nh) + " that runs past the payload: the generic path");
    // The extension-header test reads bit nh & 63 of a mask: the protocols
    // equal to 0, 43, 44 or 60 mod 64 decline to the generic parser, the
    // ones beside them stay on the fast path; both give the reference's key.
    for (uint8_t nh : {59, 61, 63, 64, 65, 107, 108, 124, 128, 171, 172, 188, 192, 252, 255})
        check((pkt::Ethernet{} / pkt::IPv6{.next_header = nh} / pkt::Raw::zeros(8)).bytes(), SECPOL_R_DEFAULT,
              "next header " + std::to_string(nh) + ", no extension header");
    check((pkt::Ethernet{} / pkt::Vlan{10} / pkt::IPv6{} / pkt::TCP{.dport = 445}).bytes(), SECPOL_R_FILTER,
          "in a VLAN: the generic path");
}

TEST_F(Parse, Ipv6ExtensionChains) {
    for (int n = 0; n <= 9; ++n) {
        pkt::Packet p = pkt::Ethernet{} / pkt::IPv6{};
        for (int i = 0; i < n; ++i) {
            switch (i % 3) {
                case 0:
                    p = p / pkt::HopByHop{.len = uint8_t(i % 2)};
                    break;
                case 1:
                    p = p / pkt::DestOpts{.len = 1};
                    break;
                default:
                    p = p / pkt::Routing{};
                    break;
            }
        }
        p = p / pkt::TCP{.dport = 445};
        check(p.bytes(), n <= 8 ? SECPOL_R_FILTER : SECPOL_R_MALFORMED,
              std::to_string(n) + " extension headers");
    }
    check(
        (pkt::Ethernet{} / pkt::IPv6{} / pkt::HopByHop{.len = 3} / pkt::TCP{}).truncate(14 + 40 + 20).bytes(),
        SECPOL_R_MALFORMED, "extension header beyond the frame");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 16} / pkt::HopByHop{.len = 3} / pkt::TCP{}).bytes(),
          SECPOL_R_MALFORMED, "extension header beyond the IP end");
    check((pkt::Ethernet{} / pkt::IPv6{.payload_length = 4} / pkt::HopByHop{} / pkt::TCP{}).bytes(),
          SECPOL_R_MALFORMED, "IP end inside the first 8 bytes");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::HopByHop{} / pkt::ESP{} / pkt::Raw::zeros(16)).bytes(),
          SECPOL_R_DEFAULT, "ESP stops the walk");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::AH{.next_header = 6} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_DEFAULT, "AH: protocol 51, no ports");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::DestOpts{} / pkt::Raw::zeros(3)).bytes(), SECPOL_R_DEFAULT,
          "no next header (59)");
}

TEST_F(Parse, Ipv6Fragments) {
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::Fragment6{.m = true} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "first fragment");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::Fragment6{} / pkt::TCP{.dport = 445}).bytes(),
          SECPOL_R_FILTER, "atomic fragment (RFC 6946)");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::Fragment6{.offset = 1, .next_header = 6} / pkt::Raw::zeros(8))
              .bytes(),
          SECPOL_R_FRAGMENT, "non-first fragment");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::HopByHop{} /
           pkt::Fragment6{.offset = 100, .next_header = 17} / pkt::Raw::zeros(8))
              .bytes(),
          SECPOL_R_FRAGMENT, "non-first fragment after hop-by-hop");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::Fragment6{.m = true} / pkt::TCP{.dport = 445})
              .truncate(14 + 40 + 4)
              .bytes(),
          SECPOL_R_MALFORMED, "truncated fragment header");
    check((pkt::Ethernet{} / pkt::IPv6{} / pkt::Fragment6{.m = true} / pkt::TCP{})
              .truncate(14 + 40 + 8 + 10)
              .bytes(),
          SECPOL_R_MALFORMED, "first fragment with a short TCP header");
    // Eight fragment headers at offset 0 parse on; a ninth extension header is one too many.
    pkt::Packet p = pkt::Ethernet{} / pkt::IPv6{};
    for (int i = 0; i < 8; ++i) p = p / pkt::Fragment6{};
    check((p / pkt::TCP{.dport = 445}).bytes(), SECPOL_R_FILTER, "eight atomic fragment headers");
    check((p / pkt::DestOpts{} / pkt::TCP{.dport = 445}).bytes(), SECPOL_R_MALFORMED, "nine");
}

TEST_F(Parse, AdversarialSweep) {
    // Every truncation of a few rich frames: whatever the cut, kernel and reference agree.
    std::vector<pkt::Packet> frames = {
        pkt::Ethernet{} / pkt::Vlan{5} / pkt::IPv4{.options = {1, 1, 1, 0}} / pkt::TCP{.dport = 445} /
            pkt::Raw::zeros(4),
        pkt::Ethernet{} / pkt::IPv6{} / pkt::HopByHop{.len = 1} / pkt::Routing{} / pkt::Fragment6{.m = true} /
            pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 3},
        pkt::Ethernet{} / pkt::Vlan{.vid = 1, .tpid = 0x88a8} / pkt::Vlan{2} / pkt::IPv4{} /
            pkt::ICMP{.type = 3},
    };
    for (size_t f = 0; f < frames.size(); ++f) {
        const Bytes full = frames[f].bytes();
        for (size_t n = 14; n <= full.size(); ++n) {
            Bytes b(full.begin(), full.begin() + n);
            expect_agree_both(*h_, b, "frame " + std::to_string(f) + " cut at " + std::to_string(n));
        }
    }
}
