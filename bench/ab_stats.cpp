#include "ab_stats.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <stdexcept>

namespace secpol::bench {

PairedStats paired_stats(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size())
        throw std::invalid_argument("paired rounds: A and B ran a different number of rounds");
    if (a.empty()) throw std::invalid_argument("paired rounds: no rounds");
    PairedStats s;
    s.rounds = a.size();
    const double n = static_cast<double>(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        s.mean_a += a[i] / n;
        s.mean_b += b[i] / n;
        s.mean_diff += (b[i] - a[i]) / n;
    }
    if (a.size() < 2) {
        s.se_diff = std::numeric_limits<double>::quiet_NaN();
        return s;
    }
    double ss = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = b[i] - a[i] - s.mean_diff;
        ss += d * d;
    }
    s.se_diff = std::sqrt(ss / (n - 1)) / std::sqrt(n);
    return s;
}

Pairing pair_by_name(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    const std::set<std::string> in_a(a.begin(), a.end()), in_b(b.begin(), b.end());
    Pairing p;
    for (const auto& n : b) (in_a.count(n) ? p.both : p.only_b).push_back(n);
    for (const auto& n : a)
        if (!in_b.count(n)) p.only_a.push_back(n);
    return p;
}

std::vector<AbRow> ab_rows(const Pairing& p, const std::vector<std::vector<double>>& a_rounds,
                           const std::vector<std::vector<double>>& b_rounds) {
    if (a_rounds.size() != p.both.size() || b_rounds.size() != p.both.size())
        throw std::invalid_argument("paired rounds: one list of rounds per paired case");
    std::vector<AbRow> rows;
    for (size_t i = 0; i < p.both.size(); ++i)
        rows.push_back({p.both[i], paired_stats(a_rounds[i], b_rounds[i]), ""});
    for (const auto& n : p.only_b) rows.push_back({n, std::nullopt, "A"});
    for (const auto& n : p.only_a) rows.push_back({n, std::nullopt, "B"});
    return rows;
}

namespace {

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

}  // namespace

std::string ab_markdown(const std::vector<AbRow>& rows, const std::string& floor_name) {
    const PairedStats* floor = nullptr;
    for (const auto& r : rows)
        if (r.name == floor_name && r.stats) floor = &*r.stats;
    std::string s = "| case | A ns | B ns | B − A ns ± s.e. | (B − A) / s.e. | × floor A | × floor B |\n";
    s += "|---|--:|--:|--:|--:|--:|--:|\n";
    for (const auto& r : rows) {
        if (!r.stats) {
            s += "| " + r.name + " | " + (r.missing_in == "A" ? "missing" : "") + " | " +
                 (r.missing_in == "B" ? "missing" : "") + " | not paired: missing in " + r.missing_in +
                 " | | | |\n";
            continue;
        }
        const PairedStats& p = *r.stats;
        const bool se = std::isfinite(p.se_diff) && p.se_diff > 0;
        s += "| " + r.name + " | " + fmt("%.2f", p.mean_a) + " | " + fmt("%.2f", p.mean_b) + " | " +
             fmt("%+.2f", p.mean_diff) + " ± " + (std::isfinite(p.se_diff) ? fmt("%.2f", p.se_diff) : "n/a") +
             " | " + (se ? fmt("%+.1f", p.mean_diff / p.se_diff) : "") + " | " +
             (floor ? fmt("%.2f", p.mean_a / floor->mean_a) : "") + " | " +
             (floor ? fmt("%.2f", p.mean_b / floor->mean_b) : "") + " |\n";
    }
    return s;
}

nlohmann::json ab_rows_json(const std::vector<AbRow>& rows) {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) {
        if (!r.stats) {
            j.push_back({{"name", r.name}, {"missing_in", r.missing_in}});
            continue;
        }
        j.push_back({{"name", r.name},
                     {"rounds", r.stats->rounds},
                     {"a_ns_mean", num(r.stats->mean_a)},
                     {"b_ns_mean", num(r.stats->mean_b)},
                     {"diff_ns_mean", num(r.stats->mean_diff)},
                     {"diff_ns_se", num(r.stats->se_diff)}});
    }
    return j;
}

}  // namespace secpol::bench
