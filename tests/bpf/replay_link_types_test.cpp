// `replay` of captures that are not Ethernet (issue 12 item 18): Linux cooked
// SLL/SLL2, raw IP and BSD loopback captures written with libpcap's writer,
// read by read_capture and run through the real program and the reference.
// Each packet must get the decision its IP header calls for.
#include <gtest/gtest.h>

#include <filesystem>

#include "capture.h"
#include "common/harness.h"
#include "packet/spec.h"
#include "replay.h"

using namespace secpol;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes ip_packet(const std::string& text) {
    std::string err;
    auto spec = pkt::parse_packet_spec(text, &err);
    EXPECT_TRUE(spec) << err;
    auto b = pkt::build_packet(*spec).bytes();
    return Bytes(b.begin() + 14, b.end());
}

std::string write_capture(int dlt, const std::vector<Bytes>& pkts) {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("secpol-linktype-" + std::to_string(getpid()) + "-" + std::to_string(dlt) + ".pcap"))
                           .string();
    auto w = rt::write_capture(path, dlt, pkts);
    EXPECT_TRUE(w) << w.error().message;
    return path;
}

Bytes with_header(Bytes hdr, const Bytes& ip) {
    hdr.insert(hdr.end(), ip.begin(), ip.end());
    return hdr;
}

}  // namespace

TEST(ReplayLinkTypes, EveryLinkTypeGetsTheDecisionOfItsIpHeader) {
    test::require_root();
    auto c = test::compile_or_die(
        "exemptions windows2000\ndefault block\n"
        "permit proto udp from any to me port 53 \"dns\"\n"
        "block proto tcp from any to me port 445 \"smb\"\n");
    net::LocalTable locals;
    ASSERT_TRUE(locals.add("192.0.2.1"));
    ASSERT_TRUE(locals.add("2001:db8::1"));
    auto loaded = test::load_or_die(c, locals);

    const Bytes v4 = ip_packet("udp 10.1.2.3:5000 > 192.0.2.1:53");
    const Bytes v6 = ip_packet("tcp [2001:db8::7]:40000 > [2001:db8::1]:445");
    const Bytes krb = ip_packet("udp 10.1.2.3:88 > 192.0.2.1:9999");
    const Bytes other = ip_packet("udp 10.1.2.3:5000 > 192.0.2.1:54");
    // Per link type: the link header for IPv4 and for IPv6.
    struct Case {
        int dlt;
        const char* name;
        Bytes h4, h6;
    };
    const std::vector<Case> cases = {
        {rt::link::kSll,
         "SLL",
         {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00},
         {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd}},
        {rt::link::kSll2,
         "SLL2",
         {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0},
         {0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0}},
        {rt::link::kRaw, "RAW", {}, {}},
        {rt::link::kIpv4, "IPV4", {}, {}},
        {rt::link::kNull, "NULL", {2, 0, 0, 0}, {30, 0, 0, 0}},
        {rt::link::kLoop, "LOOP", {0, 0, 0, 2}, {0, 0, 0, 24}},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.name);
        std::vector<Bytes> pkts = {with_header(k.h4, v4), with_header(k.h4, krb), with_header(k.h4, other)};
        if (k.dlt != rt::link::kIpv4) pkts.push_back(with_header(k.h6, v6));
        std::string path = write_capture(k.dlt, pkts);
        auto read = rt::read_capture(path);
        std::filesystem::remove(path);
        ASSERT_TRUE(read) << read.error().message;
        ASSERT_EQ(read->size(), pkts.size());
        rt::ReplayOptions ro;
        ro.dir = SECPOL_DIR_IN;
        ro.locals = locals;
        auto rep = rt::replay(c, *loaded, *read, ro);
        ASSERT_TRUE(rep) << rep.error().message;
        EXPECT_EQ(rep->disagreements, 0u);
        std::vector<std::string> got;
        for (const auto& o : rep->packets) {
            EXPECT_TRUE(o.ran);
            got.push_back(rt::outcome_text(c.policy, o, false)
                              .substr(rt::outcome_text(c.policy, o, false).find(": ") + 2));
        }
        EXPECT_EQ(got[0], "permit filter 0 \"dns\" (line 3)");
        EXPECT_EQ(got[1], "permit exemption kerberos");
        EXPECT_EQ(got[2], "block default");
        if (got.size() > 3) {
            EXPECT_EQ(got[3], "block filter 1 \"smb\" (line 4)");
        }
    }
}
