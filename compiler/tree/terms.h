// Filters as "terms": conjunctions of one range per key word. Every filter
// semantic of docs/semantics.md section 4 (prefixes, me, ports, fragments,
// tunnel transit, the IPsec protected form) becomes a small set of terms, so
// the tree builder only ever sees boxes in a 16-dimensional space.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ir/ir.h"
#include "secpol_abi.h"

namespace secpol::tree {

// Largest value of a key word as a packet can carry it: ports and ICMP
// type/code are 16 bits, the protocol 8, flags 0/1. A range that spans a
// word's whole natural domain is stored as [0, UINT32_MAX] ("not tested"),
// so the builder never spends a node on a test every real key passes.
uint32_t field_domain_max(unsigned field);
const char* field_name(unsigned field);  // "src0".."dst3", "proto", "sport", ...

struct Term {
    std::array<uint32_t, SECPOL_NF> lo;
    std::array<uint32_t, SECPOL_NF> hi;
    uint32_t rule = 0;    // ir::Rule id reported on a match
    uint32_t filter = 0;  // index into policy.filters: the priority (lower wins)

    Term() {
        lo.fill(0);
        hi.fill(UINT32_MAX);
    }
    bool matches(const secpol_key& k) const {
        for (unsigned f = 0; f < SECPOL_NF; ++f)
            if (k.w[f] < lo[f] || k.w[f] > hi[f]) return false;
        return true;
    }
    // Narrows field f to [l, h]; false when the term becomes empty.
    bool restrict(unsigned f, uint32_t l, uint32_t h);
};

// Whether the upper three words of the address at base (SECPOL_F_SRC0 or
// SECPOL_F_DST0) are pinned to IPv4-mapped ::ffff:0:0/96 (an IPv4 term), or
// admit it (an IPv4 term, any, me).
bool only_mapped(const Term& t, unsigned base);
bool admits_mapped(const Term& t, unsigned base);
// Stops testing the upper three words of the address at base (a family
// already known).
void widen_upper_words(Term& t, unsigned base);

// The terms a packet travelling in direction dir (SECPOL_DIR_IN or
// SECPOL_DIR_OUT) can match, in priority order: first-match over them gives
// the same rule as first-match over policy.filters. Exact for every key a
// parser can produce (ports <= 65535, proto <= 255, flags 0/1, IPv6 keys
// never in ::ffff:0:0/96, which the parsers reject as malformed, and so both
// addresses of a key of one family).
std::vector<Term> expand(const ir::Policy& policy, int dir);

// Linear first-match over terms: the rule id, or -1.
int64_t first_match(const std::vector<Term>& terms, const secpol_key& key);

}  // namespace secpol::tree
