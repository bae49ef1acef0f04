#include "packet/spec.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

#include "ir/passes.h"

namespace secpol::pkt {
namespace {

constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kEsp = 50, kAh = 51, kIcmpv6 = 58;

// Splits on blanks, and around '>' so "a:1>b:2" works too.
std::vector<std::string> tokens(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            flush();
        } else if (c == '>') {
            flush();
            out.push_back(">");
        } else {
            cur += c;
        }
    }
    flush();
    return out;
}

std::optional<uint32_t> number(const std::string& s, uint32_t max) {
    if (s.empty()) return std::nullopt;
    size_t used = 0;
    unsigned long v;
    try {
        v = std::stoul(s, &used, 0);  // decimal, or 0x... for SPIs
    } catch (...) {
        return std::nullopt;
    }
    if (used != s.size() || v > max || s[0] == '-' || s[0] == '+') return std::nullopt;
    return static_cast<uint32_t>(v);
}

struct Endpoint {
    std::string text;
    Addr addr{};
    std::optional<uint16_t> port;
};

// "10.0.0.1", "10.0.0.1:500", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:500".
std::optional<Endpoint> endpoint(const std::string& s, const char* which, std::string* error) {
    Endpoint e;
    std::string port;
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        if (close == std::string::npos)
            return (*error = std::string(which) + " '" + s + "': missing ']'"), std::nullopt;
        e.text = s.substr(1, close - 1);
        std::string rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':')
                return (*error = std::string(which) + " '" + s + "': expected ':PORT' after ']'"),
                       std::nullopt;
            port = rest.substr(1);
            if (port.empty())
                return (*error = std::string(which) + " '" + s + "': missing port"), std::nullopt;
        }
        auto a = net::parse_addr(e.text);
        if (!a || net::is_v4(*a))
            return (*error = std::string(which) + " '" + s + "': not an IPv6 address in brackets"),
                   std::nullopt;
        e.addr = *a;
    } else {
        auto colons = std::count(s.begin(), s.end(), ':');
        e.text = s;
        if (colons == 1) {  // IPv4:port; IPv6 has at least two colons
            e.text = s.substr(0, s.find(':'));
            port = s.substr(s.find(':') + 1);
            if (port.empty())
                return (*error = std::string(which) + " '" + s + "': missing port"), std::nullopt;
        }
        auto a = net::parse_addr(e.text);
        if (!a) {
            std::string hint = colons >= 2 ? " (an IPv6 address with a port is written [ADDR]:PORT)" : "";
            return (*error = std::string(which) + " '" + s + "': not an IPv4 or IPv6 address" + hint),
                   std::nullopt;
        }
        e.addr = *a;
    }
    if (!port.empty()) {
        auto p = number(port, 65535);
        if (!p || !std::isdigit(static_cast<unsigned char>(port[0])))
            return (*error = std::string(which) + " port '" + port + "': not a number 0-65535"), std::nullopt;
        e.port = static_cast<uint16_t>(*p);
    }
    return e;
}

}  // namespace

std::optional<uint8_t> spec_protocol_number(const std::string& name) {
    // The policy language's own names, so a filter's protocol can be pasted into a spec.
    if (auto n = ir::passes::protocol_number(name)) return n;
    if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0])))
        if (auto n = number(name, 255)) return static_cast<uint8_t>(*n);
    return std::nullopt;
}

std::optional<PacketSpec> parse_packet_spec(const std::string& text, std::string* error) {
    std::string ignored;
    if (!error) error = &ignored;
    const std::string usage =
        "expected 'PROTO SRC[:PORT] > DST[:PORT] [type T] [code C] [spi N] [frag N] "
        "[ether-broadcast]'";
    auto t = tokens(text);
    if (t.size() < 4 || t[2] != ">") return (*error = "packet '" + text + "': " + usage), std::nullopt;

    PacketSpec s;
    std::string proto_name = t[0];
    for (auto& c : proto_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto proto = spec_protocol_number(proto_name);
    if (!proto)
        return (*error = "unknown protocol '" + t[0] + "' (a name like tcp, udp, icmp, or 0-255)"),
               std::nullopt;
    s.proto = *proto;

    auto src = endpoint(t[1], "source", error);
    if (!src) return std::nullopt;
    auto dst = endpoint(t[3], "destination", error);
    if (!dst) return std::nullopt;
    s.src = src->addr, s.dst = dst->addr, s.src_text = src->text, s.dst_text = dst->text;
    s.sport = src->port, s.dport = dst->port;
    s.v4 = net::is_v4(s.src);
    if (s.v4 != net::is_v4(s.dst))
        return (*error = "source and destination are of different address families"), std::nullopt;
    if ((s.sport || s.dport) && s.proto != kTcp && s.proto != kUdp)
        return (*error = "ports are only for tcp and udp (icmp takes 'type T code C')"), std::nullopt;

    for (size_t i = 4; i < t.size(); ++i) {
        const std::string& k = t[i];
        if (k == "ether-broadcast") {
            s.eth_broadcast = true;
            continue;
        }
        if (k != "type" && k != "code" && k != "spi" && k != "frag")
            return (*error = "unexpected '" + k + "' in packet spec; " + usage), std::nullopt;
        if (i + 1 >= t.size()) return (*error = "'" + k + "' needs a number"), std::nullopt;
        const std::string& v = t[++i];
        if (k == "type" || k == "code") {
            if (s.proto != kIcmp && s.proto != kIcmpv6)
                return (*error = "'" + k + "' is only for icmp and icmpv6"), std::nullopt;
            auto n = number(v, 255);
            if (!n) return (*error = k + " '" + v + "': not a number 0-255"), std::nullopt;
            (k == "type" ? s.type : s.code) = static_cast<uint8_t>(*n);
        } else if (k == "spi") {
            if (s.proto != kEsp && s.proto != kAh && s.proto != kUdp)
                return (*error = "'spi' is only for esp, ah and udp (ESP-in-UDP)"), std::nullopt;
            auto n = number(v, 0xffffffffu);
            if (!n) return (*error = "spi '" + v + "': not a 32-bit number"), std::nullopt;
            s.spi = *n;
        } else {
            auto n = number(v, 0x1fff);
            if (!n)
                return (*error = "frag '" + v + "': not a fragment offset 0-8191 (8-byte units)"),
                       std::nullopt;
            s.frag = static_cast<uint16_t>(*n);
        }
    }
    if (s.proto == kIcmp && !s.v4)
        return (*error = "icmp is IPv4; use icmpv6 for IPv6 addresses"), std::nullopt;
    if (s.proto == kIcmpv6 && s.v4)
        return (*error = "icmpv6 is IPv6; use icmp for IPv4 addresses"), std::nullopt;
    if (s.frag && *s.frag > 0 && (s.sport || s.dport || s.type || s.code || s.spi))
        return (*error = "a non-first fragment (frag > 0) carries no ports, type, code or spi"), std::nullopt;
    return s;
}

std::string spec_text(const PacketSpec& s) {
    std::ostringstream os;
    os << ir::passes::protocol_name(s.proto) << " ";
    auto endpoint = [&](const std::string& addr, const std::optional<uint16_t>& port) {
        if (!port) return addr;
        return (s.v4 ? addr : "[" + addr + "]") + ":" + std::to_string(*port);
    };
    os << endpoint(s.src_text, s.sport) << " > " << endpoint(s.dst_text, s.dport);
    if (s.type) os << " type " << unsigned(*s.type);
    if (s.code) os << " code " << unsigned(*s.code);
    if (s.spi) os << " spi " << *s.spi;
    if (s.frag) os << " frag " << *s.frag;
    if (s.eth_broadcast) os << " ether-broadcast";
    return os.str();
}

pkt::Packet build_packet(const PacketSpec& s) {
    pkt::Packet p(pkt::Ethernet{.dst = s.eth_broadcast ? pkt::kBroadcastMac : "02:00:00:00:00:02"});
    bool nonfirst = s.frag && *s.frag > 0;
    if (s.v4) {
        p = p / pkt::IPv4{.src = s.src_text,
                          .dst = s.dst_text,
                          .proto = s.proto,
                          .mf = s.frag.has_value() && !nonfirst,
                          .frag_offset = s.frag.value_or(0)};
    } else {
        p = p / pkt::IPv6{.src = s.src_text,
                          .dst = s.dst_text,
                          .next_header = s.frag ? std::nullopt : std::optional(s.proto)};
        if (s.frag) p = p / pkt::Fragment6{.offset = *s.frag, .m = !nonfirst, .next_header = s.proto};
    }
    if (nonfirst) return p / pkt::Raw::zeros(16);  // the middle of some datagram: no header
    switch (s.proto) {
        case kTcp:
            return p / pkt::TCP{.sport = s.sport.value_or(0), .dport = s.dport.value_or(0)};
        case kUdp:
            p = p / pkt::UDP{.sport = s.sport.value_or(0), .dport = s.dport.value_or(0)};
            if (s.spi) p = p / pkt::ESP{.spi = *s.spi} / pkt::Raw::zeros(16);
            return p;
        case kIcmp:
            return p / pkt::ICMP{.type = s.type.value_or(8), .code = s.code.value_or(0)};
        case kIcmpv6:
            return p / pkt::ICMPv6{.type = s.type.value_or(128), .code = s.code.value_or(0)};
        case kEsp:
            return p / pkt::ESP{.spi = s.spi.value_or(0x100)} / pkt::Raw::zeros(16);
        case kAh:
            return p / pkt::AH{.spi = s.spi.value_or(0x100), .next_header = 59};
        default:
            return p / pkt::Raw::zeros(8);
    }
}

}  // namespace secpol::pkt
