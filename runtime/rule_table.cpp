#include "rule_table.h"

#include <fstream>

namespace secpol::rt {

namespace {

using nlohmann::json;

enum class Field { Other, Label, Action, ActionName, Text, Line, Column };

Field field_of(const std::string& k) {
    if (k == "label") return Field::Label;
    if (k == "action") return Field::Action;
    if (k == "action_name") return Field::ActionName;
    if (k == "text") return Field::Text;
    if (k == "line") return Field::Line;
    if (k == "column") return Field::Column;
    return Field::Other;
}

// SAX events of meta.json into a RuleTable. Depth counts the open
// containers: the top object's keys are at 1, the rules' keys at 3.
// "policy" and "config" are kept whole as small DOMs (the renderers read
// them as before); of each rule only the fields the renderers show are
// kept. A key given twice keeps its last value, as nlohmann's DOM does.
class Reader {
  public:
    explicit Reader(RuleFields fields) : lenient_(fields == RuleFields::Lenient) {}
    RuleTable table;
    std::string error;

    bool null() { return scalar(json(nullptr)); }
    bool boolean(bool v) { return scalar(json(v)); }
    bool number_integer(json::number_integer_t v) { return scalar(json(v)); }
    bool number_unsigned(json::number_unsigned_t v) { return scalar(json(v)); }
    bool number_float(json::number_float_t v, const json::string_t&) { return scalar(json(v)); }
    bool binary(json::binary_t&) { return scalar(json()); }  // not produced by the JSON parser
    bool string(json::string_t& s) {
        if (capturing()) return dom_value(json(std::move(s)));
        if (in_rule_ && depth_ == 3) {
            switch (field_) {
                case Field::Label:
                    row().label = std::move(s);
                    break;
                case Field::Action:
                    row().action = std::move(s);
                    break;
                case Field::ActionName:
                    row().action_name = std::move(s), has_action_name_ = true;
                    break;
                case Field::Text:
                    row().text = std::move(s);
                    break;
                case Field::Line:
                case Field::Column:
                    return bad("is not a number");
                case Field::Other:
                    break;
            }
            return true;
        }
        return scalar(json(std::move(s)));
    }
    bool start_object(std::size_t) {
        if (depth_ == 0) top_object_ = true;
        if (!open(json::object())) return false;
        if (in_rules_ && depth_ == 2) {
            table.rules.emplace_back();
            in_rule_ = true;
            has_action_name_ = false;
            field_ = Field::Other;
        }
        ++depth_;
        return true;
    }
    bool end_object() {
        --depth_;
        if (capturing()) stack_.pop_back();
        if (in_rule_ && depth_ == 2) {
            if (!has_action_name_) row().action_name = row().action;
            in_rule_ = false;
        }
        return true;
    }
    bool start_array(std::size_t) {
        if (depth_ == 0) return fail_top();
        if (!open(json::array())) return false;
        if (!capturing() && depth_ == 1 && top_key_ == "rules") {
            table.rules.clear();
            in_rules_ = true;
        } else if (in_rules_ && depth_ == 2) {
            if (!not_object()) return false;
        }
        ++depth_;
        return true;
    }
    bool end_array() {
        --depth_;
        if (capturing()) stack_.pop_back();
        if (in_rules_ && depth_ == 1) in_rules_ = false;
        return true;
    }
    bool key(json::string_t& k) {
        if (capturing())
            key_ = k;
        else if (depth_ == 1)
            top_key_ = k;
        else if (in_rule_ && depth_ == 3)
            field_ = field_of(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        error = "not valid JSON";
        return false;
    }
    bool complete() const { return top_object_ && error.empty(); }

  private:
    const bool lenient_;
    int depth_ = 0;
    bool top_object_ = false;
    std::string top_key_;
    // The DOM being built for "policy": its open containers, innermost last.
    std::vector<json*> stack_;
    std::string key_;
    bool in_rules_ = false, in_rule_ = false, has_action_name_ = false;
    Field field_ = Field::Other;

    bool capturing() const { return !stack_.empty(); }
    RuleRow& row() { return table.rules.back(); }

    bool fail_top() {
        error = "not valid JSON";
        return false;
    }
    bool bad(const char* what) {
        if (lenient_) return true;  // the field reads as missing
        static const char* const names[] = {"", "label", "action", "action_name", "text", "line", "column"};
        error = "rule " + std::to_string(table.rules.size() - 1) + ": \"" + names[int(field_)] + "\" " + what;
        return false;
    }
    bool not_object() {
        if (lenient_) {  // an empty row, as find() on a non-object reads it
            table.rules.emplace_back();
            return true;
        }
        error = "rule " + std::to_string(table.rules.size()) + " is not an object";
        return false;
    }

    // Where a value goes inside the captured DOM: appended to an array or
    // set under the last key of an object.
    json* dom_put(json v) {
        json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        json& slot = parent[key_];
        slot = std::move(v);
        return &slot;
    }
    bool dom_value(json v) {
        dom_put(std::move(v));
        return true;
    }
    // A container opens: inside the DOM, or as the value of "policy" (which
    // starts the DOM), or elsewhere (only nesting is tracked).
    bool open(json empty) {
        if (capturing()) {
            stack_.push_back(dom_put(std::move(empty)));
        } else if (depth_ == 1 && (top_key_ == "policy" || top_key_ == "config")) {
            json& slot = top_key_ == "policy" ? table.policy : table.config;
            slot = std::move(empty);
            stack_.push_back(&slot);
        } else if (depth_ == 1 && top_key_ == "rules" && empty.is_object()) {
            table.rules.clear();  // not an array: no rules, as meta.find("rules") read it
        } else if (in_rule_ && depth_ == 3 && field_ != Field::Other) {
            return bad("is not a string or number");
        }
        return true;
    }
    bool scalar(json v) {
        if (depth_ == 0) return fail_top();
        if (capturing()) return dom_value(std::move(v));
        if (depth_ == 1) {
            if (top_key_ == "policy") table.policy = std::move(v);
            if (top_key_ == "config") table.config = std::move(v);
            if (top_key_ == "rules") table.rules.clear();
            return true;
        }
        if (in_rules_ && depth_ == 2) return not_object();
        if (in_rule_ && depth_ == 3) {
            // What json::value(key, 0) converts to an int: numbers and booleans.
            int n = 0;
            if (v.is_number_unsigned())
                n = static_cast<int>(v.get<json::number_unsigned_t>());
            else if (v.is_number_integer())
                n = static_cast<int>(v.get<json::number_integer_t>());
            else if (v.is_number_float())
                n = static_cast<int>(v.get<json::number_float_t>());
            else if (v.is_boolean())
                n = v.get<bool>() ? 1 : 0;
            switch (field_) {
                case Field::Line:
                case Field::Column:
                    if (!v.is_number() && !v.is_boolean()) return bad("is not a number");
                    (field_ == Field::Line ? row().line : row().column) = n;
                    break;
                case Field::Other:
                    break;
                default:
                    return bad("is not a string");
            }
        }
        return true;
    }
};

}  // namespace

RuleRows rule_rows(const backend::ObjectMeta& meta) {
    RuleRows rows;
    rows.reserve(meta.rules.size());
    for (const auto& r : meta.rules)
        rows.push_back(
            {r.label, r.action, r.action_name, r.text, static_cast<int>(r.line), static_cast<int>(r.column)});
    return rows;
}

const RuleRow& RuleTable::row(size_t id) const {
    static const RuleRow kEmpty;
    return id < rules.size() ? rules[id] : kEmpty;
}

Result<RuleTable> parse_rule_table(std::string_view text, RuleFields fields) {
    Reader r(fields);
    bool ok = json::sax_parse(text.begin(), text.end(), &r);
    if (!ok || !r.complete()) return Error::msg(r.error.empty() ? "not valid JSON" : r.error);
    return std::move(r.table);
}

Result<RuleTable> read_rule_table(const IfaceState& st, RuleFields fields) {
    std::string text;
    std::string path = state_dir(st.iface) + "/meta.json";
    if (!st.meta.empty()) {
        text = st.meta.dump();
    } else if (!st.meta_text.empty()) {
        return parse_rule_table(st.meta_text, fields);
    } else {
        // One read of the whole file: a character at a time was a tenth of
        // the command's time at 100,000 rules.
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        if (!in) return Error::sys(errno, path);
        const std::streamoff size = in.tellg();
        if (size < 0) return Error::sys(errno ? errno : EIO, path);
        text.resize(static_cast<size_t>(size));
        in.seekg(0);
        if (!in.read(text.data(), size)) return Error::sys(errno ? errno : EIO, "read " + path);
    }
    auto t = parse_rule_table(text, fields);
    if (!t) return Error::msg(path + ": " + t.error().message);
    return t;
}

}  // namespace secpol::rt
