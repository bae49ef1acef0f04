// The two faces of `secpol counters`: a table for people and a JSON document
// for programs (format "secpol-counters-1", documented in docs/runtime.md;
// keys are only ever added, never renamed or removed).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "counters.h"
#include "state.h"

namespace secpol::rt {

nlohmann::json counters_json(const IfaceState& st, const Slots& totals, int64_t read_at);
// Rendered from the JSON document, so both always show the same numbers.
std::string counters_table(const nlohmann::json& doc);

}  // namespace secpol::rt
