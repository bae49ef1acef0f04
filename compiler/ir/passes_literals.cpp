// Literals of the language: protocol names, address prefixes, exemption profiles.
#include <arpa/inet.h>

#include <cstring>

#include "ir/passes.h"

namespace secpol::ir::passes {

namespace {
struct ProtoName {
    const char* name;
    uint8_t num;
};
// First name of a number is the one printed.
constexpr ProtoName kProtocols[] = {
    {"icmp", 1},   {"igmp", 2},    {"ipip", 4},       {"tcp", 6},       {"egp", 8},
    {"udp", 17},   {"ipv6", 41},   {"rsvp", 46},      {"gre", 47},      {"esp", 50},
    {"ah", 51},    {"icmpv6", 58}, {"ipv6-icmp", 58}, {"ospf", 89},     {"pim", 103},
    {"vrrp", 112}, {"l2tp", 115},  {"sctp", 132},     {"udplite", 136},
};
}  // namespace

std::optional<uint8_t> protocol_number(const std::string& name) {
    for (const auto& p : kProtocols)
        if (name == p.name) return p.num;
    return std::nullopt;
}

std::string protocol_name(uint8_t proto) {
    for (const auto& p : kProtocols)
        if (proto == p.num) return p.name;
    return std::to_string(proto);
}

uint32_t nodefaultexempt_bits(unsigned level) {
    // Windows Server 2003's NoDefaultExempt table (../shared/README.md).
    switch (level) {
        case 0:
            return kWindows2000Exemptions;
        case 1:
            return (1u << SECPOL_EX_BROADCAST) | (1u << SECPOL_EX_MULTICAST) | (1u << SECPOL_EX_IKE);
        case 2:
            return (1u << SECPOL_EX_RSVP) | (1u << SECPOL_EX_KERBEROS) | (1u << SECPOL_EX_IKE);
        case 3:
            return kWindows2003Exemptions;
    }
    return 0;
}

static bool all_digits(const std::string& s) {
    return !s.empty() && s.size() <= 3 && s.find_first_not_of("0123456789") == std::string::npos;
}

ParsedPrefix parse_prefix(const std::string& text) {
    ParsedPrefix r;
    std::string addr = text;
    int len = -1;
    if (auto slash = text.find('/'); slash != std::string::npos) {
        addr = text.substr(0, slash);
        std::string l = text.substr(slash + 1);
        if (!all_digits(l)) {
            r.error = "bad prefix length in '" + text + "'";
            return r;
        }
        len = std::stoi(l);
    }
    Prefix p;
    unsigned char buf[16];
    if (addr.find(':') == std::string::npos) {
        if (inet_pton(AF_INET, addr.c_str(), buf) != 1) {
            bool looks_v4 = !addr.empty() && addr.find_first_not_of("0123456789.") == std::string::npos;
            r.error = looks_v4
                          ? "'" + text + "' is not a valid IPv4 address"
                          : "'" + text + "' is not an IP address or prefix (host names are not resolved)";
            return r;
        }
        if (len > 32) {
            r.error = "prefix length /" + std::to_string(len) + " is out of range for IPv4 (0..32)";
            return r;
        }
        p.v4 = true;
        uint32_t a;
        std::memcpy(&a, buf, 4);
        p.w = {0, 0, 0xffff, ntohl(a)};
        p.len = static_cast<uint8_t>(96 + (len < 0 ? 32 : len));
    } else {
        if (inet_pton(AF_INET6, addr.c_str(), buf) != 1) {
            r.error = "'" + text + "' is not a valid IPv6 address";
            return r;
        }
        if (len > 128) {
            r.error = "prefix length /" + std::to_string(len) + " is out of range for IPv6 (0..128)";
            return r;
        }
        for (int i = 0; i < 4; ++i) {
            uint32_t w;
            std::memcpy(&w, buf + 4 * i, 4);
            p.w[i] = ntohl(w);
        }
        p.len = static_cast<uint8_t>(len < 0 ? 128 : len);
        // ::ffff:a.b.c.d/96+n is the IPv4 prefix a.b.c.d/n in the mapped space.
        p.v4 = p.len >= 96 && p.w[0] == 0 && p.w[1] == 0 && p.w[2] == 0xffff;
    }
    r.host_bits = clear_host_bits(p).w != p.w;
    r.prefix = p;
    return r;
}

Prefix clear_host_bits(Prefix p) {
    unsigned bits = p.len;
    for (int i = 0; i < 4; ++i) {
        uint32_t mask = bits >= 32 ? 0xffffffffu : bits == 0 ? 0 : ~(0xffffffffu >> bits);
        p.w[i] &= mask;
        bits = bits >= 32 ? bits - 32 : 0;
    }
    return p;
}

}  // namespace secpol::ir::passes
