#include "load_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace secpol::bench {

namespace {

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

double standard_error(const std::vector<double>& v) {
    if (v.size() < 2) return std::numeric_limits<double>::quiet_NaN();
    const double n = static_cast<double>(v.size());
    double m = 0, ss = 0;
    for (double x : v) m += x / n;
    for (double x : v) ss += (x - m) * (x - m);
    return std::sqrt(ss / (n - 1)) / std::sqrt(n);
}

LoadStats over_loads(const std::vector<double>& rounds, const std::vector<unsigned>& load_of) {
    if (rounds.empty()) throw std::invalid_argument("rounds over loads: no rounds");
    if (!load_of.empty() && load_of.size() != rounds.size())
        throw std::invalid_argument("rounds over loads: one load index per round");
    LoadStats s;
    s.rounds = rounds.size();
    s.loads = load_of.empty() ? 1 : *std::max_element(load_of.begin(), load_of.end()) + 1;
    std::vector<std::vector<double>> by_load(s.loads);
    for (size_t i = 0; i < rounds.size(); ++i) by_load[load_of.empty() ? 0 : load_of[i]].push_back(rounds[i]);
    for (size_t l = 0; l < s.loads; ++l) {
        if (by_load[l].empty())
            throw std::invalid_argument("rounds over loads: load " + std::to_string(l) + " has no rounds");
        s.load_medians.push_back(median_of(by_load[l]));
        s.mean += s.load_medians.back() / static_cast<double>(s.loads);
    }
    s.se = standard_error(s.load_medians);
    return s;
}

LoadStats ratio_over_loads(const std::vector<double>& a, const std::vector<double>& b,
                           const std::vector<unsigned>& load_of) {
    if (a.size() != b.size()) throw std::invalid_argument("ratio over loads: a different number of rounds");
    std::vector<double> r;
    for (size_t i = 0; i < a.size(); ++i) r.push_back(a[i] / b[i]);
    return over_loads(r, load_of);
}

Ratio ratio_of(double a, double se_a, double b, double se_b) {
    const double r = a / b;
    return {r, std::abs(r) * std::sqrt((se_a / a) * (se_a / a) + (se_b / b) * (se_b / b))};
}

}  // namespace secpol::bench
