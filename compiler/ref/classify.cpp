// Classification, docs/semantics.md sections 2-4. A linear scan of the
// ordered filters: the front end already sorted policy.filters, so "best" is
// simply the first that matches.
#include "ref/classify.h"

#include <string>

namespace secpol::ref {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmpv6 = 58, kRsvp = 46;
constexpr Addr kLimitedBroadcast{0, 0, 0xffff, 0xffffffff};

// Everything classification looks at, gathered once: the parse result plus
// the address flags of section 1.8.
struct Facts {
    const Parsed& p;
    int dir;
    bool src_local, dst_local, mcbc;
    bool transit() const { return !src_local && !dst_local; }
};

bool is_multicast(const Parsed& p) {
    if (p.v4) return (p.dst[3] & 0xf0000000u) == 0xe0000000u;  // 224.0.0.0/4
    return (p.dst[0] >> 24) == 0xff;                           // ff00::/8
}

bool addr_matches(const ir::AddrMatch& m, const Addr& a, bool local, bool v4) {
    switch (m.kind) {
        case ir::AddrMatch::Kind::Any:
            return true;
        case ir::AddrMatch::Kind::Me:
            return local;
        case ir::AddrMatch::Kind::Prefix:
            return m.prefix.v4 == v4 && m.prefix.contains(a.data());
    }
    return false;
}

bool dir_matches(ir::Dir d, int dir) {
    return d == ir::Dir::Both || (d == ir::Dir::In && dir == SECPOL_DIR_IN) ||
           (d == ir::Dir::Out && dir == SECPOL_DIR_OUT);
}

bool in_range(const ir::Range& r, uint32_t v) {
    return r.lo <= v && v <= r.hi;
}

// Section 4.
bool filter_matches(const ir::Policy& policy, const ir::Filter& f, const Facts& x) {
    const Parsed& p = x.p;
    if (!dir_matches(f.dir, x.dir)) return false;
    bool addrs =
        addr_matches(f.src, p.src, x.src_local, p.v4) && addr_matches(f.dst, p.dst, x.dst_local, p.v4);
    bool tunnel_ok = !f.tunnel || (x.transit() && !x.mcbc);

    // As written: protocol, then ports/type/code, which a non-first fragment
    // does not have, so a filter that looks at them never matches one.
    bool proto_ok = !f.proto || *f.proto == p.proto;
    bool l4_ok =
        !f.l4_given || (!p.nonfirst_frag && in_range(f.sport, p.sport) && in_range(f.dport, p.dport));
    if (addrs && tunnel_ok && proto_ok && l4_ok) return true;

    if (!p.ipsec) return false;
    // The protected form hides protocol and ports: a secure filter takes it on addresses alone.
    if (policy.rules.at(f.rule_id).action.kind == ir::Action::Secure && addrs && tunnel_ok) return true;
    // The outer header of a tunnel: between its endpoint and this host.
    if (f.tunnel && !x.mcbc) {
        auto is_endpoint = [&](const Addr& a) {
            return f.endpoint.v4 == p.v4 && f.endpoint.contains(a.data());
        };
        if ((is_endpoint(p.src) && x.dst_local) || (x.src_local && is_endpoint(p.dst))) return true;
    }
    return false;
}

int best_filter(const ir::Policy& policy, const Facts& x) {
    for (size_t i = 0; i < policy.filters.size(); ++i)
        if (filter_matches(policy, policy.filters[i], x)) return static_cast<int>(i);
    return -1;
}

// Section 2.3: the first exemption of the profile that applies, with what
// matched for explain. Port-based exemptions never match a non-first fragment.
struct Exemption {
    unsigned id;
    std::string detail;
};

std::optional<Exemption> find_exemption(uint32_t profile, const Facts& x, const LocalTable& locals) {
    const Parsed& p = x.p;
    auto on = [&](unsigned ex) { return (profile >> ex) & 1u; };
    bool ports = !p.nonfirst_frag;
    auto port = [](uint32_t v) { return std::to_string(v); };

    if (on(SECPOL_EX_BROADCAST)) {
        if (p.v4 && p.dst == kLimitedBroadcast)
            return Exemption{SECPOL_EX_BROADCAST, "limited broadcast 255.255.255.255 (KB253169)"};
    }
    if (on(SECPOL_EX_MULTICAST) && is_multicast(p))
        return Exemption{SECPOL_EX_MULTICAST, p.v4 ? "multicast destination in 224.0.0.0/4 (KB253169)"
                                                   : "multicast destination in ff00::/8 (KB253169)"};
    if (on(SECPOL_EX_RSVP) && p.proto == kRsvp) return Exemption{SECPOL_EX_RSVP, "IP protocol 46 (KB253169)"};
    if (on(SECPOL_EX_IKE) && ports && p.proto == kUdp && p.sport == 500 && p.dport == 500)
        return Exemption{SECPOL_EX_IKE, "UDP source and destination port 500 (KB253169)"};
    if (on(SECPOL_EX_IKE_NATT) && ports && p.proto == kUdp && p.sport == 4500 && p.dport == 4500)
        return Exemption{SECPOL_EX_IKE_NATT,
                         "UDP source and destination port 4500 (IKE NAT traversal, RFC 3947)"};
    if (on(SECPOL_EX_KERBEROS) && ports && (p.proto == kTcp || p.proto == kUdp) &&
        (p.sport == 88 || p.dport == 88))
        return Exemption{SECPOL_EX_KERBEROS, std::string(p.proto == kTcp ? "TCP" : "UDP") +
                                                 " source or destination port 88 (KB253169)"};
    if (on(SECPOL_EX_ND) && ports && !p.v4 && p.proto == kIcmpv6 &&
        ((p.sport >= 130 && p.sport <= 137) || p.sport == 143))
        return Exemption{SECPOL_EX_ND,
                         "ICMPv6 type " + port(p.sport) + " (neighbour discovery / MLD, RFC 4861, RFC 3810)"};
    if (on(SECPOL_EX_DHCP) && ports && p.proto == kUdp) {
        auto both = [&](uint16_t a, uint16_t b) {
            return (p.sport == a || p.sport == b) && (p.dport == a || p.dport == b);
        };
        if (p.v4 && both(67, 68)) return Exemption{SECPOL_EX_DHCP, "DHCP, UDP ports 67/68"};
        if (!p.v4 && both(546, 547)) return Exemption{SECPOL_EX_DHCP, "DHCPv6, UDP ports 546/547"};
    }
    // Last: the only exemption that needs the local table.
    if (on(SECPOL_EX_BROADCAST) && p.v4 && locals.is_bcast(p.dst))
        return Exemption{SECPOL_EX_BROADCAST, "directed broadcast of a local subnet (KB253169)"};
    return std::nullopt;
}

// Section 3.
void apply_action(const ir::Policy& policy, int fi, const Facts& x, Decision& d) {
    const ir::Filter& f = policy.filters[fi];
    const ir::ActionSpec& a = policy.rules.at(f.rule_id).action;
    d.log = policy.rules[f.rule_id].log.has_value();
    d.filter = fi;
    d.rule = f.rule_id;
    d.reason = SECPOL_R_FILTER;
    switch (a.kind) {
        case ir::Action::Permit:
            d.verdict = SECPOL_V_PERMIT;
            d.rule_verdict = SECPOL_RV_PERMIT;
            return;
        case ir::Action::Block:
            d.verdict = SECPOL_V_BLOCK;
            d.rule_verdict = SECPOL_RV_BLOCK;
            return;
        case ir::Action::Secure:
            if (x.p.ipsec) {
                d.verdict = SECPOL_V_PERMIT;
                d.reason = SECPOL_R_IPSEC;
                d.rule_verdict = SECPOL_RV_PROTECTED;
                return;
            }
            // Clear traffic that should have been protected: dropped inbound
            // unless accept-clear, dropped outbound (a leak) unless fallback-clear.
            bool allowed = x.dir == SECPOL_DIR_IN ? a.accept_clear : a.fallback_clear;
            d.verdict = allowed ? SECPOL_V_PERMIT : SECPOL_V_BLOCK;
            d.rule_verdict = allowed ? SECPOL_RV_PERMIT : SECPOL_RV_BLOCK;
            return;
    }
}

void fill_key(const Facts& x, secpol_key& k) {
    const Parsed& p = x.p;
    for (int i = 0; i < 4; ++i) {
        k.w[SECPOL_F_SRC0 + i] = p.src[i];
        k.w[SECPOL_F_DST0 + i] = p.dst[i];
    }
    k.w[SECPOL_F_PROTO] = p.proto;
    k.w[SECPOL_F_SPORT] = p.sport;
    k.w[SECPOL_F_DPORT] = p.dport;
    k.w[SECPOL_F_SRC_LOCAL] = x.src_local;
    k.w[SECPOL_F_DST_LOCAL] = x.dst_local;
    k.w[SECPOL_F_MCBC] = x.mcbc;
    k.w[SECPOL_F_FRAG] = p.nonfirst_frag;
    k.w[SECPOL_F_IPSEC] = p.ipsec;
}

}  // namespace

Decision classify(const ir::Policy& policy, const uint8_t* pkt, size_t len, int dir, const LocalTable& locals,
                  Frame frame) {
    return classify(policy, parse(pkt, len, frame), dir, locals);
}

Decision classify(const ir::Policy& policy, const Parsed& p, int dir, const LocalTable& locals) {
    Decision d;
    d.dir = static_cast<uint32_t>(dir);
    // 2.1
    if (p.kind == Parsed::Kind::Malformed) {
        d.verdict = SECPOL_V_BLOCK;
        d.reason = SECPOL_R_MALFORMED;
        d.detail = p.why;
        return d;
    }
    if (p.kind == Parsed::Kind::NonIp) {
        d.verdict = policy.nonip_action == ir::Action::Block ? SECPOL_V_BLOCK : SECPOL_V_PERMIT;
        d.reason = SECPOL_R_NONIP;
        return d;
    }
    // 1.8 address flags: by the IP destination alone (a unicast IP packet in
    // an Ethernet broadcast frame is unicast).
    bool mcbc = is_multicast(p) || (p.v4 && (p.dst == kLimitedBroadcast || locals.is_bcast(p.dst)));
    Facts x{p, dir, locals.is_local(p.src), locals.is_local(p.dst), mcbc};
    fill_key(x, d.key);

    int best = best_filter(policy, x);
    // 2.2 Routed traffic under a tunnel filter is not exempt (KB253169).
    if (best >= 0 && policy.filters[best].tunnel && x.transit() && !x.mcbc) {
        apply_action(policy, best, x, d);
        return d;
    }
    // 2.3
    if (auto ex = find_exemption(policy.exemptions, x, locals)) {
        d.verdict = SECPOL_V_PERMIT;
        d.reason = SECPOL_R_EXEMPTION;
        d.exemption = ex->id;
        d.detail = ex->detail;
        return d;
    }
    // 2.4
    if (best >= 0) {
        apply_action(policy, best, x, d);
        return d;
    }
    // 2.5
    d.verdict = policy.default_action == ir::Action::Block ? SECPOL_V_BLOCK : SECPOL_V_PERMIT;
    d.reason = p.nonfirst_frag ? SECPOL_R_FRAGMENT : SECPOL_R_DEFAULT;
    d.log = policy.default_log.has_value();
    return d;
}

const char* verdict_name(uint32_t v) {
    switch (v) {
        case SECPOL_V_PERMIT:
            return "permit";
        case SECPOL_V_BLOCK:
            return "block";
    }
    return "?";
}

const char* reason_name(uint32_t r) {
    switch (r) {
        case SECPOL_R_EXEMPTION:
            return "exemption";
        case SECPOL_R_IPSEC:
            return "ipsec";
        case SECPOL_R_FILTER:
            return "filter";
        case SECPOL_R_DEFAULT:
            return "default";
        case SECPOL_R_MALFORMED:
            return "malformed";
        case SECPOL_R_FRAGMENT:
            return "fragment";
        case SECPOL_R_NONIP:
            return "non-ip";
    }
    return "?";
}

static const char* rule_verdict_name(uint32_t rv) {
    switch (rv) {
        case SECPOL_RV_PERMIT:
            return "permit";
        case SECPOL_RV_BLOCK:
            return "block";
        case SECPOL_RV_PROTECTED:
            return "protected";
    }
    return "?";
}

nlohmann::json decision_json(const ir::Policy& policy, const Decision& d) {
    nlohmann::json j;
    j["verdict"] = verdict_name(d.verdict);
    j["reason"] = reason_name(d.reason);
    j["dir"] = d.dir == SECPOL_DIR_OUT ? "out" : "in";
    if (d.reason == SECPOL_R_EXEMPTION) j["exemption"] = ir::exemption_name(d.exemption);
    if (!d.detail.empty()) j["detail"] = d.detail;
    if (d.log) j["log"] = true;
    if (d.reason == SECPOL_R_FILTER || d.reason == SECPOL_R_IPSEC) {
        nlohmann::json f{{"id", d.rule}};
        if (d.rule < policy.rules.size()) {
            const ir::Rule& r = policy.rules[d.rule];
            f["label"] = r.label;
            f["line"] = r.loc.line;
            f["action"] = r.action.name.empty() ? ir::to_string(r.action.kind) : r.action.name;
            if (!r.text.empty()) f["text"] = r.text;
        }
        if (d.filter >= 0 && static_cast<size_t>(d.filter) < policy.filters.size())
            f["reversed"] = policy.filters[d.filter].reversed;
        j["filter"] = f;
        j["rule_verdict"] = rule_verdict_name(d.rule_verdict);
    }
    if (d.reason != SECPOL_R_MALFORMED && d.reason != SECPOL_R_NONIP) {
        const auto& w = d.key.w;
        Addr src{w[SECPOL_F_SRC0], w[SECPOL_F_SRC1], w[SECPOL_F_SRC2], w[SECPOL_F_SRC3]};
        Addr dst{w[SECPOL_F_DST0], w[SECPOL_F_DST1], w[SECPOL_F_DST2], w[SECPOL_F_DST3]};
        j["key"] = {{"src", net::addr_str(src)},
                    {"dst", net::addr_str(dst)},
                    {"proto", w[SECPOL_F_PROTO]},
                    {"sport", w[SECPOL_F_SPORT]},
                    {"dport", w[SECPOL_F_DPORT]},
                    {"src_local", w[SECPOL_F_SRC_LOCAL] != 0},
                    {"dst_local", w[SECPOL_F_DST_LOCAL] != 0},
                    {"mcbc", w[SECPOL_F_MCBC] != 0},
                    {"frag", w[SECPOL_F_FRAG] != 0},
                    {"ipsec", w[SECPOL_F_IPSEC] != 0}};
    }
    return j;
}

}  // namespace secpol::ref
