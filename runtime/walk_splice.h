// Splices the generated decision (compiler/backend/codegen.h) into its
// callers at load: each `call secpol_walk` becomes the body itself, so a
// packet that reaches the filters makes one BPF-to-BPF call (into
// secpol_decide_in/_out) instead of two. runtime/codegen_load.cpp runs it on
// the final instruction stream, after the body swap. docs/design.md, "The
// fixed path", seventh round, says what it measured.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <string>
#include <vector>

#include "backend/codegen.h"
#include "result.h"

namespace secpol::rt {

// Generated bodies up to this many instructions are spliced (LoadOptions::splice_max):
// every body the generator emits (CodegenLimits::max_insns); one beyond
// backend::kSpliceMaxInsns only at the last call (the main walk), the earlier
// ones (the tunnel pre-walk, dead code under the frozen config when the
// policy has no tunnel filters, the only case the loader lets through)
// becoming `w0 = SECPOL_NO_RULE` so that the subprogram goes. A caller's
// conditional jump across a body goes through a `gotol` trampoline; when one
// still would not reach (16-bit offsets), the call stays.
inline constexpr size_t kSpliceMaxDefault = backend::CodegenLimits{}.max_insns;

struct Spliced {
    std::vector<bpf_insn> insns;
    std::vector<bpf_func_info> func_info;  // sorted by insn_off
    size_t sites = 0;                      // calls replaced by the body
    size_t entry_sites = 0;                // of which in the entry program (the filters inline)
    size_t calls_left = 0;                 // calls of the walk that stay
    size_t dead_sites = 0;      // earlier calls of a body beyond kSpliceMaxInsns, now `w0 = SECPOL_NO_RULE`
    size_t spilled = 0;         // live callee-saved registers spilled around copies
    size_t rematerialised = 0;  // live ones made again after copies instead
    std::string kept_why;       // why a call stays (empty if none does)
};

// insns: a program whose subprogram `walk` (index into func_info, sorted by
// insn_off) is the generated body. Replaces each call of it by a copy of the
// body, drops the subprogram when no call is left, fixes every jump, call
// and func_info offset. The body's contract (codegen.h): r1 = key pointer,
// r2 = root, result in w0; it starts with the key's NULL test, which the
// copy drops (the caller's pointer is its own record), and a forest's
// `w8 = w2; w8 ^= R` becomes two loads of one key word XORed (0 at run time,
// unknown to the verifier, as the root was when it was an argument). The
// body may clobber r0-r5; the callee-saved registers it uses are renamed to
// ones dead after the call site; short of those, a live one the body needs
// is made again after the copy when the straight-line code before the site
// last set it to a constant or copied it to a register the copy leaves
// alone, else stored to a stack slot below the caller's frame before the
// copy and loaded back after it (when the 512-byte stack allows), else
// that call stays. Errors: a body
// outside the contract (calls, stores, the frame pointer, loads not from the
// key, jumps back). A body that does not start with the NULL test (not the
// generator's shape) stays called. max_body: bodies larger stay called (0:
// none is spliced).
// entry_out_of_line: a copy for a site in the entry program (function 0)
// goes after that function's last instruction, the site becoming a `goto`
// to it (with any stores before and what follows the body after it) and its
// exits `goto` straight back after that goto; a single tree's exit after
// `w0 = K` goes past the caller's `if w0 ==/!= imm` that follows the site. A copy in place pushes the
// entry program's later blocks (the exemptions' finish, malformed, non-IP)
// a whole body further from the parser; out of line they stay where clang
// put them, for two taken jumps on a filter hit (docs/design.md "The fixed
// path", ninth round).
Result<Spliced> splice_walk(const std::vector<bpf_insn>& insns, const std::vector<bpf_func_info>& func_info,
                            size_t walk, size_t max_body = kSpliceMaxDefault, bool entry_out_of_line = false);

}  // namespace secpol::rt
