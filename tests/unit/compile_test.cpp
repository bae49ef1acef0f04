// The compile pipeline's limits: a policy past the node budget is a clear
// error naming the limit (issue 11 item 4), not a tree built to be refused.
#include "backend/compile.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gen/generator.h"

namespace secpol {
namespace {

TEST(Compile, NodeBudgetErrorNamesTheLimitAndThePolicy) {
    gen::Options o;
    o.filters = 1000;
    o.seed = 2000;
    const std::string text = gen::generate_policy(o);
    backend::CompileOptions opts;
    opts.tree.max_nodes = 2000;
    front::Diagnostics d;
    auto r = backend::compile_policy_text(text, "big.pol", d, opts);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("big.pol: "), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("more than 2000 nodes"), std::string::npos) << r.error().message;

    opts.tree.max_nodes = tree::kMaxNodes;
    auto ok = backend::compile_policy_text(text, "big.pol", d, opts);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    ASSERT_TRUE(ok->has_value());
    EXPECT_GT((*ok)->program.nodes.size(), 2000u);
}

// The two directions' trees and code bodies are built on two threads; the
// object must be the one a single thread builds, byte for byte (node
// indices, instructions, metadata), whatever the order and size.
std::vector<uint8_t> object_of(const std::string& text, const std::string& name, bool parallel) {
    backend::CompileOptions opts;
    opts.tree.parallel = parallel;
    opts.codegen.parallel = parallel;
    front::Diagnostics d;
    auto r = backend::compile_policy_text(text, name, d, opts);
    EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
    if (!r.ok() || !r->has_value()) {
        ADD_FAILURE() << name << " does not compile";
        return {};
    }
    return (*r)->image.elf;
}

TEST(Compile, TwoThreadsBuildTheSameObjectAsOne) {
    std::vector<std::pair<std::string, std::string>> policies;
    for (const auto& f : std::filesystem::directory_iterator(std::string(SECPOL_SOURCE_DIR) + "/policies"))
        if (f.path().extension() == ".pol") {
            auto text = backend::read_text_file(f.path().string());
            ASSERT_TRUE(text.ok());
            policies.emplace_back(f.path().filename().string(), *text);
        }
    ASSERT_GE(policies.size(), 5u);
    // Generated ones in both orders: mirrored filters give the two
    // directions different terms (their own trees), 3,000 filters build
    // forests with one-tree attempts, random mode overlaps everything.
    for (bool first_match : {false, true})
        for (unsigned n : {10u, 300u, 3000u}) {
            gen::Options o;
            o.filters = n;
            o.seed = 11 + n;
            o.first_match = first_match;
            policies.emplace_back(std::to_string(n) + (first_match ? "-first-match" : "-specificity"),
                                  gen::generate_policy(o));
            auto r = gen::differential_options(n + (first_match ? 1 : 0), n);
            policies.emplace_back(std::to_string(n) + "-random", gen::generate_policy(r));
        }
    for (const auto& [name, text] : policies) {
        const auto one = object_of(text, name, false), two = object_of(text, name, true);
        ASSERT_FALSE(one.empty()) << name;
        EXPECT_TRUE(one == two) << name << ": " << one.size() << " vs " << two.size() << " bytes";
    }
}

}  // namespace
}  // namespace secpol
