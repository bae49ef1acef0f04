// See insn_stream.h.
#include "insn_stream.h"

#include "backend/codegen.h"

namespace secpol::rt {

using backend::make_insn;

bpf_insn go(int64_t off) {
    if (off >= INT16_MIN && off <= INT16_MAX) return make_insn(BPF_JMP | BPF_JA, 0, 0, int16_t(off), 0);
    return make_insn(BPF_JMP32 | BPF_JA, 0, 0, 0, int32_t(off));
}

bool ends_flow(const std::vector<bpf_insn>& v, const std::map<size_t, std::vector<bpf_insn>>& repl, size_t i,
               const Cut& cut) {
    if (cut.has(i) || repl.count(i)) return false;
    return is_exit(v[i]) || is_goto(v[i]);
}

std::optional<Rebuilt> rebuild(const std::vector<bpf_insn>& v,
                               const std::map<size_t, std::vector<bpf_insn>>& repl, std::string& why,
                               const Trampolines& tramps, std::vector<size_t>* bad, const Cut& cut) {
    Rebuilt r;
    r.pos.resize(v.size() + 1);
    std::map<size_t, std::pair<size_t, size_t>> via;  // source -> (slot, its trampoline's number)
    for (const auto& [slot, srcs] : tramps)
        for (size_t k = 0; k < srcs.size(); ++k) via[srcs[k]] = {slot, k};
    auto skip = [&](size_t i) -> int64_t { return i == 0 || !ends_flow(v, repl, i - 1, cut) ? 1 : 0; };
    auto block = [&](size_t i) -> int64_t {  // the goto (if needed) and the trampolines before slot i
        auto t = tramps.find(i);
        return t == tramps.end() || t->second.empty() ? 0 : int64_t(t->second.size()) + skip(i);
    };
    int64_t at = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        at += block(i);
        r.pos[i] = at;
        if (cut.has(i)) continue;
        auto it = repl.find(i);
        at += it == repl.end() ? 1 : int64_t(it->second.size());
    }
    r.pos[v.size()] = at;
    r.insns.reserve(size_t(at));
    for (size_t i = 0; i < v.size(); ++i) {
        if (const int64_t n = block(i)) {
            if (skip(i)) r.insns.push_back(go(n - 1));
            for (size_t src : tramps.at(i)) {
                const int64_t here = int64_t(r.insns.size());
                r.insns.push_back(make_insn(BPF_JMP32 | BPF_JA, 0, 0, 0,
                                            int32_t(r.pos[size_t(jump_target(v, src))] - here - 1)));
            }
        }
        if (cut.has(i)) continue;
        if (auto it = repl.find(i); it != repl.end()) {
            r.insns.insert(r.insns.end(), it->second.begin(), it->second.end());
            continue;
        }
        bpf_insn x = v[i];
        const int64_t here = r.pos[i];
        if (is_jump(x)) {
            int64_t off = r.pos[size_t(jump_target(v, i))] - here - 1;
            if (auto t = via.find(i); t != via.end()) {
                const size_t slot = t->second.first;
                off = r.pos[slot] - block(slot) + skip(slot) + int64_t(t->second.second) - here - 1;
            }
            if (is_gotol(x)) {
                x.imm = int32_t(off);
            } else if (off < INT16_MIN || off > INT16_MAX) {
                if (BPF_OP(x.code) != BPF_JA) {
                    if (!bad || bad->empty())
                        why =
                            "a conditional jump at " + std::to_string(i) + " would not reach across the body";
                    if (!bad) return std::nullopt;
                    bad->push_back(i);
                } else {
                    x = go(off);
                }
            } else {
                x.off = int16_t(off);
            }
        } else if (is_pseudo_call(x)) {
            const size_t t = size_t(int64_t(i) + 1 + x.imm);
            x.imm = int32_t(r.pos[t] - here - 1);
        }
        r.insns.push_back(x);
    }
    if (bad && !bad->empty()) return std::nullopt;
    return r;
}

UseDef use_def(const bpf_insn& x) {
    const unsigned d = 1u << x.dst_reg, s = 1u << x.src_reg;
    const uint8_t cls = BPF_CLASS(x.code);
    switch (cls) {
        case BPF_ALU:
        case BPF_ALU64:
            if (BPF_OP(x.code) == BPF_MOV) return {BPF_SRC(x.code) == BPF_X ? s : 0u, d};
            if (BPF_OP(x.code) == BPF_END || BPF_OP(x.code) == BPF_NEG) return {d, d};
            return {d | (BPF_SRC(x.code) == BPF_X ? s : 0u), d};
        case BPF_LDX:
            return {s, d};
        case BPF_ST:
            return {d, 0};
        case BPF_STX:
            if (BPF_MODE(x.code) == BPF_ATOMIC) return {d | s | 1u, s | 1u};  // fetch forms write src or r0
            return {d | s, 0};
        case BPF_LD:
            if (x.code == kLdImm64) return {0, d};
            return {0x3eu | 0x40u, 0x3fu};  // legacy packet loads: r6 = ctx, clobber r0-r5
        default:                            // jumps
            if (is_exit(x)) return {1u, 0};
            if (is_call(x)) return {0x3eu, 0x3fu};
            if (BPF_OP(x.code) == BPF_JA) return {};
            return {d | (BPF_SRC(x.code) == BPF_X ? s : 0u), 0};
    }
}

std::vector<unsigned> live_in(const std::vector<bpf_insn>& v, size_t from, size_t to,
                              const std::vector<bool>* gone, const std::vector<bool>* pure) {
    std::vector<unsigned> in(to - from + 1, 0);  // in[to - from]: nothing after the end
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = to; i-- > from;) {
            const bpf_insn& x = v[i];
            if (i > from && v[i - 1].code == kLdImm64) continue;  // second half of ld_imm64
            unsigned out = 0;
            auto succ = [&](int64_t t) {
                if (t >= int64_t(from) && t < int64_t(to)) out |= in[size_t(t) - from];
            };
            const bool absent = gone && (*gone)[i];
            if (absent) {
                succ(int64_t(i) + (x.code == kLdImm64 ? 2 : 1));
            } else if (is_exit(x)) {
            } else if (is_jump(x)) {
                succ(jump_target(v, i));
                if (BPF_OP(x.code) != BPF_JA) succ(int64_t(i) + 1);
            } else {
                succ(int64_t(i) + (x.code == kLdImm64 ? 2 : 1));
            }
            const UseDef ud = absent ? UseDef{} : use_def(x);
            // A pure definition no path reads reads nothing either.
            const bool faint = pure && (*pure)[i] && !(ud.def & out);
            const unsigned n = (faint ? 0 : ud.use) | (out & ~ud.def);
            if (n != in[i - from]) {
                in[i - from] = n;
                changed = true;
            }
        }
    }
    return in;
}

}  // namespace secpol::rt
