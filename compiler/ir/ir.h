// Typed IR of a policy: what the front end produces and every later stage
// (reference classifier, tree builder, object writer) consumes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log_event.h"
#include "secpol_abi.h"

namespace secpol::ir {

struct SourceLoc {
    std::string file;
    int line = 0;
    int col = 0;
};

enum class Action : uint8_t {
    Permit = SECPOL_ACT_PERMIT,
    Block = SECPOL_ACT_BLOCK,
    Secure = SECPOL_ACT_SECURE
};

// What IKE negotiates for the traffic of a secure action: Windows 2000's
// filter action "security methods" and the rule's "authentication methods".
// Only `secpol export swanctl` reads it; the packet filter does not.
struct Negotiation {
    enum class Auth : uint8_t { Cert, Pubkey, Psk, Kerberos } auth = Auth::Cert;
    std::string
        auth_file;  // psk: the key file; pubkey: the peer's public key; cert: the CA ("" = any trusted)
    enum class Method : uint8_t { Esp, Ah } method = Method::Esp;
    std::vector<std::string> proposals;      // ESP or AH proposals, strongSwan syntax
    std::vector<std::string> ike_proposals;  // IKE SA proposals
    uint32_t lifetime = 3600;                // CHILD SA (session key) rekey time, seconds
    uint64_t lifetime_kbytes = 0;            // CHILD SA rekey volume, 0 = none
    uint32_t ike_lifetime = 14400;           // IKE SA (master key) rekey time, seconds
    uint8_t ike_version = 2;
    bool nat_t = false;  // always encapsulate ESP in UDP 4500 (IKE moves to 4500 too)
    SourceLoc loc;       // the action definition; line 0 for an inline `secure`
};

// Default proposals (docs/policy-language.md section 5).
inline const char* const kDefaultEspProposal = "aes256-sha256";
inline const char* const kDefaultAhProposal = "sha256";
inline const char* const kDefaultIkeProposal = "aes256-sha256-modp3072";

struct ActionSpec {
    Action kind = Action::Permit;
    bool accept_clear = false;    // secure: inbound clear allowed
    bool fallback_clear = false;  // secure: outbound clear allowed
    std::string name;             // "permit", "block", or the named action ("require")
    Negotiation negotiation;      // secure only
};

enum class Dir : uint8_t { Both, In, Out };
enum class Order : uint8_t { Specificity, FirstMatch };

// An address prefix in the IPv4-mapped 128-bit space: IPv4 a.b.c.d/n is
// ::ffff:a.b.c.d/(96+n). Host bits are always zero after normalisation.
struct Prefix {
    std::array<uint32_t, 4> w{};  // host byte order words, like secpol_key
    uint8_t len = 0;              // 0..128 in the mapped space
    bool v4 = false;

    bool contains(const uint32_t addr[4]) const;
    std::string str() const;  // "10.0.0.0/8", "2001:db8::/32"
};

struct AddrMatch {
    enum class Kind : uint8_t { Any, Me, Prefix } kind = Kind::Any;
    Prefix prefix;  // Kind::Prefix only
};

struct Range {
    uint32_t lo = 0;
    uint32_t hi = 0;
    bool operator==(const Range&) const = default;
};

// `log [rate N/s|N/min] [burst B]` on a filter or the default: its packets
// are also sent to the log ring buffer, at most `rate` events per `period`
// seconds in bursts of `burst` (a token bucket per rule in the program). It
// never changes a verdict (docs/semantics.md section 6).
struct LogSpec {
    uint32_t rate = SECPOL_LOG_DEFAULT_RATE;   // events per period
    uint32_t period = 1;                       // seconds: 1 (`/s`) or 60 (`/min`)
    uint32_t burst = SECPOL_LOG_DEFAULT_RATE;  // bucket depth, events (defaults to rate)
    SourceLoc loc;                             // the `log` word
    bool operator==(const LogSpec& o) const {
        return rate == o.rate && period == o.period && burst == o.burst;
    }
    uint64_t interval_ns() const { return uint64_t{period} * 1000000000ull / rate; }
    std::string str() const;  // "10/s burst 10"
};

// One filter statement of the source: the unit that has a label, a line and
// counters.
struct Rule {
    uint32_t id = 0;  // 0-based, in source order
    std::string label;
    SourceLoc loc;
    ActionSpec action;
    Dir dir = Dir::Both;
    bool mirrored = false;
    std::optional<Prefix> tunnel;  // tunnel endpoint (host prefix), tunnel filters only
    std::optional<LogSpec> log;    // `log` clause
    std::string text;              // the statement as written, for diagnostics and dumps
};

// Specificity under `order specificity`: compared field by field, larger is
// more specific (see docs/policy-language.md).
struct Specificity {
    uint32_t prefix_bits = 0;      // src + dst bits in the mapped space; me = 128, any = 0
    uint32_t proto = 0;            // 1 when a protocol is given
    uint32_t port_narrowness = 0;  // 2*65536 - (size of sport range + size of dport range)
    uint32_t dir = 0;              // 1 when restricted to in or out
    auto operator<=>(const Specificity&) const = default;
};

// One expanded, normalised filter: a single source and destination match, a
// single port range each, one direction. A rule expands to one or more of
// these (sets, lists, mirrored).
struct Filter {
    uint32_t rule_id = 0;
    Dir dir = Dir::Both;
    AddrMatch src, dst;
    std::optional<uint8_t> proto;
    // TCP/UDP ports, or ICMP type (sport) / code (dport). Full range = not given.
    Range sport{0, 65535};
    Range dport{0, 65535};
    bool l4_given = false;  // ports or type/code constrained
    bool reversed = false;  // produced by `mirrored`
    bool tunnel = false;
    Prefix endpoint;  // tunnel filters only
    Specificity spec;
    uint32_t seq = 0;  // position in the expanded source order (tie breaker)
};

struct Policy {
    std::string label;
    std::string file;
    uint32_t exemptions = 0;      // bit set of enum secpol_exemption
    std::string exemptions_name;  // "windows2000", "nodefaultexempt 1", "none", "custom"
    Order order = Order::Specificity;
    Action default_action = Action::Permit;
    Action nonip_action = Action::Permit;  // `non-ip`: frames that carry no IP (ARP, LLDP, MPLS, ...)
    std::optional<LogSpec> default_log;    // `default ACTION log`: default and fragment decisions
    std::vector<Rule> rules;               // by id
    std::vector<Filter> filters;           // in priority order: filters[0] wins over filters[1]
    SourceLoc exemptions_loc;              // where the header statements are (line 0: not written)
    SourceLoc default_loc;
    SourceLoc nonip_loc;
    bool has_tunnel() const;
    bool has_log() const;  // some rule or the default has `log`
};

const char* to_string(Action a);
const char* to_string(Dir d);
const char* to_string(Negotiation::Auth a);  // "cert", "pubkey", "psk", "kerberos"
const char* exemption_name(unsigned ex);     // enum secpol_exemption -> "ike-nat-t" etc.
std::optional<unsigned> exemption_from_name(const std::string& s);

}  // namespace secpol::ir
