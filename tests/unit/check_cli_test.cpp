// `secpol check`, run as the built binary.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/shell.h"

using namespace secpol;

namespace {

test::ShellRun run(const std::string& args) {
    return test::run_shell(std::string(SECPOL_BIN) + " " + args + " 2>&1");
}

std::string temp_policy(const std::string& name, const std::string& text) {
    auto p =
        std::filesystem::temp_directory_path() / ("secpol-check-" + std::to_string(getpid()) + "-" + name);
    std::ofstream(p) << text;
    return p.string();
}

const std::string kPolicies = std::string(SECPOL_SOURCE_DIR) + "/policies/";

}  // namespace

TEST(CheckCli, ShippedPoliciesAreValid) {
    auto r = run("check " + kPolicies + "*.pol");
    EXPECT_EQ(r.status, 0) << r.out;
    for (const char* name :
         {"client-respond-only", "server-request-security", "secure-server-require-security", "web-server",
          "domain-controller", "block-all-but-ipsec"})
        EXPECT_NE(r.out.find(std::string(name) + ".pol: ok:"), std::string::npos) << name << "\n" << r.out;
    EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
}

TEST(CheckCli, ReportsAllThreeErrorsWithLineAndColumn) {
    auto path = temp_policy("three.pol",
                            "policy \"three errors\"\n"
                            "permit proto tcp from $nope to me port 80\n"
                            "block proto icmp from any to me port 7\n"
                            "permit from 10.0.0.0/40 to me\n");
    auto r = run("check " + path);
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find(path + ":2:23: error: unknown set '$nope'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(path + ":3:38: error: ports need proto tcp or udp"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(path + ":4:13: error: prefix length /40"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("invalid: 3 errors"), std::string::npos) << r.out;
    std::filesystem::remove(path);
}

TEST(CheckCli, WarningsDoNotFail) {
    auto path =
        temp_policy("warn.pol", "order first-match\nblock from any to me\npermit from 10.0.0.0/8 to me\n");
    auto r = run("check " + path);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find(":3:1: warning: rule \"line 3\" (line 3) is never reached"), std::string::npos)
        << r.out;
    std::filesystem::remove(path);
}

TEST(CheckCli, JsonDocument) {
    auto bad = temp_policy("bad.pol", "permit from any\n");
    auto r = run("check --json " + kPolicies + "web-server.pol " + bad);
    EXPECT_EQ(r.status, 1);
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["files"].size(), 2u);
    const auto& ok = j["files"][0];
    EXPECT_EQ(ok["file"], kPolicies + "web-server.pol");
    EXPECT_EQ(ok["valid"], true);
    EXPECT_EQ(ok["errors"], 0);
    EXPECT_EQ(ok["rules"], 8);
    EXPECT_GT(ok["filters"].get<int>(), 8);
    EXPECT_TRUE(ok["diagnostics"].is_array());
    const auto& b = j["files"][1];
    EXPECT_EQ(b["valid"], false);
    EXPECT_EQ(b["errors"], 1);
    EXPECT_EQ(b["warnings"], 0);
    ASSERT_EQ(b["diagnostics"].size(), 1u);
    const auto& d = b["diagnostics"][0];
    EXPECT_EQ(d["severity"], "error");
    EXPECT_EQ(d["file"], bad);
    EXPECT_EQ(d["line"], 1);
    EXPECT_EQ(d["column"], 16);
    EXPECT_EQ(d["message"], "missing 'to ADDR'");
    std::filesystem::remove(bad);
}

TEST(CheckCli, JsonSurvivesNonUtf8Input) {
    auto junk = temp_policy("junk.pol", "policy \"\xff\xfe\"\n\xc3\x28 permit\n");
    auto r = run("check --json " + junk);
    EXPECT_EQ(r.status, 1);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["files"][0]["errors"], 2);
    std::filesystem::remove(junk);
}

TEST(CheckCli, MissingFileIsAnError) {
    auto r = run("check /nonexistent/none.pol");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("/nonexistent/none.pol: error: cannot open policy file"), std::string::npos)
        << r.out;
}

TEST(CheckCli, HelpDescribesTheVerb) {
    auto r = run("check --help");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("--json"), std::string::npos);
    EXPECT_NE(r.out.find("POLICY"), std::string::npos);
    EXPECT_NE(r.out.find("never reached"), std::string::npos);
}

TEST(CheckCli, DirectoryIsNotAPolicy) {
    auto r = run("check " + std::string(SECPOL_SOURCE_DIR) + "/policies");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("is a directory"), std::string::npos) << r.out;
}
