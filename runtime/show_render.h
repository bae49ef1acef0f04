// `secpol show`: the loaded policy as `nft list ruleset` lists a ruleset —
// each filter's source text with its counters inline, then exemptions,
// default, the special rows, the programs and the bound `me`. The JSON
// ("secpol-show-1", keys only ever added) is the counters document
// (counters_render.h) with the filter text and the load's facts added; the
// text is rendered from it, so both show the same numbers as `counters`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "state.h"

namespace secpol::rt {

struct ShowFacts {
    std::string link;                       // "ether" or "l3" ("" when the interface is gone)
    std::string ingress_prog, egress_prog;  // program names as the kernel reports them ("" when unknown)
};

// counters_doc: counters_json(st, ...) of the same state.
nlohmann::json show_json(const IfaceState& st, const nlohmann::json& counters_doc, const ShowFacts& facts);
std::string show_text(const nlohmann::json& doc);

}  // namespace secpol::rt
