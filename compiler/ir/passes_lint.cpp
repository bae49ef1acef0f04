// lint: warnings about a valid policy that probably does not do what its
// author meant. Used by `secpol check`; never changes the policy.
#include <map>
#include <set>

#include "ir/passes.h"

namespace secpol::ir::passes {

bool addr_covers(const AddrMatch& a, const AddrMatch& b) {
    switch (a.kind) {
        case AddrMatch::Kind::Any:
            return true;
        case AddrMatch::Kind::Me:
            return b.kind == AddrMatch::Kind::Me;
        case AddrMatch::Kind::Prefix:
            return b.kind == AddrMatch::Kind::Prefix && a.prefix.v4 == b.prefix.v4 &&
                   a.prefix.len <= b.prefix.len && a.prefix.contains(b.prefix.w.data());
    }
    return false;
}

// `me` against a prefix is unknown until load time; it is not counted as an
// overlap so the lint never warns about addresses the host may not have.
bool addr_overlaps(const AddrMatch& a, const AddrMatch& b) {
    if (a.kind == AddrMatch::Kind::Any || b.kind == AddrMatch::Kind::Any) return true;
    if (a.kind == AddrMatch::Kind::Me || b.kind == AddrMatch::Kind::Me) return a.kind == b.kind;
    return addr_covers(a, b) || addr_covers(b, a);
}

namespace {

constexpr size_t kQuadraticLimit = 20000;

// Hints are whole statements a user can paste into the policy (a unit test
// parses every hint the lints emit).
constexpr const char* kNdHint = "permit proto icmpv6 type 133-137 from any to any";

bool range_covers(const Range& a, const Range& b) {
    return a.lo <= b.lo && b.hi <= a.hi;
}
bool range_overlaps(const Range& a, const Range& b) {
    return a.lo <= b.hi && b.lo <= a.hi;
}

const Rule& rule_of(const Policy& p, const Filter& f) {
    return p.rules[f.rule_id];
}

std::string named(const Rule& r) {
    return "\"" + r.label + "\" (line " + std::to_string(r.loc.line) + ")";
}

// Every packet b matches, a matches too (a secure filter b also matches
// protected packets on its addresses alone, so a must as well).
// A flow (b_is_flow) is a set of clear packets, not a filter.
bool covers(const Policy& p, const Filter& a, const Filter& b, bool b_is_flow = false) {
    if (a.dir != Dir::Both && a.dir != b.dir) return false;
    if (a.tunnel != b.tunnel || (a.tunnel && a.endpoint.w != b.endpoint.w)) return false;
    if (!addr_covers(a.src, b.src) || !addr_covers(a.dst, b.dst)) return false;
    if (a.proto && (!b.proto || *a.proto != *b.proto)) return false;
    if (a.l4_given && !b.l4_given) return false;  // a port filter never matches a non-first fragment
    if (!range_covers(a.sport, b.sport) || !range_covers(a.dport, b.dport)) return false;
    const bool b_protected_too =
        !b_is_flow && rule_of(p, b).action.kind == Action::Secure && (b.proto || b.l4_given);
    if (b_protected_too && rule_of(p, a).action.kind != Action::Secure && (a.proto || a.l4_given))
        return false;
    return true;
}

bool overlaps(const Filter& a, const Filter& b) {
    if (a.dir != Dir::Both && b.dir != Dir::Both && a.dir != b.dir) return false;
    if (a.tunnel != b.tunnel) return false;
    if (!addr_overlaps(a.src, b.src) || !addr_overlaps(a.dst, b.dst)) return false;
    if (a.proto && b.proto && *a.proto != *b.proto) return false;
    return range_overlaps(a.sport, b.sport) && range_overlaps(a.dport, b.dport);
}

// An action as the policy spells it: "secure accept-clear", not just "secure".
std::string spelled(const ActionSpec& a) {
    std::string s = to_string(a.kind);
    if (a.accept_clear) s += " accept-clear";
    if (a.fallback_clear) s += " fallback-clear";
    return s;
}

bool same_action(const ActionSpec& a, const ActionSpec& b) {
    return a.kind == b.kind && a.accept_clear == b.accept_clear && a.fallback_clear == b.fallback_clear;
}

// Does the filter's action let clear traffic of that direction through?
bool passes_clear(const ActionSpec& a, Dir d) {
    if (a.kind == Action::Permit) return true;
    if (a.kind == Action::Secure) return d == Dir::In ? a.accept_clear : a.fallback_clear;
    return false;
}

void lint_shadowed(const Policy& p, front::Diagnostics& diags) {
    const auto& fs = p.filters;
    std::vector<bool> reached(p.rules.size(), false), has_filters(p.rules.size(), false);
    std::vector<int> shadow_by(p.rules.size(), -1);
    std::vector<std::set<uint32_t>> shadowers(p.rules.size());
    for (size_t i = 0; i < fs.size(); ++i) {
        const uint32_t r = fs[i].rule_id;
        has_filters[r] = true;
        if (reached[r]) continue;
        int by = -1;
        for (size_t j = 0; j < i && by < 0; ++j)
            if (fs[j].rule_id != r && covers(p, fs[j], fs[i])) by = static_cast<int>(fs[j].rule_id);
        if (by < 0) {
            reached[r] = true;
            continue;
        }
        if (shadow_by[r] < 0) shadow_by[r] = by;
        shadowers[r].insert(static_cast<uint32_t>(by));
    }
    for (const Rule& r : p.rules) {
        if (!has_filters[r.id] || reached[r.id]) continue;
        const Rule& by = p.rules[shadow_by[r.id]];
        std::string msg = "rule " + named(r) +
                          " is never reached: every packet it matches is decided first by " + named(by);
        if (shadowers[r.id].size() > 1)
            msg += " and " + std::to_string(shadowers[r.id].size() - 1) + " other rule" +
                   (shadowers[r.id].size() > 2 ? "s" : "");
        diags.warning(r.loc, msg);
    }
}

void lint_equal_specificity(const Policy& p, front::Diagnostics& diags) {
    if (p.order != Order::Specificity) return;
    const auto& fs = p.filters;
    std::set<std::pair<uint32_t, uint32_t>> reported;
    for (size_t g = 0; g < fs.size();) {
        size_t e = g;
        while (e < fs.size() && fs[e].spec == fs[g].spec) ++e;
        for (size_t i = g; i < e; ++i)
            for (size_t j = i + 1; j < e; ++j) {
                const Rule& a = rule_of(p, fs[i]);
                const Rule& b = rule_of(p, fs[j]);
                if (a.id == b.id || same_action(a.action, b.action) || !overlaps(fs[i], fs[j])) continue;
                if (!reported.emplace(std::min(a.id, b.id), std::max(a.id, b.id)).second) continue;
                const bool by_action = restrictiveness(a.action.kind) != restrictiveness(b.action.kind);
                diags.warning(
                    b.loc, "rules " + named(a) + " and " + named(b) +
                               " overlap at equal specificity with different actions (" + spelled(a.action) +
                               " vs " + spelled(b.action) + "); " + named(a) + " wins " +
                               (by_action ? "because it is more restrictive" : "because it comes first"));
            }
        g = e;
    }
}

// The filter that decides every packet of `flow` (the first that covers it), or null.
const Filter* decider(const Policy& p, const Filter& flow) {
    for (const Filter& f : p.filters)
        if (covers(p, f, flow, true)) return &f;
    return nullptr;
}

std::string spelled(const AddrMatch& a) {
    switch (a.kind) {
        case AddrMatch::Kind::Any:
            return "any";
        case AddrMatch::Kind::Me:
            return "me";
        case AddrMatch::Kind::Prefix:
            return a.prefix.str();
    }
    return "any";
}

// IKE between exactly the flow's addresses: as specific as the secure filter
// in addresses and more in protocol and ports, so it wins under specificity.
std::string ike_hint(const Filter& flow, uint32_t port) {
    const std::string ps = std::to_string(port);
    return "permit proto udp from " + spelled(flow.src) + " port " + ps + " to " + spelled(flow.dst) +
           " port " + ps + " mirrored";
}

// IKE as the exported swanctl.conf runs it (`secpol export swanctl`): UDP
// 500 to 500 between the filter's addresses (transport) or between this host
// and the tunnel endpoint; with the action's `nat-t` (or a NAT on the way)
// IKE moves to UDP 4500 to 4500 after IKE_SA_INIT, so that must pass too.
void lint_ike(const Policy& p, front::Diagnostics& diags) {
    std::set<uint32_t> warned;
    for (const Filter& f : p.filters) {
        const Rule& r = rule_of(p, f);
        if (r.action.kind != Action::Secure || warned.count(r.id)) continue;
        std::vector<std::pair<uint32_t, unsigned>> ports;  // port, exemption that covers it
        ports.push_back({500, SECPOL_EX_IKE});
        if (r.action.negotiation.nat_t) ports.push_back({4500, SECPOL_EX_IKE_NATT});
        for (auto [port, ex] : ports) {
            if (p.exemptions & (1u << ex)) continue;
            // IKE flows the filter needs: between its own addresses, or with the
            // tunnel endpoint for a tunnel filter.
            std::vector<Filter> flows;
            Filter ike;
            ike.proto = 17;
            ike.sport = ike.dport = Range{port, port};
            ike.l4_given = true;
            ike.rule_id = f.rule_id;
            if (f.tunnel) {
                AddrMatch me{AddrMatch::Kind::Me, {}}, ep{AddrMatch::Kind::Prefix, f.endpoint};
                ike.dir = Dir::Out, ike.src = me, ike.dst = ep;
                flows.push_back(ike);
                ike.dir = Dir::In, ike.src = ep, ike.dst = me;
                flows.push_back(ike);
            } else {
                ike.src = f.src, ike.dst = f.dst;
                for (Dir d : {Dir::In, Dir::Out})
                    if (f.dir == Dir::Both || f.dir == d) ike.dir = d, flows.push_back(ike);
            }
            bool bad = false;
            for (const Filter& flow : flows) {
                const Filter* by = decider(p, flow);
                const bool ok =
                    by ? passes_clear(rule_of(p, *by).action, flow.dir) : p.default_action == Action::Permit;
                if (ok) continue;
                bad = true;
                std::string who =
                    by ? "decided by rule " + named(rule_of(p, *by)) : "blocked by 'default block'";
                const std::string ps = std::to_string(port);
                diags.warning(r.loc, "secure rule " + named(r) + ": its IKE traffic (UDP " + ps + " to " +
                                         ps + (port == 4500 ? " with the action's nat-t" : "") + ", " +
                                         to_string(flow.dir) + "bound) is neither exempt nor permitted (" +
                                         who + "), so IPsec negotiation can never " +
                                         (port == 4500 ? "complete" : "start") + "; add '" +
                                         exemption_name(ex) + "' to the exemptions or permit it" +
                                         (p.order == Order::FirstMatch ? " above the rule" : "") + ": '" +
                                         ike_hint(flow, port) + "'");
                break;
            }
            if (bad) {
                warned.insert(r.id);
                break;
            }
        }
    }
}

void lint_nd(const Policy& p, front::Diagnostics& diags) {
    if (p.default_action != Action::Block || (p.exemptions & (1u << SECPOL_EX_ND))) return;
    const AddrMatch any{}, me{AddrMatch::Kind::Me, {}};
    // Neighbour solicitation and advertisement, both ways between this host and any neighbour.
    for (uint32_t type : {135u, 136u})
        for (Dir d : {Dir::In, Dir::Out}) {
            const AddrMatch& src = d == Dir::In ? any : me;
            const AddrMatch& dst = d == Dir::In ? me : any;
            // Walk the filters in order: a permit that may match part of the flow
            // (an IPv6 prefix, say fe80::/10) is taken as intent to allow ND; a
            // filter that matches all of the flow and does not pass it decides.
            auto may_match = [&](const Filter& f, bool& whole) {
                whole = true;
                if (f.dir != Dir::Both && f.dir != d) return false;
                if (f.tunnel || (f.proto && *f.proto != 58)) return false;
                if (f.l4_given && !(f.sport.lo <= type && type <= f.sport.hi && f.dport.lo == 0))
                    return false;
                for (auto [fa, flow] : {std::pair{&f.src, &src}, std::pair{&f.dst, &dst}}) {
                    if (fa->kind == AddrMatch::Kind::Prefix && fa->prefix.v4) return false;
                    if (fa->kind == AddrMatch::Kind::Me && flow->kind != AddrMatch::Kind::Me) whole = false;
                    if (fa->kind == AddrMatch::Kind::Prefix) whole = false;
                }
                return true;
            };
            const Filter* by = nullptr;
            bool allowed = false;
            for (const Filter& f : p.filters) {
                bool whole;
                if (!may_match(f, whole)) continue;
                if (passes_clear(rule_of(p, f).action, d)) {
                    allowed = true;
                    break;
                }
                if (whole) {
                    by = &f;
                    break;
                }
            }
            if (allowed) continue;
            SourceLoc loc = p.default_loc.line ? p.default_loc : SourceLoc{p.file, 0, 0};
            diags.warning(loc, std::string("IPv6 neighbour discovery (ICMPv6 type ") + std::to_string(type) +
                                   ", " + to_string(d) +
                                   "bound) is neither exempt nor permitted under 'default block'" +
                                   (by ? " (" + named(rule_of(p, *by)) + " decides it)" : "") +
                                   ", so IPv6 neighbours cannot be resolved; add 'nd' to the exemptions or "
                                   "permit it: '" +
                                   kNdHint + "'");
            return;
        }
}

bool within(const Range& r, uint32_t lo, uint32_t hi) {
    return lo <= r.lo && r.hi <= hi;
}

bool is_multicast(const Prefix& p) {
    if (p.v4) return p.len >= 96 + 4 && (p.w[3] >> 28) == 0xe;
    return p.len >= 8 && (p.w[0] >> 24) == 0xff;
}

// The exemption that takes every packet the filter matches before the filter
// is looked at (semantics.md section 2), or SECPOL_EX_COUNT when some packet
// reaches it. Tunnel filters are skipped: routed traffic bypasses exemptions.
unsigned hiding_exemption(const Policy& p, const Filter& f) {
    auto on = [&](unsigned ex) { return (p.exemptions >> ex) & 1u; };
    if (f.tunnel) return SECPOL_EX_COUNT;
    if (f.dst.kind == AddrMatch::Kind::Prefix) {
        const Prefix& d = f.dst.prefix;
        if (on(SECPOL_EX_MULTICAST) && is_multicast(d)) return SECPOL_EX_MULTICAST;
        if (on(SECPOL_EX_BROADCAST) && d.v4 && d.len == 128 && d.w[3] == 0xffffffffu)
            return SECPOL_EX_BROADCAST;
    }
    // A secure filter also matches ESP/AH on its addresses alone, never exempt.
    if (rule_of(p, f).action.kind == Action::Secure || !f.proto) return SECPOL_EX_COUNT;
    const uint8_t proto = *f.proto;
    if (on(SECPOL_EX_RSVP) && proto == 46) return SECPOL_EX_RSVP;
    // Without ports the filter also matches non-first fragments, which no port exemption takes.
    if (!f.l4_given) return SECPOL_EX_COUNT;
    const bool v4 = (f.src.kind == AddrMatch::Kind::Prefix && f.src.prefix.v4) ||
                    (f.dst.kind == AddrMatch::Kind::Prefix && f.dst.prefix.v4);
    const bool v6 = (f.src.kind == AddrMatch::Kind::Prefix && !f.src.prefix.v4) ||
                    (f.dst.kind == AddrMatch::Kind::Prefix && !f.dst.prefix.v4);
    const Range &sp = f.sport, &dp = f.dport;
    if (proto == 17 && on(SECPOL_EX_IKE) && within(sp, 500, 500) && within(dp, 500, 500))
        return SECPOL_EX_IKE;
    if (proto == 17 && on(SECPOL_EX_IKE_NATT) && within(sp, 4500, 4500) && within(dp, 4500, 4500))
        return SECPOL_EX_IKE_NATT;
    if ((proto == 6 || proto == 17) && on(SECPOL_EX_KERBEROS) && (within(sp, 88, 88) || within(dp, 88, 88)))
        return SECPOL_EX_KERBEROS;
    if (proto == 58 && on(SECPOL_EX_ND) && v6 && (within(sp, 130, 137) || within(sp, 143, 143)))
        return SECPOL_EX_ND;
    if (proto == 17 && on(SECPOL_EX_DHCP) &&
        ((v4 && within(sp, 67, 68) && within(dp, 67, 68)) ||
         (v6 && within(sp, 546, 547) && within(dp, 546, 547))))
        return SECPOL_EX_DHCP;
    return SECPOL_EX_COUNT;
}

// The exemptions statement without the given bits, as the user would write it.
std::string exemptions_without(uint32_t bits, uint32_t drop) {
    bits &= ~drop;
    if (!bits) return "exemptions none";
    std::string s = "exemptions {";
    for (unsigned ex = 0; ex < SECPOL_EX_COUNT; ++ex)
        if ((bits >> ex) & 1u) s += std::string(" ") + exemption_name(ex);
    return s + " }";
}

void lint_exempt_hidden(const Policy& p, front::Diagnostics& diags) {
    if (!p.exemptions) return;
    std::vector<uint32_t> hiding(p.rules.size(), 0);
    std::vector<bool> reached(p.rules.size(), false), has_filters(p.rules.size(), false);
    for (const Filter& f : p.filters) {
        has_filters[f.rule_id] = true;
        if (reached[f.rule_id]) continue;
        const unsigned ex = hiding_exemption(p, f);
        if (ex == SECPOL_EX_COUNT)
            reached[f.rule_id] = true;
        else
            hiding[f.rule_id] |= 1u << ex;
    }
    for (const Rule& r : p.rules) {
        if (!has_filters[r.id] || reached[r.id]) continue;
        std::string names;
        for (unsigned ex = 0; ex < SECPOL_EX_COUNT; ++ex)
            if ((hiding[r.id] >> ex) & 1u)
                names += std::string(names.empty() ? "" : ", ") + exemption_name(ex);
        diags.warning(
            r.loc, "rule " + named(r) + " never applies: every packet it matches is exempt (" + names +
                       " under the " + p.exemptions_name +
                       " exemptions), and exemptions are decided before any filter; to filter this traffic, "
                       "leave it out of the exemptions: '" +
                       exemptions_without(p.exemptions, hiding[r.id]) + "'");
    }
}

// `secure fallback-clear` lets clear traffic out to a peer that cannot do
// IPsec; without accept-clear the peer's clear reply is blocked on the way in.
void lint_fallback_without_accept(const Policy& p, front::Diagnostics& diags) {
    std::set<uint32_t> warned;
    for (const Filter& f : p.filters) {
        const Rule& r = rule_of(p, f);
        const ActionSpec& a = r.action;
        if (a.kind != Action::Secure || !a.fallback_clear || a.accept_clear || f.dir == Dir::In ||
            warned.count(r.id))
            continue;
        Filter reply = reverse_of(f);
        reply.dir = Dir::In;
        const Filter* by = decider(p, reply);
        const bool ok =
            by ? passes_clear(rule_of(p, *by).action, Dir::In) : p.default_action == Action::Permit;
        if (ok) continue;
        warned.insert(r.id);
        std::string who = !by                   ? std::string("'default block'")
                          : by->rule_id == r.id ? std::string("the rule itself")
                                                : "rule " + named(rule_of(p, *by));
        std::string hint = r.text;
        if (hint.rfind("secure", 0) == 0)
            hint = "secure accept-clear" + hint.substr(6);
        else
            hint = "action " + a.name + " = secure accept-clear fallback-clear";
        diags.warning(r.loc,
                      "rule " + named(r) +
                          ": 'fallback-clear' sends clear traffic to peers without IPsec, but their clear "
                          "replies (inbound) are blocked by " +
                          who + ", so the fallback can never work; add accept-clear: '" + hint + "'");
    }
}

// A mirrored ICMP type range is kept as is in the reverse filter, so a query
// type in it whose reply is outside it gets no reply the other way.
void lint_mirrored_icmp_range(const Policy& p, front::Diagnostics& diags) {
    std::set<uint32_t> warned;
    for (const Filter& f : p.filters) {
        const Rule& r = rule_of(p, f);
        if (!r.mirrored || f.reversed || !f.proto || !is_icmp(*f.proto) || !f.l4_given ||
            f.sport.lo == f.sport.hi || warned.count(r.id))
            continue;
        for (uint32_t t = f.sport.lo; t <= f.sport.hi && t <= 255; ++t) {
            auto reply = icmp_counterpart(*f.proto, t);
            if (!reply || (f.sport.lo <= *reply && *reply <= f.sport.hi)) continue;
            warned.insert(r.id);
            diags.warning(r.loc, "rule " + named(r) + ": its type range " + std::to_string(f.sport.lo) + "-" +
                                     std::to_string(f.sport.hi) + " includes type " + std::to_string(t) +
                                     " but not its counterpart " + std::to_string(*reply) +
                                     "; a mirrored range is kept as is, so the other half of that exchange "
                                     "is not matched the other way; list the types one by one or widen the "
                                     "range");
            break;
        }
    }
}

// `default block` reads as "nothing else passes", yet frames without IP
// (ARP, MPLS, PPPoE control, ...) still do under the implicit `non-ip
// permit`. Written out, `non-ip permit` is a decision (IPv4 needs ARP) and
// silences this.
void lint_nonip(const Policy& p, front::Diagnostics& diags) {
    if (p.default_action != Action::Block || p.nonip_action != Action::Permit || p.nonip_loc.line) return;
    SourceLoc loc = p.default_loc.line ? p.default_loc : SourceLoc{p.file, 0, 0};
    diags.warning(loc,
                  "'default block' meets 'non-ip permit' (the default): frames without IP (ARP, MPLS, "
                  "PPPoE control, ...) still pass; write 'non-ip block' to drop them, or 'non-ip permit' "
                  "to say they are meant to pass (IPv4 needs ARP)");
}

}  // namespace

void lint(const Policy& p, front::Diagnostics& diags) {
    if (p.filters.size() <= kQuadraticLimit) {
        lint_shadowed(p, diags);
        lint_equal_specificity(p, diags);
    } else {
        diags.note({p.file, 0, 0}, "the policy has " + std::to_string(p.filters.size()) +
                                       " filters; the shadowing and overlap lints stop at " +
                                       std::to_string(kQuadraticLimit));
    }
    lint_ike(p, diags);
    lint_nd(p, diags);
    lint_exempt_hidden(p, diags);
    lint_fallback_without_accept(p, diags);
    lint_mirrored_icmp_range(p, diags);
    lint_nonip(p, diags);
}

}  // namespace secpol::ir::passes
