#include "metrics.h"

#include <cmath>
#include <ctime>
#include <map>
#include <optional>

#include "counters_render.h"
#include "lock.h"
#include "netif.h"
#include "swap.h"

namespace secpol::rt {

namespace {

using nlohmann::json;

// " %.17g" of a counter, as the samples write their values; integers
// below 10^15 (every real count) without going through printf.
void value(TextOut& o, double v) {
    if (std::fabs(v) < 1e15 && v == std::floor(v)) {
        o << ' ';
        o.num(static_cast<int64_t>(v));
        return;
    }
    char num[64];
    std::snprintf(num, sizeof num, " %.17g", v);
    o << num;
}

// The per-rule samples of one interface (packets or bytes), written when
// the exposition is: 1.2 million lines at 100,000 rules.
struct RuleBlock {
    const IfaceState* st;
    const RuleTable* table;
    const Slots* totals;
    bool bytes;
};

// One metric family: HELP and TYPE once, then every sample of it (the
// format wants a family's samples together, across interfaces).
struct Family {
    std::string name, type, help;
    std::vector<std::string> samples;
    std::vector<std::pair<size_t, RuleBlock>> blocks;  // each before samples[first]
};

void write_block(TextOut& o, const std::string& name, const RuleBlock& b) {
    static const char* const verdicts[SECPOL_RV_COUNT] = {"permit", "block", "protected"};
    const std::string head = name + "{interface=\"" + prometheus_escape(b.st->iface) + "\",rule=\"";
    for (unsigned r = 0; r < b.st->nrules; ++r) {
        const std::string label = prometheus_escape(b.table->row(r).label);
        for (unsigned dir = 0; dir < 2; ++dir) {
            const RuleCounts c = rule_counts(*b.totals, r, dir);
            for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) {
                o << head;
                o.num(r);
                o << "\",label=\"" << label
                  << (dir == SECPOL_DIR_IN ? "\",direction=\"ingress" : "\",direction=\"egress")
                  << "\",verdict=\"" << verdicts[v] << "\"}";
                value(o, static_cast<double>(b.bytes ? c.v[v].bytes : c.v[v].packets));
                o << '\n';
            }
        }
    }
}

class Exposition {
  public:
    Family& family(const std::string& name, const char* type, const char* help) {
        auto [it, fresh] = index_.try_emplace(name, families_.size());
        if (fresh) families_.push_back({name, type, help, {}, {}});
        return families_[it->second];
    }
    void sample(const std::string& name, const char* type, const char* help,
                const std::vector<std::pair<std::string, std::string>>& labels, double v) {
        std::string s = name;
        if (!labels.empty()) {
            s += '{';
            for (size_t i = 0; i < labels.size(); ++i) {
                if (i) s += ',';
                s += labels[i].first + "=\"" + prometheus_escape(labels[i].second) + '"';
            }
            s += '}';
        }
        {
            TextOut o(&s);
            value(o, v);
        }
        family(name, type, help).samples.push_back(s);
    }
    void block(const std::string& name, const char* type, const char* help, const RuleBlock& b) {
        Family& f = family(name, type, help);
        f.blocks.emplace_back(f.samples.size(), b);
    }
    void write(TextOut& o) const {
        for (const auto& f : families_) {
            o << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " " << f.type << "\n";
            size_t b = 0;
            for (size_t i = 0; i <= f.samples.size(); ++i) {
                for (; b < f.blocks.size() && f.blocks[b].first == i; ++b)
                    write_block(o, f.name, f.blocks[b].second);
                if (i < f.samples.size()) o << f.samples[i] << '\n';
            }
        }
    }

  private:
    std::vector<Family> families_;
    std::map<std::string, size_t> index_;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

const char* dir_name(const std::string& d) {
    return d == "in" ? "ingress" : "egress";
}

// packets and bytes of one {"packets","bytes"} object as two counters.
void pb(Exposition& e, const std::string& base, const char* what, const Labels& l, const json& c) {
    e.sample(base + "_packets_total", "counter", (std::string("Packets ") + what).c_str(), l,
             c.value("packets", 0.0));
    e.sample(base + "_bytes_total", "counter", (std::string("Bytes ") + what).c_str(), l,
             c.value("bytes", 0.0));
}

// The samples of one interface: d is its counters document; the rules are
// those of d, or, with `rules`, streamed from a rule table.
void add_interface(Exposition& e, const IfaceState& st, const json& d,
                   const std::optional<RuleBlock>& rules) {
    const std::string ifc = st.iface;
    e.sample("secpol_policy_info", "gauge", "The policy loaded on an interface (value 1)",
             {{"interface", ifc}, {"policy", st.label}, {"file", st.policy_file}, {"xdp_mode", st.xdp_mode}},
             1);
    e.sample("secpol_policy_generation", "gauge", "1 + the number of swaps since the first load",
             {{"interface", ifc}}, st.generation);
    e.sample("secpol_policy_rules", "gauge", "Filters in the loaded policy", {{"interface", ifc}}, st.nrules);
    e.sample("secpol_policy_first_load_timestamp_seconds", "gauge",
             "When a secpol policy was first loaded on the interface (unix time)", {{"interface", ifc}},
             static_cast<double>(st.loaded_at));
    e.sample("secpol_policy_load_timestamp_seconds", "gauge",
             "When the policy now attached was loaded: the first load or the last swap (unix time)",
             {{"interface", ifc}}, static_cast<double>(st.replaced_at ? st.replaced_at : st.loaded_at));
    if (st.locals_changed_at)
        e.sample("secpol_local_addresses_change_timestamp_seconds", "gauge",
                 "When the addresses bound as 'me' last changed (unix time)", {{"interface", ifc}},
                 static_cast<double>(st.locals_changed_at));

    static const char* const kRuleHelp[2] = {"Packets a filter decided, by verdict",
                                             "Bytes a filter decided, by verdict"};
    if (rules && st.nrules) {
        RuleBlock b = *rules;
        b.bytes = false;
        e.block("secpol_rule_packets_total", "counter", kRuleHelp[0], b);
        b.bytes = true;
        e.block("secpol_rule_bytes_total", "counter", kRuleHelp[1], b);
    }
    static const json kNone = json::array();
    auto dr = d.find("rules");  // not d.value(): that copies every rule
    for (const auto& r : dr != d.end() ? *dr : kNone) {
        for (const char* dir : {"in", "out"}) {
            for (const char* verdict : {"permit", "block", "protected"}) {
                Labels l = {{"interface", ifc},
                            {"rule", std::to_string(r.value("id", 0))},
                            {"label", r.value("label", "")},
                            {"direction", dir_name(dir)},
                            {"verdict", verdict}};
                pb(e, "secpol_rule", "a filter decided, by verdict", l, r[dir][verdict]);
            }
        }
    }
    const json exemptions = d.value("exemptions", json::object());
    for (const auto& [name, c] : exemptions.items())
        for (const char* dir : {"in", "out"})
            pb(e, "secpol_exemption", "passed by a default exemption (KB253169)",
               {{"interface", ifc}, {"exemption", name}, {"direction", dir_name(dir)}}, c[dir]);
    const json def = d.value("default", json::object());
    for (const char* dir : {"in", "out"}) {
        const Labels l = {{"interface", ifc}, {"direction", dir_name(dir)}};
        Labels lv = l;
        lv.emplace_back("verdict", def.value("action", ""));
        pb(e, "secpol_default", "no filter matched (the policy's default decided)", lv, def[dir]);
        Labels lf = l;
        lf.emplace_back("verdict", def.value("action", ""));
        pb(e, "secpol_fragment", "non-first fragments no filter matched (the default decided)", lf,
           d["fragment"][dir]);
        pb(e, "secpol_malformed", "malformed (blocked)", l, d["malformed"][dir]);
        pb(e, "secpol_non_ip", "not IPv4/IPv6 (ARP, LLDP...), permitted", l, d["non_ip"][dir]);
        pb(e, "secpol_ipsec", "ESP/AH/ESP-in-UDP, whatever decided them (also counted elsewhere)", l,
           d["ipsec"][dir]);
        pb(e, "secpol_retired", "counted by filters that a swap removed", l, d["retired"][dir]);
    }
}

Exposition start() {
    Exposition e;
    // Families in a fixed order, even when no interface has a sample of one.
    e.family("secpol_policy_info", "gauge", "The policy loaded on an interface (value 1)");
    return e;
}

}  // namespace

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

std::string prometheus_text(const std::vector<MetricsSource>& sources) {
    Exposition e = start();
    for (const auto& src : sources) add_interface(e, *src.state, src.counters, std::nullopt);
    std::string out;
    {
        TextOut o(&out);
        e.write(o);
    }
    return out;
}

void write_prometheus(TextOut& out, const std::vector<MetricsView>& views) {
    Exposition e = start();
    for (const auto& v : views)
        add_interface(e, *v.state, v.head, RuleBlock{v.state, v.table, v.totals, false});
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

std::string collect_prometheus(const std::vector<std::string>& wanted, std::vector<std::string>* errors) {
    auto snap = read_metrics(wanted, errors);
    std::string out;
    {
        TextOut o(&out);
        snap.write(o);
    }
    return out;
}

}  // namespace secpol::rt
