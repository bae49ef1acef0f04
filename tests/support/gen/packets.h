// Packets for differential tests and benchmarks: frames aimed at the filters
// of a policy (so every part of the decision program is exercised), and
// adversarial frames (truncations, IHL and length lies, fragments, VLAN
// stacks, extension-header chains, ESP markers, random bytes).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "ir/ir.h"
#include "net/local.h"

namespace secpol::gen {

class PacketGen {
  public:
    PacketGen(const ir::Policy& policy, const net::LocalTable& locals, uint64_t seed);

    // A well-formed frame that matches the given filter (addresses inside its
    // prefixes, ports inside its ranges); may be claimed by an exemption or a
    // higher-priority filter, as real traffic would.
    std::vector<uint8_t> aimed(const ir::Filter& f);
    // aimed() at a random filter, then maybe mutated: what the differential tests throw.
    std::vector<uint8_t> next();
    // Only mutations and raw junk, no policy knowledge.
    std::vector<uint8_t> adversarial();

  private:
    net::Addr pick_addr(const ir::AddrMatch& m, bool v6);
    net::Addr random_addr(bool v6);
    std::vector<uint8_t> mutate(std::vector<uint8_t> frame);
    unsigned below(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

    const ir::Policy& policy_;
    const net::LocalTable& locals_;
    std::mt19937_64 rng_;
};

// A LocalTable matching the generator's address pools (10.0.0.0/16 v4, 2001:db8::/32 v6).
net::LocalTable default_locals();

}  // namespace secpol::gen
