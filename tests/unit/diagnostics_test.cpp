// Diagnostics: the text form (FILE:LINE:COL, source line, caret), JSON, and
// the golden files tests/golden/diag/NAME.pol -> NAME.expected.
#include <gtest/gtest.h>

#include <sstream>

#include "front/frontend.h"
#include "unit/golden_util.h"

using namespace secpol;
using Sev = front::Diagnostic::Severity;

namespace {

std::string run(const std::string& text, const std::string& name, front::Diagnostics& d) {
    auto p = front::compile_text(text, name, d);
    if (p) front::lint(*p, d);
    std::ostringstream os;
    d.print(os, text);
    return os.str();
}

}  // namespace

TEST(Diagnostics, Goldens) {
    auto inputs = test::golden_inputs("diag");
    ASSERT_GE(inputs.size(), 8u);
    for (const auto& in : inputs) {
        SCOPED_TRACE(in.filename().string());
        front::Diagnostics d;
        std::string out = run(test::read_file(in), in.filename().string(), d);
        EXPECT_FALSE(d.all().empty()) << "a diagnostics golden must produce diagnostics";
        test::expect_golden(in, ".expected", out);
    }
}

TEST(Diagnostics, TextFormatWithSourceLineAndCaret) {
    front::Diagnostics d;
    std::string out = run("permit from any to me\n\tblock proto tcp from any to me port 99999\n", "f.pol", d);
    EXPECT_EQ(out,
              "f.pol:2:38: error: port 99999 is out of range (0..65535)\n"
              "  \tblock proto tcp from any to me port 99999\n"
              "  \t                                    ^\n");
}

TEST(Diagnostics, EveryErrorOfAFileInOneRun) {
    front::Diagnostics d;
    run("permit from $a to me\npermit proto tcp from any to me port 5-1\nblock proto xyz from any to me\n",
        "f.pol", d);
    ASSERT_EQ(d.error_count(), 3u);
    EXPECT_EQ(d.all()[0].loc.line, 1);
    EXPECT_EQ(d.all()[0].loc.col, 13);
    EXPECT_EQ(d.all()[1].loc.line, 2);
    EXPECT_EQ(d.all()[1].loc.col, 38);
    EXPECT_EQ(d.all()[2].loc.line, 3);
    EXPECT_EQ(d.all()[2].loc.col, 13);
}

TEST(Diagnostics, UnprintableBytesAreNotEchoed) {
    front::Diagnostics d;
    std::string out = run("permit \x1b[31m from any to me\n", "f.pol", d);
    EXPECT_EQ(out.find('\x1b'), std::string::npos);
    EXPECT_NE(out.find("unexpected control character 0x1b"), std::string::npos);
}

TEST(Diagnostics, CaretPastTheEndForAMissingToken) {
    front::Diagnostics d;
    std::string out = run("permit from any", "f.pol", d);
    EXPECT_EQ(out, "f.pol:1:16: error: missing 'to ADDR'\n  permit from any\n                 ^\n");
}

TEST(Diagnostics, FileLevelDiagnosticHasNoLine) {
    front::Diagnostics d;
    EXPECT_FALSE(front::compile_file("/nonexistent/x.pol", d));
    ASSERT_EQ(d.error_count(), 1u);
    std::ostringstream os;
    d.print(os, "");
    EXPECT_EQ(os.str().rfind("/nonexistent/x.pol: error: cannot open policy file", 0), 0u);
}

TEST(Diagnostics, CountsAndJson) {
    front::Diagnostics d;
    d.error({"a.pol", 3, 4}, "bad");
    d.warning({"a.pol", 1, 2}, "meh");
    d.note({"a.pol", 5, 1}, "fyi");
    EXPECT_TRUE(d.has_errors());
    EXPECT_EQ(d.error_count(), 1u);
    EXPECT_EQ(d.warning_count(), 1u);
    d.sort_by_location();
    auto j = d.to_json();
    ASSERT_EQ(j.size(), 3u);
    EXPECT_EQ(j[0]["severity"], "warning");
    EXPECT_EQ(j[1]["severity"], "error");
    EXPECT_EQ(j[1]["file"], "a.pol");
    EXPECT_EQ(j[1]["line"], 3);
    EXPECT_EQ(j[1]["column"], 4);
    EXPECT_EQ(j[1]["message"], "bad");
    EXPECT_EQ(j[2]["severity"], "note");
}

TEST(Diagnostics, WarningsAloneKeepThePolicyValid) {
    front::Diagnostics d;
    auto p = front::compile_text("block from 10.0.0.1/8 to me\n", "f.pol", d);
    EXPECT_TRUE(p.has_value());
    EXPECT_EQ(d.warning_count(), 1u);
    EXPECT_FALSE(d.has_errors());
}

TEST(Diagnostics, ALongLineIsClippedAroundTheCaret) {
    front::Diagnostics d;
    std::string pad(300, ' ');
    std::string out =
        run("permit proto tcp from any to me" + pad + "port 99999" + pad + "# end\n", "f.pol", d);
    // Column 337 (the port's number): 60 columns before it and 60 after, each clipped side marked.
    const std::string shown = "..." + std::string(55, ' ') + "port 99999" + std::string(55, ' ') + "...";
    EXPECT_EQ(out, "f.pol:1:" + std::to_string(31 + 300 + 6) +
                       ": error: port 99999 is out of range (0..65535)\n  " + shown + "\n  " +
                       std::string(3 + 60, ' ') + "^\n");
}

TEST(Diagnostics, ACompiledObjectIsNamedAsOne) {
    front::Diagnostics d;
    std::string elf(
        "\x7f"
        "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x01\0\xf7\0",
        20);
    elf += std::string(400, 'x') + "\n" + std::string(10, '\0');
    std::string out = run(elf, "ws.o", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_EQ(d.all()[0].message,
              "this is a compiled object (ELF), not a policy file: give the policy's source");
    EXPECT_EQ(out.find('\x7f'), std::string::npos);
    EXPECT_LT(out.size(), 400u) << out;
}
