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
    uint32_t depth = 0;      // most tree levels (splits, gates) above a leaf
};

// What the builder did, for reports and benchmarks (optional).
struct BuildStats {
    size_t terms_in = 0, terms_out = 0;  // terms per direction (tree/terms.h)
    size_t tree_nodes = 0;               // nodes created before sharing identical ones
    size_t peak_candidates = 0;          // most candidate indices alive at once (memory bound)
    size_t groups = 0;                   // priority groups cut off (fall-through trees)
    size_t trees = 1;                    // trees of the forest walked in turn (1: one tree)
    size_t wasted_nodes = 0;             // nodes of over-budget attempts thrown away
    double seconds = 0;
};

// The most nodes a decision program may have: 4,194,304 nodes are 96 MiB of
// node map for the node-array walker, and about 10 s of build on this
// project's 2-core machine (the generated 100,000-filter policies need 2.1M
// and 2.7M). A policy past it fails as soon as the builder gets there, with
// an error naming the limit, instead of after building a tree nobody loads.
inline constexpr size_t kMaxNodes = size_t{1} << 22;

struct BuildOptions {
    unsigned leaf_size = 4;  // candidates kept in a leaf and checked one by one
    BuildStats* stats = nullptr;
    size_t max_nodes = kMaxNodes;
    // The two directions on two threads; false builds them one after the
    // other (the same program, node for node: tests/unit/compile_test.cpp).
    bool parallel = true;
};

// Builds the program for both directions. Never fails for a valid policy
// within the limits; throws std::length_error, naming the limit, if a walk
// would exceed SECPOL_MAX_STEPS or the program opts.max_nodes nodes.
Program build(const ir::Policy& policy, const BuildOptions& opts = {});

// Walks the program like the BPF code does: the rule id, or -1 for no match.
int64_t walk(const Program& prog, uint32_t root, const secpol_key& key);
// The same, also counting the nodes visited (the terminal node included),
// which is what one packet costs the BPF walker.
int64_t walk(const Program& prog, uint32_t root, const secpol_key& key, unsigned* steps);

// Shape of the program reachable from a root.
struct Shape {
    size_t nodes = 0;        // distinct nodes reachable
    unsigned max_steps = 0;  // most nodes visited by a walk
};
Shape shape(const Program& prog, uint32_t root);

// Human-readable tree for --dump=tree: a summary line, then each root's tree
// (shared subtrees shown once), cut after max_lines lines.
std::string dump(const Program& prog, const ir::Policy& policy);
std::string dump(const Program& prog, const ir::Policy& policy, size_t max_lines);

}  // namespace secpol::tree
