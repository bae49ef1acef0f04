#include "render/dom_render.h"

#include "runtime/counters_render.h"
#include "runtime/exposition.h"

namespace secpol::rt {

namespace {

using nlohmann::json;

json rule_dir(const Slots& s, unsigned rule, unsigned dir) {
    RuleCounts d = rule_counts(s, rule, dir);
    json j = json::object();
    for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) j[kVerdictNames[v]] = count_json(d.v[v]);
    j["packets"] = d.sum.packets;
    j["bytes"] = d.sum.bytes;
    return j;
}

RuleCounts dir_of(const json& c) {
    RuleCounts d;
    for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v)
        d.v[v] = {c[kVerdictNames[v]]["packets"].get<int64_t>(), c[kVerdictNames[v]]["bytes"].get<int64_t>()};
    d.sum = {c["packets"].get<int64_t>(), c["bytes"].get<int64_t>()};
    return d;
}

// As show's text reads a document: a missing or non-number value is 0.
int64_t int_of(const json& v) {
    return v.is_number() ? v.get<int64_t>() : 0;
}

Count count_of(const json& c) {
    return {int_of(c.value("packets", json(0))), int_of(c.value("bytes", json(0)))};
}

RuleCounts counts_of(const json& c) {
    RuleCounts r;
    r.sum = count_of(c);
    for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v)
        r.v[v] = count_of(c.value(kVerdictNames[v], json::object()));
    return r;
}

std::string str(const json& j, const char* k) {
    return j.value(k, std::string());
}

const json& meta_rules(const IfaceState& st) {
    static const json kNoRules = json::array();
    auto mr = st.meta.find("rules");
    return mr != st.meta.end() && mr->is_array() ? *mr : kNoRules;
}

}  // namespace

json counters_json(const IfaceState& st, const Slots& s, int64_t read_at) {
    // Built member by member and moved, never through initializer lists (which copy).
    json rules = json::array();
    rules.get_ref<json::array_t&>().reserve(st.nrules);
    const json& mr = meta_rules(st);
    static const json kEmpty = json::object();
    for (unsigned r = 0; r < st.nrules; ++r) {
        const json& m = r < mr.size() ? mr[r] : kEmpty;
        json j = json::object();
        j["id"] = r;
        j["label"] = m.value("label", "");
        j["action"] = m.value("action", "");
        j["action_name"] = m.value("action_name", m.value("action", ""));
        j["line"] = m.value("line", 0);
        j["in"] = rule_dir(s, r, SECPOL_DIR_IN);
        j["out"] = rule_dir(s, r, SECPOL_DIR_OUT);
        rules.push_back(std::move(j));
    }
    json doc = counters_head(st, st.meta.value("policy", json::object()), s, read_at);
    doc["rules"] = std::move(rules);
    return doc;
}

std::string counters_table(const json& doc) {
    std::string out;
    {
        TextOut o(&out);
        CountersTable t(o);
        t.head(doc, doc["rules"].size());
        for (const auto& r : doc["rules"])
            t.rule(r["id"].get<int>(), r["label"].get<std::string>(), r["action_name"].get<std::string>(),
                   r["line"].get<int>(), dir_of(r["in"]), dir_of(r["out"]));
        t.tail(doc);
    }
    return out;
}

json show_json(const IfaceState& st, const json& counters_doc, const ShowFacts& facts) {
    json doc = show_head(st, st.meta.value("policy", json::object()), counters_doc, facts);
    const json& mr = meta_rules(st);
    for (auto& r : doc["rules"]) {
        size_t id = r.value("id", size_t{0});
        const json m = id < mr.size() ? mr[id] : json::object();
        r["text"] = m.value("text", "");
        r["column"] = m.value("column", 0);
    }
    return doc;
}

std::string show_text(const json& doc) {
    std::string out;
    {
        TextOut o(&out);
        show_text_head(o, doc);
        const json& rules = doc.value("rules", json::array());
        if (!rules.empty()) o << "\n";
        for (const auto& r : rules)
            show_text_rule(o, int_of(r.value("id", json(0))), str(r, "text"), str(r, "action_name"),
                           str(r, "label"), int_of(r.value("line", json(0))),
                           counts_of(r.value("in", json::object())),
                           counts_of(r.value("out", json::object())));
        show_text_tail(o, doc);
    }
    return out;
}

std::string prometheus_text(const std::vector<MetricsSource>& sources) {
    Exposition e;
    for (const auto& src : sources) {
        const IfaceState& st = *src.state;
        const json& d = src.counters;
        add_interface(e, st, d, [&](Exposition& x) {
            static const json kNone = json::array();
            auto dr = d.find("rules");  // not d.value(): that copies every rule
            for (const auto& r : dr != d.end() ? *dr : kNone)
                for (const char* dir : {"in", "out"})
                    for (const char* verdict : kVerdictNames) {
                        Labels l = {{"interface", st.iface},
                                    {"rule", std::to_string(r.value("id", 0))},
                                    {"label", r.value("label", "")},
                                    {"direction", direction_name(dir)},
                                    {"verdict", verdict}};
                        add_packets_bytes(x, "secpol_rule", "a filter decided, by verdict", l,
                                          r[dir][verdict]);
                    }
        });
    }
    std::string out;
    {
        TextOut o(&out);
        e.write(o);
    }
    return out;
}

}  // namespace secpol::rt
