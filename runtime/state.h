// What secpol remembers about a loaded interface, in <rundir>/IFACE/:
//   state.json   this struct (written to a temporary file and renamed, so a
//                reader sees the old or the new state, never half of one)
//   meta.json    the object's meta without the source: rule table (labels,
//                lines, filter text) for counters and carry-over; read only
//                by those, so status stays fast at 100,000 rules, and only
//                as a typed rule table (rule_table.h): counters, show,
//                metrics, log and a swap's carry-over. A swap keeps its
//                bytes (load_meta_text) to put them back on a rollback.
//   policy.pol   a copy of the policy source, for people
// The pins keep the kernel objects alive; this file gives them meaning
// (rule labels, lines, counter offsets).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "counters.h"
#include "result.h"

namespace secpol::rt {

struct IfaceState {
    std::string iface;
    int ifindex = 0;
    uint64_t netns = 0;
    std::string label;              // policy label
    std::string policy_file;        // what was given to `load`
    int64_t loaded_at = 0;          // unix seconds of the first load on this interface
    int64_t replaced_at = 0;        // unix seconds of the last swap (0: never)
    int64_t locals_changed_at = 0;  // unix seconds the bound "me" set was last written with a change
    uint32_t generation = 1;        // 1 + number of swaps
    std::string xdp_mode;           // "native" or "generic"
    uint32_t xdp_link_id = 0;
    uint32_t ingress_prog_id = 0;
    uint32_t egress_prog_id = 0;
    uint32_t counters_map_id = 0;
    uint32_t tc_handle = 0;
    uint32_t tc_priority = 0;
    bool created_clsact = false;                // the clsact qdisc was created by secpol
    std::vector<std::string> local_addresses;   // what `me` was bound to at load
    std::vector<std::string> local_broadcasts;  // directed broadcasts bound with them
    std::vector<std::string> local_spec;        // --local as given to the load (empty: not recorded)
    uint32_t nrules = 0;
    // The meta as a DOM: only a state.json of before meta.json (which
    // embedded it) and tests set it; write_state writes it when meta_text is empty.
    nlohmann::json meta;
    // meta.json's bytes (the object's meta without the source) and the policy
    // source, as write_state writes them: set by a load, or by load_meta_text
    // from the files; empty (has_source false) when not in hand.
    std::string meta_text;
    std::string source;
    bool has_source = false;
    Offsets offsets;

    nlohmann::json to_json() const;
    static Result<IfaceState> from_json(const nlohmann::json& j);
};

std::string state_dir(const std::string& iface);  // <rundir>/IFACE

// nullopt when the interface has no state.
Result<std::optional<IfaceState>> read_state(const std::string& iface);
Status write_state(const IfaceState& st);
// Reads meta.json's bytes into st.meta_text (unless the meta is embedded,
// st.meta) and policy.pol (when there) into st.source, unparsed: a swap's
// rollback writes them back as they were.
Status load_meta_text(IfaceState& st);
Status remove_state(const std::string& iface);
// Interfaces that have a state directory, sorted.
std::vector<std::string> list_state_ifaces();

std::string format_time(int64_t unix_seconds);  // ISO 8601, UTC

}  // namespace secpol::rt
