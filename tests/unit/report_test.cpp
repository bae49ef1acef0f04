// The targets of issue 11 as secpol_bench's report evaluates them
// (bench/report.cpp): ratios round by round against the floor over loads,
// their standard errors, met or not on the mean, and older results files
// (one load, medians) as before. No timing: the rounds are fixed numbers.
#include "bench/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace b = secpol::bench;
using nlohmann::json;

namespace {

// Two loads of two rounds; load 1 ran on a busier machine (everything 1.5x).
json multi_load_case(const std::string& name, const std::string& group, unsigned filters, double ns) {
    return {{"name", name},
            {"group", group},
            {"filters", filters},
            {"rounds_ns", {ns, ns, 1.5 * ns, 1.5 * ns}},
            {"load_of_round", {0, 0, 1, 1}},
            {"ns_mean", 1.25 * ns},
            {"se_ns", 0.25 * ns},
            {"ns_median", 1.25 * ns}};
}

const json& target(const json& targets, const std::string& starts) {
    for (const auto& t : targets)
        if (t["target"].get<std::string>().rfind(starts, 0) == 0) return t;
    throw std::runtime_error("no target " + starts);
}

}  // namespace

TEST(Report, RatiosAreTakenRoundByRoundAgainstTheFloor) {
    json r = {{"floor_ns", 10.0},
              {"floor_se_ns", 2.0},
              {"loads", 2},
              {"rounds_per_load", 2},
              {"cases", json::array()}};
    r["cases"].push_back(multi_load_case("empty XDP program (floor)", "floor", 0, 8));
    r["cases"].push_back(multi_load_case("10 filters, first-match", "secpol first-match", 10, 24));
    r["cases"].push_back(multi_load_case("100 filters, first-match", "secpol first-match", 100, 20));
    r["cases"].push_back(multi_load_case("10000 filters, first-match", "secpol first-match", 10000, 30));
    const json t = b::evaluate_targets(r);
    // 24 / 8 in every round: 3.0 exactly, no error (the busy load cancels),
    // and met on the mean (≤ 3).
    const json& ten = target(t, "10 filters ≤ 3× floor (first-match)");
    EXPECT_DOUBLE_EQ(ten["value"].get<double>(), 3.0);
    EXPECT_DOUBLE_EQ(ten["se"].get<double>(), 0.0);
    EXPECT_EQ(ten["met"], true);
    EXPECT_NE(ten["measured"].get<std::string>().find("3.00 ± 0.00×"), std::string::npos);
    EXPECT_EQ(target(t, "100 filters ≤ 3× floor (first-match)")["met"], true);  // 2.5
    const json& big = target(t, "10,000 filters ≤ 4× floor (first-match)");
    EXPECT_DOUBLE_EQ(big["value"].get<double>(), 3.75);
    const json& growth = target(t, "cost(10,000) / cost(100) ≤ 1.5 (first-match)");
    EXPECT_DOUBLE_EQ(growth["value"].get<double>(), 1.5);
    EXPECT_EQ(growth["met"], true);
    // Not measured: no specificity cases.
    EXPECT_TRUE(target(t, "10 filters ≤ 3× floor (specificity)")["met"].is_null());
}

TEST(Report, TheErrorOverLoadsIsShownAndMetIsDecidedOnTheMean) {
    json r = {{"floor_ns", 10.0},
              {"floor_se_ns", 0.0},
              {"loads", 2},
              {"rounds_per_load", 1},
              {"cases", json::array()}};
    json floor = {{"name", "empty XDP program (floor)"},
                  {"group", "floor"},
                  {"filters", 0},
                  {"rounds_ns", {10, 10}},
                  {"load_of_round", {0, 1}},
                  {"ns_mean", 10.0},
                  {"se_ns", 0.0}};
    r["cases"].push_back(floor);
    // Per-load ratios 2.8 and 3.1: mean 2.95 (met), error 0.15.
    json c = {{"name", "10 filters, first-match"},
              {"group", "secpol first-match"},
              {"filters", 10},
              {"rounds_ns", {28, 31}},
              {"load_of_round", {0, 1}},
              {"ns_mean", 29.5},
              {"se_ns", 1.5}};
    r["cases"].push_back(c);
    // Fixed cases carry their round-by-round ratio from the run.
    r["cases"].push_back({{"name", "malformed (IHL 3)"},
                          {"group", "special"},
                          {"filters", 100},
                          {"ratio_to_floor", 1.52},
                          {"ratio_se", 0.04}});
    const json t = b::evaluate_targets(r);
    const json& ten = target(t, "10 filters ≤ 3× floor (first-match)");
    EXPECT_NEAR(ten["value"].get<double>(), 2.95, 1e-12);
    EXPECT_NEAR(ten["se"].get<double>(), 0.15, 1e-12);
    EXPECT_EQ(ten["met"], true);
    EXPECT_EQ(ten["measured"], "2.95 ± 0.15×");
    const json& m = target(t, "malformed ≤ 1.5× floor (policy without me)");
    EXPECT_EQ(m["met"], false);
    EXPECT_EQ(m["measured"], "1.52 ± 0.04×");
}

TEST(Report, OlderResultsAreMediansOverOneLoad) {
    // Before the multi-load run: ns_median and ratio_to_floor, no errors.
    json r = {{"floor_ns", 10.0}, {"cases", json::array()}};
    r["cases"].push_back({{"name", "10 filters, first-match"},
                          {"group", "secpol first-match"},
                          {"filters", 10},
                          {"ns_median", 30.0},
                          {"rounds_ns", {30, 29, 31}}});
    r["cases"].push_back(
        {{"name", "non-IP (ARP)"}, {"group", "special"}, {"filters", 100}, {"ratio_to_floor", 1.4}});
    const json t = b::evaluate_targets(r);
    const json& ten = target(t, "10 filters ≤ 3× floor (first-match)");
    EXPECT_DOUBLE_EQ(ten["value"].get<double>(), 3.0);
    EXPECT_TRUE(ten["se"].is_null());
    EXPECT_EQ(ten["measured"], "3.00×");
    EXPECT_EQ(ten["met"], true);
    EXPECT_EQ(target(t, "non-IP ≤ 1.5× floor (policy without me)")["measured"], "1.40×");
}
