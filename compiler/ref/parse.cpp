// Frame parsing, docs/semantics.md section 1, one rule per block and in the
// spec's order so the two can be read side by side.
#include <algorithm>

#include "ref/classify.h"

namespace secpol::ref {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100, kEthQinQ = 0x88a8;
constexpr uint16_t kEthPppoeSession = 0x8864, kPppIpv4 = 0x0021, kPppIpv6 = 0x0057;
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestOpts = 60;
constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58, kEsp = 50, kAh = 51;
constexpr unsigned kMaxVlanTags = 2, kMaxExtHeaders = 8;
constexpr uint16_t kNatTPort = 4500;

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
    return uint32_t(be16(p)) << 16 | be16(p + 2);
}

Parsed malformed(Parsed p, std::string why) {
    p.kind = Parsed::Kind::Malformed;
    p.why = std::move(why);
    return p;
}

Addr v4_addr(const uint8_t* p) {
    return Addr{0, 0, 0xffff, be32(p)};
}
Addr v6_addr(const uint8_t* p) {
    return Addr{be32(p), be32(p + 4), be32(p + 8), be32(p + 12)};
}

// Where parsing the IP layer leaves off: the L4 header and the IP end.
struct IpResult {
    size_t l4 = 0;
    size_t end = 0;
};

// Section 1.4. Returns false (p already marked malformed) on a bad header.
bool parse_ipv4(const uint8_t* pkt, size_t len, size_t off, bool gso, Parsed& p, IpResult& r) {
    size_t left = len - off;
    const uint8_t* ip = pkt + off;
    if (left < 20) return (p = malformed(p, "IPv4: fewer than 20 bytes")), false;
    if (ip[0] >> 4 != 4) return (p = malformed(p, "IPv4: version is not 4")), false;
    size_t hlen = size_t(ip[0] & 0xf) * 4;
    if (hlen < 20) return (p = malformed(p, "IPv4: IHL < 5")), false;
    if (hlen > left) return (p = malformed(p, "IPv4: header (IHL*4 bytes) truncated")), false;
    size_t total = be16(ip + 2);
    // BIG TCP (GSO at tc): the kernel's iph_totlen() takes the skb length.
    if (total == 0 && gso) total = left;
    if (total < hlen) return (p = malformed(p, "IPv4: total length < IHL*4")), false;
    if (total > left) return (p = malformed(p, "IPv4: total length beyond the frame")), false;
    p.v4 = true;
    p.proto = ip[9];
    p.src = v4_addr(ip + 12);
    p.dst = v4_addr(ip + 16);
    uint16_t frag_off = be16(ip + 6) & 0x1fff;
    p.nonfirst_frag = frag_off != 0;
    // RFC 1858: a TCP fragment at offset 8 bytes can rewrite the first
    // fragment's flags; nothing legitimate sends one.
    if (p.proto == kTcp && frag_off == 1)
        return (p = malformed(p, "IPv4: TCP fragment at offset 1 (RFC 1858)")), false;
    r.l4 = off + hlen;
    r.end = off + total;
    return true;
}

// Section 1.5.
bool parse_ipv6(const uint8_t* pkt, size_t len, size_t off, bool gso, Parsed& p, IpResult& r) {
    size_t left = len - off;
    const uint8_t* ip = pkt + off;
    if (left < 40) return (p = malformed(p, "IPv6: fewer than 40 bytes")), false;
    if (ip[0] >> 4 != 6) return (p = malformed(p, "IPv6: version is not 6")), false;
    size_t payload = be16(ip + 4);
    // BIG TCP (GSO at tc): payload length 0, with or without a hop-by-hop
    // jumbo option, runs to the end of the frame.
    if (payload == 0 && gso) payload = left - 40;
    size_t end = off + 40 + payload;
    if (end > len) return (p = malformed(p, "IPv6: payload length beyond the frame")), false;
    p.src = v6_addr(ip + 8);
    p.dst = v6_addr(ip + 24);
    // The key represents IPv4 as ::ffff:0:0/96, so an IPv6 packet carrying
    // such an address would pass for IPv4 and slip past IPv6 filters. RFC 4291
    // 2.5.5.2 keeps them off the wire: drop.
    if (net::is_v4(p.src) || net::is_v4(p.dst))
        return (p = malformed(p, "IPv6: IPv4-mapped address on the wire")), false;
    uint8_t nh = ip[6];
    size_t cur = off + 40;
    unsigned count = 0;
    for (;;) {
        bool generic = nh == kHopByHop || nh == kRouting || nh == kDestOpts;
        if (!generic && nh != kFragment) break;  // the L4 protocol (ESP and AH included)
        if (++count > kMaxExtHeaders) return (p = malformed(p, "IPv6: more than 8 extension headers")), false;
        if (generic) {
            if (cur + 2 > end) return (p = malformed(p, "IPv6: extension header beyond the IP end")), false;
            size_t hl = 8 * (size_t(pkt[cur + 1]) + 1);
            if (cur + hl > end) return (p = malformed(p, "IPv6: extension header beyond the IP end")), false;
            nh = pkt[cur];
            cur += hl;
            continue;
        }
        if (cur + 8 > end) return (p = malformed(p, "IPv6: fragment header beyond the IP end")), false;
        nh = pkt[cur];
        uint16_t frag_off = be16(pkt + cur + 2) >> 3;
        cur += 8;
        // Offset 0 (a first or an atomic fragment, RFC 6946) is parsed on.
        if (frag_off != 0) {
            p.nonfirst_frag = true;
            break;
        }
    }
    p.proto = nh;
    r.l4 = cur;
    r.end = end;
    return true;
}

Parsed parse_l4(const uint8_t* pkt, Parsed p, const IpResult& ip) {
    // 1.6 L4, first fragments and unfragmented packets only.
    size_t avail = ip.end - ip.l4;
    const uint8_t* l4 = pkt + ip.l4;
    if (!p.nonfirst_frag) {
        if (p.proto == kTcp || p.proto == kUdp) {
            if (avail < (p.proto == kTcp ? 20u : 8u))
                return malformed(p, p.proto == kTcp ? "TCP: fewer than 20 bytes" : "UDP: fewer than 8 bytes");
            p.sport = be16(l4);
            p.dport = be16(l4 + 2);
        } else if (p.proto == kIcmp || p.proto == kIcmpv6) {
            if (avail < 4)
                return malformed(
                    p, p.proto == kIcmp ? "ICMP: fewer than 4 bytes" : "ICMPv6: fewer than 4 bytes");
            p.sport = l4[0];  // type
            p.dport = l4[1];  // code
        }
    }
    // 1.7 Protected form. ESP-in-UDP needs a non-zero SPI after the UDP header;
    // a zero word is the non-ESP marker of IKE on 4500 (RFC 3948).
    if (p.proto == kEsp || p.proto == kAh) {
        p.ipsec = true;
    } else if (p.proto == kUdp && !p.nonfirst_frag && (p.sport == kNatTPort || p.dport == kNatTPort)) {
        p.ipsec = avail >= 8 + 8 && be32(l4 + 8) != 0;
    }
    return p;
}

}  // namespace

const char* link_name(Link l) {
    return l == Link::L3 ? "l3" : "ether";
}

Parsed parse(const uint8_t* pkt, size_t len, Frame frame) {
    Parsed p;
    IpResult ip;
    if (frame.link == Link::L3) {
        // 1.1 No link layer: the version nibble says the family.
        if (len < 1) return malformed(p, "IP: empty packet");
        unsigned version = pkt[0] >> 4;
        if (version == 4) {
            if (!parse_ipv4(pkt, len, 0, frame.gso, p, ip)) return p;
        } else if (version == 6) {
            if (!parse_ipv6(pkt, len, 0, frame.gso, p, ip)) return p;
        } else {
            return malformed(p, "IP: version is neither 4 nor 6");
        }
        return parse_l4(pkt, p, ip);
    }
    // 1.1 Ethernet.
    if (len < 14) return malformed(p, "Ethernet: fewer than 14 bytes");
    p.eth_broadcast = std::all_of(pkt, pkt + 6, [](uint8_t b) { return b == 0xff; });
    uint16_t type = be16(pkt + 12);
    size_t off = 14;
    // 1.2 VLAN tags.
    for (unsigned tags = 0; type == kEthVlan || type == kEthQinQ; ++tags) {
        if (tags == kMaxVlanTags) return malformed(p, "VLAN: more than two tags");
        if (off + 4 > len) return malformed(p, "VLAN: truncated tag");
        type = be16(pkt + off + 2);
        off += 4;
    }
    // 1.3 PPPoE session stage: the PPP protocol says what the payload is.
    if (type == kEthPppoeSession) {
        if (off + 8 > len) return malformed(p, "PPPoE: fewer than 8 bytes");
        if (pkt[off] != 0x11 || pkt[off + 1] != 0)
            return malformed(p, "PPPoE: not version 1 type 1 session data");
        size_t plen = be16(pkt + off + 4);
        if (plen < 2 || off + 6 + plen > len) return malformed(p, "PPPoE: length beyond the frame");
        uint16_t proto = be16(pkt + off + 6);
        off += 8;
        if (proto == kPppIpv4) {
            type = kEthIpv4;
        } else if (proto == kPppIpv6) {
            type = kEthIpv6;
        } else {
            p.kind = Parsed::Kind::NonIp;
            return p;
        }
    }
    // 1.3 Network layer.
    if (type == kEthIpv4) {
        if (!parse_ipv4(pkt, len, off, frame.gso, p, ip)) return p;
    } else if (type == kEthIpv6) {
        if (!parse_ipv6(pkt, len, off, frame.gso, p, ip)) return p;
    } else {
        p.kind = Parsed::Kind::NonIp;
        return p;
    }
    return parse_l4(pkt, p, ip);
}

}  // namespace secpol::ref
