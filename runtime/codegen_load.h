// Loads an object's generated decision code (compiler/backend/codegen.h):
// the body of the global function secpol_walk is swapped for it while libbpf
// loads the program, after libbpf has appended subprograms and done its
// relocations (a prog_prepare_load_fn of a custom section handler).
#pragma once

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mutex>
#include <string>
#include <thread>
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
// `code_out` is empty. Non-copyable; the code must outlive the load, and
// obj must outlive this object.
//
// `detach` (one of obj's programs, or null) is verified in a thread of its
// own while libbpf goes on with the others (the verifier runs inside each
// bpf() call and privileged loads do not serialise, so on two cores the XDP
// and tc programs load in about the time of one): libbpf loads a
// two-instruction stand-in in its place, and the real program's fd comes
// from finish(). Its verifier log on failure is `detached_log()`.
class WalkSwap {
  public:
    // splice_max: a body of up to this many instructions goes in place of
    // its calls (walk_splice.h; 0: the calls stay).
    // cfg (or null): the object's frozen config, folded into each program
    // once its walk is in place (cfg_fold.h). With code_in and code_out both
    // empty the node-array walker stays and only the fold runs.
    WalkSwap(bpf_object* obj, const std::vector<bpf_insn>& code_in, const std::vector<bpf_insn>& code_out,
             const bpf_program* detach = nullptr, size_t splice_max = 0, const bpf_map* cfg = nullptr);
    ~WalkSwap();  // waits for the detached load
    WalkSwap(const WalkSwap&) = delete;
    WalkSwap& operator=(const WalkSwap&) = delete;

    // The first failure of a swap (empty if none), for the load error.
    std::string error() const;
    // How many of the object's programs had their walk swapped.
    size_t swapped() const;
    // Calls of secpol_walk replaced by the body, over all programs.
    size_t spliced() const;
    // Of those, the ones in an entry program: the object with the filters
    // inline (bpf/secpol.bpf.c SECPOL_DECIDE_INLINE), no call on a filter hit.
    size_t entry_spliced() const;
    // What the config fold did in each program, for -v.
    std::string folded() const;
    // Why a call of secpol_walk stays (the first program's reason), or empty.
    std::string kept_why() const;
    // Waits for the detached program's load: its fd, or the kernel's error.
    Result<int> finish();
    const std::vector<char>& detached_log() const;

  private:
    bpf_object* obj_;
};

}  // namespace secpol::rt
