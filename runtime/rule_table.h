// The part of a loaded policy's meta.json that the read commands (counters,
// show, the Prometheus metrics), `secpol log` and a swap's carry-over need,
// read by SAX into small typed rows instead of a JSON DOM: at 100,000 rules
// the DOM of meta.json alone took ~500 MB and seconds to build. Read-only:
// meta.json is written from the object's meta (write_state), never from
// this view.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "backend/object_meta.h"
#include "result.h"
#include "rule_row.h"
#include "state.h"

namespace secpol::rt {

struct RuleTable {
    nlohmann::json policy = nlohmann::json::object();  // meta["policy"] as is (small)
    nlohmann::json config = nlohmann::json::object();  // meta["config"] as is (small)
    std::vector<RuleRow> rules;  // meta["rules"]; empty when that is missing or not an array

    // Row `id`, or an empty row past the end (a meta shorter than nrules).
    const RuleRow& row(size_t id) const;
};

// How a field of the wrong type reads. Strict (the read commands): an error
// naming the rule. Lenient (carry-over, log): as the DOM's readers took it,
// a rule that is not an object as an empty row and a field of another type
// as missing ("" or 0), so a swap never fails on a meta it could match.
enum class RuleFields { Strict, Lenient };

// Parses the text of a meta.json. Errors: not JSON or not an object ("not
// valid JSON", as load_meta said), or (strict) a rule field of a type the
// renderers cannot show (a rule that is not an object, a label that is a
// number...).
Result<RuleTable> parse_rule_table(std::string_view text, RuleFields fields = RuleFields::Strict);

// st.meta when it is already in memory (an old state.json embedded it),
// st.meta_text when it is, <state dir>/meta.json otherwise.
Result<RuleTable> read_rule_table(const IfaceState& st, RuleFields fields = RuleFields::Strict);

// The rows meta.json gives for an object's rules (what its load writes
// there), without a JSON document in between.
RuleRows rule_rows(const backend::ObjectMeta& meta);

}  // namespace secpol::rt
