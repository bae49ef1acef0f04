// The Prometheus text exposition of the counters (runtime/metrics.cpp).
#include "runtime/metrics.h"

#include <gtest/gtest.h>

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
