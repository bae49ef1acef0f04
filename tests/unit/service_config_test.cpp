// The daemon's configuration directory (runtime/service_config.cpp).
#include "runtime/service_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace rt = secpol::rt;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/secpol-conf-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
    void write(const std::string& rel, const std::string& text) const {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel) << text;
    }
};

}  // namespace

TEST(ServiceConfig, DefaultsWithoutConfFileOrPolicies) {
    TempDir d;
    auto c = rt::read_service_config(d.path);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->on_stop, "keep");
    EXPECT_EQ(c->xdp_mode, "auto");
    EXPECT_TRUE(c->metrics.empty());
    EXPECT_TRUE(c->policies.empty());
}

TEST(ServiceConfig, ReadsKeysAndOnePolicyPerInterface) {
    TempDir d;
    d.write("secpol.conf",
            "# comment\non_stop = unload  # trailing\n\nmetrics = [::1]:9816\nxdp_mode=generic\n");
    d.write("interfaces.d/eth0.pol", "policy \"a\"\n");
    d.write("interfaces.d/br-lan.pol", "policy \"b\"\n");
    d.write("interfaces.d/README", "ignored");
    d.write("interfaces.d/eth0.pol~", "ignored backup");
    auto c = rt::read_service_config(d.path);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->on_stop, "unload");
    EXPECT_EQ(c->metrics, "[::1]:9816");
    EXPECT_EQ(c->xdp_mode, "generic");
    ASSERT_EQ(c->policies.size(), 2u);
    EXPECT_EQ(c->policies.at("eth0"), (d.path / "interfaces.d/eth0.pol").string());
    EXPECT_TRUE(c->policies.count("br-lan"));
}

TEST(ServiceConfig, ErrorsNameFileAndLine) {
    TempDir d;
    d.write("secpol.conf", "on_stop = keep\nonstop = unload\n");
    auto c = rt::read_service_config(d.path);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message,
              (d.path / "secpol.conf").string() + ":2: unknown key 'onstop' (on_stop, metrics, xdp_mode)");
    d.write("secpol.conf", "on_stop = maybe\n");
    c = rt::read_service_config(d.path);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("secpol.conf:1: on_stop is keep or unload"), std::string::npos);
    d.write("secpol.conf", "metrics = 127.0.0.1\n");
    c = rt::read_service_config(d.path);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("is not ADDR:PORT"), std::string::npos);
}

TEST(ServiceConfig, PolicyFileNamesMustBeInterfaceNames) {
    TempDir d;
    d.write("interfaces.d/a-name-longer-than-ifnamsiz.pol", "");
    auto c = rt::read_service_config(d.path);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("is not an interface name"), std::string::npos);
}

TEST(ServiceConfig, MissingDirectoryIsAnError) {
    auto c = rt::read_service_config("/nonexistent/secpol");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("config directory /nonexistent/secpol"), std::string::npos);
}

TEST(ServiceConfig, ListenAddress) {
    auto a = rt::parse_listen_address("127.0.0.1:9816");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->first, "127.0.0.1");
    EXPECT_EQ(a->second, 9816);
    a = rt::parse_listen_address("[::1]:80");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->first, "::1");
    EXPECT_FALSE(rt::parse_listen_address("host:99999").ok());
    EXPECT_FALSE(rt::parse_listen_address(":80").ok());
    EXPECT_FALSE(rt::parse_listen_address("host:").ok());
}
