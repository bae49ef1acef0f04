#include "pcap_out.h"

#include <pcap/pcap.h>

#include <cstdio>

namespace secpol::rt {

Result<std::unique_ptr<PcapOut>> PcapOut::open(const std::string& path, bool l3) {
    std::unique_ptr<PcapOut> o(new PcapOut());
    pcap_t* p = pcap_open_dead(l3 ? DLT_RAW : DLT_EN10MB, SECPOL_LOG_SNAPLEN);
    if (!p) return Error::msg("pcap_open_dead failed");
    o->pcap_ = p;
    pcap_dumper_t* d = path == "-" ? pcap_dump_fopen(p, stdout) : pcap_dump_open(p, path.c_str());
    if (!d) return Error::msg("--pcap " + path + ": " + pcap_geterr(p));
    o->dump_ = d;
    if (pcap_dump_flush(d) != 0) return Error::msg("--pcap " + path + ": write failed");  // the header now
    return o;
}

PcapOut::~PcapOut() {
    if (dump_) pcap_dump_close(static_cast<pcap_dumper_t*>(dump_));
    if (pcap_) pcap_close(static_cast<pcap_t*>(pcap_));
}

Status PcapOut::write(const secpol_log_event& e, int64_t unix_ns) {
    auto* d = static_cast<pcap_dumper_t*>(dump_);
    pcap_pkthdr h{};
    h.ts.tv_sec = unix_ns / 1000000000;
    h.ts.tv_usec = (unix_ns % 1000000000) / 1000;
    h.caplen = e.cap_len < SECPOL_LOG_SNAPLEN ? e.cap_len : SECPOL_LOG_SNAPLEN;
    h.len = e.pkt_len < h.caplen ? h.caplen : e.pkt_len;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, e.data);
    if (pcap_dump_flush(d) != 0) return Error::msg("pcap: write failed");
    return ok();
}

}  // namespace secpol::rt
