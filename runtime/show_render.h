// `secpol show`: the loaded policy as `nft list ruleset` lists a ruleset —
// each filter's source text with its counters inline, then exemptions,
// default, the special rows, the programs and the bound `me`. The JSON
// ("secpol-show-1", keys only ever added) is the counters document
// (counters_render.h) with the filter text and the load's facts added; the
// text is rendered from it, so both show the same numbers as `counters`.
// As there, the writers stream the rules from the typed rule table; the DOM
// renderers they replaced (show_json, show_text) are the tests' reference,
// in tests/support/render.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "counters.h"
#include "counters_render.h"
#include "rule_table.h"
#include "state.h"
#include "text_out.h"

namespace secpol::rt {

struct ShowFacts {
    std::string link;                       // "ether" or "l3" ("" when the interface is gone)
    std::string ingress_prog, egress_prog;  // program names as the kernel reports them ("" when unknown)
};

// The show document without the rules' text: `policy` is meta["policy"],
// the counters document may be a counters_head() (then so is the result).
nlohmann::json show_head(const IfaceState& st, const nlohmann::json& policy, nlohmann::json counters_doc,
                         const ShowFacts& facts);
// The document (dump(indent) of it) and the text, for a head from
// show_head(counters_head(...)) (plus any keys added to it, such as
// pending_confirm) and the rules of `table`.
void write_show_json(TextOut& out, const nlohmann::json& head, int indent, const IfaceState& st,
                     const RuleTable& table, const Slots& totals);
void write_show_text(TextOut& out, const nlohmann::json& head, const IfaceState& st, const RuleTable& table,
                     const Slots& totals);

// The text in its three parts, from a show document (head and tail: a
// show_head() will do): everything before the filters (interface, policy,
// programs, me, default), one filter with its counters, everything after
// (exemptions, the special rows, a pending confirmation).
void show_text_head(TextOut& o, const nlohmann::json& doc);
void show_text_rule(TextOut& o, int64_t id, const std::string& text, const std::string& action_name,
                    const std::string& label, int64_t line, const RuleCounts& in, const RuleCounts& out);
void show_text_tail(TextOut& o, const nlohmann::json& doc);

}  // namespace secpol::rt
