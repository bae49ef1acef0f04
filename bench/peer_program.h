// What the bench keeps of a peer's loaded object: the object itself (closed
// with the peer, also when its constructor throws half way), the XDP program
// the bench runs and the figures the report prints.
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <nlohmann/json.hpp>

namespace secpol::bench {

class PeerProgram {
  public:
    PeerProgram(const PeerProgram&) = delete;
    PeerProgram& operator=(const PeerProgram&) = delete;

    int prog_fd() const { return prog_fd_; }
    const nlohmann::json& stats() const { return stats_; }

  protected:
    PeerProgram() = default;
    ~PeerProgram() = default;

    struct Closer {
        void operator()(bpf_object* o) const { bpf_object__close(o); }
    };
    std::unique_ptr<bpf_object, Closer> obj_;
    int prog_fd_ = -1;
    nlohmann::json stats_;
};

}  // namespace secpol::bench
