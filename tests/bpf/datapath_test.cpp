// Issue 12 items 1-4 in the kernel: IP-only devices (secpol_l3_in,
// secpol_l3_out), unicast IP in Ethernet broadcast frames, PPPoE sessions and
// `non-ip`, BIG TCP lengths in GSO skbs. Every frame is run through the real
// programs with BPF_PROG_TEST_RUN and checked against the reference.
#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;
using pkt::Bytes;

namespace {

const char* kPolicy = R"(policy "datapath"
exemptions none
order first-match
default permit
block proto tcp from any to any port 445 "smb"
block proto udp from any to any port 9999 "udp 9999"
block proto icmpv6 type 128 from any to any "v6 echo"
)";

std::string reason_of(const secpol_trace& t) {
    return ref::reason_name(t.reason);
}

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Ethernet / PPPoE session header (RFC 2516) / PPP protocol / payload.
Bytes pppoe(uint16_t ppp_proto, const Bytes& payload, std::optional<uint16_t> length = {},
            uint8_t vertype = 0x11) {
    const uint16_t len = length ? *length : static_cast<uint16_t>(payload.size() + 2);
    Bytes h = {vertype,           0x00, 0x12, 0x34, uint8_t(len >> 8), uint8_t(len), uint8_t(ppp_proto >> 8),
               uint8_t(ppp_proto)};
    return cat(cat(pkt::Ethernet{.type = 0x8864}.bytes(), h), payload);
}

}  // namespace

// Item 1: on a tun or WireGuard device the packet starts at the IP header.
TEST(L3Device, IpAtOffsetZeroIsClassifiedLikeEthernetIp) {
    require_root();
    auto l3 = Harness::load(kPolicy, {}, true, ref::Link::L3);
    auto eth = Harness::load(kPolicy);
    ASSERT_TRUE(l3 && eth);
    const Bytes smb4 = (pkt::IPv4{.src = "10.1.0.1", .dst = "10.2.0.1"} / pkt::TCP{.dport = 445}).bytes();
    const Bytes smb6 = (pkt::IPv6{} / pkt::TCP{.dport = 445}).bytes();
    const Bytes udp4 = (pkt::IPv4{.src = "10.1.0.1", .dst = "10.2.0.1"} / pkt::UDP{.dport = 9999}).bytes();
    const Bytes ping6 = (pkt::IPv6{} / pkt::ICMPv6{.type = 128}).bytes();
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        for (const auto* b : {&smb4, &smb6, &udp4, &ping6}) {
            auto t = expect_agree(*l3, dir, *b, "L3 packet");
            EXPECT_EQ(reason_of(t), "filter");
            EXPECT_EQ(t.verdict, uint32_t(SECPOL_V_BLOCK));
            // The hole this closes: the Ethernet program reads IP bytes 12-13
            // as an EtherType and lets the packet through as non-IP.
            auto e = expect_agree(*eth, dir, *b, "L3 packet through the Ethernet program");
            EXPECT_EQ(reason_of(e), "non-ip");
        }
    }
    // The same packets behind an Ethernet header, through the Ethernet
    // programs, get the same decisions and keys.
    for (const auto* b : {&smb4, &smb6, &udp4, &ping6}) {
        Bytes framed = cat(pkt::Ethernet{.type = uint16_t((*b)[0] >> 4 == 4 ? 0x0800 : 0x86dd)}.bytes(), *b);
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            auto a = l3->run(dir, *b).trace;
            auto c = eth->run(dir, framed).trace;
            EXPECT_EQ(describe(a.verdict, a.reason, a.detail), describe(c.verdict, c.reason, c.detail));
            for (int i = 0; i < SECPOL_NF; ++i) EXPECT_EQ(a.key.w[i], c.key.w[i]) << "key word " << i;
        }
    }
    expect_agree_both(*l3, (pkt::IPv4{.src = "10.1.0.1"} / pkt::TCP{.dport = 80}).bytes(),
                      "permitted by default");
}

TEST(L3Device, VersionNibbleAndMalformedHeaders) {
    require_root();
    auto h = Harness::load(kPolicy, {}, true, ref::Link::L3);
    ASSERT_TRUE(h);
    auto check = [&](const Bytes& b, const char* reason, const std::string& what) {
        auto t = expect_agree(*h, SECPOL_DIR_IN, b, what);
        EXPECT_EQ(reason_of(t), reason) << what;
        expect_agree(*h, SECPOL_DIR_OUT, b, what);
    };
    Bytes v5 = (pkt::IPv4{.src = "10.1.0.1", .version = 5} / pkt::TCP{.dport = 445}).bytes();
    check(v5, "malformed", "version 5");
    check(Bytes(40, 0), "malformed", "version 0");
    check((pkt::IPv4{.src = "10.1.0.1", .ihl = 4} / pkt::TCP{.dport = 445}).bytes(), "malformed", "IHL 4");
    check((pkt::IPv4{.src = "10.1.0.1", .total_length = 200} / pkt::TCP{.dport = 445}).bytes(), "malformed",
          "total length beyond the packet");
    check((pkt::IPv6{.payload_length = 400} / pkt::TCP{.dport = 445}).bytes(), "malformed",
          "payload length beyond the packet");
    // Every cut of a few packets (the kernel runs nothing shorter than 14 bytes).
    std::vector<pkt::Packet> frames = {
        pkt::IPv4{.src = "10.1.0.1", .options = {1, 1, 1, 0}} / pkt::TCP{.dport = 445} / pkt::Raw::zeros(4),
        pkt::IPv6{} / pkt::HopByHop{.len = 1} / pkt::Fragment6{} / pkt::UDP{.sport = 4500, .dport = 4500} /
            pkt::ESP{.spi = 3},
    };
    for (size_t f = 0; f < frames.size(); ++f) {
        const Bytes full = frames[f].bytes();
        for (size_t n = 14; n <= full.size(); ++n)
            expect_agree_both(*h, Bytes(full.begin(), full.begin() + n),
                              "L3 packet " + std::to_string(f) + " cut at " + std::to_string(n));
    }
}

// Item 2: KB253169's broadcast is an IP destination.
TEST(BroadcastFrame, UnicastIpInEthernetBroadcastIsNotExempt) {
    require_root();
    const char* text = R"(exemptions windows2000
default block
secure from any to me "s"
)";
    auto h = Harness::load(text, locals_of({"192.0.2.1/24"}));
    ASSERT_TRUE(h);
    auto frame = [](const char* dst) {
        return (pkt::Ethernet{.dst = pkt::kBroadcastMac} / pkt::IPv4{.src = "198.51.100.7", .dst = dst} /
                pkt::UDP{.sport = 1234, .dport = 161})
            .bytes();
    };
    // The issue's repro: cleartext UDP to a secure filter, in a broadcast frame.
    auto t = expect_agree(*h, SECPOL_DIR_IN, frame("192.0.2.1"), "unicast IP, broadcast frame");
    EXPECT_EQ(describe(t.verdict, t.reason, t.detail), describe(SECPOL_V_BLOCK, SECPOL_R_FILTER, 0));
    EXPECT_EQ(t.key.w[SECPOL_F_MCBC], 0u);
    // Real broadcasts stay exempt whatever the frame.
    for (const char* dst : {"255.255.255.255", "192.0.2.255"}) {
        auto b = expect_agree(*h, SECPOL_DIR_IN, frame(dst), dst);
        EXPECT_EQ(describe(b.verdict, b.reason, b.detail),
                  describe(SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, SECPOL_EX_BROADCAST))
            << dst;
    }
    auto ucast = expect_agree(
        *h, SECPOL_DIR_IN,
        (pkt::Ethernet{.dst = pkt::kBroadcastMac} / pkt::IPv6{.dst = "2001:db8::5"} / pkt::UDP{.dport = 161})
            .bytes(),
        "IPv6 unicast in a broadcast frame");
    EXPECT_EQ(reason_of(ucast), "default");
}

// Item 3: IP inside PPPoE sessions is IP.
TEST(Pppoe, IpInsideSessionsIsClassified) {
    require_root();
    auto h = Harness::load(kPolicy);
    ASSERT_TRUE(h);
    auto check = [&](const Bytes& b, const char* reason, const std::string& what) {
        auto t = expect_agree(*h, SECPOL_DIR_IN, b, what);
        EXPECT_EQ(reason_of(t), reason) << what;
        expect_agree(*h, SECPOL_DIR_OUT, b, what);
    };
    const Bytes v4 = (pkt::IPv4{} / pkt::TCP{.dport = 445}).bytes();
    const Bytes v6 = (pkt::IPv6{} / pkt::UDP{.dport = 9999}).bytes();
    check(pppoe(0x0021, v4), "filter", "PPPoE IPv4 to 445");
    check(pppoe(0x0057, v6), "filter", "PPPoE IPv6 to 9999");
    check(pppoe(0x0021, (pkt::IPv4{} / pkt::TCP{.dport = 80}).bytes()), "default", "PPPoE IPv4 to 80");
    check(pppoe(0xc021, Bytes(10, 1)), "non-ip", "PPPoE LCP");
    check(pppoe(0x0021, v4, {}, 0x21), "malformed", "PPPoE version 2");
    check(pppoe(0x0021, v4, uint16_t(v4.size() + 3)), "malformed", "PPPoE length beyond the frame");
    check(pppoe(0x0021, v4, uint16_t(1)), "malformed", "PPPoE length 1");
    check((pkt::Ethernet{.type = 0x8863} / pkt::Raw::zeros(20)).bytes(), "non-ip", "PPPoE discovery");
    // In a VLAN: the tag's inner EtherType says PPPoE.
    Bytes tagged = pppoe(0x0021, v4);
    Bytes tag = {0x00, 0x0a, 0x88, 0x64};
    tagged[12] = 0x81, tagged[13] = 0x00;
    tagged.insert(tagged.begin() + 14, tag.begin(), tag.end());
    check(tagged, "filter", "VLAN PPPoE IPv4 to 445");
    const Bytes full = pppoe(0x0021, (pkt::IPv4{.options = {1, 1, 1, 0}} / pkt::TCP{.dport = 445}).bytes());
    for (size_t n = 14; n <= full.size(); ++n)
        expect_agree_both(*h, Bytes(full.begin(), full.begin() + n), "PPPoE cut at " + std::to_string(n));
}

// Item 3: MPLS and every other non-IP frame obey `non-ip`.
TEST(NonIp, StatementDecidesNonIpFrames) {
    require_root();
    auto permit = Harness::load(kPolicy);
    auto block = Harness::load(std::string(kPolicy) + "non-ip block\n");
    ASSERT_TRUE(permit && block);
    const Bytes mpls_ip = (pkt::IPv4{} / pkt::TCP{.dport = 445}).bytes();
    std::vector<std::pair<std::string, Bytes>> frames = {
        {"ARP", (pkt::Ethernet{.type = 0x0806} / pkt::Raw::zeros(28)).bytes()},
        {"MPLS unicast", cat(cat(pkt::Ethernet{.type = 0x8847}.bytes(), {0x00, 0x01, 0x01, 0x40}), mpls_ip)},
        {"MPLS multicast",
         cat(cat(pkt::Ethernet{.type = 0x8848}.bytes(), {0x00, 0x01, 0x01, 0x40}), mpls_ip)},
        {"PPPoE LCP", pppoe(0xc021, Bytes(10, 1))},
    };
    for (const auto& [what, b] : frames) {
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            auto p = expect_agree(*permit, dir, b, what);
            EXPECT_EQ(describe(p.verdict, p.reason, p.detail), describe(SECPOL_V_PERMIT, SECPOL_R_NONIP, 0))
                << what;
            auto k = expect_agree(*block, dir, b, what);
            EXPECT_EQ(describe(k.verdict, k.reason, k.detail), describe(SECPOL_V_BLOCK, SECPOL_R_NONIP, 0))
                << what;
        }
    }
    // IP still follows the filters under `non-ip block`.
    auto ip =
        expect_agree(*block, SECPOL_DIR_IN, (pkt::Ethernet{} / pkt::IPv4{} / pkt::TCP{.dport = 80}).bytes());
    EXPECT_EQ(describe(ip.verdict, ip.reason, ip.detail), describe(SECPOL_V_PERMIT, SECPOL_R_DEFAULT, 0));
    // On an IP-only device a version nibble other than 4 or 6 is malformed
    // whatever `non-ip` says: the device carries nothing else.
    auto l3 = Harness::load(kPolicy, {}, true, ref::Link::L3);
    ASSERT_TRUE(l3);
    auto v0 = expect_agree(*l3, SECPOL_DIR_OUT, Bytes(40, 0), "version 0 on an IP device");
    EXPECT_EQ(describe(v0.verdict, v0.reason, v0.detail), describe(SECPOL_V_BLOCK, SECPOL_R_MALFORMED, 0));
}

// Item 4: BIG TCP. A GSO skb at tc with IPv4 total length 0 or IPv6 payload
// length 0 runs to the end of the frame; anywhere else those are malformed.
TEST(BigTcp, GsoLengthZeroRunsToTheFrameEnd) {
    require_root();
    auto h = Harness::load(kPolicy);
    auto l3 = Harness::load(kPolicy, {}, true, ref::Link::L3);
    ASSERT_TRUE(h && l3);
    const std::vector<std::pair<std::string, pkt::Packet>> packets = {
        {"IPv4 tot_len 0", pkt::IPv4{.total_length = 0} / pkt::TCP{.dport = 445} / pkt::Raw::zeros(3000)},
        {"IPv4 tot_len 0, port 80",
         pkt::IPv4{.total_length = 0} / pkt::TCP{.dport = 80} / pkt::Raw::zeros(3000)},
        {"IPv6 payload length 0",
         pkt::IPv6{.payload_length = 0} / pkt::TCP{.dport = 445} / pkt::Raw::zeros(3000)},
        {"IPv6 jumbo hop-by-hop",
         pkt::IPv6{.payload_length = 0} / pkt::HopByHop{} / pkt::TCP{.dport = 445} / pkt::Raw::zeros(3000)},
    };
    for (const auto& [what, p] : packets) {
        const Bytes ip = p.bytes();
        const Bytes frame =
            cat(pkt::Ethernet{.type = uint16_t(ip[0] >> 4 == 4 ? 0x0800 : 0x86dd)}.bytes(), ip);
        for (auto [harness, b] : {std::pair{h.get(), &frame}, std::pair{l3.get(), &ip}}) {
            auto gso = expect_agree(*harness, SECPOL_DIR_OUT, *b, what + " (GSO at tc)", true);
            EXPECT_EQ(reason_of(gso), what.find("80") != std::string::npos ? "default" : "filter") << what;
            auto tc = expect_agree(*harness, SECPOL_DIR_OUT, *b, what + " (tc, not GSO)");
            EXPECT_EQ(reason_of(tc), "malformed") << what;
            auto xdp = expect_agree(*harness, SECPOL_DIR_IN, *b, what + " (XDP)");
            EXPECT_EQ(reason_of(xdp), "malformed") << what;
        }
    }
    // GSO changes nothing for a length that is given.
    const Bytes normal =
        (pkt::Ethernet{} / pkt::IPv4{} / pkt::TCP{.dport = 445} / pkt::Raw::zeros(100)).bytes();
    EXPECT_EQ(reason_of(expect_agree(*h, SECPOL_DIR_OUT, normal, "GSO, length given", true)), "filter");
    Bytes lying = (pkt::Ethernet{} / pkt::IPv4{.total_length = 19} / pkt::TCP{.dport = 445}).bytes();
    EXPECT_EQ(reason_of(expect_agree(*h, SECPOL_DIR_OUT, lying, "GSO, total length 19", true)), "malformed");
}
