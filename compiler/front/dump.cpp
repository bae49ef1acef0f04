// --dump=ir: a stable, line-per-filter text form of the ordered IR. Golden
// tests compare it byte for byte, so change it only on purpose.
#include <algorithm>
#include <sstream>
#include <vector>

#include "front/frontend.h"
#include "ir/passes.h"

namespace secpol::front {
namespace {

std::string addr(const ir::AddrMatch& a) {
    switch (a.kind) {
        case ir::AddrMatch::Kind::Any:
            return "any";
        case ir::AddrMatch::Kind::Me:
            return "me";
        case ir::AddrMatch::Kind::Prefix:
            return a.prefix.str();
    }
    return "?";
}

std::string range(const ir::Range& r, uint32_t full_hi) {
    if (r.lo == 0 && r.hi == full_hi) return "*";
    if (r.lo == r.hi) return std::to_string(r.lo);
    return std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

std::string quoted(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o + "\"";
}

std::string action(const ir::ActionSpec& a) {
    std::string s = ir::to_string(a.kind);
    if (a.accept_clear) s += "+accept-clear";
    if (a.fallback_clear) s += "+fallback-clear";
    if (!a.name.empty() && a.name != ir::to_string(a.kind)) s += " name=" + a.name;
    return s;
}

std::string join(const std::vector<std::string>& v) {
    std::string o;
    for (const auto& x : v) o += (o.empty() ? "" : ",") + x;
    return o;
}

// What IKE negotiates for one secure action (only `export swanctl` reads it).
std::string negotiation(const ir::ActionSpec& a) {
    const ir::Negotiation& n = a.negotiation;
    std::ostringstream os;
    os << "negotiate " << a.name << " auth=" << ir::to_string(n.auth);
    if (!n.auth_file.empty()) os << " file=" << quoted(n.auth_file);
    os << (n.method == ir::Negotiation::Method::Ah ? " ah=" : " esp=") << join(n.proposals)
       << " ike=" << join(n.ike_proposals) << " ike-version=" << int(n.ike_version)
       << " lifetime=" << n.lifetime << "s";
    if (n.lifetime_kbytes) os << " lifetime-kbytes=" << n.lifetime_kbytes;
    os << " ike-lifetime=" << n.ike_lifetime << "s";
    if (n.nat_t) os << " nat-t";
    return os.str();
}

}  // namespace

std::string dump_ir(const ir::Policy& p) {
    std::ostringstream os;
    os << "policy " << quoted(p.label) << "\n";
    os << "exemptions " << p.exemptions_name << " =";
    if (p.exemptions == 0) os << " (none)";
    for (unsigned i = 0; i < SECPOL_EX_COUNT; ++i)
        if (p.exemptions & (1u << i)) os << ' ' << ir::exemption_name(i);
    os << "\n";
    os << "order " << (p.order == ir::Order::Specificity ? "specificity" : "first-match") << "\n";
    os << "default " << ir::to_string(p.default_action);
    if (p.default_log) os << " log " << p.default_log->str();
    os << "\n";
    os << "non-ip " << ir::to_string(p.nonip_action) << "\n";
    os << "rules " << p.rules.size() << " filters " << p.filters.size() << "\n";
    // One line per secure action in use, in the order rules first use it.
    std::vector<std::string> seen;
    for (const ir::Rule& r : p.rules) {
        if (r.action.kind != ir::Action::Secure) continue;
        std::string line = negotiation(r.action);
        if (std::find(seen.begin(), seen.end(), line) == seen.end()) seen.push_back(line);
    }
    for (const auto& line : seen) os << line << "\n";
    for (size_t i = 0; i < p.filters.size(); ++i) {
        const ir::Filter& f = p.filters[i];
        const ir::Rule& r = p.rules[f.rule_id];
        os << '#' << i << " rule=" << r.id << " line=" << r.loc.line << " label=" << quoted(r.label)
           << " action=" << action(r.action) << " dir=" << ir::to_string(f.dir)
           << " proto=" << (f.proto ? ir::passes::protocol_name(*f.proto) : "*");
        const bool icmp = f.proto && ir::passes::is_icmp(*f.proto);
        os << " src=" << addr(f.src);
        if (f.proto && ir::passes::has_ports(*f.proto)) os << " sport=" << range(f.sport, 65535);
        os << " dst=" << addr(f.dst);
        if (f.proto && ir::passes::has_ports(*f.proto)) os << " dport=" << range(f.dport, 65535);
        if (icmp) os << " type=" << range(f.sport, 65535) << " code=" << range(f.dport, 65535);
        if (f.reversed) os << " mirror";
        if (f.tunnel) os << " tunnel=" << f.endpoint.str();
        if (r.log)
            os << " log=" << r.log->rate << (r.log->period == 60 ? "/min" : "/s")
               << ",burst=" << r.log->burst;
        os << " spec=" << f.spec.prefix_bits << '/' << f.spec.proto << '/' << f.spec.port_narrowness << '/'
           << f.spec.dir << "\n";
    }
    return os.str();
}

}  // namespace secpol::front
