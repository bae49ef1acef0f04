// The compile pipeline's limits: a policy past the node budget is a clear
// error naming the limit (issue 11 item 4), not a tree built to be refused.
#include "backend/compile.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace secpol
