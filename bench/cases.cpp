#include "cases.h"

#include <sstream>
#include <stdexcept>

#include "gen/packets.h"

namespace secpol::bench {

Frame frame(pkt::Packet p) {
    return p.bytes();
}

Frame floor_packet() {
    return frame(pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{});
}

gen::Options special_options(bool with_me) {
    gen::Options o;
    o.filters = 100;
    o.seed = 42;
    o.me_share = with_me ? 0.1 : 0;
    return o;
}

std::string special_name(bool with_me) {
    return with_me ? "special-100-me" : "special-100";
}

std::vector<Frame> spread_trace(const backend::Compiled& c, const net::LocalTable& locals, unsigned seed) {
    gen::PacketGen pg(c.policy, locals, seed);
    std::vector<Frame> t;
    for (unsigned i = 0; i < 50; ++i)
        t.push_back(pg.aimed(c.policy.filters[(i * c.policy.filters.size()) / 50]));
    return t;
}

std::vector<FixedPacket> fixed_packets() {
    using namespace pkt;
    const IPv4 v4{.src = "10.9.0.1", .dst = "10.9.0.2"};
    // Neither address is in host_locals()' IPv6 subnets.
    const IPv6 v6{.src = "2001:db8:9::1", .dst = "2001:db8:9::2"};
    return {
        {"exemption ike (udp 500>500)", frame(Ethernet{} / v4 / UDP{.sport = 500, .dport = 500})},
        {"exemption kerberos (tcp >88)", frame(Ethernet{} / v4 / TCP{.sport = 40000, .dport = 88})},
        {"exemption multicast (224.0.0.251)",
         frame(Ethernet{} / IPv4{.src = "10.9.0.1", .dst = "224.0.0.251"} /
               UDP{.sport = 5353, .dport = 5353})},
        {"exemption broadcast (255.255.255.255)",
         frame(Ethernet{.dst = kBroadcastMac} / IPv4{.src = "10.9.0.1", .dst = "255.255.255.255"} /
               UDP{.sport = 68, .dport = 67})},
        {"exemption rsvp (proto 46)",
         frame(Ethernet{} / IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 46} / Raw::zeros(20))},
        {"exemption directed broadcast (10.0.1.255)",
         frame(Ethernet{} / IPv4{.src = "10.9.0.1", .dst = "10.0.1.255"} / UDP{.sport = 40000, .dport = 9})},
        {"ESP, no filter (default)",
         frame(Ethernet{} / IPv4{.src = "172.16.0.1", .dst = "172.16.0.2"} / ESP{})},
        {"default verdict (no filter matches)",
         frame(Ethernet{} / IPv4{.src = "172.16.0.1", .dst = "172.16.0.2"} /
               UDP{.sport = 40000, .dport = 40001})},
        {"to a local address (10.0.1.1)", frame(Ethernet{} / IPv4{.src = "172.16.0.1", .dst = "10.0.1.1"} /
                                                UDP{.sport = 40000, .dport = 40001})},
        {"malformed (IHL 3)", frame(Ethernet{} / IPv4{.ihl = 3} / UDP{})},
        {"non-IP (ARP)", frame(Ethernet{.type = 0x0806} / Raw::zeros(28))},
        {"IPv6 default verdict (no filter matches)",
         frame(Ethernet{} / v6 / UDP{.sport = 40000, .dport = 40001})},
        {"exemption kerberos, IPv6 (tcp >88)", frame(Ethernet{} / v6 / TCP{.sport = 40000, .dport = 88})},
    };
}

backend::Compiled compile_text(const std::string& text, const std::string& name) {
    front::Diagnostics d;
    auto r = backend::compile_policy_text(text, name, d);
    if (!r || !r->has_value()) {
        std::ostringstream os;
        if (!r) os << r.error().message << "\n";
        d.print(os, text);
        throw std::runtime_error(name + ": does not compile\n" + os.str());
    }
    return std::move(**r);
}

}  // namespace secpol::bench
