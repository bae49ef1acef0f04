#include "metrics.h"

#include <ctime>
#include <map>

#include "counters_render.h"
#include "lock.h"
#include "netif.h"
#include "swap.h"

namespace secpol::rt {

namespace {

using nlohmann::json;

// One metric family: HELP and TYPE once, then every sample of it (the
// format wants a family's samples together, across interfaces).
struct Family {
    std::string name, type, help;
    std::vector<std::string> samples;
};

class Exposition {
  public:
    Family& family(const std::string& name, const char* type, const char* help) {
        auto [it, fresh] = index_.try_emplace(name, families_.size());
        if (fresh) families_.push_back({name, type, help, {}});
        return families_[it->second];
    }
    void sample(const std::string& name, const char* type, const char* help,
                const std::vector<std::pair<std::string, std::string>>& labels, double value) {
        std::string s = name;
        if (!labels.empty()) {
            s += '{';
            for (size_t i = 0; i < labels.size(); ++i) {
                if (i) s += ',';
                s += labels[i].first + "=\"" + prometheus_escape(labels[i].second) + '"';
            }
            s += '}';
        }
        char num[64];
        std::snprintf(num, sizeof num, " %.17g", value);
        family(name, type, help).samples.push_back(s + num);
    }
    std::string text() const {
        std::string out;
        for (const auto& f : families_) {
            out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
            for (const auto& s : f.samples) out += s + "\n";
        }
        return out;
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
    Exposition e;
    // Families in a fixed order, even when no interface has a sample of one.
    e.family("secpol_policy_info", "gauge", "The policy loaded on an interface (value 1)");
    for (const auto& src : sources) {
        const auto& st = *src.state;
        const json& d = src.counters;
        const std::string ifc = st.iface;
        e.sample(
            "secpol_policy_info", "gauge", "The policy loaded on an interface (value 1)",
            {{"interface", ifc}, {"policy", st.label}, {"file", st.policy_file}, {"xdp_mode", st.xdp_mode}},
            1);
        e.sample("secpol_policy_generation", "gauge", "1 + the number of swaps since the first load",
                 {{"interface", ifc}}, st.generation);
        e.sample("secpol_policy_rules", "gauge", "Filters in the loaded policy", {{"interface", ifc}},
                 st.nrules);
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
    return e.text();
}

std::string collect_prometheus(const std::vector<std::string>& wanted, std::vector<std::string>* errors) {
    const bool all = wanted.empty();
    std::vector<std::string> names = all ? list_state_ifaces() : wanted;
    std::vector<IfaceState> states;
    std::vector<nlohmann::json> docs;
    states.reserve(names.size());
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
        if (auto m = load_meta(**st); !m) {
            fail(n + ": " + m.error().message);
            continue;
        }
        auto totals = read_totals(**st);
        if (!totals) {
            fail(totals.error().message);
            continue;
        }
        docs.push_back(counters_json(**st, *totals, ::time(nullptr)));
        states.push_back(std::move(**st));
    }
    std::vector<MetricsSource> src;
    for (size_t i = 0; i < states.size(); ++i) src.push_back({&states[i], std::move(docs[i])});
    return prometheus_text(src);
}

}  // namespace secpol::rt
