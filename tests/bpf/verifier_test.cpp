// What the verifier makes of the fixed programs under every configuration
// that changes their code (exemption profile, `me`, tunnels, trace): both
// load, and the instructions it processed stay far from the kernel's limit
// of 1,000,000, whatever the policy's size (the decision program is data).
// Per-packet cost is measured in bench/, never here.
#include <cstdio>

#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;

namespace {

// Half the kernel's BPF_COMPLEXITY_LIMIT_INSNS: a change that doubles the
// verifier's work fails here long before a user's load would.
constexpr uint32_t kBudget = 500000;

struct Config {
    const char* name;
    const char* text;
    bool trace;
};

const Config kConfigs[] = {
    {"windows2000, no me", "exemptions windows2000\nblock proto tcp from 10.0.0.0/8 to any port 445\n",
     false},
    {"nodefaultexempt 3, me", "exemptions nodefaultexempt 3\nblock proto udp from me to any port 53\n",
     false},
    {"none, tunnel", "exemptions none\nsecure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 192.0.2.1\n", false},
    {"windows2000, me, trace", "exemptions windows2000\npermit from me to any\n", true},
    // The log build of the program (tests/bpf/log_test.cpp): log path in.
    {"windows2000, me, log", "exemptions windows2000\npermit from me to any log\n", false},
};

}  // namespace

TEST(Verifier, FixedProgramsStayWithinBudgetInEveryConfiguration) {
    require_root();
    for (const auto& c : kConfigs) {
        SCOPED_TRACE(c.name);
        std::string text = std::string("policy \"verifier\"\norder first-match\ndefault permit\n") + c.text;
        auto h = Harness::load(text, locals_of({"10.0.0.1/24"}), c.trace);
        ASSERT_TRUE(h);
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            auto s = h->loaded->prog_stats(dir);
            ASSERT_TRUE(s.ok()) << s.error().message;
            std::printf("  %-24s %s: xlated %u insns, jited %u bytes, verifier processed %u insns\n", c.name,
                        dir == SECPOL_DIR_IN ? "secpol_ingress" : "secpol_egress", s->xlated_insns,
                        s->jited_bytes, s->verified_insns);
            EXPECT_GT(s->xlated_insns, 0u);
            EXPECT_GT(s->verified_insns, 0u);
            EXPECT_LT(s->verified_insns, kBudget);
        }
    }
}
