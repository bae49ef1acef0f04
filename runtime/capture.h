// Reading captures with libpcap. Kept apart from libbpf: pcap's bpf.h and
// linux/bpf.h both define struct bpf_insn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace secpol::rt {

using Packet = std::vector<uint8_t>;

// libpcap's DLT_ values of the link types read_capture reads (pcap's headers
// clash with linux/bpf.h, so callers that load programs cannot include them).
namespace link {
inline constexpr int kEthernet = 1, kNull = 0, kRaw = 12, kLoop = 108, kSll = 113, kIpv4 = 228, kIpv6 = 229,
                     kSll2 = 276;
}

// pcap or pcapng (anything libpcap reads). The programs and the reference
// parse Ethernet frames, so other link types get an Ethernet header in place
// of theirs: Linux cooked (SLL, SLL2), raw IP (DLT_RAW, IPV4, IPV6) and BSD
// loopback (NULL, LOOP). See docs/runtime.md.
Result<std::vector<Packet>> read_capture(const std::string& path);

// One packet of link type `dlt` (a DLT_ value) as an Ethernet frame: the
// EtherType from the link header (SLL protocol, loopback family, IP version),
// destination ff:ff:ff:ff:ff:ff when the link header says broadcast, else a
// unicast placeholder. A link header cut short becomes a 13-byte (malformed) frame.
Packet to_ethernet(int dlt, const uint8_t* data, size_t len);

// Whether read_capture can turn packets of link type `dlt` into Ethernet frames.
bool replayable_link(int dlt);

// Writes packets as a pcap file of link type `dlt` with libpcap's writer
// (pcap_open_dead + pcap_dump): how tests build captures of every link type.
Status write_capture(const std::string& path, int dlt, const std::vector<Packet>& pkts);

}  // namespace secpol::rt
