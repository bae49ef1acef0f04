// secpol_walk_count: what the generated walk costs per packet, counted
// (deterministic), for tree-shape work (docs/design.md, "Forests: which tree
// first"). Not part of the product or of secpol_bench.
//
//   secpol_walk_count [gen N fm|spec] [cb SET]...
//
// For the bench's generated policies (`gen 10000 fm`: the 50-packet trace of
// the bench's case "10000 filters, first-match", plus 5,000 packets aimed at
// random filters) and ClassBench sets (`cb acl1_10k`: the full trace), prints
// per packet (mean): the body's instructions, its taken jumps (conditional and
// unconditional), the trees of the forest entered, and in which tree the
// answer was found. Each walk is checked against the tree walk.
#include <linux/bpf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/compile.h"
#include "cases.h"
#include "gen/classbench.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "harness.h"
#include "interp/bpf_interp.h"
#include "ref/classify.h"

namespace secpol::bench {
namespace {

struct Count {
    double insns = 0, taken = 0, trees = 0, answer_tree = 0, packets = 0;
    std::vector<double> answer_hist = std::vector<double>(8, 0);
};

uint32_t run(const std::vector<bpf_insn>& code, const secpol_key& key, uint32_t root, unsigned& insns,
             unsigned& taken) {
    const testsupport::InterpResult res =
        testsupport::interpret(code, reinterpret_cast<uint64_t>(&key), root);
    if (!res.ok()) throw std::runtime_error("walk: " + res.error);
    insns = static_cast<unsigned>(res.insns);
    taken = static_cast<unsigned>(res.taken);
    return static_cast<uint32_t>(res.r0);
}

// The tree walk again, counting the trees entered (the first, and each
// SECPOL_F_BEST gate passed) and the tree whose leaf gave the answer.
void tree_walk(const tree::Program& p, uint32_t root, const secpol_key& key, unsigned& trees,
               unsigned& answer) {
    uint32_t idx = root, best_prio = UINT32_MAX;
    trees = 1;
    answer = 0;
    for (unsigned i = 0; i < SECPOL_MAX_STEPS; ++i) {
        const secpol_node& n = p.nodes[idx];
        if (n.field == SECPOL_NODE_CAND) {
            if (n.hi < best_prio) best_prio = n.hi, answer = trees;
            idx = n.next_pass;
            continue;
        }
        if (n.field == SECPOL_NODE_MATCH) {
            answer = trees;
            return;
        }
        if (n.field > SECPOL_F_BEST) return;
        const uint32_t v = n.field == SECPOL_F_BEST ? best_prio : key.w[n.field];
        const bool pass = v >= n.lo && v <= n.hi;
        if (n.field == SECPOL_F_BEST && pass) ++trees;
        idx = pass ? n.next_pass : n.next_fail;
    }
}

void add(Count& c, const backend::Compiled& comp, const std::vector<secpol_rule>& rules,
         const secpol_key& k) {
    unsigned insns, taken, trees, answer;
    const uint32_t got = run(comp.code.in.insns, k, comp.program.root_in, insns, taken);
    const int64_t want = tree::walk(comp.program, comp.program.root_in, k);
    if (got != (want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want))))
        throw std::runtime_error("generated code disagrees with the tree walk");
    tree_walk(comp.program, comp.program.root_in, k, trees, answer);
    c.insns += insns, c.taken += taken, c.trees += trees, c.packets += 1;
    c.answer_hist[std::min<unsigned>(answer, 7)] += 1;
    if (std::getenv("WALK_VERBOSE"))
        std::printf("    insns %3u taken %2u trees %u answer tree %u rule %lld\n", insns, taken, trees,
                    answer, static_cast<long long>(want));
}

void print(const char* what, const Count& c) {
    std::printf("  %-24s %6.0f pkts  insns %6.2f  taken %5.2f  trees %4.2f  answer in tree 0/1/2/3/4:", what,
                c.packets, c.insns / c.packets, c.taken / c.packets, c.trees / c.packets);
    for (unsigned i = 0; i <= 4; ++i) std::printf(" %.2f", c.answer_hist[i] / c.packets);
    std::printf("\n");
}

void header(const std::string& name, const backend::Compiled& c) {
    std::printf("%s: body in %zu insns (out %zu), nodes %zu\n", name.c_str(), c.code.in.insns.size(),
                c.code.out.insns.size(), c.program.nodes.size());
}

void generated(unsigned n, bool fm) {
    const std::string text = gen::generate_policy(size_options(n, fm));
    const std::string name = std::to_string(n) + (fm ? " first-match" : " specificity");
    const backend::Compiled c = compile_text(text, name);
    if (c.code.form != backend::WalkerForm::Generated) throw std::runtime_error(name + ": not generated");
    header(name, c);
    const net::LocalTable locals = host_locals();
    const std::vector<secpol_rule> rules = backend::make_rules(c.policy);
    auto key_of = [&](const std::vector<uint8_t>& f, secpol_key& k) {
        const ref::Decision d = ref::classify(c.policy, f.data(), f.size(), SECPOL_DIR_IN, locals);
        if (d.reason == SECPOL_R_EXEMPTION || d.reason == SECPOL_R_MALFORMED || d.reason == SECPOL_R_NONIP)
            return false;
        k = d.key;
        return true;
    };
    Count bench, wide;
    secpol_key k;
    for (const auto& f : spread_trace(c, locals, n))
        if (key_of(f, k)) add(bench, c, rules, k);
    gen::PacketGen pg(c.policy, locals, 77);
    std::mt19937 rng(78);
    for (unsigned i = 0; i < 5000; ++i) {
        const auto f = pg.aimed(c.policy.filters[rng() % c.policy.filters.size()]);
        if (key_of(f, k)) add(wide, c, rules, k);
    }
    print("bench trace (50)", bench);
    print("5000 aimed at random", wide);
}

void classbench(const std::string& set) {
    const std::string dir = std::string(SECPOL_SHARED_DIR) + "/classbench/";
    auto r = backend::compile_policy_ir(gen::classbench_policy(dir + set), set);
    if (!r) throw std::runtime_error(set + ": " + r.error().message);
    const backend::Compiled& c = *r;
    header(set, c);
    const std::vector<secpol_rule> rules = backend::make_rules(c.policy);
    Count all;
    for (const auto& h : gen::classbench_trace(dir + set + "_trace"))
        add(all, c, rules, gen::classbench_key(h));
    print("full trace", all);
}

}  // namespace
}  // namespace secpol::bench

int main(int argc, char** argv) {
    using namespace secpol::bench;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "gen" && i + 2 < argc) {
                generated(unsigned(std::stoul(argv[i + 1])), std::string(argv[i + 2]) == "fm");
                i += 2;
            } else if (a == "cb" && i + 1 < argc) {
                classbench(argv[++i]);
            } else {
                std::fprintf(stderr, "usage: %s [gen N fm|spec] [cb SET]...\n", argv[0]);
                return 2;
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
