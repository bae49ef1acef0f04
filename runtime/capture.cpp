#include "capture.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "pcapng.h"

namespace secpol::rt {

static_assert(link::kEthernet == DLT_EN10MB && link::kNull == DLT_NULL && link::kRaw == DLT_RAW &&
              link::kLoop == DLT_LOOP && link::kSll == DLT_LINUX_SLL && link::kIpv4 == DLT_IPV4 &&
              link::kIpv6 == DLT_IPV6 && link::kSll2 == DLT_LINUX_SLL2);

namespace {

constexpr uint16_t kIpv4 = 0x0800, kIpv6 = 0x86dd;
// EtherType for a frame whose link header names no network protocol secpol
// parses: the programs see it as non-IP, as they would on Ethernet.
constexpr uint16_t kUnknown = 0x0000;

uint16_t be16(const u_char* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const u_char* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Raw IP: the version nibble is all there is. Anything but 6 is handed on as
// IPv4, so a bad version is classified malformed (blocked), never non-IP.
uint16_t by_version(const u_char* ip, size_t len) {
    return len >= 1 && (ip[0] >> 4) == 6 ? kIpv6 : kIpv4;
}

// BSD loopback: the address family, in the capturing host's byte order
// (DLT_NULL) or network order (DLT_LOOP). AF_INET6 differs between systems.
uint16_t by_family(uint32_t af) {
    if (af == 2) return kIpv4;
    if (af == 10 || af == 24 || af == 28 || af == 30) return kIpv6;
    return kUnknown;
}
uint32_t swap32(uint32_t v) {
    return __builtin_bswap32(v);
}

struct Frame {
    size_t skip = 0;  // link header bytes to drop
    uint16_t ethertype = kUnknown;
    bool broadcast = false;  // the link header says the frame was a link-layer broadcast
    const u_char* src_mac = nullptr;
};

// What the link header of one packet says; nullopt when it is cut short.
std::optional<Frame> link_header(int dlt, const u_char* d, size_t len) {
    Frame f;
    switch (dlt) {
        case DLT_LINUX_SLL:  // 16 bytes: pkttype, hatype, halen, addr[8], protocol
            if (len < 16) return std::nullopt;
            f.skip = 16;
            f.ethertype = be16(d + 14);
            f.broadcast = be16(d) == 1;  // PACKET_BROADCAST
            if (be16(d + 4) == 6) f.src_mac = d + 6;
            return f;
        case DLT_LINUX_SLL2:  // 20 bytes: protocol, reserved, ifindex, hatype, pkttype, halen, addr[8]
            if (len < 20) return std::nullopt;
            f.skip = 20;
            f.ethertype = be16(d);
            f.broadcast = d[10] == 1;
            if (d[11] == 6) f.src_mac = d + 12;
            return f;
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6:
            f.ethertype = dlt == DLT_IPV4 ? kIpv4 : dlt == DLT_IPV6 ? kIpv6 : by_version(d, len);
            return f;
        case DLT_NULL: {
            if (len < 4) return std::nullopt;
            uint32_t af = be32(d);
            f.skip = 4;
            f.ethertype = by_family(af) != kUnknown ? by_family(af) : by_family(swap32(af));
            return f;
        }
        case DLT_LOOP:
            if (len < 4) return std::nullopt;
            f.skip = 4;
            f.ethertype = by_family(be32(d));
            return f;
    }
    return std::nullopt;
}

}  // namespace

bool replayable_link(int dlt) {
    switch (dlt) {
        case DLT_EN10MB:
        case DLT_LINUX_SLL:
        case DLT_LINUX_SLL2:
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6:
        case DLT_NULL:
        case DLT_LOOP:
            return true;
    }
    return false;
}

namespace {

// libpcap 1.10 refuses a pcapng whose interfaces differ in snapshot length or
// link type; say how to get a file it reads.
std::string with_workaround(const std::string& path, const std::string& err) {
    if (err.find("nterface") == std::string::npos) return path + ": " + err;
    return path + ": " + err +
           " (libpcap cannot read a pcapng whose interfaces differ in snapshot length or link type; "
           "rewrite it first, e.g. 'editcap -F pcap " +
           path + " OUT.pcap', or 'tshark -r " + path + " -w OUT.pcap -F pcap', or split it per interface)";
}

// libpcap 1.10 refuses a pcapng whose interfaces differ in snapshot length
// or link type: such a file is read by secpol's own pcapng reader instead.
Result<std::vector<Packet>> read_refused(const std::string& path, const std::string& err) {
    if (err.find("nterface") == std::string::npos) return Error::msg(path + ": " + err);
    auto pkts = read_pcapng_interfaces(path);
    if (pkts) return pkts;
    return Error::msg(with_workaround(path, err + "; " + pkts.error().message));
}

}  // namespace

Packet to_ethernet(int dlt, const uint8_t* data, size_t len) {
    if (dlt == DLT_EN10MB) return Packet(data, data + len);
    auto f = link_header(dlt, data, len);
    // A link header cut short: an Ethernet frame cut short (malformed) stands for it.
    if (!f) return Packet(data, data + std::min<size_t>(len, 13));
    Packet out(14 + len - f->skip, 0);
    if (f->broadcast)
        std::fill(out.begin(), out.begin() + 6, 0xff);
    else
        out[0] = 0x02;  // a locally administered unicast address: not a broadcast frame
    if (f->src_mac) std::copy(f->src_mac, f->src_mac + 6, out.begin() + 6);
    out[12] = static_cast<uint8_t>(f->ethertype >> 8);
    out[13] = static_cast<uint8_t>(f->ethertype);
    std::copy(data + f->skip, data + len, out.begin() + 14);
    return out;
}

Status write_capture(const std::string& path, int dlt, const std::vector<Packet>& pkts) {
    std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(pcap_open_dead(dlt, 262144), pcap_close);
    if (!dead) return Error::msg("pcap_open_dead: link type " + std::to_string(dlt));
    pcap_dumper_t* d = pcap_dump_open(dead.get(), path.c_str());
    if (!d) return Error::msg(path + ": " + pcap_geterr(dead.get()));
    for (const auto& p : pkts) {
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(p.size());
        pcap_dump(reinterpret_cast<u_char*>(d), &h, p.data());
    }
    const bool flushed = pcap_dump_flush(d) == 0;
    pcap_dump_close(d);
    if (!flushed) return Error::msg(path + ": write failed");
    return ok();
}

Result<std::vector<Packet>> read_capture(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    std::unique_ptr<pcap_t, decltype(&pcap_close)> pc(pcap_open_offline(path.c_str(), errbuf), pcap_close);
    if (!pc) return read_refused(path, errbuf);
    const int dlt = pcap_datalink(pc.get());
    if (!replayable_link(dlt)) {
        const char* name = pcap_datalink_val_to_name(dlt);
        return Error::msg(
            path + ": link type " + std::to_string(dlt) + (name ? std::string(" (") + name + ")" : "") +
            " cannot be replayed (Ethernet, Linux cooked SLL/SLL2, raw IP and BSD loopback can)");
    }
    std::vector<Packet> out;
    pcap_pkthdr* hdr;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(pc.get(), &hdr, &data)) == 1)
        out.push_back(to_ethernet(dlt, data, hdr->caplen));
    if (rc == PCAP_ERROR) return read_refused(path, pcap_geterr(pc.get()));
    return out;
}

}  // namespace secpol::rt
