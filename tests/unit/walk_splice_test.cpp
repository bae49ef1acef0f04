// runtime/walk_splice.cpp: the generated body in place of its calls. Small
// programs in the shape libbpf hands the loader (a caller, another
// subprogram, the walk last) are run before and after the splice by an
// interpreter with BPF-to-BPF calls (r6-r9 kept across a call), so a jump
// fixed wrong, a register the body clobbers or a lost subprogram shows as a
// different result. The kernel runs the real spliced programs in
// tests/bpf/codegen_test.cpp.
#include "walk_splice.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "interp/bpf_interp.h"
#include "interp/insn_build.h"

namespace secpol::rt {
namespace {

using namespace testsupport::insn;

struct Prog {
    std::vector<bpf_insn> insns;
    std::vector<bpf_func_info> fi;
    size_t walk = 0;
};

// Runs the program from 0 with r1 = key; returns r0. Fails the test on an
// opcode it does not know, a jump out of range, or too many steps.
uint64_t run(const std::vector<bpf_insn>& p, const uint32_t* key, size_t* steps = nullptr) {
    const testsupport::InterpResult res = testsupport::interpret(p, reinterpret_cast<uint64_t>(key));
    EXPECT_TRUE(res.ok()) << res.error;
    if (!res.ok()) return ~0ull;
    if (steps) *steps = res.insns;
    return res.r0;
}

// A walk of the generator's shape: NULL test, tests of key words, leaves `w0 = X; exit`.
std::vector<bpf_insn> plain_body() {
    return {
        jeq(1, 0, 6),       // 0: if r1 == 0 goto 7 (none)
        ldw(3, 1, 0),       // 1
        jne(3, 5, 2),       // 2: if w3 != 5 goto 5
        mov(0, 70),         // 3
        ex(),               // 4
        mov(0, 90),         // 5
        ex(),               // 6
        mov(0, -1),   ex()  // 7, 8: none
    };
}

// A forest's: w6/w7/w8 as codegen.cpp keeps them (candidate, priority,
// unknown zero), the result depending on w6 and w8.
std::vector<bpf_insn> forest_body() {
    return {
        jeq(1, 0, 13),                              // 0: -> 14
        I(BPF_ALU | BPF_MOV | BPF_X, 8, 2, 0, 0),   // 1: w8 = w2
        I(BPF_ALU | BPF_XOR | BPF_K, 8, 0, 0, 42),  // 2: w8 ^= 42 (the root)
        mov(6, -1),                                 // 3
        mov(7, -1),                                 // 4
        ldw(3, 1, 4),                               // 5
        jne(3, 1, 2),                               // 6: -> 9
        mov(6, 11),                                 // 7: a candidate
        mov(7, 3),                                  // 8
        addx(7, 8),                                 // 9
        ldw(4, 1, 0),                               // 10
        addx(6, 4),                                 // 11
        addx(6, 8),                                 // 12
        movx(0, 6),                                 // 13 (falls into none: no, exits below)
        ex(),                                       // 14? see the NULL test's target
        mov(0, -1),
        ex(),
    };
}

// A caller in the shape of secpol_decide_in: r6 = key, optionally r7 and r9
// live across the call, a jump over the call site, a call of `other` after
// it, optionally a second call of the walk; then `other` (r0 = key word 2)
// and the walk last.
// opaque: r7 loaded from the key, and the site's r1 moved off r6 after the
// copy, so neither can be made again after a copy (remat) and both spill.
// tested: the caller tests w0 right after the first site, as secpol_decide's
// `v != SECPOL_NO_RULE` (1: `if w0 != -1`, 32-bit; 2: `if r0 == -1`, 64-bit),
// its other side setting w0 = 55.
Prog program(std::vector<bpf_insn> body, bool second_site = false, bool r7_live = true, bool r9_live = false,
             bool opaque = false, int tested = 0) {
    struct A {
        bpf_insn x;
        int to = -1;  // label a jump or call goes to
    };
    enum { kSkip, kJoin, kOther, kWalk, kLabels };
    std::vector<A> c;
    int at[kLabels] = {};
    auto lab = [&](int l) { at[l] = int(c.size()); };
    auto put = [&](bpf_insn x, int to = -1) { c.push_back({x, to}); };
    put(movx(6, 1));
    if (r7_live) put(opaque ? ldw(7, 1, 8) : mov(7, 1000));
    if (r9_live) put(mov(9, 3));
    put(ldw(2, 6, 8));
    put(jeq(2, 99, 0), kSkip);
    put(mov(2, 42));
    put(movx(1, 6));
    if (opaque) {  // r1 += 0: r1 no longer the copy of r6 that it is at run time
        put(I(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 0));
    }
    put(call(0), kWalk);
    if (tested) {
        put(tested == 1 ? jne(0, -1, 1) : jeq(0, -1, 1));
        put(mov(0, 55));
    }
    put(movx(8, 0));
    put(ja(0), kJoin);
    lab(kSkip);
    put(mov(8, 5));
    lab(kJoin);
    put(movx(1, 6));
    put(call(0), kOther);
    put(addx(0, 8));
    if (r7_live) put(addx(0, 7));
    if (r9_live) put(addx(0, 9));
    if (second_site) {
        put(movx(8, 0));
        put(movx(1, 6));
        put(mov(2, 42));
        put(call(0), kWalk);
        put(addx(0, 8));
    }
    put(ex());
    const size_t caller = c.size();
    lab(kOther);
    put(ldw(0, 1, 8));
    put(ex());
    const size_t other = c.size() - caller;
    lab(kWalk);
    for (const bpf_insn& x : body) put(x);
    Prog p;
    for (size_t i = 0; i < c.size(); ++i) {
        bpf_insn x = c[i].x;
        if (c[i].to >= 0) {
            const int rel = at[c[i].to] - int(i) - 1;
            if (x.code == (BPF_JMP | BPF_CALL))
                x.imm = rel;
            else
                x.off = int16_t(rel);
        }
        p.insns.push_back(x);
    }
    p.fi = {{0, 1}, {uint32_t(caller), 2}, {uint32_t(caller + other), 3}};
    p.walk = 2;
    return p;
}

std::vector<std::array<uint32_t, 4>> keys() {
    return {{5, 1, 7, 0}, {5, 0, 7, 0}, {6, 1, 99, 0}, {6, 2, 8, 0}, {5, 1, 99, 0}, {0, 0, 0, 0}};
}

void expect_same(const Prog& p, const Spliced& s) {
    for (auto k : keys())
        EXPECT_EQ(run(p.insns, k.data()), run(s.insns, k.data())) << k[0] << " " << k[1] << " " << k[2];
}

bool calls_into(const std::vector<bpf_insn>& v, size_t at) {
    for (size_t i = 0; i < v.size(); ++i)
        if (v[i].code == (BPF_JMP | BPF_CALL) && int64_t(i) + 1 + v[i].imm == int64_t(at)) return true;
    return false;
}

TEST(WalkSplice, PlainBodyReplacesTheCallAndTheSubprogramGoes) {
    const Prog p = program(plain_body());
    auto s = splice_walk(p.insns, p.fi, p.walk);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->sites, 1u);
    EXPECT_EQ(s->calls_left, 0u);
    ASSERT_EQ(s->func_info.size(), 2u);  // the walk's subprogram dropped
    EXPECT_EQ(s->func_info[0].insn_off, 0u);
    const uint32_t other = s->func_info[1].insn_off;
    EXPECT_TRUE(calls_into(s->insns, other));  // the call of `other`, across the body, follows it
    EXPECT_EQ(s->insns.size(),
              p.insns.size() - 1 /*call*/ - 9 /*walk*/ + 5 /*body: no NULL test, no none block, last exit*/);
    for (const bpf_insn& x : s->insns) {
        EXPECT_FALSE(x.code == (BPF_JMP | BPF_JEQ | BPF_K) && x.dst_reg == 1 && x.imm == 0)
            << "NULL test left";
    }
    expect_same(p, *s);
}

TEST(WalkSplice, ForestRegistersAreRenamedToDeadOnes) {
    auto body = forest_body();
    body[0].off = int16_t(body.size() - 2 - 1);  // the none block
    const Prog p = program(body, false, /*r7_live=*/false);
    size_t at = 0;
    while (p.insns[at].code != (BPF_JMP | BPF_CALL)) ++at;
    auto s = splice_walk(p.insns, p.fi, p.walk);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->sites, 1u);
    // r6 (the key) is live after the call, r7-r9 are not: the body's w6 goes to r9.
    bool wrote6 = false, wrote9 = false;
    for (size_t i = at; i < at + 13; ++i) {
        if (BPF_CLASS(s->insns[i].code) == BPF_JMP || BPF_CLASS(s->insns[i].code) == BPF_JMP32) continue;
        wrote6 |= s->insns[i].dst_reg == 6;
        wrote9 |= s->insns[i].dst_reg == 9;
    }
    EXPECT_FALSE(wrote6);
    EXPECT_TRUE(wrote9);
    // The unknown zero: two loads of one key word, XORed, not the root.
    EXPECT_EQ(s->insns[at].code, BPF_LDX | BPF_MEM | BPF_W);
    EXPECT_EQ(s->insns[at + 1].code, BPF_LDX | BPF_MEM | BPF_W);
    EXPECT_EQ(s->insns[at + 2].code, BPF_ALU | BPF_XOR | BPF_X);
    // The result leaves through w0 ^= w8 (unknown to the verifier, as a called walk's result was).
    const bpf_insn& last = s->insns[at + 14];
    EXPECT_EQ(last.code, BPF_ALU | BPF_XOR | BPF_X);
    EXPECT_EQ(last.dst_reg, 0);
    EXPECT_EQ(last.src_reg, 8);
    expect_same(p, *s);
}

// A forest called where r6, r7 and r9 are live after the call, from a
// caller whose frame holds r7 at fp-24 (stored and read back before the call).
Prog forest_caller_with_frame(bool opaque) {
    auto body = forest_body();
    body[0].off = int16_t(body.size() - 2 - 1);
    Prog p = program(body, false, /*r7_live=*/true, /*r9_live=*/true, opaque);
    p.insns.insert(p.insns.begin() + 2, I(BPF_STX | BPF_MEM | BPF_DW, 10, 7, -24, 0));
    p.insns.insert(p.insns.begin() + 3, I(BPF_LDX | BPF_MEM | BPF_DW, 7, 10, -24, 0));
    for (size_t f = 1; f < p.fi.size(); ++f) p.fi[f].insn_off += 2;
    return p;
}

// r6, r7 and r9 live after the call, the forest needs three: r8 free, r6
// and r7 spilled around the copy into slots below the caller's frame (which
// uses fp-24 here), in place and out of line.
TEST(WalkSplice, TooFewDeadRegistersSpillLiveOnes) {
    Prog p = forest_caller_with_frame(/*opaque=*/true);
    for (bool ool : {false, true}) {
        SCOPED_TRACE(ool ? "out of line" : "in place");
        auto s = splice_walk(p.insns, p.fi, p.walk, kSpliceMaxDefault, ool);
        ASSERT_TRUE(s) << s.error().message;
        EXPECT_EQ(s->sites, 1u);
        EXPECT_EQ(s->calls_left, 0u);
        EXPECT_EQ(s->spilled, 2u);
        EXPECT_EQ(s->rematerialised, 0u);
        EXPECT_TRUE(s->kept_why.empty()) << s->kept_why;
        // Each spilled register stored below fp-24 and loaded back from the same slot.
        std::vector<int16_t> stores, loads;
        for (size_t i = 4; i < s->insns.size(); ++i) {
            const bpf_insn& x = s->insns[i];
            if (x.code == (BPF_STX | BPF_MEM | BPF_DW) && x.dst_reg == 10) stores.push_back(x.off);
            if (x.code == (BPF_LDX | BPF_MEM | BPF_DW) && x.src_reg == 10) loads.push_back(x.off);
        }
        EXPECT_EQ(stores, (std::vector<int16_t>{-40, -32}));
        EXPECT_EQ(loads, (std::vector<int16_t>{-40, -32}));
        expect_same(p, *s);
    }
}

// The same site where r7 is a constant and r1 the copy of r6: both made
// again after the copy (`r6 = r1`, `r7 = 1000`), no stack touched; out of
// line, the site keeps the forest's `w0 ^= w8` and those two after its goto,
// and every exit of the copy jumps straight back to them.
TEST(WalkSplice, LiveRegistersSetBeforeTheSiteAreMadeAgainNotSpilled) {
    Prog p = forest_caller_with_frame(/*opaque=*/false);
    // r7's last setting is the load from the stack: make it the constant again.
    p.insns.insert(p.insns.begin() + 4, mov(7, 1000));
    for (size_t f = 1; f < p.fi.size(); ++f) p.fi[f].insn_off += 1;
    for (bool ool : {false, true}) {
        SCOPED_TRACE(ool ? "out of line" : "in place");
        auto s = splice_walk(p.insns, p.fi, p.walk, kSpliceMaxDefault, ool);
        ASSERT_TRUE(s) << s.error().message;
        EXPECT_EQ(s->sites, 1u);
        EXPECT_EQ(s->calls_left, 0u);
        EXPECT_EQ(s->spilled, 0u);
        EXPECT_EQ(s->rematerialised, 2u);
        size_t stack = 0;
        for (const bpf_insn& x : s->insns)
            stack += (x.code == (BPF_STX | BPF_MEM | BPF_DW) && x.dst_reg == 10) ||
                     (x.code == (BPF_LDX | BPF_MEM | BPF_DW) && x.src_reg == 10);
        EXPECT_EQ(stack, 2u);  // the caller's own store and load of fp-24
        if (ool) {
            size_t site = 0;
            while (!(s->insns[site].code == (BPF_JMP | BPF_JA) && s->insns[site].off > 0 && site > 4)) ++site;
            EXPECT_EQ(s->insns[site + 1].code, BPF_ALU | BPF_XOR | BPF_X);
            EXPECT_EQ(s->insns[site + 2].code, BPF_ALU64 | BPF_MOV | BPF_X);
            EXPECT_EQ(s->insns[site + 2].dst_reg, 6);
            EXPECT_EQ(s->insns[site + 2].src_reg, 1);
            EXPECT_EQ(s->insns[site + 3].code, BPF_ALU | BPF_MOV | BPF_K);
            EXPECT_EQ(s->insns[site + 3].dst_reg, 7);
            const size_t c0 = site + 1 + size_t(s->insns[site].off);
            for (size_t i = c0; i < s->insns.size(); ++i) {
                const bpf_insn& x = s->insns[i];
                if (x.code == (BPF_JMP | BPF_JA) && int64_t(i) + 1 + x.off <= int64_t(site))
                    ADD_FAILURE() << "a jump back to before the site at " << i;
                if (x.code == (BPF_JMP | BPF_JA) && int64_t(i) + 1 + x.off < int64_t(c0) &&
                    int64_t(i) + 1 + x.off != int64_t(site + 1))
                    ADD_FAILURE() << "an exit of the copy not straight back at " << i;
            }
        }
        expect_same(p, *s);
    }
}

// With no stack room for the spill (the caller's frame at 512 bytes), the call stays.
TEST(WalkSplice, TooFewDeadRegistersAndNoStackRoomKeepTheCall) {
    auto body = forest_body();
    body[0].off = int16_t(body.size() - 2 - 1);
    Prog p = program(body, false, /*r7_live=*/true, /*r9_live=*/true, /*opaque=*/true);
    p.insns.insert(p.insns.begin() + 2, I(BPF_STX | BPF_MEM | BPF_DW, 10, 7, -512, 0));
    for (size_t f = 1; f < p.fi.size(); ++f) p.fi[f].insn_off += 1;
    auto s = splice_walk(p.insns, p.fi, p.walk);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->sites, 0u);
    EXPECT_EQ(s->calls_left, 1u);
    EXPECT_EQ(s->spilled, 0u);
    EXPECT_NE(s->kept_why.find("callee-saved"), std::string::npos) << s->kept_why;
    EXPECT_EQ(s->insns.size(), p.insns.size());
    expect_same(p, *s);
}

TEST(WalkSplice, EveryCallSiteGetsItsCopy) {
    const Prog p = program(plain_body(), /*second_site=*/true);
    auto s = splice_walk(p.insns, p.fi, p.walk);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->sites, 2u);
    EXPECT_EQ(s->func_info.size(), 2u);
    expect_same(p, *s);
}

// Valid code that is not the generator's shape (no NULL test first) stays called.
TEST(WalkSplice, ABodyWithoutTheNullTestStaysCalled) {
    auto b = plain_body();
    b[0] = mov(0, 0);
    const Prog p = program(b);
    auto s = splice_walk(p.insns, p.fi, p.walk);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->sites, 0u);
    EXPECT_EQ(s->calls_left, 1u);
    EXPECT_NE(s->kept_why.find("NULL test"), std::string::npos) << s->kept_why;
    EXPECT_EQ(s->insns.size(), p.insns.size());
}

TEST(WalkSplice, LimitZeroOrAboveKeepsTheProgram) {
    const Prog p = program(plain_body());
    for (size_t max : {size_t(0), size_t(8)}) {
        auto s = splice_walk(p.insns, p.fi, p.walk, max);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->sites, 0u);
        EXPECT_EQ(s->calls_left, 1u);
        EXPECT_EQ(s->insns.size(), p.insns.size());
        EXPECT_EQ(s->func_info.size(), 3u);
    }
}

// A body with pad filler instructions between its start and its ends: its
// `gotol none` at 1 reaches past them, its first exit (5) is far from the end.
std::vector<bpf_insn> long_body(size_t pad) {
    std::vector<bpf_insn> body = {
        I(BPF_JMP | BPF_JNE | BPF_K, 1, 0, 1, 0),  // 0: if r1 != 0 goto 2
        I(BPF_JMP32 | BPF_JA, 0, 0, 0, 0),         // 1: gotol none (set below)
        ldw(3, 1, 0),                              // 2
        jne(3, 5, 2),                              // 3: -> 6
        mov(0, 70),                                // 4
        ex(),                                      // 5: far from the end
    };
    for (size_t i = 0; i < pad; ++i) body.push_back(mov(4, int32_t(i)));
    body.push_back(mov(0, 90));
    body.push_back(ex());
    const size_t none = body.size();
    body.push_back(mov(0, -1));
    body.push_back(ex());
    body[1].imm = int32_t(none) - 2;
    return body;
}

// A body longer than a 16-bit offset: an exit far from its end becomes a
// gotol, and the caller's conditional jump across it goes through a gotol
// placed before the copy, behind a goto over it.
TEST(WalkSplice, LongBodiesUseGotolAndACallerJumpAcrossGoesThroughATrampoline) {
    const size_t pad = 40000;
    const std::vector<bpf_insn> body = long_body(pad);
    const Prog p = program(body);
    auto s = splice_walk(p.insns, p.fi, p.walk, 1000000);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->sites, 1u);  // the caller's `if r2 == 99` jumps across the site
    EXPECT_TRUE(s->kept_why.empty()) << s->kept_why;
    size_t far = 0;
    for (const bpf_insn& x : s->insns) far += x.code == (BPF_JMP32 | BPF_JA);
    EXPECT_EQ(far, 2u);  // the far exit and the trampoline
    size_t jeq99 = 0;
    while (!(s->insns[jeq99].code == (BPF_JMP | BPF_JEQ | BPF_K) && s->insns[jeq99].imm == 99)) ++jeq99;
    const size_t tramp = jeq99 + 1 + size_t(s->insns[jeq99].off);
    EXPECT_EQ(s->insns[tramp].code, BPF_JMP32 | BPF_JA);
    EXPECT_EQ(s->insns[tramp - 1].code, BPF_JMP | BPF_JA);  // the way into the copy goes over it
    EXPECT_EQ(s->insns[tramp - 1].off, 1);
    expect_same(p, *s);

    // Without that jump: spliced, the far exit as a gotol.
    Prog q = p;
    size_t j = 0;
    while (q.insns[j].code != (BPF_JMP | BPF_JEQ | BPF_K)) ++j;
    q.insns[j] = ja(0);
    auto t = splice_walk(q.insns, q.fi, q.walk, 1000000);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->sites, 1u);
    size_t gotols = 0;
    for (const bpf_insn& x : t->insns) gotols += x.code == (BPF_JMP32 | BPF_JA);
    EXPECT_EQ(gotols, 1u);
    expect_same(q, *t);
}

// A body beyond kSpliceMaxInsns goes in place of the last call only; the
// earlier one (the tunnel pre-walk, dead code whenever the loader lets such
// a body through) becomes `w0 = SECPOL_NO_RULE`, so no call is left and the
// subprogram goes (kept, the verifier's whole-program passes went over it
// too). The result: the original program with that call answering no rule.
TEST(WalkSplice, ABodyBeyondTheLimitLeavesNoCallAndTheSubprogramGoes) {
    const std::vector<bpf_insn> body = long_body(backend::kSpliceMaxInsns);
    const Prog p = program(body, /*second_site=*/true);
    auto s = splice_walk(p.insns, p.fi, p.walk, 1000000);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->sites, 1u);
    EXPECT_EQ(s->dead_sites, 1u);
    EXPECT_EQ(s->calls_left, 0u);
    EXPECT_TRUE(s->kept_why.empty()) << s->kept_why;
    EXPECT_EQ(s->func_info.size(), 2u);  // the walk's subprogram is gone
    size_t calls = 0;                    // the other subprogram's alone
    for (const bpf_insn& x : s->insns) calls += x.code == (BPF_JMP | BPF_CALL);
    EXPECT_EQ(calls, 1u);
    Prog e = p;  // the first call answering no rule
    size_t first = 0;
    while (!(e.insns[first].code == (BPF_JMP | BPF_CALL) &&
             int64_t(first) + 1 + e.insns[first].imm == int64_t(p.fi[2].insn_off)))
        ++first;
    e.insns[first] = mov(0, int32_t(SECPOL_NO_RULE));
    EXPECT_EQ(s->insns[first].code, e.insns[first].code);
    EXPECT_EQ(s->insns[first].dst_reg, e.insns[first].dst_reg);
    EXPECT_EQ(s->insns[first].imm, e.insns[first].imm);
    for (auto k : keys())
        EXPECT_EQ(run(e.insns, k.data()), run(s->insns, k.data())) << k[0] << " " << k[1] << " " << k[2];
}

TEST(WalkSplice, BodiesOutsideTheContractAreRefused) {
    auto with = [](size_t at, bpf_insn x) {
        auto b = plain_body();
        b[at] = x;
        return b;
    };
    const std::vector<std::vector<bpf_insn>> bad = {
        with(3, I(BPF_STX | BPF_MEM | BPF_W, 10, 3, -4, 0)),  // a stack store
        with(3, movx(0, 10)),                                 // the frame pointer
        with(3, I(BPF_JMP | BPF_CALL, 0, 0, 0, 1)),           // a helper call
        with(1, ldw(3, 2, 0)),                                // a load not from the key
        with(4, ja(-3)),                                      // a jump back
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        const Prog p = program(bad[i]);
        auto s = splice_walk(p.insns, p.fi, p.walk);
        EXPECT_FALSE(s) << "case " << i;
        if (!s) {
            EXPECT_NE(s.error().message.find("not spliced"), std::string::npos) << s.error().message;
        }
    }
}

// The entry program's copies out of line: each site a goto to its copy after
// the caller's last instruction, the copy's exits straight back after the
// site; the caller's other blocks keep their places.
// Out of line, an exit of a single tree right after `w0 = K` goes to the
// outcome of the caller's test of w0 that follows the site, 32- or 64-bit;
// the copy's end still goes to the test (which must stay reachable).
TEST(WalkSplice, EntryCopyExitsGoPastTheCallersTestOfTheirConstant) {
    auto body = plain_body();
    body[5] = mov(0, -1);  // w3 != 5: no rule
    for (int tested : {1, 2}) {
        SCOPED_TRACE(tested == 1 ? "if w0 != -1" : "if r0 == -1");
        const Prog p = program(body, false, /*r7_live=*/true, false, false, tested);
        auto s = splice_walk(p.insns, p.fi, p.walk, kSpliceMaxDefault, /*entry_out_of_line=*/true);
        ASSERT_TRUE(s) << s.error().message;
        ASSERT_EQ(s->entry_sites, 1u);
        size_t site = 0;
        while (!(s->insns[site].code == (BPF_JMP | BPF_JA) && s->insns[site].off > 0)) ++site;
        const size_t test = site + 1, c0 = site + 1 + size_t(s->insns[site].off);
        ASSERT_EQ(s->insns[test].code, (tested == 1 ? jne(0, -1, 1) : jeq(0, -1, 1)).code);
        // The copy: ldw, jne, w0 = 70, its exit, w0 = -1, its end (a goto).
        ASSERT_LT(c0 + 5, s->insns.size());
        auto target = [&](size_t i) { return i + 1 + size_t(int64_t(s->insns[i].off)); };
        // 70 is not -1: past `w0 = 55` (`!= -1` taken) or onto it (`== -1` not taken).
        EXPECT_EQ(target(c0 + 3), tested == 1 ? test + 2 : test + 1);
        EXPECT_EQ(target(c0 + 5), test);
        expect_same(p, *s);
    }
}

TEST(WalkSplice, EntryCopiesOutOfLineDecideAlike) {
    for (bool forest : {false, true}) {
        SCOPED_TRACE(forest ? "forest" : "plain");
        auto body = forest ? forest_body() : plain_body();
        if (forest) body[0].off = int16_t(body.size() - 2 - 1);
        const Prog p = program(body, /*second_site=*/true, /*r7_live=*/!forest);
        auto in_place = splice_walk(p.insns, p.fi, p.walk);
        auto ool = splice_walk(p.insns, p.fi, p.walk, kSpliceMaxDefault, /*entry_out_of_line=*/true);
        ASSERT_TRUE(in_place && ool) << (in_place ? ool.error().message : in_place.error().message);
        ASSERT_EQ(in_place->sites, 2u);
        ASSERT_EQ(ool->sites, 2u);
        EXPECT_EQ(ool->entry_sites, 2u);
        // Two gotos more per copy: the site's and the one back.
        EXPECT_EQ(ool->insns.size(), in_place->insns.size() + 4);
        // The caller's exit comes before the copies, which fill the rest of its function:
        // as many instructions as the in-place copies plus the two gotos back.
        size_t first_exit = 0;
        while (ool->insns[first_exit].code != (BPF_JMP | BPF_EXIT)) ++first_exit;
        const size_t in_place_exit = in_place->func_info[1].insn_off - 1;
        const size_t copies = ool->func_info[1].insn_off - first_exit - 1;
        EXPECT_EQ(copies, in_place_exit - first_exit + 2 /*sites now gotos*/ + 2 /*gotos back*/);
        EXPECT_TRUE(calls_into(ool->insns, ool->func_info[1].insn_off));
        expect_same(p, *ool);
    }
}

}  // namespace
}  // namespace secpol::rt
