// What `secpol log` makes of a log event (bpf/include/log_event.h): the
// rule it names, looked up in the loaded policy's meta.json rule table, and
// a summary of the packet's headers (Ethernet, VLAN, IPv4/IPv6, TCP/UDP/ICMP),
// as one text line or one JSON object. Pure functions: unit-tested without
// the kernel (tests/unit/log_events_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "log_event.h"
#include "rule_table.h"

namespace secpol::rt {

// The rule table of one loaded policy, from its meta.json (rule_table.h).
struct LogPolicy {
    uint32_t tag = 0;  // the policy's XDP program id (events carry it)
    RuleTable table;
    std::string file;  // for file:line: the policy file as compiled (or as loaded)
};

// The headers of a captured frame, decoded as far as the captured bytes go.
// Unlike the classifier's parser, a packet cut short by the snapshot is not
// an error: the summary shows what is there.
struct PacketSummary {
    std::string eth_src, eth_dst;  // empty on IP-only devices
    uint32_t ethertype = 0;
    std::vector<uint32_t> vlans;
    int ip_version = 0;  // 0: not IP (or not reached)
    std::string src, dst;
    uint32_t proto = 0;     // L4 protocol (after IPv6 extension headers)
    uint32_t ttl = 0;       // TTL or hop limit
    bool fragment = false;  // a non-first fragment: no ports
    bool has_ports = false;
    uint32_t sport = 0, dport = 0;
    bool has_icmp = false;
    uint32_t icmp_type = 0, icmp_code = 0;
    std::string tcp_flags;     // "S", "S.", "F.", "R", "P." as tcpdump writes them
    bool truncated = false;    // the headers run past the captured bytes
    std::string text() const;  // one line: "10.0.0.1.40000 > 10.0.0.2.445: tcp [S]"
    nlohmann::json json() const;
};

PacketSummary summarize_packet(const uint8_t* data, size_t len, bool l3);

// Wall-clock time of a ktime stamp, given realtime - monotonic at start.
int64_t event_time_ns(const secpol_log_event& e, int64_t mono_to_real_ns);
std::string format_time_ns(int64_t unix_ns);  // 2026-11-29T23:59:01.123456Z

const char* log_dir_name(uint32_t dir);          // in, out
const char* log_verdict_name(uint32_t verdict);  // permit, block
const char* log_reason_name(uint32_t reason);    // filter, ipsec, default, fragment, ...

// The rule of an event, from the policy whose tag it carries (nullptr: a
// policy no longer known, e.g. replaced twice since).
struct EventRule {
    bool known = false;  // the policy was found
    bool is_default = false;
    uint32_t id = 0;
    std::string label;  // the rule's label, or "default"
    std::string file;
    uint32_t line = 0;
    std::string text;  // the filter's source text
};
EventRule event_rule(const secpol_log_event& e, const LogPolicy* pol);

// One event as JSON (`secpol log --json`, one object per line) and as text.
nlohmann::json event_json(const secpol_log_event& e, const std::string& iface, const EventRule& r,
                          int64_t unix_ns);
std::string event_text(const secpol_log_event& e, const std::string& iface, const EventRule& r,
                       int64_t unix_ns);

}  // namespace secpol::rt
