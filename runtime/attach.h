// Kernel attach points of a policy, one thin function per operation:
// XDP through a bpf_link (pinned, so updates are atomic and expect the old
// program), tc egress through libbpf's netlink tc API on a clsact qdisc
// (Debian 12's libbpf 1.1 has no TCX). The filter has a fixed handle and
// priority so a second load replaces it in place.
#pragma once

#include <cstdint>
#include <string>

#include "pins.h"
#include "result.h"

namespace secpol::rt {

enum class XdpMode { Auto, Native, Generic };
const char* to_string(XdpMode m);  // "auto", "native", "generic"

inline constexpr uint32_t kTcHandle = 0x5ec;  // "sec"
inline constexpr uint32_t kTcPriority = 1;    // first in the egress chain

struct XdpAttached {
    uint32_t prog_id = 0;  // 0: nothing attached
    XdpMode mode = XdpMode::Auto;
};
Result<XdpAttached> query_xdp(int ifindex);

struct ProgInfo {
    uint32_t id = 0;
    std::string name;
};
Result<ProgInfo> prog_info_by_fd(int fd);
Result<ProgInfo> prog_info_by_id(uint32_t id);

struct LinkInfo {
    uint32_t id = 0;
    uint32_t prog_id = 0;
    int ifindex = 0;  // XDP links only
};
Result<LinkInfo> link_info_by_fd(int fd);

// Creates an XDP bpf_link. Auto lets the kernel choose (native when the driver supports it).
Result<UniqueFd> xdp_link_create(int ifindex, int prog_fd, XdpMode mode);
// Atomically replaces the link's program, failing if it is not expected_old_fd.
Status xdp_link_update(int link_fd, int new_prog_fd, int expected_old_fd);

// Creates the clsact qdisc unless it exists. Returns true when this call created it.
Result<bool> tc_hook_ensure(int ifindex);
void tc_hook_destroy(int ifindex);
// Attaches (replace=false: fails if our handle is taken) or replaces in place.
Status tc_attach_egress(int ifindex, int prog_fd, bool replace);
// Program id of the filter at our handle/priority, 0 when there is none.
Result<uint32_t> tc_query_egress(int ifindex);
Status tc_detach_egress(int ifindex);  // absent is fine

// True when SECPOL_FAULT names this point (tests of the rollback paths).
bool fault(const char* point);

}  // namespace secpol::rt
