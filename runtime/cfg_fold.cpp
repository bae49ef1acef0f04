// See cfg_fold.h.
#include "cfg_fold.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <queue>

#include "backend/codegen.h"
#include "insn_stream.h"

namespace secpol::rt {
namespace {

using backend::make_insn;

// What a register holds: unknown, a constant, or the config's address plus v.
enum class Kind : uint8_t { Unknown, Const, Cfg };
struct Val {
    Kind k = Kind::Unknown;
    uint64_t v = 0;
    bool operator==(const Val&) const = default;
};
using State = std::array<Val, 11>;

Val konst(uint64_t v) {
    return {Kind::Const, v};
}

// dst OP src of an ALU instruction on constants; nullopt where BPF's result
// is not plain C arithmetic (division by zero, shifts past the width) or the
// instruction is a form this does not model (signed division, sign-extending
// moves, byte swaps).
std::optional<uint64_t> alu(uint8_t code, int16_t off, uint64_t d, uint64_t s) {
    const bool is64 = BPF_CLASS(code) == BPF_ALU64;
    const unsigned width = is64 ? 64 : 32;
    if (off != 0) return std::nullopt;
    if (!is64) d = uint32_t(d), s = uint32_t(s);
    uint64_t r = 0;
    switch (BPF_OP(code)) {
        case BPF_MOV:
            r = s;
            break;
        case BPF_ADD:
            r = d + s;
            break;
        case BPF_SUB:
            r = d - s;
            break;
        case BPF_MUL:
            r = d * s;
            break;
        case BPF_OR:
            r = d | s;
            break;
        case BPF_AND:
            r = d & s;
            break;
        case BPF_XOR:
            r = d ^ s;
            break;
        case BPF_NEG:
            r = -d;
            break;
        case BPF_DIV:
            if (s == 0) return std::nullopt;
            r = d / s;
            break;
        case BPF_MOD:
            if (s == 0) return std::nullopt;
            r = d % s;
            break;
        case BPF_LSH:
            if (s >= width) return std::nullopt;
            r = d << s;
            break;
        case BPF_RSH:
            if (s >= width) return std::nullopt;
            r = d >> s;
            break;
        case BPF_ARSH:
            if (s >= width) return std::nullopt;
            r = is64 ? uint64_t(int64_t(d) >> s) : uint64_t(uint32_t(int32_t(uint32_t(d)) >> s));
            break;
        default:
            return std::nullopt;
    }
    return is64 ? r : uint32_t(r);
}

// Whether a conditional jump on constants is taken; nullopt: an operation
// this does not model.
std::optional<bool> taken(uint8_t code, uint64_t d, uint64_t s) {
    const bool is32 = BPF_CLASS(code) == BPF_JMP32;
    if (is32) d = uint32_t(d), s = uint32_t(s);
    const int64_t sd = is32 ? int64_t(int32_t(uint32_t(d))) : int64_t(d);
    const int64_t ss = is32 ? int64_t(int32_t(uint32_t(s))) : int64_t(s);
    switch (BPF_OP(code)) {
        case BPF_JEQ:
            return d == s;
        case BPF_JNE:
            return d != s;
        case BPF_JGT:
            return d > s;
        case BPF_JGE:
            return d >= s;
        case BPF_JLT:
            return d < s;
        case BPF_JLE:
            return d <= s;
        case BPF_JSET:
            return (d & s) != 0;
        case BPF_JSGT:
            return sd > ss;
        case BPF_JSGE:
            return sd >= ss;
        case BPF_JSLT:
            return sd < ss;
        case BPF_JSLE:
            return sd <= ss;
        default:
            return std::nullopt;
    }
}

bool fits_imm(uint64_t c) {
    return c == uint64_t(int64_t(int32_t(uint32_t(c))));
}

struct Pass {
    const int32_t fd;
    const std::vector<uint8_t>& value;

    // The config's bytes [at, at + n) as a little-endian number, if inside it.
    std::optional<uint64_t> read(int64_t at, size_t n) const {
        if (at < 0 || uint64_t(at) + n > value.size()) return std::nullopt;
        uint64_t r = 0;
        for (size_t k = n; k-- > 0;) r = r << 8 | value[size_t(at) + k];
        return r;
    }

    // Applies v[i] to st; for a conditional jump, its outcome when known.
    std::optional<bool> step(const std::vector<bpf_insn>& v, size_t i, State& st) const {
        const bpf_insn& x = v[i];
        const uint8_t cls = BPF_CLASS(x.code);
        if (x.code == kLdImm64) {
            const uint64_t hi = uint32_t(v[i + 1].imm);
            if (x.src_reg == BPF_PSEUDO_MAP_VALUE && x.imm == fd)
                st[x.dst_reg] = {Kind::Cfg, hi};
            else if (x.src_reg == 0)
                st[x.dst_reg] = konst(uint32_t(x.imm) | hi << 32);
            else
                st[x.dst_reg] = {};
            return std::nullopt;
        }
        if (cls == BPF_LDX) {
            const Val p = st[x.src_reg];
            std::optional<uint64_t> c;
            if (BPF_MODE(x.code) == BPF_MEM && p.k == Kind::Cfg)
                c = read(int64_t(p.v) + x.off, bpf_size(x.code));
            st[x.dst_reg] = c ? konst(*c) : Val{};
            return std::nullopt;
        }
        if (cls == BPF_ALU || cls == BPF_ALU64) {
            const uint8_t op = BPF_OP(x.code);
            const bool k = BPF_SRC(x.code) == BPF_K;
            Val& d = st[x.dst_reg];
            if (cls == BPF_ALU64 && op == BPF_MOV && !k && x.off == 0) {
                d = st[x.src_reg];
                return std::nullopt;
            }
            if (cls == BPF_ALU64 && op == BPF_ADD && k && d.k == Kind::Cfg) {
                d.v += uint64_t(int64_t(x.imm));
                return std::nullopt;
            }
            const Val s = k ? konst(uint64_t(int64_t(x.imm))) : st[x.src_reg];
            std::optional<uint64_t> r;
            if ((op == BPF_MOV || d.k == Kind::Const) && (op == BPF_NEG || s.k == Kind::Const))
                r = alu(x.code, x.off, d.v, s.v);
            d = r ? konst(*r) : Val{};
            return std::nullopt;
        }
        if (is_jump(x)) {
            if (BPF_OP(x.code) == BPF_JA) return std::nullopt;
            const Val d = st[x.dst_reg];
            const Val s = BPF_SRC(x.code) == BPF_K ? konst(uint64_t(int64_t(x.imm))) : st[x.src_reg];
            if (d.k == Kind::Const && s.k == Kind::Const) return taken(x.code, d.v, s.v);
            return std::nullopt;
        }
        const unsigned def = use_def(x).def;  // calls, stores, atomics, legacy packet loads
        for (unsigned r = 0; r < 11; ++r)
            if (def & (1u << r)) st[r] = {};
        return std::nullopt;
    }

    static size_t bpf_size(uint8_t code) {
        switch (BPF_SIZE(code)) {
            case BPF_B:
                return 1;
            case BPF_H:
                return 2;
            case BPF_W:
                return 4;
            default:
                return 8;
        }
    }
};

struct Range {
    size_t from, to;
};
Range function_range(const std::vector<bpf_insn>& v, const std::vector<bpf_func_info>& fi, size_t f) {
    return {fi[f].insn_off, f + 1 < fi.size() ? fi[f + 1].insn_off : v.size()};
}

// Whether the stream is one this pass reads: functions in order, every
// ld_imm64 whole inside one, every jump landing on an instruction of its own
// function, every pseudo call on a function's first.
bool readable(const std::vector<bpf_insn>& v, const std::vector<bpf_func_info>& fi, std::string& why) {
    if (fi.empty() || fi[0].insn_off != 0) return why = "no func_info at instruction 0", false;
    std::vector<char> start(v.size(), 0);
    for (size_t f = 0; f < fi.size(); ++f) {
        const auto [from, to] = function_range(v, fi, f);
        if (from >= to || to > v.size()) return why = "func_info out of order", false;
        start[from] = 2;
    }
    std::vector<char> half(v.size(), 0);
    for (size_t i = 0; i < v.size(); ++i)
        if (v[i].code == kLdImm64) {
            if (i + 1 >= v.size() || start[i + 1] == 2) return why = "a cut ld_imm64", false;
            half[++i] = 1;
        }
    for (size_t f = 0; f < fi.size(); ++f) {
        const auto [from, to] = function_range(v, fi, f);
        for (size_t i = from; i < to; ++i) {
            if (half[i]) continue;
            if (is_jump(v[i])) {
                const int64_t t = jump_target(v, i);
                if (t < int64_t(from) || t >= int64_t(to) || half[size_t(t)])
                    return why = "a jump at " + std::to_string(i) + " out of its function", false;
            } else if (is_pseudo_call(v[i])) {
                const int64_t t = int64_t(i) + 1 + v[i].imm;
                if (t < 0 || t >= int64_t(v.size()) || start[size_t(t)] != 2)
                    return why = "a call at " + std::to_string(i) + " not to a function", false;
            }
        }
    }
    return true;
}

// The successors of v[i] within its function, by the instruction itself.
template <class F>
void successors(const std::vector<bpf_insn>& v, size_t i, F f) {
    const bpf_insn& x = v[i];
    if (is_exit(x)) return;
    if (is_jump(x)) {
        f(size_t(jump_target(v, i)));
        if (BPF_OP(x.code) != BPF_JA) f(i + 1);
        return;
    }
    f(i + (x.code == kLdImm64 ? 2 : 1));
}

// Step 1: propagation over each function, the rewrites it allows made in w
// (a load of the config or ALU on constants: a move; a decided jump: a goto)
// and what it cannot reach, or decided against, marked in del.
void propagate(const Pass& p, const std::vector<bpf_insn>& v, const std::vector<bpf_func_info>& fi,
               const std::vector<bool>& touched, std::vector<bpf_insn>& w, std::vector<bool>& del,
               CfgFolded& out) {
    for (size_t f = 0; f < fi.size(); ++f) {
        if (!touched[f]) continue;
        const auto [from, to] = function_range(v, fi, f);
        const size_t n = to - from;
        std::vector<char> leader(n + 1, 0);
        leader[0] = 1;
        for (size_t i = from; i < to; ++i) {
            if (is_jump(v[i]) || is_exit(v[i])) {
                if (is_jump(v[i])) leader[size_t(jump_target(v, i)) - from] = 1;
                leader[i + 1 - from] = 1;
            }
            if (v[i].code == kLdImm64) ++i;
        }
        std::vector<size_t> block_of(n + 1, 0), starts;
        for (size_t i = 0; i < n; ++i) {
            if (leader[i]) starts.push_back(from + i);
            block_of[i] = starts.size() - 1;
        }
        const size_t nb = starts.size();
        std::vector<State> in(nb);
        std::vector<char> seen(nb, 0), queued(nb, 0);
        std::priority_queue<size_t, std::vector<size_t>, std::greater<>> work;
        auto flow = [&](size_t t, const State& st) {
            if (t >= to) return;  // falls off the function: the kernel refuses it
            const size_t b = block_of[t - from];
            bool changed = !seen[b];
            if (!seen[b]) {
                in[b] = st;
                seen[b] = 1;
            } else {
                for (size_t r = 0; r < 11; ++r)
                    if (in[b][r] != st[r] && in[b][r].k != Kind::Unknown) {
                        in[b][r] = {};
                        changed = true;
                    }
            }
            if (changed && !queued[b]) {
                queued[b] = 1;
                work.push(b);
            }
        };
        // Walks block b from its in-state; at(i, st before i, outcome) for each instruction.
        auto walk = [&](size_t b, auto at) {
            State st = in[b];
            const size_t end = b + 1 < nb ? starts[b + 1] : to;
            for (size_t i = starts[b]; i < end; i += v[i].code == kLdImm64 ? 2 : 1) {
                const State before = st;
                const auto o = p.step(v, i, st);
                at(i, before, st, o);
                if (i + (v[i].code == kLdImm64 ? 2 : 1) < end) continue;
                // The block's last instruction: where its states go.
                if (is_exit(v[i])) break;
                if (is_jump(v[i]) && BPF_OP(v[i].code) != BPF_JA && o) {
                    flow(*o ? size_t(jump_target(v, i)) : i + 1, st);
                    break;
                }
                successors(v, i, [&](size_t t) { flow(t, st); });
            }
        };
        State entry{};
        flow(from, entry);
        while (!work.empty()) {
            const size_t b = work.top();
            work.pop();
            queued[b] = 0;
            walk(b, [](size_t, const State&, const State&, const std::optional<bool>&) {});
        }
        for (size_t b = 0; b < nb; ++b) {
            const size_t end = b + 1 < nb ? starts[b + 1] : to;
            if (!seen[b]) {
                for (size_t i = starts[b]; i < end; ++i) del[i] = true;
                continue;
            }
            walk(b, [&](size_t i, const State&, const State& after, const std::optional<bool>& o) {
                const bpf_insn& x = v[i];
                const uint8_t cls = BPF_CLASS(x.code);
                if (is_jump(x) && o) {
                    ++out.decided;
                    if (*o)
                        w[i] = make_insn(BPF_JMP | BPF_JA, 0, 0, x.off, 0);
                    else
                        del[i] = true;
                    return;
                }
                const Val r = after[x.dst_reg];
                if (r.k != Kind::Const) return;
                if (cls == BPF_LDX) {
                    if (BPF_SIZE(x.code) != BPF_DW)
                        w[i] = make_insn(BPF_ALU | BPF_MOV | BPF_K, x.dst_reg, 0, 0, int32_t(uint32_t(r.v)));
                    else if (fits_imm(r.v))
                        w[i] =
                            make_insn(BPF_ALU64 | BPF_MOV | BPF_K, x.dst_reg, 0, 0, int32_t(uint32_t(r.v)));
                    else
                        return;
                    ++out.loads;
                } else if (cls == BPF_ALU || cls == BPF_ALU64) {
                    if (BPF_OP(x.code) == BPF_MOV && BPF_SRC(x.code) == BPF_K) return;
                    if (cls == BPF_ALU64 && !fits_imm(r.v)) return;
                    w[i] = make_insn(uint8_t(cls | BPF_MOV | BPF_K), x.dst_reg, 0, 0, int32_t(uint32_t(r.v)));
                }
            });
        }
    }
}

// Step 2, one round: what no path reaches (and functions no call reaches),
// jumps threaded through gotos, gotos and conditional jumps to the next
// instruction, dead definitions; in place in w, deletions in del. Returns
// whether anything changed.
bool clean(const Pass& p, std::vector<bpf_insn>& w, const std::vector<bpf_func_info>& fi,
           const std::vector<bool>& touched, std::vector<bool>& del, std::vector<bool>& fn_gone) {
    bool changed = false;
    const size_t nf = fi.size();
    // Reach within each function, then functions from the entry by the calls in reached code.
    std::vector<bool> reach(w.size(), false);
    for (size_t f = 0; f < nf; ++f) {
        const auto [from, to] = function_range(w, fi, f);
        if (!touched[f]) {  // left as it is: every call in it counts
            for (size_t i = from; i < to; ++i) reach[i] = true;
            continue;
        }
        std::vector<size_t> stack{from};
        reach[from] = true;
        while (!stack.empty()) {
            const size_t i = stack.back();
            stack.pop_back();
            successors(w, i, [&](size_t t) {
                if (t < to && !reach[t]) {
                    reach[t] = true;
                    stack.push_back(t);
                }
            });
        }
    }
    std::vector<size_t> fn_at(w.size() + 1, SIZE_MAX);
    for (size_t f = 0; f < nf; ++f) fn_at[fi[f].insn_off] = f;
    std::vector<bool> called(nf, false);
    std::vector<size_t> stack{0};
    called[0] = true;
    while (!stack.empty()) {
        const size_t f = stack.back();
        stack.pop_back();
        const auto [from, to] = function_range(w, fi, f);
        for (size_t i = from; i < to; ++i) {
            if (!reach[i] || !is_pseudo_call(w[i])) continue;
            const size_t g = fn_at[size_t(int64_t(i) + 1 + w[i].imm)];
            if (!called[g]) {
                called[g] = true;
                stack.push_back(g);
            }
        }
    }
    for (size_t f = 0; f < nf; ++f) {
        const auto [from, to] = function_range(w, fi, f);
        if (!called[f]) {
            fn_gone[f] = true;
            for (size_t i = from; i < to; ++i) del[i] = true;
            changed = true;
            continue;
        }
        if (!touched[f]) continue;
        for (size_t i = from; i < to; ++i) {
            if (reach[i]) {
                if (w[i].code == kLdImm64) ++i;
                continue;
            }
            del[i] = true;  // and an unreached ld_imm64's second half
            changed = true;
        }
        for (size_t i = from; i < to; ++i) {
            if (del[i] || !is_jump(w[i])) continue;
            int64_t t = jump_target(w, i);
            const int64_t t0 = t;
            for (int hops = 0; hops < 64 && is_goto(w[size_t(t)]) && jump_target(w, size_t(t)) != t; ++hops)
                t = jump_target(w, size_t(t));
            if (t != t0) {
                const int64_t off = t - int64_t(i) - 1;
                if (is_gotol(w[i])) {
                    w[i].imm = int32_t(off);
                    changed = true;
                } else if (off >= INT16_MIN && off <= INT16_MAX) {
                    w[i].off = int16_t(off);
                    changed = true;
                } else if (BPF_OP(w[i].code) == BPF_JA) {
                    w[i] = go(off);
                    changed = true;
                }
            }
            if (jump_target(w, i) == int64_t(i) + 1) {  // goes where it falls: no effect
                del[i] = true;
                changed = true;
            }
        }
        // Definitions no path reads (live_in's `pure`: a chain of them at once).
        std::vector<bool> pure(w.size(), false);  // indexed like w; only [from, to) is read
        for (size_t i = from; i < to; ++i) {
            const bpf_insn& x = w[i];
            const uint8_t cls = BPF_CLASS(x.code);
            const unsigned def = use_def(x).def;
            pure[i] = !del[i] && def != 0 && !(def & (1u << BPF_REG_10)) &&
                      (cls == BPF_ALU || cls == BPF_ALU64 ||
                       (cls == BPF_LDX && (BPF_MODE(x.code) == BPF_MEM || BPF_MODE(x.code) == 0x80)) ||
                       (x.code == kLdImm64 &&
                        (x.src_reg == 0 || (x.src_reg == BPF_PSEUDO_MAP_VALUE && x.imm == p.fd))));
            if (x.code == kLdImm64) ++i;
        }
        const auto in = live_in(w, from, to, &del, &pure);
        for (size_t i = from; i < to; ++i) {
            const bool pair = w[i].code == kLdImm64;
            if (pure[i]) {
                unsigned live_out = 0;
                successors(w, i, [&](size_t t) {
                    if (t < to) live_out |= in[t - from];
                });
                if (!(use_def(w[i]).def & live_out)) {
                    del[i] = true;
                    if (pair) del[i + 1] = true;
                    changed = true;
                }
            }
            if (pair) ++i;
        }
    }
    return changed;
}

std::map<size_t, std::vector<bpf_insn>> deletions(const std::vector<bool>& del) {
    std::map<size_t, std::vector<bpf_insn>> repl;
    for (size_t i = 0; i < del.size(); ++i)
        if (del[i]) repl.emplace_hint(repl.end(), i, std::vector<bpf_insn>{});
    return repl;
}

// See fold_config: the fold of insns with the last function in place of a
// stand-in, or nullopt where that would not be the same (the last function
// is the first, short, loads the config or has a call or a function's
// address in it).
std::optional<CfgFolded> fold_without_last(const std::vector<bpf_insn>& insns,
                                           const std::vector<bpf_func_info>& func_info, int32_t cfg_fd,
                                           const std::vector<uint8_t>& value) {
    static const bpf_insn stand_in[2] = {make_insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
                                         make_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
    constexpr size_t kMinLast = 1024;  // a shorter one is folded in place: little to copy
    if (func_info.size() < 2) return std::nullopt;
    const auto [from, to] = function_range(insns, func_info, func_info.size() - 1);
    if (to - from < kMinLast) return std::nullopt;
    for (size_t i = from; i < to; ++i) {
        const bpf_insn& x = insns[i];
        if (is_call(x) || is_pseudo_call(x)) return std::nullopt;
        if (x.code == kLdImm64) {
            if (x.src_reg == BPF_PSEUDO_MAP_VALUE && x.imm == cfg_fd) return std::nullopt;
            ++i;
        }
    }
    std::vector<bpf_insn> head(insns.begin(), insns.begin() + ptrdiff_t(from));
    head.insert(head.end(), std::begin(stand_in), std::end(stand_in));
    CfgFolded out = fold_config(head, func_info, cfg_fd, value);
    if (!out.kept_why.empty()) return std::nullopt;  // the whole stream decides, as before
    const size_t n = out.insns.size();
    const bool kept = !out.func_info.empty() && out.func_info.back().type_id == func_info.back().type_id &&
                      n - out.func_info.back().insn_off == 2 &&
                      std::memcmp(&out.insns[n - 2], stand_in, sizeof stand_in) == 0;
    if (kept) {
        out.insns.resize(n - 2);
        out.insns.insert(out.insns.end(), insns.begin() + ptrdiff_t(from), insns.begin() + ptrdiff_t(to));
    } else {
        out.removed += (to - from) - 2;  // the function went whole, not its stand-in's 2
    }
    return out;
}

}  // namespace

CfgFolded fold_config(const std::vector<bpf_insn>& insns, const std::vector<bpf_func_info>& func_info,
                      int32_t cfg_fd, const std::vector<uint8_t>& value) {
    CfgFolded out;
    out.insns = insns;
    out.func_info = func_info;
    if (!readable(insns, func_info, out.kept_why)) return out;
    // The last function, when it never loads the config and calls nothing,
    // only ever stays as it is or goes whole (no call left to it): nothing
    // else reads its instructions. Folded with a two-instruction stand-in
    // instead, each round's rebuild copies the fixed code (~3k instructions)
    // and not the 10,000-filter walk placed there (~200k): the fold of the
    // tc program takes 16 rounds (from the third on, one instruction a
    // round), each of which copied the whole stream. The walk is put back
    // after; the result is the same stream.
    if (auto s = fold_without_last(insns, func_info, cfg_fd, value)) return std::move(*s);
    const Pass p{cfg_fd, value};
    std::vector<bpf_insn> w = insns;
    std::vector<bool> del(insns.size(), false);
    std::vector<bool> fn_gone(func_info.size(), false);
    // Functions that never load the config's address are left as they are
    // (but go when no call is left to them): the 10,000-filter walk, ~200k
    // instructions verified on its own, has nothing to fold, and going over
    // it in every round cost ~120 ms of the load.
    std::vector<bool> touched(func_info.size(), false);
    for (size_t f = 0; f < func_info.size(); ++f) {
        const auto [from, to] = function_range(insns, func_info, f);
        for (size_t i = from; i < to && !touched[f]; ++i)
            touched[f] = insns[i].code == kLdImm64 && insns[i].src_reg == BPF_PSEUDO_MAP_VALUE &&
                         insns[i].imm == cfg_fd;
    }
    propagate(p, insns, func_info, touched, w, del, out);
    std::vector<bpf_func_info> fi = func_info;
    // Each round's deletions go at once; a round finds what the last one left (a goto no jump reaches now).
    for (int round = 0; round < 16; ++round) {
        std::string why;
        auto r = rebuild(w, deletions(del), why);
        if (!r) {  // deletions only shorten jumps; a rebuild that fails is a stream this does not know
            CfgFolded kept;
            kept.insns = insns;
            kept.func_info = func_info;
            kept.kept_why = why;
            return kept;
        }
        std::vector<bpf_func_info> next;
        std::vector<bool> still;
        for (size_t f = 0; f < fi.size(); ++f) {
            if (fn_gone[f]) continue;
            bpf_func_info x = fi[f];
            x.insn_off = uint32_t(r->pos[x.insn_off]);
            next.push_back(x);
            still.push_back(touched[f]);
        }
        touched = std::move(still);
        out.functions += fi.size() - next.size();
        w = std::move(r->insns);
        fi = std::move(next);
        del.assign(w.size(), false);
        fn_gone.assign(fi.size(), false);
        if (!clean(p, w, fi, touched, del, fn_gone)) break;
    }
    out.removed = insns.size() - w.size();
    out.insns = std::move(w);
    out.func_info = std::move(fi);
    return out;
}

// Why the fold is exact: a frozen map refuses every write from user space
// (BPF_MAP_UPDATE_ELEM, and a writable mmap: freezing waits for none to be
// left), and BPF_F_RDONLY_PROG makes the verifier refuse every program store
// into it, so the value read here is the value every program ever loads.
Result<std::vector<uint8_t>> frozen_map_value(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return Error::sys(errno, "config map info");
    if (!(info.map_flags & BPF_F_RDONLY_PROG)) return Error::msg("the config map is writable by programs");
    if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != 4 || info.max_entries != 1)
        return Error::msg("the config map is not a one-element array");
    // The kernel says whether the map is frozen only in its fdinfo.
    std::ifstream f("/proc/self/fdinfo/" + std::to_string(fd));
    bool frozen = false;
    for (std::string line; std::getline(f, line);)
        if (line.rfind("frozen:", 0) == 0) frozen = line.find('1') != std::string::npos;
    if (!frozen) return Error::msg("the config map is not frozen");
    std::vector<uint8_t> value(info.value_size);
    const uint32_t zero = 0;
    if (bpf_map_lookup_elem(fd, &zero, value.data()) != 0) return Error::sys(errno, "read the config map");
    return value;
}

}  // namespace secpol::rt
