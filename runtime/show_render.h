// `secpol show`: the loaded policy as `nft list ruleset` lists a ruleset —
// each filter's source text with its counters inline, then exemptions,
// default, the special rows, the programs and the bound `me`. The JSON
// ("secpol-show-1", keys only ever added) is the counters document
// (counters_render.h) with the filter text and the load's facts added; the
// text is rendered from it, so both show the same numbers as `counters`.
// As there, the DOM functions are the reference and the writers stream the
// rules from the typed rule table with the same bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "counters.h"
#include "rule_table.h"
#include "state.h"
#include "text_out.h"

namespace secpol::rt {

struct ShowFacts {
    std::string link;                       // "ether" or "l3" ("" when the interface is gone)
    std::string ingress_prog, egress_prog;  // program names as the kernel reports them ("" when unknown)
};

// counters_doc: counters_json(st, ...) of the same state.
nlohmann::json show_json(const IfaceState& st, const nlohmann::json& counters_doc, const ShowFacts& facts);
std::string show_text(const nlohmann::json& doc);

// show_json() without the rules' text: `policy` is meta["policy"], the
// counters document may be a counters_head() (then so is the result).
nlohmann::json show_head(const IfaceState& st, const nlohmann::json& policy, nlohmann::json counters_doc,
                         const ShowFacts& facts);
// The bytes of show_json(...).dump(indent) and show_text(), for a head
// from show_head(counters_head(...)) (plus any keys added to it, such as
// pending_confirm) and the rules of `table`.
void write_show_json(TextOut& out, const nlohmann::json& head, int indent, const IfaceState& st,
                     const RuleTable& table, const Slots& totals);
void write_show_text(TextOut& out, const nlohmann::json& head, const IfaceState& st, const RuleTable& table,
                     const Slots& totals);

}  // namespace secpol::rt
