// The packet spec of `secpol explain --packet`: one packet in one line,
//
//   PROTO SRC[:PORT] > DST[:PORT] [type T] [code C] [spi N] [frag OFFSET] [ether-broadcast]
//
// PROTO is a protocol name (tcp, udp, icmp, icmpv6, esp, ah, rsvp, gre, ...)
// or a number 0-255; IPv6 addresses are bracketed when a port follows
// ([2001:db8::1]:500) and may be bare otherwise. Ports are for tcp/udp
// (omitted: 0), type/code for icmp/icmpv6 (default echo request, code 0).
// `spi N` gives the SPI of esp/ah, or turns udp into ESP-in-UDP (spi 0 is
// the non-ESP marker of IKE on 4500). `frag 0` makes a first fragment (MF set,
// or an IPv6 fragment header with M=1), `frag N` a non-first fragment at
// N*8 bytes (no L4 header, so no ports). `ether-broadcast` sends the frame to
// ff:ff:ff:ff:ff:ff.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net/local.h"
#include "packet/builder.h"

namespace secpol::pkt {

using net::Addr;

struct PacketSpec {
    uint8_t proto = 0;
    Addr src{}, dst{};
    std::string src_text, dst_text;  // addresses as written (without brackets)
    bool v4 = true;
    std::optional<uint16_t> sport, dport;
    std::optional<uint8_t> type, code;
    std::optional<uint32_t> spi;
    std::optional<uint16_t> frag;
    bool eth_broadcast = false;
};

// Parses the spec; on error returns nullopt and sets *error to a message
// that names the offending part.
std::optional<PacketSpec> parse_packet_spec(const std::string& text, std::string* error);

// The spec as parse_packet_spec reads it back (what explain and diff print).
std::string spec_text(const PacketSpec& spec);

// The frame the spec describes, from the Ethernet header on.
pkt::Packet build_packet(const PacketSpec& spec);

// Protocol numbers of the names explain accepts (the policy language's names).
std::optional<uint8_t> spec_protocol_number(const std::string& name);

}  // namespace secpol::pkt
