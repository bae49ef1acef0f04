// Naming the XDP program of someone else that keeps secpol off an interface.
// secpol does not join libxdp's dispatcher (docs/runtime.md, "Sharing the
// XDP hook"): it refuses, and says who is there, down to the programs
// inside a dispatcher that xdp-loader or xdp-filter attached.
#pragma once

#include <cstdint>
#include <string>

namespace secpol::rt {

// "XDP program 'NAME' (id N)", or for libxdp's dispatcher
// "libxdp dispatcher (id N) running 'xdpfilt_alw_all' (id M), ...".
std::string describe_foreign_xdp(int ifindex, uint32_t prog_id);

}  // namespace secpol::rt
