#include "netif.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

// After <net/if.h>: linux/if_arp.h pulls in linux/if.h, which clashes with it the other way round.
#include <linux/if_arp.h>

namespace secpol::rt {

Status validate_ifname(const std::string& name) {
    const char* why = nullptr;
    if (name.empty())
        why = "empty";
    else if (name.size() >= IF_NAMESIZE)
        why = "longer than 15 bytes";
    else if (name == "." || name == ".." || name.find("..") != std::string::npos)
        why = "contains ..";
    else if (name.find('/') != std::string::npos)
        why = "contains /";
    for (char c : name)
        if (!why && (std::isspace(static_cast<unsigned char>(c)) || c == ':' ||
                     !std::isprint(static_cast<unsigned char>(c))))
            why = "contains a space, ':' or a control character";
    if (why) return Error::msg("'" + name + "': not a valid interface name (" + why + ")", EINVAL);
    return ok();
}

Result<Interface> find_interface(const std::string& name) {
    if (auto v = validate_ifname(name); !v) return v.error();
    unsigned idx = if_nametoindex(name.c_str());
    if (idx == 0) {
        if (errno == ENODEV || errno == ENXIO) return Error::msg(name + ": no such interface", ENODEV);
        return Error::sys(errno, name);
    }
    return Interface{name, static_cast<int>(idx)};
}

namespace {

const char* tunnel_name(unsigned type) {
    switch (type) {
        case ARPHRD_TUNNEL:
            return "ipip";
        case ARPHRD_TUNNEL6:
            return "ip6tnl";
        case ARPHRD_SIT:
            return "sit";
        case ARPHRD_IPGRE:
            return "gre";
        case ARPHRD_IP6GRE:
            return "ip6gre";
        default:
            return nullptr;
    }
}

}  // namespace

Result<ref::Link> link_of(const Interface& iface) {
    // An ioctl on a socket of this process's namespace: /sys may show
    // another namespace's interfaces (nsenter --net keeps the host's /sys).
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error::sys(errno, iface.name + ": socket for the link type");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, iface.name.c_str(), IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
    int err = errno;
    close(fd);
    if (rc != 0) return Error::sys(err, iface.name + ": read the link type");
    const unsigned type = ifr.ifr_hwaddr.sa_family;
    switch (type) {
        case ARPHRD_ETHER:
        case ARPHRD_LOOPBACK:
            return ref::Link::Ether;
        case ARPHRD_NONE:   // tun (IFF_TUN), WireGuard
        case ARPHRD_RAWIP:  // raw-IP WWAN modems
            return ref::Link::L3;
        default:
            break;
    }
    if (const char* t = tunnel_name(type))
        return Error::msg(
            iface.name + ": link type " + t + " (ARPHRD " + std::to_string(type) +
                ") is not supported: the kernel puts the outer tunnel header in front of the "
                "packet at XDP and tc ingress, so secpol would classify the tunnel, not what it "
                "carries; filter on the underlying device, or use a tun or WireGuard device",
            EOPNOTSUPP);
    return Error::msg(iface.name + ": link type ARPHRD " + std::to_string(type) +
                          " is not supported: secpol parses Ethernet frames and bare IP packets (tun, "
                          "WireGuard) only, and will not guess where this device's packets start",
                      EOPNOTSUPP);
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

// Every address as ADDR/LEN, of one interface or (only empty) all of them.
static Result<std::vector<std::string>> addresses(const std::string& only) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return Error::sys(errno, "getifaddrs");
    std::vector<std::string> out;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || (!only.empty() && only != a->ifa_name)) continue;
        int fam = a->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6) continue;
        char buf[INET6_ADDRSTRLEN];
        const void* src =
            fam == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
                           : &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
        if (!inet_ntop(fam, src, buf, sizeof buf)) continue;
        out.push_back(std::string(buf) + "/" + std::to_string(prefix_len(a->ifa_netmask, fam)));
    }
    freeifaddrs(list);
    return out;
}

Result<std::vector<std::string>> interface_addresses(const std::string& name) {
    return addresses(name);
}

Result<net::LocalTable> host_locals() {
    auto all = addresses("");
    if (!all) return all.error();
    net::LocalTable t;
    // LocalTable::add derives the directed broadcast from the prefix (none for /31, /32).
    for (const auto& a : *all) t.add(a);
    return t;
}

uint64_t netns_id() {
    struct stat st {};
    if (stat("/proc/self/ns/net", &st) != 0) return 0;
    return st.st_ino;
}

std::string netns_name() {
    struct stat self {};
    if (stat("/proc/self/ns/net", &self) != 0) return "";
    DIR* d = opendir("/run/netns");
    if (!d) return "";
    std::string found;
    while (dirent* e = readdir(d)) {
        struct stat st {};
        std::string p = std::string("/run/netns/") + e->d_name;
        if (e->d_name[0] != '.' && stat(p.c_str(), &st) == 0 && st.st_ino == self.st_ino &&
            st.st_dev == self.st_dev) {
            found = e->d_name;
            break;
        }
    }
    closedir(d);
    return found;
}

Status require_privileges(const std::string& what) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &hdr, data) != 0) return Error::sys(errno, "capget");
    auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
    std::string missing;
    if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) missing = "CAP_BPF";
    if (!has(CAP_NET_ADMIN)) missing += std::string(missing.empty() ? "" : ", ") + "CAP_NET_ADMIN";
    if (missing.empty()) return ok();
    return Error::msg(what + " needs root (CAP_BPF and CAP_NET_ADMIN; missing " + missing + ")", EPERM);
}

}  // namespace secpol::rt
