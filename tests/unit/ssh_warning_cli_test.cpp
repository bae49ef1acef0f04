// `secpol check` warns when the policy would block the SSH session it runs in
// (SSH_CONNECTION), naming the direction and the filter; silent otherwise.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/shell.h"

namespace {

std::string policy_file() {
    std::string path = ::testing::TempDir() + "/secpol_ssh_warning.pol";
    std::ofstream(path) << "policy \"ssh\"\nexemptions windows2000\ndefault permit\n"
                           "block proto tcp from 198.51.100.0/24 to me port 22 \"no ssh from the lab\"\n";
    return path;
}

secpol::test::ShellRun check(const std::string& ssh_connection) {
    return secpol::test::run_shell("SSH_CONNECTION='" + ssh_connection + "' " + SECPOL_BIN + " check " +
                                   policy_file() + " 2>&1");
}

}  // namespace

TEST(SshWarningCli, BlockedSessionIsNamed) {
    auto r = check("198.51.100.9 50022 192.0.2.1 22");
    EXPECT_EQ(r.status, 0);  // a warning, not an error
    EXPECT_NE(r.out.find("blocks the SSH session you are in"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("in 'tcp 198.51.100.9:50022 > 192.0.2.1:22'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"no ssh from the lab\" (line 4)"), std::string::npos) << r.out;
}

TEST(SshWarningCli, OtherClientsAndNoSshAreSilent) {
    EXPECT_EQ(check("203.0.113.5 50022 192.0.2.1 22").out.find("SSH session"), std::string::npos);
    auto r = secpol::test::run_shell(std::string("env -u SSH_CONNECTION ") + SECPOL_BIN + " check " +
                                     policy_file() + " 2>&1");
    EXPECT_EQ(r.out.find("SSH session"), std::string::npos) << r.out;
    EXPECT_EQ(check("garbage").out.find("SSH session"), std::string::npos);
}
