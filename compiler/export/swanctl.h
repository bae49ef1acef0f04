// `secpol export swanctl`: the secure filters of a policy as a strongSwan
// swanctl.conf, so that the policy that filters is also the one that
// negotiates (docs/interop.md, "One policy for both").
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "front/frontend.h"
#include "ir/ir.h"

namespace secpol::exporter {

struct SwanctlOptions {
    // --local: this host's IKE address (local_addrs), and what `me` stands for
    // in the traffic selectors. Without it `me` becomes `dynamic`.
    std::optional<ir::Prefix> local;
    // What cannot be expressed exactly is an error instead of a warning.
    bool strict = false;
    // Relative key and certificate file names of the policy are resolved
    // against this directory (the policy file's).
    std::string base_dir = ".";
};

struct SwanctlExport {
    std::string text;  // the swanctl.conf
    size_t connections = 0, children = 0;
    bool has_secrets = false;  // holds a pre-shared key: write it 0600
};

// One connection per secure action and peer, one child per secure rule.
// Every filter it cannot express exactly gets a warning (an error under
// strict) naming the rule and its file:line; nullopt when there are errors.
std::optional<SwanctlExport> export_swanctl(const ir::Policy& p, const SwanctlOptions& o,
                                            front::Diagnostics& diags);

}  // namespace secpol::exporter
