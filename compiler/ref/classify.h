// The reference classifier: docs/semantics.md in plain C++. It is the oracle
// every compiled program is checked against, so it favours clarity over speed
// (a linear scan of the ordered filters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ir/ir.h"
#include "net/local.h"
#include "secpol_abi.h"

namespace secpol::ref {

// The host's addresses are shared with the loader and the back end (net/local.h).
using net::Addr;
using net::LocalTable;

// What the packet bytes start with and how they reached the hook
// (docs/semantics.md section 1).
enum class Link {
    Ether,  // an Ethernet header (Ethernet, veth, loopback, bridges, ...)
    L3,     // the IP header: devices without a link layer (tun, WireGuard)
};
struct Frame {
    Link link = Link::Ether;
    // A GSO super-packet at tc (skb->gso_size != 0): IPv4 total length 0 and
    // IPv6 payload length 0 run to the end of the frame (BIG TCP, section 1.4).
    bool gso = false;
};
const char* link_name(Link l);  // "ether", "l3"

// What parsing a frame yields (docs/semantics.md section 1).
struct Parsed {
    enum class Kind { Ok, Malformed, NonIp } kind = Kind::Ok;
    bool v4 = false;
    bool eth_broadcast = false;  // for explain only: classification goes by the IP destination
    bool nonfirst_frag = false;
    bool ipsec = false;
    Addr src{}, dst{};
    uint8_t proto = 0;
    uint16_t sport = 0, dport = 0;  // ICMP: type, code
    std::string why;                // for malformed: which check failed
};

Parsed parse(const uint8_t* pkt, size_t len, Frame frame = {});

struct Decision {
    uint32_t verdict = SECPOL_V_PERMIT;  // enum secpol_verdict
    uint32_t reason = SECPOL_R_DEFAULT;  // enum secpol_reason
    uint32_t exemption = 0;              // enum secpol_exemption, reason == EXEMPTION
    uint32_t rule = 0;                   // rule id, reason == FILTER or IPSEC
    uint32_t rule_verdict = 0;           // enum secpol_rule_verdict, for counters
    secpol_key key{};                    // the key the filters saw (all zero: malformed, non-ip)
    uint32_t dir = SECPOL_DIR_IN;        // enum secpol_dir the packet was classified in
    int filter = -1;                     // index into policy.filters of the deciding filter, else -1
    std::string detail;                  // exemption: what matched; malformed: the failed check
    // The deciding rule (reason filter or ipsec), or the default (default or
    // fragment), has `log`: the program may also emit a log event, subject to
    // the rule's rate limit. Never changes the verdict (semantics.md 6).
    bool log = false;
};

Decision classify(const ir::Policy& policy, const uint8_t* pkt, size_t len, int dir, const LocalTable& locals,
                  Frame frame = {});
Decision classify(const ir::Policy& policy, const Parsed& p, int dir, const LocalTable& locals);

const char* verdict_name(uint32_t v);  // "permit", "block"
const char* reason_name(uint32_t r);   // "exemption", "ipsec", "filter", ...

// The explain/replay JSON object: verdict, reason, exemption or filter {id,label,line}.
nlohmann::json decision_json(const ir::Policy& policy, const Decision& d);

}  // namespace secpol::ref
