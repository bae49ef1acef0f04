// `secpol compile` says which form the object's decision takes: the walker
// (generated or node-array) and, for generated walks small enough, that the
// filters run inline in the entry programs (stderr and --json).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/shell.h"

namespace {

std::string policy_file(const std::string& name, unsigned filters) {
    std::string path = ::testing::TempDir() + "/secpol_compile_" + name + ".pol";
    std::ofstream f(path);
    f << "policy \"" << name << "\"\nexemptions windows2000\ndefault permit\n";
    for (unsigned i = 0; i < filters; ++i)
        f << "block proto udp from 10." << (i >> 8) << "." << (i & 255) << ".0/24 to any port " << 1000 + i
          << "\n";
    return path;
}

nlohmann::json compile_json(const std::string& path) {
    auto r = secpol::test::run_shell(std::string(SECPOL_BIN) + " compile --json " + path + " 2>/dev/null");
    EXPECT_EQ(r.status, 0) << r.out;
    return nlohmann::json::parse(r.out, nullptr, false);
}

}  // namespace

TEST(CmdCompile, SaysWhenTheFiltersRunInlineInTheEntryPrograms) {
    const std::string small = policy_file("small", 3);
    auto j = compile_json(small);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["walker"]["form"], "generated");
    EXPECT_EQ(j["walker"]["filters_inline"], true) << j["walker"].dump();
    // A small body: the inline template without the opaque store (backend::kOpaqueMaxInsns).
    EXPECT_EQ(j["walker"]["template"], "inline-direct") << j["walker"].dump();
    auto r = secpol::test::run_shell(std::string(SECPOL_BIN) + " compile " + small + " -o /dev/null 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("decision as generated code"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("the filters inline in the entry programs"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("without the opaque store before the walk"), std::string::npos) << r.out;
}

TEST(CmdCompile, MidSizeWalksMakeTheRecordOpaqueBeforeTheWalk) {
    // Bodies above backend::kOpaqueMaxInsns (1,024) and within the splice limit.
    const std::string mid = policy_file("mid", 300);
    auto j = compile_json(mid);
    ASSERT_TRUE(j.is_object());
    const int body = std::max(j["walker"]["insns_in"].get<int>(), j["walker"]["insns_out"].get<int>());
    ASSERT_GT(body, 1024) << j["walker"].dump();
    ASSERT_LE(body, 16384) << j["walker"].dump();
    EXPECT_EQ(j["walker"]["filters_inline"], true) << j["walker"].dump();
    EXPECT_EQ(j["walker"]["template"], "inline") << j["walker"].dump();
    auto r = secpol::test::run_shell(std::string(SECPOL_BIN) + " compile " + mid + " -o /dev/null 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("the record made opaque to the verifier before the walk"), std::string::npos)
        << r.out;
}

TEST(CmdCompile, LargerWalksKeepTheFiltersInTheDecideFunctions) {
    // Bodies beyond the splice limit (backend::kInlineMaxInsns = kSpliceMaxInsns, 16,384).
    const std::string large = policy_file("large", 4000);
    auto j = compile_json(large);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["walker"]["form"], "generated");
    EXPECT_GT(j["walker"]["insns_in"].get<int>(), 16384) << j["walker"].dump();
    EXPECT_EQ(j["walker"]["filters_inline"], false) << j["walker"].dump();
    EXPECT_EQ(j["walker"]["template"], "called") << j["walker"].dump();
    auto r = secpol::test::run_shell(std::string(SECPOL_BIN) + " compile " + large + " -o /dev/null 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("the filters inline"), std::string::npos) << r.out;
}
