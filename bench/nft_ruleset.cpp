#include "nft_ruleset.h"

#include <sstream>

namespace secpol::bench {

namespace {

void addr(std::ostringstream& os, const ir::AddrMatch& m, const char* side) {
    using K = ir::AddrMatch::Kind;
    if (m.kind == K::Me)
        os << " fib " << side << "addr type local";
    else if (m.kind == K::Prefix)
        os << (m.prefix.v4 ? " ip " : " ip6 ") << side << "addr " << m.prefix.str();
}

void range(std::ostringstream& os, const char* what, const ir::Range& r) {
    if (r.lo == 0 && r.hi == 65535) return;
    os << ' ' << what << ' ' << r.lo;
    if (r.hi != r.lo) os << '-' << r.hi;
}

}  // namespace

std::string nft_ruleset(const ir::Policy& policy, const std::string& table) {
    std::ostringstream os;
    os << "table inet " << table
       << " {\n  chain pre {\n    type filter hook prerouting priority -150; policy "
       << (policy.default_action == ir::Action::Block ? "drop" : "accept") << ";\n";
    for (const auto& f : policy.filters) {
        if (f.dir == ir::Dir::Out || f.tunnel) continue;
        std::ostringstream r;
        addr(r, f.src, "s");
        addr(r, f.dst, "d");
        if (f.proto) {
            r << " meta l4proto " << unsigned(*f.proto);
            if (f.l4_given) {
                if (*f.proto == 6 || *f.proto == 17) {
                    range(r, "th sport", f.sport);
                    range(r, "th dport", f.dport);
                } else {
                    // ICMP type and code: the first two bytes of the transport header.
                    range(r, "@th,0,8", f.sport);
                    range(r, "@th,8,8", f.dport);
                }
            }
        }
        const auto& a = policy.rules.at(f.rule_id).action;
        const bool pass = a.kind == ir::Action::Permit || (a.kind == ir::Action::Secure && a.accept_clear);
        os << "   " << r.str() << (pass ? " accept" : " drop") << "\n";
    }
    os << "  }\n}\n";
    return os.str();
}

}  // namespace secpol::bench
