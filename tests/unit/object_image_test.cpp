// The object file `secpol compile` writes: template + meta + nodes, read back
// exactly, and what is not a policy object (or is one of another format
// version) refused with a clear message.
#include "backend/object_image.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

using namespace secpol;
using backend::ObjectImage;
using backend::ObjectMeta;

namespace {

std::vector<secpol_node> two_nodes() {
    return {{SECPOL_F_PROTO, 6, 6, 1, 1, 0}, {SECPOL_NODE_NOMATCH, 0, 0, 0, 0, 0}};
}

ObjectMeta sample_meta() {
    secpol_config cfg{0x1f, SECPOL_ACT_BLOCK, SECPOL_CFG_USES_LOCAL, 3, 4, 2};
    auto m = ObjectMeta::bare(cfg, {{SECPOL_ACT_SECURE, SECPOL_RULE_ACCEPT_CLEAR}, {SECPOL_ACT_BLOCK, 0}});
    m.policy.label = "x";
    m.policy.exemptions = {"ike", "kerberos"};
    m.policy.default_action = "block";
    m.rules[0].label = "a";
    m.rules[0].line = 3;
    m.rules[0].text = "secure proto tcp from any to me port 22";
    m.source = "policy \"x\"\n";
    return m;
}

// Replaces the bytes of the meta section: the JSON another secpol might write.
// Same length so the rest of the ELF stays valid.
std::vector<uint8_t> with_meta_text(std::vector<uint8_t> elf, const std::string& old_text,
                                    const std::string& new_text) {
    EXPECT_EQ(old_text.size(), new_text.size());
    auto at = std::search(elf.begin(), elf.end(), old_text.begin(), old_text.end());
    EXPECT_NE(at, elf.end());
    if (at != elf.end()) std::copy(new_text.begin(), new_text.end(), at);
    return elf;
}

}  // namespace

TEST(ObjectImage, RoundTripKeepsMetaConfigRulesNodes) {
    auto img = ObjectImage::build(sample_meta(), two_nodes());
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->meta.format, backend::kObjectFormat);
    EXPECT_EQ(img->meta.rules[1].id, 1u);
    EXPECT_EQ(img->meta.rules[1].action, "block");  // named from the ABI for a bare rule

    std::string path = ::testing::TempDir() + "/secpol_roundtrip.o";
    ASSERT_TRUE(img->write_file(path).ok());
    auto back = ObjectImage::read_file(path);
    std::remove(path.c_str());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->elf, img->elf);
    EXPECT_EQ(back->meta.to_json(), img->meta.to_json());
    EXPECT_EQ(std::memcmp(&back->config(), &img->config(), sizeof(secpol_config)), 0);
    EXPECT_EQ(back->config().root_out, 4u);
    ASSERT_EQ(back->meta.rules.size(), 2u);
    EXPECT_EQ(back->meta.rules[0].label, "a");
    EXPECT_EQ(back->meta.rules[0].line, 3u);
    EXPECT_EQ(back->meta.rules[0].abi.action, SECPOL_ACT_SECURE);
    EXPECT_EQ(back->meta.rules[0].abi.flags, SECPOL_RULE_ACCEPT_CLEAR);
    EXPECT_EQ(back->meta.rules[1].abi.action, SECPOL_ACT_BLOCK);
    EXPECT_EQ(back->meta.policy.exemptions, (std::vector<std::string>{"ike", "kerberos"}));
    EXPECT_EQ(back->meta.source, "policy \"x\"\n");
    auto nodes = two_nodes();
    ASSERT_EQ(back->nodes.size(), nodes.size());
    EXPECT_EQ(std::memcmp(back->nodes.data(), nodes.data(), nodes.size() * sizeof(secpol_node)), 0);
}

TEST(ObjectImage, RejectsWhatIsNotAPolicyObject) {
    auto plain = ObjectImage::from_bytes(backend::template_object());
    ASSERT_FALSE(plain.ok());
    EXPECT_NE(plain.error().message.find(SECPOL_SEC_META), std::string::npos);
    auto junk = ObjectImage::from_bytes({1, 2, 3});
    EXPECT_FALSE(junk.ok());
    auto missing = ObjectImage::read_file("/nonexistent/secpol.o");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().err, ENOENT);
    auto m = ObjectMeta::bare(secpol_config{}, {{0, 0}});
    m.config.nrules = 2;
    EXPECT_FALSE(ObjectImage::build(m, {}).ok());  // nrules disagrees with the table
}

// An object from a secpol with another object format is refused on read,
// naming its version and ours, before anything reaches the kernel.
TEST(ObjectImage, AnotherFormatVersionIsRefusedNamingBoth) {
    // One digit like ours: the meta text is replaced in place, same length.
    constexpr uint32_t kNewer = 9;
    static_assert(backend::kObjectFormat < kNewer);
    auto img = ObjectImage::build(sample_meta(), two_nodes());
    ASSERT_TRUE(img.ok());
    const std::string ours = "\"format_version\":" + std::to_string(backend::kObjectFormat);
    const std::string newer = "\"format_version\":" + std::to_string(kNewer);
    auto bytes = with_meta_text(img->elf, ours, newer);
    auto r = ObjectImage::from_bytes(bytes);
    ASSERT_FALSE(r.ok());
    const auto& msg = r.error().message;
    EXPECT_NE(msg.find("format version " + std::to_string(kNewer)), std::string::npos) << msg;
    EXPECT_NE(msg.find("reads version " + std::to_string(backend::kObjectFormat)), std::string::npos) << msg;

    std::string path = ::testing::TempDir() + "/secpol_newer.o";
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    auto f = ObjectImage::read_file(path);
    std::remove(path.c_str());
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().message.rfind(path + ": ", 0), 0u) << f.error().message;  // names the file
}

TEST(ObjectImage, ProgramsOfTheTemplate) {
    auto progs = backend::programs_of(backend::template_object());
    ASSERT_TRUE(progs.ok()) << progs.error().message;
    std::map<std::string, backend::ProgramInfo> by_name;
    for (const auto& p : *progs) by_name[p.name] = p;
    ASSERT_TRUE(by_name.count("secpol_ingress"));
    ASSERT_TRUE(by_name.count("secpol_egress"));
    EXPECT_EQ(by_name["secpol_ingress"].section, "xdp");
    EXPECT_EQ(by_name["secpol_egress"].section, "tc");
    EXPECT_GT(by_name["secpol_ingress"].insns, 20u);
    for (const auto& p : *progs) EXPECT_NE(p.section, ".text") << p.name;  // subprograms are not listed
    EXPECT_FALSE(backend::programs_of({1, 2, 3}).ok());
}
