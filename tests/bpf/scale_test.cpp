// Every shipped policy and generated policies of 10 to 10,000 filters compile,
// pass the verifier, and agree with the reference on packets aimed at them.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "common/harness.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "replay.h"

using namespace secpol;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

TEST(Scale, ShippedPoliciesLoad) {
    test::require_root();
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(std::string(SECPOL_SOURCE_DIR) + "/policies")) {
        if (e.path().extension() != ".pol") continue;
        auto text = backend::read_text_file(e.path());
        ASSERT_TRUE(text);
        auto c = test::compile_or_die(*text, e.path().string());
        auto l = test::load_or_die(c, gen::default_locals());
        EXPECT_GE(l->ingress_fd(), 0);
        EXPECT_GE(l->egress_fd(), 0);
        ++n;
    }
    EXPECT_GE(n, 6u) << "policies/ should hold the three Windows 2000 policies and three examples";
}

TEST(Scale, GeneratedPoliciesLoadAndAgree) {
    test::require_root();
    for (unsigned size : {10u, 100u, 1000u, 10000u}) {
        for (bool first_match : {false, true}) {
            gen::Options o;
            o.filters = size;
            o.seed = size + first_match;
            o.first_match = first_match;
            auto t0 = Clock::now();
            auto c = test::compile_or_die(gen::generate_policy(o));
            double compile_ms = ms_since(t0);
            const auto locals = gen::default_locals();
            t0 = Clock::now();
            auto loaded = test::load_or_die(c, locals);
            double load_ms = ms_since(t0);
            gen::PacketGen pg(c.policy, locals, size);
            std::vector<rt::Packet> pkts;
            for (unsigned i = 0; i < 3000; ++i)
                pkts.push_back(pg.aimed(c.policy.filters[i * 7919u % c.policy.filters.size()]));
            rt::ReplayOptions ro;
            ro.locals = locals;
            auto rep = rt::replay(c, *loaded, pkts, ro);
            ASSERT_TRUE(rep) << rep.error().message;
            EXPECT_EQ(rep->disagreements, 0u);
            size_t hit = 0;
            for (const auto& p : rep->packets)
                hit += p.reason == SECPOL_R_FILTER || p.reason == SECPOL_R_IPSEC;
            std::printf(
                "scale: %5u filters (%s): %zu IR filters, %zu nodes, max walk %u, compile %.0f ms, load %.0f "
                "ms, "
                "%zu/%zu packets decided by a filter\n",
                size, first_match ? "first-match" : "specificity", c.policy.filters.size(),
                c.program.nodes.size(), c.program.max_steps, compile_ms, load_ms, hit, pkts.size());
            EXPECT_GT(hit, pkts.size() / 3);
        }
    }
}
