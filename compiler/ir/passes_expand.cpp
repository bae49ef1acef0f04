// expand: one filter per (source member x destination member x source port
// range x destination port range), plus the reverse of each for `mirrored`.
#include "ir/passes.h"

namespace secpol::ir::passes {

static Dir reverse(Dir d) {
    return d == Dir::In ? Dir::Out : d == Dir::Out ? Dir::In : Dir::Both;
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
                        // Windows "mirrored": the same filter with addresses and ports swapped.
                        f.dir = reverse(rule.dir);
                        f.src = d, f.dst = s, f.sport = dp, f.dport = sp;
                        f.reversed = true;
                        f.seq = seq++;
                        p.filters.push_back(f);
                    }
    }
}

}  // namespace secpol::ir::passes
