// Reading captures of every link type people capture with (issue 12 item 18):
// each is written with libpcap's own writer, read back, and must come out as
// the Ethernet frame the programs and the reference parse.
#include "runtime/capture.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "packet/spec.h"

using namespace secpol;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes frame_of(const std::string& spec_text) {
    std::string err;
    auto spec = pkt::parse_packet_spec(spec_text, &err);
    EXPECT_TRUE(spec) << err;
    auto b = pkt::build_packet(*spec).bytes();
    return Bytes(b.begin(), b.end());
}

// The IP packet of an Ethernet frame (no VLAN tags in these tests).
Bytes ip_of(const Bytes& eth) {
    return Bytes(eth.begin() + 14, eth.end());
}

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Writes the packets as a pcap file of link type dlt with pcap_open_dead + pcap_dump.
std::string write_capture(int dlt, const std::vector<Bytes>& pkts) {
    static int n = 0;
    std::string path =
        (std::filesystem::temp_directory_path() /
         ("secpol-capture-test-" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".pcap"))
            .string();
    pcap_t* dead = pcap_open_dead(dlt, 65535);
    EXPECT_NE(dead, nullptr);
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    EXPECT_NE(d, nullptr) << pcap_geterr(dead);
    for (const auto& p : pkts) {
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(p.size());
        pcap_dump(reinterpret_cast<u_char*>(d), &h, p.data());
    }
    pcap_dump_close(d);
    pcap_close(dead);
    return path;
}

std::vector<rt::Packet> read_back(int dlt, const std::vector<Bytes>& pkts) {
    std::string path = write_capture(dlt, pkts);
    auto r = rt::read_capture(path);
    std::filesystem::remove(path);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : std::vector<rt::Packet>{};
}

void expect_ethernet(const rt::Packet& got, uint16_t ethertype, const Bytes& ip, bool broadcast = false) {
    ASSERT_EQ(got.size(), 14 + ip.size());
    EXPECT_EQ(got[12] << 8 | got[13], ethertype);
    EXPECT_EQ(Bytes(got.begin() + 14, got.end()), ip);
    const bool bcast = std::all_of(got.begin(), got.begin() + 6, [](uint8_t b) { return b == 0xff; });
    EXPECT_EQ(bcast, broadcast);
}

const Bytes kV4 = ip_of(frame_of("udp 10.1.2.3:5000 > 192.0.2.1:53"));
const Bytes kV6 = ip_of(frame_of("tcp [2001:db8::7]:40000 > [2001:db8::1]:445"));

Bytes sll(uint16_t pkttype, uint16_t proto) {
    Bytes h{0, 0, 0, 1, 0, 6, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0, 0, 0};
    h[1] = static_cast<uint8_t>(pkttype);
    h[14] = static_cast<uint8_t>(proto >> 8), h[15] = static_cast<uint8_t>(proto);
    return h;
}

Bytes sll2(uint8_t pkttype, uint16_t proto) {
    Bytes h{0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0};
    h[0] = static_cast<uint8_t>(proto >> 8), h[1] = static_cast<uint8_t>(proto);
    h[10] = pkttype;
    return h;
}

Bytes family(uint32_t af, bool network_order) {
    if (network_order) return {uint8_t(af >> 24), uint8_t(af >> 16), uint8_t(af >> 8), uint8_t(af)};
    return {uint8_t(af), uint8_t(af >> 8), uint8_t(af >> 16), uint8_t(af >> 24)};
}

}  // namespace

TEST(Capture, EthernetIsReadAsItIs) {
    Bytes f = frame_of("udp 10.1.2.3:5000 > 192.0.2.1:53");
    auto got = read_back(DLT_EN10MB, {f});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], f);
}

TEST(Capture, LinuxCookedSllAndSll2) {
    auto got = read_back(DLT_LINUX_SLL, {cat(sll(0, 0x0800), kV4), cat(sll(1, 0x0800), kV4),
                                         cat(sll(4, 0x86dd), kV6), cat(sll(0, 0x0806), Bytes(28, 1))});
    ASSERT_EQ(got.size(), 4u);
    expect_ethernet(got[0], 0x0800, kV4);
    expect_ethernet(got[1], 0x0800, kV4, /*broadcast=*/true);
    expect_ethernet(got[2], 0x86dd, kV6);
    expect_ethernet(got[3], 0x0806, Bytes(28, 1));  // ARP stays non-IP
    EXPECT_EQ(Bytes(got[0].begin() + 6, got[0].begin() + 12), (Bytes{0x52, 0x54, 0, 0x12, 0x34, 0x56}));
    auto got2 = read_back(DLT_LINUX_SLL2,
                          {cat(sll2(0, 0x0800), kV4), cat(sll2(1, 0x0800), kV4), cat(sll2(4, 0x86dd), kV6)});
    ASSERT_EQ(got2.size(), 3u);
    expect_ethernet(got2[0], 0x0800, kV4);
    expect_ethernet(got2[1], 0x0800, kV4, true);
    expect_ethernet(got2[2], 0x86dd, kV6);
}

TEST(Capture, RawIpByVersionAndByLinkType) {
    Bytes bad = kV4;
    bad[0] = 0x55;  // version 5: stays "IPv4" so it is classified malformed, never non-IP
    auto got = read_back(DLT_RAW, {kV4, kV6, bad});
    ASSERT_EQ(got.size(), 3u);
    expect_ethernet(got[0], 0x0800, kV4);
    expect_ethernet(got[1], 0x86dd, kV6);
    expect_ethernet(got[2], 0x0800, bad);
    auto v4 = read_back(DLT_IPV4, {kV4});
    ASSERT_EQ(v4.size(), 1u);
    expect_ethernet(v4[0], 0x0800, kV4);
    auto v6 = read_back(DLT_IPV6, {kV6});
    ASSERT_EQ(v6.size(), 1u);
    expect_ethernet(v6[0], 0x86dd, kV6);
}

TEST(Capture, BsdLoopbackNullAndLoop) {
    // DLT_NULL: the capturing host's byte order, either one; AF_INET6 is 10, 24, 28 or 30.
    auto got = read_back(
        DLT_NULL, {cat(family(2, false), kV4), cat(family(2, true), kV4), cat(family(30, false), kV6),
                   cat(family(24, true), kV6), cat(family(28, false), kV6), cat(family(7, false), kV4)});
    ASSERT_EQ(got.size(), 6u);
    expect_ethernet(got[0], 0x0800, kV4);
    expect_ethernet(got[1], 0x0800, kV4);
    expect_ethernet(got[2], 0x86dd, kV6);
    expect_ethernet(got[3], 0x86dd, kV6);
    expect_ethernet(got[4], 0x86dd, kV6);
    expect_ethernet(got[5], 0x0000, kV4);  // not an IP family: non-IP, as on Ethernet
    auto loop = read_back(DLT_LOOP, {cat(family(2, true), kV4), cat(family(10, true), kV6)});
    ASSERT_EQ(loop.size(), 2u);
    expect_ethernet(loop[0], 0x0800, kV4);
    expect_ethernet(loop[1], 0x86dd, kV6);
}

TEST(Capture, LinkHeaderCutShortIsAMalformedFrame) {
    auto got = read_back(DLT_LINUX_SLL, {Bytes(10, 0)});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_LT(got[0].size(), 14u);
}

TEST(Capture, UnsupportedLinkTypeIsNamed) {
    std::string path = write_capture(DLT_IEEE802_11, {Bytes(30, 0)});
    auto r = rt::read_capture(path);
    std::filesystem::remove(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("link type 105 (IEEE802_11) cannot be replayed"), std::string::npos)
        << r.error().message;
}

namespace {

// pcapng blocks, little endian.
Bytes le(std::initializer_list<std::pair<uint64_t, int>> fields) {
    Bytes b;
    for (auto [v, n] : fields)
        for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return b;
}
Bytes block(uint32_t type, Bytes body) {
    while (body.size() % 4) body.push_back(0);
    const auto len = static_cast<uint32_t>(12 + body.size());
    return cat(cat(le({{type, 4}, {len, 4}}), body), le({{len, 4}}));
}
Bytes section() {
    return block(0x0A0D0D0A, le({{0x1A2B3C4D, 4}, {1, 2}, {0, 2}, {~0ull, 8}}));
}
Bytes interface(uint16_t linktype, uint32_t snaplen) {
    return block(1, le({{linktype, 2}, {0, 2}, {snaplen, 4}}));
}
Bytes enhanced(uint32_t iface, const Bytes& pkt) {
    return block(6, cat(le({{iface, 4}, {0, 4}, {0, 4}, {pkt.size(), 4}, {pkt.size(), 4}}), pkt));
}
Result<std::vector<rt::Packet>> read_bytes(const Bytes& file) {
    std::string path =
        (std::filesystem::temp_directory_path() / ("secpol-pcapng-" + std::to_string(getpid()) + ".pcapng"))
            .string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), file.size());
    auto r = rt::read_capture(path);
    std::filesystem::remove(path);
    return r;
}

}  // namespace

TEST(Capture, PcapngWithInterfacesOfDifferentSnaplenIsRead) {
    // libpcap 1.10 refuses this file ("an interface has a snapshot length ...
    // different from ... the first interface"); secpol reads it itself.
    Bytes frame = frame_of("udp 10.1.2.3:5000 > 192.0.2.1:53");
    auto r = read_bytes(cat(cat(cat(section(), interface(1, 65535)), interface(1, 262144)),
                            cat(enhanced(1, frame), enhanced(0, frame))));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0], frame);
    EXPECT_EQ((*r)[1], frame);
}

TEST(Capture, PcapngWithInterfacesOfDifferentLinkTypesIsRead) {
    // Ethernet and raw IP (LINKTYPE_RAW 101) in one file: each packet by its interface's type.
    Bytes frame = frame_of("udp 10.1.2.3:5000 > 192.0.2.1:53");
    auto r = read_bytes(cat(cat(cat(section(), interface(1, 65535)), interface(101, 65535)),
                            cat(enhanced(0, frame), enhanced(1, kV6))));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0], frame);
    expect_ethernet((*r)[1], 0x86dd, kV6);
}

TEST(Capture, PcapngThatNeitherReaderTakesNamesTheWorkaround) {
    // An 802.11 interface beside an Ethernet one, then a block whose length runs past the file.
    auto wifi = read_bytes(cat(cat(section(), interface(1, 65535)), interface(105, 65535)));
    ASSERT_FALSE(wifi);
    EXPECT_NE(wifi.error().message.find("interface 1 has link type 105, which replay cannot read"),
              std::string::npos)
        << wifi.error().message;
    EXPECT_NE(wifi.error().message.find("editcap -F pcap"), std::string::npos) << wifi.error().message;
    Bytes cut = cat(cat(section(), interface(1, 65535)), interface(1, 262144));
    Bytes bad = enhanced(0, frame_of("udp 10.1.2.3:5000 > 192.0.2.1:53"));
    bad[4] = 0xf0;  // block length far past the end of the file
    auto r = read_bytes(cat(cut, bad));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not a readable pcapng: bad block length"), std::string::npos)
        << r.error().message;
}
