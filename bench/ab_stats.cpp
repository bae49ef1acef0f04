#include "ab_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "load_stats.h"

namespace secpol::bench {

PairedStats paired_stats(const std::vector<double>& a, const std::vector<double>& b,
                         const std::vector<unsigned>& load) {
    if (a.size() != b.size())
        throw std::invalid_argument("paired rounds: A and B ran a different number of rounds");
    if (a.empty()) throw std::invalid_argument("paired rounds: no rounds");
    if (!load.empty() && load.size() != a.size())
        throw std::invalid_argument("paired rounds: one load index per round");
    PairedStats s;
    s.rounds = a.size();
    s.loads = load.empty() ? 1 : *std::max_element(load.begin(), load.end()) + 1;
    std::vector<double> diff, sum_a(s.loads), sum_b(s.loads), n(s.loads);
    for (size_t i = 0; i < a.size(); ++i) {
        const unsigned l = load.empty() ? 0 : load[i];
        diff.push_back(b[i] - a[i]);
        sum_a[l] += a[i], sum_b[l] += b[i], n[l] += 1;
    }
    std::vector<double> load_diff;
    for (size_t l = 0; l < s.loads; ++l) {
        if (n[l] == 0)
            throw std::invalid_argument("paired rounds: load " + std::to_string(l) + " has no rounds");
        const double k = static_cast<double>(s.loads);
        s.mean_a += sum_a[l] / n[l] / k;
        s.mean_b += sum_b[l] / n[l] / k;
        load_diff.push_back((sum_b[l] - sum_a[l]) / n[l]);
        s.mean_diff += load_diff.back() / k;
    }
    s.se_rounds = standard_error(diff);
    s.se_loads = standard_error(load_diff);
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
                           const std::vector<std::vector<double>>& b_rounds,
                           const std::vector<unsigned>& load) {
    if (a_rounds.size() != p.both.size() || b_rounds.size() != p.both.size())
        throw std::invalid_argument("paired rounds: one list of rounds per paired case");
    std::vector<AbRow> rows;
    for (size_t i = 0; i < p.both.size(); ++i)
        rows.push_back({p.both[i], paired_stats(a_rounds[i], b_rounds[i], load), ""});
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
    auto se = [](double v) { return std::isfinite(v) ? fmt("%.2f", v) : std::string("n/a"); };
    std::string s =
        "| case | A ns | B ns | B − A ns | s.e. over loads | s.e. over rounds | (B − A) / s.e. | × floor A | "
        "× floor B "
        "|\n";
    s += "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const auto& r : rows) {
        if (!r.stats) {
            s += "| " + r.name + " | " + (r.missing_in == "A" ? "missing" : "") + " | " +
                 (r.missing_in == "B" ? "missing" : "") + " | not paired: missing in " + r.missing_in +
                 " | | | | | |\n";
            continue;
        }
        const PairedStats& p = *r.stats;
        const double e = p.se();
        s += "| " + r.name + " | " + fmt("%.2f", p.mean_a) + " | " + fmt("%.2f", p.mean_b) + " | " +
             fmt("%+.2f", p.mean_diff) + " | " + se(p.se_loads) + " | " + se(p.se_rounds) + " | " +
             (std::isfinite(e) && e > 0 ? fmt("%+.1f", p.mean_diff / e) : "") + " | " +
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
                     {"loads", r.stats->loads},
                     {"a_ns_mean", num(r.stats->mean_a)},
                     {"b_ns_mean", num(r.stats->mean_b)},
                     {"diff_ns_mean", num(r.stats->mean_diff)},
                     {"diff_ns_se", num(r.stats->se())},
                     {"diff_ns_se_loads", num(r.stats->se_loads)},
                     {"diff_ns_se_rounds", num(r.stats->se_rounds)}});
    }
    return j;
}

}  // namespace secpol::bench
