// HyperSplit-style decision tree builder (Qi et al., 2009, in spirit; see
// docs/design.md). Each internal node splits the region on one key word at a
// threshold; leaves either name a rule (the first remaining candidate covers
// the region) or hold a short chain of candidates checked in priority order.
#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <unordered_map>

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
    SECPOL_F_DST0, SECPOL_F_DST1, SECPOL_F_DST2, SECPOL_F_DST3,      SECPOL_F_SRC0,      SECPOL_F_SRC1,
    SECPOL_F_SRC2, SECPOL_F_SRC3, SECPOL_F_DPORT, SECPOL_F_SPORT,    SECPOL_F_PROTO,     SECPOL_F_SRC_LOCAL,
    SECPOL_F_DST_LOCAL, SECPOL_F_MCBC, SECPOL_F_FRAG, SECPOL_F_IPSEC};

// Candidate lists up to this size are checked for candidates that an earlier
// one shadows within the region (quadratic, so only where it is cheap).
constexpr size_t kShadowCheckMax = 24;

struct KeyHash {
    size_t operator()(const std::array<uint32_t, 5>& k) const {
        uint64_t h = 0x9e3779b97f4a7c15ull;
        for (uint32_t v : k) h = (h ^ v) * 0xff51afd7ed558ccdull;
        return static_cast<size_t>(h ^ (h >> 29));
    }
};

class Builder {
public:
    Builder(const BuildOptions& opts, Program& prog, BuildStats& stats)
        : leaf_size_(std::max(1u, opts.leaf_size)), prog_(prog), stats_(stats) {}

    uint32_t root(const std::vector<Term>& terms) {
        terms_ = &terms;
        std::vector<uint32_t> all(terms.size());
        for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
        Box full;
        full.lo.fill(0);
        full.hi.fill(UINT32_MAX);
        return build(std::move(all), full, 0);
    }

private:
    // Identical nodes are stored once, so equal leaves and chain tails (and
    // whole equal subtrees, e.g. of the two directions) are shared.
    uint32_t node(uint32_t field, uint32_t lo, uint32_t hi, uint32_t pass, uint32_t fail) {
        if (field < SECPOL_NF && pass == fail) return pass;  // a test that decides nothing
        ++stats_.tree_nodes;
        std::array<uint32_t, 5> k{field, lo, hi, pass, fail};
        auto [it, fresh] = intern_.try_emplace(k, static_cast<uint32_t>(prog_.nodes.size()));
        if (fresh) prog_.nodes.push_back(secpol_node{field, lo, hi, pass, fail, 0});
        return it->second;
    }
    uint32_t match(uint32_t rule) { return node(SECPOL_NODE_MATCH, rule, 0, 0, 0); }
    uint32_t nomatch() { return node(SECPOL_NODE_NOMATCH, 0, 0, 0, 0); }

    const Term& term(uint32_t i) const { return (*terms_)[i]; }

    static bool covers_field(const Term& t, const Box& r, unsigned f) {
        return t.lo[f] <= r.lo[f] && t.hi[f] >= r.hi[f];
    }
    static bool covers(const Term& t, const Box& r) {
        for (unsigned f = 0; f < SECPOL_NF; ++f)
            if (!covers_field(t, r, f)) return false;
        return true;
    }

    uint32_t build(std::vector<uint32_t> cands, Box& r, unsigned depth) {
        if (depth > SECPOL_MAX_STEPS)
            throw std::length_error("decision tree deeper than " + std::to_string(SECPOL_MAX_STEPS));
        // Nothing after a candidate that covers the whole region can ever match in it.
        for (size_t i = 0; i < cands.size(); ++i)
            if (covers(term(cands[i]), r)) {
                cands.resize(i + 1);
                break;
            }
        Alive alive(*this, cands.size());
        if (cands.empty()) return leaf(depth, nomatch());
        if (covers(term(cands[0]), r)) return leaf(depth, match(term(cands[0]).rule));
        if (uint32_t n = gate(cands, r, depth); n != UINT32_MAX) return n;
        if (cands.size() <= kShadowCheckMax) drop_shadowed(cands, r);
        if (cands.size() <= leaf_size_) return leaf(depth, chain(cands, r));

        Split s = choose(cands, r);
        std::vector<uint32_t> side;
        side.reserve(s.nl);
        for (uint32_t c : cands)
            if (term(c).lo[s.field] < s.v) side.push_back(c);
        uint32_t saved = r.hi[s.field];
        r.hi[s.field] = s.v - 1;
        uint32_t left = build(std::move(side), r, depth + 1);
        r.hi[s.field] = saved;

        side.clear();
        side.reserve(s.nr);
        for (uint32_t c : cands)
            if (term(c).hi[s.field] >= s.v) side.push_back(c);
        saved = r.lo[s.field];
        r.lo[s.field] = s.v;
        uint32_t right = build(std::move(side), r, depth + 1);
        r.lo[s.field] = saved;
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
    uint32_t gate(std::vector<uint32_t>& cands, Box& r, unsigned depth) {
        std::array<std::pair<uint32_t, uint32_t>, SECPOL_NF> narrowed;
        unsigned fields[SECPOL_NF], n = 0;
        for (unsigned f = 0; f < SECPOL_NF; ++f) {
            uint32_t a = std::max(term(cands[0]).lo[f], r.lo[f]), b = std::min(term(cands[0]).hi[f], r.hi[f]);
            if (a == r.lo[f] && b == r.hi[f]) continue;
            bool common = true;
            for (size_t i = 1; i < cands.size() && common; ++i)
                common = std::max(term(cands[i]).lo[f], r.lo[f]) == a && std::min(term(cands[i]).hi[f], r.hi[f]) == b;
            if (!common) continue;
            narrowed[f] = {r.lo[f], r.hi[f]};
            r.lo[f] = a;
            r.hi[f] = b;
            fields[n++] = f;
        }
        if (n == 0) return UINT32_MAX;
        uint32_t child = build(cands, r, depth + n);
        for (unsigned i = n; i-- > 0;) {
            unsigned f = fields[i];
            child = node(f, r.lo[f], r.hi[f], child, nomatch());
            r.lo[f] = narrowed[f].first;
            r.hi[f] = narrowed[f].second;
        }
        return child;
    }

    // Removes candidates that an earlier candidate fully covers within the region.
    void drop_shadowed(std::vector<uint32_t>& cands, const Box& r) const {
        size_t out = 0;
        for (size_t j = 0; j < cands.size(); ++j) {
            const Term& t = term(cands[j]);
            bool shadowed = false;
            for (size_t i = 0; i < out && !shadowed; ++i) {
                const Term& s = term(cands[i]);
                shadowed = true;
                for (unsigned f = 0; f < SECPOL_NF && shadowed; ++f)
                    shadowed = s.lo[f] <= std::max(t.lo[f], r.lo[f]) && s.hi[f] >= std::min(t.hi[f], r.hi[f]);
            }
            if (!shadowed) cands[out++] = cands[j];
        }
        cands.resize(out);
    }

    // Candidates in priority order, each testing only the words it does not
    // cover within the region; a failed test falls through to the next
    // candidate, the last one to NOMATCH.
    uint32_t chain(const std::vector<uint32_t>& cands, const Box& r) {
        uint32_t next = nomatch();
        for (size_t i = cands.size(); i-- > 0;) {
            const Term& t = term(cands[i]);
            uint32_t n = match(t.rule);
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
    Split choose(const std::vector<uint32_t>& cands, const Box& r) {
        Split best;
        size_t best_max = SIZE_MAX, best_sum = SIZE_MAX;
        const size_t m = cands.size();
        for (unsigned f = 0; f < SECPOL_NF; ++f) {
            if (r.lo[f] == r.hi[f]) continue;
            los_.clear();
            his_.clear();
            for (uint32_t c : cands) {
                los_.push_back(std::max(term(c).lo[f], r.lo[f]));
                his_.push_back(std::min(term(c).hi[f], r.hi[f]));
            }
            std::sort(los_.begin(), los_.end());
            std::sort(his_.begin(), his_.end());
            if (los_.back() == r.lo[f] && his_.front() == r.hi[f]) continue;
            vs_.clear();
            for (uint32_t l : los_)
                if (l > r.lo[f]) vs_.push_back(l);
            for (uint32_t h : his_)
                if (h < r.hi[f]) vs_.push_back(h + 1);
            std::sort(vs_.begin(), vs_.end());
            vs_.erase(std::unique(vs_.begin(), vs_.end()), vs_.end());
            size_t il = 0, ih = 0;
            for (uint32_t v : vs_) {
                while (il < m && los_[il] < v) ++il;
                while (ih < m && his_[ih] < v) ++ih;
                size_t nl = il, nr = m - ih;
                size_t mx = std::max(nl, nr), sum = nl + nr;
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
    Program& prog_;
    BuildStats& stats_;
    const std::vector<Term>* terms_ = nullptr;
    std::unordered_map<std::array<uint32_t, 5>, uint32_t, KeyHash> intern_;
    std::vector<uint32_t> los_, his_, vs_;  // scratch for choose()
    size_t alive_ = 0;
};

// Longest walk from each node: children are always created before their
// parent, so one pass in index order suffices.
uint32_t longest_walk(const Program& p) {
    std::vector<uint32_t> steps(p.nodes.size(), 1);
    for (size_t i = 0; i < p.nodes.size(); ++i) {
        const secpol_node& n = p.nodes[i];
        if (n.field < SECPOL_NF) steps[i] = 1 + std::max(steps[n.next_pass], steps[n.next_fail]);
    }
    uint32_t a = steps.empty() ? 0 : steps[p.root_in], b = steps.empty() ? 0 : steps[p.root_out];
    return std::max(a, b);
}

}  // namespace

Program build(const ir::Policy& policy, const BuildOptions& opts) {
    auto t0 = std::chrono::steady_clock::now();
    BuildStats local;
    BuildStats& stats = opts.stats ? *opts.stats : local;
    stats = BuildStats{};
    Program prog;
    Builder b(opts, prog, stats);

    std::vector<Term> in = expand(policy, SECPOL_DIR_IN);
    stats.terms_in = in.size();
    prog.root_in = b.root(in);
    bool same = std::all_of(policy.filters.begin(), policy.filters.end(),
                            [](const ir::Filter& f) { return f.dir == ir::Dir::Both; });
    if (same) {
        stats.terms_out = in.size();
        prog.root_out = prog.root_in;
    } else {
        in.clear();
        std::vector<Term> out = expand(policy, SECPOL_DIR_OUT);
        stats.terms_out = out.size();
        prog.root_out = b.root(out);
    }
    prog.max_steps = longest_walk(prog);
    if (prog.max_steps > SECPOL_MAX_STEPS)
        throw std::length_error("decision program walk of " + std::to_string(prog.max_steps) +
                                " steps exceeds " + std::to_string(SECPOL_MAX_STEPS));
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return prog;
}

}  // namespace secpol::tree
