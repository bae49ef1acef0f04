// expand: one filter per (source member x destination member x source port
// range x destination port range), plus the reverse of each for `mirrored`
// (ICMP queries mirror to their replies).
#include "ir/passes.h"

namespace secpol::ir::passes {

Dir reverse_dir(Dir d) {
    return d == Dir::In ? Dir::Out : d == Dir::Out ? Dir::In : Dir::Both;
}

std::optional<uint8_t> icmp_counterpart(uint8_t proto, uint32_t type) {
    // Query/response pairs: ICMP echo, timestamp, information and address mask
    // (RFC 792, RFC 950); ICMPv6 echo (RFC 4443).
    static constexpr std::pair<uint8_t, uint8_t> kIcmp[] = {{8, 0}, {13, 14}, {15, 16}, {17, 18}};
    static constexpr std::pair<uint8_t, uint8_t> kIcmp6[] = {{128, 129}};
    auto find = [&](const auto& pairs) -> std::optional<uint8_t> {
        for (auto [q, a] : pairs) {
            if (type == q) return a;
            if (type == a) return q;
        }
        return std::nullopt;
    };
    if (proto == 1) return find(kIcmp);
    if (proto == 58) return find(kIcmp6);
    return std::nullopt;
}

Filter reverse_of(const Filter& fwd) {
    Filter rev = fwd;
    rev.dir = reverse_dir(fwd.dir);
    rev.src = fwd.dst, rev.dst = fwd.src;
    rev.reversed = !fwd.reversed;
    // Ports swap. ICMP has no ports: a query type becomes its reply (echo
    // request 8 -> echo reply 0), and any other type, a range, or no type
    // stays as written, code included (an error such as type 3 is sent back
    // the same way: the reverse filter lets the peer's errors in).
    if (!fwd.proto || !is_icmp(*fwd.proto)) {
        rev.sport = fwd.dport, rev.dport = fwd.sport;
    } else if (fwd.sport.lo == fwd.sport.hi) {
        if (auto t = icmp_counterpart(*fwd.proto, fwd.sport.lo)) rev.sport = Range{*t, *t};
    }
    return rev;
}

void expand(Resolved& r, front::Diagnostics& diags) {
    Policy& p = r.policy;
    uint32_t seq = 0;
    const std::vector<Range> full{Range{0, 65535}};
    for (size_t i = 0; i < p.rules.size(); ++i) {
        const Rule& rule = p.rules[i];
        const Operands& op = r.ops[i];
        if (op.src.empty() || op.dst.empty()) continue;  // an error was reported
        const auto& sports = op.sport.empty() ? full : op.sport;
        const auto& dports = op.dport.empty() ? full : op.dport;
        const uint64_t n =
            uint64_t{op.src.size()} * op.dst.size() * sports.size() * dports.size() * (rule.mirrored ? 2 : 1);
        if (p.filters.size() + n > kMaxFilters) {
            diags.error(rule.loc, "this filter expands to " + std::to_string(n) +
                                      " filters, past the limit of " + std::to_string(kMaxFilters) +
                                      " for a policy; split the sets");
            continue;
        }
        Filter f;
        f.rule_id = rule.id;
        f.proto = op.proto;
        f.l4_given = !op.sport.empty() || !op.dport.empty();
        if (rule.tunnel) {
            f.tunnel = true;
            f.endpoint = *rule.tunnel;
        }
        for (const auto& s : op.src)
            for (const auto& d : op.dst)
                for (const auto& sp : sports)
                    for (const auto& dp : dports) {
                        f.dir = rule.dir;
                        f.src = s, f.dst = d, f.sport = sp, f.dport = dp;
                        f.reversed = false;
                        f.seq = seq++;
                        p.filters.push_back(f);
                        if (!rule.mirrored) continue;
                        // Windows "mirrored": the same filter the other way round.
                        Filter rev = reverse_of(f);
                        rev.seq = seq++;
                        p.filters.push_back(rev);
                    }
    }
}

}  // namespace secpol::ir::passes
