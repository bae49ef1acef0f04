// ObjectMeta <-> the JSON of SECPOL_SEC_META. The layout keeps the keys of
// format 1 ("policy", "rules" with label/line, "source"), which the runtime
// state and the counters report read, and adds "format_version".
#include "backend/object_meta.h"

#include <array>

#include "json_string.h"

namespace secpol::backend {

using nlohmann::json;

const char* abi_action_name(uint32_t a) {
    switch (a) {
        case SECPOL_ACT_PERMIT:
            return "permit";
        case SECPOL_ACT_BLOCK:
            return "block";
        case SECPOL_ACT_SECURE:
            return "secure";
    }
    return "?";
}

ObjectMeta ObjectMeta::bare(const secpol_config& cfg, const std::vector<secpol_rule>& rules) {
    ObjectMeta m;
    m.config = cfg;
    for (size_t i = 0; i < rules.size(); ++i) {
        RuleMeta r;
        r.id = static_cast<uint32_t>(i);
        r.action = abi_action_name(rules[i].action);
        r.abi = rules[i];
        m.rules.push_back(std::move(r));
    }
    return m;
}

json LogMeta::to_json() const {
    return {{"rate", rate}, {"period", period}, {"burst", burst}};
}

LogMeta LogMeta::from_json(const json& j) {
    LogMeta l;
    l.rate = j.value("rate", 0u);
    l.period = j.value("period", 1u);
    l.burst = j.value("burst", 0u);
    return l;
}

std::string LogMeta::str() const {
    return std::to_string(rate) + (period == 60 ? "/min" : "/s") + " burst " + std::to_string(burst);
}

namespace {

secpol_log_bucket bucket_of(const std::optional<LogMeta>& l) {
    secpol_log_bucket b{};
    if (!l || l->rate == 0 || l->burst == 0) return b;
    b.interval_ns = l->interval_ns();
    b.burst_ns = b.interval_ns * l->burst;
    b.tokens_ns = b.burst_ns;  // a new rule starts with a full bucket
    return b;
}

json log_json(const std::optional<LogMeta>& l) {
    return l ? l->to_json() : json(nullptr);
}

std::optional<LogMeta> log_from(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return std::nullopt;
    return LogMeta::from_json(*it);
}

}  // namespace

std::vector<secpol_log_bucket> ObjectMeta::log_buckets() const {
    std::vector<secpol_log_bucket> out;
    out.reserve(rules.size() + 1);
    for (const auto& r : rules) out.push_back(bucket_of(r.log));
    out.push_back(bucket_of(policy.default_log));
    return out;
}

std::vector<secpol_rule> ObjectMeta::abi_rules() const {
    std::vector<secpol_rule> out;
    out.reserve(rules.size());
    for (const auto& r : rules) out.push_back(r.abi);
    return out;
}

json ObjectMeta::to_json() const {
    json jr = json::array();
    for (const auto& r : rules)
        jr.push_back({{"id", r.id},
                      {"label", r.label},
                      {"line", r.line},
                      {"column", r.column},
                      {"action", r.action},
                      {"action_name", r.action_name},
                      {"accept_clear", r.accept_clear},
                      {"fallback_clear", r.fallback_clear},
                      {"dir", r.dir},
                      {"mirrored", r.mirrored},
                      {"tunnel", r.tunnel},
                      {"text", r.text},
                      {"abi_action", r.abi.action},
                      {"abi_flags", r.abi.flags}});
    // "log" only where there is one: meta.json stays the size it was for
    // the 100,000-rule policies that have none.
    for (size_t i = 0; i < rules.size(); ++i)
        if (rules[i].log) jr[i]["log"] = rules[i].log->to_json();
    json j = head();
    j["rules"] = std::move(jr);
    return j;
}

json ObjectMeta::head() const {
    return {{"format_version", format},
            {"policy",
             {{"label", policy.label},
              {"file", policy.file},
              {"exemptions", policy.exemptions},
              {"exemptions_profile", policy.exemptions_profile},
              {"order", policy.order},
              {"default", policy.default_action},
              {"default_log", log_json(policy.default_log)},
              {"default_line", policy.default_line}}},
            {"config",
             {{"exemptions", config.exemptions},
              {"default_action", config.default_action},
              {"flags", config.flags},
              {"root_in", config.root_in},
              {"root_out", config.root_out},
              {"nrules", config.nrules}}},
            {"filters", filters},
            {"tree", {{"nodes", tree_nodes}, {"max_steps", tree_max_steps}}},
            {"walker", walker},
            {"source", source}};
}

namespace {

// A json value per string for every rule was 7 % of a 10,000-filter
// compile, on the compile's single thread (json_string.h).
// A string that needs escapes somewhere (the policy's source: a newline and
// quotes on every line; many filter texts: a quoted label) goes out run by
// run: plain runs as they are, an ASCII character that needs an escape as
// nlohmann escapes it (asked once per character, then kept), a run of bytes
// >= 0x80 through nlohmann, which checks its UTF-8. JSON escapes character by
// character and a UTF-8 sequence (bytes >= 0x80 only) never spans two runs,
// so the text is what nlohmann writes for the whole string, and an invalid
// sequence is refused as it is there. One nlohmann value per string was
// 4 % of a 10,000-filter compile, on its single thread.
void append_json_string(std::string& out, const std::string& s) {
    static const std::array<std::string, 0x80> ascii = [] {
        std::array<std::string, 0x80> a;
        for (unsigned c = 0; c < 0x80; ++c) {
            const std::string e = json_escaped(std::string(1, static_cast<char>(c)));
            a[c] = e.substr(1, e.size() - 2);
        }
        return a;
    }();
    auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
    out += '"';
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t j = i + 1;
        if (plain(c)) {
            while (j < s.size() && plain(static_cast<unsigned char>(s[j]))) ++j;
            out.append(s, i, j - i);
        } else if (c < 0x80) {
            out += ascii[c];
        } else {
            while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x80) ++j;
            const std::string e = json_escaped(std::string_view(s).substr(i, j - i));
            out.append(e, 1, e.size() - 2);  // without its quotes
        }
        i = j;
    }
    out += '"';
}

}  // namespace

std::string ObjectMeta::dump(bool with_source) const {
    json h = head();
    h["rules"] = json::array();
    h["source"] = "";
    std::string doc = h.dump();
    // Quotes inside JSON strings are escaped, so the first `"rules":[]` is the
    // key, and keys are sorted, so the first `"source":""` after it is too.
    const std::string slot = "\"rules\":[]", source_slot = "\"source\":\"\"";
    const size_t at = doc.find(slot);
    const size_t source_at = doc.find(source_slot, at);
    std::string out;
    out.reserve(doc.size() + rules.size() * 256 + source.size() + source.size() / 16);
    out.append(doc, 0, at + slot.size() - 1);
    auto str = [&](const char* key, const std::string& v) {
        out += ",\"";
        out += key;
        out += "\":";
        append_json_string(out, v);
    };
    auto num = [&](const char* key, uint64_t v) {
        out += ",\"";
        out += key;
        out += "\":";
        out += std::to_string(v);
    };
    auto flag = [&](const char* key, bool v) {
        out += ",\"";
        out += key;
        out += v ? "\":true" : "\":false";
    };
    for (size_t i = 0; i < rules.size(); ++i) {
        const RuleMeta& r = rules[i];
        if (!with_source) {
            // meta.json: keys sorted, as the DOM's dump writes them, so the
            // file is byte for byte what loads wrote from a DOM before.
            out += i ? ",{\"abi_action\":" : "{\"abi_action\":";
            out += std::to_string(r.abi.action);
            num("abi_flags", r.abi.flags);
            flag("accept_clear", r.accept_clear);
            str("action", r.action);
            str("action_name", r.action_name);
            num("column", r.column);
            str("dir", r.dir);
            flag("fallback_clear", r.fallback_clear);
            num("id", r.id);
            str("label", r.label);
            num("line", r.line);
            if (r.log) {
                out += ",\"log\":";
                out += r.log->to_json().dump();
            }
            flag("mirrored", r.mirrored);
            str("text", r.text);
            flag("tunnel", r.tunnel);
            out += '}';
            continue;
        }
        out += i ? ",{\"id\":" : "{\"id\":";
        out += std::to_string(r.id);
        str("label", r.label);
        num("line", r.line);
        num("column", r.column);
        str("action", r.action);
        str("action_name", r.action_name);
        flag("accept_clear", r.accept_clear);
        flag("fallback_clear", r.fallback_clear);
        str("dir", r.dir);
        flag("mirrored", r.mirrored);
        flag("tunnel", r.tunnel);
        str("text", r.text);
        num("abi_action", r.abi.action);
        num("abi_flags", r.abi.flags);
        if (r.log) {
            out += ",\"log\":";
            out += r.log->to_json().dump();
        }
        out += '}';
    }
    if (with_source) {
        out.append(doc, at + slot.size() - 1, source_at + source_slot.size() - 2 - (at + slot.size() - 1));
        append_json_string(out, source);
    } else {
        // "rules" comes before it, so a comma precedes "source": both go.
        out.append(doc, at + slot.size() - 1, source_at - 1 - (at + slot.size() - 1));
    }
    out.append(doc, source_at + source_slot.size(), std::string::npos);
    return out;
}

namespace {

// Format 1 objects carried only the string "secpol-object-1".
Result<uint32_t> format_of(const json& j) {
    auto v = j.find("format_version");
    if (v != j.end()) {
        if (!v->is_number_unsigned()) return Error::msg("\"format_version\" is not a number");
        return v->get<uint32_t>();
    }
    auto f = j.find("format");
    if (f != j.end() && *f == "secpol-object-1") return 1u;
    return Error::msg("no \"format_version\": not written by secpol");
}

}  // namespace

Result<ObjectMeta> ObjectMeta::from_json(const json& j) {
    if (!j.is_object()) return Error::msg("not a JSON object");
    auto fmt = format_of(j);
    if (!fmt) return fmt.error();
    if (*fmt != kObjectFormat)
        return Error::msg("object format version " + std::to_string(*fmt) +
                          ", but this secpol reads version " + std::to_string(kObjectFormat) +
                          ": compile the policy again with this secpol");
    ObjectMeta m;
    m.format = *fmt;
    try {
        const auto& c = j.at("config");
        m.config.exemptions = c.at("exemptions").get<uint32_t>();
        m.config.default_action = c.at("default_action").get<uint32_t>();
        m.config.flags = c.at("flags").get<uint32_t>();
        m.config.root_in = c.at("root_in").get<uint32_t>();
        m.config.root_out = c.at("root_out").get<uint32_t>();
        m.config.nrules = c.at("nrules").get<uint32_t>();
        const auto& p = j.at("policy");
        m.policy.label = p.value("label", "");
        m.policy.file = p.value("file", "");
        m.policy.exemptions = p.value("exemptions", std::vector<std::string>{});
        m.policy.exemptions_profile = p.value("exemptions_profile", "");
        m.policy.order = p.value("order", "");
        m.policy.default_action = p.value("default", "");
        m.policy.default_log = log_from(p, "default_log");
        m.policy.default_line = p.value("default_line", 0u);
        const auto& jr = j.at("rules");
        if (!jr.is_array() || jr.size() != m.config.nrules)
            return Error::msg("\"rules\" has " + std::to_string(jr.size()) + " entries, config.nrules is " +
                              std::to_string(m.config.nrules));
        for (const auto& e : jr) {
            RuleMeta r;
            r.id = e.at("id").get<uint32_t>();
            if (r.id != m.rules.size())
                return Error::msg("\"rules\" out of id order at " + std::to_string(r.id));
            r.label = e.value("label", "");
            r.line = e.value("line", 0u);
            r.column = e.value("column", 0u);
            r.action = e.value("action", "");
            r.action_name = e.value("action_name", "");
            r.accept_clear = e.value("accept_clear", false);
            r.fallback_clear = e.value("fallback_clear", false);
            r.dir = e.value("dir", "");
            r.mirrored = e.value("mirrored", false);
            r.tunnel = e.value("tunnel", false);
            r.text = e.value("text", "");
            r.log = log_from(e, "log");
            r.abi.action = e.at("abi_action").get<uint32_t>();
            r.abi.flags = e.at("abi_flags").get<uint32_t>();
            m.rules.push_back(std::move(r));
        }
        m.filters = j.value("filters", uint64_t{0});
        if (auto t = j.find("tree"); t != j.end() && t->is_object()) {
            m.tree_nodes = t->value("nodes", uint64_t{0});
            m.tree_max_steps = t->value("max_steps", 0u);
        }
        if (auto w = j.find("walker"); w != j.end()) m.walker = *w;
        m.source = j.value("source", "");
    } catch (const json::exception& e) {
        return Error::msg(e.what());
    }
    return m;
}

}  // namespace secpol::backend
