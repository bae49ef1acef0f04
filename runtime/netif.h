// Interfaces and the host's addresses as the kernel reports them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/local.h"
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
