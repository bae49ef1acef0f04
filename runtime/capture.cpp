#include "capture.h"

#include <pcap/pcap.h>

#include <memory>

namespace secpol::rt {

Result<std::vector<Packet>> read_capture(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    std::unique_ptr<pcap_t, decltype(&pcap_close)> pc(pcap_open_offline(path.c_str(), errbuf), pcap_close);
    if (!pc) return Error::msg(path + ": " + errbuf);
    if (pcap_datalink(pc.get()) != DLT_EN10MB)
        return Error::msg(path + ": link type " + std::to_string(pcap_datalink(pc.get())) +
                          " is not Ethernet (only Ethernet captures can be replayed)");
    std::vector<Packet> out;
    pcap_pkthdr* hdr;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(pc.get(), &hdr, &data)) == 1) out.emplace_back(data, data + hdr->caplen);
    if (rc == PCAP_ERROR) return Error::msg(path + ": " + pcap_geterr(pc.get()));
    return out;
}

}  // namespace secpol::rt
