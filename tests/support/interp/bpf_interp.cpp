#include "interp/bpf_interp.h"

#include <cstring>

namespace secpol::testsupport {
namespace {

bool alu(uint8_t op, uint64_t s, uint64_t& d) {
    switch (op) {
        case BPF_MOV:
            d = s;
            return true;
        case BPF_ADD:
            d += s;
            return true;
        case BPF_XOR:
            d ^= s;
            return true;
        case BPF_AND:
            d &= s;
            return true;
        case BPF_OR:
            d |= s;
            return true;
        default:
            return false;
    }
}

// -1: an opcode the interpreter does not know.
int compare(uint8_t op, uint64_t a, uint64_t b) {
    switch (op) {
        case BPF_JEQ:
            return a == b;
        case BPF_JNE:
            return a != b;
        case BPF_JGT:
            return a > b;
        case BPF_JGE:
            return a >= b;
        case BPF_JLT:
            return a < b;
        case BPF_JLE:
            return a <= b;
        case BPF_JSET:
            return (a & b) != 0;
        default:
            return -1;
    }
}

}  // namespace

InterpResult interpret(const std::vector<bpf_insn>& code, uint64_t arg1, uint64_t arg2,
                       const InterpOptions& opt) {
    struct Frame {
        size_t ret;
        uint64_t saved[4];
    };
    InterpResult res;
    uint64_t r[11] = {};
    // 512 bytes of stack per frame, r10 at the top of the current one.
    std::vector<uint64_t> stack(64 * 9);
    r[10] = reinterpret_cast<uint64_t>(stack.data() + stack.size());
    r[1] = arg1;
    r[2] = arg2;
    std::vector<Frame> frames;
    size_t pc = 0;
    auto fail = [&](const std::string& why) {
        res.error = why + " at " + std::to_string(pc);
        return res;
    };
    for (;;) {
        if (pc >= code.size()) return fail("ran off the end");
        if (++res.insns > opt.max_steps) return fail("too many steps");
        const bpf_insn& x = code[pc];
        if (opt.on_insn) opt.on_insn(pc, x);
        const uint8_t cls = BPF_CLASS(x.code), op = BPF_OP(x.code);
        if (cls == BPF_ALU || cls == BPF_ALU64) {
            const uint64_t s = BPF_SRC(x.code) == BPF_X ? r[x.src_reg] : uint64_t(int64_t(x.imm));
            if (!alu(op, s, r[x.dst_reg])) return fail("alu op " + std::to_string(op));
            if (cls == BPF_ALU) r[x.dst_reg] &= 0xffffffffu;
            ++pc;
        } else if (x.code == (BPF_LD | BPF_IMM | BPF_DW)) {
            if (pc + 1 >= code.size()) return fail("a cut ld_imm64");
            const uint32_t hi = uint32_t(code[pc + 1].imm);
            if (x.src_reg == 0)
                r[x.dst_reg] = uint32_t(x.imm) | uint64_t(hi) << 32;
            else if (x.src_reg == BPF_PSEUDO_MAP_VALUE && opt.map_value)
                r[x.dst_reg] = opt.map_value(x.imm) + hi;
            else
                return fail("ld_imm64 of kind " + std::to_string(x.src_reg));
            pc += 2;
        } else if (x.code == (BPF_LDX | BPF_MEM | BPF_W) || x.code == (BPF_LDX | BPF_MEM | BPF_DW)) {
            const char* at = reinterpret_cast<const char*>(r[x.src_reg]) + x.off;
            uint64_t v = 0;
            std::memcpy(&v, at, BPF_SIZE(x.code) == BPF_DW ? 8 : 4);  // little-endian host
            r[x.dst_reg] = v;
            ++pc;
        } else if (x.code == (BPF_STX | BPF_MEM | BPF_W) || x.code == (BPF_STX | BPF_MEM | BPF_DW)) {
            char* at = reinterpret_cast<char*>(r[x.dst_reg]) + x.off;
            const uint64_t v = r[x.src_reg];
            std::memcpy(at, &v, BPF_SIZE(x.code) == BPF_DW ? 8 : 4);
            ++pc;
        } else if (x.code == (BPF_JMP | BPF_CALL) && x.src_reg == BPF_PSEUDO_CALL) {
            if (frames.size() + 1 >= 9) return fail("calls too deep");
            frames.push_back(Frame{pc + 1, {r[6], r[7], r[8], r[9]}});
            r[10] -= 512;
            for (int i = 0; i <= 5; ++i)
                if (i != 1 && i != 2) r[i] = 0xdead;  // arguments only
            pc = pc + 1 + x.imm;
        } else if (x.code == (BPF_JMP | BPF_EXIT)) {
            if (frames.empty()) break;
            const Frame f = frames.back();
            frames.pop_back();
            for (int i = 0; i < 4; ++i) r[6 + i] = f.saved[i];
            r[10] += 512;
            for (int i = 1; i <= 5; ++i) r[i] = 0xbad;  // clobbered by the call
            pc = f.ret;
        } else if (x.code == (BPF_JMP32 | BPF_JA)) {
            res.taken += x.imm != 0;
            pc = pc + 1 + x.imm;
        } else if (x.code == (BPF_JMP | BPF_JA)) {
            res.taken += x.off != 0;
            pc = pc + 1 + x.off;
        } else if (cls == BPF_JMP || cls == BPF_JMP32) {
            uint64_t a = r[x.dst_reg], b = BPF_SRC(x.code) == BPF_X ? r[x.src_reg] : uint64_t(int64_t(x.imm));
            if (cls == BPF_JMP32) a &= 0xffffffffu, b &= 0xffffffffu;
            const int t = compare(op, a, b);
            if (t < 0) return fail("jump op " + std::to_string(op));
            res.taken += t;
            pc = pc + 1 + (t ? x.off : 0);
        } else {
            return fail("opcode " + std::to_string(x.code));
        }
    }
    res.r0 = r[0];
    return res;
}

}  // namespace secpol::testsupport
