// `secpol diff` through the binary: text and JSON, exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/shell.h"

using namespace secpol;

namespace {

const std::string kPolicies = std::string(SECPOL_SOURCE_DIR) + "/policies/";

test::ShellRun run_secpol(const std::string& args) {
    return test::run_shell(std::string(SECPOL_BIN) + " " + args + " 2>/dev/null");
}

}  // namespace

TEST(DiffCli, SamePolicyNoChange) {
    auto r = run_secpol("diff --exit-code " + kPolicies + "web-server.pol " + kPolicies + "web-server.pol");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "no traffic changes verdict\n");
}

TEST(DiffCli, JsonRegionsWithExamplesAndExitCode) {
    auto r = run_secpol("diff --json --exit-code --local 10.0.0.2/24 " + kPolicies + "web-server.pol " +
                        kPolicies + "secure-server-require-security.pol");
    EXPECT_EQ(r.status, 3);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_TRUE(j["changed"].get<bool>());
    ASSERT_GT(j["regions"].size(), 0u);
    for (const auto& reg : j["regions"]) {
        EXPECT_NE(reg["before"]["verdict"], reg["after"]["verdict"]);
        ASSERT_TRUE(reg.contains("example"));
        // The example replays through explain with the same verdicts.
        std::string locals;
        for (const auto& m : reg["example"]["me"]) locals += " --local " + m.get<std::string>();
        if (!reg["example"]["broadcasts"].empty()) continue;  // explain takes subnets, not broadcasts
        for (const auto& [file, side] : {std::pair{"web-server.pol", "before"},
                                         std::pair{"secure-server-require-security.pol", "after"}}) {
            auto e =
                run_secpol("explain --json " + kPolicies + file + " --dir " + reg["dir"].get<std::string>() +
                           locals + " --packet '" + reg["example"]["packet"].get<std::string>() + "'");
            auto ej = nlohmann::json::parse(e.out, nullptr, false);
            ASSERT_FALSE(ej.is_discarded()) << e.out;
            EXPECT_EQ(ej["verdict"], reg[side]["verdict"]) << reg.dump();
        }
    }
}

TEST(DiffCli, UsageAndErrors) {
    auto bad = run_secpol("diff --json --local nonsense " + kPolicies + "web-server.pol " + kPolicies +
                          "web-server.pol");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.out.find("\"error\""), std::string::npos) << bad.out;
}
