// The typed rule table read from meta.json (runtime/rule_table.cpp): the
// fields the renderers show, read as the DOM's value(key, default) read
// them, the policy object kept whole, and clear errors for what the
// renderers cannot show.
#include "runtime/rule_table.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "meta_fixture.h"

namespace rt = secpol::rt;
using nlohmann::json;

TEST(RuleTable, ReadsWhatTheDomReadsForEveryFieldKind) {
    const json meta = secpol::testing::every_kind_meta();
    auto t = rt::parse_rule_table(meta.dump());
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->policy, meta["policy"]);
    ASSERT_EQ(t->rules.size(), meta["rules"].size());
    for (size_t i = 0; i < t->rules.size(); ++i) {
        const json& m = meta["rules"][i];
        const rt::RuleRow& r = t->rules[i];
        EXPECT_EQ(r.label, m.value("label", "")) << i;
        EXPECT_EQ(r.action, m.value("action", "")) << i;
        EXPECT_EQ(r.action_name, m.value("action_name", m.value("action", ""))) << i;
        EXPECT_EQ(r.text, m.value("text", "")) << i;
        EXPECT_EQ(r.line, m.value("line", 0)) << i;
        EXPECT_EQ(r.column, m.value("column", 0)) << i;
    }
    EXPECT_EQ(t->rules[1].action_name, "block");  // an old meta: no action_name
    EXPECT_EQ(t->rules[2].line, 14);              // 14.0
    EXPECT_EQ(t->rules[2].column, 1);             // true
    // Past the end: an empty row, as the DOM's {} read.
    EXPECT_EQ(t->row(4).label, "");
    EXPECT_EQ(t->row(4).line, 0);
}

TEST(RuleTable, LastOfARepeatedKeyWinsAsInTheDom) {
    const std::string text = R"({"rules":[{"label":"a","label":"b","line":1}],"policy":{"default":"permit"},)"
                             R"("rules":[{"label":"c","line":2,"line":3}],"policy":{"default":"block"}})";
    auto t = rt::parse_rule_table(text);
    ASSERT_TRUE(t) << t.error().message;
    ASSERT_EQ(t->rules.size(), 1u);
    EXPECT_EQ(t->rules[0].label, "c");
    EXPECT_EQ(t->rules[0].line, 3);
    EXPECT_EQ(t->policy, json::parse(text)["policy"]);
}

TEST(RuleTable, RulesThatAreNotAnArrayReadAsNone) {
    for (const char* text : {R"({"rules":{"0":{"label":"a"}}})", R"({"rules":"x"})", R"({"policy":{}})"}) {
        auto t = rt::parse_rule_table(text);
        ASSERT_TRUE(t) << text;
        EXPECT_TRUE(t->rules.empty()) << text;
    }
    auto t = rt::parse_rule_table(R"({"rules":[]})");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->policy, json::object());  // missing: {}, as value("policy", {}) gave
}

TEST(RuleTable, NestedPolicyValuesAreKept) {
    const std::string text =
        R"({"policy":{"exemptions":["ike",["x",{"y":[1,2.5,-3,true,null]}]],"o":{"a":{"b":"c"}},"d":"e"},)"
        R"("rules":[{"log":{"rate":1,"x":[{"label":5}]},"label":"ok"}]})";
    auto t = rt::parse_rule_table(text);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->policy, json::parse(text)["policy"]);
    ASSERT_EQ(t->rules.size(), 1u);
    EXPECT_EQ(t->rules[0].label, "ok");  // "label" nested under "log" is not the rule's
}

TEST(RuleTable, WhatCannotBeShownIsAnError) {
    struct Case {
        const char* text;
        const char* message;
    } cases[] = {
        {"", "not valid JSON"},
        {"{\"rules\":[", "not valid JSON"},
        {"[1]", "not valid JSON"},
        {"\"meta\"", "not valid JSON"},
        {R"({"rules":[{"label":"a"},3]})", "rule 1 is not an object"},
        {R"({"rules":[[]]})", "rule 0 is not an object"},
        {R"({"rules":[{"label":5}]})", "rule 0: \"label\" is not a string"},
        {R"({"rules":[{"text":null}]})", "rule 0: \"text\" is not a string"},
        {R"({"rules":[{"action_name":{}}]})", "rule 0: \"action_name\" is not a string or number"},
        {R"({"rules":[{},{"line":"4"}]})", "rule 1: \"line\" is not a number"},
        {R"({"rules":[{"column":null}]})", "rule 0: \"column\" is not a number"},
    };
    for (const auto& c : cases) {
        auto t = rt::parse_rule_table(c.text);
        ASSERT_FALSE(t) << c.text;
        EXPECT_EQ(t.error().message, c.message) << c.text;
    }
}

// The carry-over and `secpol log` read leniently, as they read the DOM
// (find/is_string): what the read commands refuse reads as missing, and a
// rule that is not an object as an empty row, so rule ids stay in place.
TEST(RuleTable, LenientReadsWhatTheCarryOverReadFromTheDom) {
    const char* text = R"({"config":{"flags":5,"nrules":4},"policy":{"default":"block","default_line":3},)"
                       R"("rules":[{"label":5,"text":"permit from any"},3,[{"label":"x"}],)"
                       R"({"label":"d","text":null,"line":"4","column":{},"action":"block"}]})";
    EXPECT_FALSE(rt::parse_rule_table(text));
    auto t = rt::parse_rule_table(text, rt::RuleFields::Lenient);
    ASSERT_TRUE(t) << t.error().message;
    ASSERT_EQ(t->rules.size(), 4u);
    EXPECT_EQ(t->rules[0].label, "");
    EXPECT_EQ(t->rules[0].text, "permit from any");
    EXPECT_EQ(t->rules[1].label, "");
    EXPECT_EQ(t->rules[2].label, "");  // the array's object is not a rule
    EXPECT_EQ(t->rules[3].label, "d");
    EXPECT_EQ(t->rules[3].text, "");
    EXPECT_EQ(t->rules[3].line, 0);
    EXPECT_EQ(t->rules[3].action_name, "block");
    EXPECT_EQ(t->config, nlohmann::json({{"flags", 5}, {"nrules", 4}}));
    EXPECT_EQ(t->policy["default_line"], 3);
    // Not JSON stays an error.
    EXPECT_FALSE(rt::parse_rule_table("{\"rules\":[", rt::RuleFields::Lenient));
}

// The rows a load gives the carry-over (from the typed object meta) are
// those meta.json gives back (what the next swap reads).
TEST(RuleTable, RowsOfAnObjectAreThoseItsMetaJsonReads) {
    secpol_config cfg{0, SECPOL_ACT_PERMIT, 0, 0, 0, 2};
    auto m = secpol::backend::ObjectMeta::bare(cfg, {{SECPOL_ACT_SECURE, 0}, {SECPOL_ACT_BLOCK, 0}});
    m.rules[0].label = "web \"x\"";
    m.rules[0].text = "secure proto tcp from any to me port 80 \"web \\\"x\\\"\"";
    m.rules[0].action = "secure";
    m.rules[0].action_name = "require";
    m.rules[0].line = 7;
    m.rules[0].column = 3;
    m.rules[1].action = "block";
    m.source = "policy \"s\"\n";
    auto t = rt::parse_rule_table(m.dump(false) + "\n");
    ASSERT_TRUE(t) << t.error().message;
    auto rows = rt::rule_rows(m);
    ASSERT_EQ(rows.size(), t->rules.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].label, t->rules[i].label);
        EXPECT_EQ(rows[i].text, t->rules[i].text);
        EXPECT_EQ(rows[i].action, t->rules[i].action);
        EXPECT_EQ(rows[i].action_name, t->rules[i].action_name);
        EXPECT_EQ(rows[i].line, t->rules[i].line);
        EXPECT_EQ(rows[i].column, t->rules[i].column);
    }
}

TEST(RuleTable, ReadsTheStateDirOrTheEmbeddedMeta) {
    std::string dir = (std::filesystem::temp_directory_path() / "secpol-rule-table-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    setenv("SECPOL_RUN_DIR", dir.c_str(), 1);
    rt::IfaceState st;
    st.iface = "veth-rt0";
    auto missing = rt::read_rule_table(st);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("veth-rt0/meta.json"), std::string::npos);

    std::filesystem::create_directories(rt::state_dir(st.iface));
    std::ofstream(rt::state_dir(st.iface) + "/meta.json")
        << secpol::testing::every_kind_meta().dump() << "\n";
    auto t = rt::read_rule_table(st);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->rules.size(), 4u);
    EXPECT_EQ(t->rules[0].action_name, "require");

    std::ofstream(rt::state_dir(st.iface) + "/meta.json") << "{\"rules\": [";
    auto bad = rt::read_rule_table(st);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, rt::state_dir(st.iface) + "/meta.json: not valid JSON");

    // A state.json from before meta.json embedded the meta: that one is read.
    st.meta = {{"rules", {{{"label", "embedded"}}}}};
    auto e = rt::read_rule_table(st);
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_EQ(e->rules.size(), 1u);
    EXPECT_EQ(e->rules[0].label, "embedded");
    std::filesystem::remove_all(dir);
    unsetenv("SECPOL_RUN_DIR");
}
