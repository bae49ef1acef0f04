#include "net/local.h"

#include <arpa/inet.h>

namespace secpol::net {

std::optional<Addr> parse_addr(const std::string& s) {
    in_addr a4;
    if (inet_pton(AF_INET, s.c_str(), &a4) == 1) return Addr{0, 0, 0xffff, ntohl(a4.s_addr)};
    in6_addr a6;
    if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
        Addr r;
        for (int i = 0; i < 4; ++i) {
            uint32_t w;
            __builtin_memcpy(&w, &a6.s6_addr[i * 4], 4);
            r[i] = ntohl(w);
        }
        return r;
    }
    return std::nullopt;
}

bool is_v4(const Addr& a) {
    return a[0] == 0 && a[1] == 0 && a[2] == 0xffff;
}

std::string addr_str(const Addr& a) {
    char buf[INET6_ADDRSTRLEN];
    if (is_v4(a)) {
        uint32_t n = htonl(a[3]);
        inet_ntop(AF_INET, &n, buf, sizeof buf);
    } else {
        uint32_t n[4];
        for (int i = 0; i < 4; ++i) n[i] = htonl(a[i]);
        inet_ntop(AF_INET6, n, buf, sizeof buf);
    }
    return buf;
}

bool LocalTable::add(const std::string& spec) {
    auto slash = spec.find('/');
    auto a = parse_addr(spec.substr(0, slash));
    if (!a) return false;
    addrs.insert(*a);
    if (slash == std::string::npos) return true;
    int len;
    try {
        len = std::stoi(spec.substr(slash + 1));
    } catch (...) {
        return false;
    }
    if (is_v4(*a)) {
        if (len < 0 || len > 32) return false;
        if (len <= 30) {  // /31 and /32 have no broadcast address (RFC 3021)
            Addr b = *a;
            b[3] |= len == 0 ? 0xffffffffu : (0xffffffffu >> len);
            broadcasts.insert(b);
        }
    } else if (len < 0 || len > 128) {
        return false;
    }
    return true;
}

}  // namespace secpol::net
