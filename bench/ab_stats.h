// The arithmetic of the paired A/B (secpol_bench --ab): pairing the two
// sides' cases by name, the statistics of paired rounds, and the table.
// No BPF here, so the unit tests check it deterministically.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace secpol::bench {

// Round r of a case ran on A and on B back to back: a[r] and b[r] are their
// mean ns per packet. The difference of each round cancels what the machine
// did during it; its mean ± standard error is the figure.
//
// Each load of a program puts its JITed image and maps elsewhere, and
// identical programs loaded twice differ by up to several ns, steadily for
// as long as they stay loaded: the rounds' standard error does not see
// that. So the run reloads both sides between blocks of rounds (load[r]
// says which load round r ran on), and the standard error over loads (of
// the loads' mean differences) is the one to judge a change by.
struct PairedStats {
    size_t rounds = 0, loads = 0;
    double mean_a = 0, mean_b = 0;
    double mean_diff = 0;  // mean over loads of each load's mean of b[r] - a[r]
    double se_rounds = 0;  // sample sd of the rounds' differences / sqrt(rounds); NaN for 1 round
    double se_loads = 0;   // sample sd of the loads' mean differences / sqrt(loads); NaN for 1 load
    // The one to judge by: over loads when there are several, else over rounds.
    double se() const { return loads > 1 ? se_loads : se_rounds; }
};

// load: the load index of each round (0..loads-1), empty for one load.
// Throws std::invalid_argument when the sides' rounds differ, there are
// none, or a load has no rounds.
PairedStats paired_stats(const std::vector<double>& a, const std::vector<double>& b,
                         const std::vector<unsigned>& load = {});

// Cases in both sides (in B's order), and those only one side has: they are
// reported, never dropped silently (a renamed case or a case one build
// cannot load).
struct Pairing {
    std::vector<std::string> both, only_a, only_b;
};
Pairing pair_by_name(const std::vector<std::string>& a, const std::vector<std::string>& b);

// One row of the report: the statistics of a paired case, or which side
// lacks it.
struct AbRow {
    std::string name;
    std::optional<PairedStats> stats;
    std::string missing_in;  // "A" or "B" when stats is empty
};

std::vector<AbRow> ab_rows(const Pairing& p, const std::vector<std::vector<double>>& a_rounds,
                           const std::vector<std::vector<double>>& b_rounds,
                           const std::vector<unsigned>& load = {});

// Markdown table; each case's means also as a multiple of its side's floor
// (the row named floor_name, when it is paired).
std::string ab_markdown(const std::vector<AbRow>& rows, const std::string& floor_name);

nlohmann::json ab_rows_json(const std::vector<AbRow>& rows);

}  // namespace secpol::bench
