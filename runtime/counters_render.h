// The two faces of `secpol counters`: a table for people and a JSON document
// for programs (format "secpol-counters-1", documented in docs/runtime.md;
// keys are only ever added, never renamed or removed).
//
// The writers stream the rules from the typed rule table (rule_table.h), so
// a 100,000-rule policy never becomes a DOM of 100,000 objects. The plain
// DOM renderers they replaced (counters_json, counters_table) live on in
// tests/support/render as the reference the tests hold these writers to,
// byte for byte; nothing in the product links them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "counters.h"
#include "rule_table.h"
#include "state.h"
#include "text_out.h"

namespace secpol::rt {

// The verdicts' names in the document, indexed by SECPOL_RV_*.
inline constexpr const char* kVerdictNames[SECPOL_RV_COUNT] = {"permit", "block", "protected"};

// {"packets": n, "bytes": n}: every count in the document.
nlohmann::json count_json(const Count& c);

// One direction of a rule: each verdict (permit, block, protected), and their sum.
struct RuleCounts {
    Count v[SECPOL_RV_COUNT];
    Count sum;
};
RuleCounts rule_counts(const Slots& totals, unsigned rule, unsigned dir);

// The document without its rules ("rules": []): what the writers stream
// the rules into. `policy` is meta["policy"] (or {}).
nlohmann::json counters_head(const IfaceState& st, const nlohmann::json& policy, const Slots& totals,
                             int64_t read_at);

// The document (dump(indent) of it) and the table, for the rules of `table`.
void write_counters_json(TextOut& out, const IfaceState& st, const RuleTable& table, const Slots& totals,
                         int64_t read_at, int indent);
void write_counters_table(TextOut& out, const IfaceState& st, const RuleTable& table, const Slots& totals,
                          int64_t read_at);

// head.dump(indent) with its empty top-level "rules" array filled with the
// rule objects of `table` (rules 0..st.nrules-1); with_text adds "text"
// and "column" (show_render.h).
void write_with_rules(TextOut& out, const nlohmann::json& head, int indent, const IfaceState& st,
                      const RuleTable& table, const Slots& totals, bool with_text);

// The table, rendered from a counters document (head and tail: a
// counters_head() will do) and the rules' rows, so it always shows the
// numbers --json does.
class CountersTable {
  public:
    explicit CountersTable(TextOut& o) : o_(o) {}
    void head(const nlohmann::json& doc, size_t nrules);
    void rule(int64_t id, const std::string& label, const std::string& action_name, int64_t line,
              const RuleCounts& in, const RuleCounts& out);
    void tail(const nlohmann::json& doc);

  private:
    TextOut& o_;
    char line_[512];
    void row(const std::string& id, const std::string& label, const std::string& action,
             const std::string& line, const char* dir, const Count& c, const RuleCounts* verdicts);
    void pair(const std::string& label, const std::string& action, const nlohmann::json& c);
};

}  // namespace secpol::rt
