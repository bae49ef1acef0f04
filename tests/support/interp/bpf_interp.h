// A small eBPF interpreter for the instructions secpol generates and the
// loader splices (compiler/backend/codegen.cpp, runtime/walk_splice.cpp):
// the unit tests and bench/walk_count.cpp run walks with it, away from the
// kernel, and the config fold's streams (runtime/cfg_fold.cpp). It knows
// only what those emit: ALU/ALU64 mov, add, xor, and, or on immediates or
// registers; 32- and 64-bit loads through a register holding a host
// pointer, and stores through one (r10: 512 bytes of stack per frame);
// ld_imm64 of a constant or of a map's value (InterpOptions::map_value);
// every conditional jump but the signed ones, `ja`,
// `gotol`, BPF-to-BPF calls (r6-r9 kept across them) and `exit`. Anything
// else is an error, never a guess. Not part of the product.
#ifndef SECPOL_TESTS_SUPPORT_INTERP_BPF_INTERP_H
#define SECPOL_TESTS_SUPPORT_INTERP_BPF_INTERP_H

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace secpol::testsupport {

struct InterpResult {
    uint64_t r0 = 0;
    size_t insns = 0;   // executed, the exit included
    size_t taken = 0;   // jumps taken: conditional, `ja` and `gotol` with a non-zero offset
    std::string error;  // empty when the program reached its last exit
    bool ok() const { return error.empty(); }
};

struct InterpOptions {
    size_t max_steps = 1000000;
    // Called before each instruction runs (with its index), e.g. to check
    // that a generator emits only the shapes it should.
    std::function<void(size_t pc, const bpf_insn&)> on_insn;
    // The host address of the value of the map a `ld_imm64 map_value(fd)`
    // names (unset: such an instruction is an error).
    std::function<uint64_t(int32_t fd)> map_value;
};

// Runs code from instruction 0 with r1 = arg1, r2 = arg2 (every other
// register 0). A call poisons the registers that are not arguments; a return
// restores r6-r9 and poisons r1-r5, as the kernel's calling convention
// allows, so code that relies on more than it may shows.
InterpResult interpret(const std::vector<bpf_insn>& code, uint64_t arg1, uint64_t arg2 = 0,
                       const InterpOptions& opt = {});

}  // namespace secpol::testsupport

#endif  // SECPOL_TESTS_SUPPORT_INTERP_BPF_INTERP_H
