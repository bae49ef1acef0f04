// `secpol show`: the listing carries each filter's text with the numbers of
// the counters document, then exemptions, default, the special rows,
// programs and `me`; the JSON is the counters document plus those facts.
#include "runtime/show_render.h"

#include <gtest/gtest.h>

#include "meta_fixture.h"
#include "render/dom_render.h"
#include "runtime/counters_render.h"

namespace rt = secpol::rt;
using nlohmann::json;

namespace {

rt::IfaceState state() {
    rt::IfaceState s;
    s.iface = "eth0";
    s.label = "web";
    s.policy_file = "/etc/secpol/interfaces.d/eth0.pol";
    s.loaded_at = 1700000000;
    s.generation = 2;
    s.xdp_mode = "native";
    s.xdp_link_id = 5;
    s.ingress_prog_id = 10;
    s.egress_prog_id = 11;
    s.tc_handle = 0x5ec;
    s.tc_priority = 1;
    s.nrules = 2;
    s.local_addresses = {"10.0.0.1", "127.0.0.1"};
    s.local_broadcasts = {"10.0.0.255"};
    s.meta = {{"policy",
               {{"label", "web"},
                {"exemptions", {"ike"}},
                {"exemptions_profile", "windows2000"},
                {"order", "first-match"},
                {"default", "block"}}},
              {"rules",
               {{{"id", 0},
                 {"label", "http"},
                 {"line", 4},
                 {"action", "permit"},
                 {"action_name", "permit"},
                 {"text", "permit proto tcp from any to me port 80 \"http\""}},
                {{"id", 1},
                 {"label", "smb"},
                 {"line", 5},
                 {"action", "block"},
                 {"action_name", "block"},
                 {"text", "block proto tcp from any to me port 445 \"smb\""}}}}};
    return s;
}

json doc() {
    auto s = state();
    rt::Slots t(rt::slot_count(2));
    t[rt::rule_slot(0, 0, 0)] = {12, 1200};
    t[rt::rule_slot(0, 1, 0)] = {11, 1100};
    t[rt::rule_slot(1, 0, 1)] = {3, 180};
    t[rt::special_slot(SECPOL_CNT_EXEMPT + unsigned{SECPOL_EX_IKE}, 0)] = {2, 222};
    t[rt::special_slot(SECPOL_CNT_DEFAULT, 0)] = {7, 700};
    t[rt::special_slot(SECPOL_CNT_MALFORMED, 0)] = {1, 20};
    auto c = rt::counters_json(s, t, 1700000100);
    return rt::show_json(s, c, {"ether", "secpol_ingress", "secpol_egress"});
}

}  // namespace

TEST(ShowRender, JsonIsTheCountersDocumentWithTextAndFacts) {
    auto d = doc();
    EXPECT_EQ(d["format"], "secpol-show-1");
    EXPECT_EQ(d["rules"][0]["text"], "permit proto tcp from any to me port 80 \"http\"");
    EXPECT_EQ(d["rules"][0]["in"]["permit"]["packets"], 12);
    EXPECT_EQ(d["rules"][1]["in"]["block"]["bytes"], 180);
    EXPECT_EQ(d["exemptions"]["ike"]["in"]["packets"], 2);
    EXPECT_EQ(d["default"]["action"], "block");
    EXPECT_EQ(d["default"]["in"]["packets"], 7);
    EXPECT_EQ(d["malformed"]["in"]["packets"], 1);
    EXPECT_EQ(d["link"], "ether");
    EXPECT_EQ(d["xdp"]["prog"], "secpol_ingress");
    EXPECT_EQ(d["tc"]["prog_id"], 11);
    EXPECT_EQ(d["local_addresses"], json::array({"10.0.0.1", "127.0.0.1"}));
    EXPECT_EQ(d["exemptions_profile"], "windows2000");
}

TEST(ShowRender, TextListsFiltersWithCountersInline) {
    std::string t = rt::show_text(doc());
    auto at = [&](const std::string& s) {
        auto p = t.find(s);
        EXPECT_NE(p, std::string::npos) << "missing: " << s << "\n" << t;
        return p;
    };
    size_t head = at("interface eth0 {");
    size_t pol = at("policy \"web\" # file /etc/secpol/interfaces.d/eth0.pol, generation 2");
    at("link ether: xdp native prog 10 secpol_ingress (link 5), tc egress prog 11 secpol_egress");
    at("me 10.0.0.1 127.0.0.1 10.0.0.255(broadcast)");
    size_t r0 = at("permit proto tcp from any to me port 80 \"http\" # rule 0, line 4");
    size_t c0 = at("counter in packets 12 bytes 1200 (permit 12/1200 block 0/0 protected 0/0)");
    at("counter out packets 11 bytes 1100 (permit 11/1100");
    size_t r1 = at("block proto tcp from any to me port 445 \"smb\" # rule 1, line 5");
    at("counter in packets 3 bytes 180 (permit 0/0 block 3/180 protected 0/0)");
    size_t ex = at("exemption ike # permit: counter in packets 2 bytes 222, out packets 0 bytes 0");
    size_t def = at("default block # counter in packets 7 bytes 700, out packets 0 bytes 0");
    at("malformed # block: counter in packets 1 bytes 20");
    at("non-ip # permit: counter in packets 0 bytes 0");
    EXPECT_LT(head, pol);
    EXPECT_LT(pol, r0);
    EXPECT_LT(r0, c0);
    EXPECT_LT(c0, r1);
    EXPECT_LT(r1, ex);
    EXPECT_LT(ex, def);
    EXPECT_EQ(t.back(), '\n');
    EXPECT_EQ(t.substr(t.size() - 2), "}\n");
}

TEST(ShowRender, NoMeAndPendingConfirmation) {
    auto d = doc();
    d["local_addresses"] = json::array();
    d["local_broadcasts"] = json::array();
    d["pending_confirm"] = {{"deadline", "2026-01-01T00:00:00Z"}, {"revert_to", {{"policy", "old"}}}};
    std::string t = rt::show_text(d);
    EXPECT_NE(t.find("me none (`me` matches nothing)"), std::string::npos) << t;
    EXPECT_NE(t.find("pending confirmation: puts back \"old\" at 2026-01-01T00:00:00Z"), std::string::npos)
        << t;
}

TEST(ShowRender, StreamedJsonAndTextAreTheDocumentsBytes) {
    auto st = secpol::testing::every_kind_state();
    auto s = secpol::testing::every_kind_counts();
    const rt::ShowFacts facts{"l3", "secpol_ingress", ""};
    auto table = rt::parse_rule_table(st.meta.dump());
    ASSERT_TRUE(table) << table.error().message;
    rt::IfaceState slim = st;
    slim.meta = json();
    for (json pending : {json(), json{{"deadline", "2026-01-01T00:00:00Z"}, {"revert_to", nullptr}}}) {
        json dom = rt::show_json(st, rt::counters_json(st, s, 1700000900), facts);
        dom["pending_confirm"] = pending;
        json head =
            rt::show_head(slim, table->policy, rt::counters_head(slim, table->policy, s, 1700000900), facts);
        head["pending_confirm"] = pending;
        std::string js, text;
        {
            rt::TextOut o(&js);
            rt::write_show_json(o, head, 2, slim, *table, s);
            rt::TextOut t(&text);
            rt::write_show_text(t, head, slim, *table, s);
        }
        EXPECT_EQ(js, dom.dump(2));
        EXPECT_EQ(text, rt::show_text(dom));
        EXPECT_NE(text.find("\t \"\" # (no source text) # rule 4, line 0"), std::string::npos) << text;
    }
}
