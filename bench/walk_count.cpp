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
// answer was found; then, for packets a filter answers and packets that get
// the default, the instructions / taken jumps spent in the prologue (with the
// family tests), the gates and each tree of the family's forest in walk
// order (docs/design.md, "Forests: flag guards"). WALK_PATHS=1 adds each
// path of trees walked, WALK_TRACE=N the instructions of packet N; `ja` is
// the taken unconditional jumps (chain ends, `gotol`), WALK_JA=1 splits them
// by bucket (hop: reached by a taken jump, i.e. a trampoline's second hop;
// both traces together), WALK_HOPS=1 lists the commonest hops. Each walk is
// checked against the tree walk.
#include <linux/bpf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
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

// Where a walk spends its instructions: the prologue and the family tests
// (bucket 0), the gates of the later trees (1), and the trees by their rank
// in their family's forest (2 + rank).
constexpr unsigned kBuckets = 8;
const char* const kBucketNames[kBuckets] = {"pre", "gates", "t0", "t1", "t2", "t3", "t4", "t5"};

struct Split {
    double insns[kBuckets] = {}, taken[kBuckets] = {}, packets = 0;
};

struct Count {
    double ja = 0;  // of taken: unconditional jumps
    double insns = 0, taken = 0, trees = 0, answer_tree = 0, packets = 0;
    std::vector<double> answer_hist = std::vector<double>(8, 0);
    Split matched, unmatched;  // answered by a filter, or the default
    // (answer tree, trees walked as a bit mask) -> packets, instructions, taken jumps
    std::map<std::pair<unsigned, unsigned>, std::array<double, 3>> paths;
};

// Per instruction of a body: its bucket (above). Each instruction belongs
// to the node whose labelled block it lies in; each node to the tree of its
// family's forest that reaches it without crossing a SECPOL_F_BEST gate,
// ranked as the builder orders them (the gate of a later tree has a lower
// node index).
std::vector<uint8_t> buckets(const tree::Program& p, uint32_t root, const backend::CodeBody& body) {
    const size_t nn = p.nodes.size();
    std::vector<int> tree(nn, -1);  // -1: pre, -2: gate
    std::vector<uint32_t> families;
    const secpol_node& r = p.nodes[root];
    if (r.field == SECPOL_F_SRC0 && r.lo == 0 && r.hi == 0 && p.nodes[r.next_pass].field == SECPOL_F_SRC1 &&
        p.nodes[p.nodes[r.next_pass].next_pass].field == SECPOL_F_SRC2 &&
        p.nodes[p.nodes[r.next_pass].next_pass].lo == 0xffff) {
        const secpol_node& s2 = p.nodes[p.nodes[r.next_pass].next_pass];
        families = {s2.next_pass, s2.next_fail};
    } else {
        families = {root};
    }
    auto children = [&](uint32_t i, std::vector<uint32_t>& out) {
        const secpol_node& n = p.nodes[i];
        if (n.field <= SECPOL_F_BEST) out.insert(out.end(), {n.next_pass, n.next_fail});
        if (n.field == SECPOL_NODE_CAND) out.push_back(n.next_pass);
    };
    auto fill = [&](uint32_t from, int id, std::vector<uint32_t>& gates) {
        std::vector<uint32_t> stack{from}, kids;
        while (!stack.empty()) {
            const uint32_t i = stack.back();
            stack.pop_back();
            if (i >= nn || tree[i] != -1) continue;
            if (p.nodes[i].field == SECPOL_F_BEST) {
                tree[i] = -2;
                gates.push_back(i);
                continue;
            }
            tree[i] = id;
            kids.clear();
            children(i, kids);
            stack.insert(stack.end(), kids.begin(), kids.end());
        }
    };
    for (uint32_t f : families) {
        std::vector<uint32_t> gates;
        fill(f, 0, gates);
        // All the family's gates, by closure, then ranked.
        for (size_t g = 0; g < gates.size(); ++g) {
            std::vector<uint32_t> more;
            fill(p.nodes[gates[g]].next_pass, 100 + int(gates[g]), more);
            for (uint32_t m : more)
                if (std::find(gates.begin(), gates.end(), m) == gates.end()) gates.push_back(m);
        }
        std::sort(gates.begin(), gates.end(), std::greater<>());
        for (size_t k = 0; k < gates.size(); ++k)
            for (auto& t : tree)
                if (t == 100 + int(gates[k])) t = int(k) + 1;
    }
    std::vector<uint8_t> out(body.insns.size(), 0);
    auto labels = body.labels;
    std::sort(labels.begin(), labels.end());
    size_t li = 0;
    int cur = -1;
    for (size_t i = 0; i < out.size(); ++i) {
        while (li < labels.size() && labels[li].first <= i) cur = tree[labels[li++].second];
        out[i] = cur == -1 ? 0 : cur == -2 ? 1 : uint8_t(std::min<int>(2 + cur, kBuckets - 1));
    }
    return out;
}

bool trace_on = false;  // print each instruction run (WALK_TRACE=packet number)
// Taken unconditional jumps (a chain's end, a `gotol` trampoline) of the
// packets counted so far, apart from the conditional ones.
std::map<std::pair<size_t, size_t>, unsigned> hops;
double ja_taken = 0, ja_by[kBuckets] = {}, hop_by[kBuckets] = {};
unsigned trace_packet = ~0u, packet_no = 0;

// Runs the body; with where and split, also adds each instruction and each
// taken jump to the bucket of the instruction (buckets()).
uint32_t run(const std::vector<bpf_insn>& code, const secpol_key& key, uint32_t root, unsigned& insns,
             unsigned& taken, const std::vector<uint8_t>* where = nullptr, Split* split = nullptr) {
    testsupport::InterpOptions opt;
    size_t prev = SIZE_MAX;
    if (where && split)
        opt.on_insn = [&](size_t pc, const bpf_insn& in) {
            split->insns[(*where)[pc]] += 1;
            if (prev != SIZE_MAX && pc != prev + 1) split->taken[(*where)[prev]] += 1;
            if (BPF_OP(in.code) == BPF_JA &&
                (BPF_CLASS(in.code) == BPF_JMP || BPF_CLASS(in.code) == BPF_JMP32)) {
                ja_taken += 1, ja_by[(*where)[pc]] += 1,
                    hop_by[(*where)[pc]] += prev != SIZE_MAX && pc != prev + 1;
                if (prev != SIZE_MAX && pc != prev + 1) hops[{prev, pc}] += 1;
            }
            prev = pc;
            if (trace_on)
                std::printf("      %6zu t%d code %02x r%u off %d imm %d (%#x)\n", pc, int((*where)[pc]) - 2,
                            in.code, in.dst_reg, in.off, in.imm, unsigned(in.imm));
        };
    const testsupport::InterpResult res =
        testsupport::interpret(code, reinterpret_cast<uint64_t>(&key), root, opt);
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

void add(Count& c, const backend::Compiled& comp, const std::vector<secpol_rule>& rules, const secpol_key& k,
         const std::vector<uint8_t>& where) {
    unsigned insns, taken, trees, answer;
    const int64_t want = tree::walk(comp.program, comp.program.root_in, k);
    Split& s = want < 0 ? c.unmatched : c.matched;
    s.packets += 1;
    Split one;
    trace_on = packet_no++ == trace_packet;
    const double ja_before = ja_taken;
    const uint32_t got = run(comp.code.in.insns, k, comp.program.root_in, insns, taken, &where, &one);
    c.ja += ja_taken - ja_before;
    unsigned mask = 0;
    for (unsigned b = 0; b < kBuckets; ++b) {
        s.insns[b] += one.insns[b], s.taken[b] += one.taken[b];
        if (b >= 2 && one.insns[b] > 0) mask |= 1u << (b - 2);
    }
    if (got != (want < 0 ? SECPOL_NO_RULE : backend::packed_decision(rules, uint32_t(want))))
        throw std::runtime_error("generated code disagrees with the tree walk");
    tree_walk(comp.program, comp.program.root_in, k, trees, answer);
    c.insns += insns, c.taken += taken, c.trees += trees, c.packets += 1;
    c.answer_hist[std::min<unsigned>(answer, 7)] += 1;
    auto& pa = c.paths[{answer, mask}];
    pa[0] += 1, pa[1] += insns, pa[2] += taken;
    if (std::getenv("WALK_VERBOSE"))
        std::printf("    insns %3u taken %2u trees %u answer tree %u rule %lld\n", insns, taken, trees,
                    answer, static_cast<long long>(want));
}

void print(const char* what, const Count& c) {
    std::printf(
        "  %-24s %6.0f pkts  insns %6.2f  taken %5.2f (ja %4.2f)  trees %4.2f  answer in tree 0/1/2/3/4:",
        what, c.packets, c.insns / c.packets, c.taken / c.packets, c.ja / c.packets, c.trees / c.packets);
    for (unsigned i = 0; i <= 6; ++i) std::printf(" %.2f", c.answer_hist[i] / c.packets);
    std::printf("\n");
    for (const auto* s : {&c.matched, &c.unmatched}) {
        if (s->packets == 0) continue;
        std::printf("    %-9s %5.1f %%  insns/taken per packet:", s == &c.matched ? "matched" : "default",
                    100 * s->packets / c.packets);
        double ti = 0, tt = 0;
        for (unsigned b = 0; b < kBuckets; ++b) {
            std::printf("  %s %.1f/%.1f", kBucketNames[b], s->insns[b] / s->packets,
                        s->taken[b] / s->packets);
            ti += s->insns[b], tt += s->taken[b];
        }
        std::printf("  = %.1f/%.1f\n", ti / s->packets, tt / s->packets);
    }
    if (std::getenv("WALK_PATHS"))
        for (const auto& [k, v] : c.paths)
            if (v[0] >= c.packets / 100) {
                char walked[7] = "------";
                for (unsigned t = 0; t < 6; ++t)
                    if (k.second >> t & 1) walked[t] = char('0' + t);
                std::printf("    answer %u trees %s: %5.1f %%  insns %.1f taken %.1f\n", k.first, walked,
                            100 * v[0] / c.packets, v[1] / v[0], v[2] / v[0]);
            }
}

void header(const std::string& name, const backend::Compiled& c) {
    std::printf("%s: body in %zu insns (out %zu), nodes %zu\n", name.c_str(), c.code.in.insns.size(),
                c.code.out.insns.size(), c.program.nodes.size());
}

void generated(unsigned n, bool fm) {
    const std::string text = gen::generate_policy(gen::bench_options(n, fm));
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
    std::fill(std::begin(ja_by), std::end(ja_by), 0.0);
    std::fill(std::begin(hop_by), std::end(hop_by), 0.0);
    secpol_key k;
    const std::vector<uint8_t> where = buckets(c.program, c.program.root_in, c.code.in);
    for (const auto& f : spread_trace(c, locals, n))
        if (key_of(f, k)) add(bench, c, rules, k, where);
    if (std::getenv("WALK_JA")) {
        for (unsigned b = 0; b < kBuckets; ++b)
            std::printf(" ja %s %.2f (hop %.2f)", kBucketNames[b], ja_by[b] / bench.packets,
                        hop_by[b] / bench.packets);
        std::printf("\n");
    }
    gen::PacketGen pg(c.policy, locals, 77);
    std::mt19937 rng(78);
    for (unsigned i = 0; i < 5000; ++i) {
        const auto f = pg.aimed(c.policy.filters[rng() % c.policy.filters.size()]);
        if (key_of(f, k)) add(wide, c, rules, k, where);
    }
    print("bench trace (50)", bench);
    print("5000 aimed at random", wide);
    if (std::getenv("WALK_HOPS")) {
        std::vector<std::pair<unsigned, std::pair<size_t, size_t>>> v;
        for (auto& [k, n] : hops) v.push_back({n, k});
        std::sort(v.rbegin(), v.rend());
        for (size_t i = 0; i < v.size() && i < 30; ++i)
            std::printf("  hop %zu -> %zu: %u\n", v[i].second.first, v[i].second.second, v[i].first);
        hops.clear();
    }
}

void classbench(const std::string& set) {
    const std::string dir = std::string(SECPOL_SHARED_DIR) + "/classbench/";
    auto r = backend::compile_policy_ir(gen::classbench_policy(dir + set), set);
    if (!r) throw std::runtime_error(set + ": " + r.error().message);
    const backend::Compiled& c = *r;
    header(set, c);
    const std::vector<secpol_rule> rules = backend::make_rules(c.policy);
    Count all;
    const std::vector<uint8_t> where = buckets(c.program, c.program.root_in, c.code.in);
    for (const auto& h : gen::classbench_trace(dir + set + "_trace"))
        add(all, c, rules, gen::classbench_key(h), where);
    print("full trace", all);
}

}  // namespace
}  // namespace secpol::bench

int main(int argc, char** argv) {
    using namespace secpol::bench;
    if (const char* t = std::getenv("WALK_TRACE")) trace_packet = unsigned(std::stoul(t));
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
