// The generated instructions printed like `bpftool prog dump xlated`, with
// the node each block came from and the filter behind each leaf.
#include <cstdio>
#include <map>
#include <sstream>

#include "backend/codegen.h"
#include "tree/terms.h"

namespace secpol::backend {
namespace {

// The key word a load offset names, or null when it is not one.
const char* field_name(int32_t off) {
    return off >= 0 && off % 4 == 0 && off / 4 < SECPOL_NF ? tree::field_name(unsigned(off / 4)) : nullptr;
}

const char* jmp_op(uint8_t op) {
    switch (op) {
        case BPF_JEQ:
            return "==";
        case BPF_JNE:
            return "!=";
        case BPF_JGT:
            return ">";
        case BPF_JGE:
            return ">=";
        case BPF_JLT:
            return "<";
        case BPF_JLE:
            return "<=";
        case BPF_JSET:
            return "&";
    }
    return "?";
}

const char* alu_op(uint8_t op) {
    switch (op) {
        case BPF_MOV:
            return "=";
        case BPF_XOR:
            return "^=";
        case BPF_AND:
            return "&=";
        case BPF_OR:
            return "|=";
        case BPF_ADD:
            return "+=";
        case BPF_SUB:
            return "-=";
    }
    return "?=";
}

std::string insn_text(const bpf_insn& in, std::string& note) {
    char buf[128];
    const uint8_t cls = BPF_CLASS(in.code);
    const char r = cls == BPF_ALU || cls == BPF_JMP32 ? 'w' : 'r';
    if (cls == BPF_LDX && BPF_MODE(in.code) == BPF_MEM && BPF_SIZE(in.code) == BPF_W) {
        std::snprintf(buf, sizeof buf, "r%u = *(u32 *)(r%u %+d)", in.dst_reg, in.src_reg, in.off);
        if (const char* f = field_name(in.off)) note = std::string("key.") + f;
    } else if (cls == BPF_LDX && BPF_MODE(in.code) == BPF_MEM && BPF_SIZE(in.code) == BPF_DW) {
        std::snprintf(buf, sizeof buf, "r%u = *(u64 *)(r%u %+d)", in.dst_reg, in.src_reg, in.off);
        const char* f = field_name(in.off);
        const char* g = field_name(in.off + 4);
        if (f && g) note = std::string("key.") + f + ", key." + g;
    } else if (cls == BPF_ALU || cls == BPF_ALU64) {
        if (BPF_SRC(in.code) == BPF_X)
            std::snprintf(buf, sizeof buf, "%c%u %s %c%u", r, in.dst_reg, alu_op(BPF_OP(in.code)), r,
                          in.src_reg);
        else if (BPF_OP(in.code) == BPF_MOV)
            std::snprintf(buf, sizeof buf, "%c%u = %d", r, in.dst_reg, in.imm);
        else
            std::snprintf(buf, sizeof buf, "%c%u %s 0x%x", r, in.dst_reg, alu_op(BPF_OP(in.code)),
                          uint32_t(in.imm));
    } else if (in.code == (BPF_JMP | BPF_EXIT)) {
        std::snprintf(buf, sizeof buf, "exit");
    } else if (in.code == (BPF_JMP | BPF_JA)) {
        std::snprintf(buf, sizeof buf, "goto pc%+d", in.off);
    } else if (in.code == (BPF_JMP32 | BPF_JA)) {
        std::snprintf(buf, sizeof buf, "gotol pc%+d", in.imm);
    } else if (cls == BPF_JMP || cls == BPF_JMP32) {
        if (BPF_SRC(in.code) == BPF_X)
            std::snprintf(buf, sizeof buf, "if %c%u %s %c%u goto pc%+d", r, in.dst_reg,
                          jmp_op(BPF_OP(in.code)), r, in.src_reg, in.off);
        else
            std::snprintf(buf, sizeof buf, "if %c%u %s 0x%x goto pc%+d", r, in.dst_reg,
                          jmp_op(BPF_OP(in.code)), uint32_t(in.imm), in.off);
    } else {
        std::snprintf(buf, sizeof buf, "code 0x%02x dst r%u src r%u off %d imm %d", in.code, in.dst_reg,
                      in.src_reg, in.off, in.imm);
    }
    return buf;
}

}  // namespace

std::string listing(const CodeBody& body, const std::vector<std::string>& rule_notes) {
    const std::vector<bpf_insn>& insns = body.insns;
    std::map<uint32_t, uint32_t> label_at(body.labels.begin(), body.labels.end());
    std::map<uint32_t, uint32_t> leaf_at;
    for (const auto& l : body.leaves) leaf_at[l.insn] = l.rule;
    std::ostringstream os;
    char head[32];
    for (size_t i = 0; i < insns.size(); ++i) {
        if (auto it = label_at.find(uint32_t(i)); it != label_at.end()) os << "n" << it->second << ":\n";
        std::string note;
        std::snprintf(head, sizeof head, "%6zu: (%02x) ", i, insns[i].code);
        os << head;
        if (auto it = leaf_at.find(uint32_t(i)); it != leaf_at.end()) {
            // The packed decision in hex: the rule's first counter slot above the kind bits.
            const bool cand = insns[i].dst_reg != BPF_REG_0;
            const uint32_t v = uint32_t(insns[i].imm);
            char mov[48];
            std::snprintf(mov, sizeof mov, "w%u = %#x", insns[i].dst_reg, v);
            os << mov;
            note = std::string(cand ? "candidate " : "") + "rule " + std::to_string(it->second) + " " +
                   packed_kind(v);
            if (it->second < rule_notes.size() && !rule_notes[it->second].empty())
                note += " " + rule_notes[it->second];
        } else {
            os << insn_text(insns[i], note);
        }
        if (!note.empty()) os << "\t; " << note;
        os << "\n";
    }
    return os.str();
}

}  // namespace secpol::backend
