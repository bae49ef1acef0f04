// A scapy-like packet builder for tests, explain and the BPF differential
// tests:
//
//   using namespace secpol;
//   auto bytes = (pkt::Ethernet{} / pkt::Vlan{10} / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} /
//                 pkt::UDP{.sport = 500, .dport = 500} / pkt::Raw{{1, 2, 3}}).bytes();
//
// Every layer is a plain aggregate (designated initializers, any field may be
// left out). Lengths, next-protocol fields and checksums are filled from the
// layers that follow unless the field is set explicitly, which is how
// malformed packets are made (wrong IHL, total length, payload length,
// version...). Packet::truncate(n) cuts the finished frame; Packet::pad(n)
// appends bytes after it (Ethernet padding the IP length does not cover).
// A single layer has bytes() too. Bad addresses in a layer throw
// std::invalid_argument from bytes().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace secpol::pkt {

using Bytes = std::vector<uint8_t>;

constexpr const char* kBroadcastMac = "ff:ff:ff:ff:ff:ff";

struct Ethernet {
    std::string dst = "02:00:00:00:00:02";
    std::string src = "02:00:00:00:00:01";
    std::optional<uint16_t> type{};  // default: from the next layer (0x88b5, local experimental, if none)
    Bytes bytes() const;             // this layer alone, as a one-layer Packet
};

// 802.1Q (tpid 0x8100) or 802.1ad (tpid 0x88a8) tag. The tag's TPID is
// written into the EtherType field of the layer before it.
struct Vlan {
    uint16_t vid = 0;
    uint8_t pcp = 0;
    uint16_t tpid = 0x8100;
    std::optional<uint16_t> type{};  // inner EtherType, default from the next layer
    Bytes bytes() const;             // this layer alone, as a one-layer Packet
};

struct IPv4 {
    std::string src = "10.0.0.1";
    std::string dst = "10.0.0.2";
    std::optional<uint8_t> proto{};  // default from the next layer (255 if none / Raw)
    uint8_t ttl = 64;
    uint8_t tos = 0;
    uint16_t id = 1;
    bool df = false;
    bool mf = false;
    uint16_t frag_offset = 0;  // in 8-byte units
    Bytes options{};           // raw option bytes, zero-padded to a multiple of 4
    // Malformation knobs.
    std::optional<uint8_t> version{};  // default 4
    std::optional<uint8_t> ihl{};      // default (20 + padded options) / 4
    std::optional<uint16_t> total_length{};
    std::optional<uint16_t> checksum{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct IPv6 {
    std::string src = "2001:db8::1";
    std::string dst = "2001:db8::2";
    std::optional<uint8_t> next_header{};  // default from the next layer (59, no next header, if none)
    uint8_t hop_limit = 64;
    uint8_t traffic_class = 0;
    uint32_t flow_label = 0;
    std::optional<uint8_t> version{};  // default 6
    std::optional<uint16_t> payload_length{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

// IPv6 extension headers with the generic TLV layout: 8 * (len + 1) bytes,
// the options area filled with PadN.
struct HopByHop {
    uint8_t len = 0;  // Hdr Ext Len field
    std::optional<uint8_t> next_header{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};
struct DestOpts {
    uint8_t len = 0;
    std::optional<uint8_t> next_header{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};
struct Routing {
    uint8_t len = 0;
    uint8_t routing_type = 4;  // segment routing; type 0 is deprecated (RFC 5095)
    uint8_t segments_left = 0;
    std::optional<uint8_t> next_header{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};
// IPv6 fragment header (8 bytes).
struct Fragment6 {
    uint16_t offset = 0;  // in 8-byte units
    bool m = false;       // more fragments
    uint32_t id = 1;
    std::optional<uint8_t> next_header{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct TCP {
    uint16_t sport = 1234;
    uint16_t dport = 80;
    uint32_t seq = 1;
    uint32_t ack = 0;
    uint8_t flags = 0x02;  // SYN
    uint16_t window = 65535;
    Bytes options{};                       // zero-padded to a multiple of 4
    std::optional<uint8_t> data_offset{};  // default (20 + padded options) / 4
    std::optional<uint16_t> checksum{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct UDP {
    uint16_t sport = 1234;
    uint16_t dport = 53;
    std::optional<uint16_t> length{};
    std::optional<uint16_t> checksum{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct ICMP {
    uint8_t type = 8;  // echo request
    uint8_t code = 0;
    uint32_t rest = 0;  // identifier / sequence, or unused
    std::optional<uint16_t> checksum{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct ICMPv6 {
    uint8_t type = 128;  // echo request
    uint8_t code = 0;
    uint32_t rest = 0;
    std::optional<uint16_t> checksum{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

// ESP header (SPI, sequence); what follows is the (pretend) ciphertext.
// Over UDP it is ESP-in-UDP (RFC 3948); spi 0 is then the non-ESP marker of IKE.
struct ESP {
    uint32_t spi = 0x100;
    uint32_t seq = 1;
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct AH {
    uint32_t spi = 0x100;
    uint32_t seq = 1;
    uint8_t len = 4;  // Payload Len field: (total / 4) - 2; 4 = 12-byte header + 12-byte ICV
    std::optional<uint8_t> next_header{};
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

struct Raw {
    Bytes data{};
    static Raw text(const std::string& s) { return Raw{Bytes(s.begin(), s.end())}; }
    static Raw zeros(size_t n) { return Raw{Bytes(n, 0)}; }
    Bytes bytes() const;  // this layer alone, as a one-layer Packet
};

using Layer = std::variant<Ethernet, Vlan, IPv4, IPv6, HopByHop, DestOpts, Routing, Fragment6, TCP, UDP, ICMP,
                           ICMPv6, ESP, AH, Raw>;

template <class T>
concept LayerType = requires(T t) {
    Layer{t};
}
&&!std::is_same_v<std::remove_cvref_t<T>, Layer>;

class Packet {
  public:
    Packet() = default;
    template <LayerType T>
    Packet(T layer) : layers_{Layer{std::move(layer)}} {}

    Packet& push(Layer l) {
        layers_.push_back(std::move(l));
        return *this;
    }
    // Keep only the first n bytes of the finished frame.
    Packet& truncate(size_t n) {
        truncate_ = n;
        return *this;
    }
    // Append n bytes (value fill) after the finished frame, e.g. Ethernet padding.
    Packet& pad(size_t n, uint8_t fill = 0) {
        pad_ = n;
        pad_fill_ = fill;
        return *this;
    }

    Bytes bytes() const;
    const std::vector<Layer>& layers() const { return layers_; }

  private:
    std::vector<Layer> layers_;
    std::optional<size_t> truncate_{};
    size_t pad_ = 0;
    uint8_t pad_fill_ = 0;
};

inline Packet operator/(Packet p, const Packet& q) {
    for (const auto& l : q.layers()) p.push(l);
    return p;
}
inline Packet operator/(Packet p, Layer l) {
    return std::move(p.push(std::move(l)));
}
template <LayerType B>
Packet operator/(Packet p, B b) {
    return std::move(p.push(Layer{std::move(b)}));
}
template <LayerType A, LayerType B>
Packet operator/(A a, B b) {
    return Packet(std::move(a)) / std::move(b);
}

// Internet checksum (RFC 1071) of data, folded, not complemented start value.
uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t initial = 0);

}  // namespace secpol::pkt
