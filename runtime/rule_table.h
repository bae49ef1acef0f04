// The part of a loaded policy's meta.json that the read commands (counters,
// show, the Prometheus metrics) need, read into small typed rows instead of
// a JSON DOM: at 100,000 rules the DOM of meta.json alone took ~500 MB and
// seconds to build. Read-only: the full meta (st.meta, load_meta) is still
// what swaps, log buckets and write_state use, and this view is never
// written back.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "state.h"

namespace secpol::rt {

// One rule as the renderers saw it through meta.value(key, default): a
// missing key reads as "" or 0, a missing action_name as the action.
struct RuleRow {
    std::string label, action, action_name, text;
    int line = 0, column = 0;
};

struct RuleTable {
    nlohmann::json policy = nlohmann::json::object();  // meta["policy"] as is (small)
    std::vector<RuleRow> rules;  // meta["rules"]; empty when that is missing or not an array

    // Row `id`, or an empty row past the end (a meta shorter than nrules).
    const RuleRow& row(size_t id) const;
};

// Parses the text of a meta.json. Errors: not JSON or not an object ("not
// valid JSON", as load_meta says), or a rule field of a type the renderers
// cannot show (a rule that is not an object, a label that is a number...).
Result<RuleTable> parse_rule_table(std::string_view text);

// st.meta when it is already in memory (an old state.json embedded it),
// <state dir>/meta.json otherwise.
Result<RuleTable> read_rule_table(const IfaceState& st);

}  // namespace secpol::rt
