// ClassBench filter sets, header traces and first-match answers
// (../shared/README.md describes the format). The filter set becomes an
// ir::Policy under `order first-match`, so scale tests and benchmarks can run
// the standard benchmark through the same tree builder as real policies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "secpol_abi.h"

namespace secpol::gen {

// Rule i becomes ir::Rule id i (action permit, label "cb<i>"); a rule with a
// wildcard protocol and a non-full port range becomes a tcp and a udp
// filter (ports only exist for those). Default permit, no exemptions.
// Throws std::runtime_error on an unreadable file or malformed line.
ir::Policy classbench_policy(const std::string& path);

struct ClassBenchHeader {
    uint32_t src = 0, dst = 0;  // IPv4, host order
    uint32_t sport = 0, dport = 0;
    uint32_t proto = 0;
};

std::vector<ClassBenchHeader> classbench_trace(const std::string& path);
std::vector<int64_t> classbench_firstmatch(const std::string& path);

// The key the BPF parser would build for a first fragment / unfragmented
// IPv4 packet with these header fields, neither address local.
secpol_key classbench_key(const ClassBenchHeader& h);

}  // namespace secpol::gen
