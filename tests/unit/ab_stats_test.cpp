// The arithmetic of secpol_bench --ab (bench/ab_stats.cpp): paired
// statistics, pairing by name, and how a case one side lacks is reported.
// No timing here: the inputs are fixed numbers.
#include "bench/ab_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace b = secpol::bench;

TEST(AbStats, MeanAndStandardErrorOfPairedDifferences) {
    // Differences 1, 2, 0, 2: mean 1.25, sample variance 2.75 / 3.
    const auto s = b::paired_stats({10, 11, 12, 13}, {11, 13, 12, 15});
    EXPECT_EQ(s.rounds, 4u);
    EXPECT_DOUBLE_EQ(s.mean_a, 11.5);
    EXPECT_DOUBLE_EQ(s.mean_b, 12.75);
    EXPECT_DOUBLE_EQ(s.mean_diff, 1.25);
    EXPECT_NEAR(s.se_rounds, std::sqrt(2.75 / 3) / 2, 1e-12);
    EXPECT_EQ(s.loads, 1u);
    EXPECT_TRUE(std::isnan(s.se_loads));
    EXPECT_DOUBLE_EQ(s.se(), s.se_rounds);  // one load: the rounds' error is all there is
}

TEST(AbStats, StandardErrorOverLoadsSeesWhatEachLoadAdds) {
    // Two loads of two rounds: within each load the differences agree (the
    // rounds see no noise), but the loads' placements differ by 2 ns.
    const auto s = b::paired_stats({10, 10, 10, 10}, {10, 10, 12, 12}, {0, 0, 1, 1});
    EXPECT_EQ(s.rounds, 4u);
    EXPECT_EQ(s.loads, 2u);
    EXPECT_DOUBLE_EQ(s.mean_diff, 1);
    // Load means 0 and 2: sd sqrt(2), over sqrt(2) loads.
    EXPECT_DOUBLE_EQ(s.se_loads, 1);
    EXPECT_DOUBLE_EQ(s.se(), 1);
    EXPECT_NEAR(s.se_rounds, std::sqrt(4.0 / 3) / 2, 1e-12);
}

TEST(AbStats, EveryLoadWeighsTheSame) {
    // Load 0 has three rounds, load 1 one: the mean is of the loads' means.
    const auto s = b::paired_stats({10, 10, 10, 20}, {11, 11, 11, 24}, {0, 0, 0, 1});
    EXPECT_DOUBLE_EQ(s.mean_a, 15);
    EXPECT_DOUBLE_EQ(s.mean_b, 17.5);
    EXPECT_DOUBLE_EQ(s.mean_diff, 2.5);
    EXPECT_THROW(b::paired_stats({1, 2}, {1, 2}, {0, 2}), std::invalid_argument);  // load 1 ran nothing
    EXPECT_THROW(b::paired_stats({1, 2}, {1, 2}, {0}), std::invalid_argument);
}

TEST(AbStats, PairingCancelsWhatBothSidesOfARoundShare) {
    // The machine's load moves both runs of a round alike: the rounds
    // scatter by 20 ns, their differences not at all.
    const std::vector<double> a = {10, 30, 12, 25, 18};
    std::vector<double> bv;
    for (double x : a) bv.push_back(x + 1);
    const auto s = b::paired_stats(a, bv);
    EXPECT_DOUBLE_EQ(s.mean_diff, 1);
    EXPECT_DOUBLE_EQ(s.se_rounds, 0);
}

TEST(AbStats, OneRoundHasNoStandardError) {
    const auto s = b::paired_stats({10}, {12});
    EXPECT_DOUBLE_EQ(s.mean_diff, 2);
    EXPECT_TRUE(std::isnan(s.se_rounds));
    const std::string md = b::ab_markdown({{"x", s, ""}}, "floor");
    EXPECT_NE(md.find("| x | 10.00 | 12.00 | +2.00 | n/a | n/a |  |"), std::string::npos) << md;
    EXPECT_TRUE(b::ab_rows_json({{"x", s, ""}})[0]["diff_ns_se"].is_null());
}

TEST(AbStats, UnequalOrNoRoundsAreRefused) {
    EXPECT_THROW(b::paired_stats({1, 2}, {1}), std::invalid_argument);
    EXPECT_THROW(b::paired_stats({}, {}), std::invalid_argument);
}

TEST(AbStats, PairsByNameInBsOrderAndKeepsTheUnpaired) {
    const auto p = b::pair_by_name({"floor", "x", "renamed in B"}, {"floor", "new in B", "x"});
    EXPECT_EQ(p.both, (std::vector<std::string>{"floor", "x"}));
    EXPECT_EQ(p.only_a, (std::vector<std::string>{"renamed in B"}));
    EXPECT_EQ(p.only_b, (std::vector<std::string>{"new in B"}));
}

TEST(AbStats, UnpairedCasesAreRowsOfTheReport) {
    const auto p = b::pair_by_name({"floor", "x", "gone"}, {"floor", "x", "new"});
    const auto rows = b::ab_rows(p, {{10, 10}, {20, 22}}, {{10, 10}, {21, 23}});
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].name, "floor");
    EXPECT_EQ(rows[1].name, "x");
    ASSERT_TRUE(rows[1].stats);
    EXPECT_DOUBLE_EQ(rows[1].stats->mean_diff, 1);
    EXPECT_EQ(rows[2].name, "new");
    EXPECT_FALSE(rows[2].stats);
    EXPECT_EQ(rows[2].missing_in, "A");
    EXPECT_EQ(rows[3].name, "gone");
    EXPECT_EQ(rows[3].missing_in, "B");

    const std::string md = b::ab_markdown(rows, "floor");
    EXPECT_NE(md.find("| new | missing |  | not paired: missing in A |"), std::string::npos) << md;
    EXPECT_NE(md.find("| gone |  | missing | not paired: missing in B |"), std::string::npos) << md;
    // x against each side's floor: 21 / 10 and 22 / 10.
    EXPECT_NE(md.find("| x | 21.00 | 22.00 | +1.00 | n/a | 0.00 |  | 2.10 | 2.20 |"), std::string::npos)
        << md;

    const auto j = b::ab_rows_json(rows);
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[2]["missing_in"], "A");
    EXPECT_EQ(j[3]["missing_in"], "B");
    EXPECT_EQ(j[1]["diff_ns_mean"], 1.0);
    EXPECT_EQ(j[1]["rounds"], 2);
    EXPECT_EQ(j[1]["loads"], 1);
    EXPECT_EQ(j[1]["diff_ns_se"], 0.0);
    EXPECT_TRUE(j[1]["diff_ns_se_loads"].is_null());
}

TEST(AbStats, RowsCarryTheLoadOfEachRound) {
    const auto p = b::pair_by_name({"x"}, {"x"});
    const auto rows = b::ab_rows(p, {{10, 10, 10, 10}}, {{10, 10, 12, 12}}, {0, 0, 1, 1});
    ASSERT_TRUE(rows[0].stats);
    EXPECT_EQ(rows[0].stats->loads, 2u);
    const std::string md = b::ab_markdown(rows, "floor");
    EXPECT_NE(md.find("| x | 10.00 | 11.00 | +1.00 | 1.00 | 0.58 | +1.0 |"), std::string::npos) << md;
}

TEST(AbStats, RoundsMustMatchThePairing) {
    const auto p = b::pair_by_name({"floor", "x"}, {"floor", "x"});
    EXPECT_THROW(b::ab_rows(p, {{10}}, {{10}, {11}}), std::invalid_argument);
}
