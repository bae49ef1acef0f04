// The tc filters on an interface's clsact qdisc, read with one netlink
// RTM_GETTFILTER dump per direction (libbpf's bpf_tc_query only answers for
// one known handle and priority). unload uses it to see whether a secpol
// program is still attached anywhere and whether clsact is now empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace secpol::rt {

struct TcFilter {
    bool egress = false;
    uint32_t handle = 0;
    uint32_t priority = 0;
    std::string kind;      // "bpf", "u32", ...
    uint32_t prog_id = 0;  // bpf filters only
    std::string prog_name;
};

// Filters on clsact ingress and egress. No clsact qdisc: an empty list.
Result<std::vector<TcFilter>> tc_list_filters(int ifindex);

}  // namespace secpol::rt
