#include "counters_render.h"

#include <cstdio>
#include <set>

#include "ir/ir.h"

namespace secpol::rt {

namespace {

using nlohmann::json;

Count at(const Slots& s, size_t i) {
    return i < s.size() ? s[i] : Count{};
}

json special(const Slots& s, unsigned kind) {
    return {{"in", count_json(at(s, special_slot(kind, SECPOL_DIR_IN)))},
            {"out", count_json(at(s, special_slot(kind, SECPOL_DIR_OUT)))}};
}

std::string human(int64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

// nlohmann's dump(indent) layout: a newline and indent*depth spaces before
// each member and before the closing bracket; compact (-1): none of it.
struct Layout {
    TextOut& o;
    int indent;
    void nl(int depth) const {
        if (indent < 0) return;
        o << '\n';
        o.spaces(indent * depth);
    }
    void key(int depth, bool first, std::string_view k) const {
        if (!first) o << ',';
        nl(depth);
        o << '"' << k << (indent < 0 ? "\":" : "\": ");
    }
    void close(int depth, char c) const {
        nl(depth);
        o << c;
    }
    void count(int depth, const Count& c) const {  // {"bytes","packets"} at depth
        o << '{';
        key(depth + 1, true, "bytes");
        o.num(c.bytes);
        key(depth + 1, false, "packets");
        o.num(c.packets);
        close(depth, '}');
    }
    // Keys sorted as nlohmann's object (a std::map) orders them.
    void dir(int depth, const RuleCounts& d) const {
        o << '{';
        key(depth + 1, true, "block");
        count(depth + 1, d.v[SECPOL_RV_BLOCK]);
        key(depth + 1, false, "bytes");
        o.num(d.sum.bytes);
        key(depth + 1, false, "packets");
        o.num(d.sum.packets);
        key(depth + 1, false, "permit");
        count(depth + 1, d.v[SECPOL_RV_PERMIT]);
        key(depth + 1, false, "protected");
        count(depth + 1, d.v[SECPOL_RV_PROTECTED]);
        close(depth, '}');
    }
};

Count count_of(const json& c) {
    return {c["packets"].get<int64_t>(), c["bytes"].get<int64_t>()};
}

}  // namespace

json count_json(const Count& c) {
    json j = json::object();
    j["packets"] = c.packets;
    j["bytes"] = c.bytes;
    return j;
}

void CountersTable::head(const json& doc, size_t nrules) {
    std::snprintf(line_, sizeof line_, "%s: policy \"%s\", %zu rules, loaded %s (generation %d)\n\n",
                  doc["interface"].get<std::string>().c_str(), doc["policy"].get<std::string>().c_str(),
                  nrules, doc["loaded_at"].get<std::string>().c_str(), doc["generation"].get<int>());
    o_ << line_;
    std::snprintf(line_, sizeof line_, "%4s  %-28s %-9s %5s  %-3s %10s %12s %10s %10s %10s\n", "ID", "LABEL",
                  "ACTION", "LINE", "DIR", "PACKETS", "BYTES", "PERMIT", "BLOCK", "PROTECTED");
    o_ << line_;
}

void CountersTable::rule(int64_t id, const std::string& label, const std::string& action_name, int64_t lineno,
                         const RuleCounts& in, const RuleCounts& out) {
    row(std::to_string(id), label.empty() ? "-" : label, action_name, std::to_string(lineno), "in", in.sum,
        &in);
    row("", "", "", "", "out", out.sum, &out);
}

void CountersTable::tail(const json& doc) {
    o_ << "\n";
    for (const auto& [name, c] : doc["exemptions"].items()) pair("exemption " + name, "permit", c);
    pair("default", doc["default"].value("action", ""), doc["default"]);
    pair("fragment (non-first)", doc["default"].value("action", ""), doc["fragment"]);
    pair("malformed", "block", doc["malformed"]);
    pair("non-IP", "permit", doc["non_ip"]);
    pair("ESP/AH (ipsec, also above)", "", doc["ipsec"]);
    pair("total decisions", "", doc["total"]);
    const json& ret = doc["retired"];
    if (ret["in"]["packets"].get<int64_t>() || ret["out"]["packets"].get<int64_t>())
        pair("retired (rules replaced)", "", ret);
}

void CountersTable::row(const std::string& id, const std::string& label, const std::string& action,
                        const std::string& lineno, const char* dir, const Count& c,
                        const RuleCounts* verdicts) {
    std::string p = verdicts ? human(verdicts->v[SECPOL_RV_PERMIT].packets) : "";
    std::string b = verdicts ? human(verdicts->v[SECPOL_RV_BLOCK].packets) : "";
    std::string x = verdicts ? human(verdicts->v[SECPOL_RV_PROTECTED].packets) : "";
    std::string l = label.size() > 28 ? label.substr(0, 27) + "~" : label;
    std::snprintf(line_, sizeof line_, "%4s  %-28s %-9s %5s  %-3s %10s %12s %10s %10s %10s\n", id.c_str(),
                  l.c_str(), action.c_str(), lineno.c_str(), dir, human(c.packets).c_str(),
                  human(c.bytes).c_str(), p.c_str(), b.c_str(), x.c_str());
    o_ << line_;
}

void CountersTable::pair(const std::string& label, const std::string& action, const json& c) {
    row("", label, action, "", "in", count_of(c["in"]), nullptr);
    row("", "", "", "", "out", count_of(c["out"]), nullptr);
}

RuleCounts rule_counts(const Slots& s, unsigned rule, unsigned dir) {
    RuleCounts d;
    for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) {
        d.v[v] = at(s, rule_slot(rule, dir, v));
        d.sum += d.v[v];
    }
    return d;
}

json counters_head(const IfaceState& st, const json& pol, const Slots& s, int64_t read_at) {
    // Every exemption the policy enables, and any other that counted something.
    std::set<unsigned> ex;
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
                {"rules", json::array()},
                {"exemptions", exemptions},
                {"default", def},
                {"malformed", special(s, SECPOL_CNT_MALFORMED)},
                {"fragment", special(s, SECPOL_CNT_FRAGMENT)},
                {"non_ip", special(s, SECPOL_CNT_NONIP)},
                {"ipsec", special(s, SECPOL_CNT_IPSEC)}};
    doc["total"] = {{"in", count_json(decisions_total(s, st.nrules, SECPOL_DIR_IN))},
                    {"out", count_json(decisions_total(s, st.nrules, SECPOL_DIR_OUT))}};
    doc["retired"] = {{"in", count_json(st.offsets.retired[0])}, {"out", count_json(st.offsets.retired[1])}};
    return doc;
}

void write_with_rules(TextOut& o, const json& head, int indent, const IfaceState& st, const RuleTable& table,
                      const Slots& s, bool with_text) {
    const std::string doc = head.dump(indent);
    if (st.nrules == 0) {
        o << doc;
        return;
    }
    // Strings are escaped (no raw quote, no raw newline in them), so the
    // first match is the top-level key, at depth 1.
    const std::string slot = indent < 0 ? "\"rules\":[]" : "\n" + std::string(indent, ' ') + "\"rules\": []";
    const size_t at = doc.find(slot);
    o << std::string_view(doc).substr(0, at + slot.size() - 1);  // up to and with '['
    Layout l{o, indent};
    for (unsigned r = 0; r < st.nrules; ++r) {
        const RuleRow& m = table.row(r);
        if (r) o << ',';
        l.nl(2);
        o << '{';
        l.key(3, true, "action");
        json_string(o, m.action);
        l.key(3, false, "action_name");
        json_string(o, m.action_name);
        if (with_text) {
            l.key(3, false, "column");
            o.num(m.column);
        }
        l.key(3, false, "id");
        o.num(r);
        l.key(3, false, "in");
        l.dir(3, rule_counts(s, r, SECPOL_DIR_IN));
        l.key(3, false, "label");
        json_string(o, m.label);
        l.key(3, false, "line");
        o.num(m.line);
        l.key(3, false, "out");
        l.dir(3, rule_counts(s, r, SECPOL_DIR_OUT));
        if (with_text) {
            l.key(3, false, "text");
            json_string(o, m.text);
        }
        l.close(2, '}');
    }
    l.close(1, ']');
    o << std::string_view(doc).substr(at + slot.size());
}

void write_counters_json(TextOut& o, const IfaceState& st, const RuleTable& table, const Slots& s,
                         int64_t read_at, int indent) {
    write_with_rules(o, counters_head(st, table.policy, s, read_at), indent, st, table, s, false);
}

void write_counters_table(TextOut& o, const IfaceState& st, const RuleTable& table, const Slots& s,
                          int64_t read_at) {
    json head = counters_head(st, table.policy, s, read_at);
    CountersTable t(o);
    t.head(head, st.nrules);
    for (unsigned r = 0; r < st.nrules; ++r) {
        const RuleRow& m = table.row(r);
        t.rule(r, m.label, m.action_name, m.line, rule_counts(s, r, SECPOL_DIR_IN),
               rule_counts(s, r, SECPOL_DIR_OUT));
    }
    t.tail(head);
}

}  // namespace secpol::rt
