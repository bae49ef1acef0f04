#include "backend/dump.h"

#include <cstdio>
#include <sstream>

#include "tree/terms.h"

namespace secpol::backend {
namespace {

std::string fixed_programs(const std::vector<uint8_t>& elf) {
    auto progs = programs_of(elf);
    if (!progs) return "; (object could not be read: " + progs.error().message + ")\n";
    std::ostringstream os;
    for (const auto& p : *progs)
        os << "; " << p.name << " (" << p.section << "): " << p.insns
           << " instructions before the verifier; source bpf/secpol.bpf.c\n";
    return os.str();
}

}  // namespace

// The generated body of secpol_walk, with the filter behind each leaf.
std::string generated_listing(const Compiled& c) {
    std::vector<std::string> notes;
    for (const auto& r : c.policy.rules)
        notes.push_back("\"" + r.label + "\" " +
                        (c.policy.file.empty() ? std::string("policy") : c.policy.file) + ":" +
                        std::to_string(r.loc.line));
    std::ostringstream os;
    const bool split = !c.code.out.insns.empty();
    const Template tmpl = pick_template(c.image.meta, c.image.code.size(), c.image.code_out.size());
    auto head = [&](const char* which, const CodeBody& b, uint32_t root) {
        os << "; secpol_walk " << which << " (generated, replaces the node walk at load; "
           << (b.insns.size() <= kSpliceMaxInsns
                   ? (tmpl != Template::Called
                          ? std::string(
                                "spliced at each call, the filters inline in the entry programs with the "
                                "copy out of line after the entry program (no call of "
                                "secpol_decide_in/_out on the filter path") +
                                (tmpl == Template::InlineDirect
                                     ? ", no opaque store before the walk"
                                     : ", the record made opaque to the verifier before the walk") +
                                "), without the NULL test, exits jumping back after the call"
                          : "spliced in place of each call in secpol_decide_in/_out, without the NULL test, "
                            "exits jumping past the call")
                   : "kept as the called subprogram")
           << "): " << b.insns.size() << " instructions, " << b.long_jumps
           << " long jumps (gotol); tree of root " << root
           << "; r1 = key, w0 = the rule's first counter slot << 5 | kind bits (secpol_abi.h SECPOL_PK_*) or "
              "0xffffffff; labels nN are tree nodes\n";
    };
    head(split ? "for ingress (XDP programs)" : "for both directions", c.code.in, c.program.root_in);
    os << fixed_programs(c.image.elf);
    os << backend::listing(c.code.in, notes);
    if (split) {
        head("for egress (tc programs)", c.code.out, c.program.root_out);
        os << backend::listing(c.code.out, notes);
    }
    return os.str();
}

std::string dump_bpf(const Compiled& c) {
    if (c.code.form == backend::WalkerForm::Generated) return generated_listing(c);
    std::ostringstream os;
    os << "; node-array walker: " << c.code.reason << "\n";
    const auto& prog = c.program;
    os << "; secpol decision program: " << prog.nodes.size() << " nodes ("
       << prog.nodes.size() * sizeof(secpol_node) << " bytes), root in=" << prog.root_in
       << " out=" << prog.root_out << ", longest walk " << prog.max_steps << " steps (bound "
       << SECPOL_MAX_STEPS << ")\n";
    os << fixed_programs(c.image.elf);
    char buf[160];
    for (size_t i = 0; i < prog.nodes.size(); ++i) {
        const auto& n = prog.nodes[i];
        if (n.field == SECPOL_NODE_MATCH) {
            const auto* r = n.lo < c.policy.rules.size() ? &c.policy.rules[n.lo] : nullptr;
            std::snprintf(buf, sizeof buf, "%05zu  match  rule %u", i, n.lo);
            os << buf << (r ? " \"" + r->label + "\"" : "") << "\n";
        } else if (n.field == SECPOL_NODE_NOMATCH) {
            std::snprintf(buf, sizeof buf, "%05zu  nomatch  (best candidate, else default)\n", i);
            os << buf;
        } else if (n.field == SECPOL_NODE_CAND) {
            std::snprintf(buf, sizeof buf, "%05zu  cand   rule %u prio %u  next %05u\n", i, n.lo, n.hi,
                          n.next_pass);
            os << buf;
        } else if (n.field == SECPOL_F_BEST) {
            std::snprintf(buf, sizeof buf, "%05zu  test   %-9s in [%u, %#x]  pass %05u  fail %05u\n", i,
                          "best", n.lo, n.hi, n.next_pass, n.next_fail);
            os << buf;
        } else {
            std::snprintf(buf, sizeof buf, "%05zu  test   %-9s in [%#x, %#x]  pass %05u  fail %05u\n", i,
                          tree::field_name(n.field), n.lo, n.hi, n.next_pass, n.next_fail);
            os << buf;
        }
    }
    return os.str();
}

}  // namespace secpol::backend
