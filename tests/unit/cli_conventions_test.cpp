// Conventions every verb shares (issue 12 items 6, 7, 13, 14, 15, 16), run
// through the built binary: the exit-code table, --json errors on stdout,
// -v after the verb, "-" for standard input, directories and missing files,
// interface names that would build paths, and no lock file per name typed.
// Run dir and bpffs are private temp dirs (SECPOL_RUN_DIR, SECPOL_BPFFS).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/shell.h"

namespace fs = std::filesystem;
using secpol::test::run_shell;
using secpol::test::ShellRun;

namespace {

const std::string kPolicy = std::string(SECPOL_SOURCE_DIR) + "/policies/web-server.pol";
const std::string kPacket = "'udp 198.51.100.7:1234 > 192.0.2.1:161'";

class CliConventions : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("secpol-cli-" + std::to_string(getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "victim");
        std::ofstream(dir_ / "victim" / "state.json") << "{}";
        std::ofstream(dir_ / "victim" / "policy.pol") << "x";
        env_ = "SECPOL_RUN_DIR=" + (dir_ / "run").string() + " SECPOL_BPFFS=" + (dir_ / "bpf").string() + " ";
    }
    void TearDown() override { fs::remove_all(dir_); }
    // stdout only (stderr dropped) or both.
    ShellRun out(const std::string& args) {
        return run_shell(env_ + SECPOL_BIN + " " + args + " 2>/dev/null");
    }
    ShellRun all(const std::string& args) { return run_shell(env_ + SECPOL_BIN + " " + args + " 2>&1"); }
    ShellRun err(const std::string& args) {
        return run_shell(env_ + SECPOL_BIN + " " + args + " 2>&1 >/dev/null");
    }
    fs::path dir_;
    std::string env_;
};

nlohmann::json parse(const std::string& s) {
    auto j = nlohmann::json::parse(s, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << s;
    return j;
}

}  // namespace

TEST_F(CliConventions, MissingFileIsOneFromEveryVerb) {
    const std::string f = (dir_ / "nosuch.pol").string();
    EXPECT_EQ(all("check " + f).status, 1);
    EXPECT_EQ(all("compile " + f + " -o " + (dir_ / "x.o").string()).status, 1);
    EXPECT_EQ(all("replay " + f + " " + f).status, 1);
    auto e = all("explain " + f + " --packet " + kPacket);
    EXPECT_EQ(e.status, 1) << e.out;  // was 105 (CLI11's ValidationError)
    EXPECT_NE(e.out.find("No such file or directory"), std::string::npos) << e.out;
    EXPECT_EQ(all("load " + f + " --dev lo").status, 1);  // was 105
}

TEST_F(CliConventions, UsageErrorsAreTwo) {
    EXPECT_EQ(all("check --no-such-option " + kPolicy).status, 2);
    EXPECT_EQ(all("explain " + kPolicy).status, 2);  // --packet missing
    EXPECT_EQ(all("explain " + kPolicy + " --dir sideways --packet " + kPacket).status, 2);
    EXPECT_EQ(all("explain " + kPolicy + " --local nonsense --packet " + kPacket).status, 2);
    EXPECT_EQ(all("compile " + kPolicy).status, 2);  // nothing to do
    EXPECT_EQ(all("load " + kPolicy + " --dev lo --xdp-mode turbo").status, 2);
    EXPECT_EQ(all("unload").status, 2);  // neither --dev nor --all
    EXPECT_EQ(all("frobnicate").status, 2);
    EXPECT_EQ(all("").status, 2);
    EXPECT_EQ(all("--help").status, 0);
    EXPECT_EQ(all("--version").status, 0);
}

TEST_F(CliConventions, DirectoriesAreErrorsNotAborts) {
    const std::string d = dir_.string();
    for (const std::string& args :
         {"compile " + d + " -o " + d + "/x.o", "replay " + d + " " + d,
          "explain " + d + " --packet " + kPacket, "check " + d, "load " + d + " --dev lo"}) {
        auto r = all(args);
        EXPECT_EQ(r.status, 1) << args << "\n" << r.out;  // compile and replay died of std::ios_failure (134)
        EXPECT_EQ(r.out.find("terminate"), std::string::npos) << args << "\n" << r.out;
    }
    EXPECT_NE(all("compile " + d + " -o " + d + "/x.o").out.find("is a directory"), std::string::npos);
    EXPECT_NE(all("replay " + d + " " + d).out.find("is a directory"), std::string::npos);
}

TEST_F(CliConventions, JsonErrorsGoToStdout) {
    auto r = out("explain " + (dir_ / "nosuch.pol").string() + " --packet " + kPacket + " --json");
    EXPECT_EQ(r.status, 1);
    auto j = parse(r.out);
    ASSERT_TRUE(j.contains("error")) << r.out;
    EXPECT_NE(j["error"].get<std::string>().find("nosuch.pol"), std::string::npos) << r.out;

    r = out("check --json --no-such-option " + kPolicy);
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(parse(r.out).contains("error")) << r.out;

    for (const std::string& verb : std::vector<std::string>{
             "counters --dev ../../victim", "status --dev ../../victim", "unload --dev ../../victim",
             "load " + kPolicy + " --dev ../../victim", "log --dev ../../victim"}) {
        r = out(verb + " --json");
        EXPECT_EQ(r.status, 1) << verb;
        j = parse(r.out);
        EXPECT_NE(j.value("error", "").find("not a valid interface name"), std::string::npos)
            << verb << r.out;
        // Nothing on stderr but what -v would add.
        EXPECT_EQ(err(verb + " --json").out, "") << verb;
    }
}

TEST_F(CliConventions, VerboseAfterTheVerb) {
    EXPECT_EQ(all("check " + kPolicy + " -v").status, 0);
    EXPECT_EQ(all("check -vv " + kPolicy).status, 0);
}

TEST_F(CliConventions, DashReadsStandardInput) {
    std::string text = "policy \"stdin\"\ndefault permit\nblock proto udp from any to me port 161 \"snmp\"\n";
    std::ofstream(dir_ / "p.pol") << text;
    const std::string p = (dir_ / "p.pol").string();
    auto r = all("check - < " + p);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("<stdin>: ok: 1 rules"), std::string::npos) << r.out;
    r = out("explain - --local 192.0.2.1 --packet " + kPacket + " --json < " + p);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(parse(r.out).value("verdict", ""), "block") << r.out;
    r = all("compile - -o " + (dir_ / "p.o").string() + " < " + p);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(fs::file_size(dir_ / "p.o") > 0);
    // Errors name <stdin> with line and column.
    r = run_shell(env_ + "printf 'default sideways\\n' | " + SECPOL_BIN + " check - 2>&1");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("<stdin>:1:"), std::string::npos) << r.out;
}

TEST_F(CliConventions, XdpModeTakesXdpLoadersNames) {
    for (const char* m : {"native", "skb", "hw", "generic", "auto"}) {
        // Parsed (not 2); fails later on the interface's name.
        auto r = all(std::string("load ") + kPolicy + " --dev ../x --xdp-mode " + m);
        EXPECT_EQ(r.status, 1) << m << "\n" << r.out;
        EXPECT_NE(r.out.find("not a valid interface name"), std::string::npos) << m << r.out;
    }
}

TEST_F(CliConventions, InterfaceNamesNeverBuildPaths) {
    const std::string names[] = {"../../victim", "..", "a/b", "''", "abcdefghijklmnop", "'a b'"};
    for (const auto& n : names)
        for (const char* verb :
             {"unload --dev ", "counters --dev ", "status --dev ", "counters --reset --dev ", "log --dev "}) {
            auto r = all(verb + n);
            EXPECT_EQ(r.status, 1) << verb << n << "\n" << r.out;
            EXPECT_NE(r.out.find("not a valid interface name"), std::string::npos) << verb << n << r.out;
        }
    // Nothing deleted there, nothing created anywhere.
    EXPECT_TRUE(fs::exists(dir_ / "victim" / "state.json"));
    EXPECT_TRUE(fs::exists(dir_ / "victim" / "policy.pol"));
    EXPECT_FALSE(fs::exists(dir_ / "victim.lock"));
    EXPECT_FALSE(fs::exists(dir_ / "run"));
    EXPECT_FALSE(fs::exists(dir_ / "bpf"));
}

TEST_F(CliConventions, NoLockFilePerNameTyped) {
    // counters and status of a name never loaded, unload of one: no trace left.
    EXPECT_EQ(all("counters --dev nosuch9").status, 1);
    EXPECT_EQ(all("status --dev nosuch9").status, 1);
    EXPECT_EQ(all("log --dev nosuch9").status, 1);
    EXPECT_EQ(all("log --dev nosuch9 --json --pcap -").status, 2);  // both want stdout
    auto r = all("unload --dev nosuch9");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "run" / "nosuch9.lock"));
    EXPECT_FALSE(fs::exists(dir_ / "run" / "nosuch9"));
    // The run dir, when created, is root's alone.
    struct stat st {};
    ASSERT_EQ(stat((dir_ / "run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(CliConventions, RunDirTightenedTo0700) {
    fs::create_directories(dir_ / "run");
    chmod((dir_ / "run").c_str(), 0755);
    all("unload --dev nosuch9");
    struct stat st {};
    ASSERT_EQ(stat((dir_ / "run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(CliConventions, WithoutPrivilegesOneLine) {
    ASSERT_EQ(geteuid(), 0u) << "this test drops privileges and must start as root";
    // root without capabilities, and an ordinary user.
    const std::string drops[] = {"setpriv --inh-caps=-all --bounding-set=-all ",
                                 "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "};
    fs::create_directories(dir_ / "run");
    chmod((dir_ / "run").c_str(), 0700);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
    for (const auto& drop : drops) {
        for (const std::string& verb : std::vector<std::string>{
                 "load " + kPolicy + " --dev lo", "unload --dev lo", "unload --all", "counters --dev lo"}) {
            auto r = run_shell(env_ + drop + SECPOL_BIN + " " + verb + " 2>&1");
            EXPECT_EQ(r.status, 1) << drop << verb << "\n" << r.out;
            EXPECT_NE(r.out.find("needs root (CAP_BPF and CAP_NET_ADMIN"), std::string::npos)
                << drop << verb << r.out;
            EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << drop << verb << r.out;
            EXPECT_EQ(r.out.find("Permission denied"), std::string::npos) << drop << verb << r.out;
            EXPECT_EQ(r.out.find("not permitted"), std::string::npos) << drop << verb << r.out;
        }
    }
    // status of an ordinary user: the 0700 run dir is unreadable.
    auto r = run_shell(env_ + drops[1] + SECPOL_BIN + " status 2>&1");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("secpol status needs root"), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}
