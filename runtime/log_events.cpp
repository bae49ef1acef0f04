#include "log_events.h"

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>

#include "ref/classify.h"
#include "secpol_abi.h"

namespace secpol::rt {

namespace {

using nlohmann::json;

uint32_t be16(const uint8_t* p) {
    return uint32_t(p[0]) << 8 | p[1];
}

std::string mac(const uint8_t* p) {
    char b[18];
    std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
    return b;
}

std::string ip4(const uint8_t* p) {
    char b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, p, b, sizeof b);
    return b;
}

std::string ip6(const uint8_t* p) {
    char b[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, p, b, sizeof b);
    return b;
}

const char* proto_name(uint32_t p) {
    switch (p) {
        case 1:
            return "icmp";
        case 6:
            return "tcp";
        case 17:
            return "udp";
        case 46:
            return "rsvp";
        case 50:
            return "esp";
        case 51:
            return "ah";
        case 58:
            return "icmpv6";
    }
    return nullptr;
}

std::string tcp_flags(uint8_t f) {
    // tcpdump's letters; '.' is ACK.
    std::string s;
    if (f & 0x02) s += 'S';
    if (f & 0x01) s += 'F';
    if (f & 0x04) s += 'R';
    if (f & 0x08) s += 'P';
    if (f & 0x20) s += 'U';
    if (f & 0x10) s += '.';
    return s.empty() ? "none" : s;
}

// L4 of a first fragment or unfragmented packet at off.
void l4(PacketSummary& s, const uint8_t* d, size_t len, size_t off) {
    if (s.fragment) return;
    if (s.proto == 6 || s.proto == 17) {
        if (off + 4 > len) {
            s.truncated = true;
            return;
        }
        s.has_ports = true;
        s.sport = be16(d + off);
        s.dport = be16(d + off + 2);
        if (s.proto == 6) {
            if (off + 14 > len)
                s.truncated = true;
            else
                s.tcp_flags = tcp_flags(d[off + 13]);
        }
    } else if (s.proto == 1 || s.proto == 58) {
        if (off + 2 > len) {
            s.truncated = true;
            return;
        }
        s.has_icmp = true;
        s.icmp_type = d[off];
        s.icmp_code = d[off + 1];
    }
}

void ipv4(PacketSummary& s, const uint8_t* d, size_t len, size_t off) {
    if (off + 20 > len) {
        s.truncated = true;
        return;
    }
    s.ip_version = 4;
    const size_t ihl = (d[off] & 0x0f) * 4u;
    s.ttl = d[off + 8];
    s.proto = d[off + 9];
    s.src = ip4(d + off + 12);
    s.dst = ip4(d + off + 16);
    s.fragment = (be16(d + off + 6) & 0x1fff) != 0;
    if (ihl < 20) return;  // malformed; the addresses are still worth showing
    l4(s, d, len, off + ihl);
}

void ipv6(PacketSummary& s, const uint8_t* d, size_t len, size_t off) {
    if (off + 40 > len) {
        s.truncated = true;
        return;
    }
    s.ip_version = 6;
    s.ttl = d[off + 7];
    s.src = ip6(d + off + 8);
    s.dst = ip6(d + off + 24);
    uint32_t nh = d[off + 6];
    off += 40;
    for (int i = 0; i < 8; ++i) {
        if (nh == 0 || nh == 43 || nh == 60) {
            if (off + 8 > len) {
                s.truncated = true;
                s.proto = nh;
                return;
            }
            const uint32_t next = d[off];
            off += 8u * (d[off + 1] + 1u);
            nh = next;
        } else if (nh == 44) {
            if (off + 8 > len) {
                s.truncated = true;
                s.proto = nh;
                return;
            }
            s.fragment = (be16(d + off + 2) & 0xfff8) != 0;
            nh = d[off];
            off += 8;
        } else {
            break;
        }
    }
    s.proto = nh;
    l4(s, d, len, off);
}

}  // namespace

PacketSummary summarize_packet(const uint8_t* d, size_t len, bool l3) {
    PacketSummary s;
    size_t off = 0;
    uint32_t type = 0;
    if (l3) {
        if (len < 1) {
            s.truncated = true;
            return s;
        }
        type = (d[0] >> 4) == 6 ? 0x86dd : 0x0800;
    } else {
        if (len < 14) {
            s.truncated = true;
            return s;
        }
        s.eth_dst = mac(d);
        s.eth_src = mac(d + 6);
        type = be16(d + 12);
        off = 14;
        while ((type == 0x8100 || type == 0x88a8) && s.vlans.size() < 2) {
            if (off + 4 > len) {
                s.truncated = true;
                s.ethertype = type;
                return s;
            }
            s.vlans.push_back(be16(d + off) & 0x0fff);
            type = be16(d + off + 2);
            off += 4;
        }
        if (type == 0x8864 && off + 8 <= len) {  // PPPoE session
            const uint32_t ppp = be16(d + off + 6);
            if (ppp == 0x0021 || ppp == 0x0057) {
                type = ppp == 0x0021 ? 0x0800 : 0x86dd;
                off += 8;
            }
        }
        s.ethertype = type;
    }
    if (type == 0x0800)
        ipv4(s, d, len, off);
    else if (type == 0x86dd)
        ipv6(s, d, len, off);
    return s;
}

std::string PacketSummary::text() const {
    std::string o;
    if (!vlans.empty()) {
        o += "vlan";
        for (auto v : vlans) o += " " + std::to_string(v);
        o += ", ";
    }
    if (ip_version == 0) {
        char b[48];
        if (eth_src.empty())
            std::snprintf(b, sizeof b, "not IP");
        else
            std::snprintf(b, sizeof b, "ethertype 0x%04x", ethertype);
        o += eth_src.empty() ? b : eth_src + " > " + eth_dst + " " + b;
        if (truncated) o += " [truncated]";
        return o;
    }
    const char* pn = proto_name(proto);
    std::string p = pn ? pn : "proto " + std::to_string(proto);
    // tcpdump's address.port; IPv6 addresses keep their colons.
    if (has_ports)
        o += src + "." + std::to_string(sport) + " > " + dst + "." + std::to_string(dport) + ": " + p;
    else
        o += src + " > " + dst + ": " + p;
    if (!tcp_flags.empty()) o += " [" + tcp_flags + "]";
    if (has_icmp) o += " type " + std::to_string(icmp_type) + " code " + std::to_string(icmp_code);
    if (fragment) o += " (fragment)";
    o += (ip_version == 6 ? " hlim " : " ttl ") + std::to_string(ttl);
    if (truncated) o += " [truncated]";
    return o;
}

json PacketSummary::json() const {
    nlohmann::json j = json::object();
    if (!eth_src.empty()) {
        char t[8];
        std::snprintf(t, sizeof t, "0x%04x", ethertype);
        j["eth"] = {{"src", eth_src}, {"dst", eth_dst}, {"type", t}};
    }
    if (!vlans.empty()) j["vlan"] = vlans;
    if (ip_version) {
        const char* pn = proto_name(proto);
        j["ip"] = {{"version", ip_version}, {"src", src}, {"dst", dst},
                   {"proto", proto},        {"ttl", ttl}, {"fragment", fragment}};
        if (pn) j["ip"]["proto_name"] = pn;
    }
    if (has_ports) {
        j["l4"] = {{"sport", sport}, {"dport", dport}};
        if (!tcp_flags.empty()) j["l4"]["flags"] = tcp_flags;
    }
    if (has_icmp) j["l4"] = {{"type", icmp_type}, {"code", icmp_code}};
    j["truncated"] = truncated;
    return j;
}

int64_t event_time_ns(const secpol_log_event& e, int64_t mono_to_real_ns) {
    const uint64_t k = uint64_t{e.ts_hi} << 32 | e.ts_lo;
    return static_cast<int64_t>(k) + mono_to_real_ns;
}

std::string format_time_ns(int64_t unix_ns) {
    time_t t = static_cast<time_t>(unix_ns / 1000000000);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>((unix_ns % 1000000000) / 1000));
    return buf;
}

const char* log_dir_name(uint32_t dir) {
    return dir == SECPOL_DIR_OUT ? "out" : "in";
}
const char* log_verdict_name(uint32_t v) {
    return v == SECPOL_V_BLOCK ? "block" : "permit";
}

const char* log_reason_name(uint32_t r) {
    return ref::reason_name(r);  // one table of reason names, the oracle's
}

EventRule event_rule(const secpol_log_event& e, const LogPolicy* pol) {
    EventRule r;
    r.is_default = e.rule == SECPOL_NO_RULE;
    r.id = e.rule;
    r.label = r.is_default ? "default" : "rule " + std::to_string(e.rule);
    if (!pol) return r;
    r.file = pol->file;
    if (r.is_default) {
        // A meta without "policy" reads as {}: not known.
        if (const json& p = pol->table.policy; p.is_object() && !p.empty()) {
            r.known = true;
            r.line = p.value("default_line", 0u);
            r.text = "default " + p.value("default", std::string("?"));
        }
        return r;
    }
    if (e.rule >= pol->table.rules.size()) return r;
    const RuleRow& x = pol->table.rules[e.rule];
    r.known = true;
    r.label = x.label;
    r.line = static_cast<uint32_t>(x.line);
    r.text = x.text;
    return r;
}

json event_json(const secpol_log_event& e, const std::string& iface, const EventRule& r, int64_t unix_ns) {
    const size_t cap = e.cap_len < SECPOL_LOG_SNAPLEN ? e.cap_len : SECPOL_LOG_SNAPLEN;
    const PacketSummary s = summarize_packet(e.data, cap, e.link == 1);
    static const char* hex = "0123456789abcdef";
    std::string h;
    for (size_t i = 0; i < cap; ++i) {
        h += hex[e.data[i] >> 4];
        h += hex[e.data[i] & 15];
    }
    json j = {{"time", format_time_ns(unix_ns)},
              {"interface", iface},
              {"ifindex", e.ifindex},
              {"dir", log_dir_name(e.dir)},
              {"verdict", log_verdict_name(e.verdict)},
              {"reason", log_reason_name(e.reason)},
              {"rule", r.is_default ? json(nullptr) : json(e.rule)},
              {"label", r.label},
              {"file", r.file},
              {"line", r.line},
              {"policy_known", r.known},
              {"prog_id", e.tag},
              {"len", e.pkt_len},
              {"caplen", cap},
              {"suppressed", e.suppressed},
              {"summary", s.text()},
              {"headers", s.json()},
              {"data", h}};
    if (!r.text.empty()) j["text"] = r.text;
    return j;
}

std::string event_text(const secpol_log_event& e, const std::string& iface, const EventRule& r,
                       int64_t unix_ns) {
    const size_t cap = e.cap_len < SECPOL_LOG_SNAPLEN ? e.cap_len : SECPOL_LOG_SNAPLEN;
    const PacketSummary s = summarize_packet(e.data, cap, e.link == 1);
    std::string where =
        r.file.empty() ? "line " + std::to_string(r.line) : r.file + ":" + std::to_string(r.line);
    if (!r.known) where = "a replaced policy";
    std::string o = format_time_ns(unix_ns) + " " + iface + " " + log_dir_name(e.dir) + " " +
                    log_verdict_name(e.verdict) + " " + log_reason_name(e.reason) + " \"" + r.label + "\" (" +
                    where + "): " + s.text() + ", length " + std::to_string(e.pkt_len);
    if (e.suppressed) o += " (+" + std::to_string(e.suppressed) + " suppressed by the rate limit)";
    return o;
}

}  // namespace secpol::rt
