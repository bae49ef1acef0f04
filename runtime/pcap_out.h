// A pcap writer for `secpol log --pcap`: libpcap's dumper over a dead handle
// (never a hand-rolled file format), the device's link type (Ethernet, or
// raw IP on tun/WireGuard), the events' snapshot length, flushed after every
// packet so a reader (tcpdump -r, a pipe into Wireshark) sees each one as it
// comes. Kept apart from libbpf's headers: pcap's bpf.h and linux/bpf.h
// both define struct bpf_insn.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "log_event.h"
#include "result.h"

namespace secpol::rt {

class PcapOut {
  public:
    // path "-": standard output.
    static Result<std::unique_ptr<PcapOut>> open(const std::string& path, bool l3);
    ~PcapOut();
    PcapOut(const PcapOut&) = delete;
    PcapOut& operator=(const PcapOut&) = delete;
    // The event's bytes (cap_len) with its true length, stamped unix_ns.
    Status write(const secpol_log_event& e, int64_t unix_ns);

  private:
    PcapOut() = default;
    void* pcap_ = nullptr;  // pcap_t
    void* dump_ = nullptr;  // pcap_dumper_t
};

}  // namespace secpol::rt
