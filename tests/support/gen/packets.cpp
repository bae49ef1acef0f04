#include "gen/packets.h"

#include <optional>

#include "packet/builder.h"

namespace secpol::gen {

PacketGen::PacketGen(const ir::Policy& policy, const net::LocalTable& locals, uint64_t seed)
    : policy_(policy), locals_(locals), rng_(seed) {}

net::LocalTable default_locals() {
    net::LocalTable t;
    t.add("10.0.1.1/24");
    t.add("10.0.2.1/16");
    t.add("192.0.2.7/24");
    t.add("2001:db8:1::1");
    t.add("2001:db8::7");
    return t;
}

net::Addr PacketGen::random_addr(bool v6) {
    // Small pools, so random packets land on the generator's random filters.
    if (!v6) {
        static const uint32_t special[] = {0xe00000fb /*224.0.0.251*/, 0xffffffff, 0x0a0001ff, 0xc0000207,
                                           0xc6336401 /*198.51.100.1*/};
        if (chance(0.1)) return {0, 0, 0xffff, special[below(5)]};
        return {0, 0, 0xffff, 0x0a000000u | (below(4) << 16) | (below(4) << 8) | below(8)};
    }
    if (chance(0.1)) return {0xff020000, 0, 0, 0xfb};
    return {0x20010db8, below(4) << 16, 0, below(8)};
}

net::Addr PacketGen::pick_addr(const ir::AddrMatch& m, bool v6) {
    using K = ir::AddrMatch::Kind;
    if (m.kind == K::Me) {
        std::vector<net::Addr> fam;
        for (const auto& a : locals_.addrs)
            if (net::is_v4(a) != v6) fam.push_back(a);
        if (!fam.empty() && chance(0.9)) return fam[below(fam.size())];
        return random_addr(v6);
    }
    if (m.kind == K::Any || chance(0.05)) return random_addr(v6);
    net::Addr a;
    unsigned bits = m.prefix.len;
    for (int i = 0; i < 4; ++i) {
        uint32_t r = static_cast<uint32_t>(rng_());
        uint32_t keep = bits >= 32 ? 0xffffffffu : (bits == 0 ? 0 : ~(0xffffffffu >> bits));
        a[i] = (m.prefix.w[i] & keep) | (r & ~keep);
        // Keep host parts small sometimes so the packet can hit other filters' hosts too.
        if (!keep && chance(0.5)) a[i] &= 7;
        bits = bits >= 32 ? bits - 32 : 0;
    }
    return a;
}

static uint16_t in_range(std::mt19937_64& rng, const ir::Range& r) {
    if (r.lo == r.hi) return static_cast<uint16_t>(r.lo);
    switch (rng() % 4) {
        case 0:
            return static_cast<uint16_t>(r.lo);
        case 1:
            return static_cast<uint16_t>(r.hi);
        default:
            return static_cast<uint16_t>(r.lo + rng() % (r.hi - r.lo + 1));
    }
}

std::vector<uint8_t> PacketGen::aimed(const ir::Filter& f) {
    using K = ir::AddrMatch::Kind;
    bool v6;
    if (f.src.kind == K::Prefix)
        v6 = !f.src.prefix.v4;
    else if (f.dst.kind == K::Prefix)
        v6 = !f.dst.prefix.v4;
    else
        v6 = chance(0.3);
    net::Addr src = pick_addr(f.src, v6), dst = pick_addr(f.dst, v6);
    if (f.tunnel &&
        chance(0.3)) {  // the tunnel's protected form: ESP between a local address and the endpoint
        net::Addr ep = f.endpoint.w;
        ir::AddrMatch me;
        me.kind = K::Me;
        net::Addr local = pick_addr(me, !f.endpoint.v4);
        src = chance(0.5) ? ep : local;
        dst = src == ep ? local : ep;
        v6 = !f.endpoint.v4;
    }
    uint8_t proto = f.proto ? *f.proto : std::vector<uint8_t>{6, 17, 1, 58, 50, 51, 46, 47}[below(8)];
    if (!v6 && proto == 58) proto = 1;
    if (v6 && proto == 1) proto = 58;
    uint16_t sp = in_range(rng_, f.sport), dp = in_range(rng_, f.dport);
    if (!f.l4_given && chance(0.3)) {  // well-known ports so exemptions get exercised
        static const uint16_t wk[] = {500, 4500, 88, 67, 68, 546, 547, 80, 445};
        sp = wk[below(9)];
        dp = chance(0.5) ? sp : wk[below(9)];
    }

    pkt::Packet p = pkt::Ethernet{.dst = chance(0.03) ? pkt::kBroadcastMac : "02:00:00:00:00:02"};
    if (chance(0.1)) p = p / pkt::Vlan{.vid = static_cast<uint16_t>(below(4095))};
    // Protocols without a builder layer need their number written into the header before them.
    const bool raw = proto != 6 && proto != 17 && proto != 1 && proto != 58 && proto != 50 && proto != 51;
    std::optional<uint8_t> nh = raw ? std::optional<uint8_t>(proto) : std::nullopt;
    if (v6) {
        const bool hbh = chance(0.1), frag = chance(0.05);
        p = p / pkt::IPv6{.src = net::addr_str(src),
                          .dst = net::addr_str(dst),
                          .next_header = hbh || frag ? std::nullopt : nh};
        if (hbh) p = p / pkt::HopByHop{.next_header = frag ? std::nullopt : nh};
        if (frag) p = p / pkt::Fragment6{.offset = 0, .m = chance(0.5), .next_header = nh};
    } else {
        p = p / pkt::IPv4{
                    .src = net::addr_str(src), .dst = net::addr_str(dst), .proto = proto, .mf = chance(0.05)};
    }
    switch (proto) {
        case 6:
            p = p / pkt::TCP{.sport = sp, .dport = dp};
            break;
        case 17:
            p = p / pkt::UDP{.sport = sp, .dport = dp};
            if (sp == 4500 || dp == 4500) p = p / pkt::ESP{.spi = chance(0.3) ? 0u : 0x1234u};
            break;
        case 1:
            p = p / pkt::ICMP{.type = static_cast<uint8_t>(sp), .code = static_cast<uint8_t>(dp)};
            break;
        case 58:
            p = p / pkt::ICMPv6{.type = static_cast<uint8_t>(sp), .code = static_cast<uint8_t>(dp)};
            break;
        case 50:
            p = p / pkt::ESP{};
            break;
        case 51:
            p = p / pkt::AH{} / pkt::Raw::zeros(8);
            break;
        default:
            p = p / pkt::Raw::zeros(16);
            break;
    }
    try {
        return p.bytes();
    } catch (const std::exception&) {
        return pkt::Packet(pkt::Ethernet{}).bytes();
    }
}

std::vector<uint8_t> PacketGen::mutate(std::vector<uint8_t> f) {
    if (f.size() < 15) return f;
    switch (below(8)) {
        case 0:
            f.resize(14 + below(f.size() - 14));
            break;  // truncate anywhere after Ethernet
        case 1:
            f[14 + below(std::min<size_t>(f.size() - 14, 60))] ^= static_cast<uint8_t>(1u << below(8));
            break;
        case 2:  // random IHL / version nibble
            if (f[12] == 0x08 && f[13] == 0x00)
                f[14] = static_cast<uint8_t>((f[14] & 0xf0) | below(16));
            else
                f[14] = static_cast<uint8_t>((below(16) << 4) | (f[14] & 0x0f));
            break;
        case 3:  // fragment offset
            if (f[12] == 0x08 && f[13] == 0x00 && f.size() > 21) {
                f[20] = static_cast<uint8_t>(below(4) == 0 ? 0x20 : below(3));
                f[21] = static_cast<uint8_t>(below(3));
            }
            break;
        case 4:  // length fields
            if (f.size() > 19) {
                f[16 + (f[12] == 0x86 ? 2 : 0)] = static_cast<uint8_t>(below(256));
            }
            break;
        case 5:
            f.resize(f.size() + below(40), static_cast<uint8_t>(below(256)));
            break;  // trailing junk
        default:
            break;
    }
    return f;
}

std::vector<uint8_t> PacketGen::adversarial() {
    unsigned k = below(6);
    if (k == 0) {  // raw junk after a plausible Ethernet header
        std::vector<uint8_t> f(14 + below(80));
        for (auto& b : f) b = static_cast<uint8_t>(rng_());
        static const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806};
        uint16_t t = types[below(5)];
        f[12] = static_cast<uint8_t>(t >> 8);
        f[13] = static_cast<uint8_t>(t);
        if (t == 0x0800 && f.size() > 14) f[14] = static_cast<uint8_t>(0x40 | (f[14] & 0x0f));
        if (t == 0x86dd && f.size() > 14) f[14] = static_cast<uint8_t>(0x60 | (f[14] & 0x0f));
        return f;
    }
    if (k == 1) {  // VLAN stacks of 0..3 tags
        pkt::Packet p = pkt::Ethernet{};
        unsigned tags = below(4);
        for (unsigned i = 0; i < tags; ++i)
            p = p / pkt::Vlan{.vid = 1, .tpid = chance(0.5) ? uint16_t(0x8100) : uint16_t(0x88a8)};
        p = p / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.1.1"} / pkt::UDP{.sport = 500, .dport = 500};
        return mutate(p.bytes());
    }
    if (k == 2) {  // IPv6 extension-header chains, some longer than the parser's bound
        pkt::Packet p = pkt::Ethernet{} / pkt::IPv6{.src = "2001:db8::9", .dst = "2001:db8:1::1"};
        unsigned n = below(11);
        for (unsigned i = 0; i < n; ++i) {
            switch (below(4)) {
                case 0:
                    p = p / pkt::HopByHop{.len = static_cast<uint8_t>(below(3))};
                    break;
                case 1:
                    p = p / pkt::DestOpts{.len = static_cast<uint8_t>(below(3))};
                    break;
                case 2:
                    p = p / pkt::Routing{};
                    break;
                default:
                    p = p / pkt::Fragment6{.offset = static_cast<uint16_t>(chance(0.7) ? 0 : below(200)),
                                           .m = chance(0.5)};
                    break;
            }
        }
        p = p / pkt::TCP{.sport = 88, .dport = 1234};
        return mutate(p.bytes());
    }
    if (k == 3) {  // IPv4 fragments, tiny and overlapping
        pkt::Packet p = pkt::Ethernet{} / pkt::IPv4{.src = "10.0.2.3",
                                                    .dst = "10.0.1.1",
                                                    .mf = chance(0.5),
                                                    .frag_offset = static_cast<uint16_t>(below(3))};
        p.push(chance(0.5) ? pkt::Layer{pkt::TCP{.sport = 1234, .dport = 445}}
                           : pkt::Layer{pkt::UDP{.sport = 88, .dport = 88}});
        if (chance(0.5)) p.truncate(14 + 20 + below(20));
        return p.bytes();
    }
    if (k == 4) {  // IPv4 options and IHL lies
        pkt::Packet p =
            pkt::Ethernet{} /
            pkt::IPv4{.src = "10.0.0.5", .dst = "224.0.0.251", .options = pkt::Bytes(4 * below(11), 1)} /
            pkt::UDP{.sport = 5353, .dport = 5353};
        return mutate(p.bytes());
    }
    if (policy_.filters.empty()) return mutate(pkt::Packet(pkt::Ethernet{}).bytes());
    return mutate(aimed(policy_.filters[below(policy_.filters.size())]));
}

std::vector<uint8_t> PacketGen::next() {
    if (policy_.filters.empty() || chance(0.25)) return adversarial();
    auto f = aimed(policy_.filters[below(policy_.filters.size())]);
    return chance(0.2) ? mutate(std::move(f)) : f;
}

}  // namespace secpol::gen
