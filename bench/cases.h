// The policies, traces and fixed packets of the per-packet cases, shared by
// the normal run (prog_bench.cpp) and the paired A/B (ab.cpp), so both
// measure the same things.
#pragma once

#include <string>
#include <vector>

#include "backend/compile.h"
#include "gen/generator.h"
#include "harness.h"
#include "net/local.h"
#include "packet/builder.h"

namespace secpol::bench {

Frame frame(pkt::Packet p);

// The packet the empty XDP program (the floor) runs.
Frame floor_packet();

// The 100-filter policy of the fixed cases: "special-100" without `me`,
// "special-100-me" with it (10 % of address fields).
gen::Options special_options(bool with_me);
std::string special_name(bool with_me);

// 50 packets aimed at filters spread evenly over the policy's priority order.
std::vector<Frame> spread_trace(const backend::Compiled& c, const net::LocalTable& locals, unsigned seed);

// One packet each: exemption hits, ESP, default, to a local address,
// malformed, non-IP, and IPv6 (default, Kerberos exemption).
struct FixedPacket {
    std::string name;
    Frame frame;
};
std::vector<FixedPacket> fixed_packets();

// Compiles policy text; throws std::runtime_error with the diagnostics.
backend::Compiled compile_text(const std::string& text, const std::string& name);

}  // namespace secpol::bench
