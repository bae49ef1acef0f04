// Code generation: the decision program (tree::Program) as eBPF instructions
// that replace the body of bpf/secpol.bpf.c's global function secpol_walk
// (runtime/codegen_load.cpp swaps them in at load time). docs/design.md,
// "Generated code", says why and what it measured.
//
// The body honours secpol_walk's contract: r1 = const struct secpol_key *
// (may be NULL), w2 = root (secpol_config.root_in or root_out), w0 = the
// matching rule's packed decision (rule id and action bits, secpol_abi.h
// SECPOL_PK_*) or SECPOL_NO_RULE: each leaf's value is a constant of the code,
// so the program needs no rule-table lookup after the walk. Each direction
// gets its own body (the ingress programs only ever walk root_in, the egress
// ones root_out), so a program carries and the verifier checks only its
// direction's tree; the packed value does not depend on the direction, so
// one body serves both when their roots are one tree.
//
// runtime/walk_splice.cpp copies small bodies in place of their calls at
// load and relies on their shape: the key's NULL test first, then for a
// forest `w8 = w2; w8 ^= root` (the unknown zero), r6-r8 the only
// callee-saved registers, memory read only through r1, jumps forward only.
// It refuses a body that breaks this (a load error), so a change here
// shows in tests/unit/walk_splice_test.cpp and tests/bpf/codegen_test.cpp.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tree/program.h"

namespace secpol::backend {

// One instruction from its fields (registers masked to 4 bits): what the
// generator emits and the loader's splice writes.
inline bpf_insn make_insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// At load, a body of up to this many instructions goes in place of each call
// of secpol_walk in secpol_decide_in/_out (runtime/walk_splice.h), without
// its key NULL test, its exits jumping past the call; a larger one only in
// place of the main walk's call, and only in a policy without tunnel filters
// (elsewhere it stays the called subprogram). The filters-inline templates
// take bodies up to this size (object_image.h kInlineMaxInsns).
// docs/design.md, "The fixed path", seventh round, and "Forests: flag
// guards", twelfth session.
inline constexpr size_t kSpliceMaxInsns = 16384;

// Which walker an object carries, and why.
enum class WalkerForm { Generated, NodeArray };
const char* to_string(WalkerForm f);

// Limits of one BPF program that decide the form (kernel facts, see
// docs/design.md). The generated body is verified once (a global function),
// beside the fixed program's own work (~160k processed instructions for tc).
struct CodegenLimits {
    // Per body (one direction). The verifier processes each generated
    // instruction about 1.4-1.7 times (states it explores again behind
    // joins) on top of the fixed program's ~100k (XDP): 400k keeps a load
    // under ~800k of the 1M processed instructions.
    size_t max_insns = 400000;
    // The two directions' bodies on two threads; false generates them one
    // after the other (the same instructions: tests/unit/compile_test.cpp).
    bool parallel = true;
};

// A leaf of the generated code: where it returns a rule, for the listing.
struct CodeLeaf {
    uint32_t insn = 0;  // index of the `w0 = packed decision` instruction (w6 for a candidate)
    uint32_t rule = 0;
};

// One body of secpol_walk: the tree of one root as instructions.
struct CodeBody {
    std::vector<bpf_insn> insns;  // empty unless Generated
    std::vector<CodeLeaf> leaves;
    std::vector<std::pair<uint32_t, uint32_t>> labels;  // (insn index, node index) of each labelled block
    size_t long_jumps = 0;                              // conditional jumps that needed a `gotol` trampoline
};

struct Generated {
    WalkerForm form = WalkerForm::NodeArray;
    std::string reason;   // one line: why this form
    CodeBody in;          // walks root_in (XDP programs)
    CodeBody out;         // walks root_out (tc programs); empty when root_out == root_in: `in` serves both
    bool forest = false;  // holds a best candidate in registers

    const CodeBody& egress() const { return out.insns.empty() ? in : out; }
    size_t insns() const { return in.insns.size() + out.insns.size(); }
    size_t long_jumps() const { return in.long_jumps + out.long_jumps; }
};

// Translates the program; rules (make_rules, indexed by rule id) give each
// leaf its packed decision. Never fails: a program beyond the limits gets
// the node-array form with the reason. The limit applies to each body.
Generated generate(const tree::Program& prog, const std::vector<secpol_rule>& rules,
                   const CodegenLimits& limits = {});

// secpol_pack_rule of rules[rule]; SECPOL_NO_RULE for a rule id the table
// does not hold (the C walker's answer when its rule lookup fails: the default).
uint32_t packed_decision(const std::vector<secpol_rule>& rules, uint32_t rule);
// "permit", "block", "secure accept-clear", ... (+ " tunnel", " log") of a packed decision.
std::string packed_kind(uint32_t v);

// `bpftool prog dump xlated`-style listing; rule_note(rule) is printed after
// each leaf (label and file:line of its filter).
std::string listing(const CodeBody& body, const std::vector<std::string>& rule_notes);

}  // namespace secpol::backend
