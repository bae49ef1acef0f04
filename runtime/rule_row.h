// One rule of a loaded policy as its meta.json describes it, typed: what the
// read commands show and what a swap's carry-over matches rules by (label
// and filter text). Kept apart from rule_table.h so that counters.h can take
// rows without the reader.
#pragma once

#include <string>
#include <vector>

namespace secpol::rt {

// A missing key reads as "" or 0 (meta.value(key, default)), a missing
// action_name as the action.
struct RuleRow {
    std::string label, action, action_name, text;
    int line = 0, column = 0;
};

using RuleRows = std::vector<RuleRow>;

}  // namespace secpol::rt
