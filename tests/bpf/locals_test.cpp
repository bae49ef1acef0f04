// write_local_maps (runtime/locals.cpp), what `secpol daemon` does when the
// host's addresses change: the maps and the Bloom filter end up holding
// exactly the new set, a repeat writes nothing, and the loaded program
// agrees with the reference classifier before and after, v4 and v6.
#include "runtime/locals.h"

#include <bpf/bpf.h>

#include <cstring>

#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;

namespace {

int data_fd(const rt::LoadedPolicy& lp, const std::string& tail) {
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, lp.object()) {
        std::string n = bpf_map__name(m);
        if (n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0)
            return bpf_map__fd(m);
    }
    return -1;
}

int bloom_fd(const rt::LoadedPolicy& lp) {
    return data_fd(lp, "data.bloom");
}

rt::LocalMapFds fds(const rt::LoadedPolicy& lp) {
    return {lp.map_fd(SECPOL_MAP_LOCAL4), lp.map_fd(SECPOL_MAP_LOCAL6), bloom_fd(lp),
            data_fd(lp, "data.locals"), data_fd(lp, "data.localsel")};
}

const char* kPolicy =
    "policy \"me\"\nexemptions { broadcast }\ndefault permit\n"
    "block proto udp from any to me port 7001 \"to me\"\n";

pkt::Bytes udp4(const char* dst) {
    return (pkt::Ethernet{} / pkt::IPv4{.src = "10.0.0.9", .dst = dst} /
            pkt::UDP{.sport = 4000, .dport = 7001})
        .bytes();
}
pkt::Bytes udp6(const char* dst) {
    return (pkt::Ethernet{} / pkt::IPv6{.src = "fd00::9", .dst = dst} /
            pkt::UDP{.sport = 4000, .dport = 7001})
        .bytes();
}

}  // namespace

TEST(LocalMaps, AddressesComeAndGoWithoutAReload) {
    require_root();
    auto h = Harness::load(kPolicy, locals_of({"10.0.0.1/24"}));
    ASSERT_TRUE(h);
    ASSERT_GE(bloom_fd(*h->loaded), 0);
    const auto f = fds(*h->loaded);

    // Before: the new addresses are not "me", the new subnet's broadcast is not one.
    auto t = expect_agree(*h, SECPOL_DIR_IN, udp4("10.0.0.50"), "v4 before");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_DEFAULT));
    t = expect_agree(*h, SECPOL_DIR_IN, udp6("fd00::50"), "v6 before");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_DEFAULT));

    // Added: DHCP gives 10.0.0.50 and 10.9.0.5/16, SLAAC fd00::50.
    h->locals = locals_of({"10.0.0.1/24", "10.0.0.50/24", "10.9.0.5/16", "fd00::50/64"});
    auto changed = rt::write_local_maps(f, h->locals);
    ASSERT_TRUE(changed.ok()) << changed.error().message;
    EXPECT_TRUE(*changed);
    t = expect_agree(*h, SECPOL_DIR_IN, udp4("10.0.0.50"), "v4 added");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_FILTER));
    t = expect_agree(*h, SECPOL_DIR_IN, udp6("fd00::50"), "v6 added");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_FILTER));
    t = expect_agree(*h, SECPOL_DIR_IN, udp4("10.9.255.255"), "new directed broadcast");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_EXEMPTION));

    // The maps hold exactly the set; writing it again changes nothing.
    auto back = rt::read_local_maps(f);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->addrs, h->locals.addrs);
    EXPECT_EQ(back->broadcasts, h->locals.broadcasts);
    auto again = rt::write_local_maps(f, h->locals);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);

    // Removed again: back to the first set, in the maps and in the program.
    h->locals = locals_of({"10.0.0.1/24"});
    changed = rt::write_local_maps(f, h->locals);
    ASSERT_TRUE(changed.ok());
    EXPECT_TRUE(*changed);
    for (const char* dst : {"10.0.0.50", "10.9.255.255", "10.0.0.1", "10.0.0.255"}) {
        t = expect_agree(*h, SECPOL_DIR_IN, udp4(dst), std::string("after removal: ") + dst);
    }
    t = expect_agree(*h, SECPOL_DIR_IN, udp6("fd00::50"), "v6 removed");
    EXPECT_EQ(t.reason, uint32_t(SECPOL_R_DEFAULT));
    back = rt::read_local_maps(f);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->addrs, h->locals.addrs);
    EXPECT_EQ(back->broadcasts, h->locals.broadcasts);
}

TEST(LocalMaps, MissingMapsAreAnError) {
    auto r = rt::write_local_maps({-1, -1, -1}, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("local address maps missing"), std::string::npos);
}
