// Counter arithmetic of a loaded policy. The kernel's per-CPU counters are
// never written while traffic flows (a reset or a swap would race with the
// programs); instead the state keeps signed offsets per slot that are added
// to what the map holds: carried-over counts after a swap, minus the live
// values at a reset.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "result.h"
#include "rule_row.h"
#include "secpol_abi.h"

namespace secpol::rt {

struct Count {
    int64_t packets = 0;
    int64_t bytes = 0;
    Count& operator+=(const Count& o) {
        packets += o.packets;
        bytes += o.bytes;
        return *this;
    }
    bool operator==(const Count&) const = default;
};

using Slots = std::vector<Count>;  // indexed like the counters map

inline size_t special_slot(unsigned kind, unsigned dir) {
    return kind * 2 + dir;
}
inline size_t rule_slot(unsigned rule, unsigned dir, unsigned verdict) {
    return SECPOL_CNT_RULE_BASE + (rule * 2 + dir) * SECPOL_RV_COUNT + verdict;
}
inline size_t slot_count(unsigned nrules) {
    return SECPOL_CNT_SLOTS(nrules);
}

struct Offsets {
    Slots slots;       // added to the live map values (may be negative after --reset)
    Count retired[2];  // per direction: counted by earlier policies on rules that are gone
};

// Sums a per-CPU secpol_counters map (by fd) over CPUs.
Result<Slots> read_counter_map(int map_fd, unsigned nslots);

// live + offsets, slot by slot (live may be shorter: missing slots are 0).
Slots apply_offsets(const Slots& live, const Offsets& off);

// Offsets that make `live` read as zero (`counters --reset`).
Offsets reset_offsets(const Slots& live);

// Which old rule each new rule continues: the same content (the normalised
// filter text without its label) and label first, then the same content,
// then the same non-empty label. Each old rule is taken at most once.
// Returns, per new rule id, the old rule id or -1. Rules are the rows of the
// meta "rules" arrays (rule_table.h); only label and text count.
std::vector<int> match_rules(const RuleRows& old_rules, const RuleRows& new_rules);

// Offsets for a new policy that replaces one whose final totals are old_totals:
// special slots (exemptions, default, malformed, ...) and matched rules carry
// over, the counts of unmatched old rules go to `retired`.
Offsets carry_over(const RuleRows& old_rules, const Slots& old_totals, const Count old_retired[2],
                   const RuleRows& new_rules);

// Sum of the decision slots (everything but the extra ESP/AH counter) per direction.
Count decisions_total(const Slots& totals, unsigned nrules, unsigned dir);

nlohmann::json offsets_to_json(const Offsets& off);
Offsets offsets_from_json(const nlohmann::json& j, unsigned nslots);

std::string normalise_filter_text(const std::string& text);
// What a filter statement matches and does: its normalised text without the label.
std::string filter_content(const std::string& text);

}  // namespace secpol::rt
