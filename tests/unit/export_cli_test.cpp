// `secpol export swanctl`, run as the built binary: output, file mode,
// exit codes (0 ok, 1 error or --strict warning, 2 usage) and --json.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/shell.h"

using namespace secpol;

namespace {

test::ShellRun run(const std::string& args, bool with_stderr = true) {
    return test::run_shell(std::string(SECPOL_BIN) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() / ("secpol-export-cli-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
}

const std::string kPolicies = std::string(SECPOL_SOURCE_DIR) + "/policies/";

}  // namespace

TEST(ExportCli, WritesTheConfigurationToStdout) {
    auto r =
        run("export swanctl " + kPolicies + "secure-server-require-security.pol --local 10.0.0.1", false);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("connections {\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("local_ts = 10.0.0.1/32\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("start_action = trap\n"), std::string::npos) << r.out;
}

TEST(ExportCli, StrictMakesWarningsErrors) {
    const std::string pol = kPolicies + "server-request-security.pol --local 10.0.0.1";
    auto w = run("export swanctl " + pol);
    EXPECT_EQ(w.status, 0) << w.out;
    EXPECT_NE(w.out.find("server-request-security.pol:19:1: warning: filter \"All IP Traffic\""),
              std::string::npos)
        << w.out;
    auto s = run("export swanctl " + pol + " --strict");
    EXPECT_EQ(s.status, 1) << s.out;
    EXPECT_NE(s.out.find("error: filter \"All IP Traffic\""), std::string::npos) << s.out;
}

TEST(ExportCli, UsageErrorsAndJson) {
    auto bad = run("export swanctl " + kPolicies + "web-server.pol --local not-an-address --json", false);
    EXPECT_EQ(bad.status, 2) << bad.out;
    auto j = nlohmann::json::parse(bad.out);
    EXPECT_TRUE(j.contains("error")) << bad.out;
    auto prefix = run("export swanctl " + kPolicies + "web-server.pol --local 10.0.0.0/8");
    EXPECT_EQ(prefix.status, 2) << prefix.out;
    auto missing = run("export swanctl /nonexistent.pol");
    EXPECT_EQ(missing.status, 1) << missing.out;
    auto missing_json = run("export swanctl /nonexistent.pol --json", false);
    EXPECT_EQ(missing_json.status, 1) << missing_json.out;
    EXPECT_TRUE(nlohmann::json::parse(missing_json.out).contains("error")) << missing_json.out;

    auto ok = run("export swanctl " + kPolicies + "web-server.pol --local 10.0.0.1 --json", false);
    EXPECT_EQ(ok.status, 0) << ok.out;
    auto o = nlohmann::json::parse(ok.out);
    EXPECT_EQ(o["ok"], true);
    EXPECT_EQ(o["connections"], 1);
    EXPECT_EQ(o["children"], 1);
    EXPECT_NE(o["config"].get<std::string>().find("local_ts = 10.0.0.1/32[tcp/22],10.0.0.1/32[tcp/3389]"),
              std::string::npos)
        << ok.out;
}

TEST(ExportCli, OutputFileHoldingAKeyIsPrivate) {
    auto dir = temp_dir();
    std::ofstream(dir / "k.psk") << "not-a-real-key\n";
    std::ofstream(dir / "p.pol")
        << "action r = secure auth psk \"k.psk\"\nr from me to 10.0.0.2 mirrored \"peer\"\n";
    auto out = dir / "swanctl.conf";
    auto r = run("export swanctl " + (dir / "p.pol").string() + " --local 10.0.0.1 -o " + out.string());
    EXPECT_EQ(r.status, 0) << r.out;
    struct stat st {};
    ASSERT_EQ(stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("secret = \"not-a-real-key\"\n"), std::string::npos) << text;
    std::filesystem::remove_all(dir);
}

TEST(ExportCli, KerberosIsAnErrorAtTheAction) {
    auto dir = temp_dir();
    std::ofstream(dir / "k.pol") << "action dc = secure auth kerberos\ndc from me to any mirrored\n";
    auto r = run("check " + (dir / "k.pol").string());
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("k.pol:1:25: error: action 'dc': Kerberos authentication"), std::string::npos)
        << r.out;
    auto e = run("export swanctl " + (dir / "k.pol").string());
    EXPECT_EQ(e.status, 1) << e.out;
    std::filesystem::remove_all(dir);
}
