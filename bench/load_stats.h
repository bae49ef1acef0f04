// The statistics of a case measured over several loads of its program
// (secpol_bench's per-packet cases, docs/performance.md "Method"). No BPF
// here, so the unit tests check it deterministically.
#pragma once

#include <cstddef>
#include <vector>

namespace secpol::bench {

// Sample standard deviation / sqrt(n): the standard error of the mean of v;
// NaN for fewer than two values.
double standard_error(const std::vector<double>& v);

// Each load of a program puts its JITed image and maps elsewhere, which
// shifts a case by a few ns for as long as the load lasts (the paired A/B
// found it: ab_stats.h). The rounds of one load share that shift, so they
// are not independent samples of the program's cost; the loads are. A
// load's figure is the median of its rounds (a round that another process
// disturbed does not move it), the case's figure the mean of the loads'
// figures, and its standard error that of the loads.
struct LoadStats {
    std::size_t rounds = 0, loads = 0;
    std::vector<double> load_medians;  // one per load, in load order
    double mean = 0;                   // mean of load_medians
    double se = 0;                     // standard_error(load_medians): NaN for one load
};

// rounds[i] ran on load load_of[i] (0..loads-1; empty: all on one load).
// Throws std::invalid_argument when there are no rounds, the two lists
// differ in length, or a load has no rounds.
LoadStats over_loads(const std::vector<double>& rounds, const std::vector<unsigned>& load_of = {});

// Two cases measured in the same rounds (a case and the floor, 10,000 and
// 100 filters): the ratio of each round, then over_loads of those ratios.
// Whatever the machine does during a round or a load (another process on
// the core, the clock) moves both alike and cancels in the round's ratio;
// what each load of each program adds stays, and the error over loads
// sees it. Throws std::invalid_argument as over_loads does, or when a and
// b ran a different number of rounds.
LoadStats ratio_over_loads(const std::vector<double>& a, const std::vector<double>& b,
                           const std::vector<unsigned>& load_of = {});

// a / b and its standard error to first order, a and b measured
// independently: se = |a/b| · sqrt((se_a/a)² + (se_b/b)²). A NaN error of
// either (one load) gives a NaN error.
struct Ratio {
    double value = 0, se = 0;
};
Ratio ratio_of(double a, double se_a, double b, double se_b);

}  // namespace secpol::bench
