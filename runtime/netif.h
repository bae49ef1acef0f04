// Interfaces and the host's addresses as the kernel reports them.
#pragma once

#include <cstdint>
#include <string>

#include "ref/local.h"
#include "result.h"

namespace secpol::rt {

struct Interface {
    std::string name;
    int ifindex = 0;
};

// "IFACE: no such interface" when it does not exist in this network namespace.
Result<Interface> find_interface(const std::string& name);

// Every address of every interface of this network namespace ("me"), plus
// the directed broadcast of each IPv4 subnet shorter than /31.
Result<ref::LocalTable> host_locals();

// Inode of this process's network namespace: tells which namespace a state
// entry was written from (interface names are only unique per namespace).
uint64_t netns_id();

}  // namespace secpol::rt
