// HyperSplit-style decision tree builder (Qi et al., 2009, in spirit; see
// docs/design.md). Each internal node splits the region on one key word at a
// threshold; leaves either name a rule (the first remaining candidate covers
// the region) or hold a short chain of candidates checked in priority order.
// Policies whose filters differ in address shape become a forest of such
// trees (EffiCuts-style separation) when one tree would be much bigger.
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <future>
#include <stdexcept>

#include "tree/program.h"
#include "tree/terms.h"

namespace secpol::tree {
namespace {

struct Box {
    std::array<uint32_t, SECPOL_NF> lo, hi;
};

// Order in which a leaf chain tests a candidate's words: the ones most likely
// to reject a packet first (addresses, then ports), so a non-matching
// candidate costs few steps; the flag words rarely reject.
constexpr unsigned kChainOrder[SECPOL_NF] = {
    SECPOL_F_DST0,      SECPOL_F_DST1, SECPOL_F_DST2,  SECPOL_F_DST3,  SECPOL_F_SRC0,  SECPOL_F_SRC1,
    SECPOL_F_SRC2,      SECPOL_F_SRC3, SECPOL_F_DPORT, SECPOL_F_SPORT, SECPOL_F_PROTO, SECPOL_F_SRC_LOCAL,
    SECPOL_F_DST_LOCAL, SECPOL_F_MCBC, SECPOL_F_FRAG,  SECPOL_F_IPSEC};

// Order in which the builder checks whether a term covers a region or
// shadows another term (a conjunction over all words, so any order gives the
// same answer): the words that most often differ first. The three upper words
// of IPv4-mapped addresses, first in key order, never differ within IPv4.
constexpr unsigned kCheckOrder[SECPOL_NF] = {
    SECPOL_F_SRC3,      SECPOL_F_DST3, SECPOL_F_DPORT, SECPOL_F_SPORT, SECPOL_F_PROTO, SECPOL_F_SRC2,
    SECPOL_F_DST2,      SECPOL_F_SRC1, SECPOL_F_DST1,  SECPOL_F_SRC0,  SECPOL_F_DST0,  SECPOL_F_SRC_LOCAL,
    SECPOL_F_DST_LOCAL, SECPOL_F_MCBC, SECPOL_F_FRAG,  SECPOL_F_IPSEC};

// Candidate lists up to this size are checked for candidates that an earlier
// one shadows within the region (quadratic, so only where it is cheap).
constexpr size_t kShadowCheckMax = 24;

// Identical nodes are stored once (Builder::node). The set of nodes is an
// open-addressing table of node indices, linear probing, keyed by the node's
// contents: 8 bytes a slot where std::unordered_map cost a heap node of ~48
// bytes per entry and a pointer chase per probe (15 % of the build time, and
// most of its memory, at 100,000 filters). Nodes only ever leave it newest
// first (Builder::rollback), and removing the newest entry of a linear-probing
// table restores exactly the table before its insertion, so erase is a plain
// clear; a resize re-inserts in index order to keep that true.
class NodeSet {
  public:
    explicit NodeSet(const std::vector<secpol_node>& nodes, size_t expect = 512) : nodes_(nodes) {
        size_t n = 1024;
        while (n < 2 * expect) n *= 2;
        slots_.resize(n);
    }

    // The index of a node equal to n, or UINT32_MAX after recording that
    // n will be stored at index fresh.
    uint32_t find_or_add(const secpol_node& n, uint32_t fresh) {
        if (2 * (count_ + 1) > slots_.size()) grow();
        const uint32_t h = hash(n);
        for (size_t i = h & mask();; i = (i + 1) & mask()) {
            Slot& s = slots_[i];
            if (s.index == kEmpty) {
                s = Slot{fresh, h};
                ++count_;
                return UINT32_MAX;
            }
            if (s.hash == h && same(nodes_[s.index], n)) return s.index;
        }
    }
    // Forgets the newest node still in the set.
    void erase_newest(uint32_t index) {
        const uint32_t h = hash(nodes_[index]);
        for (size_t i = h & mask();; i = (i + 1) & mask())
            if (slots_[i].index == index) {
                slots_[i].index = kEmpty;
                --count_;
                return;
            }
    }

  private:
    static constexpr uint32_t kEmpty = UINT32_MAX;
    struct Slot {
        uint32_t index = kEmpty;
        uint32_t hash = 0;
    };
    size_t mask() const { return slots_.size() - 1; }
    static bool same(const secpol_node& a, const secpol_node& b) {
        return a.field == b.field && a.lo == b.lo && a.hi == b.hi && a.next_pass == b.next_pass &&
               a.next_fail == b.next_fail;
    }
    static uint32_t hash(const secpol_node& n) {
        uint64_t h = (uint64_t(n.field) << 32 | n.lo) * 0x9e3779b97f4a7c15ull;
        h ^= (uint64_t(n.hi) << 32 | n.next_pass) + 0xbf58476d1ce4e5b9ull + (h << 6) + (h >> 2);
        h ^= uint64_t(n.next_fail) * 0x94d049bb133111ebull;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ull;
        return static_cast<uint32_t>(h >> 32);
    }
    void grow() {
        slots_.assign(slots_.size() * 2, Slot{});
        count_ = 0;
        for (uint32_t i = 0; i < nodes_.size(); ++i) find_or_add(nodes_[i], i);
    }
    const std::vector<secpol_node>& nodes_;
    std::vector<Slot> slots_;
    size_t count_ = 0;
};

// The error of a program past BuildOptions::max_nodes.
std::string too_many_nodes(size_t max) {
    return "the decision program needs more than " + std::to_string(max) + " nodes (" +
           std::to_string(max * sizeof(secpol_node) >> 20) +
           " MiB of node map), the most secpol builds (tree::kMaxNodes, docs/design.md \"Budget and "
           "fallback\"); split the policy or merge filters with the same action";
}

class Builder {
  public:
    // scale > 1 tolerates bigger groups (fewer fall-through trees, so
    // shorter walks, more nodes).
    Builder(const BuildOptions& opts, Program& prog, BuildStats& stats, unsigned scale)
        : leaf_size_(std::max(1u, opts.leaf_size)),
          prog_(prog),
          stats_(stats),
          intern_(prog.nodes),
          per_term_(kNodesPerTerm * scale),
          max_nodes_(opts.max_nodes) {}

    uint32_t root(const std::vector<Term>& terms) {
        small_ = terms.size() < kGroupMin;
        // IPv4 and IPv6 keys first part in three tests on the source's upper
        // words; below, no tree tests an address family again. Terms that
        // match both families (any, me) go to both sides.
        std::vector<Term> v4, v6;
        for (const Term& t : terms) {
            if (admits_mapped(t, SECPOL_F_SRC0) && admits_mapped(t, SECPOL_F_DST0)) {
                Term c = t;
                widen_upper_words(c, SECPOL_F_SRC0);
                widen_upper_words(c, SECPOL_F_DST0);
                v4.push_back(c);
            }
            if (!only_mapped(t, SECPOL_F_SRC0) && !only_mapped(t, SECPOL_F_DST0)) v6.push_back(t);
        }
        if (v4.empty() || v6.empty()) return shaped(terms);
        // Below kGroupMin terms one tree holds them all, and each leaf's
        // chain tested the family of both addresses (8 instructions of an
        // IPv4 walk of 20): parted here, an IPv4 packet pays 4 once. Not
        // when every term goes to both sides: no family test to save.
        if (small_ && v4.size() == terms.size() && v6.size() == terms.size())
            return shaped(terms);
        uint32_t r6 = shaped(v6), r4 = shaped(v4);
        return node(SECPOL_F_SRC0, 0, 0,
                    node(SECPOL_F_SRC1, 0, 0, node(SECPOL_F_SRC2, 0xffff, 0xffff, r4, r6), r6), r6);
    }

  private:
    // One tree, or a forest of trees by address shape, for terms in priority order.
    uint32_t shaped(const std::vector<Term>& terms) {
        terms_ = &terms;
        for (unsigned f = 0; f < SECPOL_NF; ++f) {
            lo_[f].resize(terms.size());
            hi_[f].resize(terms.size());
            restricted_[f] = false;
            for (size_t i = 0; i < terms.size(); ++i) {
                lo_[f][i] = terms[i].lo[f];
                hi_[f][i] = terms[i].hi[f];
                restricted_[f] |= terms[i].lo[f] != 0 || terms[i].hi[f] != UINT32_MAX;
            }
        }
        std::vector<uint32_t> all(terms.size());
        for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
        if (all.empty()) return nomatch();
        better_.clear();
        cont_ = nomatch();
        if (all.size() < kGroupMin)
            return one_tree(all, nomatch(), SIZE_MAX, small_ ? std::min(leaf_size_, kSmallLeaf) : leaf_size_);
        // The forest first: its size says what one tree may cost. One tree
        // walks shorter, so it wins whenever it stays within kSingleFactor
        // times the forest's nodes (or kSinglePerTerm per term), never past
        // kSingleCap (a failed attempt is lost time: at 131,072 the four
        // failed attempts of a generated 10,000-filter policy were 73 % of
        // its build; the largest single tree kept, ClassBench acl1_10k's,
        // takes 74,479 node calls); the loser's nodes are
        // compacted away.
        size_t before = stats_.tree_nodes;
        uint32_t f = forest(all);
        size_t mark_nodes = prog_.nodes.size(), mark_built = stats_.tree_nodes;
        if (trees_ <= 1) return f;
        uint32_t mark_depth = prog_.depth;
        try {
            size_t budget = std::min(
                std::max(kSingleFactor * (mark_built - before), kSinglePerTerm * all.size()), kSingleCap);
            return one_tree(all, nomatch(), mark_built + budget + kBudgetSlack, leaf_size_);
        } catch (const OverBudget&) {
            rollback(mark_nodes, mark_built, mark_depth);
        }
        stats_.trees = std::max(stats_.trees, trees_);
        return f;
    }

    // One tree over ids (priority order) that falls through to fallback.
    // With a budget, it throws OverBudget past it; without, it is cut into
    // priority groups wherever it grows too big.
    uint32_t one_tree(const std::vector<uint32_t>& ids, uint32_t fallback, size_t budget, unsigned leaf) {
        Box r;
        r.lo.fill(0);
        r.hi.fill(UINT32_MAX);
        leaf_ = leaf;
        // Words every term pins the same way (the IPv4-mapped words of an
        // IPv4-only policy) are tested once here, not once per group below.
        Fields fields = common_fields(ids.data(), ids.size(), r);
        const auto depth = static_cast<unsigned>(fields.size());
        uint32_t n;
        if (budget != SIZE_MAX) {
            budget_end_ = budget;
            fallback_ = fallback;
            n = build_list(ids.data(), ids.size(), r, depth);
            budget_end_ = SIZE_MAX;
        } else {
            n = group(ids, 0, ids.size(), r, fallback, depth);
        }
        return wrap_gates(fields, r, n, fallback);
    }

    // ---- Forest ------------------------------------------------------------
    // Filters narrow on the source but wide on the destination, mixed with
    // the reverse, multiply into a cross product of leaves in one tree
    // (specificity order interleaves them everywhere). So the terms are
    // split by address shape into up to four trees walked in turn. A leaf
    // whose rule beats every term of the other trees ends the walk (MATCH);
    // otherwise it records a candidate with its priority (CAND) and goes on
    // to the next tree, which a test on the best priority held skips when
    // none of the trees left can beat it. Still exactly first-match.
    uint32_t forest(const std::vector<uint32_t>& all) {
        std::array<std::vector<uint32_t>, 4> cat;
        for (uint32_t i : all) cat[category(term(i))].push_back(i);
        std::vector<const std::vector<uint32_t>*> trees;
        for (const auto& c : cat)
            if (!c.empty()) trees.push_back(&c);
        // Largest tree first (ties: best priority first). It holds most
        // packets' answers, and a candidate then goes on only to the later
        // trees that hold a better term intersecting it (hit()): the small
        // wide trees, which most terms overlap, last, so that is usually one
        // more tree, not all of them.
        std::sort(trees.begin(), trees.end(), [&](auto* a, auto* b) {
            if (a->size() != b->size()) return a->size() > b->size();
            return term(a->front()).filter < term(b->front()).filter;
        });
        trees_ = trees.size();
        const unsigned leaf = trees.size() > 1 ? std::min(leaf_size_, kForestLeaf) : leaf_size_;
        std::vector<uint32_t> from(trees.size() + 1, UINT32_MAX);  // best priority of trees k.. on
        for (size_t k = trees.size(); k-- > 0;)
            from[k] = std::min(from[k + 1], term(trees[k]->front()).filter);
        better_in(trees);
        entry_.assign(trees.size(), UINT32_MAX);
        uint32_t next = nomatch();
        for (size_t k = trees.size(); k-- > 0;) {
            tree_ = static_cast<unsigned>(k);
            cont_ = next;
            uint32_t t = one_tree(*trees[k], next, SIZE_MAX, leaf);
            next = k == 0 ? t : node(SECPOL_F_BEST, from[k], UINT32_MAX, t, nomatch());
            entry_[k] = next;
        }
        better_.clear();
        tree_ = 0;
        cont_ = nomatch();
        return next;
    }

    // Address shape: bit 1 = source wide, bit 0 = destination wide, where
    // wide means a prefix of at most 8 bits within its family (any, me,
    // a /8): such terms overlap nearly everything on that address.
    static unsigned category(const Term& t) {
        auto wide = [&](unsigned base) {
            unsigned bits = 0;
            bool v4 = true;  // the three upper words pinned: IPv4-mapped
            for (unsigned i = 0; i < 4; ++i) {
                uint64_t size = uint64_t(t.hi[base + i]) - t.lo[base + i] + 1;
                if (i < 3 && size != 1) v4 = false;
                bits += static_cast<unsigned>(std::bit_width(size)) - 1;  // floor(log2(size))
            }
            return (v4 ? 32u : 128u) - std::min(bits, v4 ? 32u : 128u) <= 8;
        };
        return (wide(SECPOL_F_SRC0) ? 2u : 0u) | (wide(SECPOL_F_DST0) ? 1u : 0u);
    }

    // What a leaf reports for the term that matches there. In a forest, a
    // packet here lies in t's box, so only the other trees' terms that
    // intersect t and beat it can change the answer (better_): none, and t
    // ends the walk (MATCH); else the candidate goes on to the first later
    // tree that holds one (past the trees between), or ends the walk with
    // the best held when only earlier trees hold them.
    uint32_t hit(const Term& t) {
        if (better_.empty()) return match(t.rule);
        const uint32_t mask = better_[static_cast<size_t>(&t - terms_->data())];
        if (mask == 0) return match(t.rule);
        const uint32_t later = mask >> (tree_ + 1);
        const uint32_t cont = later == 0 ? nomatch() : entry_[tree_ + 1 + std::countr_zero(later)];
        const uint32_t guard = guard_[static_cast<size_t>(&t - terms_->data())];
        if (guard == 0) return node(SECPOL_NODE_CAND, t.rule, t.filter, cont, 0);
        // One guard block per (flag words, continuation), shared by every
        // candidate that goes there: a packet with the words clear ends the
        // walk with the best candidate held, which t's CAND just offered.
        uint32_t g = nomatch();
        if (guard >> 8) g = node((guard >> 8) - 1, 0, 0, g, cont);
        g = node((guard & 0xff) - 1, 0, 0, g, cont);
        return node(SECPOL_NODE_CAND, t.rule, t.filter, g, 0);
    }

    // For each term, the trees of the forest (bit j: trees[j]) other than
    // its own that hold a term of better priority intersecting it. Each tree
    // is indexed on its most selective source word and its most selective
    // destination word (most distinct range starts): its terms by the width
    // class of their range there (floor log2), each class sorted by the
    // range's start. A term narrow on one of the two words scans only the
    // terms whose range there can reach its own; a term wide on both scans
    // the tree's terms in priority order up to its own priority. Either stops
    // at the first better term that intersects it on every word.
    struct Index {
        unsigned f = 0;
        std::array<std::vector<uint32_t>, 33> cls;
        std::array<std::vector<uint32_t>, 33> lo;  // cls's range starts: searched without touching the terms
    };
    void better_in(const std::vector<const std::vector<uint32_t>*>& trees) {
        better_.assign(terms_->size(), 0);
        guard_.assign(terms_->size(), 0);
        std::vector<std::array<Index, 2>> index(trees.size());
        std::vector<uint32_t> starts;
        for (size_t j = 0; j < trees.size(); ++j)
            for (unsigned side = 0; side < 2; ++side) {
                Index& x = index[j][side];
                const unsigned base = side == 0 ? SECPOL_F_SRC0 : SECPOL_F_DST0;
                size_t best = 0;
                for (unsigned f = base; f < base + 4; ++f) {
                    starts.clear();
                    for (uint32_t u : *trees[j]) starts.push_back(term(u).lo[f]);
                    std::sort(starts.begin(), starts.end());
                    const auto distinct =
                        static_cast<size_t>(std::unique(starts.begin(), starts.end()) - starts.begin());
                    if (distinct > best) best = distinct, x.f = f;
                }
                for (uint32_t u : *trees[j]) x.cls[width_class(term(u), x.f)].push_back(u);
                for (unsigned c = 0; c < 33; ++c) {
                    std::stable_sort(x.cls[c].begin(), x.cls[c].end(), [&](uint32_t a, uint32_t b) {
                        return term(a).lo[x.f] < term(b).lo[x.f];
                    });
                    for (uint32_t u : x.cls[c]) x.lo[c].push_back(term(u).lo[x.f]);
                }
            }
        // Past scan_max terms looked at, a query answers "yes": the candidate
        // then visits that tree, as before, and the answer stays exact. The
        // cap falls with the number of terms, so the whole costs at most about
        // kScanTotal term checks per tree (at 100,000 filters, 1,024 checks per
        // query cost 1.5 s more build; at 10,000 a query rarely needs more).
        const size_t scan_max =
            std::clamp<size_t>(kScanTotal / std::max<size_t>(terms_->size(), 1), 64, 1024);
        // Visits the terms of tree j that may beat and intersect t (a
        // superset: the index's window on its word, or the tree's terms in
        // priority order up to t's) until visit says stop. Returns Done,
        // Stopped, or Over when more than scan_max were looked at.
        enum Scan { Done, Stopped, Over };
        auto scan = [&](size_t j, const Term& t, size_t scan_max, auto&& visit) {
            size_t budget = 0;
            const auto& [a, b] = index[j];
            const unsigned wa = width_class(t, a.f), wb = width_class(t, b.f);
            if (std::min(wa, wb) < kWideClass) {
                const Index& x = wa <= wb ? a : b;
                const unsigned f = x.f;
                for (unsigned c = 0; c < 33; ++c) {
                    const auto& v = x.cls[c];
                    const auto& lo = x.lo[c];
                    if (v.empty()) continue;
                    // A range of this class is shorter than 2^(c+1): it reaches t's only if it starts after
                    // this.
                    const uint64_t reach = uint64_t{1} << (c + 1);
                    const uint32_t from = t.lo[f] < reach ? 0 : static_cast<uint32_t>(t.lo[f] - reach + 1);
                    for (auto i =
                             static_cast<size_t>(std::lower_bound(lo.begin(), lo.end(), from) - lo.begin());
                         i < lo.size() && lo[i] <= t.hi[f]; ++i) {
                        if (++budget > scan_max) return Over;
                        if (visit(term(v[i]))) return Stopped;
                    }
                }
                return Done;
            }
            for (uint32_t u : *trees[j]) {
                const Term& o = term(u);
                if (o.filter >= t.filter) break;
                if (++budget > scan_max) return Over;
                if (visit(o)) return Stopped;
            }
            return Done;
        };
        auto better = [](const Term& o, const Term& t) { return o.filter < t.filter && intersects(o, t); };
        static constexpr unsigned kFlags[] = {SECPOL_F_SRC_LOCAL, SECPOL_F_DST_LOCAL, SECPOL_F_MCBC,
                                              SECPOL_F_FRAG, SECPOL_F_IPSEC};
        // Adds to the guard g (ng words) a flag word o needs set and t
        // admits clear, unless o needs one of g already; false when o needs
        // none or g would exceed two words.
        auto cover = [](const Term& o, const Term& t, unsigned* g, unsigned& ng) {
            for (unsigned x = 0; x < ng; ++x)
                if (o.lo[g[x]] >= 1) return true;
            for (unsigned f : kFlags)
                if (o.lo[f] >= 1 && t.lo[f] == 0) {
                    if (ng == 2) return false;
                    g[ng++] = f;
                    return true;
                }
            return false;
        };
        // Per tree, the flag words (at most two) every one of its terms
        // needs set (a tree of `me` filters: the source or destination is
        // this host), found once, so a query need not scan that tree.
        struct Flags {
            unsigned g[2] = {0, 0}, n = 0;
            bool all = false;
        };
        std::vector<Flags> tree_flags(trees.size());
        const Term open;  // admits every flag clear
        for (size_t j = 0; j < trees.size(); ++j) {
            Flags& x = tree_flags[j];
            x.all = true;
            for (uint32_t u : *trees[j])
                if (!cover(term(u), open, x.g, x.n)) {
                    x.all = false;
                    break;
                }
        }
        // The flag words (at most two) that every better term of the later
        // trees (mask later, bit 0: tree k + 1) intersecting t needs set
        // while t admits them clear: a packet at t's leaf with all of them
        // clear matches none of those terms, so t is its answer (hit()). 0
        // when there is no such pair or a scan gave up; else the words
        // packed one per byte, each + 1. A guard query looks at every
        // better term, not just the first, so it gives up sooner (kGuardScan).
        const size_t guard_max =
            std::clamp<size_t>(kGuardTotal / std::max<size_t>(terms_->size(), 1), 8, kGuardScan);
        auto guard_of = [&](size_t k, const Term& t, uint32_t later) -> uint32_t {
            unsigned g[2] = {0, 0}, ng = 0;
            for (size_t j = k + 1; later != 0; ++j, later >>= 1) {
                if (!(later & 1)) continue;
                const Flags& x = tree_flags[j];
                bool whole = x.all;
                for (unsigned y = 0; y < x.n && whole; ++y) whole = t.lo[x.g[y]] == 0;
                if (whole) {
                    for (unsigned y = 0; y < x.n; ++y) {
                        Term o;  // needs x.g[y] set
                        o.lo[x.g[y]] = 1;
                        if (!cover(o, t, g, ng)) return 0;
                    }
                    continue;
                }
                auto stop = [&](const Term& o) { return better(o, t) && !cover(o, t, g, ng); };
                if (scan(j, t, guard_max, stop) != Done) return 0;
            }
            return ng == 0 ? 0 : (g[0] + 1) | (ng == 2 ? (g[1] + 1) << 8 : 0);
        };
        for (size_t k = 0; k < trees.size(); ++k)
            for (uint32_t i : *trees[k]) {
                const Term& t = term(i);
                uint32_t mask = 0;
                for (size_t j = 0; j < trees.size(); ++j)
                    if (j != k && scan(j, t, scan_max, [&](const Term& o) { return better(o, t); }) != Done)
                        mask |= 1u << j;
                better_[i] = mask;
                guard_[i] = mask >> (k + 1) == 0 ? 0 : guard_of(k, t, mask >> (k + 1));
            }
    }
    // Terms a guard query looks at per tree (guard_of): 256 and 1,024 guard
    // more specificity leaves but cost about 4 % and 10 % of a 10,000-filter
    // compile (docs/design.md, "Forests: flag guards").
    static constexpr size_t kGuardScan = 64;
    // and fewer past 2^21 / 64 terms: at 100,000 filters 64 cost 0.5 s more build.
    static constexpr size_t kGuardTotal = size_t{1} << 21;
    static constexpr size_t kScanTotal = size_t{1} << 24;  // term checks per tree, about (better_in)
    static constexpr unsigned kWideClass =
        24;  // a range of 2^24 values or more: the index would scan most terms
    static unsigned width_class(const Term& t, unsigned f) {
        return static_cast<unsigned>(std::bit_width(uint64_t(t.hi[f]) - t.lo[f] + 1)) - 1;
    }
    static bool intersects(const Term& a, const Term& b) {
        for (unsigned f : kCheckOrder)
            if (a.lo[f] > b.hi[f] || b.lo[f] > a.hi[f]) return false;
        return true;
    }

    // Forgets the nodes made since the marks.
    void rollback(size_t mark_nodes, size_t mark_built, uint32_t mark_depth) {
        for (size_t i = prog_.nodes.size(); i-- > mark_nodes;) intern_.erase_newest(static_cast<uint32_t>(i));
        prog_.nodes.resize(mark_nodes);
        stats_.wasted_nodes += stats_.tree_nodes - mark_built;
        stats_.tree_nodes = mark_built;
        prog_.depth = mark_depth;
    }

    // Identical nodes are stored once, so equal leaves and chain tails (and
    // whole equal subtrees, e.g. of the two directions) are shared.
    uint32_t node(uint32_t field, uint32_t lo, uint32_t hi, uint32_t pass, uint32_t fail) {
        if (field <= SECPOL_F_BEST && pass == fail) return pass;  // a test that decides nothing
        if (++stats_.tree_nodes > budget_end_) throw OverBudget{};
        const secpol_node n{field, lo, hi, pass, fail, 0};
        const auto fresh = static_cast<uint32_t>(prog_.nodes.size());
        if (uint32_t old = intern_.find_or_add(n, fresh); old != UINT32_MAX) return old;
        prog_.nodes.push_back(n);
        if (prog_.nodes.size() > max_nodes_) throw std::length_error(too_many_nodes(max_nodes_));
        return fresh;
    }
    uint32_t match(uint32_t rule) { return node(SECPOL_NODE_MATCH, rule, 0, 0, 0); }
    uint32_t nomatch() { return node(SECPOL_NODE_NOMATCH, 0, 0, 0, 0); }

    const Term& term(uint32_t i) const { return (*terms_)[i]; }

    static bool covers_field(const Term& t, const Box& r, unsigned f) {
        return t.lo[f] <= r.lo[f] && t.hi[f] >= r.hi[f];
    }
    static bool covers(const Term& t, const Box& r) {
        for (unsigned f : kCheckOrder)
            if (!covers_field(t, r, f)) return false;
        return true;
    }

    // Builds the tree of ids[0, n) (priority order) within r. The candidate
    // lists of the recursion live on one stack (stk_), each level's two
    // sides pushed above its own list and popped after, so no level
    // allocates; the stack is cut back also when an attempt is abandoned.
    uint32_t build_list(const uint32_t* ids, size_t n, Box& r, unsigned depth) {
        struct Pop {
            std::vector<uint32_t>& s;
            size_t top;
            ~Pop() { s.resize(top); }
        } pop{stk_, stk_.size()};
        stk_.insert(stk_.end(), ids, ids + n);
        return build(pop.top, stk_.size(), r, depth);
    }

    // The candidates are stk_[b, e), in priority order; build may reorder
    // and shorten that range, never what lies below it.
    uint32_t build(size_t b, size_t e, Box& r, unsigned depth) {
        if (depth > SECPOL_MAX_STEPS)
            throw std::length_error("decision tree deeper than " + std::to_string(SECPOL_MAX_STEPS));
        // Nothing after a candidate that covers the whole region can ever match in it.
        for (size_t i = b; i < e; ++i)
            if (covers(term(stk_[i]), r)) {
                e = i + 1;
                break;
            }
        Alive alive(*this, e - b);
        if (e == b) return leaf(depth, fallback_);
        if (covers(term(stk_[b]), r)) return leaf(depth, hit(term(stk_[b])));
        if (uint32_t n = gate(b, e, r, depth); n != UINT32_MAX) return n;
        if (e - b <= kShadowCheckMax) e = drop_shadowed(b, e, r);
        if (e - b <= leaf_) return leaf(depth, chain(stk_.data() + b, e - b, r));

        Split s = choose(stk_.data() + b, e - b, r);
        const size_t top = stk_.size();
        const uint32_t* lo = lo_[s.field].data();
        const uint32_t* hi = hi_[s.field].data();
        stk_.resize(top + (e - b));
        size_t k = top;
        for (size_t i = b; i < e; ++i)
            if (lo[stk_[i]] < s.v) stk_[k++] = stk_[i];
        uint32_t saved = r.hi[s.field];
        r.hi[s.field] = s.v - 1;
        uint32_t left = build(top, k, r, depth + 1);
        r.hi[s.field] = saved;

        k = top;
        for (size_t i = b; i < e; ++i)
            if (hi[stk_[i]] >= s.v) stk_[k++] = stk_[i];
        saved = r.lo[s.field];
        r.lo[s.field] = s.v;
        uint32_t right = build(top, k, r, depth + 1);
        r.lo[s.field] = saved;
        stk_.resize(top);
        return node(s.field, 0, s.v - 1, left, right);
    }

    uint32_t leaf(unsigned depth, uint32_t n) {
        prog_.depth = std::max<uint32_t>(prog_.depth, depth);
        return n;
    }

    // A word on which every candidate has the same range, narrower than the
    // region: one test node rejects what lies outside and every candidate
    // stops testing that word (the three fixed words of IPv4-mapped
    // addresses, a protocol all candidates share, ...). Never costs more
    // steps than it saves, since each chain below would test the word.
    uint32_t gate(size_t b, size_t e, Box& r, unsigned depth) {
        Box outer = r;
        Fields fields = common_fields(stk_.data() + b, e - b, r);
        if (fields.empty()) return UINT32_MAX;
        uint32_t child = build(b, e, r, depth + static_cast<unsigned>(fields.size()));
        child = wrap_gates(fields, r, child, fallback_);
        r = outer;
        return child;
    }

    // Narrows r to the range all candidates share on each word where that
    // range is narrower than r; returns those words.
    // Key words, at most SECPOL_NF: on the stack, as every build() level asks.
    struct Fields {
        std::array<unsigned, SECPOL_NF> f;
        size_t n = 0;
        size_t size() const { return n; }
        bool empty() const { return n == 0; }
        unsigned operator[](size_t i) const { return f[i]; }
        void push_back(unsigned x) { f[n++] = x; }
    };
    Fields common_fields(const uint32_t* cands, size_t n, Box& r) const {
        Fields fields;
        for (unsigned f = 0; f < SECPOL_NF; ++f) {
            uint32_t a = std::max(term(cands[0]).lo[f], r.lo[f]), b = std::min(term(cands[0]).hi[f], r.hi[f]);
            if (a == r.lo[f] && b == r.hi[f]) continue;
            bool common = true;
            for (size_t i = 1; i < n && common; ++i)
                common = std::max(term(cands[i]).lo[f], r.lo[f]) == a &&
                         std::min(term(cands[i]).hi[f], r.hi[f]) == b;
            if (!common) continue;
            r.lo[f] = a;
            r.hi[f] = b;
            fields.push_back(f);
        }
        return fields;
    }

    // One test per gated word (r holds the narrowed ranges): pass -> child, fail -> fail.
    uint32_t wrap_gates(const Fields& fields, const Box& r, uint32_t child, uint32_t fail) {
        for (size_t i = fields.size(); i-- > 0;)
            child = node(fields[i], r.lo[fields[i]], r.hi[fields[i]], child, fail);
        return child;
    }

    // ---- Priority groups ---------------------------------------------------
    // Within one tree, overlapping ranges (prefixes inside prefixes, port
    // ranges) replicate candidates into many leaves. A contiguous run of
    // terms in priority order can instead get its own tree whose "no match"
    // falls through to the tree of the terms after it: still exactly
    // first-match, at the price of the steps of one more tree. So each run
    // is first built within a node budget proportional to its size, and
    // halved where that budget is exceeded.
    static constexpr size_t kGroupMin = 64;       // smaller runs are never cut
    static constexpr size_t kNodesPerTerm = 100;  // budget: tree nodes per term
    static constexpr size_t kBudgetSlack = 4096;
    static constexpr size_t kSingleFactor = 4;    // one tree may have this many times the forest's nodes,
    static constexpr size_t kSinglePerTerm = 64;  // or this many per term,
    static constexpr size_t kSingleCap = 98304;   // and never more than this
    static constexpr unsigned kForestLeaf = 2;    // leaf size in forests: shorter chains, as walks add up
    // Leaf size in the trees of a policy of fewer than kGroupMin terms
    // (small_): a split more, a chain shorter (the bench's 10-filter walks: -0.35 taken jumps, -0.3
    // to -0.7 instructions against 4; 2 counted alike).
    static constexpr unsigned kSmallLeaf = 3;

    struct OverBudget {};

    uint32_t group(const std::vector<uint32_t>& idv, size_t b, size_t e, const Box& r, uint32_t fallback,
                   unsigned depth) {
        size_t mark_nodes = prog_.nodes.size(), mark_built = stats_.tree_nodes;
        uint32_t mark_depth = prog_.depth;
        bool cuttable = e - b >= kGroupMin;
        budget_end_ = cuttable ? mark_built + per_term_ * (e - b) + kBudgetSlack : SIZE_MAX;
        fallback_ = fallback;
        try {
            Box rc = r;
            uint32_t n = build_list(idv.data() + b, e - b, rc, depth);
            budget_end_ = SIZE_MAX;
            return n;
        } catch (const OverBudget&) {
            // Forget the partial tree and build the two halves, the later one first (it is the fallback).
            rollback(mark_nodes, mark_built, mark_depth);
            ++stats_.groups;
            size_t t = cut(b, e);
            uint32_t tail = group(idv, t, e, r, fallback, depth);
            return group(idv, b, t, r, tail, depth);
        }
    }

    // The middle of [b, e): both halves get their own tree.
    static size_t cut(size_t b, size_t e) { return b + (e - b) / 2; }

    // Removes candidates that an earlier candidate fully covers within the region.
    size_t drop_shadowed(size_t b, size_t e, const Box& r) {
        uint32_t* cands = stk_.data() + b;
        size_t out = 0;
        for (size_t j = 0; j < e - b; ++j) {
            const Term& t = term(cands[j]);
            bool shadowed = false;
            for (size_t i = 0; i < out && !shadowed; ++i) {
                const Term& s = term(cands[i]);
                shadowed = true;
                for (size_t k = 0; k < SECPOL_NF && shadowed; ++k) {
                    const unsigned f = kCheckOrder[k];
                    shadowed = s.lo[f] <= std::max(t.lo[f], r.lo[f]) && s.hi[f] >= std::min(t.hi[f], r.hi[f]);
                }
            }
            if (!shadowed) cands[out++] = cands[j];
        }
        return b + out;
    }

    // Candidates in priority order, each testing only the words it does not
    // cover within the region; a failed test falls through to the next
    // candidate, the last one to NOMATCH.
    uint32_t chain(const uint32_t* cands, size_t n_cands, const Box& r) {
        uint32_t next = fallback_;
        for (size_t i = n_cands; i-- > 0;) {
            const Term& t = term(cands[i]);
            uint32_t n = hit(t);
            for (unsigned k = SECPOL_NF; k-- > 0;) {
                unsigned f = kChainOrder[k];
                if (!covers_field(t, r, f)) n = node(f, t.lo[f], t.hi[f], n, next);
            }
            next = n;
        }
        return next;
    }

    struct Split {
        unsigned field = 0;
        uint32_t v = 0;  // left: word < v, right: word >= v
        size_t nl = 0, nr = 0;
    };

    // The split that leaves the fewest candidates on its larger side (so
    // every walk below it gets shorter), ties broken by the fewest
    // candidates in total (least replication, so fewer nodes). Thresholds
    // are the candidates' range endpoints inside the region.
    Split choose(const uint32_t* cands, size_t m, const Box& r) {
        Split best;
        size_t best_max = SIZE_MAX, best_sum = SIZE_MAX;
        for (unsigned f = 0; f < SECPOL_NF; ++f) {
            // A word no term restricts is covered by every candidate: nothing to count.
            if (r.lo[f] == r.hi[f] || !restricted_[f]) continue;
            const uint32_t* lo = lo_[f].data();
            const uint32_t* hi = hi_[f].data();
            // Most words are covered by every candidate (flags, unused address
            // words): check that before sorting anything.
            // Candidates spanning the whole region on this word go to both
            // sides of any threshold: nl + nr >= m + full and max(nl, nr) >=
            // full + (m - full) / 2, a bound on this word's best score that
            // skips its sorts when an earlier word already does as well.
            size_t full = 0;
            for (size_t i = 0; i < m; ++i) full += lo[cands[i]] <= r.lo[f] && hi[cands[i]] >= r.hi[f];
            if (full == m) continue;
            const size_t least_sum = m + full, least_mx = 2 * least_sum + full + (m - full + 1) / 2;
            if (least_mx > best_max || (least_mx == best_max && least_sum >= best_sum)) continue;
            los_.resize(m);
            his_.resize(m);
            for (size_t i = 0; i < m; ++i) {
                los_[i] = std::max(lo[cands[i]], r.lo[f]);
                his_[i] = std::min(hi[cands[i]], r.hi[f]);
            }
            sort_words(los_);
            sort_words(his_);
            if (los_.back() == r.lo[f] && his_.front() == r.hi[f]) continue;
            // The thresholds, ascending and distinct: the lower ends above
            // r.lo merged with one past the upper ends below r.hi (both
            // lists are sorted, so a merge, not a third sort).
            size_t a =
                static_cast<size_t>(std::upper_bound(los_.begin(), los_.end(), r.lo[f]) - los_.begin());
            size_t z = 0;
            const size_t zend =
                static_cast<size_t>(std::lower_bound(his_.begin(), his_.end(), r.hi[f]) - his_.begin());
            size_t il = 0, ih = 0;
            bool any = false;
            uint32_t last = 0;
            while (a < m || z < zend) {
                uint32_t v;
                if (z == zend || (a < m && los_[a] <= his_[z] + 1))
                    v = los_[a++];
                else
                    v = his_[z++] + 1;
                if (any && v == last) continue;
                any = true;
                last = v;
                while (il < m && los_[il] < v) ++il;
                while (ih < m && his_[ih] < v) ++ih;
                size_t nl = il, nr = m - ih;
                // Replication (sum) weighs double: copies of wide candidates
                // compound level after level, an unbalanced split costs one level.
                size_t sum = nl + nr, mx = 2 * sum + std::max(nl, nr);
                if (mx < best_max || (mx == best_max && sum < best_sum)) {
                    best_max = mx;
                    best_sum = sum;
                    best = Split{f, v, nl, nr};
                }
            }
        }
        if (best_max == SIZE_MAX) throw std::logic_error("tree: no split for an uncovered region");
        return best;
    }

    // Sorts key words ascending: std::sort for short lists, a byte-wise
    // radix sort (passes over bytes that all values share skipped) for long
    // ones, where it measured several times faster. Same order either way.
    void sort_words(std::vector<uint32_t>& v) {
        if (v.size() < kRadixMin) {
            std::sort(v.begin(), v.end());
            return;
        }
        tmp_.resize(v.size());
        uint32_t* src = v.data();
        uint32_t* dst = tmp_.data();
        // The four bytes' histograms in one pass over the values.
        std::array<std::array<uint32_t, 257>, 4> counts{};
        uint32_t all_or = 0, all_and = UINT32_MAX;
        for (uint32_t x : v) {
            all_or |= x, all_and &= x;
            ++counts[0][(x & 0xff) + 1];
            ++counts[1][(x >> 8 & 0xff) + 1];
            ++counts[2][(x >> 16 & 0xff) + 1];
            ++counts[3][(x >> 24) + 1];
        }
        for (unsigned shift = 0; shift < 32; shift += 8) {
            if (((all_or ^ all_and) >> shift & 0xff) == 0) continue;  // this byte is the same everywhere
            auto& count = counts[shift / 8];
            for (unsigned d = 0; d < 256; ++d) count[d + 1] += count[d];
            for (size_t i = 0; i < v.size(); ++i) dst[count[src[i] >> shift & 0xff]++] = src[i];
            std::swap(src, dst);
        }
        if (src != v.data()) std::copy(src, src + v.size(), v.data());
    }
    static constexpr size_t kRadixMin = 64;

    // Tracks the candidate indices alive on the recursion path (the
    // builder's memory beyond the nodes themselves).
    struct Alive {
        Builder& b;
        size_t n;
        Alive(Builder& b_, size_t n_) : b(b_), n(n_) {
            b.alive_ += n;
            b.stats_.peak_candidates = std::max(b.stats_.peak_candidates, b.alive_);
        }
        ~Alive() { b.alive_ -= n; }
    };

    const unsigned leaf_size_;
    bool small_ = false;  // the policy (one direction) has fewer than kGroupMin terms
    Program& prog_;
    BuildStats& stats_;
    const std::vector<Term>* terms_ = nullptr;
    NodeSet intern_;
    std::array<std::vector<uint32_t>, SECPOL_NF> lo_, hi_;  // the terms' ranges word by word, for choose()
    std::array<bool, SECPOL_NF> restricted_{};              // some term is narrower than the whole word
    std::vector<uint32_t> los_, his_, tmp_;                 // scratch for choose()
    std::vector<uint32_t> stk_;                             // candidate lists of the recursion (build)
    size_t alive_ = 0;
    uint32_t fallback_ = 0;  // where "no candidate matched" goes in the group being built
    size_t budget_end_ = SIZE_MAX;
    size_t per_term_;
    const size_t max_nodes_;
    unsigned leaf_ = 4;             // leaf size of the tree being built
    std::vector<uint32_t> better_;  // per term (forest): trees holding a better term that intersects it
    std::vector<uint32_t> guard_;   // per term (forest): flag words that end its walk when clear (guard_of)
    std::vector<uint32_t> entry_;   // per tree of the forest being built: its entry (gate), once built
    unsigned tree_ = 0;             // the tree being built
    uint32_t cont_ = 0;             // where a chain that fails goes on (the next tree's entry)
    size_t trees_ = 1;              // trees in the last forest built
};

// Longest walk from each node: children are always created before their
// parent, so one pass in index order suffices.
uint32_t longest_walk(const Program& p) {
    std::vector<uint32_t> steps(p.nodes.size(), 1);
    for (size_t i = 0; i < p.nodes.size(); ++i) {
        const secpol_node& n = p.nodes[i];
        if (n.field <= SECPOL_F_BEST)
            steps[i] = 1 + std::max(steps[n.next_pass], steps[n.next_fail]);
        else if (n.field == SECPOL_NODE_CAND)
            steps[i] = 1 + steps[n.next_pass];
    }
    uint32_t a = steps.empty() ? 0 : steps[p.root_in], b = steps.empty() ? 0 : steps[p.root_out];
    return std::max(a, b);
}

// Points a node's children (tests: pass and fail; candidates: next) at
// their new indices.
void remap_children(secpol_node& n, const std::vector<uint32_t>& remap) {
    if (n.field <= SECPOL_F_BEST) {
        n.next_pass = remap[n.next_pass];
        n.next_fail = remap[n.next_fail];
    } else if (n.field == SECPOL_NODE_CAND) {
        n.next_pass = remap[n.next_pass];
    }
}

// Keeps only the nodes reachable from the roots (a forest that lost to one
// tree, or the reverse, leaves unreachable nodes behind), in the same order,
// so children still precede their parents.
void compact(Program& p) {
    std::vector<uint32_t> remap(p.nodes.size(), UINT32_MAX);
    std::vector<uint32_t> stack{p.root_in, p.root_out};
    std::vector<uint8_t> seen(p.nodes.size(), 0);
    while (!stack.empty()) {
        uint32_t i = stack.back();
        stack.pop_back();
        if (seen[i]) continue;
        seen[i] = 1;
        const secpol_node& n = p.nodes[i];
        if (n.field <= SECPOL_F_BEST)
            stack.insert(stack.end(), {n.next_pass, n.next_fail});
        else if (n.field == SECPOL_NODE_CAND)
            stack.push_back(n.next_pass);
    }
    std::vector<secpol_node> kept;
    for (size_t i = 0; i < p.nodes.size(); ++i) {
        if (!seen[i]) continue;
        remap[i] = static_cast<uint32_t>(kept.size());
        secpol_node n = p.nodes[i];
        remap_children(n, remap);
        kept.push_back(n);
    }
    p.nodes = std::move(kept);
    p.root_in = remap[p.root_in];
    p.root_out = remap[p.root_out];
}

// Appends from's nodes (children first) to into, each child index mapped,
// storing a node equal to one already in into only once. Returns the index
// of from's node root in into.
uint32_t merge(Program& into, const Program& from, uint32_t root) {
    NodeSet set(into.nodes, into.nodes.size() + from.nodes.size());
    for (uint32_t i = 0; i < into.nodes.size(); ++i) set.find_or_add(into.nodes[i], i);
    std::vector<uint32_t> remap(from.nodes.size(), UINT32_MAX);
    for (uint32_t i = 0; i < from.nodes.size(); ++i) {
        secpol_node n = from.nodes[i];
        remap_children(n, remap);
        const auto fresh = static_cast<uint32_t>(into.nodes.size());
        const uint32_t old = set.find_or_add(n, fresh);
        if (old != UINT32_MAX) {
            remap[i] = old;
        } else {
            into.nodes.push_back(n);
            remap[i] = fresh;
        }
    }
    into.depth = std::max(into.depth, from.depth);
    return remap[root];
}

void add(BuildStats& s, const BuildStats& o) {
    s.tree_nodes += o.tree_nodes;
    s.peak_candidates += o.peak_candidates;  // both builders ran at once
    s.groups += o.groups;
    s.trees = std::max(s.trees, o.trees);
    s.wasted_nodes += o.wasted_nodes;
}

}  // namespace

Program build(const ir::Policy& policy, const BuildOptions& opts) {
    auto t0 = std::chrono::steady_clock::now();
    BuildStats local;
    BuildStats& stats = opts.stats ? *opts.stats : local;
    stats = BuildStats{};
    bool same = std::all_of(policy.filters.begin(), policy.filters.end(),
                            [](const ir::Filter& f) { return f.dir == ir::Dir::Both; });
    // The egress terms are expanded on the other thread while this one
    // expands the ingress terms (2 % of a 10,000-filter compile, serial before).
    auto out_terms = std::async(opts.parallel && !same ? std::launch::async : std::launch::deferred,
                                [&] { return same ? std::vector<Term>{} : expand(policy, SECPOL_DIR_OUT); });
    std::vector<Term> in = expand(policy, SECPOL_DIR_IN), out = out_terms.get();

    // Priority groups trade steps for nodes; if the walk gets too long,
    // rebuild with bigger groups.
    Program prog;
    for (unsigned scale = 1;; scale *= 2) {
        stats = BuildStats{};
        stats.terms_in = in.size();
        stats.terms_out = same ? in.size() : out.size();
        prog = Program{};
        if (same) {
            Builder b(opts, prog, stats, scale);
            prog.root_in = prog.root_out = b.root(in);
        } else {
            // The two directions share almost no nodes, so each is built on
            // its own thread into its own array; the egress nodes are then
            // interned into the ingress array, which shares what they have
            // in common as one builder would have.
            Program egress;
            BuildStats out_stats;
            auto out_root = std::async(opts.parallel ? std::launch::async : std::launch::deferred, [&] {
                Builder b(opts, egress, out_stats, scale);
                return b.root(out);
            });
            Builder b(opts, prog, stats, scale);
            prog.root_in = b.root(in);
            prog.root_out = merge(prog, egress, out_root.get());
            add(stats, out_stats);
            if (prog.nodes.size() > opts.max_nodes) throw std::length_error(too_many_nodes(opts.max_nodes));
        }
        compact(prog);
        prog.max_steps = longest_walk(prog);
        if (prog.max_steps <= SECPOL_MAX_STEPS || stats.groups == 0 || scale >= 512) break;
    }
    if (prog.max_steps > SECPOL_MAX_STEPS)
        throw std::length_error("decision program walk of " + std::to_string(prog.max_steps) +
                                " steps exceeds " + std::to_string(SECPOL_MAX_STEPS));
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return prog;
}

}  // namespace secpol::tree
