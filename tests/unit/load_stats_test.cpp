// The per-load figures of secpol_bench (bench/load_stats.cpp): a case's
// figure is the mean over loads of each load's median round, its error the
// standard error over loads. No timing here: the inputs are fixed numbers.
#include "bench/load_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace b = secpol::bench;

TEST(LoadStats, StandardErrorOfTheMean) {
    // 1, 2, 0, 2: mean 1.25, sample variance 2.75 / 3, over sqrt(4).
    EXPECT_NEAR(b::standard_error({1, 2, 0, 2}), std::sqrt(2.75 / 3) / 2, 1e-12);
    EXPECT_DOUBLE_EQ(b::standard_error({5, 5, 5}), 0);
    EXPECT_TRUE(std::isnan(b::standard_error({7})));
    EXPECT_TRUE(std::isnan(b::standard_error({})));
}

TEST(LoadStats, MeanOverLoadsOfEachLoadsMedian) {
    // Three loads of three rounds; one round of load 1 was disturbed (40):
    // the load's median ignores it. Medians 8, 9, 10: mean 9, sd 1.
    const auto s = b::over_loads({8, 8, 9, 9, 40, 9, 10, 11, 10}, {0, 0, 0, 1, 1, 1, 2, 2, 2});
    EXPECT_EQ(s.rounds, 9u);
    EXPECT_EQ(s.loads, 3u);
    ASSERT_EQ(s.load_medians.size(), 3u);
    EXPECT_DOUBLE_EQ(s.load_medians[0], 8);
    EXPECT_DOUBLE_EQ(s.load_medians[1], 9);
    EXPECT_DOUBLE_EQ(s.load_medians[2], 10);
    EXPECT_DOUBLE_EQ(s.mean, 9);
    EXPECT_NEAR(s.se, 1 / std::sqrt(3.0), 1e-12);
}

TEST(LoadStats, TheErrorIsOverLoadsNotRounds) {
    // Within each load the rounds agree exactly, but the two loads' placements
    // differ by 2 ns: the error says so, where the rounds' spread would not.
    const auto s = b::over_loads({10, 10, 10, 12, 12, 12}, {0, 0, 0, 1, 1, 1});
    EXPECT_DOUBLE_EQ(s.mean, 11);
    EXPECT_DOUBLE_EQ(s.se, 1);  // sd sqrt(2) over sqrt(2) loads
}

TEST(LoadStats, RoundsNeedNotComeInLoadOrderAndAnEvenCountTakesTheMiddlePair) {
    const auto s = b::over_loads({4, 20, 6, 22, 100, 21}, {0, 1, 0, 1, 0, 1});
    EXPECT_DOUBLE_EQ(s.load_medians[0], 6);
    EXPECT_DOUBLE_EQ(s.load_medians[1], 21);
    const auto even = b::over_loads({1, 2, 3, 10});
    EXPECT_DOUBLE_EQ(even.load_medians[0], 2.5);
}

TEST(LoadStats, OneLoadHasNoErrorOverLoads) {
    const auto s = b::over_loads({9, 7, 8});
    EXPECT_EQ(s.loads, 1u);
    EXPECT_DOUBLE_EQ(s.mean, 8);
    EXPECT_TRUE(std::isnan(s.se));
}

TEST(LoadStats, BadInputIsRefused) {
    EXPECT_THROW(b::over_loads({}), std::invalid_argument);
    EXPECT_THROW(b::over_loads({1, 2}, {0}), std::invalid_argument);
    EXPECT_THROW(b::over_loads({1, 2}, {0, 2}), std::invalid_argument);  // load 1 ran nothing
}

TEST(LoadStats, RoundByRoundRatioCancelsWhatBothCasesShare) {
    // Load 1 ran on a busy machine: both cases 50 % slower. The absolute
    // figures scatter, the ratios of each round do not.
    const std::vector<double> c = {20, 20, 20, 30, 30, 30}, floor = {8, 8, 8, 12, 12, 12};
    const std::vector<unsigned> load = {0, 0, 0, 1, 1, 1};
    EXPECT_DOUBLE_EQ(b::over_loads(c, load).se, 5);
    const auto r = b::ratio_over_loads(c, floor, load);
    EXPECT_DOUBLE_EQ(r.mean, 2.5);
    EXPECT_DOUBLE_EQ(r.se, 0);
    // The median of each load's ratios (2.5 and 3), then their mean.
    const auto q = b::ratio_over_loads({16, 20, 100, 24, 24, 30}, {8, 8, 8, 8, 8, 8}, load);
    EXPECT_DOUBLE_EQ(q.load_medians[0], 2.5);
    EXPECT_DOUBLE_EQ(q.load_medians[1], 3);
    EXPECT_DOUBLE_EQ(q.mean, 2.75);
    EXPECT_THROW(b::ratio_over_loads({1, 2}, {1}), std::invalid_argument);
}

TEST(LoadStats, RatioAndItsFirstOrderError) {
    // 20 ± 0.4 over 8 ± 0.1: 2.5 · sqrt(0.02² + 0.0125²).
    const auto r = b::ratio_of(20, 0.4, 8, 0.1);
    EXPECT_DOUBLE_EQ(r.value, 2.5);
    EXPECT_NEAR(r.se, 2.5 * std::sqrt(0.02 * 0.02 + 0.0125 * 0.0125), 1e-12);
    EXPECT_DOUBLE_EQ(b::ratio_of(20, 0, 8, 0).se, 0);
    EXPECT_TRUE(std::isnan(b::ratio_of(20, NAN, 8, 0.1).se));
}
