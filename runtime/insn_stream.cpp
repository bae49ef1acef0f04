// See insn_stream.h.
#include "insn_stream.h"

#include "backend/codegen.h"

namespace secpol::rt {

using backend::make_insn;

bpf_insn go(int64_t off) {
    if (off >= INT16_MIN && off <= INT16_MAX) return make_insn(BPF_JMP | BPF_JA, 0, 0, int16_t(off), 0);
    return make_insn(BPF_JMP32 | BPF_JA, 0, 0, 0, int32_t(off));
}

std::optional<Rebuilt> rebuild(const std::vector<bpf_insn>& v,
                               const std::map<size_t, std::vector<bpf_insn>>& repl, std::string& why) {
    Rebuilt r;
    r.pos.resize(v.size() + 1);
    int64_t at = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        r.pos[i] = at;
        auto it = repl.find(i);
        at += it == repl.end() ? 1 : int64_t(it->second.size());
    }
    r.pos[v.size()] = at;
    r.insns.reserve(size_t(at));
    for (size_t i = 0; i < v.size(); ++i) {
        if (auto it = repl.find(i); it != repl.end()) {
            r.insns.insert(r.insns.end(), it->second.begin(), it->second.end());
            continue;
        }
        bpf_insn x = v[i];
        const int64_t here = r.pos[i];
        if (is_jump(x)) {
            const int64_t off = r.pos[size_t(jump_target(v, i))] - here - 1;
            if (is_gotol(x)) {
                x.imm = int32_t(off);
            } else if (off < INT16_MIN || off > INT16_MAX) {
                if (BPF_OP(x.code) != BPF_JA) {
                    why = "a conditional jump at " + std::to_string(i) + " would not reach across the body";
                    return std::nullopt;
                }
                x = go(off);
            } else {
                x.off = int16_t(off);
            }
        } else if (is_pseudo_call(x)) {
            const size_t t = size_t(int64_t(i) + 1 + x.imm);
            x.imm = int32_t(r.pos[t] - here - 1);
        }
        r.insns.push_back(x);
    }
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
