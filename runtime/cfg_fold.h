// Folds the frozen config (.rodata.cfg, struct secpol_config) into a
// program at load: runtime/codegen_load.cpp runs it on the final stream,
// after the body swap and the splice (before the splice for a body beyond
// kSpliceMaxInsns, whose copy it would otherwise read through). The verifier knows the config's values
// too, but it only drops a branch one side of which no path took, and keeps
// every load of the config, the arithmetic on it and definitions nothing
// reads: ~10-17 instructions on every frame (docs/design.md "The fixed
// path", thirteenth round).
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace secpol::rt {

struct CfgFolded {
    std::vector<bpf_insn> insns;
    std::vector<bpf_func_info> func_info;  // sorted by insn_off
    size_t loads = 0;                      // loads of the config made constants
    size_t decided = 0;                    // conditional jumps whose outcome was known
    size_t removed = 0;                    // instructions fewer in all (net)
    size_t functions = 0;                  // subprograms no call was left to
    std::string kept_why;                  // set: the program was left as it was, and why
};

// insns, func_info (sorted by insn_off): a program as libbpf hands it to the
// kernel, in which `ld_imm64 rX, map_value(cfg_fd) + off` (src_reg
// BPF_PSEUDO_MAP_VALUE, imm cfg_fd) is the config's address and `value` its
// bytes. Each function is propagated forward from its entry (every register
// unknown there; calls clobber r0-r5): a load at a known offset of the
// config becomes a move of its value (`w = imm` for the 32-bit loads), ALU
// on constants a move, a conditional jump of known outcome a goto or
// nothing. Then, until nothing changes: what no path reaches goes (and a
// subprogram no call is left to), jumps to a goto go to its target, `goto
// +0` goes, and so do definitions no path reads (moves, ALU, loads and the
// config's or a constant's ld_imm64; never a store, a call or an atomic).
// What the pass does not know stays as it is (an unknown value); a stream
// it cannot read (a jump leaving its function, a cut ld_imm64) comes back
// unchanged, with kept_why.
CfgFolded fold_config(const std::vector<bpf_insn>& insns, const std::vector<bpf_func_info>& func_info,
                      int32_t cfg_fd, const std::vector<uint8_t>& value);

// The value (key 0) of the map behind fd, read from the kernel, if the map
// is frozen (fdinfo) and read-only to programs (BPF_F_RDONLY_PROG); else an
// error saying which does not hold.
Result<std::vector<uint8_t>> frozen_map_value(int fd);

}  // namespace secpol::rt
