#include "netif.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>

namespace secpol::rt {

Result<Interface> find_interface(const std::string& name) {
    if (name.empty() || name.size() >= IF_NAMESIZE || name.find('/') != std::string::npos)
        return Error::msg(name + ": not a valid interface name", EINVAL);
    unsigned idx = if_nametoindex(name.c_str());
    if (idx == 0) {
        if (errno == ENODEV || errno == ENXIO) return Error::msg(name + ": no such interface", ENODEV);
        return Error::sys(errno, name);
    }
    return Interface{name, static_cast<int>(idx)};
}

static int prefix_len(const sockaddr* mask, int family) {
    if (!mask) return family == AF_INET ? 32 : 128;
    const uint8_t* p;
    size_t n;
    if (family == AF_INET) {
        p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
        n = 4;
    } else {
        p = reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr.s6_addr;
        n = 16;
    }
    int len = 0;
    for (size_t i = 0; i < n; ++i) len += __builtin_popcount(p[i]);
    return len;
}

Result<ref::LocalTable> host_locals() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return Error::sys(errno, "getifaddrs");
    ref::LocalTable t;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr) continue;
        int fam = a->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6) continue;
        char buf[INET6_ADDRSTRLEN];
        const void* src =
            fam == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
                           : &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
        if (!inet_ntop(fam, src, buf, sizeof buf)) continue;
        // LocalTable::add derives the directed broadcast from the prefix (none for /31, /32).
        t.add(std::string(buf) + "/" + std::to_string(prefix_len(a->ifa_netmask, fam)));
    }
    freeifaddrs(list);
    return t;
}

uint64_t netns_id() {
    struct stat st {};
    if (stat("/proc/self/ns/net", &st) != 0) return 0;
    return st.st_ino;
}

}  // namespace secpol::rt
