// The two faces of `secpol counters`: a table for people and a JSON document
// for programs (format "secpol-counters-1", documented in docs/runtime.md;
// keys are only ever added, never renamed or removed).
//
// Two paths give the same bytes: the DOM one (counters_json, from st.meta)
// is the plain reference, which only the tests use now (left here, not yet
// moved to tests/support: it shares the table code below); the writers
// stream the rules from the typed rule table (rule_table.h), so a
// 100,000-rule policy never becomes a DOM of 100,000 objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "counters.h"
#include "rule_table.h"
#include "state.h"
#include "text_out.h"

namespace secpol::rt {

// One direction of a rule: each verdict (permit, block, protected), and their sum.
struct RuleCounts {
    Count v[SECPOL_RV_COUNT];
    Count sum;
};
RuleCounts rule_counts(const Slots& totals, unsigned rule, unsigned dir);

nlohmann::json counters_json(const IfaceState& st, const Slots& totals, int64_t read_at);
// Rendered from the JSON document, so both always show the same numbers.
std::string counters_table(const nlohmann::json& doc);

// The document without its rules ("rules": []): what the writers stream
// the rules into. `policy` is meta["policy"] (or {}).
nlohmann::json counters_head(const IfaceState& st, const nlohmann::json& policy, const Slots& totals,
                             int64_t read_at);

// The bytes of counters_json(st, totals, read_at).dump(indent), and of
// counters_table() of it, for the rules of `table`.
void write_counters_json(TextOut& out, const IfaceState& st, const RuleTable& table, const Slots& totals,
                         int64_t read_at, int indent);
void write_counters_table(TextOut& out, const IfaceState& st, const RuleTable& table, const Slots& totals,
                          int64_t read_at);

// head.dump(indent) with its empty top-level "rules" array filled with the
// rule objects of `table` (rules 0..st.nrules-1); with_text adds "text"
// and "column" as show_json() does.
void write_with_rules(TextOut& out, const nlohmann::json& head, int indent, const IfaceState& st,
                      const RuleTable& table, const Slots& totals, bool with_text);

}  // namespace secpol::rt
