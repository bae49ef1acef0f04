// tests/support/interp/bpf_interp.cpp: the interpreter the walk and splice
// tests trust must itself count, call and refuse as it says.
#include "interp/bpf_interp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace secpol::testsupport {
namespace {

bpf_insn I(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn x{};
    x.code = code;
    x.dst_reg = dst;
    x.src_reg = src;
    x.off = off;
    x.imm = imm;
    return x;
}

const bpf_insn kExit = I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

TEST(BpfInterp, LoadsCompareUnsignedIn32BitsAndCountTakenJumps) {
    const uint32_t key[2] = {0x80000001u, 7};
    const std::vector<bpf_insn> code = {
        I(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0),    // w3 = key[0]
        I(BPF_JMP32 | BPF_JGT | BPF_K, 3, 0, 2, 5),  // unsigned: taken
        I(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 1),
        kExit,                                       //
        I(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0),    // w4 = key[1]
        I(BPF_JMP32 | BPF_JEQ | BPF_K, 4, 0, 1, 8),  // not taken
        I(BPF_JMP | BPF_JA, 0, 0, 1, 0),             // taken
        I(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 2),    //
        I(BPF_ALU | BPF_MOV | BPF_X, 0, 4, 0, 0),    // w0 = 7
        I(BPF_ALU | BPF_XOR | BPF_K, 0, 0, 0, 0x10),
        kExit,
    };
    const InterpResult r = interpret(code, reinterpret_cast<uint64_t>(key));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.r0, 0x17u);
    EXPECT_EQ(r.insns, 8u);
    EXPECT_EQ(r.taken, 2u);
}

TEST(BpfInterp, CallsKeepR6ToR9AndPoisonTheRest) {
    const std::vector<bpf_insn> code = {
        I(BPF_ALU64 | BPF_MOV | BPF_K, 6, 0, 0, 40),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 9),
        I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3),  // to 6
        I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 6, 0, 0),       // r0 = callee's 4 + 40
        I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 0),       // + r1, poisoned by the return
        kExit,
        I(BPF_ALU64 | BPF_MOV | BPF_K, 6, 0, 0, 1000),  // callee clobbers r6
        I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 3, 0, 0),     // r3 is not an argument
        I(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 4),     // 0xdead & 4
        kExit,
    };
    const InterpResult r = interpret(code, 0);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.r0, 4u + 40u + 0xbadu);
}

TEST(BpfInterp, RefusesWhatItDoesNotKnow) {
    EXPECT_NE(interpret({I(BPF_ALU | BPF_MUL | BPF_K, 0, 0, 0, 3), kExit}, 0).error.find("alu op"),
              std::string::npos);
    EXPECT_NE(interpret({I(BPF_JMP | BPF_JSGT | BPF_K, 0, 0, 0, 3), kExit}, 0).error.find("jump op"),
              std::string::npos);
    EXPECT_NE(interpret({I(BPF_JMP | BPF_JA, 0, 0, 5, 0), kExit}, 0).error.find("ran off the end"),
              std::string::npos);
    InterpOptions opt;
    opt.max_steps = 100;
    EXPECT_NE(interpret({I(BPF_JMP | BPF_JA, 0, 0, -1, 0)}, 0, 0, opt).error.find("too many steps"),
              std::string::npos);
}

}  // namespace
}  // namespace secpol::testsupport
