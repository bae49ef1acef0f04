// The frozen config folded into the loaded programs (runtime/cfg_fold.h) in
// every form the loader builds: the generated walk spliced or called, the
// node-array fallback, the log build, trace on. Each is loaded with and
// without the fold; the folded program must be shorter, verify no more
// instructions, and give every packet the return code the reference
// classifier gives it (and the unfolded program). Differential.* runs the
// folded programs (the default) over 1M packets.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/harness.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "ref/classify.h"
#include "replay.h"

using namespace secpol;

namespace {

struct Case {
    const char* name;
    const char* text;
};

const Case kCases[] = {
    {"windows2000, default block",
     "exemptions windows2000\ndefault block\npermit proto tcp from 10.0.0.0/8 to any port 22\n"
     "block proto udp from any to any port 53\n"},
    {"nodefaultexempt 3, me, non-ip block",
     "exemptions nodefaultexempt 3\ndefault permit\nnon-ip block\nblock proto udp from me to any port 53\n"},
    {"none, tunnel",
     "exemptions none\ndefault block\nsecure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 192.0.2.1\n"},
    {"windows2000, me, log", "exemptions windows2000\ndefault block log\npermit from me to any log\n"},
};

// Every packet's return code from l, in both directions (-1: not run).
std::vector<int64_t> codes(const rt::LoadedPolicy& l, const std::vector<rt::Packet>& pkts) {
    std::vector<int64_t> out;
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT})
        for (const auto& p : pkts) {
            auto r = l.test_run(dir, p.data(), p.size());
            out.push_back(r ? int64_t(r->retval) : -1);
        }
    return out;
}

}  // namespace

TEST(ConfigFold, EveryFormLoadsShorterAndDecidesAsTheReference) {
    test::require_root();
    const auto locals = gen::default_locals();
    for (const auto& k : kCases) {
        const std::string text = std::string("policy \"fold\"\norder first-match\n") + k.text;
        auto c = test::compile_or_die(text);
        auto fallback = backend::ObjectImage::build(c.image.meta, c.image.nodes, {});
        ASSERT_TRUE(fallback);
        gen::PacketGen pg(c.policy, locals, 17);
        std::vector<rt::Packet> pkts(1500);
        for (auto& p : pkts) p = pg.next();
        struct Form {
            const char* name;
            const backend::ObjectImage* img;
            size_t splice_max;
            bool trace;
        };
        const Form forms[] = {{"spliced", &c.image, rt::kSpliceMaxDefault, false},
                              {"called", &c.image, 0, false},
                              {"spliced, trace", &c.image, rt::kSpliceMaxDefault, true},
                              {"node array", &*fallback, 0, false}};
        for (const auto& f : forms) {
            SCOPED_TRACE(std::string(k.name) + ", " + f.name);
            rt::LoadOptions on, off;
            on.splice_max = off.splice_max = f.splice_max;
            on.trace = off.trace = f.trace;
            off.fold_config = false;
            auto a = rt::LoadedPolicy::load(*f.img, locals, off);
            auto b = rt::LoadedPolicy::load(*f.img, locals, on);
            ASSERT_TRUE(a) << a.error().message;
            ASSERT_TRUE(b) << b.error().message;
            const std::string& what = (*b)->config_folded();
            EXPECT_EQ(what.find("not folded"), std::string::npos) << what;
            EXPECT_NE(what.find("loads"), std::string::npos) << what;
            for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
                auto sa = (*a)->prog_stats(dir);
                auto sb = (*b)->prog_stats(dir);
                ASSERT_TRUE(sa && sb);
                std::printf("  %-40s %-14s %s: xlated %u -> %u, verified %u -> %u\n", k.name, f.name,
                            dir == SECPOL_DIR_IN ? "in " : "out", sa->xlated_insns, sb->xlated_insns,
                            sa->verified_insns, sb->verified_insns);
                EXPECT_LT(sb->xlated_insns, sa->xlated_insns);
                EXPECT_LE(sb->verified_insns, sa->verified_insns + sa->verified_insns / 50);
            }
            const auto ca = codes(**a, pkts), cb = codes(**b, pkts);
            ASSERT_EQ(ca.size(), cb.size());
            size_t bad = 0;
            for (size_t i = 0; i < cb.size(); ++i) {
                const int dir = i < pkts.size() ? SECPOL_DIR_IN : SECPOL_DIR_OUT;
                const auto& p = pkts[i % pkts.size()];
                EXPECT_EQ(ca[i], cb[i]);
                if (cb[i] < 0) {
                    EXPECT_TRUE(dir == SECPOL_DIR_OUT && rt::tc_test_run_refuses(p.data(), p.size()));
                    continue;
                }
                const auto d = ref::classify(c.policy, p.data(), p.size(), dir, locals);
                const bool passed = dir == SECPOL_DIR_IN ? cb[i] == 2 /* XDP_PASS */ : cb[i] == 0;
                if (passed != (d.verdict == SECPOL_V_PERMIT) && ++bad <= 5)
                    ADD_FAILURE() << "packet " << i % pkts.size() << " dir " << dir << ": return code "
                                  << cb[i];
            }
        }
    }
}
