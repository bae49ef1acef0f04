// Decision tree -> eBPF instructions (see codegen.h; docs/design.md,
// "Generated code").
//
// Each test node becomes at most two unsigned JMP32 compares on its key
// word (a 64-bit JMP would sign-extend the immediate; the one 64-bit compare
// is "two address words are both 0", against 0), after a load unless a
// register already holds the word. What the path into a node already knows
// of each word (value tracking) drops the compares it decides. Nodes are
// placed parents first, the pass child on the fall-through path, so every
// jump goes forward; a node shared by several parents is placed once and
// jumped to. Forests keep the best candidate in w6 (rule) and w7 (priority).
//
// The verifier explores every path of a tree once; at a join point (a shared
// node, the next tree of a forest) it prunes states that only differ in
// scalars it never needed exactly. A compare it finds decided on one path
// marks the register precise, and then states differing in it stop pruning.
// So no compare is emitted that the path decides, key-word registers are
// forgotten at joins (written again before they are read), and w7, which a
// candidate sets to a constant, is passed through w7 ^= w8 (w8 = the root
// argument ^ the body's own root, 0 at run time but unknown to the
// verifier) before it is compared again.
#include "backend/codegen.h"

#include <algorithm>
#include <bit>
#include <future>
#include <limits>
#include <unordered_map>

namespace secpol::backend {

const char* to_string(WalkerForm f) {
    return f == WalkerForm::Generated ? "generated" : "node-array";
}

uint32_t packed_decision(const std::vector<secpol_rule>& rules, uint32_t rule) {
    if (rule >= rules.size() || rule >= SECPOL_PK_MAX_RULES) return SECPOL_NO_RULE;
    return secpol_pack_rule(rule, rules[rule].action, rules[rule].flags);
}

std::string packed_kind(uint32_t v) {
    if (v == SECPOL_NO_RULE) return "no rule";
    std::string s;
    if (v & SECPOL_PK_SECURE) {
        s = "secure";
        if (!(v & SECPOL_PK_BLOCK_IN)) s += " accept-clear";
        if (!(v & SECPOL_PK_BLOCK_OUT)) s += " fallback-clear";
    } else if (v & (SECPOL_PK_BLOCK_IN | SECPOL_PK_BLOCK_OUT)) {
        s = "block";
    } else {
        s = "permit";
    }
    if (v & SECPOL_PK_TUNNEL) s += " tunnel";
    if (v & SECPOL_PK_LOG) s += " log";
    return s;
}

namespace {

constexpr uint8_t kKey = BPF_REG_1, kRoot = BPF_REG_2, kVal = BPF_REG_3;

// Key words kept in registers along a path the code enters only one way:
// the caller-saved registers the body does not otherwise need (r2 only
// after the forest's w8 is set from it). Callee-saved r9 would cost a push
// and a pop per call.
constexpr uint8_t kCacheRegs[] = {BPF_REG_3, BPF_REG_4, BPF_REG_5, BPF_REG_0, BPF_REG_2};
constexpr unsigned kCache = sizeof kCacheRegs;
struct Held {
    int8_t word[kCache] = {-1, -1, -1, -1, -1};  // key word in each register, -1: none
    uint8_t age[kCache] = {};                    // last use, for replacement
    uint8_t clock = 0;
    // w7 may hold what the verifier knows on this path only (a candidate's
    // constant priority, or the skip path's w7 <= prio): forget it with
    // w7 ^= w8 before w7 is compared again (see the candidate below).
    bool best_dirty = true;
    // The register holding key word f, or -1.
    int find(int f) const {
        for (unsigned r = 0; r < kCache; ++r)
            if (word[r] == f) return int(r);
        return -1;
    }
    void touch(unsigned r) {
        if (++clock == 0) {  // keep the order, restart the clock
            for (uint8_t& a : age) a = a > 128 ? uint8_t(a - 128) : 0;
            clock = 129;
        }
        age[r] = clock;
    }
    // A register for a new word: an empty one, else the least recently used.
    unsigned victim() const {
        unsigned v = 0;
        for (unsigned r = 0; r < kCache; ++r) {
            if (word[r] < 0) return r;
            if (age[r] < age[v]) v = r;
        }
        return v;
    }
    void clear() { *this = Held{}; }
};
constexpr uint8_t kBest = BPF_REG_6, kBestPrio = BPF_REG_7, kZero = BPF_REG_8;

uint8_t invert(uint8_t op) {
    switch (op) {
        case BPF_JEQ:
            return BPF_JNE;
        case BPF_JNE:
            return BPF_JEQ;
        case BPF_JGT:
            return BPF_JLE;
        case BPF_JLE:
            return BPF_JGT;
        case BPF_JLT:
            return BPF_JGE;
        case BPF_JGE:
            return BPF_JLT;
    }
    return op;  // not reached: only the six above are emitted
}

// Instructions with symbolic jump targets, laid out at the end.
class Emitter {
  public:
    int new_label() {
        label_at_.push_back(-1);
        return static_cast<int>(label_at_.size()) - 1;
    }
    void bind(int label) { label_at_[label] = static_cast<int64_t>(items_.size()); }
    bool bound(int label) const { return label_at_[label] >= 0; }
    void emit(bpf_insn i) { items_.push_back({i, -1}); }
    // `if (dst op imm) goto label`, 32-bit unsigned (or 64-bit when wide).
    void jump_if(uint8_t op, uint8_t dst, uint32_t imm, int label, bool wide = false) {
        items_.push_back(
            {make_insn((wide ? BPF_JMP : BPF_JMP32) | op | BPF_K, dst, 0, 0, static_cast<int32_t>(imm)),
             label});
    }
    void jump(int label) { items_.push_back({make_insn(BPF_JMP | BPF_JA, 0, 0, 0, 0), label}); }
    size_t size() const { return items_.size(); }
    // Every label a jump names is bound (layout needs it).
    bool all_bound() const {
        for (const Item& it : items_)
            if (it.label >= 0 && label_at_[it.label] < 0) return false;
        return true;
    }
    size_t index() const { return items_.size(); }

    // Resolves jumps: a conditional jump beyond the 16-bit offset goes to a
    // jump to the same target nearby: the unconditional one that ends its
    // chain, or a `gotol target` shared by every such jump (placed where no
    // instruction falls through: after an exit or a jump), or if none can be
    // placed becomes `if !cond goto +1; gotol target`; an unconditional one
    // becomes `gotol`. Every jump stays a forward one.
    // Returns the final instructions and item index -> instruction index.
    std::vector<bpf_insn> layout(std::vector<uint32_t>& pos, size_t& long_jumps) {
        std::vector<bpf_insn> out;
        if (layout(pos, long_jumps, true, out)) return out;
        layout(pos, long_jumps, false, out);
        return out;
    }
    bool layout(std::vector<uint32_t>& pos, size_t& long_jumps, bool share, std::vector<bpf_insn>& out) {
        constexpr int64_t kMin = std::numeric_limits<int16_t>::min(),
                          kMax = std::numeric_limits<int16_t>::max();
        // A trampoline is used only this near its first source, so that the
        // ones placed later cannot push a source out of its reach.
        constexpr int64_t kNear = 16384;
        const size_t n = items_.size();
        std::vector<uint8_t> lng(n, 0);
        std::vector<int32_t> tramp(n, -1);        // source item -> trampoline id
        std::vector<std::vector<int>> at(n + 1);  // slot (item index) -> trampoline ids there
        std::vector<int> tramp_label;             // trampoline id -> target label
        std::vector<size_t> tramp_slot;           // trampoline id -> slot
        std::vector<uint32_t> tramp_pos;          // trampoline id -> instruction index
        std::vector<uint32_t> slot_pos(n + 1, 0);
        std::vector<size_t> next_slot(n + 1, SIZE_MAX);  // first item > i where nothing falls through
        for (size_t k = n + 1; k-- > 1;) {
            const bpf_insn& prev = items_[k - 1].insn;
            const bool slot = prev.code == (BPF_JMP | BPF_EXIT) || prev.code == (BPF_JMP | BPF_JA);
            next_slot[k - 1] = slot ? k : (k < n + 1 ? next_slot[k] : SIZE_MAX);
        }
        // Unconditional jumps per target label: a chain that ends jumping
        // to T is itself a trampoline to T for the compares above it.
        std::vector<int64_t> via(n, -1);  // source item -> the jump item it goes through
        std::vector<std::vector<uint32_t>> ja_to(label_at_.size());
        for (size_t i = 0; i < n; ++i)
            if (items_[i].label >= 0 && !is_cond(items_[i].insn))
                ja_to[items_[i].label].push_back(uint32_t(i));
        pos.assign(n + 1, 0);
        auto positions = [&] {
            uint32_t p = 0;
            tramp_pos.resize(tramp_label.size());
            for (size_t i = 0; i <= n; ++i) {
                slot_pos[i] = p;
                for (int t : at[i]) tramp_pos[t] = p++;
                pos[i] = p;
                if (i < n) p += lng[i] ? 2 : 1;
            }
        };
        for (bool changed = true; changed;) {
            changed = false;
            positions();
            std::vector<int> last(label_at_.size(), -1);  // newest trampoline per target label
            for (size_t i = 0; i < n; ++i) {
                const Item& it = items_[i];
                if (it.label < 0 || lng[i] || !is_cond(it.insn)) continue;
                const int64_t from = int64_t(pos[i]) + 1;
                if (via[i] >= 0) {
                    const int64_t off = int64_t(pos[via[i]]) - from;
                    if (off < 0 || off > kMax) return false;  // cannot happen with kNear
                    continue;
                }
                if (tramp[i] >= 0) {
                    last[it.label] = tramp[i];
                    const int64_t off = int64_t(tramp_pos[tramp[i]]) - from;
                    if (off < 0 || off > kMax) return false;  // cannot happen with kNear
                    continue;
                }
                const int64_t off = int64_t(pos[label_at_[it.label]]) - from;
                if (off >= kMin && off <= kMax) continue;
                changed = true;
                const auto& js = ja_to[it.label];
                if (auto u = std::upper_bound(js.begin(), js.end(), uint32_t(i));
                    share && u != js.end() && int64_t(pos[*u]) - from <= kNear) {
                    via[i] = *u;
                    continue;
                }
                const int l = last[it.label];
                if (share && l >= 0 && tramp_slot[l] > i && int64_t(tramp_pos[l]) - from <= kNear) {
                    tramp[i] = l;
                    continue;
                }
                const size_t s = next_slot[i];
                if (share && s != SIZE_MAX && int64_t(slot_pos[s]) - from <= kNear &&
                    pos[label_at_[it.label]] > slot_pos[s]) {
                    tramp[i] = static_cast<int32_t>(tramp_label.size());
                    tramp_label.push_back(it.label);
                    tramp_slot.push_back(s);
                    at[s].push_back(tramp[i]);
                    last[it.label] = tramp[i];
                    // Positions behind it move by one; the next pass sees that.
                    tramp_pos.push_back(slot_pos[s] + static_cast<uint32_t>(at[s].size()) - 1);
                    continue;
                }
                lng[i] = 1;
            }
        }
        positions();
        out.clear();
        out.reserve(pos[n]);
        long_jumps = 0;
        auto trampolines = [&](size_t k) {
            for (int t : at[k]) {
                const int64_t off = int64_t(pos[label_at_[tramp_label[t]]]) - (int64_t(tramp_pos[t]) + 1);
                out.push_back(make_insn(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(off)));
            }
        };
        for (size_t i = 0; i < n; ++i) {
            trampolines(i);
            bpf_insn in = items_[i].insn;
            if (items_[i].label < 0) {
                out.push_back(in);
                continue;
            }
            const int64_t target = pos[label_at_[items_[i].label]];
            if (via[i] >= 0) {
                ++long_jumps;
                in.off = static_cast<int16_t>(int64_t(pos[via[i]]) - (int64_t(pos[i]) + 1));
                out.push_back(in);
                continue;
            }
            if (tramp[i] >= 0) {
                ++long_jumps;
                in.off = static_cast<int16_t>(int64_t(tramp_pos[tramp[i]]) - (int64_t(pos[i]) + 1));
                out.push_back(in);
                continue;
            }
            if (lng[i]) {
                ++long_jumps;
                in.code = BPF_CLASS(in.code) | invert(BPF_OP(in.code)) | BPF_K;
                in.off = 1;
                out.push_back(in);
                out.push_back(
                    make_insn(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(target - (pos[i] + 2))));
                continue;
            }
            const int64_t off = target - (int64_t(pos[i]) + 1);
            if (!is_cond(in) && (off < kMin || off > kMax)) {
                out.push_back(make_insn(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(off)));
                continue;
            }
            in.off = static_cast<int16_t>(off);
            out.push_back(in);
        }
        trampolines(n);
        return out.size() == pos[n];
    }

  private:
    struct Item {
        bpf_insn insn;
        int label;
    };
    static bool is_cond(const bpf_insn& i) { return BPF_OP(i.code) != BPF_JA; }
    std::vector<Item> items_;
    std::vector<int64_t> label_at_;
};

bool is_forest(const tree::Program& prog) {
    for (const auto& n : prog.nodes)
        if (n.field == SECPOL_NODE_CAND || n.field == SECPOL_F_BEST) return true;
    return false;
}

// ---- What a path already knows ---------------------------------------------
// Every test on the way to a node narrows the word it tested, so a later test
// of that word may be decided already (the tree's leaves re-check their
// terms' whole ranges, although the splits above them cut the region). Such
// a test emits no compare: it falls through or jumps. Besides the size, this
// keeps the verifier from finding a branch it knows is never taken: the key
// word held in w3 and the best priority in w7 are ranges it tracks too, and
// a branch it never takes is dead code it removes, one pass over the whole
// program per dead block. What we know at a node is the hull, word by word,
// of what every live edge into it knows, computed once for the whole body
// before emission (children precede parents in the node array, so one pass
// in decreasing index is a topological order).

struct Range {
    uint32_t lo = 0, hi = UINT32_MAX;
};
// Bodies of trees up to this many nodes copy their shared ends (MATCH,
// NOMATCH) into each parent that would jump to them: the 10- and
// 100-filter policies (184 and 5,770 nodes), not 1,000 (17,914) or 10,000.
constexpr size_t kCopyEndsMaxNodes = 8192;

constexpr unsigned kWords = SECPOL_NF + 1;  // the key words and the best priority (SECPOL_F_BEST, w7)
struct Known {
    static constexpr bool kNe = false;
    Range w[kWords];
};
// Small bodies (kCopyEndsMaxNodes) also know of a word one value inside its
// range it does not equal (ne, when its bit of ne_mask is set): the fail
// edge of a `!=` test. There a term's chain failing on `dst0 != X` goes on
// to the next term of the same rule, whose chain tests `dst0 == X` again.
// A type of its own, so larger bodies copy no more than the ranges.
struct KnownNe {
    static constexpr bool kNe = true;
    Range w[kWords];
    uint32_t ne[kWords] = {};
    uint32_t ne_mask = 0;
    bool has_ne(unsigned f) const { return (ne_mask >> f) & 1; }
    // Whether the word is known to differ from v.
    bool knows_ne(unsigned f, uint32_t v) const {
        return v < w[f].lo || v > w[f].hi || (has_ne(f) && ne[f] == v);
    }
    // After w[f] narrowed: an excluded value at an end of the range moves
    // that end; one outside it says nothing more.
    void trim(unsigned f) {
        if (!has_ne(f)) return;
        Range& r = w[f];
        if (ne[f] == r.lo && r.lo < r.hi)
            ++r.lo;
        else if (ne[f] == r.hi && r.lo < r.hi)
            --r.hi;
        else if (ne[f] > r.lo && ne[f] < r.hi)
            return;
        ne_mask &= ~(1u << f);
    }
};

template <class K>
void widen(K& into, const K& k) {
    if constexpr (K::kNe) {
        uint32_t mask = 0;
        for (unsigned f = 0; f < kWords; ++f) {
            // Either side's excluded value stays excluded when the other
            // side excludes it too (or lies apart from it).
            if (into.has_ne(f) && k.knows_ne(f, into.ne[f]))
                mask |= 1u << f;
            else if (k.has_ne(f) && into.knows_ne(f, k.ne[f]))
                mask |= 1u << f, into.ne[f] = k.ne[f];
        }
        into.ne_mask = mask;
    }
    for (unsigned f = 0; f < kWords; ++f) {
        into.w[f].lo = std::min(into.w[f].lo, k.w[f].lo);
        into.w[f].hi = std::max(into.w[f].hi, k.w[f].hi);
    }
}

// A test `lo <= word <= hi` where the word is known to lie in k.
struct Decision {
    enum Kind : uint8_t { Pass, Fail, Test } kind = Test;
    bool lower = false, upper = false;  // which compares are still needed
    uint32_t lo = 0, hi = 0;            // the pass range within k
};

Decision decide(const secpol_node& n, Range k) {
    Decision d;
    d.lo = std::max(k.lo, n.lo);
    d.hi = std::min(k.hi, n.hi);
    if (n.next_pass == n.next_fail)
        d.kind = Decision::Pass;
    else if (d.lo > d.hi)
        d.kind = Decision::Fail;
    else {
        d.lower = d.lo > k.lo;
        d.upper = d.hi < k.hi;
        if (!d.lower && !d.upper) d.kind = Decision::Pass;
    }
    return d;
}

// How a test that still needs compares is emitted: `!=` when the pass range
// is one value inside what is known, else `<` and/or `>`.
bool is_jne(const Decision& d) {
    return d.lower && d.upper && d.lo == d.hi;
}
// decide() with what the path knows; a `!=` test of the word's excluded value fails.
template <class K>
Decision decide(const secpol_node& n, const K& k) {
    Decision d = decide(n, k.w[n.field]);
    if constexpr (K::kNe)
        if (d.kind == Decision::Test && is_jne(d) && k.has_ne(n.field) && k.ne[n.field] == d.lo)
            d.kind = Decision::Fail;
    return d;
}
// Jumps into the fail child: two compares reach it on two paths.
unsigned fail_jumps(const Decision& d) {
    return d.lower && d.upper && !is_jne(d) ? 2 : 1;
}
// What the fail edge knows of the word: one compare leaves one side; two
// compares (or `!=` inside the range) leave both, whose hull is what was
// known before.
Range fail_range(const Decision& d, Range k) {
    if (d.lower && !d.upper) return {k.lo, d.lo - 1};
    if (d.upper && !d.lower) return {d.hi + 1, k.hi};
    return k;
}

// A candidate: kept when its priority beats the best one held (lower wins).
enum class Cand : uint8_t { Skip, Keep, Compare };
Cand decide_cand(uint32_t prio, Range best) {
    if (best.hi <= prio) return Cand::Skip;
    if (best.lo > prio) return Cand::Keep;
    return Cand::Compare;
}

struct Flow {
    // Per node, what every live edge into it knows of the word it tests (of
    // the best priority for a candidate): all the emitter needs, 8 bytes a
    // node instead of the whole Known, which is only kept for the nodes
    // between a reached parent and their own visit.
    std::vector<Range> range;
    std::vector<uint8_t> pair_ok;  // a zero test whose next word's zero test joins it in one 64-bit test
    std::vector<uint8_t> jumps;    // jumps into the node in the code, saturated at 2
    std::vector<uint32_t> preds;   // live edges into the node (a parent with both edges to it counts once)
    std::vector<uint8_t> reached;
    // Where the node's live pass and fail edges lead (UINT32_MAX: no such
    // edge), past the nodes the edge's own knowledge decides (flow, thread).
    std::vector<uint32_t> pass_to, fail_to;
};

// The live out-edges of node n given what it knows (k is updated to what
// the pass edge knows, f to what the fail edge knows). Returns the number
// of jumps the fail edge takes (0: no fail edge; the pass edge is live
// unless `pass` is false).
struct Edges {
    bool pass = false, fail = false;
    unsigned fail_jumps = 0;
};
template <class K>
Edges out_edges(const secpol_node& n, K& k, K& f) {
    Edges e;
    if (n.field == SECPOL_NODE_CAND) {
        Range& b = k.w[SECPOL_F_BEST];
        switch (decide_cand(n.hi, b)) {
            case Cand::Skip:
                break;
            case Cand::Keep:
                b = {n.hi, n.hi};
                break;
            case Cand::Compare:
                b.hi = n.hi;
                break;
        }
        e.pass = true;
        return e;
    }
    if (n.field > SECPOL_F_BEST) return e;  // MATCH, NOMATCH
    const Range w = k.w[n.field];
    const Decision d = decide(n, k);
    f = k;
    e.pass = d.kind != Decision::Fail;
    e.fail = d.kind != Decision::Pass;
    if (d.kind == Decision::Test) {
        k.w[n.field] = {d.lo, d.hi};
        f.w[n.field] = fail_range(d, w);
        if constexpr (K::kNe) {
            k.trim(n.field);
            if (is_jne(d)) {
                f.ne[n.field] = d.lo;
                f.ne_mask |= 1u << n.field;
            }
            f.trim(n.field);
        }
        e.fail_jumps = fail_jumps(d);
    } else {
        e.fail_jumps = 1;
    }
    return e;
}

// What every node reachable from root knows, and how it is entered. With
// the array in children-first order (what the builder makes) one pass in
// decreasing index is a topological order and the knowledge is exact;
// otherwise nothing is known (every test compares, as without tracking).
// False if the nodes reachable from root hold a cycle (no code then).
template <class Known>
bool flow_with(const tree::Program& prog, uint32_t root, bool forest, Flow& fl) {
    const size_t nn = prog.nodes.size();
    fl.range.assign(nn, Range{});
    fl.pair_ok.assign(nn, 0);
    fl.jumps.assign(nn, 0);
    fl.preds.assign(nn, 0);
    fl.reached.assign(nn, 0);
    fl.pass_to.assign(nn, UINT32_MAX);
    fl.fail_to.assign(nn, UINT32_MAX);
    if (root >= nn) return true;
    // Reachability, and whether every edge goes to a lower index.
    std::vector<uint32_t> order, stack{root};
    fl.reached[root] = 1;
    bool ordered = true;
    while (!stack.empty()) {
        const uint32_t i = stack.back();
        stack.pop_back();
        order.push_back(i);
        const secpol_node& n = prog.nodes[i];
        for (uint32_t c : {n.next_pass, n.next_fail}) {
            if (n.field > SECPOL_F_BEST && (n.field != SECPOL_NODE_CAND || c != n.next_pass)) continue;
            if (c >= nn) continue;
            if (c >= i) ordered = false;
            if (!fl.reached[c]) fl.reached[c] = 1, stack.push_back(c);
        }
    }
    Known start;
    if (forest && ordered) start.w[SECPOL_F_BEST] = {UINT32_MAX, UINT32_MAX};  // w7 = ~0: no candidate yet
    // What reached-but-unvisited nodes know, in a pool of reused slots.
    std::vector<int32_t> slot(ordered ? nn : 0, -1);
    std::vector<Known> pool;
    std::vector<int32_t> free_slots;
    auto known = [&](uint32_t i) -> Known& {
        if (slot[i] < 0) {
            if (!free_slots.empty()) {
                slot[i] = free_slots.back();
                free_slots.pop_back();
            } else {
                slot[i] = static_cast<int32_t>(pool.size());
                pool.emplace_back();
            }
        }
        return pool[slot[i]];
    };
    if (ordered) known(root) = start;
    // An edge goes past every node its own knowledge decides (the node's
    // entry hull may not): a packet that left tree 1 knowing its family
    // does not test it again at tree 2, a candidate that beats the next
    // tree's best term skips that tree's gate. Only with knowledge (ordered).
    auto thread = [&](uint32_t to, const Known& k) {
        while (ordered && to < nn) {
            const secpol_node& c = prog.nodes[to];
            if (c.field == SECPOL_NODE_CAND) {
                if (decide_cand(c.hi, k.w[SECPOL_F_BEST]) != Cand::Skip) break;
                to = c.next_pass;
                continue;
            }
            if (c.field > SECPOL_F_BEST) break;
            const Decision d = decide(c, k);
            if (d.kind == Decision::Test) break;
            to = d.kind == Decision::Pass ? c.next_pass : c.next_fail;
        }
        return to;
    };
    auto edge = [&](uint32_t to, const Known& k, unsigned jumps) {
        to = thread(to, k);
        if (to >= nn) return to;
        fl.jumps[to] = static_cast<uint8_t>(std::min(2u, fl.jumps[to] + jumps));
        const bool first = fl.preds[to]++ == 0;
        fl.reached[to] = 1;
        if (!ordered) return to;
        if (first)
            known(to) = k;
        else
            widen(known(to), k);
        return to;
    };
    auto visit = [&](uint32_t i) {
        Known k, f;
        if (ordered) {
            k = pool[slot[i]];
            free_slots.push_back(slot[i]);
            slot[i] = -1;
        }
        const secpol_node& n = prog.nodes[i];
        if (n.field == SECPOL_NODE_CAND) fl.range[i] = k.w[SECPOL_F_BEST];
        if (n.field <= SECPOL_F_BEST) fl.range[i] = k.w[n.field];
        if (n.field < SECPOL_F_PROTO && n.field % 2 == 0 && n.lo == 0 && n.hi == 0 && n.next_pass < nn) {
            const secpol_node& c = prog.nodes[n.next_pass];
            const Range kc = k.w[n.field + 1];
            fl.pair_ok[i] = c.field == n.field + 1 && c.lo == 0 && c.hi == 0 && kc.lo == 0 && kc.hi > 0 &&
                            decide(c, k).kind == Decision::Test;
        }
        const Edges e = out_edges(prog.nodes[i], k, f);
        if (e.pass) fl.pass_to[i] = edge(prog.nodes[i].next_pass, k, 1);
        if (e.fail) fl.fail_to[i] = edge(prog.nodes[i].next_fail, f, e.fail_jumps);
    };
    std::fill(fl.reached.begin(), fl.reached.end(), 0);  // from here: reached by a live edge
    fl.reached[root] = 1;
    if (ordered) {
        for (uint32_t i = root + 1; i-- > 0;)
            if (fl.reached[i]) visit(i);
        return true;
    }
    // Nothing known: decisions depend on the node alone, so a search along
    // live edges finds what is reached; then Kahn's count must place every
    // reached node, or the nodes hold a cycle.
    stack = {root};
    std::vector<uint8_t> seen(nn, 0);
    seen[root] = 1;
    std::vector<uint32_t> live;
    while (!stack.empty()) {
        const uint32_t i = stack.back();
        stack.pop_back();
        live.push_back(i);
        Known k, f;
        const Edges e = out_edges(prog.nodes[i], k, f);
        for (uint32_t c :
             {e.pass ? prog.nodes[i].next_pass : UINT32_MAX, e.fail ? prog.nodes[i].next_fail : UINT32_MAX})
            if (c < nn && !seen[c]) seen[c] = 1, stack.push_back(c);
    }
    for (uint32_t i : live) visit(i);
    std::vector<uint32_t> pending = fl.preds, ready{root};
    size_t placed = 0;
    while (!ready.empty()) {
        const uint32_t i = ready.back();
        ready.pop_back();
        ++placed;
        Known k, f;
        const Edges e = out_edges(prog.nodes[i], k, f);
        for (uint32_t c :
             {e.pass ? prog.nodes[i].next_pass : UINT32_MAX, e.fail ? prog.nodes[i].next_fail : UINT32_MAX})
            if (c < nn && --pending[c] == 0) ready.push_back(c);
    }
    return placed == live.size();
}

bool flow(const tree::Program& prog, uint32_t root, bool forest, Flow& fl) {
    return prog.nodes.size() <= kCopyEndsMaxNodes ? flow_with<KnownNe>(prog, root, forest, fl)
                                                  : flow_with<Known>(prog, root, forest, fl);
}

// The tree below root as one body; false (and no instructions) past the limit.
//
// Layout: a node is placed once every live edge into it has been placed
// (a topological order, parents first), following its pass child on the
// fall-through path whenever that child has no other parent left, and
// the fail children later (depth first, from a stack). So every jump goes
// forward: the x86 JIT converges its jump sizes monotonically on forward
// jumps only (backward ones mix two passes' addresses), and failed with
// "unexpected jmp_cond padding" on a layout with jumps back to shared nodes.
bool generate_body(const tree::Program& prog, const std::vector<secpol_rule>& rules, uint32_t root,
                   bool forest, const CodegenLimits& limits, CodeBody& body) {
    Emitter e;
    const size_t nn = prog.nodes.size();
    Flow fl;
    if (!flow(prog, root, forest, fl)) return false;
    std::vector<int> node_label(nn, -1);
    // A node with one parent is entered with the parent's key words still in
    // their registers (entry_held), so a test of a held word skips its load;
    // also the fail child of a range test, whose two compares enter it with
    // two ranges of the register (the verifier may then verify a few nodes
    // below it twice: counted, it verified fewer instructions in all, as the
    // loads it saves are instructions too). Nodes with several parents
    // always load: the verifier then sees the registers written before they
    // are read at every join, so its states there prune instead of verifying
    // the subtree once per entry.
    std::vector<Held> entry_held(nn);
    auto enter = [&](uint32_t child, const Held& h) {
        if (child < nn && (fl.jumps[child] == 1 || fl.preds[child] == 1)) entry_held[child] = h;
    };
    std::vector<std::pair<size_t, uint32_t>> leaf_items, label_items;  // item index -> rule / node
    std::vector<uint32_t> pending = fl.preds, ready;
    // The fail side of a 64-bit zero test whose two words fail to different
    // nodes (see the pair below): placed from `ready` like a node, as
    // kSplit + its index, once the test is placed.
    struct Split {
        int label;
        uint32_t node, fail0, fail1;  // the first word's node, its fail target, the second word's
        Held held;                    // at the 64-bit test
    };
    std::vector<Split> splits;
    constexpr uint32_t kSplit = 0x80000000u;
    auto label_of = [&](uint32_t n) {
        if (node_label[n] < 0) node_label[n] = e.new_label();
        return node_label[n];
    };
    // A walk that leaves the array ends with the best candidate held, as in
    // the C walker; the builder never produces one, but the translation
    // stays total.
    const int l_none = e.new_label(), l_best = e.new_label();
    bool best_used = false;
    auto target = [&](uint32_t n) {
        if (n < nn) return label_of(n);
        best_used = true;
        return l_best;
    };
    // One live edge into n placed: true when n has no other parent left to
    // place (the caller then places n next, or queues it).
    auto release = [&](uint32_t n) { return n < nn && --pending[n] == 0; };
    auto mov32 = [](uint8_t dst, uint32_t imm) {
        return make_insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
    };

    e.jump_if(BPF_JEQ, kKey, 0, l_none, /*wide=*/true);  // the key pointer may be NULL (global function)
    if (forest) {
        // w8 = root ^ (the root this body was built for): 0 at run time (a
        // body is only ever called with its own root), unknown to the
        // verifier (an argument of a global function).
        e.emit(make_insn(BPF_ALU | BPF_MOV | BPF_X, kZero, kRoot, 0, 0));
        e.emit(make_insn(BPF_ALU | BPF_XOR | BPF_K, kZero, 0, 0, static_cast<int32_t>(root)));
        e.emit(mov32(kBest, SECPOL_NO_RULE));
        // A constant: every path's first priority compare is preceded by
        // w7 ^= w8 (Held::best_dirty starts true), so the verifier never
        // decides a compare on it.
        e.emit(mov32(kBestPrio, UINT32_MAX));
    }

    // An end of the walk (MATCH, NOMATCH) is two instructions: in a small
    // body a parent that would jump to a shared one gets its own copy
    // instead (one instruction more in the code, one taken jump and one
    // instruction fewer on the walk; inline, the copy's exit becomes the
    // jump back after the site). Large bodies keep one copy per leaf, so
    // their size and verification do not grow.
    const bool copy_ends = nn <= kCopyEndsMaxNodes;
    auto emit_end = [&](uint32_t cur) {
        const secpol_node& n = prog.nodes[cur];
        if (n.field == SECPOL_NODE_MATCH) {
            leaf_items.push_back({e.index(), n.lo});
            e.emit(mov32(BPF_REG_0, packed_decision(rules, n.lo)));
        } else if (forest) {
            e.emit(make_insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, kBest, 0, 0));
        } else {
            e.emit(mov32(BPF_REG_0, SECPOL_NO_RULE));
        }
        e.emit(make_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    };
    auto is_end = [&](uint32_t c) {
        return c < nn && prog.nodes[c].field > SECPOL_F_BEST && prog.nodes[c].field != SECPOL_NODE_CAND;
    };

    // Chains: place n, then its pass child on the fall-through path if it
    // is ready, else jump to it; ready fail children go on the stack.
    auto chain = [&](uint32_t cur) {
        Held held = cur < nn ? entry_held[cur] : Held{};  // key words in registers
        // Goes on to child c: falls through if this was its last parent.
        auto next = [&](uint32_t c) {
            if (c >= nn) {
                best_used = true;
                e.jump(l_best);
                return false;
            }
            if (release(c)) return true;
            // Large forests copy the walk's end after a test too (a flag
            // guard's clear side, mostly: one far taken jump fewer for the
            // packets it ends), not after a candidate: at every leaf whose
            // continuation is the end, that cost ClassBench fw1_10k 4.6 %
            // more instructions for 0.4 taken jumps a packet.
            if ((copy_ends && is_end(c)) || (forest && prog.nodes[c].field == SECPOL_NODE_NOMATCH &&
                                             prog.nodes[cur].field != SECPOL_NODE_CAND)) {
                label_items.push_back({e.index(), c});
                emit_end(c);
                return false;
            }
            e.jump(label_of(c));
            return false;
        };
        for (;;) {
            e.bind(label_of(cur));
            if (fl.jumps[cur] != 1 && fl.preds[cur] != 1) held.clear();
            label_items.push_back({e.index(), cur});
            const secpol_node& n = prog.nodes[cur];
            const Range kr = fl.range[cur];
            if (n.field == SECPOL_NODE_MATCH) {
                emit_end(cur);
                return;
            }
            if (n.field == SECPOL_NODE_CAND) {
                // w7 = prio is a constant, and the skip path knows w7 <= prio:
                // either would let the verifier decide a later priority
                // compare on this path alone, which marks w7 precise and
                // stops its states from pruning where the trees meet. So
                // before w7 is compared again it forgets what it knows with
                // w7 ^= w8 (0 at run time, unknown to the verifier): once
                // per tree entry instead of once per candidate.
                const Cand c = decide_cand(n.hi, kr);
                if (c != Cand::Skip) {
                    const int skip = c == Cand::Compare ? e.new_label() : -1;
                    if (skip >= 0) {
                        if (held.best_dirty)
                            e.emit(make_insn(BPF_ALU | BPF_XOR | BPF_X, kBestPrio, kZero, 0, 0));
                        e.jump_if(BPF_JLE, kBestPrio, n.hi, skip);
                    }
                    leaf_items.push_back({e.index(), n.lo});
                    e.emit(mov32(kBest, packed_decision(rules, n.lo)));
                    e.emit(mov32(kBestPrio, n.hi));
                    if (skip >= 0) e.bind(skip);
                    held.best_dirty = true;
                }
                const uint32_t to = fl.pass_to[cur];
                if (!next(to)) return;
                cur = to;
                continue;  // w3 untouched
            }
            if (n.field > SECPOL_F_BEST) {  // NOMATCH (and any other end)
                emit_end(cur);
                return;
            }
            const Decision d = decide(n, kr);
            const uint32_t pass_to = fl.pass_to[cur], fail_to = fl.fail_to[cur];
            if (d.kind != Decision::Test) {  // decided by the path: no compare
                const uint32_t c = d.kind == Decision::Pass ? pass_to : fail_to;
                if (!next(c)) return;
                cur = c;
                continue;
            }
            // Two adjacent address words that must both be 0 (the upper
            // words of an IPv4-mapped address) are one 64-bit test; in either
            // byte order the double word is 0 exactly when both words are.
            if (fl.pair_ok[cur] && pass_to < nn) {
                const uint32_t ci = pass_to;
                // The two words fail to different nodes (their fail edges
                // know different things, so each threads past different
                // nodes: the first word's failure knows it is not 0, the
                // second's that the first is): the pair is still one test
                // on the pass path, and its fail side tells the two apart
                // in a split block placed later (one more compare on that
                // side, two fewer on the pass path: IPv4 packets pay 4
                // instructions for the family instead of 6).
                if (fl.fail_to[ci] != fail_to && fl.pass_to[ci] != UINT32_MAX && fl.preds[ci] == 1) {
                    const unsigned r = held.victim();
                    e.emit(make_insn(BPF_LDX | BPF_MEM | BPF_DW, kCacheRegs[r], kKey,
                                     static_cast<int16_t>(n.field * 4), 0));
                    // On a little-endian host the low half is the first word,
                    // which JMP32 compares see alone (the key is host order,
                    // and the object is loaded where it was compiled).
                    held.word[r] = std::endian::native == std::endian::little ? int8_t(n.field) : int8_t(-1);
                    held.touch(r);
                    const int split = e.new_label();
                    e.jump_if(BPF_JNE, kCacheRegs[r], 0, split, /*wide=*/true);
                    splits.push_back({split, cur, fail_to, fl.fail_to[ci], held});
                    ready.push_back(kSplit + uint32_t(splits.size() - 1));
                    pending[ci] = 0;
                    if (!next(fl.pass_to[ci])) return;
                    cur = fl.pass_to[ci];
                    if (e.size() > limits.max_insns) return;
                    continue;
                }
                if (fl.fail_to[ci] == fail_to && fl.pass_to[ci] != UINT32_MAX && fl.preds[ci] == 1) {
                    const unsigned r = held.victim();
                    e.emit(make_insn(BPF_LDX | BPF_MEM | BPF_DW, kCacheRegs[r], kKey,
                                     static_cast<int16_t>(n.field * 4), 0));
                    held.word[r] = -1;  // holds two words
                    e.jump_if(BPF_JNE, kCacheRegs[r], 0, target(fail_to), /*wide=*/true);
                    // n's and c's edges into the fail child, c's own edge from n.
                    if (fail_to < nn && (pending[fail_to] -= 2) == 0) ready.push_back(fail_to);
                    pending[ci] = 0;
                    if (!next(fl.pass_to[ci])) return;
                    cur = fl.pass_to[ci];
                    if (e.size() > limits.max_insns) return;
                    continue;
                }
            }
            uint8_t reg = kBestPrio;
            if (n.field == SECPOL_F_BEST && held.best_dirty) {
                e.emit(make_insn(BPF_ALU | BPF_XOR | BPF_X, kBestPrio, kZero, 0, 0));
                held.best_dirty = false;
            }
            if (n.field < SECPOL_NF) {
                int r = held.find(int(n.field));
                if (r < 0) {
                    r = int(held.victim());
                    e.emit(make_insn(BPF_LDX | BPF_MEM | BPF_W, kCacheRegs[r], kKey,
                                     static_cast<int16_t>(n.field * 4), 0));
                    held.word[r] = int8_t(n.field);
                }
                held.touch(unsigned(r));
                reg = kCacheRegs[r];
            }
            const int fail = target(fail_to);
            enter(fail_to, held);
            if (is_jne(d)) {
                e.jump_if(BPF_JNE, reg, d.lo, fail);
            } else {
                if (d.lower) e.jump_if(BPF_JLT, reg, d.lo, fail);
                if (d.upper) e.jump_if(BPF_JGT, reg, d.hi, fail);
            }
            if (release(fail_to)) ready.push_back(fail_to);
            if (e.size() > limits.max_insns) return;
            if (!next(pass_to)) return;
            cur = pass_to;
        }
    };
    // The fail side of a split pair: the first word not 0 goes to its own
    // fail target, else (the second word is not 0) to the second's. The
    // targets are released here, so every jump still goes forward. The
    // first word's target (IPv6 addresses, whose first word is not 0) is
    // the fall-through when this is its last parent: one taken jump there.
    auto split_block = [&](const Split& s) {
        e.bind(s.label);
        label_items.push_back({e.index(), s.node});
        Held held = s.held;
        const uint8_t f = uint8_t(prog.nodes[s.node].field);
        int r = held.find(f);
        if (r < 0) {  // big-endian: load the first word alone
            r = int(held.victim());
            e.emit(make_insn(BPF_LDX | BPF_MEM | BPF_W, kCacheRegs[r], kKey, static_cast<int16_t>(f * 4), 0));
            held.word[r] = int8_t(f);
        }
        held.touch(unsigned(r));
        const bool first_falls = s.fail0 < nn && pending[s.fail0] == 1;
        const uint32_t jumped = first_falls ? s.fail1 : s.fail0, falls = first_falls ? s.fail0 : s.fail1;
        enter(jumped, held);
        e.jump_if(first_falls ? BPF_JEQ : BPF_JNE, kCacheRegs[r], 0, target(jumped));
        if (release(jumped)) ready.push_back(jumped);
        if (falls >= nn) {
            best_used = true;
            e.jump(l_best);
        } else if (release(falls)) {
            enter(falls, held);
            chain(falls);
        } else {
            e.jump(label_of(falls));
        }
    };
    auto place = [&](uint32_t n) {
        if (n >= kSplit)
            split_block(splits[n - kSplit]);
        else
            chain(n);
    };
    if (root < nn) {
        chain(root);
    } else {
        best_used = true;
        e.jump(l_best);
    }
    while (!ready.empty() && e.size() <= limits.max_insns) {
        const uint32_t n = ready.back();
        ready.pop_back();
        place(n);
    }
    if (e.size() > limits.max_insns) return false;
    e.bind(l_none);
    e.emit(mov32(BPF_REG_0, SECPOL_NO_RULE));
    e.emit(make_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    if (best_used) {
        e.bind(l_best);
        if (forest)
            e.emit(make_insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, kBest, 0, 0));
        else
            e.emit(mov32(BPF_REG_0, SECPOL_NO_RULE));
        e.emit(make_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
    if (!e.all_bound()) return false;  // not reached: flow() refuses cycles

    std::vector<uint32_t> pos;
    body.insns = e.layout(pos, body.long_jumps);
    for (auto [item, rule] : leaf_items) body.leaves.push_back({pos[item], rule});
    for (auto [item, node] : label_items) body.labels.push_back({pos[item], node});
    if (body.insns.size() <= limits.max_insns) return true;
    body = CodeBody{};
    return false;
}

}  // namespace

Generated generate(const tree::Program& prog, const std::vector<secpol_rule>& rules,
                   const CodegenLimits& limits) {
    Generated g;
    g.forest = is_forest(prog);
    const bool split = prog.root_out != prog.root_in;
    // The two bodies share nothing: the egress one is built on a second thread.
    std::future<bool> out_fit;
    if (split)
        out_fit = std::async(limits.parallel ? std::launch::async : std::launch::deferred, [&] {
            return generate_body(prog, rules, prog.root_out, g.forest, limits, g.out);
        });
    const bool in_fit = generate_body(prog, rules, prog.root_in, g.forest, limits, g.in);
    const bool fit = (!split || out_fit.get()) && in_fit;
    if (!fit) {
        g.in = g.out = CodeBody{};
        g.reason = "the decision program needs more than " + std::to_string(limits.max_insns) +
                   " instructions for one direction (the generated-code budget within the verifier's "
                   "1,000,000); using the node-array walker";
        return g;
    }
    g.form = WalkerForm::Generated;
    auto count = [](const CodeBody& b) {
        return std::to_string(b.insns.size()) + " instructions" +
               (b.long_jumps ? " (" + std::to_string(b.long_jumps) + " long jumps through gotol)"
                             : std::string());
    };
    g.reason = split ? count(g.in) + " in, " + count(g.out) + " out" : count(g.in) + " for both directions";
    g.reason += " fit the verifier's budget of " + std::to_string(limits.max_insns) + " per direction";
    return g;
}

}  // namespace secpol::backend
