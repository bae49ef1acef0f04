// The linear baseline (bench/progs/linear.bpf.c): the policy's terms checked
// one after another by bpf_loop, loaded with the same parser as secpol.
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ir/ir.h"
#include "net/local.h"

namespace secpol::bench {

class LinearPeer {
  public:
    // Inbound terms of the policy in priority order; throws std::runtime_error.
    LinearPeer(const std::string& obj_path, const ir::Policy& policy, const net::LocalTable& locals);
    ~LinearPeer();
    LinearPeer(const LinearPeer&) = delete;
    LinearPeer& operator=(const LinearPeer&) = delete;

    int prog_fd() const { return prog_fd_; }
    // load_ms, terms, map_bytes, xlated/verified insns.
    const nlohmann::json& stats() const { return stats_; }

  private:
    bpf_object* obj_ = nullptr;
    int prog_fd_ = -1;
    nlohmann::json stats_;
};

}  // namespace secpol::bench
