// The linear baseline (bench/progs/linear.bpf.c): the policy's terms checked
// one after another by bpf_loop, loaded with the same parser as secpol.
#pragma once

#include <string>

#include "ir/ir.h"
#include "net/local.h"
#include "peer_program.h"

namespace secpol::bench {

// stats(): load_ms, terms, map_bytes, xlated/verified insns.
class LinearPeer : public PeerProgram {
  public:
    // Inbound terms of the policy in priority order; throws std::runtime_error.
    LinearPeer(const std::string& obj_path, const ir::Policy& policy, const net::LocalTable& locals);
};

}  // namespace secpol::bench
