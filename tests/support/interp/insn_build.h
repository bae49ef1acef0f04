// Instructions by name for handmade streams (tests/unit/walk_splice_test.cpp,
// cfg_fold_test.cpp), run by the interpreter beside this file. Test-only.
#ifndef SECPOL_TESTS_SUPPORT_INTERP_INSN_BUILD_H
#define SECPOL_TESTS_SUPPORT_INTERP_INSN_BUILD_H

#include <linux/bpf.h>

#include "backend/codegen.h"

namespace secpol::testsupport::insn {

inline bpf_insn I(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return backend::make_insn(code, dst, src, off, imm);
}
inline bpf_insn mov(uint8_t d, int32_t imm) {  // w = imm
    return I(BPF_ALU | BPF_MOV | BPF_K, d, 0, 0, imm);
}
inline bpf_insn movx(uint8_t d, uint8_t s) {  // r = r
    return I(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0);
}
inline bpf_insn addx(uint8_t d, uint8_t s) {  // w += w
    return I(BPF_ALU | BPF_ADD | BPF_X, d, s, 0, 0);
}
inline bpf_insn ldw(uint8_t d, uint8_t s, int16_t off) {
    return I(BPF_LDX | BPF_MEM | BPF_W, d, s, off, 0);
}
inline bpf_insn jeq(uint8_t d, int32_t imm, int16_t off) {  // 64-bit
    return I(BPF_JMP | BPF_JEQ | BPF_K, d, 0, off, imm);
}
inline bpf_insn jne(uint8_t d, int32_t imm, int16_t off) {  // 32-bit
    return I(BPF_JMP32 | BPF_JNE | BPF_K, d, 0, off, imm);
}
inline bpf_insn ja(int16_t off) {
    return I(BPF_JMP | BPF_JA, 0, 0, off, 0);
}
inline bpf_insn call(int32_t rel) {  // BPF-to-BPF
    return I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel);
}
inline bpf_insn ex() {
    return I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

}  // namespace secpol::testsupport::insn

#endif  // SECPOL_TESTS_SUPPORT_INTERP_INSN_BUILD_H
