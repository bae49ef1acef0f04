// See walk_splice.h.
#include "walk_splice.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>

#include "insn_stream.h"

namespace secpol::rt {
namespace {

using backend::make_insn;

// The lowest stack offset (from r10, <= 0) that [from, to) touches: its
// direct accesses and the bases of the pointers it derives from r10 (an
// object whose address is taken lies above its base). Registers are
// followed in program order, a copy or an immediate add keeping the
// offset; a pointer moved otherwise (a variable add, a load) is followed
// no further, which is safe for clang's code: it derives each object's
// address from r10 by an immediate, the lowest of them seen here. nullopt:
// a shape this does not know (r10 itself written, a store of r10), so no
// slot is taken.
std::optional<int64_t> stack_low(const std::vector<bpf_insn>& v, size_t from, size_t to) {
    int64_t low = 0;
    std::optional<int64_t> base[11];
    base[BPF_REG_10] = 0;
    for (size_t i = from; i < to; ++i) {
        const bpf_insn& x = v[i];
        if (i > from && v[i - 1].code == kLdImm64) continue;
        const uint8_t cls = BPF_CLASS(x.code);
        const bool mem = cls == BPF_LDX || cls == BPF_STX || cls == BPF_ST;
        if (mem) {
            const uint8_t ptr = cls == BPF_LDX ? x.src_reg : x.dst_reg;
            if (base[ptr]) low = std::min(low, *base[ptr] + x.off);
            if (cls == BPF_STX && x.src_reg == BPF_REG_10) return std::nullopt;
        }
        const UseDef ud = use_def(x);
        if (ud.def & (1u << BPF_REG_10)) return std::nullopt;
        if (cls == BPF_ALU64 && BPF_OP(x.code) == BPF_MOV && BPF_SRC(x.code) == BPF_X) {
            base[x.dst_reg] = base[x.src_reg];
        } else if (cls == BPF_ALU64 && BPF_OP(x.code) == BPF_ADD && BPF_SRC(x.code) == BPF_K &&
                   base[x.dst_reg]) {
            base[x.dst_reg] = *base[x.dst_reg] + x.imm;
        } else {
            for (uint8_t r = 0; r < 10; ++r)
                if (ud.def & (1u << r)) base[r].reset();
        }
        for (uint8_t r = 0; r < 10; ++r)
            if (base[r]) low = std::min(low, *base[r]);
    }
    return low;
}

// A slot of n 8-byte words below function f's frame (its offset from r10),
// if the deepest call chain keeps within the kernel's 512 bytes: counted
// as f's frame plus every other function's but the walk's (which touches
// no stack), each rounded up to 32 bytes as the kernel may.
std::optional<int16_t> spill_slot(const std::vector<bpf_insn>& v, const std::vector<bpf_func_info>& fi,
                                  size_t f, size_t walk, size_t n) {
    auto range = [&](size_t g) {
        return std::pair<size_t, size_t>{fi[g].insn_off, g + 1 < fi.size() ? fi[g + 1].insn_off : v.size()};
    };
    auto round = [](int64_t depth) { return (depth + 31) / 32 * 32; };
    int64_t total = 0, slot = 0;
    for (size_t g = 0; g < fi.size(); ++g) {
        if (g == walk) continue;
        const auto [from, to] = range(g);
        const auto low = stack_low(v, from, to);
        if (!low) return std::nullopt;
        int64_t depth = -*low;
        if (g == f) {
            slot = -(depth + 7) / 8 * 8 - int64_t(8 * n);
            depth = -slot;
        }
        total += round(depth);
    }
    if (total > 512) return std::nullopt;
    return int16_t(slot);
}

// What gives a live register back after a copy without the stack, when the
// straight-line code before the site (no jump lands between it and the site)
// last set it by a constant (`ld_imm64`, a map's address: the config at the
// entry program's site; or a move of an immediate) or copied it to a register the copy never writes
// (`r1 = r7`, the record as the key): that instruction again, or the copy
// back. One or two instructions where a spill stores and loads (two) and
// needs a slot. nullopt: neither holds, the register is spilled.
std::optional<std::vector<bpf_insn>> remat(const std::vector<bpf_insn>& v, size_t fs, size_t fe, size_t site,
                                           uint8_t reg, unsigned copy_writes) {
    std::vector<size_t> starts;
    std::vector<bool> target(fe - fs + 1, false);
    for (size_t i = fs; i < fe; ++i) {
        starts.push_back(i);
        if (is_jump(v[i])) {
            const int64_t t = jump_target(v, i);
            if (t >= int64_t(fs) && t <= int64_t(fe)) target[size_t(t) - fs] = true;
        }
        if (v[i].code == kLdImm64) ++i;
    }
    if (target[site - fs]) return std::nullopt;
    unsigned later = 0;  // registers written after the instruction looked at, before the site
    for (size_t k = starts.size(); k-- > 0;) {
        const size_t j = starts[k];
        if (j >= site) continue;
        const bpf_insn& x = v[j];
        if (x.code == (BPF_ALU64 | BPF_MOV | BPF_X) && x.src_reg == reg && x.dst_reg < BPF_REG_10 &&
            !(later & (1u << x.dst_reg)) && !(later & (1u << reg)) && !(copy_writes & (1u << x.dst_reg)))
            return std::vector<bpf_insn>{make_insn(BPF_ALU64 | BPF_MOV | BPF_X, reg, x.dst_reg, 0, 0)};
        const UseDef ud = use_def(x);
        if (ud.def & (1u << reg)) {
            if (later & (1u << reg)) return std::nullopt;
            if (x.code == kLdImm64 && x.src_reg != BPF_PSEUDO_FUNC) return std::vector<bpf_insn>{x, v[j + 1]};
            if ((x.code == (BPF_ALU64 | BPF_MOV | BPF_K) || x.code == (BPF_ALU | BPF_MOV | BPF_K)) &&
                x.off == 0)
                return std::vector<bpf_insn>{x};
            return std::nullopt;
        }
        later |= ud.def;
        if (target[j - fs]) return std::nullopt;  // another way in: the value may differ there
    }
    return std::nullopt;
}

// Checks the body against its contract and prepares its spliced form:
// no NULL test (and what only it reached), the forest's unknown zero from
// the key, exits left as they are.
struct Body {
    std::vector<bpf_insn> insns;
    bool forest = false;   // holds the unknown zero in w8
    std::string kept_why;  // set: a shape the splice does not know, the calls stay
};
Result<Body> prepare_body(const std::vector<bpf_insn>& b) {
    Body out;
    for (size_t i = 0; i < b.size(); ++i) {
        const bpf_insn& x = b[i];
        const uint8_t cls = BPF_CLASS(x.code);
        auto refuse = [&](const char* what) {
            return Error::msg("the generated body's instruction " + std::to_string(i) + " " + what +
                                  ": outside secpol_walk's contract, not spliced",
                              EINVAL);
        };
        if (x.dst_reg >= BPF_REG_10 || x.src_reg >= BPF_REG_10) return refuse("uses the frame pointer");
        if (cls == BPF_ST || cls == BPF_STX || cls == BPF_LD)
            return refuse("writes memory or loads a constant");
        if (cls == BPF_LDX && (BPF_MODE(x.code) != BPF_MEM || x.src_reg != BPF_REG_1))
            return refuse("loads from elsewhere than the key");
        if (is_call(x)) return refuse("is a call");
        if (is_jump(x)) {
            const int64_t t = jump_target(b, i);
            if (t <= int64_t(i) || t >= int64_t(b.size())) return refuse("jumps back or out of the body");
        }
    }
    // The NULL test: `if r1 == 0 goto X`, or its long form `if r1 != 0 goto +1; gotol X`.
    auto null_test = [&](size_t i, uint8_t op) {
        return i < b.size() && b[i].code == (BPF_JMP | op | BPF_K) && b[i].dst_reg == BPF_REG_1 &&
               b[i].imm == 0;
    };
    size_t skip = 0;
    if (null_test(0, BPF_JEQ))
        skip = 1;
    else if (null_test(0, BPF_JNE) && b[0].off == 1 && b.size() > 1 && is_gotol(b[1]))
        skip = 2;
    else {  // valid code, but not the generator's shape (codegen.h): leave it called
        out.kept_why = "the body does not start with the key's NULL test";
        return out;
    }
    std::map<size_t, std::vector<bpf_insn>> repl;
    for (size_t i = 0; i < skip; ++i) repl[i] = {};
    // A forest: w8 = w2; w8 ^= R (the root, 0 at run time). Spliced, the
    // root is the frozen config's constant, so the verifier would know w8 = 0
    // and stop forgetting w7 (docs/design.md, "Verifier cost of forests").
    if (skip + 1 < b.size() && b[skip].code == (BPF_ALU | BPF_MOV | BPF_X) && b[skip].dst_reg == BPF_REG_8 &&
        b[skip].src_reg == BPF_REG_2 && b[skip + 1].code == (BPF_ALU | BPF_XOR | BPF_K) &&
        b[skip + 1].dst_reg == BPF_REG_8) {
        repl[skip] = {make_insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_8, BPF_REG_1, 0, 0),
                      make_insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0)};
        repl[skip + 1] = {make_insn(BPF_ALU | BPF_XOR | BPF_X, BPF_REG_8, BPF_REG_2, 0, 0)};
        out.forest = true;
    }
    // What only the NULL test reached (its `w0 = NO_RULE; exit`) would be
    // unreachable, which the verifier refuses.
    std::vector<bool> reach(b.size(), false);
    reach[skip] = true;
    for (size_t i = skip; i < b.size(); ++i) {  // every jump goes forward
        if (!reach[i]) continue;
        if (is_jump(b[i])) reach[size_t(jump_target(b, i))] = true;
        if (!is_exit(b[i]) && !(is_jump(b[i]) && BPF_OP(b[i].code) == BPF_JA) && i + 1 < b.size())
            reach[i + 1] = true;
    }
    for (size_t i = skip; i < b.size(); ++i)
        if (!reach[i]) repl[i] = {};
    std::string why;
    auto r = rebuild(b, repl, why);
    if (!r) return Error::msg("the generated body's own jumps: " + why, EINVAL);
    out.insns = std::move(r->insns);
    return out;
}

// The body as it goes in place of one call: callee-saved registers renamed,
// exits jumping past its end (the last one falls through). A forest's
// result leaves through `w0 ^= w8` (w8 the unknown zero): called, the walk's
// result was an unknown scalar to the caller; spliced, each leaf's constant
// would reach the caller's tests of it, which mark the candidate register
// precise back through the trees, and their states stop pruning (100
// filters, specificity: 107k -> 526k verified without it).
std::vector<bpf_insn> copy_for_site(const Body& body, const uint8_t rename[11]) {
    std::vector<bpf_insn> c(body.insns);
    const size_t len = !c.empty() && is_exit(c.back()) ? c.size() - 1 : c.size();
    c.resize(len);
    for (size_t j = 0; j < len; ++j) {
        bpf_insn& x = c[j];
        if (is_exit(x)) {
            x = go(int64_t(len) - int64_t(j) - 1);
            continue;
        }
        x.dst_reg = rename[x.dst_reg];
        x.src_reg = rename[x.src_reg];
    }
    if (body.forest) c.push_back(make_insn(BPF_ALU | BPF_XOR | BPF_X, BPF_REG_0, rename[BPF_REG_8], 0, 0));
    return c;
}

}  // namespace

Result<Spliced> splice_walk(const std::vector<bpf_insn>& insns, const std::vector<bpf_func_info>& func_info,
                            size_t walk, size_t max_body, bool entry_out_of_line) {
    if (walk >= func_info.size()) return Error::msg("splice: no such subprogram", EINVAL);
    const size_t ws = func_info[walk].insn_off;
    const size_t we = walk + 1 < func_info.size() ? func_info[walk + 1].insn_off : insns.size();
    if (ws >= we || we > insns.size()) return Error::msg("splice: the walk's subprogram is empty", EINVAL);
    const std::vector<bpf_insn> gen(insns.begin() + ptrdiff_t(ws), insns.begin() + ptrdiff_t(we));

    Spliced out;
    out.insns = insns;
    out.func_info = func_info;
    std::vector<size_t> sites;  // calls of the walk from other functions
    std::vector<size_t> site_fn;
    for (size_t f = 0; f < func_info.size(); ++f) {
        const size_t fs = func_info[f].insn_off,
                     fe = f + 1 < func_info.size() ? func_info[f + 1].insn_off : insns.size();
        for (size_t i = fs; i < fe; ++i) {
            if (!(is_call(insns[i]) && insns[i].src_reg == BPF_PSEUDO_CALL)) {
                if (insns[i].code == kLdImm64 && insns[i].src_reg == BPF_PSEUDO_FUNC &&
                    int64_t(i) + 1 + insns[i].imm == int64_t(ws))
                    ++out.calls_left;  // its address taken: it stays
                continue;
            }
            if (int64_t(i) + 1 + insns[i].imm != int64_t(ws)) continue;
            if (f == walk) {
                ++out.calls_left;
                continue;
            }
            sites.push_back(i);
            site_fn.push_back(f);
        }
    }
    if (sites.empty()) return out;
    // A body beyond kSpliceMaxInsns goes in place of the last call only (the
    // main walk): the earlier one is the tunnel pre-walk, dead code unless
    // the policy has tunnel filters (the loader then passes a lower limit),
    // and a second copy of a 200k-instruction body, although the verifier
    // removes it unexplored, cost the 10,000-filter load 2-3 times its CPU.
    // The earlier calls become `w0 = SECPOL_NO_RULE` (what the walk answers
    // when no filter matches), so that no call is left and the subprogram
    // goes: kept, its 200k instructions, never explored, still went through
    // every whole-program pass of the verifier (the CFG check, SCCs, live
    // registers, postorder), had their per-instruction state allocated and
    // cleared, and were removed as dead code afterwards: the 10,000-filter
    // load's extra 0.5 s (docs/design.md, thirteenth session).
    std::vector<size_t> dead;
    if (gen.size() > backend::kSpliceMaxInsns && sites.size() > 1 && max_body >= gen.size()) {
        dead.assign(sites.begin(), sites.end() - 1);
        out.dead_sites = dead.size();
        sites.erase(sites.begin(), sites.end() - 1);
        site_fn.erase(site_fn.begin(), site_fn.end() - 1);
    }
    if (max_body == 0 || gen.size() > max_body) {
        out.calls_left += sites.size();
        out.kept_why = "the body (" + std::to_string(gen.size()) +
                       " instructions) is above the splice limit of " + std::to_string(max_body);
        return out;
    }
    auto body = prepare_body(gen);
    if (!body) return body.error();
    if (!body->kept_why.empty()) {
        out.calls_left += sites.size();
        out.kept_why = body->kept_why;
        return out;
    }

    // Callee-saved registers the body writes: each must go to one dead after the site.
    unsigned body_regs = 0;
    for (const bpf_insn& x : body->insns) body_regs |= (1u << x.dst_reg) | (1u << x.src_reg);
    const unsigned saved = body_regs & 0x3c0u;  // r6-r9
    std::map<size_t, std::vector<bpf_insn>> repl;
    for (size_t d : dead)
        repl[d] = {make_insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, int32_t(SECPOL_NO_RULE))};
    std::vector<size_t> spliced;
    struct OutOfLine {
        size_t site;
        std::vector<bpf_insn> copy;  // the body alone, its exits going to its end
        size_t pre;                  // instructions at the site before its goto to the copy
        size_t post;                 // and after it (a forest's `w0 ^= w8`, reloads)
    };
    std::vector<OutOfLine> ool;
    for (size_t k = 0; k < sites.size(); ++k) {
        const size_t f = site_fn[k];
        const size_t fs = func_info[f].insn_off,
                     fe = f + 1 < func_info.size() ? func_info[f + 1].insn_off : insns.size();
        const unsigned live = live_in(insns, fs, fe)[sites[k] + 1 - fs];
        uint8_t rename[11];
        for (uint8_t r = 0; r < 11; ++r) rename[r] = r;
        unsigned free = 0x3c0u & ~live;
        // Registers the body uses that are free keep their names; the others take the free ones left.
        unsigned need = saved & ~free;
        free &= ~saved;
        // Short of dead ones, a live register the body needs keeps its name
        // and is given back after the copy: made again from what set it
        // before the site where that is a constant or a copy the body leaves
        // alone (`remat`), else spilled around the copy, into a slot of its
        // own below the caller's frame (the 100-filter forest at the entry
        // program's site, where r7 and r8 are live: the record, also in r1,
        // and the config's address).
        std::vector<uint8_t> kept;
        for (uint8_t r = BPF_REG_6; r <= BPF_REG_9; ++r) {
            if (!(need & (1u << r))) continue;
            if (!free) {
                kept.push_back(r);
                continue;
            }
            const uint8_t to = uint8_t(__builtin_ctz(free));
            free &= free - 1;
            rename[r] = to;
        }
        std::vector<bpf_insn> c = copy_for_site(*body, rename);
        unsigned copy_writes = 0;
        for (const bpf_insn& x : c) copy_writes |= use_def(x).def;
        std::vector<uint8_t> spills;
        std::vector<bpf_insn> after;  // the reloads and the instructions that make registers again
        for (uint8_t r : kept) {
            if (auto m = remat(insns, fs, fe, sites[k], r, copy_writes)) {
                after.insert(after.end(), m->begin(), m->end());
                ++out.rematerialised;
            } else {
                spills.push_back(r);
            }
        }
        std::optional<int16_t> slot;
        if (!spills.empty()) slot = spill_slot(insns, func_info, f, walk, spills.size());
        if (!spills.empty() && !slot) {
            ++out.calls_left;
            out.kept_why = "too few callee-saved registers dead after the call at " +
                           std::to_string(sites[k]) + ", and no stack room to spill live ones";
            continue;
        }
        std::vector<bpf_insn> before;
        for (size_t j = 0; j < spills.size(); ++j)
            before.push_back(
                make_insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, spills[j], int16_t(*slot + 8 * j), 0));
        for (size_t j = spills.size(); j-- > 0;)
            after.insert(after.begin(), make_insn(BPF_LDX | BPF_MEM | BPF_DW, spills[j], BPF_REG_10,
                                                  int16_t(*slot + 8 * j), 0));
        out.spilled += spills.size();
        if (entry_out_of_line && f == 0 && func_info.size() > 1) {
            // The site becomes the stores, a goto (patched below) and what
            // follows the body (a forest's `w0 ^= w8`, the reloads); the
            // body goes after the function's end, every exit a goto straight
            // back to that tail.
            std::vector<bpf_insn> at(before);
            at.push_back(go(0));
            if (body->forest) {
                at.push_back(c.back());
                c.pop_back();
            }
            at.insert(at.end(), after.begin(), after.end());
            const size_t post = at.size() - before.size() - 1;
            repl[sites[k]] = std::move(at);
            ool.push_back({sites[k], std::move(c), before.size(), post});
        } else {
            std::vector<bpf_insn> copy(before);
            copy.insert(copy.end(), c.begin(), c.end());  // its exits jump to its end
            copy.insert(copy.end(), after.begin(), after.end());
            repl[sites[k]] = std::move(copy);
        }
        spliced.push_back(sites[k]);
    }
    // The entry program's out-of-line copies, each ending in a goto back
    // after its site, appended to its last instruction (an exit or a goto,
    // so nothing falls into them).
    size_t tail = 0;
    std::vector<size_t> ool_at;  // each copy's offset after the tail instruction
    if (!ool.empty()) {
        tail = func_info[1].insn_off - 1;
        if (!is_exit(insns[tail]) && !(is_jump(insns[tail]) && BPF_OP(insns[tail].code) == BPF_JA))
            return Error::msg("splice: the entry program does not end in an exit or a goto", EINVAL);
        std::vector<bpf_insn> seq{insns[tail]};
        for (auto& o : ool) {
            ool_at.push_back(seq.size());
            seq.insert(seq.end(), o.copy.begin(), o.copy.end());
            seq.push_back(go(0));  // back after the site (patched below)
        }
        repl[tail] = std::move(seq);
    }
    // The subprogram goes when no call is left.
    bool drop = out.calls_left == 0 && !spliced.empty();
    Cut cut;
    if (drop) cut = {ws, we};
    // A caller's conditional jump across a copy that no longer reaches in
    // 16 bits goes through a `gotol` placed in its function where nothing
    // falls through (slot_for); without such a place, right before the copy
    // or after it, behind a `goto` over the trampolines (one taken jump on
    // the main path, against the call's two and its frame). One that still
    // does not reach: keep the earliest copies' calls (the last call is the
    // main walk) until it does.
    Trampolines tramps;
    auto via_tramp = [&](size_t src) {
        for (const auto& [slot, srcs] : tramps)
            if (std::find(srcs.begin(), srcs.end(), src) != srcs.end()) return true;
        return false;
    };
    // Where a jump from src across copies puts its trampoline: the nearest
    // place in its function before the first copy it crosses (forward) or
    // after the last (back) where nothing falls through; else right before
    // that copy (forward) or after it (back), behind a goto.
    auto slot_for = [&](size_t src) -> size_t {
        size_t fs = 0, fe = insns.size();
        for (size_t f = 0; f < func_info.size(); ++f)
            if (func_info[f].insn_off <= src) {
                fs = func_info[f].insn_off;
                fe = f + 1 < func_info.size() ? func_info[f + 1].insn_off : insns.size();
            }
        const int64_t t = jump_target(insns, src);
        size_t first = SIZE_MAX, last = 0;
        for (size_t site : spliced)
            if ((int64_t(site) > int64_t(src) && int64_t(site) < t) ||
                (int64_t(site) < int64_t(src) && int64_t(site) >= t)) {
                first = std::min(first, site);
                last = std::max(last, site);
            }
        if (first == SIZE_MAX) return SIZE_MAX;  // crosses no copy
        if (t > int64_t(src)) {
            for (size_t k = src + 1; k <= first; ++k)
                if (ends_flow(insns, repl, k - 1, cut)) return k;
            return first;
        }
        size_t best = SIZE_MAX;
        for (size_t k = last + 2; k < fe && k > fs; ++k)
            if (ends_flow(insns, repl, k - 1, cut) &&
                (best == SIZE_MAX || (k > src ? k - src : src - k) < (best > src ? best - src : src - best)))
                best = k;
        return best != SIZE_MAX ? best : last + 1 < fe ? last + 1 : SIZE_MAX;
    };
    for (;;) {
        std::string why;
        std::vector<size_t> bad;
        auto r = rebuild(insns, repl, why, tramps, &bad, cut);
        if (!r && !bad.empty() && ool.empty()) {
            bool placed = true;
            for (size_t b : bad) {
                const size_t slot = via_tramp(b) ? SIZE_MAX : slot_for(b);
                if (slot == SIZE_MAX) {
                    placed = false;
                    break;
                }
                tramps[slot].push_back(b);
            }
            if (placed) continue;
        }
        if (r && !ool.empty()) {
            // Jumps inside a replacement are taken as they are: patch the
            // tail's own goto, each site's goto to its copy, each copy's
            // goto back and its exits (gotos to the copy's end) straight back
            // to what follows the site's goto.
            const int64_t t0 = r->pos[tail];
            if (is_jump(insns[tail]))
                r->insns[size_t(t0)] = go(r->pos[size_t(jump_target(insns, tail))] - t0 - 1);
            for (size_t o = 0; o < ool.size(); ++o) {
                const int64_t c0 = t0 + int64_t(ool_at[o]), site = r->pos[ool[o].site] + int64_t(ool[o].pre);
                const int64_t len = int64_t(ool[o].copy.size()), back = site + 1;
                r->insns[size_t(site)] = go(c0 - site - 1);
                // An exit right after `w0 = K` (no jump landing between)
                // where the site goes on with `if w0 ==/!= imm` (the
                // caller's test for no rule) goes to that test's outcome: a
                // single tree's constants reach the caller's tests anyway
                // (a forest's leave through `w0 ^= w8`, unknown).
                std::vector<bool> landed(size_t(len) + 1, false);
                for (int64_t j = 0; j < len; ++j) {
                    const bpf_insn& x = ool[o].copy[size_t(j)];
                    const int64_t t = is_jump(x) ? jump_target(ool[o].copy, size_t(j)) : -1;
                    if (t >= 0 && !(BPF_OP(x.code) == BPF_JA && t == len))  // an exit: goes elsewhere now
                        landed[size_t(t)] = true;
                }
                const bpf_insn& nx = r->insns[size_t(back)];
                const bool test = !body->forest && ool[o].post == 0 && nx.dst_reg == BPF_REG_0 &&
                                  BPF_SRC(nx.code) == BPF_K && is_jmp_class(nx) &&
                                  (BPF_OP(nx.code) == BPF_JEQ || BPF_OP(nx.code) == BPF_JNE);
                auto to = [&](int64_t j) {  // where the exit at copy index j goes
                    if (!test || j == 0 || landed[size_t(j)]) return back;
                    const bpf_insn& k = ool[o].copy[size_t(j - 1)];
                    if (k.code != (BPF_ALU | BPF_MOV | BPF_K) || k.dst_reg != BPF_REG_0) return back;
                    const uint64_t w0 = uint32_t(k.imm);
                    const bool eq = BPF_CLASS(nx.code) == BPF_JMP32 ? uint32_t(w0) == uint32_t(nx.imm)
                                                                    : w0 == uint64_t(int64_t(nx.imm));
                    return (eq == (BPF_OP(nx.code) == BPF_JEQ)) ? back + 1 + nx.off : back + 1;
                };
                for (int64_t j = 0; j < len; ++j) {
                    bpf_insn& x = r->insns[size_t(c0 + j)];
                    if (is_jump(x) && BPF_OP(x.code) == BPF_JA &&
                        j + 1 + (is_gotol(x) ? x.imm : x.off) == len)
                        x = go(to(j) - (c0 + j) - 1);
                }
                // The copy's end keeps going to the test, which the
                // verifier would otherwise refuse as unreachable.
                r->insns[size_t(c0 + len)] = go(back - (c0 + len) - 1);
            }
        }
        if (r) {
            out.insns = std::move(r->insns);
            std::vector<bpf_func_info> fi;
            for (size_t f = 0; f < func_info.size(); ++f) {
                if (drop && f == walk) continue;
                bpf_func_info x = func_info[f];
                x.insn_off = uint32_t(r->pos[x.insn_off]);
                fi.push_back(x);
            }
            out.func_info = std::move(fi);
            out.sites = spliced.size();
            for (size_t k = 0; k < sites.size(); ++k)
                if (site_fn[k] == 0 && std::find(spliced.begin(), spliced.end(), sites[k]) != spliced.end())
                    ++out.entry_sites;
            return out;
        }
        if (spliced.empty()) return Error::msg("splice: " + why, EINVAL);
        out.kept_why = why;
        // A jump that does not reach with copies out of line: the plain splice and its fallbacks.
        if (!ool.empty()) return splice_walk(insns, func_info, walk, max_body, false);
        repl.erase(spliced.front());
        spliced.erase(spliced.begin());
        tramps.clear();
        ++out.calls_left;
        cut = {};  // the walk's subprogram is needed again
        drop = false;
        if (spliced.empty()) {  // the program as it was: the dead calls stay calls
            out.insns = insns;
            out.func_info = func_info;
            out.sites = 0;
            out.calls_left += out.dead_sites;
            out.dead_sites = 0;
            return out;
        }
    }
}

}  // namespace secpol::rt
