// Interfaces and the host's addresses as the kernel reports them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/local.h"
#include "ref/classify.h"
#include "result.h"

namespace secpol::rt {

struct Interface {
    std::string name;
    int ifindex = 0;
};

// Checks a name given by a user before any path is built from it: 1 to
// IFNAMSIZ-1 bytes, no '/', no whitespace, not "." or ".." (the kernel's
// dev_valid_name). Error: "'NAME': not a valid interface name (...)".
Status validate_ifname(const std::string& name);

// "IFACE: no such interface" when it does not exist in this network namespace.
Result<Interface> find_interface(const std::string& name);

// Where the interface's packets start at XDP and tc, from its link type
// (ARPHRD_*): an Ethernet header (Ethernet, veth, loopback, bridges, vxlan,
// gretap) or the IP header (tun, WireGuard, raw-IP modems). Any other link
// type is refused, naming the interface and the type: for ipip, sit, gre
// and ip6tnl the kernel keeps the outer tunnel header in front of the inner
// packet at XDP and tc ingress, which secpol would take for the packet.
Result<ref::Link> link_of(const Interface& iface);

// Every address of every interface of this network namespace ("me"), plus
// the directed broadcast of each IPv4 subnet shorter than /31.
Result<net::LocalTable> host_locals();

// The IPv4/IPv6 addresses (ADDR/LEN) of one interface.
Result<std::vector<std::string>> interface_addresses(const std::string& name);

// Inode of this process's network namespace: tells which namespace a state
// entry was written from (interface names are only unique per namespace).
uint64_t netns_id();

// The name under /run/netns of this process's network namespace ("" when none
// matches, e.g. the host's own).
std::string netns_name();

// Whether this process may attach programs and pin (effective CAP_NET_ADMIN,
// and CAP_BPF or CAP_SYS_ADMIN). Error: "WHAT needs root (CAP_BPF and
// CAP_NET_ADMIN; missing: ...)", EPERM.
Status require_privileges(const std::string& what);

}  // namespace secpol::rt
