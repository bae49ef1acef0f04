// What the load-time rewrites of an instruction stream share
// (walk_splice.h, cfg_fold.h): instruction classes, jump targets, a rebuild
// that deletes or replaces instructions and keeps every jump, call and
// func_info offset right, and registers' use, definition and liveness.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace secpol::rt {

inline constexpr uint8_t kLdImm64 = BPF_LD | BPF_IMM | BPF_DW;

inline bool is_jmp_class(const bpf_insn& i) {
    return BPF_CLASS(i.code) == BPF_JMP || BPF_CLASS(i.code) == BPF_JMP32;
}
inline bool is_call(const bpf_insn& i) {
    return i.code == (BPF_JMP | BPF_CALL);
}
inline bool is_exit(const bpf_insn& i) {
    return i.code == (BPF_JMP | BPF_EXIT);
}
inline bool is_gotol(const bpf_insn& i) {
    return i.code == (BPF_JMP32 | BPF_JA);
}
// A jump within the function (conditional, goto or gotol).
inline bool is_jump(const bpf_insn& i) {
    return is_jmp_class(i) && !is_call(i) && !is_exit(i);
}
// An unconditional one (goto or gotol).
inline bool is_goto(const bpf_insn& i) {
    return is_jump(i) && BPF_OP(i.code) == BPF_JA;
}
inline bool is_pseudo_call(const bpf_insn& i) {
    return (is_call(i) && i.src_reg == BPF_PSEUDO_CALL) ||
           (i.code == kLdImm64 && i.src_reg == BPF_PSEUDO_FUNC);
}
inline int64_t jump_target(const std::vector<bpf_insn>& v, size_t i) {
    return int64_t(i) + 1 + (is_gotol(v[i]) ? v[i].imm : v[i].off);
}
// goto +off, as gotol when it does not fit 16 bits.
bpf_insn go(int64_t off);

// Rebuilds v with the instructions at the keys of `repl` replaced by their
// sequences (taken as they are: their jumps stay within them), an empty
// sequence deleting one; every other jump, pseudo call and func_info offset
// follows. nullopt: a conditional jump no longer reaches (16 bits).
struct Rebuilt {
    std::vector<bpf_insn> insns;
    std::vector<int64_t> pos;  // new index of each old one (a deleted one: the next kept)
};
// Trampolines: per slot (an old index), the conditional jumps (old indices)
// that go through a `gotol` placed before the slot's instruction; behind a
// `goto` over them when the instruction before the slot falls through. bad:
// the old indices of the conditional jumps that do not reach (nullopt
// returned; all of them, so that one more rebuild places their trampolines).
using Trampolines = std::map<size_t, std::vector<size_t>>;
// A run of old instructions deleted as a whole (the walk's subprogram when no
// call of it is left): as if each were in `repl` with an empty sequence,
// without a map entry for each of its 200k instructions (the map's nodes
// and look-ups were most of the splice's time at 10,000 filters).
struct Cut {
    size_t from = 0, to = 0;
    bool has(size_t i) const { return i >= from && i < to; }
};
// Whether old instruction i never goes on to i + 1 (an exit or a goto, not replaced).
bool ends_flow(const std::vector<bpf_insn>& v, const std::map<size_t, std::vector<bpf_insn>>& repl, size_t i,
               const Cut& cut = {});
std::optional<Rebuilt> rebuild(const std::vector<bpf_insn>& v,
                               const std::map<size_t, std::vector<bpf_insn>>& repl, std::string& why,
                               const Trampolines& tramps = {}, std::vector<size_t>* bad = nullptr,
                               const Cut& cut = {});

// Registers an instruction reads and writes (bit n: rn).
struct UseDef {
    unsigned use = 0, def = 0;
};
UseDef use_def(const bpf_insn& x);

// Registers live before each instruction of [from, to) (a function); the
// last entry, after the end, is empty. gone (indexed like v, or null):
// instructions to count as absent (no use, no definition, falling through).
// pure (indexed like v, or null): instructions without side effects, whose
// uses count only where what they define is live (a chain of dead
// definitions is dead at once).
std::vector<unsigned> live_in(const std::vector<bpf_insn>& v, size_t from, size_t to,
                              const std::vector<bool>* gone = nullptr,
                              const std::vector<bool>* pure = nullptr);

}  // namespace secpol::rt
