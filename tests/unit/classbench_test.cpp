// ClassBench scale tests (issue 3): every TCP/UDP trace line of every set
// walks to exactly the published first-match rule, within the step bound.
#include "gen/classbench.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "tree/program.h"
#include "tree/terms.h"

namespace secpol {
namespace {

const std::string kDir = std::string(SECPOL_SHARED_DIR) + "/classbench/";

class ClassBench : public ::testing::TestWithParam<const char*> {};

TEST_P(ClassBench, WalkReproducesFirstMatch) {
    const std::string set = GetParam();
    ir::Policy pol = gen::classbench_policy(kDir + set);
    auto trace = gen::classbench_trace(kDir + set + "_trace");
    auto answers = gen::classbench_firstmatch(kDir + set + "_trace.firstmatch");
    ASSERT_EQ(trace.size(), answers.size());
    ASSERT_FALSE(pol.rules.empty());

    tree::BuildStats st;
    tree::Program prog = tree::build(pol, {.leaf_size = 4, .stats = &st});
    ASSERT_LE(prog.max_steps, SECPOL_MAX_STEPS);
    EXPECT_EQ(prog.root_in, prog.root_out);  // no directions in ClassBench: one shared tree

    size_t checked = 0, mismatches = 0;
    uint64_t total_steps = 0;
    unsigned max_steps = 0;
    for (size_t i = 0; i < trace.size(); ++i) {
        if (trace[i].proto != 6 && trace[i].proto != 17) continue;  // ports only exist for TCP/UDP
        unsigned steps = 0;
        int64_t got = tree::walk(prog, prog.root_in, gen::classbench_key(trace[i]), &steps);
        ASSERT_LE(steps, SECPOL_MAX_STEPS);
        ASSERT_LE(steps, prog.max_steps);
        total_steps += steps;
        max_steps = std::max(max_steps, steps);
        ++checked;
        if (got != answers[i] && ++mismatches <= 5)
            ADD_FAILURE() << set << " trace line " << i + 1 << ": walk gave " << got << ", first match is "
                          << answers[i];
    }
    EXPECT_EQ(mismatches, 0u);
    EXPECT_GT(checked, trace.size() / 2);
    tree::Shape sh = tree::shape(prog, prog.root_in);
    std::cout << std::fixed << std::setprecision(1) << "[classbench] " << std::left << std::setw(9) << set
              << " rules " << pol.rules.size() << " terms " << st.terms_in << " build " << st.seconds * 1000
              << " ms, nodes " << prog.nodes.size() << " ("
              << prog.nodes.size() * sizeof(secpol_node) / 1024.0 << " KiB, " << st.tree_nodes
              << " before sharing), trees " << st.trees << ", groups " << st.groups << ", peak candidates "
              << st.peak_candidates << ", depth " << prog.depth << ", max steps " << prog.max_steps
              << " (trace max " << max_steps << ", mean " << std::setprecision(2)
              << double(total_steps) / checked << " over " << checked << ")\n";
    EXPECT_EQ(sh.max_steps, prog.max_steps);
}

INSTANTIATE_TEST_SUITE_P(Sets, ClassBench,
                         ::testing::Values("acl1_100", "acl1_1k", "acl1_10k", "fw1_100", "fw1_1k", "fw1_10k",
                                           "ipc1_100", "ipc1_1k", "ipc1_10k"));

// The linear reference over terms agrees with the published answers too (a
// check of the loader and term expansion independent of the tree).
TEST(ClassBenchTerms, LinearFirstMatchOnSmallSets) {
    for (const char* set : {"acl1_1k", "fw1_1k", "ipc1_1k"}) {
        ir::Policy pol = gen::classbench_policy(kDir + set);
        auto terms = tree::expand(pol, SECPOL_DIR_IN);
        auto trace = gen::classbench_trace(kDir + std::string(set) + "_trace");
        auto answers = gen::classbench_firstmatch(kDir + std::string(set) + "_trace.firstmatch");
        for (size_t i = 0; i < trace.size(); i += 3) {
            if (trace[i].proto != 6 && trace[i].proto != 17) continue;
            ASSERT_EQ(tree::first_match(terms, gen::classbench_key(trace[i])), answers[i])
                << set << " line " << i + 1;
        }
    }
}

TEST(ClassBenchLoader, RuleTranslation) {
    std::string path = ::testing::TempDir() + "/cb_loader_rules";
    {
        std::ofstream f(path);
        f << "@10.1.2.0/24\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000\t\n"
          << "@0.0.0.0/0\t192.168.0.1/32\t1024 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000\t\n"
          << "@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000\t\n";
    }
    ir::Policy pol = gen::classbench_policy(path);
    ASSERT_EQ(pol.rules.size(), 3u);
    ASSERT_EQ(pol.filters.size(), 4u);  // rule 1: wildcard protocol with ports -> tcp + udp
    EXPECT_EQ(pol.order, ir::Order::FirstMatch);
    EXPECT_EQ(pol.filters[0].src.prefix.str(), "10.1.2.0/24");
    EXPECT_EQ(pol.filters[0].src.prefix.len, 96 + 24);
    EXPECT_EQ(pol.filters[0].proto, std::optional<uint8_t>(6));
    EXPECT_TRUE(pol.filters[0].l4_given);
    EXPECT_EQ(pol.filters[1].rule_id, 1u);
    EXPECT_EQ(pol.filters[1].proto, std::optional<uint8_t>(6));
    EXPECT_EQ(pol.filters[2].rule_id, 1u);
    EXPECT_EQ(pol.filters[2].proto, std::optional<uint8_t>(17));
    EXPECT_EQ(pol.filters[2].sport, (ir::Range{1024, 65535}));
    EXPECT_FALSE(pol.filters[3].proto.has_value());
    EXPECT_FALSE(pol.filters[3].l4_given);

    tree::Program prog = tree::build(pol);
    gen::ClassBenchHeader h{0x0a010203, 0x01020304, 5000, 80, 6};
    EXPECT_EQ(tree::walk(prog, prog.root_in, gen::classbench_key(h)), 0);
    h = {0x0b000001, 0xc0a80001, 5000, 53, 17};
    EXPECT_EQ(tree::walk(prog, prog.root_in, gen::classbench_key(h)), 1);
    h.proto = 47;  // GRE has no ports: rule 1 cannot match it
    EXPECT_EQ(tree::walk(prog, prog.root_in, gen::classbench_key(h)), 2);
    h.proto = 17;
    h.sport = 1023;
    EXPECT_EQ(tree::walk(prog, prog.root_in, gen::classbench_key(h)), 2);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace secpol
