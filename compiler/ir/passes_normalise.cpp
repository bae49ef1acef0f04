// normalise: canonical prefixes, no filter that can never match, and the
// specificity every filter is ordered by.
#include <vector>

#include "ir/passes.h"

namespace secpol::ir::passes {

Specificity specificity(const Filter& f) {
    auto bits = [](const AddrMatch& a) -> uint32_t {
        switch (a.kind) {
            case AddrMatch::Kind::Any:
                return 0;
            case AddrMatch::Kind::Me:
                return 128;  // a set of host addresses
            case AddrMatch::Kind::Prefix:
                return a.prefix.len;
        }
        return 0;
    };
    auto size = [](const Range& r) { return r.hi - r.lo + 1; };
    Specificity s;
    s.prefix_bits = bits(f.src) + bits(f.dst);
    s.proto = f.proto ? 1 : 0;
    s.port_narrowness = 2 * 65536 - (size(f.sport) + size(f.dport));
    s.dir = f.dir == Dir::Both ? 0 : 1;
    return s;
}

static bool cross_family(const Filter& f) {
    return f.src.kind == AddrMatch::Kind::Prefix && f.dst.kind == AddrMatch::Kind::Prefix &&
           f.src.prefix.v4 != f.dst.prefix.v4;
}

void normalise(Policy& p, front::Diagnostics& diags) {
    std::vector<uint32_t> kept(p.rules.size(), 0), dropped(p.rules.size(), 0), wrong_icmp(p.rules.size(), 0);
    std::vector<Filter> out;
    out.reserve(p.filters.size());
    for (Filter f : p.filters) {
        for (AddrMatch* a : {&f.src, &f.dst})
            if (a->kind == AddrMatch::Kind::Prefix) a->prefix = clear_host_bits(a->prefix);
        // An IPv4 source with an IPv6 destination matches no packet.
        if (cross_family(f)) {
            ++dropped[f.rule_id];
            continue;
        }
        ++kept[f.rule_id];
        // ICMP (1) is IPv4's, ICMPv6 (58) IPv6's: the other family never carries it.
        if (f.proto == 1 || f.proto == 58) {
            const bool v6 = *f.proto == 58;
            for (const AddrMatch* a : {&f.src, &f.dst})
                if (a->kind == AddrMatch::Kind::Prefix && a->prefix.v4 == v6) {
                    ++wrong_icmp[f.rule_id];
                    break;
                }
        }
        f.spec = specificity(f);
        out.push_back(f);
    }
    for (const Rule& r : p.rules)
        if (kept[r.id] == 0 && dropped[r.id] > 0)
            diags.warning(r.loc, "filter \"" + r.label +
                                     "\" can never match: each source/destination pair mixes IPv4 and IPv6");
    for (const Rule& r : p.rules)
        if (kept[r.id] > 0 && wrong_icmp[r.id] == kept[r.id]) {
            diags.warning(r.loc, "filter \"" + r.label +
                                     "\" can never match: ICMP is IPv4's (proto icmp) and ICMPv6 is IPv6's "
                                     "(proto icmpv6), and its addresses are of the other family");
        }
    p.filters = std::move(out);
}

}  // namespace secpol::ir::passes
