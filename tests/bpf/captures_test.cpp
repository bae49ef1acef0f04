// Every packet of every capture in shared/captures, under three exemption
// profiles and both directions: the program agrees with the reference.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/harness.h"
#include "replay.h"

using namespace secpol;
namespace fs = std::filesystem;

namespace {

// A policy that exercises filters on the captures' traffic: secure for a
// peer, a port block, ICMP permitted, default block.
std::string policy_for(const std::string& profile) {
    return "policy \"captures\"\n"
           "exemptions " +
           profile +
           "\n"
           "default block\n"
           "permit proto icmp from any to any \"icmp\"\n"
           "permit proto icmpv6 from any to any \"icmpv6\"\n"
           "block proto tcp from any to any port 445 \"smb\"\n"
           "secure from 10.0.0.0/8 to any mirrored \"ten\"\n"
           "permit proto tcp from any to any port 80 mirrored \"web\"\n"
           "permit proto udp from any to any port 53 mirrored \"dns\"\n";
}

std::map<std::string, size_t> manifest_counts() {
    std::map<std::string, size_t> m;
    std::ifstream in(std::string(SECPOL_SHARED_DIR) + "/captures/MANIFEST.tsv");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string file, size, link, pkts;
        ls >> file >> size >> link >> pkts;
        m[file] = std::stoul(pkts);
    }
    return m;
}

}  // namespace

TEST(Captures, ReplayAgreesWithReferenceUnderThreeProfiles) {
    test::require_root();
    auto counts = manifest_counts();
    ASSERT_GE(counts.size(), 14u) << "shared/captures/MANIFEST.tsv missing or short";
    net::LocalTable locals;
    ASSERT_TRUE(locals.add("192.168.1.1/24"));
    ASSERT_TRUE(locals.add("10.0.0.1/8"));
    size_t total = 0;
    for (const char* profile : {"windows2000", "nodefaultexempt 3", "none"}) {
        auto c = test::compile_or_die(policy_for(profile));
        auto loaded = test::load_or_die(c, locals);
        for (const auto& [file, n] : counts) {
            auto pkts = rt::read_capture(std::string(SECPOL_SHARED_DIR) + "/captures/" + file);
            ASSERT_TRUE(pkts) << pkts.error().message;
            EXPECT_EQ(pkts->size(), n) << file;
            for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
                rt::ReplayOptions ro;
                ro.dir = dir;
                ro.locals = locals;
                auto rep = rt::replay(c, *loaded, *pkts, ro);
                ASSERT_TRUE(rep) << rep.error().message;
                EXPECT_EQ(rep->disagreements, 0u) << file << " under " << profile;
                for (const auto& o : rep->packets)
                    if (!o.agree()) ADD_FAILURE() << file << ": " << rt::outcome_text(c.policy, o, false);
                total += rep->packets.size();
            }
        }
    }
    std::printf("captures: %zu packet replays, all agree\n", total);
}

// `secpol replay --repeat` times the production program (trace off): the
// trace program runs each packet once, to explain it, and the production
// program runs it `repeat` times, acts alike, and is what the ns figures
// are of. The counters of each program say which ran how often.
TEST(Captures, ReplayRepeatTimesTheProductionProgram) {
    test::require_root();
    ref::LocalTable locals;
    ASSERT_TRUE(locals.add("192.168.1.1/24"));
    ASSERT_TRUE(locals.add("2001:db8::1/64"));
    auto c = test::compile_or_die(policy_for("windows2000"));
    auto traced = test::load_or_die(c, locals);
    auto production = rt::LoadedPolicy::load(c.image, locals);
    ASSERT_TRUE(production) << production.error().message;
    ASSERT_FALSE((*production)->config().flags & SECPOL_CFG_TRACE);
    auto pkts = rt::read_capture(std::string(SECPOL_SHARED_DIR) + "/captures/tcpdump__ISAKMP_sa_setup.pcap");
    ASSERT_TRUE(pkts) << pkts.error().message;
    ASSERT_FALSE(pkts->empty());

    const uint32_t repeat = 50;
    rt::ReplayOptions ro;
    ro.locals = locals;
    ro.repeat = repeat;
    ro.timed = production->get();
    auto rep = rt::replay(c, *traced, *pkts, ro);
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_TRUE(rep->timed_production);
    EXPECT_EQ(rep->disagreements, 0u);
    EXPECT_EQ(rt::summary_json(c.policy, *rep, true)["ns_program"], "production");

    auto total = [](const rt::LoadedPolicy& lp) {
        auto cs = lp.read_counters();
        EXPECT_TRUE(cs) << cs.error().message;
        uint64_t n = 0;
        for (uint32_t k = 0; cs && k < cs->size(); ++k)
            if (k != SECPOL_CNT_IPSEC * 2 && k != SECPOL_CNT_IPSEC * 2 + 1) n += (*cs)[k].packets;
        return n;
    };
    const uint64_t run = rep->packets.size() - rep->not_run;
    EXPECT_EQ(total(*traced), run) << "the trace program explains each packet once";
    EXPECT_EQ(total(**production), run * repeat) << "the production program is the one repeated";
}
