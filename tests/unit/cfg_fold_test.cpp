// runtime/cfg_fold.cpp: the frozen config folded into a program at load.
// Handmade streams in libbpf's shape (the config's address as `ld_imm64
// map_value(fd)`, func_info per subprogram) are run before and after the
// fold by the interpreter, the config in host memory, so a jump fixed wrong,
// a definition removed that a path reads or a subprogram lost shows as a
// different result; the exact streams show what was folded. The kernel runs
// the real folded programs in tests/bpf (Differential.*, CfgFold.*).
#include "cfg_fold.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/codegen.h"
#include "interp/bpf_interp.h"
#include "interp/insn_build.h"
#include "secpol_abi.h"

namespace secpol::rt {
namespace {

using namespace testsupport::insn;

constexpr int32_t kFd = 7;  // the config map's fd in the stream

bpf_insn wmovx(uint8_t d, uint8_t s) {
    return I(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0);
}
bpf_insn and_(uint8_t d, int32_t imm) {
    return I(BPF_ALU | BPF_AND | BPF_K, d, 0, 0, imm);
}
bpf_insn add(uint8_t d, int32_t imm) {
    return I(BPF_ALU | BPF_ADD | BPF_K, d, 0, 0, imm);
}
bpf_insn ldx(uint8_t d, uint8_t s, int16_t off) {
    return I(BPF_LDX | BPF_MEM | BPF_DW, d, s, off, 0);
}
bpf_insn stx(uint8_t d, uint8_t s, int16_t off) {
    return I(BPF_STX | BPF_MEM | BPF_DW, d, s, off, 0);
}
bpf_insn jlt(uint8_t d, int32_t imm, int16_t off) {
    return I(BPF_JMP32 | BPF_JLT | BPF_K, d, 0, off, imm);
}
bpf_insn jset(uint8_t d, int32_t imm, int16_t off) {
    return I(BPF_JMP | BPF_JSET | BPF_K, d, 0, off, imm);
}
// `ld_imm64 d = map_value(fd) + off`: two instructions.
void ld_cfg(std::vector<bpf_insn>& v, uint8_t d, int32_t off = 0, int32_t fd = kFd) {
    v.push_back(I(BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_MAP_VALUE, 0, fd));
    v.push_back(I(0, 0, 0, 0, off));
}

// v behind a dead `ld_imm64 r9 = config`: the pass only works on the
// functions that load the config's address; the load itself then goes.
std::vector<bpf_insn> behind_cfg(const std::vector<bpf_insn>& v) {
    std::vector<bpf_insn> w;
    ld_cfg(w, 9);
    w.insert(w.end(), v.begin(), v.end());
    return w;
}

std::vector<uint8_t> bytes(const secpol_config& c) {
    std::vector<uint8_t> b(sizeof c);
    std::memcpy(b.data(), &c, sizeof c);
    return b;
}

std::vector<bpf_func_info> funcs(std::initializer_list<uint32_t> offs) {
    std::vector<bpf_func_info> fi;
    uint32_t id = 1;
    for (uint32_t o : offs) fi.push_back({o, id++});
    return fi;
}

// r0 of v run with r1 = packet, the config at the map's address.
uint64_t run(const std::vector<bpf_insn>& v, const std::vector<uint8_t>& cfg, const uint32_t* packet) {
    testsupport::InterpOptions o;
    o.map_value = [&](int32_t fd) {
        EXPECT_EQ(fd, kFd);
        return reinterpret_cast<uint64_t>(cfg.data());
    };
    const auto r = testsupport::interpret(v, reinterpret_cast<uint64_t>(packet), 0, o);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.ok() ? r.r0 : ~0ull;
}

bool same(const std::vector<bpf_insn>& a, const std::vector<bpf_insn>& b) {
    if (a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(bpf_insn)) == 0)
        return true;
    for (const auto& x : a)  // what came out, for the failure
        std::printf("  code %02x dst %u src %u off %d imm %d\n", x.code, x.dst_reg, x.src_reg, x.off, x.imm);
    return false;
}

// The entry program's shape: a dead load of the config's address, flags
// and exemptions tested, one branch reading the packet.
std::vector<bpf_insn> exemption_program() {
    std::vector<bpf_insn> v;
    ld_cfg(v, 2);               // 0: dead (overwritten at 3)
    v.push_back(mov(0, 0));     // 2: dead (every exit sets w0)
    ld_cfg(v, 2);               // 3
    v.push_back(ldw(3, 2, 8));  // 5: flags
    v.push_back(and_(3, 3));    // 6
    v.push_back(jeq(3, 0, 3));  // 7: -> 11
    v.push_back(ldw(4, 1, 0));  // 8: the packet
    v.push_back(wmovx(0, 4));   // 9
    v.push_back(ex());          // 10
    v.push_back(ldw(3, 2, 0));  // 11: exemptions
    v.push_back(and_(3, 8));    // 12
    v.push_back(jne(3, 0, 2));  // 13: -> 16
    v.push_back(mov(0, 7));     // 14
    v.push_back(ex());          // 15
    v.push_back(mov(0, 9));     // 16
    v.push_back(ex());          // 17
    return v;
}

TEST(CfgFold, ConfigLoadsAndTheBranchesTheyDecideGo) {
    const auto v = exemption_program();
    const uint32_t packet[1] = {42};
    secpol_config c{};
    c.exemptions = 8;
    const auto cfg = bytes(c);
    const auto f = fold_config(v, funcs({0}), kFd, cfg);
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_TRUE(same(f.insns, {mov(0, 9), ex()}));
    EXPECT_EQ(f.loads, 2u);
    EXPECT_EQ(f.decided, 2u);
    EXPECT_EQ(f.removed, v.size() - 2);
    EXPECT_EQ(run(f.insns, cfg, packet), run(v, cfg, packet));
}

TEST(CfgFold, EveryConfigRunsAsBefore) {
    const auto v = exemption_program();
    const uint32_t packet[1] = {42};
    for (uint32_t flags : {0u, 1u, 2u, 4u})
        for (uint32_t ex : {0u, 8u, 0xffu}) {
            secpol_config c{};
            c.flags = flags;
            c.exemptions = ex;
            const auto cfg = bytes(c);
            const auto f = fold_config(v, funcs({0}), kFd, cfg);
            ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
            EXPECT_EQ(run(f.insns, cfg, packet), run(v, cfg, packet)) << flags << " " << ex;
            EXPECT_LE(f.insns.size(), 3u);  // what is left reads the packet or returns a constant
        }
    // A flag that sends the packet on: its load and the packet's return stay, nothing of the config.
    secpol_config c{};
    c.flags = 1;
    const auto f = fold_config(v, funcs({0}), kFd, bytes(c));
    EXPECT_TRUE(same(f.insns, {ldw(4, 1, 0), wmovx(0, 4), ex()}));
}

// A subprogram called only where the config says no: it goes with its
// func_info, and the call of the one after it still lands on it.
TEST(CfgFold, ASubprogramNoCallReachesGoes) {
    std::vector<bpf_insn> v;
    v.push_back(movx(7, 1));                                  // 0: the packet, kept across calls
    ld_cfg(v, 6);                                             // 1
    v.push_back(ldw(2, 6, 8));                                // 3: flags
    v.push_back(jset(2, 16, 1));                              // 4: log? -> 6
    v.push_back(ja(1));                                       // 5: -> 7
    v.push_back(call(6));                                     // 6: -> 13 (log)
    v.push_back(ldw(1, 7, 0));                                // 7
    v.push_back(call(7));                                     // 8: -> 16 (sub)
    v.push_back(ldw(3, 6, 4));                                // 9: default_action
    v.push_back(I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 3, 0, 0));  // 10
    v.push_back(ex());                                        // 11
    v.push_back(ex());                                        // 12 (unreachable: the entry's end)
    v.push_back(mov(0, 1));                                   // 13: log
    v.push_back(add(0, 1));                                   // 14
    v.push_back(ex());                                        // 15
    v.push_back(wmovx(0, 1));                                 // 16: sub, r0 = its argument
    v.push_back(ex());                                        // 17
    const auto fi = funcs({0, 13, 16});
    const uint32_t packet[1] = {5};
    secpol_config c{};
    c.default_action = 100;
    const auto cfg = bytes(c);
    const auto f = fold_config(v, fi, kFd, cfg);
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_EQ(f.functions, 1u);
    ASSERT_EQ(f.func_info.size(), 2u);
    EXPECT_EQ(f.func_info[1].type_id, 3u);
    EXPECT_EQ(f.func_info[1].insn_off, 7u);
    EXPECT_EQ(run(f.insns, cfg, packet), 105u);
    EXPECT_EQ(run(v, cfg, packet), 105u);
    // The entry: the packet, the call, `w3 = 100` from the folded default,
    // exit; then sub. The flags' `w2 = 0` stays: r2 is an argument of the
    // call as far as the pass knows (a call reads r1-r5).
    EXPECT_TRUE(same(f.insns, {movx(7, 1), mov(2, 0), ldw(1, 7, 0), call(3), mov(3, 100),
                               I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 3, 0, 0), ex(), wmovx(0, 1), ex()}))
        << f.insns.size();
    c.flags = 16;  // logging: the subprogram stays
    const auto cfg2 = bytes(c);
    const auto g = fold_config(v, fi, kFd, cfg2);
    ASSERT_TRUE(g.kept_why.empty()) << g.kept_why;
    EXPECT_EQ(g.func_info.size(), 3u);
    EXPECT_EQ(g.functions, 0u);
    EXPECT_EQ(run(g.insns, cfg2, packet), run(v, cfg2, packet));
}

// A long last function that never loads the config (the 10,000-filter
// walk) is folded as a stand-in and put back: the stream is the one the
// fold gives with a short function there (folded in place), the long one
// back whole after it, or gone whole when no call is left to it.
TEST(CfgFold, ALongLastFunctionComesBackWholeOrGoesWhole) {
    auto program = [](size_t body) {
        std::vector<bpf_insn> v;
        v.push_back(mov(0, 0));                                   // 0: what no call changes
        v.push_back(movx(7, 1));                                  // 1: the packet, kept across the call
        ld_cfg(v, 6);                                             // 2
        v.push_back(ldw(2, 6, 8));                                // 4: flags
        v.push_back(jset(2, 16, 1));                              // 5: log? -> 7
        v.push_back(ja(2));                                       // 6: -> 9
        v.push_back(ldw(1, 7, 0));                                // 7
        v.push_back(call(3));                                     // 8: -> 12 (the last function)
        v.push_back(ldw(3, 6, 4));                                // 9: default_action
        v.push_back(I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 3, 0, 0));  // 10
        v.push_back(ex());                                        // 11
        v.push_back(wmovx(0, 1));                                 // 12: the last function
        for (size_t i = 0; i < body; ++i) v.push_back(add(0, 1));
        v.push_back(ex());
        return v;
    };
    const auto long_v = program(1500), short_v = program(0);
    const auto fi = funcs({0, 12});
    const uint32_t packet[1] = {5};
    secpol_config c{};
    c.default_action = 100;
    for (uint32_t flags : {16u, 0u}) {  // called, then never called
        c.flags = flags;
        const auto cfg = bytes(c);
        const auto f = fold_config(long_v, fi, kFd, cfg), g = fold_config(short_v, fi, kFd, cfg);
        ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
        ASSERT_TRUE(g.kept_why.empty()) << g.kept_why;
        EXPECT_EQ(f.loads, g.loads);
        EXPECT_EQ(f.decided, g.decided);
        EXPECT_EQ(f.functions, g.functions);
        EXPECT_EQ(f.removed, long_v.size() - f.insns.size());
        EXPECT_EQ(run(f.insns, cfg, packet), run(long_v, cfg, packet));
        if (flags) {
            ASSERT_EQ(f.func_info.size(), 2u);
            ASSERT_EQ(g.func_info.size(), 2u);
            const size_t at = f.func_info[1].insn_off;
            EXPECT_EQ(at, g.func_info[1].insn_off);
            EXPECT_TRUE(same(std::vector<bpf_insn>(f.insns.begin(), f.insns.begin() + ptrdiff_t(at)),
                             std::vector<bpf_insn>(g.insns.begin(), g.insns.begin() + ptrdiff_t(at))));
            EXPECT_TRUE(same(std::vector<bpf_insn>(f.insns.begin() + ptrdiff_t(at), f.insns.end()),
                             std::vector<bpf_insn>(long_v.begin() + 12, long_v.end())));
            EXPECT_EQ(run(f.insns, cfg, packet), 100u + 5u + 1500u);
        } else {
            EXPECT_EQ(f.functions, 1u);
            EXPECT_EQ(f.func_info.size(), 1u);
            EXPECT_TRUE(same(f.insns, g.insns));
            EXPECT_EQ(run(f.insns, cfg, packet), 100u);
        }
    }
}

// r6-r9 keep the config's address across a call; r1-r5 do not, so a load
// through r2 after it stays a load (and the ld_imm64 that set r2, an
// argument of the call, with it).
TEST(CfgFold, CallsKeepOnlyCalleeSavedRegisters) {
    std::vector<bpf_insn> v;
    ld_cfg(v, 6);                                           // 0
    ld_cfg(v, 2);                                           // 2
    v.push_back(call(4));                                   // 4: -> 9
    v.push_back(ldw(0, 6, 12));                             // 5: root_in, folded
    v.push_back(ldw(3, 2, 0));                              // 6: through r2: stays
    v.push_back(I(BPF_ALU | BPF_ADD | BPF_X, 0, 3, 0, 0));  // 7
    v.push_back(ex());                                      // 8
    v.push_back(mov(0, 0));                                 // 9: the callee
    v.push_back(ex());                                      // 10
    secpol_config c{};
    c.root_in = 1000;
    c.exemptions = 3;
    const auto f = fold_config(v, funcs({0, 9}), kFd, bytes(c));
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_EQ(f.loads, 1u);
    std::vector<bpf_insn> want(v.begin() + 2, v.end());
    want[3] = mov(0, 1000);
    EXPECT_TRUE(same(f.insns, want)) << f.insns.size();
}

// What goes through memory or another map is unknown: it stays as it was.
TEST(CfgFold, WhatItDoesNotFollowStays) {
    std::vector<bpf_insn> v;
    ld_cfg(v, 2);                                           // 0
    v.push_back(stx(10, 2, -8));                            // 2: the address to the stack
    v.push_back(ldx(3, 10, -8));                            // 3
    v.push_back(ldw(0, 3, 0));                              // 4: through the stack: stays
    ld_cfg(v, 4, 0, kFd + 1);                               // 5: another map
    v.push_back(ldw(5, 4, 0));                              // 7: stays
    v.push_back(I(BPF_ALU | BPF_ADD | BPF_X, 0, 5, 0, 0));  // 8
    ld_cfg(v, 4, 0);                                        // 9
    v.push_back(ldw(5, 4, 24));                             // 11: past the config's end: stays
    v.push_back(I(BPF_ALU | BPF_ADD | BPF_X, 0, 5, 0, 0));  // 12
    v.push_back(ex());                                      // 13
    secpol_config c{};
    c.exemptions = 1;
    const auto f = fold_config(v, funcs({0}), kFd, bytes(c));
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_TRUE(same(f.insns, v));
    EXPECT_EQ(f.loads, 0u);
}

// A loop: the register it counts is not a constant at the test.
TEST(CfgFold, ALoopIsNotUnrolled) {
    std::vector<bpf_insn> v{mov(0, 0), add(0, 1), jlt(0, 5, -2), ex()};
    const auto f = fold_config(behind_cfg(v), funcs({0}), kFd, bytes(secpol_config{}));
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_TRUE(same(f.insns, v));
    EXPECT_EQ(run(f.insns, {}, nullptr), 5u);
}

// Jumps to a goto go to its target; the gotos no jump reaches then go.
TEST(CfgFold, JumpChainsAreThreaded) {
    std::vector<bpf_insn> v{
        ldw(2, 1, 0),  // 0
        jeq(2, 1, 2),  // 1: -> 4
        mov(0, 3),     // 2
        ex(),          // 3
        ja(1),         // 4: -> 6
        ex(),          // 5 (unreachable)
        ja(0),         // 6: -> 7
        mov(0, 4),     // 7
        ex(),          // 8
    };
    const auto f = fold_config(behind_cfg(v), funcs({0}), kFd, bytes(secpol_config{}));
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_TRUE(same(f.insns, {ldw(2, 1, 0), jeq(2, 1, 2), mov(0, 3), ex(), mov(0, 4), ex()}));
    for (uint32_t p : {0u, 1u}) {
        const uint32_t packet[1] = {p};
        EXPECT_EQ(run(f.insns, {}, packet), run(v, {}, packet));
    }
}

// A store, even of a dead register's value to a slot nothing reads, stays.
TEST(CfgFold, StoresAndCallsStay) {
    std::vector<bpf_insn> v{mov(2, 1), stx(10, 2, -8), mov(1, 0), call(1), ex(), mov(0, 0), ex()};
    const auto f = fold_config(behind_cfg(v), funcs({0, 7}), kFd, bytes(secpol_config{}));
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_TRUE(same(f.insns, v));  // r1 is the call's argument, r2 the store's
}

// A function that never loads the config's address is left as it is, dead
// definitions and all (the 10,000-filter walk: nothing to fold, and the
// load's time); a function no call is left to goes all the same.
TEST(CfgFold, FunctionsWithoutTheConfigStay) {
    std::vector<bpf_insn> v{mov(3, 1), mov(0, 2), ex()};
    const auto f = fold_config(v, funcs({0}), kFd, bytes(secpol_config{}));
    ASSERT_TRUE(f.kept_why.empty()) << f.kept_why;
    EXPECT_TRUE(same(f.insns, v));
    const auto g = fold_config(behind_cfg(v), funcs({0}), kFd, bytes(secpol_config{}));
    EXPECT_TRUE(same(g.insns, {mov(0, 2), ex()}));
}

// A stream it cannot read comes back as it was.
TEST(CfgFold, AnUnreadableStreamIsKept) {
    std::vector<bpf_insn> v;
    ld_cfg(v, 2);
    v.push_back(ldw(0, 2, 0));
    v.push_back(ja(2));  // into the next function
    v.push_back(ex());
    v.push_back(mov(0, 0));
    v.push_back(ex());
    const auto f = fold_config(v, funcs({0, 5}), kFd, bytes(secpol_config{}));
    EXPECT_FALSE(f.kept_why.empty());
    EXPECT_TRUE(same(f.insns, v));
    std::vector<bpf_insn> cut;
    ld_cfg(cut, 2);
    cut.pop_back();  // an ld_imm64 without its second half
    cut.push_back(ex());
    EXPECT_FALSE(fold_config(cut, funcs({0, 1}), kFd, bytes(secpol_config{})).kept_why.empty());
}

}  // namespace
}  // namespace secpol::rt
