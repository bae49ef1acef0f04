// The passes between the syntax tree and the ordered IR, each small and
// named for what it does:
//   resolve   names, sets, named actions, protocols, literals -> operands per rule
//   expand    sets and lists -> one filter per member combination; `mirrored`
//   normalise host bits cleared, cross-family pairs dropped, specificity
//   order     the policy's priority order
//   lint      warnings of `secpol check`
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "front/ast.h"
#include "front/frontend.h"
#include "ir/ir.h"

namespace secpol::ir::passes {

// The match operands of one rule after name resolution: each list has at
// least one member; an empty port list means "not constrained".
struct Operands {
    std::vector<AddrMatch> src, dst;
    std::optional<uint8_t> proto;
    std::vector<Range> sport, dport;  // TCP/UDP ports, or ICMP type (sport) / code (dport)
};

struct Resolved {
    Policy policy;              // header and rules; no filters yet
    std::vector<Operands> ops;  // ops[i] belongs to policy.rules[i]
};

// Rules only get an id when every name resolves; check diags for errors.
Resolved resolve(const front::ast::File& file, front::Diagnostics& diags);

// Appends the filters of every rule to policy.filters in source order (seq).
// Refuses (error) to expand past kMaxFilters.
inline constexpr size_t kMaxFilters = 1u << 21;
void expand(Resolved& r, front::Diagnostics& diags);

void normalise(Policy& p, front::Diagnostics& diags);
void order(Policy& p);
void lint(const Policy& p, front::Diagnostics& diags);

// --- helpers shared by the passes and their tests ---

// Exemption bits of `nodefaultexempt N` (N in 0..3): the NoDefaultExempt table.
uint32_t nodefaultexempt_bits(unsigned level);
inline constexpr uint32_t kWindows2000Exemptions = (1u << SECPOL_EX_BROADCAST) | (1u << SECPOL_EX_MULTICAST) |
                                                   (1u << SECPOL_EX_RSVP) | (1u << SECPOL_EX_IKE) |
                                                   (1u << SECPOL_EX_KERBEROS);
inline constexpr uint32_t kWindows2003Exemptions = 1u << SECPOL_EX_IKE;

// A protocol name (tcp, udp, icmp, icmpv6, ...) -> IP protocol number.
std::optional<uint8_t> protocol_number(const std::string& name);
// The name secpol prints for a protocol number ("tcp"), or the number.
std::string protocol_name(uint8_t proto);
inline bool has_ports(uint8_t proto) {
    return proto == 6 || proto == 17;
}
inline bool is_icmp(uint8_t proto) {
    return proto == 1 || proto == 58;
}

// The other half of an ICMP (proto 1) or ICMPv6 (58) query/reply pair
// (echo 8 <-> 0, 128 <-> 129, ...): what `mirrored` turns a type into.
std::optional<uint8_t> icmp_counterpart(uint8_t proto, uint32_t type);

// The reverse filter `mirrored` adds: direction, addresses and ports swapped;
// ICMP keeps its type and code except a query type, which becomes its reply.
Filter reverse_of(const Filter& f);
Dir reverse_dir(Dir d);

// Parses "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" into the mapped space.
// host_bits is set when bits past the length are non-zero (they are kept).
struct ParsedPrefix {
    std::optional<Prefix> prefix;
    std::string error;
    bool host_bits = false;
};
ParsedPrefix parse_prefix(const std::string& text);
Prefix clear_host_bits(Prefix p);

Specificity specificity(const Filter& f);
// block > secure > permit: the tie breaker of `order specificity`.
int restrictiveness(Action a);

// Set relations between filters' match sets (used by lint; exposed for tests).
bool addr_covers(const AddrMatch& a, const AddrMatch& b);
bool addr_overlaps(const AddrMatch& a, const AddrMatch& b);

}  // namespace secpol::ir::passes
