// The walker exactly as bpf/secpol.bpf.c runs it: at most SECPOL_MAX_STEPS
// nodes; a missing node or an exhausted bound ends the walk with the best
// candidate held (none outside forests).
#include <algorithm>
#include <vector>

#include "tree/program.h"

namespace secpol::tree {

int64_t walk(const Program& prog, uint32_t root, const secpol_key& key, unsigned* steps) {
    uint32_t idx = root, best = SECPOL_NO_RULE, best_prio = UINT32_MAX;
    auto result = [&](uint32_t rule) { return rule == SECPOL_NO_RULE ? int64_t{-1} : int64_t{rule}; };
    for (unsigned i = 0; i < SECPOL_MAX_STEPS; ++i) {
        if (idx >= prog.nodes.size()) break;
        const secpol_node& n = prog.nodes[idx];
        uint32_t v;
        if (n.field < SECPOL_NF) {
            v = key.w[n.field];
        } else if (n.field == SECPOL_F_BEST) {
            v = best_prio;
        } else if (n.field == SECPOL_NODE_CAND) {
            if (n.hi < best_prio) {
                best = n.lo;
                best_prio = n.hi;
            }
            idx = n.next_pass;
            continue;
        } else {  // MATCH ends with its rule; NOMATCH (or any other kind) with the best candidate
            if (steps) *steps = i + 1;
            return result(n.field == SECPOL_NODE_MATCH ? n.lo : best);
        }
        idx = (v >= n.lo && v <= n.hi) ? n.next_pass : n.next_fail;
    }
    if (steps) *steps = SECPOL_MAX_STEPS;
    return result(best);
}

int64_t walk(const Program& prog, uint32_t root, const secpol_key& key) {
    return walk(prog, root, key, nullptr);
}

Shape shape(const Program& prog, uint32_t root) {
    Shape s;
    if (root >= prog.nodes.size()) return s;
    // Children precede parents (the builder emits bottom-up), so the longest
    // walk is one pass; reachability is a plain DFS.
    std::vector<uint8_t> seen(prog.nodes.size(), 0);
    std::vector<uint32_t> stack{root}, steps(prog.nodes.size(), 1);
    seen[root] = 1;
    while (!stack.empty()) {
        uint32_t i = stack.back();
        stack.pop_back();
        ++s.nodes;
        const secpol_node& n = prog.nodes[i];
        if (n.field == SECPOL_NODE_CAND) {
            if (n.next_pass < prog.nodes.size() && !seen[n.next_pass]) {
                seen[n.next_pass] = 1;
                stack.push_back(n.next_pass);
            }
            continue;
        }
        if (n.field >= SECPOL_NODE_MATCH) continue;
        for (uint32_t c : {n.next_pass, n.next_fail})
            if (c < prog.nodes.size() && !seen[c]) {
                seen[c] = 1;
                stack.push_back(c);
            }
    }
    for (uint32_t i = 0; i <= root; ++i) {
        const secpol_node& n = prog.nodes[i];
        if (!seen[i] || (n.field >= SECPOL_NODE_MATCH && n.field != SECPOL_NODE_CAND)) continue;
        uint32_t a = n.next_pass < i ? steps[n.next_pass] : 0;
        uint32_t b = n.field != SECPOL_NODE_CAND && n.next_fail < i ? steps[n.next_fail] : 0;
        steps[i] = 1 + std::max(a, b);
    }
    s.max_steps = steps[root];
    return s;
}

}  // namespace secpol::tree
