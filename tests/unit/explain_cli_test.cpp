// `secpol explain` end to end through the binary: the answers issue 2 asks of
// the seed (KB253169 and the NoDefaultExempt table), text and JSON output,
// and the error exits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/shell.h"

using namespace secpol;

namespace {

test::ShellRun run_cmd(const std::string& cmd) {
    return test::run_shell(cmd + " 2>/dev/null");
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// A policy file in the test's temp directory, removed at the end.
class PolicyFile {
  public:
    explicit PolicyFile(const std::string& text) {
        path_ = std::filesystem::temp_directory_path() /
                ("secpol_explain_" + std::to_string(getpid()) + "_" + std::to_string(counter_++) + ".pol");
        std::ofstream(path_) << text;
    }
    ~PolicyFile() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

  private:
    std::filesystem::path path_;
    static inline int counter_ = 0;
};

// A host at 10.0.0.2/24 whose policy blocks all TCP/UDP/other traffic to it, so
// anything not exempt is decided by filter 0.
std::string block_policy(const std::string& exemptions) {
    return "policy \"explain test\"\n"
           "exemptions " +
           exemptions +
           "\n"
           "default permit\n"
           "block from any to any \"everything\"\n";
}

nlohmann::json explain(const std::string& policy_text, const std::string& packet,
                       const std::string& dir = "in") {
    PolicyFile f(policy_text);
    auto r = run_cmd(std::string(SECPOL_BIN) + " explain " + f.path() + " --dir " + dir +
                     " --local 10.0.0.2/24 --local 2001:db8::2 --packet " + shell_quote(packet) + " --json");
    EXPECT_EQ(r.status, 0) << packet << "\n" << r.out;
    try {
        return nlohmann::json::parse(r.out);
    } catch (...) {
        ADD_FAILURE() << "not JSON: " << r.out;
        return {};
    }
}

::testing::AssertionResult exempt(const nlohmann::json& j, const std::string& name) {
    if (j.value("verdict", "") == "permit" && j.value("reason", "") == "exemption" &&
        j.value("exemption", "") == name)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << j.dump();
}

::testing::AssertionResult filtered(const nlohmann::json& j) {
    if (j.value("reason", "") == "filter" && j.value("verdict", "") == "block" && j.contains("filter") &&
        j["filter"].value("id", -1) == 0 && j["filter"].value("label", "") == "everything" &&
        j["filter"].value("line", 0) == 4)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << j.dump();
}

const char* kProfiles[4] = {"nodefaultexempt 0", "nodefaultexempt 1", "nodefaultexempt 2",
                            "nodefaultexempt 3"};

}  // namespace

TEST(ExplainCli, IkeUnderWindows2000) {
    EXPECT_TRUE(exempt(explain(block_policy("windows2000"), "udp 10.0.0.1:500 > 10.0.0.2:500"), "ike"));
    EXPECT_TRUE(filtered(explain(block_policy("windows2000"), "udp 10.0.0.1:500 > 10.0.0.2:501")));
}

TEST(ExplainCli, KerberosUnderNoDefaultExempt0Only) {
    EXPECT_TRUE(exempt(explain(block_policy(kProfiles[0]), "tcp 10.0.0.1:1234 > 10.0.0.2:88"), "kerberos"));
    EXPECT_TRUE(filtered(explain(block_policy(kProfiles[1]), "tcp 10.0.0.1:1234 > 10.0.0.2:88")));
    EXPECT_TRUE(filtered(explain(block_policy(kProfiles[3]), "tcp 10.0.0.1:1234 > 10.0.0.2:88")));
    EXPECT_TRUE(filtered(explain(block_policy("windows2003"), "tcp 10.0.0.1:1234 > 10.0.0.2:88")));
}

TEST(ExplainCli, MulticastAndBroadcastUnder0And1Only) {
    for (int level : {0, 1}) {
        EXPECT_TRUE(exempt(explain(block_policy(kProfiles[level]), "udp 10.0.0.1:5353 > 224.0.0.251:5353"),
                           "multicast"));
        EXPECT_TRUE(exempt(explain(block_policy(kProfiles[level]), "udp 10.0.0.1:68 > 255.255.255.255:67"),
                           "broadcast"));
    }
    for (int level : {2, 3}) {
        EXPECT_TRUE(
            filtered(explain(block_policy(kProfiles[level]), "udp 10.0.0.1:5353 > 224.0.0.251:5353")));
        EXPECT_TRUE(
            filtered(explain(block_policy(kProfiles[level]), "udp 10.0.0.1:68 > 255.255.255.255:67")));
    }
}

TEST(ExplainCli, RsvpUnder0And2Only) {
    for (int level : {0, 2})
        EXPECT_TRUE(exempt(explain(block_policy(kProfiles[level]), "46 10.0.0.1 > 10.0.0.2"), "rsvp"));
    for (int level : {1, 3})
        EXPECT_TRUE(filtered(explain(block_policy(kProfiles[level]), "rsvp 10.0.0.1 > 10.0.0.2")));
}

TEST(ExplainCli, TextOutput) {
    PolicyFile f(
        "exemptions windows2000\n"
        "action require = secure\n"
        "permit proto icmp from any to me \"ICMP\"\n"
        "block proto tcp from any to me port 135,139,445 \"no SMB\"\n"
        "require proto tcp from 10.1.0.0/16 to me port 22 \"admin\"\n");
    auto cmd = std::string(SECPOL_BIN) + " explain " + f.path() + " --local 10.0.0.2/24 --packet ";
    auto ike = run_cmd(cmd + shell_quote("udp 10.0.0.1:500 > 10.0.0.2:500"));
    EXPECT_EQ(ike.status, 0);
    EXPECT_EQ(ike.out.substr(0, ike.out.find('\n')),
              "permit  exemption ike: UDP source and destination port 500 (KB253169)");
    auto smb = run_cmd(cmd + shell_quote("tcp 10.0.0.1:1234 > 10.0.0.2:445"));
    EXPECT_EQ(smb.out.substr(0, smb.out.find('\n')), "block  filter 1 \"no SMB\" (line 4)");
    auto esp = run_cmd(cmd + shell_quote("esp 10.1.2.3 > 10.0.0.2"));
    EXPECT_EQ(esp.out.rfind("permit  ipsec: filter 2 \"admin\" (line 5)", 0), 0u) << esp.out;
    auto clear = run_cmd(cmd + shell_quote("tcp 10.1.2.3:999 > 10.0.0.2:22"));
    EXPECT_EQ(clear.out.rfind("block  filter 2 \"admin\" (line 5): cleartext", 0), 0u) << clear.out;
    auto def = run_cmd(cmd + shell_quote("udp 10.0.0.1:1 > 10.0.0.2:2"));
    EXPECT_EQ(def.out.rfind("permit  default", 0), 0u) << def.out;
    auto v6 = run_cmd(cmd + shell_quote("icmpv6 [2001:db8::1] > ff02::1 type 135"));
    EXPECT_EQ(v6.out.rfind("permit  exemption multicast", 0), 0u) << v6.out;
}

TEST(ExplainCli, JsonShape) {
    auto j = explain(block_policy("windows2000"), "tcp [2001:db8::1]:1234 > [2001:db8::2]:445");
    EXPECT_EQ(j["verdict"], "block");
    EXPECT_EQ(j["reason"], "filter");
    EXPECT_EQ(j["filter"]["id"], 0);
    EXPECT_EQ(j["filter"]["label"], "everything");
    EXPECT_EQ(j["filter"]["line"], 4);
    EXPECT_TRUE(j["key"]["dst_local"].get<bool>());
    EXPECT_FALSE(j.contains("exemption"));
    auto frag = explain(block_policy("windows2003"), "udp 10.0.0.1 > 10.0.0.2 frag 5");
    EXPECT_EQ(frag["reason"], "filter");  // a filter without ports still matches fragments
    auto none = explain("exemptions none\ndefault block\nblock proto udp from any to me port 53\n",
                        "udp 10.0.0.1 > 10.0.0.2 frag 5");
    EXPECT_EQ(none["reason"], "fragment");
    EXPECT_EQ(none["verdict"], "block");
}

TEST(ExplainCli, Errors) {
    PolicyFile bad("exemptions windows2000\nblock proto tcp from nowhere to me\n");
    auto r = run_cmd(std::string(SECPOL_BIN) + " explain " + bad.path() +
                     " --packet 'udp 10.0.0.1:1 > 10.0.0.2:2'");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    PolicyFile good(block_policy("windows2000"));
    auto spec =
        run_cmd(std::string(SECPOL_BIN) + " explain " + good.path() + " --packet 'udp 10.0.0.1:1 -> x'");
    EXPECT_EQ(spec.status, 2);
    auto local = run_cmd(std::string(SECPOL_BIN) + " explain " + good.path() +
                         " --local nonsense --packet 'udp 10.0.0.1:1 > 10.0.0.2:2'");
    EXPECT_EQ(local.status, 2);
    auto dir = run_cmd(std::string(SECPOL_BIN) + " explain " + good.path() +
                       " --dir sideways --packet 'udp 10.0.0.1:1 > 10.0.0.2:2'");
    EXPECT_NE(dir.status, 0);
}

// Issue 12 item 2, the repro: unicast IP in an Ethernet broadcast frame used
// to be `permit exemption broadcast` through a secure filter.
TEST(ExplainCli, UnicastInAnEthernetBroadcastFrameIsNotBroadcast) {
    PolicyFile f("exemptions windows2000\ndefault block\nsecure from any to me \"s\"\n");
    auto r =
        run_cmd(std::string(SECPOL_BIN) + " explain " + f.path() +
                " --local 192.0.2.1 --packet 'udp 198.51.100.7:1234 > 192.0.2.1:161 ether-broadcast' --json");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.value("verdict", ""), "block") << r.out;
    EXPECT_EQ(j.value("reason", ""), "filter") << r.out;
    EXPECT_EQ(j["filter"].value("label", ""), "s") << r.out;
}
