// The nftables peer of the real-traffic benchmark: the inbound filters of a
// policy as one nftables chain, in the policy's priority order (first match
// wins, as `accept`/`drop` end the chain), so nft walks the rules one by one
// the way its ruleset is written by hand.
#pragma once

#include <string>

#include "ir/ir.h"

namespace secpol::bench {

// `table inet NAME` with a prerouting filter chain (the earliest hook where
// `fib ... type local` answers `me`). Out-only filters are left out;
// secure filters drop clear traffic unless they accept it in clear.
std::string nft_ruleset(const ir::Policy& policy, const std::string& table);

}  // namespace secpol::bench
