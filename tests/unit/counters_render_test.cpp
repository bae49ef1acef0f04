// Counter arithmetic (offsets, carry-over across a swap) and the
// secpol-counters-1 JSON document and table.
#include "runtime/counters_render.h"

#include <gtest/gtest.h>

#include <map>

#include "meta_fixture.h"
#include "render/dom_render.h"

namespace rt = secpol::rt;
using nlohmann::json;

namespace {

// The rows a meta.json of these rules reads as (the carry-over's reader).
rt::RuleRows rules(std::initializer_list<std::pair<const char*, const char*>> lt) {
    json a = json::array();
    int id = 0;
    for (auto [label, text] : lt)
        a.push_back({{"id", id++}, {"label", label}, {"text", text}, {"action", "permit"}});
    auto t = rt::parse_rule_table(json{{"rules", a}}.dump(), rt::RuleFields::Lenient);
    EXPECT_TRUE(t) << t.error().message;
    return t ? t->rules : rt::RuleRows{};
}

}  // namespace

TEST(Counters, MatchByLabelThenNormalisedText) {
    auto old_r = rules({{"a", "permit  udp"}, {"", "block TCP  from any"}, {"c", "x"}});
    auto new_r = rules({{"", "block tcp from any"}, {"a", "changed"}, {"d", "y"}});
    EXPECT_EQ(rt::match_rules(old_r, new_r), (std::vector<int>{1, 0, -1}));
}

TEST(Counters, RenamingALabelKeepsTheCounts) {
    auto old_r = rules({{"web", "permit proto tcp from any to me port 80 \"web\""},
                        {"ssh", "permit proto tcp from any to me port 22 \"ssh\""}});
    auto new_r = rules({{"http", "permit  proto tcp from any to me port 80   \"http\""},
                        {"ssh", "permit proto tcp from any to me port 2222 \"ssh\""}});
    EXPECT_EQ(rt::match_rules(old_r, new_r), (std::vector<int>{0, 1}));
}

TEST(Counters, ContentWinsOverLabelAndLabelPicksAmongEqualContent) {
    // Labels swapped between two rules: the counts follow what each rule matches.
    auto old_r =
        rules({{"a", "permit from 10.0.0.1 to me \"a\""}, {"b", "permit from 10.0.0.2 to me \"b\""}});
    auto new_r =
        rules({{"b", "permit from 10.0.0.1 to me \"b\""}, {"a", "permit from 10.0.0.2 to me \"a\""}});
    EXPECT_EQ(rt::match_rules(old_r, new_r), (std::vector<int>{0, 1}));
    // Two rules of equal content, reordered: each keeps its own counts.
    auto dup_old = rules({{"x", "block from any to me \"x\""}, {"y", "block from any to me \"y\""}});
    auto dup_new = rules({{"y", "block from any to me \"y\""}, {"x", "block from any to me \"x\""}});
    EXPECT_EQ(rt::match_rules(dup_old, dup_new), (std::vector<int>{1, 0}));
    EXPECT_EQ(rt::filter_content("permit from any to me \"say \\\"hi\\\"\" mirrored"),
              "permit from any to me mirrored");
}

TEST(Counters, EachOldRuleTakenOnce) {
    auto old_r = rules({{"", "same"}});
    auto new_r = rules({{"", "same"}, {"", "same"}});
    EXPECT_EQ(rt::match_rules(old_r, new_r), (std::vector<int>{0, -1}));
}

namespace {

// match_rules as it was written first (an ordered multimap per pass, the
// content normalised each time it is needed): the reference of the faster one.
std::vector<int> match_rules_reference(const rt::RuleRows& old_rules, const rt::RuleRows& new_rules) {
    std::vector<int> result(new_rules.size(), -1);
    std::vector<bool> taken(old_rules.size(), false);
    auto pass = [&](auto key_of) {
        std::multimap<std::string, size_t> old_by_key;
        for (size_t i = 0; i < old_rules.size(); ++i) {
            std::string k = key_of(old_rules[i]);
            if (!taken[i] && !k.empty()) old_by_key.emplace(k, i);
        }
        for (size_t j = 0; j < new_rules.size(); ++j) {
            if (result[j] >= 0) continue;
            std::string k = key_of(new_rules[j]);
            if (k.empty()) continue;
            for (auto [it, end] = old_by_key.equal_range(k); it != end; ++it) {
                if (taken[it->second]) continue;
                taken[it->second] = true;
                result[j] = static_cast<int>(it->second);
                break;
            }
        }
    };
    auto content = [](const rt::RuleRow& r) { return rt::filter_content(r.text); };
    pass([&](const rt::RuleRow& r) {
        std::string c = content(r);
        return c.empty() ? c : c + '\0' + r.label;
    });
    pass(content);
    pass([](const rt::RuleRow& r) { return r.label; });
    return result;
}

}  // namespace

// Many rules sharing contents and labels, reordered, some gone, some new:
// the same matches as the reference, rule for rule.
TEST(Counters, MatchIsTheReferencesOnManyDuplicates) {
    const char* texts[] = {"permit from any to me port 80", "permit  from any to me port 80 log",
                           "block proto udp from any", "", "BLOCK proto UDP from any \"x\""};
    const char* labels[] = {"", "a", "b", "a"};
    unsigned seed = 7;
    auto next = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 8) % 1000; };
    for (int round = 0; round < 20; ++round) {
        rt::RuleRows old_r, new_r;
        for (int i = 0; i < 300; ++i) {
            old_r.emplace_back();
            old_r.back().text = texts[next() % 5];
            old_r.back().label = labels[next() % 4];
            new_r.emplace_back();
            new_r.back().text = texts[next() % 5];
            new_r.back().label = labels[next() % 4];
        }
        old_r.resize(300 - next() % 50);
        EXPECT_EQ(rt::match_rules(old_r, new_r), match_rules_reference(old_r, new_r)) << round;
    }
}

TEST(Counters, CarryOverMovesMatchedRulesAndRetiresTheRest) {
    auto old_r = rules({{"keep", ""}, {"gone", ""}});
    auto new_r = rules({{"new", ""}, {"keep", ""}});
    rt::Slots old_totals(rt::slot_count(2));
    old_totals[rt::rule_slot(0, 0, SECPOL_RV_PERMIT)] = {10, 1000};
    old_totals[rt::rule_slot(0, 1, SECPOL_RV_BLOCK)] = {3, 300};
    old_totals[rt::rule_slot(1, 0, SECPOL_RV_BLOCK)] = {4, 400};
    old_totals[rt::special_slot(SECPOL_CNT_EXEMPT + unsigned{SECPOL_EX_IKE}, 0)] = {2, 200};
    rt::Count retired[2] = {{1, 10}, {0, 0}};
    auto off = rt::carry_over(old_r, old_totals, retired, new_r);
    ASSERT_EQ(off.slots.size(), rt::slot_count(2));
    EXPECT_EQ(off.slots[rt::rule_slot(1, 0, SECPOL_RV_PERMIT)], (rt::Count{10, 1000}));
    EXPECT_EQ(off.slots[rt::rule_slot(1, 1, SECPOL_RV_BLOCK)], (rt::Count{3, 300}));
    EXPECT_EQ(off.slots[rt::rule_slot(0, 0, SECPOL_RV_PERMIT)], (rt::Count{}));
    EXPECT_EQ(off.slots[rt::special_slot(SECPOL_CNT_EXEMPT + unsigned{SECPOL_EX_IKE}, 0)],
              (rt::Count{2, 200}));
    EXPECT_EQ(off.retired[0], (rt::Count{5, 410}));
    // Nothing lost: what the old policy counted is in the new offsets or retired.
    for (unsigned d = 0; d < 2; ++d) {
        rt::Count before = rt::decisions_total(old_totals, 2, d);
        before += retired[d];
        rt::Count after = rt::decisions_total(off.slots, 2, d);
        after += off.retired[d];
        EXPECT_EQ(before, after) << "direction " << d;
    }
}

TEST(Counters, ResetOffsetsCancelLiveValues) {
    rt::Slots live(rt::slot_count(1));
    live[5] = {7, 70};
    auto off = rt::reset_offsets(live);
    auto now = rt::apply_offsets(live, off);
    for (const auto& c : now) EXPECT_EQ(c, rt::Count{});
    live[5] = {9, 90};
    EXPECT_EQ(rt::apply_offsets(live, off)[5], (rt::Count{2, 20}));
}

TEST(Counters, IpsecCounterIsNotADecision) {
    rt::Slots s(rt::slot_count(0));
    s[rt::special_slot(SECPOL_CNT_IPSEC, 0)] = {5, 500};
    s[rt::special_slot(SECPOL_CNT_DEFAULT, 0)] = {1, 100};
    EXPECT_EQ(rt::decisions_total(s, 0, 0), (rt::Count{1, 100}));
}

TEST(Counters, OffsetsJsonRoundTrip) {
    rt::Offsets o;
    o.slots.resize(rt::slot_count(1));
    o.slots[33] = {-4, -40};
    o.retired[0] = {1, 2};
    auto back = rt::offsets_from_json(rt::offsets_to_json(o), rt::slot_count(1));
    EXPECT_EQ(back.slots, o.slots);
    EXPECT_EQ(back.retired[0], o.retired[0]);
}

TEST(CountersRender, JsonShapeIsStable) {
    rt::IfaceState st;
    st.iface = "eth9";
    st.label = "render";
    st.nrules = 1;
    st.meta = {{"policy", {{"exemptions", {"ike", "kerberos"}}, {"default", "block"}}},
               {"rules", {{{"id", 0}, {"label", "web"}, {"line", 4}, {"action", "permit"}}}}};
    rt::Slots s(rt::slot_count(1));
    s[rt::rule_slot(0, SECPOL_DIR_IN, SECPOL_RV_PERMIT)] = {3, 300};
    s[rt::rule_slot(0, SECPOL_DIR_IN, SECPOL_RV_BLOCK)] = {1, 60};
    s[rt::special_slot(SECPOL_CNT_EXEMPT + unsigned{SECPOL_EX_MULTICAST}, SECPOL_DIR_OUT)] = {2, 120};
    s[rt::special_slot(SECPOL_CNT_NONIP, SECPOL_DIR_IN)] = {4, 168};
    auto d = rt::counters_json(st, s, 0);
    EXPECT_EQ(d["format"], "secpol-counters-1");
    const auto& r = d["rules"][0];
    EXPECT_EQ(r["id"], 0);
    EXPECT_EQ(r["label"], "web");
    EXPECT_EQ(r["action"], "permit");
    EXPECT_EQ(r["line"], 4);
    EXPECT_EQ(r["in"]["packets"], 4);
    EXPECT_EQ(r["in"]["bytes"], 360);
    EXPECT_EQ(r["in"]["permit"]["packets"], 3);
    EXPECT_EQ(r["in"]["block"]["packets"], 1);
    EXPECT_EQ(r["in"]["protected"]["packets"], 0);
    EXPECT_EQ(r["out"]["packets"], 0);
    // Enabled exemptions always appear; others when they counted something.
    EXPECT_TRUE(d["exemptions"].contains("ike"));
    EXPECT_TRUE(d["exemptions"].contains("kerberos"));
    EXPECT_EQ(d["exemptions"]["multicast"]["out"]["packets"], 2);
    EXPECT_FALSE(d["exemptions"].contains("rsvp"));
    for (const char* k : {"default", "malformed", "fragment", "non_ip", "ipsec", "total", "retired"}) {
        ASSERT_TRUE(d.contains(k)) << k;
        EXPECT_TRUE(d[k]["in"].contains("packets")) << k;
        EXPECT_TRUE(d[k]["out"].contains("bytes")) << k;
    }
    EXPECT_EQ(d["default"]["action"], "block");
    EXPECT_EQ(d["non_ip"]["in"]["packets"], 4);
    EXPECT_EQ(d["total"]["in"]["packets"], 8);
    EXPECT_EQ(d["total"]["out"]["packets"], 2);

    auto table = rt::counters_table(d);
    EXPECT_NE(table.find("web"), std::string::npos);
    EXPECT_NE(table.find("exemption multicast"), std::string::npos);
    EXPECT_NE(table.find("non-IP"), std::string::npos);
}

namespace {

// What the commands write now: the rules from the typed table of the meta's
// text, the state without its DOM meta (the writers must not need it).
struct Streamed {
    rt::IfaceState slim;
    rt::RuleTable table;
    explicit Streamed(const rt::IfaceState& st) : slim(st) {
        slim.meta = json();
        auto t = rt::parse_rule_table(st.meta.dump());
        EXPECT_TRUE(t) << t.error().message;
        if (t) table = std::move(*t);
    }
};

}  // namespace

TEST(CountersRender, StreamedJsonAndTableAreTheDocumentsBytes) {
    auto st = secpol::testing::every_kind_state();
    auto s = secpol::testing::every_kind_counts();
    Streamed w(st);
    const auto doc = rt::counters_json(st, s, 1700000900);
    for (int indent : {2, -1, 4}) {
        std::string out;
        {
            rt::TextOut o(&out);
            rt::write_counters_json(o, w.slim, w.table, s, 1700000900, indent);
        }
        EXPECT_EQ(out, doc.dump(indent)) << "indent " << indent;
    }
    std::string table;
    {
        rt::TextOut o(&table);
        rt::write_counters_table(o, w.slim, w.table, s, 1700000900);
    }
    EXPECT_EQ(table, rt::counters_table(doc));
    EXPECT_NE(table.find("retired (rules replaced)"), std::string::npos);  // the fixture reaches every row
    EXPECT_NE(table.find("web \"front\" \\ tier\twith a l~"), std::string::npos) << table;
}

TEST(CountersRender, StreamedWithoutRulesOrMeta) {
    auto st = secpol::testing::every_kind_state();
    st.nrules = 0;
    auto s = secpol::testing::every_kind_counts();
    s.resize(rt::slot_count(0));
    Streamed w(st);
    std::string out;
    {
        rt::TextOut o(&out);
        rt::write_counters_json(o, w.slim, w.table, s, 0, 2);
    }
    EXPECT_EQ(out, rt::counters_json(st, s, 0).dump(2));
    // No meta rows at all for 3 rules: each reads as an empty rule.
    st.nrules = 3;
    st.meta = json::object();
    s = rt::Slots(rt::slot_count(3));
    s[rt::rule_slot(2, 0, 0)] = {1, 2};
    Streamed empty(st);
    std::string table, js;
    {
        rt::TextOut o(&table);
        rt::write_counters_table(o, empty.slim, empty.table, s, 0);
        rt::TextOut j(&js);
        rt::write_counters_json(j, empty.slim, empty.table, s, 0, -1);
    }
    EXPECT_EQ(table, rt::counters_table(rt::counters_json(st, s, 0)));
    EXPECT_EQ(js, rt::counters_json(st, s, 0).dump());
}
