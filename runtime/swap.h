// Putting a loaded policy on an interface, replacing one atomically, and
// taking it off. The caller holds the interface lock (lock.h).
//
// Fresh load:  XDP link -> tc filter -> pins -> state; any failure undoes the
//              steps already done, in reverse.
// Swap:        bpf_link_update(new, expect old) -> tc filter replaced in place
//              (same handle/priority) -> pins renamed over -> old counters
//              read once the old programs are quiet -> offsets carried over ->
//              state. Each packet is seen by the old or the new program,
//              never by none. A failure puts the old programs back.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attach.h"
#include "netif.h"
#include "result.h"
#include "rule_row.h"
#include "state.h"

namespace secpol::rt {

// What install needs of a verified policy (kept free of libbpf objects so the
// plumbing can be driven by any programs and maps).
struct PolicyHandles {
    int ingress_fd = -1;
    int egress_fd = -1;
    int counters_fd = -1;
    std::vector<std::pair<std::string, int>> maps;  // every map to pin, by name
    // meta.json as written: the object's meta without the source
    // (ObjectMeta::dump(false)); the policy source (policy.pol); the rows of
    // the meta's rules (rule_rows()), for the carry-over.
    std::string meta_text;
    std::string source;
    RuleRows rules;
    uint32_t nrules = 0;
    std::string label;
    std::string policy_file;
    std::vector<std::string> local_addresses;  // `me` as bound, for status
    std::vector<std::string> local_broadcasts;
    std::vector<std::string> local_spec;  // --local as given (a revert repeats it)
    // Called on a swap after the carry-over, before the state is written:
    // (offsets of the new policy, old rules, new rules). A revert of
    // `load --confirm` gives back counts there (confirm.h apply_restore).
    std::function<void(Offsets&, const RuleRows&, const RuleRows&)> adjust_offsets;
};

// What is on the interface now.
struct Current {
    Interface iface;
    std::optional<IfaceState> state;
    bool ours = false;  // XDP has our pinned link's program
    XdpAttached xdp;
    uint32_t tc_prog_id = 0;  // filter at our handle/priority
};

// Reads the attach points, the pins and the state. Fails (one line, naming
// the interface) when an XDP program or tc filter of someone else is there.
Result<Current> inspect(const Interface& iface);

struct InstallResult {
    bool replaced = false;
    IfaceState state;
    Count carried[2];  // per direction: counts carried over to the new policy
    Count retired[2];  // per direction: counts of rules that are gone
    // A swap: the old policy's rules and final totals (what `load --confirm` keeps to give back).
    RuleRows old_rules;
    Slots old_totals;
};

Result<InstallResult> install(const Current& cur, const PolicyHandles& pol, XdpMode mode);

// Detaches and removes pins and state. Works when the interface is gone too.
// Returns whether anything was there.
Result<bool> uninstall(const std::string& iface);

// What the pinned counters map holds now (no offsets).
Result<Slots> read_live(const IfaceState& st);
// Live counters of a loaded interface with the state's offsets applied.
Result<Slots> read_totals(const IfaceState& st);

}  // namespace secpol::rt
