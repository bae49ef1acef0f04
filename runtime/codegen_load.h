// Loads an object's generated decision code (compiler/backend/codegen.h):
// the body of the global function secpol_walk is swapped for it while libbpf
// loads the program, after libbpf has appended subprograms and done its
// relocations (a prog_prepare_load_fn of a custom section handler).
#pragma once

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mutex>
#include <string>
#include <vector>

#include "result.h"

namespace secpol::rt {

// Installs the section handlers for "xdp" and "tc" once per process; they
// act only on programs a WalkSwap names and leave every other object as
// libbpf's own handlers would. Call before opening the object.
Status install_walk_swap_handlers();

// For the lifetime of this object, loading obj's programs replaces the body
// of secpol_walk: by `code_in` in XDP programs (ingress, root_in), by
// `code_out` in the others (egress, root_out), or by `code_in` when
// `code_out` is empty. Non-copyable; the code must outlive the load.
class WalkSwap {
  public:
    WalkSwap(bpf_object* obj, const std::vector<bpf_insn>& code_in, const std::vector<bpf_insn>& code_out);
    ~WalkSwap();
    WalkSwap(const WalkSwap&) = delete;
    WalkSwap& operator=(const WalkSwap&) = delete;

    // The first failure of a swap (empty if none), for the load error.
    std::string error() const;
    // Instructions of each program after the swap, by program name.
    size_t swapped() const;

  private:
    bpf_object* obj_;
};

}  // namespace secpol::rt
