// Reading captures with libpcap. Kept apart from libbpf: pcap's bpf.h and
// linux/bpf.h both define struct bpf_insn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace secpol::rt {

using Packet = std::vector<uint8_t>;

// pcap or pcapng (anything libpcap reads); Ethernet link type only.
Result<std::vector<Packet>> read_capture(const std::string& path);

}  // namespace secpol::rt
