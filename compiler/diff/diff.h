// `secpol diff`: which traffic two policies decide differently, computed from
// their rule sets. The key space (the 16 words the filters see, plus how a
// multicast/broadcast flag came about) is cut into boxes along the terms of
// both policies (tree/terms.h) and the exemption profiles, only as far as a
// decision depends on it; every box where the verdicts differ is a region,
// reported with the filters responsible and a concrete packet from inside it
// that the reference classifier confirms.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "net/local.h"
#include "packet/spec.h"
#include "result.h"
#include "secpol_abi.h"

namespace secpol::diff {

// The hidden dimension after the key words: why the mcbc flag is set.
inline constexpr unsigned kBcast = SECPOL_NF;
inline constexpr unsigned kDims = SECPOL_NF + 1;
enum Bcast : uint32_t { kBcastNone = 0, kBcastEthernet = 1, kBcastDirected = 2 };

struct Box {
    std::array<uint32_t, kDims> lo{}, hi{};
    bool operator==(const Box&) const = default;
};

// One policy's decision over a region.
struct Side {
    uint32_t verdict = SECPOL_V_PERMIT;  // enum secpol_verdict
    uint32_t reason = SECPOL_R_DEFAULT;  // enum secpol_reason
    int filter = -1;                     // index into policy.filters (reason filter or ipsec)
    uint32_t rule = 0;
    uint32_t exemption = 0;  // reason exemption
    bool operator==(const Side&) const = default;
};

struct Example {
    pkt::PacketSpec spec;
    std::string packet;      // the spec as `secpol explain --packet` takes it
    net::LocalTable locals;  // the host's addresses the example assumes
};

// The traffic of one direction that the old policy decides one way and the
// new one another: a union of boxes, with one example packet.
struct Region {
    int dir = SECPOL_DIR_IN;
    Side before, after;
    std::vector<Box> boxes;          // disjoint, adjacent ones merged
    std::optional<Example> example;  // from boxes[example_box]
    size_t example_box = 0;
};

struct Options {
    // The host's addresses; without them any address may be `me`, and any
    // IPv4 address a directed broadcast of a local subnet.
    std::optional<net::LocalTable> locals;
    size_t max_boxes = 4'000'000;  // beyond it the diff fails with a clear error
};

struct Report {
    std::vector<Region> regions;  // verdict changes
    size_t leaves = 0;            // leaves of the partition, both directions
    // Changed boxes no packet was found in: most are boxes no packet can
    // fall in (the mcbc flag on a unicast address, IPsec on TCP...).
    std::vector<Region> unrealized;
};

Result<Report> diff(const ir::Policy& before, const ir::Policy& after, const Options& opts = {});

// The decision the model computes for a point: used by the tests to check
// the partition against the reference classifier on random packets.
bool contains(const Box& b, const secpol_key& key, uint32_t bcast);

// A box's traffic in words ("tcp from 10.0.0.0/8 to me dport 22, in").
std::string describe(const Box& b, int dir);
std::string describe(const ir::Policy& policy, const Side& s);
nlohmann::json region_json(const ir::Policy& before, const ir::Policy& after, const Region& r);

}  // namespace secpol::diff
