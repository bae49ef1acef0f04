#include "show_render.h"

#include <cstdio>

namespace secpol::rt {

using nlohmann::json;

json show_json(const IfaceState& st, const json& counters_doc, const ShowFacts& facts) {
    json doc = counters_doc;
    doc["format"] = "secpol-show-1";
    json pol = st.meta.value("policy", json::object());
    doc["policy_file"] = st.policy_file;
    doc["exemptions_profile"] = pol.value("exemptions_profile", "");
    doc["order"] = pol.value("order", "");
    static const json kNoRules = json::array();
    auto mr = st.meta.find("rules");
    const json& meta_rules = mr != st.meta.end() && mr->is_array() ? *mr : kNoRules;
    for (auto& r : doc["rules"]) {
        size_t id = r.value("id", size_t{0});
        const json m = id < meta_rules.size() ? meta_rules[id] : json::object();
        r["text"] = m.value("text", "");
        r["column"] = m.value("column", 0);
    }
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

std::string num(const json& v) {
    return std::to_string(v.is_number() ? v.get<int64_t>() : 0);
}

// "packets 5 bytes 340"
std::string pb(const json& c) {
    return "packets " + num(c.value("packets", json(0))) + " bytes " + num(c.value("bytes", json(0)));
}

// One direction of a rule: the sum, then each verdict as counters shows them.
std::string rule_dir(const json& c) {
    std::string s = pb(c) + " (";
    const char* verdicts[] = {"permit", "block", "protected"};
    for (int v = 0; v < 3; ++v) {
        const json& x = c.value(verdicts[v], json::object());
        s += std::string(v ? " " : "") + verdicts[v] + " " + num(x.value("packets", json(0))) + "/" +
             num(x.value("bytes", json(0)));
    }
    return s + ")";
}

std::string both(const json& c) {
    return "in " + pb(c.value("in", json::object())) + ", out " + pb(c.value("out", json::object()));
}

}  // namespace

std::string show_text(const json& doc) {
    std::string out;
    auto str = [&](const json& j, const char* k) { return j.value(k, std::string()); };
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

    const json& rules = doc.value("rules", json::array());
    if (!rules.empty()) out += "\n";
    for (const auto& r : rules) {
        std::string text = str(r, "text");
        if (text.empty()) text = str(r, "action_name") + " \"" + str(r, "label") + "\" # (no source text)";
        out += "\t" + text + " # rule " + num(r.value("id", json(0))) + ", line " +
               num(r.value("line", json(0))) + "\n";
        out += "\t\tcounter in " + rule_dir(r.value("in", json::object())) + "\n";
        out += "\t\tcounter out " + rule_dir(r.value("out", json::object())) + "\n";
    }
    out += "\n";
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
    return out;
}

}  // namespace secpol::rt
