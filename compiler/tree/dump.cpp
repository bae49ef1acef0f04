// --dump=tree: the decision program as an indented if/else tree. Values are
// shown the way a policy author wrote them (addresses, ports, protocol
// names); subtrees shared between branches or directions are printed once
// and referred to by node index afterwards.
#include <cstdio>
#include <sstream>
#include <vector>

#include "tree/program.h"
#include "tree/terms.h"

namespace secpol::tree {
namespace {

std::string word_str(unsigned f, uint32_t v) {
    char buf[32];
    if (f == SECPOL_F_SRC3 || f == SECPOL_F_DST3) {
        // The low word is the whole address for IPv4 (mapped) keys.
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    } else if (f <= SECPOL_F_DST3) {
        std::snprintf(buf, sizeof buf, "0x%08x", v);
    } else if (f == SECPOL_F_PROTO) {
        switch (v) {
            case 1:
                return "icmp";
            case 6:
                return "tcp";
            case 17:
                return "udp";
            case 50:
                return "esp";
            case 51:
                return "ah";
            case 58:
                return "icmpv6";
            default:
                std::snprintf(buf, sizeof buf, "%u", v);
        }
    } else {
        std::snprintf(buf, sizeof buf, "%u", v);
    }
    return buf;
}

// An address word range that is an aligned power-of-two block reads best as a prefix.
int block_bits(uint32_t lo, uint32_t hi) {
    uint64_t size = uint64_t(hi) - lo + 1;
    if (size & (size - 1)) return -1;
    if (lo & (size - 1)) return -1;
    int bits = 0;
    while ((uint64_t(1) << bits) < size) ++bits;
    return 32 - bits;
}

std::string cond(const secpol_node& n) {
    unsigned f = n.field;
    // A forest's tree entry: skipped unless its terms can beat the candidate held.
    if (f == SECPOL_F_BEST) return "no candidate better than filter #" + std::to_string(n.lo);
    std::string name = field_name(f);
    uint32_t dmax = field_domain_max(f);
    if (dmax == 1)
        return n.lo >= 1 ? name
                         : (n.hi == 0 ? "!" + name
                                      : name + " in " + std::to_string(n.lo) + ".." + std::to_string(n.hi));
    if (n.lo == n.hi) return name + " == " + word_str(f, n.lo);
    if (f <= SECPOL_F_DST3) {
        int bits = block_bits(n.lo, n.hi);
        if (bits >= 0) return name + " in " + word_str(f, n.lo) + "/" + std::to_string(bits);
    }
    if (n.lo == 0) return name + " < " + word_str(f, n.hi + 1);
    if (n.hi >= dmax) return name + " >= " + word_str(f, n.lo);
    return name + " in " + word_str(f, n.lo) + ".." + word_str(f, n.hi);
}

class Printer {
  public:
    Printer(const Program& p, const ir::Policy& pol, size_t max_lines)
        : prog_(p), policy_(pol), max_lines_(max_lines), shown_(p.nodes.size(), 0) {
        for (const auto& n : p.nodes) forest_ = forest_ || n.field == SECPOL_NODE_CAND;
    }

    void tree(uint32_t idx, unsigned indent) {
        if (idx >= prog_.nodes.size()) return line(indent, "<bad node " + std::to_string(idx) + ">");
        const secpol_node& n = prog_.nodes[idx];
        if (n.field >= SECPOL_NODE_MATCH) return line(indent, leaf(n));
        if (n.field > SECPOL_F_BEST) return line(indent, "<bad node " + std::to_string(idx) + ">");
        std::string id = "[" + std::to_string(idx) + "] ";
        if (shown_[idx]) return line(indent, "-> " + id + "(shown above)");
        shown_[idx] = 1;
        ++shown_count_;
        const secpol_node& pass = prog_.nodes[n.next_pass];
        const secpol_node& fail = prog_.nodes[n.next_fail];
        if (pass.field >= SECPOL_NODE_MATCH) {
            line(indent, id + "if " + cond(n) + " -> " + leaf(pass));
        } else {
            line(indent, id + "if " + cond(n));
            tree(n.next_pass, indent + 1);
        }
        if (fail.field >= SECPOL_NODE_MATCH) return line(indent, "else -> " + leaf(fail));
        line(indent, "else");
        tree(n.next_fail, indent + 1);
    }

    // A root and, for a forest, each next tree its candidates lead to.
    void forest(uint32_t root, unsigned indent) {
        tree(root, indent);
        for (size_t i = 0; i < pending_.size(); ++i) {
            uint32_t t = pending_[i];
            if (t >= prog_.nodes.size() || shown_[t] || prog_.nodes[t].field > SECPOL_F_BEST) continue;
            line(indent, "next tree [" + std::to_string(t) + "]:");
            tree(t, indent + 1);
        }
        pending_.clear();
    }

    void line(unsigned indent, const std::string& s) {
        if (++lines_ > max_lines_) return;
        out_ << std::string(2 * indent, ' ') << s << '\n';
    }

    std::string str() {
        if (lines_ > max_lines_) {
            size_t tests = 0;
            for (const auto& n : prog_.nodes) tests += n.field <= SECPOL_F_BEST;
            out_ << "... " << (lines_ - max_lines_) << " more lines not shown (" << shown_count_ << " of "
                 << tests << " test nodes reached before the cut)\n";
        }
        return out_.str();
    }

  private:
    std::string leaf(const secpol_node& n) const {
        if (n.field == SECPOL_NODE_NOMATCH)
            return std::string(forest_ ? "end: the best candidate, else default " : "no match: default ") +
                   ir::to_string(policy_.default_action);
        if (n.field == SECPOL_NODE_CAND) {
            pending_.push_back(n.next_pass);
            return "candidate " + rule(n.lo) + " (filter #" + std::to_string(n.hi) + "), next tree [" +
                   std::to_string(n.next_pass) + "]";
        }
        if (n.field != SECPOL_NODE_MATCH) return "<bad node>";
        return "match " + rule(n.lo);
    }

    std::string rule(uint32_t id) const {
        std::string s = "rule " + std::to_string(id);
        if (id < policy_.rules.size()) {
            const ir::Rule& r = policy_.rules[id];
            if (!r.label.empty()) s += " \"" + r.label + "\"";
            if (r.loc.line > 0) s += " (line " + std::to_string(r.loc.line) + ")";
            s += std::string(" ") + (r.action.name.empty() ? ir::to_string(r.action.kind) : r.action.name);
        }
        return s;
    }

    const Program& prog_;
    const ir::Policy& policy_;
    size_t max_lines_;
    std::vector<uint8_t> shown_;
    size_t shown_count_ = 0, lines_ = 0;
    bool forest_ = false;
    mutable std::vector<uint32_t> pending_;  // next trees that candidates lead to
    std::ostringstream out_;
};

}  // namespace

std::string dump(const Program& prog, const ir::Policy& policy, size_t max_lines) {
    std::ostringstream head;
    Shape in = shape(prog, prog.root_in), out = shape(prog, prog.root_out);
    head << "decision program: " << prog.nodes.size() << " nodes (" << prog.nodes.size() * sizeof(secpol_node)
         << " bytes), depth " << prog.depth << ", max steps " << prog.max_steps << " of " << SECPOL_MAX_STEPS
         << "\n";
    head << "in:  root [" << prog.root_in << "], " << in.nodes << " nodes, max steps " << in.max_steps
         << "\n";
    head << "out: root [" << prog.root_out << "], " << out.nodes << " nodes, max steps " << out.max_steps
         << (prog.root_out == prog.root_in ? " (same tree as in)" : "") << "\n";
    Printer p(prog, policy, max_lines);
    p.line(0, "in:");
    p.forest(prog.root_in, 1);
    p.line(0, "out:");
    if (prog.root_out == prog.root_in)
        p.line(1, "(same tree as in)");
    else
        p.forest(prog.root_out, 1);
    return head.str() + p.str();
}

std::string dump(const Program& prog, const ir::Policy& policy) {
    return dump(prog, policy, 400);
}

}  // namespace secpol::tree
