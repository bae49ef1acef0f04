#include "metrics.h"

#include <ctime>

#include "counters_render.h"
#include "exposition.h"
#include "lock.h"
#include "netif.h"
#include "swap.h"

namespace secpol::rt {

std::string prometheus_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void write_prometheus(TextOut& out, const std::vector<MetricsView>& views) {
    static const char* const kRuleHelp[2] = {"Packets a filter decided, by verdict",
                                             "Bytes a filter decided, by verdict"};
    Exposition e;
    for (const auto& v : views)
        add_interface(e, *v.state, v.head, [&](Exposition& x) {
            if (!v.state->nrules) return;
            RuleBlock b{v.state, v.table, v.totals, false};
            x.block("secpol_rule_packets_total", "counter", kRuleHelp[0], b);
            b.bytes = true;
            x.block("secpol_rule_bytes_total", "counter", kRuleHelp[1], b);
        });
    e.write(out);
}

MetricsSnapshot read_metrics(const std::vector<std::string>& wanted, std::vector<std::string>* errors) {
    const bool all = wanted.empty();
    std::vector<std::string> names = all ? list_state_ifaces() : wanted;
    MetricsSnapshot snap;
    snap.read_at = ::time(nullptr);
    for (const auto& n : names) {
        auto fail = [&](const std::string& m) {
            if (errors) errors->push_back(m);
        };
        // Shared lock: a swap in progress finishes (and moves its offsets) first.
        auto lock = InterfaceLock::acquire(n, InterfaceLock::Mode::Shared);
        if (!lock) {
            fail(n + ": " + lock.error().message);
            continue;
        }
        auto st = read_state(n);
        if (!st) {
            fail(st.error().message);
            continue;
        }
        if (!*st) {
            if (!all) fail(n + ": no secpol policy loaded");
            continue;
        }
        // Names are per network namespace; another one's policy is not ours to show.
        if ((*st)->netns && (*st)->netns != netns_id()) {
            if (!all) fail(n + ": loaded from another network namespace");
            continue;
        }
        // The rule table (labels, lines) lives in meta.json since state.json
        // stopped copying the policy.
        auto table = read_rule_table(**st);
        if (!table) {
            fail(n + ": " + table.error().message);
            continue;
        }
        auto t = read_totals(**st);
        if (!t) {
            fail(t.error().message);
            continue;
        }
        snap.states.push_back(std::move(**st));
        snap.tables.push_back(std::move(*table));
        snap.totals.push_back(std::move(*t));
    }
    return snap;
}

void MetricsSnapshot::write(TextOut& out) const {
    std::vector<MetricsView> views;
    for (size_t i = 0; i < states.size(); ++i)
        views.push_back({&states[i], &tables[i], &totals[i],
                         counters_head(states[i], tables[i].policy, totals[i], read_at)});
    write_prometheus(out, views);
}

}  // namespace secpol::rt
