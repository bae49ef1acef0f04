#include "counters_render.h"

#include <cstdio>
#include <set>

#include "ir/ir.h"

namespace secpol::rt {

namespace {

using nlohmann::json;

json pb(const Count& c) {
    json j = json::object();
    j["packets"] = c.packets;
    j["bytes"] = c.bytes;
    return j;
}

Count at(const Slots& s, size_t i) {
    return i < s.size() ? s[i] : Count{};
}

json special(const Slots& s, unsigned kind) {
    return {{"in", pb(at(s, special_slot(kind, SECPOL_DIR_IN)))},
            {"out", pb(at(s, special_slot(kind, SECPOL_DIR_OUT)))}};
}

json rule_dir(const Slots& s, unsigned rule, unsigned dir) {
    static const char* const verdicts[SECPOL_RV_COUNT] = {"permit", "block", "protected"};
    Count sum;
    json j = json::object();
    for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) {
        Count c = at(s, rule_slot(rule, dir, v));
        sum += c;
        j[verdicts[v]] = pb(c);
    }
    j["packets"] = sum.packets;
    j["bytes"] = sum.bytes;
    return j;
}

std::string human(int64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

}  // namespace

json counters_json(const IfaceState& st, const Slots& s, int64_t read_at) {
    // Built member by member and moved, never through initializer lists (which
    // copy): a 100,000-rule policy makes millions of nodes here.
    json rules = json::array();
    rules.get_ref<json::array_t&>().reserve(st.nrules);
    static const json kNoRules = json::array();
    auto mr = st.meta.find("rules");
    const json& meta_rules = mr != st.meta.end() && mr->is_array() ? *mr : kNoRules;
    static const json kEmpty = json::object();
    for (unsigned r = 0; r < st.nrules; ++r) {
        const json& m = r < meta_rules.size() ? meta_rules[r] : kEmpty;
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
    // Every exemption the policy enables, and any other that counted something.
    std::set<unsigned> ex;
    json pol = st.meta.value("policy", json::object());
    for (const auto& name : pol.value("exemptions", json::array()))
        if (name.is_string())
            if (auto id = ir::exemption_from_name(name.get<std::string>())) ex.insert(*id);
    for (unsigned e = 0; e < SECPOL_EX_COUNT; ++e)
        for (unsigned d = 0; d < 2; ++d)
            if (at(s, special_slot(SECPOL_CNT_EXEMPT + e, d)).packets) ex.insert(e);
    json exemptions = json::object();
    for (unsigned e : ex) exemptions[ir::exemption_name(e)] = special(s, SECPOL_CNT_EXEMPT + e);

    json def = special(s, SECPOL_CNT_DEFAULT);
    def["action"] = pol.value("default", "");
    json doc = {{"format", "secpol-counters-1"},
                {"interface", st.iface},
                {"policy", st.label},
                {"generation", st.generation},
                {"loaded_at", format_time(st.loaded_at)},
                {"read_at", format_time(read_at)},
                {"rules", nullptr},
                {"exemptions", exemptions},
                {"default", def},
                {"malformed", special(s, SECPOL_CNT_MALFORMED)},
                {"fragment", special(s, SECPOL_CNT_FRAGMENT)},
                {"non_ip", special(s, SECPOL_CNT_NONIP)},
                {"ipsec", special(s, SECPOL_CNT_IPSEC)}};
    doc["rules"] = std::move(rules);
    doc["total"] = {{"in", pb(decisions_total(s, st.nrules, SECPOL_DIR_IN))},
                    {"out", pb(decisions_total(s, st.nrules, SECPOL_DIR_OUT))}};
    doc["retired"] = {{"in", pb(st.offsets.retired[0])}, {"out", pb(st.offsets.retired[1])}};
    return doc;
}

std::string counters_table(const json& doc) {
    std::string out;
    char line[512];
    auto row = [&](const std::string& id, const std::string& label, const std::string& action,
                   const std::string& lineno, const char* dir, const json& c, bool verdicts) {
        std::string p = verdicts ? human(c["permit"]["packets"].get<int64_t>()) : "";
        std::string b = verdicts ? human(c["block"]["packets"].get<int64_t>()) : "";
        std::string x = verdicts ? human(c["protected"]["packets"].get<int64_t>()) : "";
        std::string l = label.size() > 28 ? label.substr(0, 27) + "~" : label;
        std::snprintf(line, sizeof line, "%4s  %-28s %-9s %5s  %-3s %10s %12s %10s %10s %10s\n", id.c_str(),
                      l.c_str(), action.c_str(), lineno.c_str(), dir,
                      human(c["packets"].get<int64_t>()).c_str(), human(c["bytes"].get<int64_t>()).c_str(),
                      p.c_str(), b.c_str(), x.c_str());
        out += line;
    };
    auto pair = [&](const std::string& id, const std::string& label, const std::string& action,
                    const std::string& lineno, const json& c, bool verdicts) {
        row(id, label, action, lineno, "in", c["in"], verdicts);
        row("", "", "", "", "out", c["out"], verdicts);
    };

    std::snprintf(line, sizeof line, "%s: policy \"%s\", %zu rules, loaded %s (generation %d)\n\n",
                  doc["interface"].get<std::string>().c_str(), doc["policy"].get<std::string>().c_str(),
                  doc["rules"].size(), doc["loaded_at"].get<std::string>().c_str(),
                  doc["generation"].get<int>());
    out += line;
    std::snprintf(line, sizeof line, "%4s  %-28s %-9s %5s  %-3s %10s %12s %10s %10s %10s\n", "ID", "LABEL",
                  "ACTION", "LINE", "DIR", "PACKETS", "BYTES", "PERMIT", "BLOCK", "PROTECTED");
    out += line;
    for (const auto& r : doc["rules"]) {
        std::string label = r["label"].get<std::string>();
        pair(std::to_string(r["id"].get<int>()), label.empty() ? "-" : label,
             r["action_name"].get<std::string>(), std::to_string(r["line"].get<int>()), r, true);
    }
    out += "\n";
    for (const auto& [name, c] : doc["exemptions"].items())
        pair("", "exemption " + name, "permit", "", c, false);
    pair("", "default", doc["default"].value("action", ""), "", doc["default"], false);
    pair("", "fragment (non-first)", doc["default"].value("action", ""), "", doc["fragment"], false);
    pair("", "malformed", "block", "", doc["malformed"], false);
    pair("", "non-IP", "permit", "", doc["non_ip"], false);
    pair("", "ESP/AH (ipsec, also above)", "", "", doc["ipsec"], false);
    pair("", "total decisions", "", "", doc["total"], false);
    const json& ret = doc["retired"];
    if (ret["in"]["packets"].get<int64_t>() || ret["out"]["packets"].get<int64_t>())
        pair("", "retired (rules replaced)", "", "", ret, false);
    return out;
}

}  // namespace secpol::rt
