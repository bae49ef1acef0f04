// The decision program: what the tree builder emits and the BPF classifier
// walks (struct secpol_node, bpf/include/secpol_abi.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "secpol_abi.h"

namespace secpol::tree {

struct Program {
    std::vector<secpol_node> nodes;
    uint32_t root_in = 0;
    uint32_t root_out = 0;
    uint32_t max_steps = 0;  // longest root-to-result walk, <= SECPOL_MAX_STEPS
};

struct BuildOptions {
    unsigned leaf_size = 4;  // candidates kept in a leaf and checked one by one
};

// Builds the program for both directions. Never fails for a valid policy;
// throws std::length_error only if a walk would exceed SECPOL_MAX_STEPS.
Program build(const ir::Policy& policy, const BuildOptions& opts = {});

// Walks the program like the BPF code does: the rule id, or -1 for no match.
int64_t walk(const Program& prog, uint32_t root, const secpol_key& key);

// Human-readable tree for --dump=tree.
std::string dump(const Program& prog, const ir::Policy& policy);

}  // namespace secpol::tree
