// The host's addresses as classification sees them: "me" and directed
// broadcasts. Bound at load time (runtime) or given with --local (explain, replay).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace secpol::net {

using Addr = std::array<uint32_t, 4>;  // host-order words, IPv4-mapped for IPv4

struct LocalTable {
    std::set<Addr> addrs;       // addresses of this host
    std::set<Addr> broadcasts;  // directed broadcast addresses of local IPv4 subnets

    bool is_local(const Addr& a) const { return addrs.count(a) != 0; }
    bool is_bcast(const Addr& a) const { return broadcasts.count(a) != 0; }
    // "10.0.0.1" adds a host address; "10.0.0.1/24" also adds 10.0.0.255 as a
    // directed broadcast. Returns false on a malformed address.
    bool add(const std::string& spec);
};

// Parses "10.0.0.1" or "2001:db8::1" into the key's representation.
std::optional<Addr> parse_addr(const std::string& s);
std::string addr_str(const Addr& a);
bool is_v4(const Addr& a);

}  // namespace secpol::net
