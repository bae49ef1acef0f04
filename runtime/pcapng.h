// A small pcapng reader for the files libpcap 1.10 refuses: several
// interfaces with different snapshot lengths or link types (a capture on
// "any" plus loopback, say). Used by read_capture only after libpcap fails.
#pragma once

#include <string>
#include <vector>

#include "capture.h"
#include "result.h"

namespace secpol::rt {

// Every packet of every section and interface, each as an Ethernet frame
// (to_ethernet with its interface's link type). Enhanced, simple and the
// obsolete packet blocks are read; other blocks are skipped. A corrupt block
// or an interface of a link type replay cannot read is an error naming it.
Result<std::vector<Packet>> read_pcapng_interfaces(const std::string& path);

}  // namespace secpol::rt
