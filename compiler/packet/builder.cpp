#include "packet/builder.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <type_traits>

namespace secpol::pkt {
namespace {

template <class... Ts>
struct Overload : Ts... {
    using Ts::operator()...;
};
// Explicit guide: clang before 17 has no C++20 aggregate deduction, and the
// fuzz build (docs/robustness.md) compiles this file with clang.
template <class... Ts>
Overload(Ts...) -> Overload<Ts...>;

void put16(Bytes& b, uint16_t v) {
    b.push_back(v >> 8);
    b.push_back(v & 0xff);
}
void put32(Bytes& b, uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
void set16(Bytes& b, size_t at, uint16_t v) {
    b[at] = v >> 8;
    b[at + 1] = v & 0xff;
}

std::array<uint8_t, 6> parse_mac(const std::string& s) {
    std::array<unsigned, 6> v{};
    char extra;
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6)
        throw std::invalid_argument("bad MAC address: " + s);
    std::array<uint8_t, 6> r{};
    for (int i = 0; i < 6; ++i) {
        if (v[i] > 0xff) throw std::invalid_argument("bad MAC address: " + s);
        r[i] = static_cast<uint8_t>(v[i]);
    }
    return r;
}

std::array<uint8_t, 4> parse_v4(const std::string& s) {
    std::array<uint8_t, 4> r{};
    if (inet_pton(AF_INET, s.c_str(), r.data()) != 1) throw std::invalid_argument("bad IPv4 address: " + s);
    return r;
}

std::array<uint8_t, 16> parse_v6(const std::string& s) {
    std::array<uint8_t, 16> r{};
    if (inet_pton(AF_INET6, s.c_str(), r.data()) != 1) throw std::invalid_argument("bad IPv6 address: " + s);
    return r;
}

// EtherType announcing the layer `next` (nullptr: nothing follows).
uint16_t ethertype_of(const Layer* next) {
    if (!next) return 0x88b5;
    if (auto* v = std::get_if<Vlan>(next)) return v->tpid;
    if (std::holds_alternative<IPv4>(*next)) return 0x0800;
    if (std::holds_alternative<IPv6>(*next)) return 0x86dd;
    return 0x88b5;  // IEEE local experimental: some non-IP payload
}

// IP protocol / IPv6 next header announcing `next`; `none` when it is raw data or absent.
uint8_t proto_of(const Layer* next, uint8_t none) {
    if (!next) return none;
    return std::visit(Overload{
                          [](const IPv4&) -> uint8_t { return 4; },
                          [](const IPv6&) -> uint8_t { return 41; },
                          [](const HopByHop&) -> uint8_t { return 0; },
                          [](const Routing&) -> uint8_t { return 43; },
                          [](const Fragment6&) -> uint8_t { return 44; },
                          [](const DestOpts&) -> uint8_t { return 60; },
                          [](const TCP&) -> uint8_t { return 6; },
                          [](const UDP&) -> uint8_t { return 17; },
                          [](const ICMP&) -> uint8_t { return 1; },
                          [](const ICMPv6&) -> uint8_t { return 58; },
                          [](const ESP&) -> uint8_t { return 50; },
                          [](const AH&) -> uint8_t { return 51; },
                          [none](const auto&) -> uint8_t { return none; },
                      },
                      *next);
}

void pad4(Bytes& b) {
    while (b.size() % 4) b.push_back(0);
}

// Generic extension header: next header, Hdr Ext Len, then PadN filling 8*(len+1)-2 bytes.
Bytes ext_header(uint8_t nh, uint8_t len) {
    Bytes h{nh, len};
    size_t fill = 8 * (size_t(len) + 1) - 2;
    // One PadN option covers up to 257 bytes; repeat for longer areas.
    while (fill > 0) {
        if (fill == 1) {
            h.push_back(0);  // Pad1
            fill = 0;
            break;
        }
        size_t n = std::min<size_t>(fill - 2, 255);
        h.push_back(1);
        h.push_back(static_cast<uint8_t>(n));
        h.insert(h.end(), n, 0);
        fill -= n + 2;
    }
    return h;
}

class Builder {
  public:
    explicit Builder(const std::vector<Layer>& layers) : layers_(layers) {}

    Bytes build(size_t i) const {
        if (i >= layers_.size()) return {};
        Bytes payload = build(i + 1);
        const Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
        Bytes h = std::visit([&](const auto& l) { return header(l, i, next, payload); }, layers_[i]);
        h.insert(h.end(), payload.begin(), payload.end());
        return h;
    }

  private:
    const std::vector<Layer>& layers_;

    // Pseudo-header sum of the closest IP layer before index i, for an upper
    // layer of `len` bytes and protocol `proto`. Without an IP layer: 0.
    uint32_t pseudo(size_t i, size_t len, uint8_t proto) const {
        for (size_t j = i; j-- > 0;) {
            Bytes ph;
            if (auto* v4 = std::get_if<IPv4>(&layers_[j])) {
                auto s = parse_v4(v4->src), d = parse_v4(v4->dst);
                ph.insert(ph.end(), s.begin(), s.end());
                ph.insert(ph.end(), d.begin(), d.end());
                put16(ph, proto);
                put16(ph, static_cast<uint16_t>(len));
            } else if (auto* v6 = std::get_if<IPv6>(&layers_[j])) {
                auto s = parse_v6(v6->src), d = parse_v6(v6->dst);
                ph.insert(ph.end(), s.begin(), s.end());
                ph.insert(ph.end(), d.begin(), d.end());
                put32(ph, static_cast<uint32_t>(len));
                put32(ph, proto);
            } else {
                continue;
            }
            uint32_t sum = 0;
            for (size_t k = 0; k < ph.size(); k += 2) sum += (ph[k] << 8) | ph[k + 1];
            return sum;
        }
        return 0;
    }

    Bytes header(const Ethernet& e, size_t, const Layer* next, const Bytes&) const {
        Bytes h;
        auto d = parse_mac(e.dst), s = parse_mac(e.src);
        h.insert(h.end(), d.begin(), d.end());
        h.insert(h.end(), s.begin(), s.end());
        put16(h, e.type.value_or(ethertype_of(next)));
        return h;
    }

    Bytes header(const Vlan& v, size_t, const Layer* next, const Bytes&) const {
        // The TPID was written by the layer before; the tag itself is TCI + inner type.
        Bytes h;
        put16(h, static_cast<uint16_t>((v.pcp & 7) << 13 | (v.vid & 0xfff)));
        put16(h, v.type.value_or(ethertype_of(next)));
        return h;
    }

    Bytes header(const IPv4& ip, size_t, const Layer* next, const Bytes& payload) const {
        Bytes opts = ip.options;
        pad4(opts);
        size_t hlen = 20 + opts.size();
        Bytes h;
        h.push_back(static_cast<uint8_t>((ip.version.value_or(4) << 4) | (ip.ihl.value_or(hlen / 4) & 0xf)));
        h.push_back(ip.tos);
        put16(h, ip.total_length.value_or(static_cast<uint16_t>(hlen + payload.size())));
        put16(h, ip.id);
        put16(h,
              static_cast<uint16_t>((ip.df ? 0x4000 : 0) | (ip.mf ? 0x2000 : 0) | (ip.frag_offset & 0x1fff)));
        h.push_back(ip.ttl);
        h.push_back(ip.proto.value_or(proto_of(next, 255)));
        put16(h, 0);
        auto s = parse_v4(ip.src), d = parse_v4(ip.dst);
        h.insert(h.end(), s.begin(), s.end());
        h.insert(h.end(), d.begin(), d.end());
        h.insert(h.end(), opts.begin(), opts.end());
        set16(h, 10, ip.checksum.value_or(inet_checksum(h.data(), h.size())));
        return h;
    }

    Bytes header(const IPv6& ip, size_t, const Layer* next, const Bytes& payload) const {
        Bytes h;
        put32(h, (uint32_t(ip.version.value_or(6)) << 28) | (uint32_t(ip.traffic_class) << 20) |
                     (ip.flow_label & 0xfffff));
        put16(h, ip.payload_length.value_or(static_cast<uint16_t>(payload.size())));
        h.push_back(ip.next_header.value_or(proto_of(next, 59)));
        h.push_back(ip.hop_limit);
        auto s = parse_v6(ip.src), d = parse_v6(ip.dst);
        h.insert(h.end(), s.begin(), s.end());
        h.insert(h.end(), d.begin(), d.end());
        return h;
    }

    Bytes header(const HopByHop& x, size_t, const Layer* next, const Bytes&) const {
        return ext_header(x.next_header.value_or(proto_of(next, 59)), x.len);
    }
    Bytes header(const DestOpts& x, size_t, const Layer* next, const Bytes&) const {
        return ext_header(x.next_header.value_or(proto_of(next, 59)), x.len);
    }
    Bytes header(const Routing& x, size_t, const Layer* next, const Bytes&) const {
        Bytes h = ext_header(x.next_header.value_or(proto_of(next, 59)), x.len);
        h[2] = x.routing_type;
        h[3] = x.segments_left;
        // The rest stays zero: reserved/addresses, never interpreted by the classifier.
        for (size_t k = 4; k < h.size(); ++k) h[k] = 0;
        return h;
    }
    Bytes header(const Fragment6& f, size_t, const Layer* next, const Bytes&) const {
        Bytes h{f.next_header.value_or(proto_of(next, 59)), 0};
        put16(h, static_cast<uint16_t>((f.offset & 0x1fff) << 3 | (f.m ? 1 : 0)));
        put32(h, f.id);
        return h;
    }

    Bytes header(const TCP& t, size_t i, const Layer*, const Bytes& payload) const {
        Bytes opts = t.options;
        pad4(opts);
        size_t hlen = 20 + opts.size();
        Bytes h;
        put16(h, t.sport);
        put16(h, t.dport);
        put32(h, t.seq);
        put32(h, t.ack);
        h.push_back(static_cast<uint8_t>(t.data_offset.value_or(hlen / 4) << 4));
        h.push_back(t.flags);
        put16(h, t.window);
        put16(h, 0);  // checksum
        put16(h, 0);  // urgent pointer
        h.insert(h.end(), opts.begin(), opts.end());
        size_t len = h.size() + payload.size();
        Bytes all = h;
        all.insert(all.end(), payload.begin(), payload.end());
        set16(h, 16, t.checksum.value_or(inet_checksum(all.data(), all.size(), pseudo(i, len, 6))));
        return h;
    }

    Bytes header(const UDP& u, size_t i, const Layer*, const Bytes& payload) const {
        Bytes h;
        size_t len = 8 + payload.size();
        put16(h, u.sport);
        put16(h, u.dport);
        put16(h, u.length.value_or(static_cast<uint16_t>(len)));
        put16(h, 0);
        Bytes all = h;
        all.insert(all.end(), payload.begin(), payload.end());
        uint16_t c = inet_checksum(all.data(), all.size(), pseudo(i, len, 17));
        set16(h, 6, u.checksum.value_or(c == 0 ? 0xffff : c));  // 0 means "no checksum" in UDP
        return h;
    }

    Bytes icmp(uint8_t type, uint8_t code, uint32_t rest, std::optional<uint16_t> csum, uint32_t pseudo_sum,
               const Bytes& payload) const {
        Bytes h{type, code, 0, 0};
        put32(h, rest);
        Bytes all = h;
        all.insert(all.end(), payload.begin(), payload.end());
        set16(h, 2, csum.value_or(inet_checksum(all.data(), all.size(), pseudo_sum)));
        return h;
    }
    Bytes header(const ICMP& c, size_t, const Layer*, const Bytes& payload) const {
        return icmp(c.type, c.code, c.rest, c.checksum, 0, payload);  // ICMPv4 has no pseudo header
    }
    Bytes header(const ICMPv6& c, size_t i, const Layer*, const Bytes& payload) const {
        return icmp(c.type, c.code, c.rest, c.checksum, pseudo(i, 8 + payload.size(), 58), payload);
    }

    Bytes header(const ESP& e, size_t, const Layer*, const Bytes&) const {
        Bytes h;
        put32(h, e.spi);
        put32(h, e.seq);
        return h;
    }
    Bytes header(const AH& a, size_t, const Layer* next, const Bytes&) const {
        Bytes h{a.next_header.value_or(proto_of(next, 59)), a.len, 0, 0};
        put32(h, a.spi);
        put32(h, a.seq);
        size_t total = (size_t(a.len) + 2) * 4;
        if (total > h.size()) h.insert(h.end(), total - h.size(), 0);  // ICV
        return h;
    }

    Bytes header(const Raw& r, size_t, const Layer*, const Bytes&) const { return r.data; }
};

}  // namespace

uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t initial) {
    uint64_t sum = initial;
    for (size_t k = 0; k + 1 < len; k += 2) sum += (data[k] << 8) | data[k + 1];
    if (len % 2) sum += data[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

Bytes Packet::bytes() const {
    Bytes b = Builder(layers_).build(0);
    b.insert(b.end(), pad_, pad_fill_);
    if (truncate_ && *truncate_ < b.size()) b.resize(*truncate_);
    return b;
}

// One-layer packets: (pkt::Ethernet{}).bytes() reads like the composed form.
Bytes Ethernet::bytes() const {
    return Packet(*this).bytes();
}
Bytes Vlan::bytes() const {
    return Packet(*this).bytes();
}
Bytes IPv4::bytes() const {
    return Packet(*this).bytes();
}
Bytes IPv6::bytes() const {
    return Packet(*this).bytes();
}
Bytes HopByHop::bytes() const {
    return Packet(*this).bytes();
}
Bytes DestOpts::bytes() const {
    return Packet(*this).bytes();
}
Bytes Routing::bytes() const {
    return Packet(*this).bytes();
}
Bytes Fragment6::bytes() const {
    return Packet(*this).bytes();
}
Bytes TCP::bytes() const {
    return Packet(*this).bytes();
}
Bytes UDP::bytes() const {
    return Packet(*this).bytes();
}
Bytes ICMP::bytes() const {
    return Packet(*this).bytes();
}
Bytes ICMPv6::bytes() const {
    return Packet(*this).bytes();
}
Bytes ESP::bytes() const {
    return Packet(*this).bytes();
}
Bytes AH::bytes() const {
    return Packet(*this).bytes();
}
Bytes Raw::bytes() const {
    return Packet(*this).bytes();
}

}  // namespace secpol::pkt
