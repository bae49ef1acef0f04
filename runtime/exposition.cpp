#include "exposition.h"

#include <cmath>
#include <cstdio>

#include "counters_render.h"
#include "metrics.h"

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

}  // namespace

Exposition::Exposition() {
    family("secpol_policy_info", "gauge", "The policy loaded on an interface (value 1)");
}

Exposition::Family& Exposition::family(const std::string& name, const char* type, const char* help) {
    auto [it, fresh] = index_.try_emplace(name, families_.size());
    if (fresh) families_.push_back({name, type, help, {}, {}});
    return families_[it->second];
}

void Exposition::sample(const std::string& name, const char* type, const char* help, const Labels& labels,
                        double v) {
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

void Exposition::block(const std::string& name, const char* type, const char* help, const RuleBlock& b) {
    Family& f = family(name, type, help);
    f.blocks.emplace_back(f.samples.size(), b);
}

void Exposition::write(TextOut& o) const {
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

const char* direction_name(const std::string& d) {
    return d == "in" ? "ingress" : "egress";
}

void add_packets_bytes(Exposition& e, const std::string& base, const char* what, const Labels& l,
                       const json& c) {
    e.sample(base + "_packets_total", "counter", (std::string("Packets ") + what).c_str(), l,
             c.value("packets", 0.0));
    e.sample(base + "_bytes_total", "counter", (std::string("Bytes ") + what).c_str(), l,
             c.value("bytes", 0.0));
}

void add_interface(Exposition& e, const IfaceState& st, const json& d,
                   const std::function<void(Exposition&)>& rules) {
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

    rules(e);
    const json exemptions = d.value("exemptions", json::object());
    for (const auto& [name, c] : exemptions.items())
        for (const char* dir : {"in", "out"})
            add_packets_bytes(e, "secpol_exemption", "passed by a default exemption (KB253169)",
                              {{"interface", ifc}, {"exemption", name}, {"direction", direction_name(dir)}},
                              c[dir]);
    const json def = d.value("default", json::object());
    for (const char* dir : {"in", "out"}) {
        const Labels l = {{"interface", ifc}, {"direction", direction_name(dir)}};
        Labels lv = l;
        lv.emplace_back("verdict", def.value("action", ""));
        add_packets_bytes(e, "secpol_default", "no filter matched (the policy's default decided)", lv,
                          def[dir]);
        Labels lf = l;
        lf.emplace_back("verdict", def.value("action", ""));
        add_packets_bytes(e, "secpol_fragment", "non-first fragments no filter matched (the default decided)",
                          lf, d["fragment"][dir]);
        add_packets_bytes(e, "secpol_malformed", "malformed (blocked)", l, d["malformed"][dir]);
        add_packets_bytes(e, "secpol_non_ip", "not IPv4/IPv6 (ARP, LLDP...), permitted", l, d["non_ip"][dir]);
        add_packets_bytes(e, "secpol_ipsec",
                          "ESP/AH/ESP-in-UDP, whatever decided them (also counted elsewhere)", l,
                          d["ipsec"][dir]);
        add_packets_bytes(e, "secpol_retired", "counted by filters that a swap removed", l,
                          d["retired"][dir]);
    }
}

}  // namespace secpol::rt
