// The Prometheus text exposition of the counters (runtime/metrics.cpp).
#include "runtime/metrics.h"

#include <gtest/gtest.h>

#include "meta_fixture.h"
#include "render/dom_render.h"
#include "runtime/counters_render.h"

namespace rt = secpol::rt;
using nlohmann::json;

namespace {

rt::IfaceState state() {
    rt::IfaceState st;
    st.iface = "eth0";
    st.label = "web";
    st.policy_file = "/etc/secpol/interfaces.d/eth0.pol";
    st.loaded_at = 1735689600;
    st.replaced_at = 1735689700;
    st.locals_changed_at = 1735689800;
    st.generation = 2;
    st.xdp_mode = "native";
    st.nrules = 2;
    st.meta = {{"rules",
                {{{"id", 0}, {"label", "say \"hi\"\\now"}, {"action", "permit"}},
                 {{"id", 1}, {"label", ""}, {"action", "block"}}}},
               {"policy", {{"default", "block"}, {"exemptions", {"ike"}}}}};
    return st;
}

std::string render(const rt::IfaceState& st, const rt::Slots& s) {
    return rt::prometheus_text({{&st, rt::counters_json(st, s, 0)}});
}

}  // namespace

TEST(Metrics, RuleSeriesWithEscapedLabels) {
    auto st = state();
    rt::Slots s(rt::slot_count(2));
    s[rt::rule_slot(0, SECPOL_DIR_IN, SECPOL_RV_PERMIT)] = {7, 700};
    std::string t = render(st, s);
    EXPECT_NE(
        t.find("secpol_rule_packets_total{interface=\"eth0\",rule=\"0\",label=\"say \\\"hi\\\"\\\\now\","
               "direction=\"ingress\",verdict=\"permit\"} 7\n"),
        std::string::npos)
        << t;
    EXPECT_NE(t.find("secpol_rule_bytes_total{interface=\"eth0\",rule=\"0\",label=\"say \\\"hi\\\"\\\\now\","
                     "direction=\"ingress\",verdict=\"permit\"} 700\n"),
              std::string::npos);
    EXPECT_NE(
        t.find("secpol_default_packets_total{interface=\"eth0\",direction=\"egress\",verdict=\"block\"} 0\n"),
        std::string::npos);
    EXPECT_NE(t.find("secpol_policy_generation{interface=\"eth0\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("secpol_policy_load_timestamp_seconds{interface=\"eth0\"} 1735689700\n"),
              std::string::npos);
    EXPECT_NE(t.find("secpol_local_addresses_change_timestamp_seconds{interface=\"eth0\"} 1735689800\n"),
              std::string::npos);
    EXPECT_NE(
        t.find(
            "secpol_exemption_packets_total{interface=\"eth0\",exemption=\"ike\",direction=\"ingress\"} 0\n"),
        std::string::npos);
}

TEST(Metrics, EachFamilyOnceAcrossInterfaces) {
    auto a = state(), b = state();
    b.iface = "eth1";
    rt::Slots s(rt::slot_count(2));
    std::string t = rt::prometheus_text({{&a, rt::counters_json(a, s, 0)}, {&b, rt::counters_json(b, s, 0)}});
    auto count = [&](const std::string& needle) {
        size_t n = 0;
        for (size_t p = t.find(needle); p != std::string::npos; p = t.find(needle, p + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("# TYPE secpol_rule_packets_total counter\n"), 1u);
    EXPECT_EQ(count("# TYPE secpol_policy_generation gauge\n"), 1u);
    // A family's samples are contiguous: eth1's rule samples follow eth0's.
    auto first = t.find("secpol_rule_packets_total{interface=\"eth1\"");
    auto other = t.find("# TYPE", t.find("# TYPE secpol_rule_packets_total") + 1);
    EXPECT_LT(first, other);
}

TEST(Metrics, Escape) {
    EXPECT_EQ(rt::prometheus_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Metrics, StreamedExpositionIsTheDocumentsBytes) {
    // Families appear in the order their first sample does: an interface
    // without exemptions or a `me` change first moves those families after
    // the other's; one without rules has no rule samples.
    auto plain = state();
    plain.iface = "eth1";
    plain.locals_changed_at = 0;
    plain.meta["policy"] = {{"default", "permit"}};
    auto kinds = secpol::testing::every_kind_state();
    auto none = state();
    none.iface = "eth2";
    none.nrules = 0;
    rt::Slots ps(rt::slot_count(2)), ks = secpol::testing::every_kind_counts(), ns(rt::slot_count(0));
    ps[rt::rule_slot(1, SECPOL_DIR_OUT, SECPOL_RV_BLOCK)] = {3, 1000000000000001};
    std::vector<rt::IfaceState> states = {plain, kinds, none};
    std::vector<rt::Slots> slots = {ps, ks, ns};
    std::vector<rt::RuleTable> tables;
    std::vector<rt::MetricsSource> dom;
    for (size_t i = 0; i < states.size(); ++i) {
        auto t = rt::parse_rule_table(states[i].meta.dump());
        ASSERT_TRUE(t) << t.error().message;
        tables.push_back(std::move(*t));
        dom.push_back({&states[i], rt::counters_json(states[i], slots[i], 0)});
    }
    std::vector<rt::MetricsView> views;
    for (size_t i = 0; i < states.size(); ++i)
        views.push_back(
            {&states[i], &tables[i], &slots[i], rt::counters_head(states[i], tables[i].policy, slots[i], 0)});
    std::string out;
    {
        rt::TextOut o(&out);
        rt::write_prometheus(o, views);
    }
    const std::string want = rt::prometheus_text(dom);
    EXPECT_EQ(out, want);
    EXPECT_NE(want.find("} 1000000000000001\n"), std::string::npos);  // past the integer fast path
    EXPECT_NE(want.find("} 9876543210987654\n"), std::string::npos);
    EXPECT_LT(want.find("# TYPE secpol_retired_packets_total"),
              want.find("# TYPE secpol_exemption_packets_total"));  // eth1 had no exemption
}
