// ObjectMeta <-> JSON: the typed contract between an object and the loader.
#include "backend/object_meta.h"

#include <gtest/gtest.h>

using namespace secpol;
using backend::ObjectMeta;

TEST(ObjectMeta, JsonRoundTrip) {
    secpol_config cfg{3, SECPOL_ACT_PERMIT, SECPOL_CFG_HAS_TUNNEL, 7, 9, 1};
    auto m = ObjectMeta::bare(cfg, {{SECPOL_ACT_SECURE, SECPOL_RULE_TUNNEL}});
    m.policy.label = "p";
    m.policy.order = "first-match";
    m.rules[0].label = "r";
    m.rules[0].column = 5;
    m.rules[0].mirrored = true;
    m.filters = 2;
    m.tree_nodes = 11;
    m.tree_max_steps = 4;
    auto j = m.to_json();
    EXPECT_EQ(j["format_version"], backend::kObjectFormat);
    EXPECT_EQ(j["rules"][0]["abi_action"], SECPOL_ACT_SECURE);  // keys the runtime state reads
    EXPECT_EQ(j["policy"]["label"], "p");
    auto back = ObjectMeta::from_json(j);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->to_json(), j);
    EXPECT_EQ(back->config.root_out, 9u);
    EXPECT_EQ(back->rules[0].abi.flags, SECPOL_RULE_TUNNEL);
    EXPECT_TRUE(back->rules[0].mirrored);
}

// dump() writes the rules by hand: it must say exactly what to_json() says,
// escapes included.
TEST(ObjectMeta, DumpIsToJson) {
    secpol_config cfg{3, SECPOL_ACT_PERMIT, SECPOL_CFG_HAS_TUNNEL, 7, 9, 3};
    auto m = ObjectMeta::bare(
        cfg, {{SECPOL_ACT_SECURE, SECPOL_RULE_TUNNEL}, {SECPOL_ACT_BLOCK, 0}, {SECPOL_ACT_PERMIT, 1}});
    m.policy.label = "p \"rules\":[] q";
    m.policy.exemptions = {"ike", "kerberos"};
    m.rules[0].label = "r\"1\\\n\t\x01é";
    m.rules[1].text = "block from 10.0.0.1 to any \"rules\":[]";
    m.rules[1].line = 4000000000u;
    m.rules[2].accept_clear = m.rules[2].fallback_clear = m.rules[2].mirrored = m.rules[2].tunnel = true;
    m.rules[2].dir = "in";
    m.walker = {{"form", "generated"}, {"insns", 12}};
    m.source = "policy \"x\"\n\"rules\":[]\n";
    EXPECT_EQ(nlohmann::json::parse(m.dump()), m.to_json());
    EXPECT_EQ(nlohmann::json::parse(ObjectMeta::bare(cfg, {}).dump()), ObjectMeta::bare(cfg, {}).to_json());
}

// dump(false) is what a load writes as meta.json, byte for byte what the
// loader wrote from the DOM before (to_json() without "source", dumped):
// the source is gone, escapes and all, and nothing else moved.
TEST(ObjectMeta, DumpWithoutSourceIsTheDomWithoutIt) {
    secpol_config cfg{3, SECPOL_ACT_PERMIT, SECPOL_CFG_HAS_TUNNEL, 7, 9, 2};
    auto m = ObjectMeta::bare(cfg, {{SECPOL_ACT_SECURE, SECPOL_RULE_TUNNEL}, {SECPOL_ACT_BLOCK, 0}});
    m.policy.label = "p \"source\":\"\" q";
    m.rules[0].label = "r\"source\":\"\"\n\x01é";
    m.rules[1].text = "block from 10.0.0.1 to any \"source\":\"x\"";
    m.walker = {{"form", "generated"}, {"insns", 12}};
    for (const char* source : {"", "policy \"x\"\n\"source\":\"\"\n", "plain"}) {
        m.source = source;
        nlohmann::json dom = m.to_json();
        dom.erase("source");
        EXPECT_EQ(m.dump(false), dom.dump()) << source;
    }
    auto bare = ObjectMeta::bare(cfg, {});
    nlohmann::json dom = bare.to_json();
    dom.erase("source");
    EXPECT_EQ(bare.dump(false), dom.dump());
}

// Objects written before the format had a number said "secpol-object-1".
// dump() writes strings with nothing to escape itself and sends the others
// through nlohmann: byte for byte what nlohmann writes, every control
// character, quote, backslash and UTF-8 string included.
TEST(ObjectMeta, DumpEscapesStringsAsNlohmannDoes) {
    secpol_config cfg{0, SECPOL_ACT_PERMIT, 0, 0, 0, 2};
    auto m = ObjectMeta::bare(cfg, {{SECPOL_ACT_BLOCK, 0}, {SECPOL_ACT_PERMIT, 0}});
    std::string every;
    for (int c = 1; c < 0x80; ++c) every += static_cast<char>(c);
    m.rules[0].text = every;
    m.rules[1].label = "l\xc3\xa9 \"x\"\n";
    // The source goes out run by run (plain runs as they are): UTF-8 next
    // to escapes and at either end must come out as one nlohmann dump.
    m.source = every + "\n" + every + "caf\xc3\xa9\n\xe2\x82\xac\t\"\xc3\xa9\"\\\xf0\x9f\x94\x92";
    const std::string out = m.dump();
    for (const std::string& s : {m.rules[0].text, m.rules[1].label, m.source})
        EXPECT_NE(out.find(nlohmann::json(s).dump()), std::string::npos) << nlohmann::json(s).dump();
    EXPECT_EQ(nlohmann::json::parse(out), m.to_json());
    // Invalid UTF-8 is refused as nlohmann refuses it for the whole string.
    for (const char* bad : {"a\xc3", "a\xc3 b\n", "\x80", "x\n\xff\xfe"}) {
        m.source = bad;
        EXPECT_THROW(nlohmann::json(m.source).dump(), nlohmann::json::type_error) << bad;
        EXPECT_THROW(m.dump(), nlohmann::json::type_error) << bad;
    }
}

TEST(ObjectMeta, FormatOneIsRefusedNamingBothVersions) {
    nlohmann::json j = {{"format", "secpol-object-1"},
                        {"config",
                         {{"exemptions", 0},
                          {"default_action", 0},
                          {"flags", 0},
                          {"root_in", 0},
                          {"root_out", 0},
                          {"nrules", 0}}},
                        {"rules", nlohmann::json::array()}};
    auto r = ObjectMeta::from_json(j);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("object format version 1,"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("reads version " + std::to_string(backend::kObjectFormat)),
              std::string::npos);
}

TEST(ObjectMeta, MissingLoaderFieldsAreErrors) {
    auto j = ObjectMeta::bare(secpol_config{0, 0, 0, 0, 0, 1}, {{SECPOL_ACT_BLOCK, 0}}).to_json();
    auto no_abi = j;
    no_abi["rules"][0].erase("abi_action");
    EXPECT_FALSE(ObjectMeta::from_json(no_abi).ok());
    auto no_cfg = j;
    no_cfg.erase("config");
    EXPECT_FALSE(ObjectMeta::from_json(no_cfg).ok());
    auto short_rules = j;
    short_rules["rules"] = nlohmann::json::array();
    EXPECT_FALSE(ObjectMeta::from_json(short_rules).ok());
    auto no_version = j;
    no_version.erase("format_version");
    auto r = ObjectMeta::from_json(no_version);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("format_version"), std::string::npos);
    EXPECT_FALSE(ObjectMeta::from_json(nlohmann::json::array()).ok());
}

TEST(ObjectMeta, LogClausesRoundTripAndBecomeTokenBuckets) {
    secpol_config cfg{0, SECPOL_ACT_BLOCK, SECPOL_CFG_LOG | SECPOL_CFG_LOG_DEFAULT, 0, 0, 2};
    auto m = ObjectMeta::bare(cfg, {{SECPOL_ACT_BLOCK, SECPOL_RULE_LOG}, {SECPOL_ACT_PERMIT, 0}});
    m.rules[0].log = backend::LogMeta{50, 1, 5};
    m.policy.default_log = backend::LogMeta{6, 60, 6};
    m.policy.default_line = 3;
    auto j = m.to_json();
    EXPECT_FALSE(j["rules"][1].contains("log")) << "no key for rules without log (meta.json size)";
    auto back = ObjectMeta::from_json(j);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->to_json(), j);
    ASSERT_TRUE(back->rules[0].log);
    EXPECT_EQ(back->rules[0].log->str(), "50/s burst 5");
    EXPECT_FALSE(back->rules[1].log);
    EXPECT_EQ(back->policy.default_log->str(), "6/min burst 6");
    EXPECT_EQ(back->policy.default_line, 3u);
    EXPECT_TRUE(back->has_log());
    const auto b = back->log_buckets();
    ASSERT_EQ(b.size(), 3u);  // two rules and the default
    EXPECT_EQ(b[0].interval_ns, 20000000u);
    EXPECT_EQ(b[0].burst_ns, 100000000u);
    EXPECT_EQ(b[0].tokens_ns, b[0].burst_ns) << "a full bucket at load";
    EXPECT_EQ(b[1].interval_ns, 0u) << "rule 1 does not log";
    EXPECT_EQ(b[2].interval_ns, 10000000000u);
    EXPECT_EQ(b[2].burst_ns, 60000000000u);
}
