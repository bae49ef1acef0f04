#include "show_render.h"

#include <cstdio>

#include "counters_render.h"

namespace secpol::rt {

using nlohmann::json;

json show_head(const IfaceState& st, const json& pol, json doc, const ShowFacts& facts) {
    doc["format"] = "secpol-show-1";
    doc["policy_file"] = st.policy_file;
    doc["exemptions_profile"] = pol.value("exemptions_profile", "");
    doc["order"] = pol.value("order", "");
    doc["link"] = facts.link;
    doc["xdp"] = {{"mode", st.xdp_mode},
                  {"prog_id", st.ingress_prog_id},
                  {"prog", facts.ingress_prog},
                  {"link_id", st.xdp_link_id}};
    doc["tc"] = {{"prog_id", st.egress_prog_id},
                 {"prog", facts.egress_prog},
                 {"handle", st.tc_handle},
                 {"priority", st.tc_priority}};
    doc["local_addresses"] = st.local_addresses;
    doc["local_broadcasts"] = st.local_broadcasts;
    return doc;
}

namespace {

int64_t int_of(const json& v) {
    return v.is_number() ? v.get<int64_t>() : 0;
}

std::string num(const json& v) {
    return std::to_string(int_of(v));
}

std::string num(int64_t v) {
    return std::to_string(v);
}

// "packets 5 bytes 340"
std::string pb(const Count& c) {
    return "packets " + num(c.packets) + " bytes " + num(c.bytes);
}

Count count_of(const json& c) {
    return {int_of(c.value("packets", json(0))), int_of(c.value("bytes", json(0)))};
}

std::string pb(const json& c) {
    return pb(count_of(c));
}

// One direction of a rule: the sum, then each verdict as counters shows them.
std::string rule_dir(const RuleCounts& c) {
    std::string s = pb(c.sum) + " (";
    const char* verdicts[] = {"permit", "block", "protected"};
    for (int v = 0; v < 3; ++v)
        s += std::string(v ? " " : "") + verdicts[v] + " " + num(c.v[v].packets) + "/" + num(c.v[v].bytes);
    return s + ")";
}

std::string both(const json& c) {
    return "in " + pb(c.value("in", json::object())) + ", out " + pb(c.value("out", json::object()));
}

std::string str(const json& j, const char* k) {
    return j.value(k, std::string());
}

}  // namespace

void show_text_head(TextOut& o, const json& doc) {
    std::string out;
    out += "interface " + str(doc, "interface") + " {\n";
    out += "\tpolicy \"" + str(doc, "policy") + "\"";
    if (!str(doc, "policy_file").empty()) out += " # file " + str(doc, "policy_file");
    out += ", generation " + num(doc.value("generation", json(0))) + ", loaded " + str(doc, "loaded_at") +
           ", read " + str(doc, "read_at") + "\n";
    const json& x = doc.value("xdp", json::object());
    const json& t = doc.value("tc", json::object());
    out += "\tlink " + (str(doc, "link").empty() ? std::string("?") : str(doc, "link")) + ": xdp " +
           str(x, "mode") + " prog " + num(x.value("prog_id", json(0))) +
           (str(x, "prog").empty() ? "" : " " + str(x, "prog")) + " (link " +
           num(x.value("link_id", json(0))) + "), tc egress prog " + num(t.value("prog_id", json(0))) +
           (str(t, "prog").empty() ? "" : " " + str(t, "prog")) + " (handle " +
           num(t.value("handle", json(0))) + " priority " + num(t.value("priority", json(0))) + ")\n";
    std::string me;
    for (const auto& a : doc.value("local_addresses", json::array())) me += " " + a.get<std::string>();
    for (const auto& a : doc.value("local_broadcasts", json::array()))
        me += " " + a.get<std::string>() + "(broadcast)";
    out += "\tme" + (me.empty() ? std::string(" none (`me` matches nothing)") : me) + "\n";
    if (!str(doc, "exemptions_profile").empty())
        out += "\texemptions " + str(doc, "exemptions_profile") + "\n";
    if (!str(doc, "order").empty()) out += "\torder " + str(doc, "order") + "\n";
    out += "\tdefault " + str(doc.value("default", json::object()), "action") + "\n";
    o << out;
}

void show_text_rule(TextOut& o, int64_t id, const std::string& text, const std::string& action_name,
                    const std::string& label, int64_t line, const RuleCounts& in, const RuleCounts& out) {
    o << '\t';
    if (text.empty())
        o << action_name << " \"" << label << "\" # (no source text)";
    else
        o << text;
    o << " # rule " << num(id) << ", line " << num(line) << "\n";
    o << "\t\tcounter in " << rule_dir(in) << "\n";
    o << "\t\tcounter out " << rule_dir(out) << "\n";
}

void show_text_tail(TextOut& o, const json& doc) {
    std::string out = "\n";
    const json ex = doc.value("exemptions", json::object());  // items() must not outlive it
    for (const auto& [name, c] : ex.items())
        out += "\texemption " + name + " # permit: counter " + both(c) + "\n";
    const json& def = doc.value("default", json::object());
    out += "\tdefault " + str(def, "action") + " # counter " + both(def) + "\n";
    out += "\tfragment # non-first fragments no filter matched, " + str(def, "action") + ": counter " +
           both(doc.value("fragment", json::object())) + "\n";
    out += "\tmalformed # block: counter " + both(doc.value("malformed", json::object())) + "\n";
    out += "\tnon-ip # permit: counter " + both(doc.value("non_ip", json::object())) + "\n";
    out += "\tipsec # ESP/AH, also counted above: counter " + both(doc.value("ipsec", json::object())) + "\n";
    out += "\ttotal # counter " + both(doc.value("total", json::object())) + "\n";
    const json& ret = doc.value("retired", json::object());
    if (ret.value("in", json::object()).value("packets", 0) ||
        ret.value("out", json::object()).value("packets", 0))
        out += "\tretired # rules replaced by a swap: counter " + both(ret) + "\n";
    if (const json& pc = doc.value("pending_confirm", json()); pc.is_object())
        out += "\t# pending confirmation: " +
               (pc["revert_to"].is_null() ? std::string("unloads")
                                          : "puts back \"" + pc["revert_to"].value("policy", "") + "\"") +
               " at " + pc.value("deadline", "") + " unless `secpol confirm --dev " + str(doc, "interface") +
               "`\n";
    out += "}\n";
    o << out;
}

void write_show_json(TextOut& o, const json& head, int indent, const IfaceState& st, const RuleTable& table,
                     const Slots& s) {
    write_with_rules(o, head, indent, st, table, s, true);
}

void write_show_text(TextOut& o, const json& head, const IfaceState& st, const RuleTable& table,
                     const Slots& s) {
    show_text_head(o, head);
    if (st.nrules) o << "\n";
    for (unsigned r = 0; r < st.nrules; ++r) {
        const RuleRow& m = table.row(r);
        show_text_rule(o, r, m.text, m.action_name, m.label, m.line, rule_counts(s, r, SECPOL_DIR_IN),
                       rule_counts(s, r, SECPOL_DIR_OUT));
    }
    show_text_tail(o, head);
}

}  // namespace secpol::rt
