// The README's tour does what it says (issue 12 item 20): its sample policy
// is clean under `secpol check`, its `replay` names a host of its capture (so
// packets meet the policy's rules, not "block default"), runs as root, and
// `compile -o` writes into the build directory, not the checkout.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "front/frontend.h"
#include "ref/classify.h"
#include "runtime/capture.h"

using namespace secpol;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string readme() {
    return slurp(std::string(SECPOL_SOURCE_DIR) + "/README.md");
}

// The README's lines that run `build/secpol VERB`.
std::vector<std::string> commands(const std::string& verb) {
    std::vector<std::string> out;
    std::istringstream in(readme());
    std::string line;
    while (std::getline(in, line))
        if (line.find("build/secpol " + verb + " ") != std::string::npos) out.push_back(line);
    return out;
}

}  // namespace

TEST(Readme, SamplePolicyHasNoWarnings) {
    const std::string r = readme();
    size_t at = r.find("A policy:");
    ASSERT_NE(at, std::string::npos);
    size_t b = r.find("```\n", at);
    size_t e = r.find("```", b + 4);
    ASSERT_NE(e, std::string::npos);
    const std::string text = r.substr(b + 4, e - b - 4);
    front::Diagnostics d;
    auto p = front::compile_text(text, "README.md", d);
    ASSERT_TRUE(p) << text;
    front::lint(*p, d);
    std::ostringstream os;
    d.print(os, text);
    EXPECT_EQ(d.all().size(), 0u) << os.str();
}

TEST(Readme, ReplayNamesAHostOfItsCaptureAndRunsAsRoot) {
    auto lines = commands("replay");
    ASSERT_FALSE(lines.empty());
    for (const auto& line : lines) {
        SCOPED_TRACE(line);
        EXPECT_NE(line.find("sudo build/secpol replay"), std::string::npos) << "replay needs root";
        std::smatch m;
        ASSERT_TRUE(
            std::regex_search(line, m, std::regex(R"(replay (\S+) \.\./shared/(\S+) --local (\S+))")));
        front::Diagnostics d;
        auto p = front::compile_file(std::string(SECPOL_SOURCE_DIR) + "/" + m[1].str(), d);
        ASSERT_TRUE(p);
        net::LocalTable locals;
        ASSERT_TRUE(locals.add(m[3].str()));
        auto pkts = rt::read_capture(std::string(SECPOL_SHARED_DIR) + "/" + m[2].str());
        ASSERT_TRUE(pkts) << pkts.error().message;
        ASSERT_FALSE(pkts->empty());
        size_t by_default = 0;
        for (const auto& pk : *pkts)
            if (ref::classify(*p, pk.data(), pk.size(), SECPOL_DIR_IN, locals).reason == SECPOL_R_DEFAULT)
                ++by_default;
        EXPECT_EQ(by_default, 0u) << "packets that meet no rule: --local is not a host of the capture";
    }
}

TEST(Readme, CompileWritesIntoTheBuildDirectory) {
    auto lines = commands("compile");
    ASSERT_FALSE(lines.empty());
    for (const auto& line : lines) {
        std::smatch m;
        if (!std::regex_search(line, m, std::regex(R"(-o (\S+))"))) continue;
        const std::string out = m[1].str();
        EXPECT_TRUE(out.rfind("build/", 0) == 0 || out.rfind("/tmp/", 0) == 0) << line;
    }
}

TEST(RuntimeDoc, ClsactRuleIsStatedOnce) {
    // It said both "never deleted" and "removed if this load created it".
    const std::string doc = slurp(std::string(SECPOL_SOURCE_DIR) + "/docs/runtime.md");
    EXPECT_EQ(doc.find("never deleted"), std::string::npos);
    EXPECT_NE(doc.find("only when secpol created it and no other filter is on it"), std::string::npos);
}
