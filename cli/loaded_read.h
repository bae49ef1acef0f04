// What the read commands (`secpol show`, `secpol counters`) read of a loaded
// interface, under the interface's shared lock: a swap in progress finishes
// (and moves its counter offsets) before the read.
#pragma once

#include <string>

#include "result.h"
#include "runtime/rule_table.h"
#include "runtime/state.h"
#include "runtime/swap.h"

namespace secpol::cli {

struct LoadedRead {
    rt::IfaceState st;
    rt::RuleTable table;  // typed, not a DOM: 100,000 rules stay cheap
    rt::Slots totals;     // the live counters with the state's offsets applied
};

// `what` names the command in the privilege error ("secpol show").
// ENOENT: "DEV: no secpol policy loaded".
Result<LoadedRead> read_loaded(const std::string& dev, const std::string& what);

}  // namespace secpol::cli
