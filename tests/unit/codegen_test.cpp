// compiler/backend/codegen.cpp: the generated instructions, run by a small
// interpreter of the opcodes the generator emits, return exactly the packed
// decision of the rule the tree walk returns, for forests and for programs large enough to need
// `gotol` trampolines. (The kernel runs the same code in tests/bpf/codegen_test.cpp.)
#include "backend/codegen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <set>

#include "backend/compile.h"
#include "backend/dump.h"
#include "front/frontend.h"
#include "gen/classbench.h"
#include "gen/generator.h"
#include "interp/bpf_interp.h"

namespace secpol {
namespace {

// Returns w0, or fails the test on an opcode the generator must not emit.
// loads (if given) counts the loads of each key word.
uint32_t run(const std::vector<bpf_insn>& code, const secpol_key* key, uint32_t root,
             std::array<unsigned, SECPOL_NF>* loads = nullptr) {
    testsupport::InterpOptions opt;
    opt.max_steps = 10 * code.size() + 10;
    opt.on_insn = [&](size_t, const bpf_insn& in) {
        const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
        if (cls == BPF_LDX) {
            EXPECT_EQ(in.src_reg, 1);
            EXPECT_TRUE(in.off >= 0 && in.off < 64 && in.off % 4 == 0);
            if (loads && in.off >= 0 && in.off < 64) ++(*loads)[in.off / 4];
            if (in.code == (BPF_LDX | BPF_MEM | BPF_DW))
                EXPECT_TRUE(in.off % 8 == 0 && in.off < 32);  // a pair of address words
            else
                EXPECT_EQ(in.code, BPF_LDX | BPF_MEM | BPF_W);
        } else if (cls == BPF_ALU64 || (cls == BPF_ALU && op != BPF_MOV && op != BPF_XOR && op != BPF_AND)) {
            ADD_FAILURE() << "alu op " << int(in.code);
        } else if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_JA && op != BPF_EXIT) {
            EXPECT_NE(op, BPF_CALL);
            EXPECT_EQ(BPF_SRC(in.code), BPF_K);
            // JMP32 compares the low words unsigned; the only 64-bit compares are
            // against 0: the NULL check and a pair of address words (inverted when
            // the target is beyond 16 bits).
            if (cls == BPF_JMP) {
                EXPECT_TRUE(in.imm == 0 && (op == BPF_JEQ || op == BPF_JNE));
            }
        }
    };
    const testsupport::InterpResult res =
        testsupport::interpret(code, reinterpret_cast<uint64_t>(key), root, opt);
    EXPECT_TRUE(res.ok()) << res.error;
    return res.ok() ? uint32_t(res.r0) : 0;
}

// The verifier's view of a body, as far as it decides branches: the u32
// range of each register (a load gives any value, a move of a constant that
// value, ALU on an unknown anything), refined by every conditional jump on
// the edge it takes, joined (hull) where edges meet. A compare this view
// decides is decided on every path into it, so the verifier would find one
// of its edges dead and remove the code behind it (one pass over the whole
// program per block): the generator must not emit one. Returns the number
// of decided compares and of instructions no edge reaches.
struct DeadCode {
    size_t decided = 0, unreached = 0;
};

DeadCode dead_code(const std::vector<bpf_insn>& code) {
    struct Reg {
        uint32_t lo = 0, hi = UINT32_MAX;
    };
    using Regs = std::array<Reg, 11>;
    const size_t n = code.size();
    if (n == 0) return {};
    auto succ = [&](size_t i, std::vector<size_t>& out) {
        out.clear();
        const bpf_insn& in = code[i];
        const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
        if (in.code == (BPF_JMP | BPF_EXIT)) return;
        if (in.code == (BPF_JMP | BPF_JA)) return out.push_back(i + 1 + in.off);
        if (in.code == (BPF_JMP32 | BPF_JA)) return out.push_back(i + 1 + in.imm);
        out.push_back(i + 1);
        if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL) out.push_back(i + 1 + in.off);
    };
    std::vector<size_t> indeg(n, 0), s;
    std::vector<uint8_t> seen(n, 0);
    std::vector<size_t> stack{0};
    seen[0] = 1;
    while (!stack.empty()) {
        size_t i = stack.back();
        stack.pop_back();
        succ(i, s);
        for (size_t t : s) {
            EXPECT_LT(t, n) << "jump out of the body at " << i;
            if (t >= n) continue;
            ++indeg[t];
            if (!seen[t]) seen[t] = 1, stack.push_back(t);
        }
    }
    std::vector<Regs> in(n);
    std::vector<uint8_t> reached(n, 0);
    reached[0] = 1;
    DeadCode dc;
    std::vector<size_t> ready{0};
    size_t done = 0;
    auto flow_to = [&](size_t t, const Regs& r) {
        if (!reached[t]) {
            reached[t] = 1;
            in[t] = r;
        } else {
            for (size_t k = 0; k < r.size(); ++k)
                in[t][k] = {std::min(in[t][k].lo, r[k].lo), std::max(in[t][k].hi, r[k].hi)};
        }
    };
    while (!ready.empty()) {
        const size_t i = ready.back();
        ready.pop_back();
        ++done;
        const bpf_insn& ins = code[i];
        Regs r = in[i];
        const uint8_t cls = BPF_CLASS(ins.code), op = BPF_OP(ins.code);
        std::array<std::pair<size_t, Regs>, 2> edges{};
        size_t ne = 0;
        if (cls == BPF_LDX) {
            r[ins.dst_reg] = {};
            edges[ne++] = {i + 1, r};
        } else if (cls == BPF_ALU) {
            const bool k = BPF_SRC(ins.code) == BPF_K;
            const Reg src = k ? Reg{uint32_t(ins.imm), uint32_t(ins.imm)} : r[ins.src_reg];
            Reg& d = r[ins.dst_reg];
            if (op == BPF_MOV)
                d = src;
            else if (d.lo == d.hi && src.lo == src.hi)
                d.lo = d.hi = op == BPF_XOR ? d.lo ^ src.lo : d.lo & src.lo;
            else
                d = {};
            edges[ne++] = {i + 1, r};
        } else if (ins.code == (BPF_JMP | BPF_EXIT)) {
        } else if (op == BPF_JA) {
            edges[ne++] = {i + 1 + (cls == BPF_JMP32 ? ins.imm : ins.off), r};
        } else if (cls == BPF_JMP) {  // 64-bit: the NULL key check and a pair of address words against 0
            edges[ne++] = {i + 1, r};
            edges[ne++] = {i + 1 + ins.off, r};
        } else {  // JMP32 against a constant: which values take the jump
            const Reg v = r[ins.dst_reg];
            const uint32_t c = uint32_t(ins.imm);
            Reg t = v, f = v;  // taken, fall-through
            bool t_empty = false, f_empty = false;
            auto below = [](Reg x, uint32_t hi, bool& empty) {  // x ∩ [0, hi]
                empty = x.lo > hi;
                return Reg{x.lo, std::min(x.hi, hi)};
            };
            auto above = [](Reg x, uint32_t lo, bool& empty) {  // x ∩ [lo, max]
                empty = x.hi < lo;
                return Reg{std::max(x.lo, lo), x.hi};
            };
            auto except = [](Reg x, uint32_t c, bool& empty) {  // x \ {c}, as a range
                empty = x.lo == c && x.hi == c;
                if (x.lo == c && !empty)
                    ++x.lo;
                else if (x.hi == c && !empty)
                    --x.hi;
                return x;
            };
            auto only = [](Reg x, uint32_t c, bool& empty) {
                empty = c < x.lo || c > x.hi;
                return Reg{c, c};
            };
            switch (op) {
                case BPF_JEQ:
                    t = only(v, c, t_empty), f = except(v, c, f_empty);
                    break;
                case BPF_JNE:
                    t = except(v, c, t_empty), f = only(v, c, f_empty);
                    break;
                case BPF_JLT:
                    t = c ? below(v, c - 1, t_empty) : (t_empty = true, v), f = above(v, c, f_empty);
                    break;
                case BPF_JGE:
                    f = c ? below(v, c - 1, f_empty) : (f_empty = true, v), t = above(v, c, t_empty);
                    break;
                case BPF_JGT:
                    f = below(v, c, f_empty),
                    t = c == UINT32_MAX ? (t_empty = true, v) : above(v, c + 1, t_empty);
                    break;
                case BPF_JLE:
                    t = below(v, c, t_empty),
                    f = c == UINT32_MAX ? (f_empty = true, v) : above(v, c + 1, f_empty);
                    break;
                default:
                    ADD_FAILURE() << "jmp32 op " << int(op);
            }
            if (t_empty || f_empty) ++dc.decided;
            Regs rt = r, rf = r;
            rt[ins.dst_reg] = t;
            rf[ins.dst_reg] = f;
            if (!f_empty) edges[ne++] = {i + 1, rf};
            if (!t_empty) edges[ne++] = {i + 1 + ins.off, rt};
        }
        // Every syntactic edge counts down the target's in-degree, live or
        // not, so the walk is a topological order of the whole graph.
        succ(i, s);
        for (size_t e = 0; e < ne; ++e)
            if (edges[e].first < n) flow_to(edges[e].first, edges[e].second);
        for (size_t t : s)
            if (t < n && --indeg[t] == 0) ready.push_back(t);
    }
    EXPECT_EQ(done, size_t(std::count(seen.begin(), seen.end(), 1))) << "the body has a cycle";
    for (size_t i = 0; i < n; ++i) dc.unreached += !reached[i] || !seen[i];
    return dc;
}

// Keys on and around every bound the program tests, plus random words.
secpol_key boundary_key(const tree::Program& prog, std::mt19937_64& rng) {
    secpol_key k{};
    std::uniform_int_distribution<size_t> pick(0, prog.nodes.size() - 1);
    for (unsigned f = 0; f < SECPOL_NF; ++f) {
        const secpol_node& n = prog.nodes[pick(rng)];
        const uint32_t v = rng() % 2 ? n.lo : n.hi;
        switch (rng() % 5) {
            case 0:
                k.w[f] = v - 1;
                break;
            case 1:
                k.w[f] = v + 1;
                break;
            case 2:
                k.w[f] = uint32_t(rng());
                break;
            default:
                k.w[f] = v;
        }
        if (f >= SECPOL_F_SRC_LOCAL) k.w[f] &= 1;
    }
    if (rng() % 2) {  // IPv4-mapped most of the time, like real traffic
        k.w[0] = k.w[1] = k.w[4] = k.w[5] = 0;
        k.w[2] = k.w[6] = 0xffff;
    }
    return k;
}

struct Case {
    unsigned forests = 0, long_jumps = 0;
};

// Every jump goes forward: the x86 JIT's jump sizes converge on those (see
// generate_body), and a body with jumps back failed to JIT.
size_t backward_jumps(const std::vector<bpf_insn>& code) {
    size_t back = 0;
    for (const bpf_insn& in : code) {
        const uint8_t cls = BPF_CLASS(in.code);
        if ((cls != BPF_JMP && cls != BPF_JMP32) || in.code == (BPF_JMP | BPF_EXIT)) continue;
        back += (in.code == (BPF_JMP32 | BPF_JA) ? in.imm : in.off) < 0;
    }
    return back;
}

void expect_no_dead_code(const backend::CodeBody& body, uint64_t seed) {
    EXPECT_EQ(backward_jumps(body.insns), 0u) << "seed " << seed;
    const DeadCode dc = dead_code(body.insns);
    EXPECT_EQ(dc.decided, 0u) << "seed " << seed << ": compares the path already decides";
    EXPECT_EQ(dc.unreached, 0u) << "seed " << seed << ": instructions no path reaches";
}

void check_policy(const ir::Policy& policy, unsigned keys, uint64_t seed, Case& seen) {
    const tree::Program prog = tree::build(policy);
    const std::vector<secpol_rule> rules = backend::make_rules(policy);
    const backend::Generated g = backend::generate(prog, rules);
    ASSERT_EQ(g.form, backend::WalkerForm::Generated) << g.reason;
    seen.forests += g.forest;
    seen.long_jumps += g.long_jumps() > 0;
    std::mt19937_64 rng(seed);
    EXPECT_EQ(run(g.in.insns, nullptr, prog.root_in), SECPOL_NO_RULE);
    EXPECT_EQ(run(g.egress().insns, nullptr, prog.root_out), SECPOL_NO_RULE);
    EXPECT_EQ(g.out.insns.empty(), prog.root_in == prog.root_out);
    expect_no_dead_code(g.in, seed);
    expect_no_dead_code(g.out, seed);
    for (unsigned i = 0; i < keys; ++i) {
        const secpol_key k = boundary_key(prog, rng);
        for (uint32_t root : {prog.root_in, prog.root_out}) {
            const int64_t want = tree::walk(prog, root, k);
            const uint32_t got = run(root == prog.root_in ? g.in.insns : g.egress().insns, &k, root);
            // The leaf's packed decision: the rule's id and what it does.
            ASSERT_EQ(got, want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want)))
                << "seed " << seed << " key #" << i;
            if (want >= 0) {
                ASSERT_EQ(secpol_pk_rule(got), uint32_t(want));
            }
        }
    }
}

ir::Policy policy_of(const std::string& text) {
    front::Diagnostics diags;
    auto p = front::compile_text(text, "codegen.pol", diags);
    if (!p) throw std::runtime_error("generated policy does not compile");
    return std::move(*p);
}

TEST(Codegen, GeneratedCodeEqualsTheTreeWalk) {
    Case seen;
    for (uint64_t seed = 1; seed <= 60; ++seed) {
        static const unsigned sizes[] = {1, 4, 12, 40, 100, 300};
        check_policy(policy_of(gen::generate_policy(gen::differential_options(seed, sizes[seed % 6]))), 2000,
                     seed, seen);
    }
    EXPECT_GT(seen.forests, 0u);  // best-candidate registers exercised
}

TEST(Codegen, LongJumpsGoThroughGotol) {
    gen::Options o;
    o.filters = 2000;  // each direction's body beyond 32k instructions
    o.seed = 3;
    Case seen;
    check_policy(policy_of(gen::generate_policy(o)), 5000, 3, seen);
    EXPECT_EQ(seen.long_jumps, 1u);
}

TEST(Codegen, OverBudgetKeepsTheNodeArrayWalker) {
    gen::Options o;
    o.filters = 100;
    const ir::Policy pol = policy_of(gen::generate_policy(o));
    const tree::Program prog = tree::build(pol);
    backend::CodegenLimits lim;
    lim.max_insns = 50;
    const backend::Generated g = backend::generate(prog, backend::make_rules(pol), lim);
    EXPECT_EQ(g.form, backend::WalkerForm::NodeArray);
    EXPECT_TRUE(g.in.insns.empty() && g.out.insns.empty());
    EXPECT_NE(g.reason.find("more than 50"), std::string::npos) << g.reason;
}

// secpol_pack_rule (secpol_abi.h), what every leaf returns: the bits of each
// action kind, the rule's first counter slot above them (runtime/counters.h
// rule_slot(rule, 0, 0), so the program adds only the direction and the
// verdict), the rule id back from it
// (secpol_pk_rule), never SECPOL_NO_RULE, and a rule id the table does not
// hold packs to no rule (the default).
TEST(Codegen, PackedDecisionOfEachActionKind) {
    const uint32_t in = SECPOL_PK_BLOCK_IN, out = SECPOL_PK_BLOCK_OUT, sec = SECPOL_PK_SECURE;
    const struct {
        secpol_rule r;
        uint32_t bits;
        const char* kind;
    } cases[] = {
        {{SECPOL_ACT_PERMIT, 0}, 0, "permit"},
        {{SECPOL_ACT_BLOCK, 0}, in | out, "block"},
        {{SECPOL_ACT_SECURE, 0}, sec | in | out, "secure"},
        {{SECPOL_ACT_SECURE, SECPOL_RULE_ACCEPT_CLEAR}, sec | out, "secure accept-clear"},
        {{SECPOL_ACT_SECURE, SECPOL_RULE_FALLBACK_CLEAR}, sec | in, "secure fallback-clear"},
        {{SECPOL_ACT_SECURE, SECPOL_RULE_ACCEPT_CLEAR | SECPOL_RULE_FALLBACK_CLEAR},
         sec,
         "secure accept-clear fallback-clear"},
        {{SECPOL_ACT_SECURE, SECPOL_RULE_TUNNEL | SECPOL_RULE_LOG},
         sec | in | out | SECPOL_PK_TUNNEL | SECPOL_PK_LOG,
         "secure tunnel log"},
        {{SECPOL_ACT_PERMIT, SECPOL_RULE_ACCEPT_CLEAR}, 0, "permit"},  // clear flags mean nothing to permit
        {{7, 0}, in | out, "block"},  // an action the program does not know blocks
    };
    for (const auto& c : cases) {
        for (uint32_t rule : {0u, 1u, 12345u, SECPOL_PK_MAX_RULES - 1}) {
            const uint32_t v = secpol_pack_rule(rule, c.r.action, c.r.flags);
            const uint32_t slot0 = SECPOL_CNT_RULE_BASE + rule * 2 * SECPOL_RV_COUNT;
            EXPECT_EQ(v, slot0 << SECPOL_PK_SHIFT | c.bits) << c.kind << " rule " << rule;
            EXPECT_EQ(v >> SECPOL_PK_SHIFT, slot0);
            for (uint32_t dir : {0u, 1u})
                for (uint32_t rv = 0; rv < SECPOL_RV_COUNT; ++rv)
                    EXPECT_EQ((v >> SECPOL_PK_SHIFT) + dir * SECPOL_RV_COUNT + rv,
                              SECPOL_CNT_RULE_BASE + (rule * 2 + dir) * SECPOL_RV_COUNT + rv);
            EXPECT_EQ(secpol_pk_rule(v), rule);
            EXPECT_NE(v, SECPOL_NO_RULE);
            EXPECT_EQ(backend::packed_kind(v), c.kind);
        }
        const std::vector<secpol_rule> table = {c.r, c.r};
        EXPECT_EQ(backend::packed_decision(table, 1),
                  (SECPOL_CNT_RULE_BASE + 2 * SECPOL_RV_COUNT) << SECPOL_PK_SHIFT | c.bits);
        EXPECT_EQ(backend::packed_decision(table, 2), SECPOL_NO_RULE);
    }
}

// An edge goes past the nodes its own knowledge decides (threading), even
// where the join it leads to must test them for its other entries: in a
// forest of IPv4 terms, a packet that passed the first tree's family test
// does not test the family again at the later trees' entries (before
// threading, ClassBench fw1_1k loaded src2 up to four times a walk).
TEST(Codegen, ThreadedEdgesDoNotTestTheFamilyAgainAtEachTree) {
    const std::string dir = std::string(SECPOL_SHARED_DIR) + "/classbench/";
    const ir::Policy pol = gen::classbench_policy(dir + "fw1_1k");
    tree::BuildStats stats;
    const tree::Program prog = tree::build(pol, {.stats = &stats});
    ASSERT_GT(stats.trees, 1u) << "fw1_1k is expected to be a forest";
    const std::vector<secpol_rule> rules = backend::make_rules(pol);
    const backend::Generated g = backend::generate(prog, rules);
    ASSERT_EQ(g.form, backend::WalkerForm::Generated);
    size_t walks = 0;
    for (const auto& h : gen::classbench_trace(dir + "fw1_1k_trace")) {
        const secpol_key k = gen::classbench_key(h);
        std::array<unsigned, SECPOL_NF> loads{};
        const int64_t want = tree::walk(prog, prog.root_in, k);
        ASSERT_EQ(run(g.in.insns, &k, prog.root_in, &loads),
                  want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want)));
        ASSERT_LE(loads[SECPOL_F_SRC2], 1u) << "trace line " << walks;
        ++walks;
    }
    EXPECT_GT(walks, 1000u);
}

// The bench's generated policies (gen::bench_options): from 1,000
// filters the first tree tests the source's first word for IPv6 prefixes,
// so the failures of the two upper words, which know different things of
// it, thread to different nodes. The pair stays one 64-bit test (split on
// its fail side): an IPv4 packet loads its family words twice (the pair,
// the 0xffff word) per address, where two 32-bit tests and the third made
// three. Keys whose family words look half IPv4-mapped (each word 0, or
// 0xffff for the third, or not) walk as the tree does.
TEST(Codegen, SplitFamilyPairIsOneTestForIpv4) {
    for (unsigned n : {100u, 1000u}) {
        const ir::Policy pol = policy_of(gen::generate_policy(gen::bench_options(n, true)));
        Case seen;
        check_policy(pol, 1000, n, seen);
        const tree::Program prog = tree::build(pol);
        const std::vector<secpol_rule> rules = backend::make_rules(pol);
        const backend::Generated g = backend::generate(prog, rules);
        ASSERT_EQ(g.form, backend::WalkerForm::Generated);
        std::mt19937_64 rng(n);
        unsigned most = 0;
        for (unsigned i = 0; i < 4000; ++i) {
            secpol_key k = boundary_key(prog, rng);
            const bool v4 = i % 2 == 0;
            for (unsigned a : {SECPOL_F_SRC0, SECPOL_F_DST0}) {
                k.w[a] = v4 || rng() % 2 ? 0 : uint32_t(rng()) | 1;
                k.w[a + 1] = v4 || rng() % 2 ? 0 : uint32_t(rng()) | 1;
                k.w[a + 2] = v4 || rng() % 2 ? 0xffff : uint32_t(rng()) & ~1u;
            }
            for (uint32_t root : {prog.root_in, prog.root_out}) {
                std::array<unsigned, SECPOL_NF> loads{};
                const int64_t want = tree::walk(prog, root, k);
                ASSERT_EQ(run(root == prog.root_in ? g.in.insns : g.egress().insns, &k, root, &loads),
                          want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want)))
                    << n << " filters, key #" << i;
                if (!v4) continue;
                for (unsigned a : {SECPOL_F_SRC0, SECPOL_F_DST0}) {
                    const unsigned fam = loads[a] + loads[a + 1] + loads[a + 2];
                    ASSERT_LE(fam, 2u) << n << " filters, key #" << i << (a ? " destination" : " source");
                    most = std::max(most, fam);
                }
            }
        }
        EXPECT_EQ(most, 2u) << n << " filters: the family is tested";
    }
}

// A forest's walk ends with `w0 = w6; exit`. Where a test would go on to
// that end with an unconditional jump (a flag guard's clear side), it ends
// there instead: one taken jump fewer, often a far one. The only
// unconditional jumps left to the end are a candidate's (after its `w7 =
// prio`) and trampolines of conditional jumps beyond 16 bits (nothing falls
// into them: after an exit or a jump, or an inverted `if !cond goto +1`).
TEST(Codegen, ForestEndCopiedInPlaceOfAJumpToIt) {
    gen::Options o;
    o.filters = 1000;
    o.seed = 77;
    const ir::Policy pol = policy_of(gen::generate_policy(o));
    Case seen;
    check_policy(pol, 1000, 77, seen);
    ASSERT_EQ(seen.forests, 1u);
    const tree::Program prog = tree::build(pol);
    const backend::Generated g = backend::generate(prog, backend::make_rules(pol));
    ASSERT_EQ(g.form, backend::WalkerForm::Generated);
    for (const backend::CodeBody* b : {&g.in, &g.out}) {
        const std::vector<bpf_insn>& c = b->insns;
        auto is_end = [&](int64_t t) {
            return t >= 0 && size_t(t) + 1 < c.size() && c[t].code == (BPF_ALU | BPF_MOV | BPF_X) &&
                   c[t].dst_reg == BPF_REG_0 && c[t].src_reg == BPF_REG_6 &&
                   c[t + 1].code == (BPF_JMP | BPF_EXIT);
        };
        size_t ends = 0;
        for (size_t i = 0; i < c.size(); ++i) {
            ends += is_end(int64_t(i));
            const bool ja = c[i].code == (BPF_JMP | BPF_JA), gotol = c[i].code == (BPF_JMP32 | BPF_JA);
            if (!(ja || gotol) || !is_end(int64_t(i) + 1 + (gotol ? c[i].imm : c[i].off))) continue;
            ASSERT_GT(i, 0u);
            const bpf_insn& p = c[i - 1];
            const uint8_t cls = BPF_CLASS(p.code);
            const bool after_end = p.code == (BPF_JMP | BPF_EXIT) || p.code == (BPF_JMP | BPF_JA) ||
                                   p.code == (BPF_JMP32 | BPF_JA);
            const bool inverted = (cls == BPF_JMP || cls == BPF_JMP32) && p.off == 1;
            const bool candidate = p.code == (BPF_ALU | BPF_MOV | BPF_K) && p.dst_reg == BPF_REG_7;
            EXPECT_TRUE(after_end || inverted || candidate)
                << "instruction " << i << " jumps to the end unconditionally";
        }
        EXPECT_GT(ends, 1u) << "the end is copied";
    }
}

TEST(Codegen, ListingNamesTheFilterAtEachLeaf) {
    const ir::Policy pol = policy_of(
        "policy \"l\"\norder first-match\ndefault block\n"
        "permit proto tcp from 10.0.0.0/8 to any port 22 \"ssh\"\n"
        "block proto udp from any to 192.168.1.0/24 port 53 \"dns\"\n");
    const tree::Program prog = tree::build(pol);
    const backend::Generated g = backend::generate(prog, backend::make_rules(pol));
    ASSERT_EQ(g.form, backend::WalkerForm::Generated);
    const std::string l = backend::listing(g.in, {"\"ssh\" l.pol:4", "\"dns\" l.pol:5"});
    // The packed decision (the rule's first counter slot << 5 | kind bits:
    // slots 32 and 38) and what it means.
    EXPECT_NE(l.find("w0 = 0x400\t; rule 0 permit \"ssh\" l.pol:4"), std::string::npos) << l;
    EXPECT_NE(l.find("w0 = 0x4c3\t; rule 1 block \"dns\" l.pol:5"), std::string::npos) << l;
    // Key words go to whichever register is free (r3, r4, r5, r0, r2).
    EXPECT_NE(l.find(" = *(u32 *)(r1 +40)\t; key.dport"), std::string::npos) << l;
    EXPECT_NE(l.find(" != 0x16 goto pc+"), std::string::npos) << l;
    EXPECT_NE(l.find("(95) exit"), std::string::npos) << l;
}

// The bench's small policies (gen::bench_options).
ir::Policy bench_policy(unsigned filters, bool first_match) {
    return policy_of(gen::generate_policy(gen::bench_options(filters, first_match)));
}

// An end of the walk: `w0 = imm` or `w0 = w6`, then exit.
bool is_end_at(const std::vector<bpf_insn>& code, size_t i) {
    if (i + 1 >= code.size() || code[i].dst_reg != 0 || code[i + 1].code != (BPF_JMP | BPF_EXIT))
        return false;
    return code[i].code == (BPF_ALU | BPF_MOV | BPF_K) || code[i].code == (BPF_ALU | BPF_MOV | BPF_X);
}
size_t jumps_to_ends(const std::vector<bpf_insn>& code) {
    size_t n = 0;
    for (size_t i = 0; i < code.size(); ++i)
        if (code[i].code == (BPF_JMP | BPF_JA)) n += is_end_at(code, i + 1 + code[i].off);
    return n;
}

// A small body (10 or 100 filters) never jumps to a shared MATCH or
// NOMATCH: the parent gets its own two instructions (one taken jump fewer
// on the walk). A large one (1,000 filters) keeps one copy per leaf.
TEST(Codegen, SmallBodyCopiesTheEndsItWouldJumpTo) {
    for (unsigned filters : {10u, 100u, 1000u})
        for (bool fm : {true, false}) {
            const ir::Policy pol = bench_policy(filters, fm);
            const tree::Program prog = tree::build(pol);
            const backend::Generated g = backend::generate(prog, backend::make_rules(pol));
            ASSERT_EQ(g.form, backend::WalkerForm::Generated);
            for (const backend::CodeBody* b : {&g.in, &g.out}) {
                if (filters <= 100)
                    EXPECT_EQ(jumps_to_ends(b->insns), 0u)
                        << filters << (fm ? " first-match" : " specificity");
                else
                    EXPECT_GT(jumps_to_ends(b->insns), 0u)
                        << filters << (fm ? " first-match" : " specificity");
            }
            Case seen;
            check_policy(pol, 1000, filters, seen);
        }
}

// A term's chain that failed on `word != v` goes on to the next term of
// the same rule, whose chain tests `word == v` again: the failed edge
// knows the value it excluded and goes past that test. No walk of the
// bench's 10-filter bodies compares a key word with a value it already
// found it differs from (the edge keeps one excluded value per word, and a
// join keeps only what all its edges exclude, so random policies still
// repeat a few: there only the walks are checked).
TEST(Codegen, SmallBodyDoesNotRepeatAFailedNotEqualTest) {
    std::vector<ir::Policy> pols;
    for (bool fm : {true, false}) pols.push_back(bench_policy(10, fm));
    for (uint64_t seed = 1; seed <= 20; ++seed)
        pols.push_back(policy_of(gen::generate_policy(gen::differential_options(seed, 4 + seed % 3 * 10))));
    size_t failed_seen = 0;
    for (size_t p = 0; p < pols.size(); ++p) {
        const tree::Program prog = tree::build(pols[p]);
        const std::vector<secpol_rule> rules = backend::make_rules(pols[p]);
        const backend::Generated g = backend::generate(prog, rules);
        ASSERT_EQ(g.form, backend::WalkerForm::Generated);
        std::mt19937_64 rng(p);
        for (unsigned i = 0; i < 2000; ++i) {
            const secpol_key k = boundary_key(prog, rng);
            for (uint32_t root : {prog.root_in, prog.root_out}) {
                int word[16];
                std::fill(std::begin(word), std::end(word), -1);
                std::set<std::pair<int, uint32_t>> failed;  // (key word, value) found different
                size_t repeats = 0;
                testsupport::InterpOptions opt;
                opt.on_insn = [&](size_t, const bpf_insn& in) {
                    if (in.code == (BPF_LDX | BPF_MEM | BPF_W))
                        word[in.dst_reg] = in.off / 4;
                    else if (in.code == (BPF_LDX | BPF_MEM | BPF_DW))
                        word[in.dst_reg] = -1;
                    else if (in.code == (BPF_JMP32 | BPF_JNE | BPF_K) && word[in.dst_reg] >= 0) {
                        const int w = word[in.dst_reg];
                        const uint32_t v = uint32_t(in.imm);
                        repeats += failed.count({w, v});
                        if (k.w[w] != v) failed.insert({w, v});
                    } else if (BPF_CLASS(in.code) == BPF_ALU && in.dst_reg < 16)
                        word[in.dst_reg] = -1;
                };
                const auto& code = root == prog.root_in ? g.in.insns : g.egress().insns;
                const testsupport::InterpResult res =
                    testsupport::interpret(code, reinterpret_cast<uint64_t>(&k), root, opt);
                ASSERT_TRUE(res.ok()) << res.error;
                const int64_t want = tree::walk(prog, root, k);
                ASSERT_EQ(uint32_t(res.r0),
                          want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want)));
                if (p < 2) {
                    ASSERT_EQ(repeats, 0u) << "policy " << p << " key #" << i;
                }
                failed_seen += p < 2 && !failed.empty();
            }
        }
    }
    EXPECT_GT(failed_seen, 0u);
}

// The bench's 10-filter policies mix IPv4 and IPv6 filters in one tree
// (fewer than 64 terms): the families part at the root, so an IPv4 walk
// tests the family of its source once and never its destination's.
TEST(Codegen, SmallPolicyTestsTheFamilyOncePerIpv4Walk) {
    for (bool fm : {true, false}) {
        const ir::Policy pol = bench_policy(10, fm);
        const tree::Program prog = tree::build(pol);
        const std::vector<secpol_rule> rules = backend::make_rules(pol);
        const backend::Generated g = backend::generate(prog, rules);
        ASSERT_EQ(g.form, backend::WalkerForm::Generated);
        std::mt19937_64 rng(fm);
        for (unsigned i = 0; i < 3000; ++i) {
            secpol_key k = boundary_key(prog, rng);
            for (unsigned a : {SECPOL_F_SRC0, SECPOL_F_DST0}) {
                k.w[a] = k.w[a + 1] = 0;
                k.w[a + 2] = 0xffff;
            }
            for (uint32_t root : {prog.root_in, prog.root_out}) {
                std::array<unsigned, SECPOL_NF> loads{};
                const int64_t want = tree::walk(prog, root, k);
                ASSERT_EQ(run(root == prog.root_in ? g.in.insns : g.egress().insns, &k, root, &loads),
                          want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want)));
                EXPECT_EQ(loads[SECPOL_F_SRC0] + loads[SECPOL_F_SRC1] + loads[SECPOL_F_SRC2], 2u)
                    << "key #" << i;
                EXPECT_EQ(loads[SECPOL_F_DST0] + loads[SECPOL_F_DST1] + loads[SECPOL_F_DST2], 0u)
                    << "key #" << i;
            }
        }
    }
}

}  // namespace
}  // namespace secpol

namespace secpol {
namespace {

// --dump=bpf says where the loader places each body: spliced in place of its
// calls up to kSpliceMaxInsns instructions (runtime/walk_splice.h), the called
// subprogram above.
TEST(Codegen, ListingSaysWhereTheLoaderPlacesTheBody) {
    for (unsigned filters : {10u, 100u, 1000u}) {
        gen::Options o;
        o.filters = filters;
        o.seed = 1000 + filters;
        front::Diagnostics diags;
        auto r = backend::compile_policy_text(gen::generate_policy(o), "s.pol", diags, {});
        ASSERT_TRUE(r && r->has_value());
        const backend::Compiled& c = **r;
        ASSERT_EQ(c.code.form, backend::WalkerForm::Generated);
        const bool small = c.code.in.insns.size() <= backend::kSpliceMaxInsns;
        EXPECT_EQ(small, filters <= 100) << c.code.in.insns.size();
        // The filters inline in the entry programs for every spliced body (backend::kInlineMaxInsns).
        const bool inl = backend::decide_inline(c.image.meta, c.image.code.size(), c.image.code_out.size());
        EXPECT_EQ(inl, small) << c.code.in.insns.size();
        const std::string d = backend::dump_bpf(c);
        EXPECT_NE(d.find(inl     ? "the filters inline in the entry programs"
                         : small ? "spliced in place of each call in secpol_decide_in/_out"
                                 : "kept as the called subprogram"),
                  std::string::npos)
            << d.substr(0, 400);
    }
}

}  // namespace
}  // namespace secpol
