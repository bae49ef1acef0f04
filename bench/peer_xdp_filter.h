// Debian's xdp-filter (xdp-tools) as a peer: its BPF object loaded with
// libbpf, its maps filled from the same generated policy. xdp-filter only
// matches single fields exactly (an IPv4/IPv6 address as source or
// destination, a TCP/UDP port as source or destination, a MAC), each on its
// own, in one mode for the whole program (allow or deny). What we express:
// deny mode; the host (/32, /128) addresses and single ports of every block
// filter. Prefixes, ranges, `me`, protocol-only filters, permit/secure
// filters and the conjunction of fields cannot be expressed.
#pragma once

#include <string>

#include "ir/ir.h"
#include "peer_program.h"

namespace secpol::bench {

// The deny-all object of the installed xdp-tools, or "" when not installed.
std::string find_xdp_filter_object();

// stats(): load_ms, entries (v4, v6, ports), map_bytes, xlated/verified insns.
class XdpFilterPeer : public PeerProgram {
  public:
    // Throws std::runtime_error.
    XdpFilterPeer(const std::string& obj_path, const ir::Policy& policy);
};

}  // namespace secpol::bench
