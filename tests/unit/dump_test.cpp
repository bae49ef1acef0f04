// --dump=ir goldens: tests/golden/ir/NAME.pol -> NAME.ir
#include <gtest/gtest.h>

#include "front/frontend.h"
#include "unit/golden_util.h"

using namespace secpol;

TEST(DumpIr, Goldens) {
    auto inputs = test::golden_inputs("ir");
    ASSERT_FALSE(inputs.empty());
    for (const auto& in : inputs) {
        SCOPED_TRACE(in.filename().string());
        front::Diagnostics diags;
        // Relative file name keeps the goldens independent of the checkout path.
        auto p = front::compile_text(test::read_file(in), in.filename().string(), diags);
        ASSERT_TRUE(p.has_value());
        test::expect_golden(in, ".ir", front::dump_ir(*p));
    }
}

// The shipped policies: tests/golden/ir/policies/NAME.ir
TEST(DumpIr, ShippedPolicies) {
    auto inputs = test::pol_files("policies");
    ASSERT_GE(inputs.size(), 6u);
    for (const auto& in : inputs) {
        SCOPED_TRACE(in.filename().string());
        front::Diagnostics diags;
        auto p = front::compile_text(test::read_file(in), in.filename().string(), diags);
        ASSERT_TRUE(p.has_value());
        auto golden = std::filesystem::path(SECPOL_SOURCE_DIR) / "tests/golden/ir/policies" / in.filename();
        test::expect_golden_file(golden.replace_extension(".ir"), front::dump_ir(*p));
    }
}

TEST(DumpIr, HeaderLinesAndOneLinePerFilter) {
    front::Diagnostics diags;
    auto p = front::compile_text(
        "policy \"x\"\nexemptions none\ndefault block\nblock proto tcp from any to me port 80\n", "t.pol",
        diags);
    ASSERT_TRUE(p);
    std::string d = front::dump_ir(*p);
    EXPECT_EQ(
        d,
        "policy \"x\"\n"
        "exemptions none = (none)\n"
        "order specificity\n"
        "default block\n"
        "non-ip permit\n"
        "rules 1 filters 1\n"
        "#0 rule=0 line=4 label=\"line 4\" action=block dir=both proto=tcp src=any sport=* dst=me dport=80 "
        "spec=128/1/65535/0\n");
}
