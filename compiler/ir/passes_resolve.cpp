// resolve: the syntax tree's names and literals -> header values and the
// operands of every rule. Every mistake is reported; nothing stops early.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "front/parser.h"
#include "ir/passes.h"

namespace secpol::ir::passes {
namespace {

using front::Diagnostics;
namespace ast = front::ast;
using Kind = ast::Item::Kind;

std::string at_line(const SourceLoc& l) {
    return "line " + std::to_string(l.line);
}

struct SetDef {
    bool ports = false;  // typed by its members
    std::vector<AddrMatch> addrs;
    std::vector<Range> ranges;
    SourceLoc loc;
};

// Lists and sets are sets: a member written twice expands once. Members are
// appended as found and deduplicated once per list (a set may have 100k members).
void dedupe(std::vector<Range>& v) {
    std::set<std::pair<uint32_t, uint32_t>> seen;
    std::erase_if(v, [&](const Range& r) { return !seen.emplace(r.lo, r.hi).second; });
}
void dedupe(std::vector<AddrMatch>& v) {
    std::set<std::tuple<int, std::array<uint32_t, 4>, int>> seen;
    std::erase_if(v, [&](const AddrMatch& a) {
        return !seen.emplace(static_cast<int>(a.kind), a.prefix.w, a.prefix.len).second;
    });
}

class Resolver {
  public:
    Resolver(Diagnostics& d) : diags_(d) {}

    Resolved run(const ast::File& file) {
        Resolved r;
        Policy& p = r.policy;
        p.file = file.path;
        p.exemptions = kWindows2000Exemptions;
        p.exemptions_name = "windows2000";
        for (const auto& st : file.stmts)
            if (auto* s = std::get_if<ast::SetStmt>(&st.body)) all_sets_.emplace(s->name, s->name_loc);
        broken_sets_.insert(file.broken_sets.begin(), file.broken_sets.end());
        broken_actions_.insert(file.broken_actions.begin(), file.broken_actions.end());

        for (const auto& st : file.stmts) {
            std::visit(
                [&](const auto& b) {
                    using T = std::decay_t<decltype(b)>;
                    if constexpr (std::is_same_v<T, ast::PolicyStmt>) {
                        if (once("policy", st.loc)) p.label = b.label;
                    } else if constexpr (std::is_same_v<T, ast::ExemptionsStmt>) {
                        if (once("exemptions", st.loc)) exemptions(b, st.loc, p);
                    } else if constexpr (std::is_same_v<T, ast::OrderStmt>) {
                        if (once("order", st.loc)) p.order = b.order;
                    } else if constexpr (std::is_same_v<T, ast::DefaultStmt>) {
                        if (once("default", st.loc)) {
                            p.default_action = b.action, p.default_loc = st.loc;
                            if (b.log) p.default_log = log_spec(*b.log);
                        }
                    } else if constexpr (std::is_same_v<T, ast::NonIpStmt>) {
                        if (once("non-ip", st.loc)) p.nonip_action = b.action, p.nonip_loc = st.loc;
                    } else if constexpr (std::is_same_v<T, ast::SetStmt>) {
                        set(b);
                    } else if constexpr (std::is_same_v<T, ast::ActionStmt>) {
                        action(b);
                    }
                },
                st.body);
        }
        std::map<std::string, SourceLoc> labels;
        for (const auto& st : file.stmts) {
            auto* f = std::get_if<ast::FilterStmt>(&st.body);
            if (!f) continue;
            Rule rule;
            rule.id = static_cast<uint32_t>(p.rules.size());
            rule.loc = st.loc;
            rule.text = f->text;
            rule.dir = f->dir;
            rule.mirrored = f->mirrored;
            if (f->log) rule.log = log_spec(*f->log);
            rule.label = f->label ? *f->label : "line " + std::to_string(st.loc.line);
            const SourceLoc& lloc = f->label ? f->label_loc : st.loc;
            if (f->label && f->label->empty()) diags_.error(lloc, "a label cannot be empty");
            if (auto [it, fresh] = labels.emplace(rule.label, st.loc); !fresh)
                diags_.error(lloc, "duplicate label \"" + rule.label + "\": the rule at " +
                                       at_line(it->second) + " already has it");
            Operands ops;
            filter(*f, st.loc, rule, ops);
            p.rules.push_back(std::move(rule));
            r.ops.push_back(std::move(ops));
        }
        return r;
    }

  private:
    // `log`: rate and burst within 1..SECPOL_LOG_MAX_RATE; the burst
    // defaults to the rate (N events at once, then N per period).
    LogSpec log_spec(const ast::LogClause& c) {
        LogSpec l;
        l.loc = c.loc;
        l.period = c.period;
        auto check = [&](uint64_t v, const SourceLoc& at, const char* what) -> uint32_t {
            if (v >= 1 && v <= SECPOL_LOG_MAX_RATE) return static_cast<uint32_t>(v);
            diags_.error(at, std::string("log ") + what + " " + std::to_string(v) + " is out of range (1.." +
                                 std::to_string(SECPOL_LOG_MAX_RATE) + ")");
            return SECPOL_LOG_DEFAULT_RATE;
        };
        if (c.rate) l.rate = l.burst = check(*c.rate, c.rate_loc, "rate");
        if (c.burst) l.burst = check(*c.burst, c.burst_loc, "burst");
        return l;
    }

    // Header statements may appear once.
    bool once(const std::string& what, const SourceLoc& loc) {
        auto [it, fresh] = headers_.emplace(what, loc);
        if (!fresh)
            diags_.error(loc, "duplicate '" + what + "' statement; the first is at " + at_line(it->second));
        return fresh;
    }

    void exemptions(const ast::ExemptionsStmt& e, const SourceLoc& loc, Policy& p) {
        using EK = ast::ExemptionsStmt::Kind;
        p.exemptions_loc = loc;
        switch (e.kind) {
            case EK::Windows2000:
                p.exemptions = kWindows2000Exemptions;
                p.exemptions_name = "windows2000";
                break;
            case EK::Windows2003:
                p.exemptions = kWindows2003Exemptions;
                p.exemptions_name = "windows2003";
                break;
            case EK::None:
                p.exemptions = 0;
                p.exemptions_name = "none";
                break;
            case EK::NoDefaultExempt:
                if (e.level > 3) {
                    diags_.error(e.level_loc, "nodefaultexempt takes 0, 1, 2 or 3 (found " +
                                                  std::to_string(e.level) + ")");
                    break;
                }
                p.exemptions = nodefaultexempt_bits(static_cast<unsigned>(e.level));
                p.exemptions_name = "nodefaultexempt " + std::to_string(e.level);
                break;
            case EK::List:
                p.exemptions = 0;
                p.exemptions_name = "custom";
                for (const auto& [name, nloc] : e.names) {
                    auto bit = exemption_from_name(name);
                    if (!bit) {
                        diags_.error(
                            nloc, "unknown exemption '" + name +
                                      "' (known: broadcast multicast rsvp ike kerberos ike-nat-t nd dhcp)");
                        continue;
                    }
                    if (p.exemptions & (1u << *bit))
                        diags_.warning(nloc, "exemption '" + name + "' listed twice");
                    p.exemptions |= 1u << *bit;
                }
                break;
        }
    }

    const SetDef* lookup_set(const ast::Item& it) {
        if (auto s = sets_.find(it.text); s != sets_.end()) return &s->second;
        if (broken_sets_.count(it.text)) return nullptr;  // its definition's error says it all
        if (auto later = all_sets_.find(it.text); later != all_sets_.end())
            diags_.error(it.loc, "set '$" + it.text + "' is used before its definition at " +
                                     at_line(later->second) + " (a set may only use sets defined above it)");
        else
            diags_.error(it.loc, "unknown set '$" + it.text + "'");
        return nullptr;
    }

    // Address members of an item; false (after an error) when it is not one.
    bool addr_item(const ast::Item& it, std::vector<AddrMatch>& out) {
        switch (it.kind) {
            case Kind::Any:
                out.push_back(AddrMatch{AddrMatch::Kind::Any, {}});
                return true;
            case Kind::Me:
                out.push_back(AddrMatch{AddrMatch::Kind::Me, {}});
                return true;
            case Kind::Address: {
                auto pp = parse_prefix(it.text);
                if (!pp.prefix) {
                    diags_.error(it.loc, pp.error);
                    return false;
                }
                if (pp.host_bits)
                    diags_.warning(it.loc, "host bits set in '" + it.text + "'; it means " +
                                               clear_host_bits(*pp.prefix).str());
                out.push_back(AddrMatch{AddrMatch::Kind::Prefix, *pp.prefix});
                return true;
            }
            case Kind::SetRef: {
                const SetDef* s = lookup_set(it);
                if (!s) return false;
                if (s->ports) {
                    diags_.error(it.loc, "set '$" + it.text + "' holds ports, not addresses (defined at " +
                                             at_line(s->loc) + ")");
                    return false;
                }
                for (const auto& a : s->addrs) out.push_back(a);
                return true;
            }
            case Kind::Number:
            case Kind::Range:
                diags_.error(it.loc, "'" + it.text +
                                         "' is not an address (expected any, me, a host, a prefix or $set)");
                return false;
        }
        return false;
    }

    // Port (or ICMP type/code, when max is 255) members of an item.
    bool range_item(const ast::Item& it, std::vector<Range>& out, uint64_t max, const char* what) {
        switch (it.kind) {
            case Kind::Number:
            case Kind::Range:
                if (it.hi > max || it.lo > max) {
                    // The literal as written: lo/hi saturate at 2^32, so a huge number's value lies.
                    size_t dash = it.kind == Kind::Range ? it.text.find('-') : std::string::npos;
                    std::string num = dash == std::string::npos ? it.text
                                      : it.lo > max             ? it.text.substr(0, dash)
                                                                : it.text.substr(dash + 1);
                    diags_.error(it.loc, std::string(what) + " " + num + " is out of range (0.." +
                                             std::to_string(max) + ")");
                    return false;
                }
                if (it.lo > it.hi) {
                    diags_.error(it.loc, std::string("inverted ") + what + " range " + it.text +
                                             " (the low end comes first)");
                    return false;
                }
                out.push_back(Range{static_cast<uint32_t>(it.lo), static_cast<uint32_t>(it.hi)});
                return true;
            case Kind::SetRef: {
                const SetDef* s = lookup_set(it);
                if (!s) return false;
                if (!s->ports) {
                    diags_.error(it.loc, "set '$" + it.text + "' holds addresses, not ports (defined at " +
                                             at_line(s->loc) + ")");
                    return false;
                }
                for (const auto& r : s->ranges) out.push_back(r);
                return true;
            }
            default:
                diags_.error(it.loc, "'" +
                                         (it.kind == Kind::Any  ? std::string("any")
                                          : it.kind == Kind::Me ? "me"
                                                                : it.text) +
                                         "' is not a " + what + " (a number, lo-hi, a list or $set)");
                return false;
        }
    }

    void set(const ast::SetStmt& s) {
        if (auto prev = sets_.find(s.name); prev != sets_.end()) {
            diags_.error(s.name_loc,
                         "duplicate set '" + s.name + "'; first defined at " + at_line(prev->second.loc));
            return;
        }
        SetDef d;
        d.loc = s.name_loc;
        // The first member decides the type; a set of sets takes theirs.
        int kind = -1;  // -1 unknown, 0 addresses, 1 ports
        bool ok = true;
        for (const auto& it : s.members.items) {
            int k;
            if (it.kind == Kind::SetRef) {
                const SetDef* ref = lookup_set(it);
                if (!ref) {
                    ok = false;
                    continue;
                }
                k = ref->ports ? 1 : 0;
            } else {
                k = (it.kind == Kind::Number || it.kind == Kind::Range) ? 1 : 0;
            }
            if (kind == -1) kind = k;
            if (k != kind) {
                diags_.error(it.loc,
                             "set '" + s.name + "' mixes addresses and ports; a set holds one or the other");
                ok = false;
                continue;
            }
            ok &= k ? range_item(it, d.ranges, 65535, "port") : addr_item(it, d.addrs);
        }
        d.ports = kind == 1;
        dedupe(d.addrs);
        dedupe(d.ranges);
        // A broken set is still defined, so its uses do not cascade into "unknown set".
        (void)ok;
        sets_.emplace(s.name, std::move(d));
    }

    void action(const ast::ActionStmt& a) {
        if (auto prev = actions_.find(a.name); prev != actions_.end()) {
            diags_.error(a.name_loc, "duplicate action '" + a.name + "'; first defined at " +
                                         at_line(prev->second.second));
            return;
        }
        ActionSpec spec = a.spec;
        if (spec.kind == Action::Secure) spec.negotiation = negotiation(a);
        actions_.emplace(a.name, std::make_pair(spec, a.name_loc));
    }

    // The negotiation attributes of a secure action, defaults filled in.
    Negotiation negotiation(const ast::ActionStmt& a) {
        Negotiation n;
        n.loc = a.name_loc;
        std::set<std::string> seen;
        for (const auto& at : a.attrs) {
            // esp and ah are one choice (the security method); the rest once each.
            const std::string slot = at.key == "ah" ? "esp" : at.key;
            if (!seen.insert(slot).second) {
                diags_.error(at.loc,
                             "action '" + a.name + "': '" + at.key + "' given twice" +
                                 (slot == "esp" ? " (esp and ah are one choice: the security method)" : ""));
                continue;
            }
            const auto& v = at.values;
            if (at.key == "auth") {
                auth(a, at, n);
            } else if (at.key == "esp" || at.key == "ah") {
                n.method = at.key == "ah" ? Negotiation::Method::Ah : Negotiation::Method::Esp;
                for (const auto& p : v)
                    if (proposal(p.text, p.loc, at.key)) n.proposals.push_back(p.text);
            } else if (at.key == "ike") {
                for (const auto& p : v)
                    if (proposal(p.text, p.loc, at.key)) n.ike_proposals.push_back(p.text);
            } else if (at.key == "lifetime" || at.key == "ike-lifetime") {
                if (auto secs = duration(v[0].text, v[0].loc, at.key))
                    (at.key == "lifetime" ? n.lifetime : n.ike_lifetime) = *secs;
            } else if (at.key == "lifetime-kbytes") {
                const std::string& t = v[0].text;
                if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789") != std::string::npos ||
                    std::stoull(t) == 0)
                    diags_.error(
                        v[0].loc,
                        "lifetime-kbytes takes a number of kilobytes, 1..999999999999 (found '" + t + "')");
                else
                    n.lifetime_kbytes = std::stoull(t);
            } else if (at.key == "ike-version") {
                if (v[0].text != "1" && v[0].text != "2")
                    diags_.error(v[0].loc, "ike-version takes 1 or 2 (found '" + v[0].text + "')");
                else
                    n.ike_version = static_cast<uint8_t>(v[0].text[0] - '0');
            } else if (at.key == "nat-t") {
                n.nat_t = true;
            }
        }
        if (n.method == Negotiation::Method::Ah && n.nat_t)
            diags_.error(a.name_loc,
                         "action '" + a.name +
                             "': AH cannot be encapsulated in UDP (it authenticates the IP header "
                             "NAT-T rewrites); use esp with nat-t");
        fill_defaults(n);
        return n;
    }

    static void fill_defaults(Negotiation& n) {
        if (n.proposals.empty())
            n.proposals.push_back(n.method == Negotiation::Method::Ah ? kDefaultAhProposal
                                                                      : kDefaultEspProposal);
        if (n.ike_proposals.empty()) n.ike_proposals.push_back(kDefaultIkeProposal);
    }

    void auth(const ast::ActionStmt& a, const ast::ActionAttr& at, Negotiation& n) {
        const auto& m = at.values[0];
        const bool file = at.values.size() > 1;
        if (m.text == "kerberos") {
            // Windows 2000's default method; strongSwan has no Kerberos authentication for IKE.
            diags_.error(m.loc, "action '" + a.name +
                                    "': Kerberos authentication (Windows 2000's default) has no strongSwan "
                                    "equivalent; use 'auth cert', 'auth pubkey' or 'auth psk \"KEYFILE\"'");
            n.auth = Negotiation::Auth::Kerberos;
            return;
        }
        if (m.text == "psk") {
            n.auth = Negotiation::Auth::Psk;
            if (!file) {
                diags_.error(m.loc, "action '" + a.name +
                                        "': 'auth psk' needs the file that holds the key, as a \"string\" "
                                        "(the key itself never goes into the policy)");
                return;
            }
        } else if (m.text == "pubkey") {
            n.auth = Negotiation::Auth::Pubkey;
        } else if (m.text == "cert") {
            n.auth = Negotiation::Auth::Cert;
        } else {
            diags_.error(
                m.loc,
                "unknown authentication method '" + m.text +
                    "' (expected psk \"KEYFILE\", pubkey [\"PEERKEY\"], cert [\"CACERT\"] or kerberos)");
            return;
        }
        if (file) {
            if (at.values[1].text.empty())
                diags_.error(at.values[1].loc, "empty file name");
            else
                n.auth_file = at.values[1].text;
        }
    }

    // A strongSwan proposal: algorithm keywords joined by '-'. Checked here
    // so that a typo is found by `secpol check`, not by charon.
    bool proposal(const std::string& p, const SourceLoc& loc, const std::string& key) {
        size_t b = 0;
        if (p == "default") return true;
        while (b <= p.size()) {
            size_t e = p.find('-', b);
            if (e == std::string::npos) e = p.size();
            std::string alg = p.substr(b, e - b);
            if (!known_algorithm(alg)) {
                diags_.error(loc, "'" + key + " " + p + "': unknown algorithm '" + alg +
                                      "' (strongSwan keywords such as aes256, aes256gcm16, sha256, sha384, "
                                      "modp3072, ecp256, x25519; see docs/policy-language.md)");
                return false;
            }
            b = e + 1;
        }
        return true;
    }

    static bool known_algorithm(const std::string& a) {
        static const std::set<std::string> kWords = {
            "aes",          "aes128",       "aes192",      "aes256",           "3des",
            "cast128",      "blowfish128",  "blowfish192", "blowfish256",      "camellia",
            "camellia128",  "camellia192",  "camellia256", "chacha20poly1305", "null",
            "md5",          "sha",          "sha1",        "sha256",           "sha384",
            "sha512",       "sha2_256",     "sha2_384",    "sha2_512",         "sha256_96",
            "sha1_160",     "aesxcbc",      "aescmac",     "camelliaxcbc",     "prfmd5",
            "prfsha1",      "prfsha256",    "prfsha384",   "prfsha512",        "prfaesxcbc",
            "prfaescmac",   "modp768",      "modp1024",    "modp1536",         "modp2048",
            "modp3072",     "modp4096",     "modp6144",    "modp8192",         "modp1024s160",
            "modp2048s224", "modp2048s256", "ecp192",      "ecp224",           "ecp256",
            "ecp384",       "ecp521",       "ecp224bp",    "ecp256bp",         "ecp384bp",
            "ecp512bp",     "curve25519",   "x25519",      "curve448",         "x448",
            "esn",          "noesn"};
        if (kWords.count(a)) return true;
        // aes128ctr, aes256gcm16, aes128ccm12, camellia256ccm8, ... (mode and ICV size)
        for (const char* fam : {"aes128", "aes192", "aes256", "camellia128", "camellia192", "camellia256"}) {
            std::string f = fam;
            if (a.rfind(f, 0) != 0) continue;
            std::string rest = a.substr(f.size());
            if (rest == "ctr") return true;
            for (const char* mode : {"gcm", "ccm"})
                for (const char* icv : {"8", "12", "16", "64", "96", "128"})
                    if (rest == std::string(mode) + icv) return true;
        }
        return false;
    }

    // NUMBER (seconds) or NUMBER followed by s, m, h or d.
    std::optional<uint32_t> duration(const std::string& t, const SourceLoc& loc, const std::string& key) {
        size_t digits = t.find_first_not_of("0123456789");
        std::string num = t.substr(0, digits);
        std::string unit = digits == std::string::npos ? "" : t.substr(digits);
        uint64_t mul = unit == "" || unit == "s" ? 1
                       : unit == "m"             ? 60
                       : unit == "h"             ? 3600
                       : unit == "d"             ? 86400
                                                 : 0;
        if (num.empty() || num.size() > 9 || mul == 0 || std::stoull(num) == 0 ||
            std::stoull(num) * mul > 31u * 86400u) {
            diags_.error(loc, key +
                                  " takes a duration: a number of seconds or N followed by s, m, h or d, "
                                  "at most 31d (found '" +
                                  t + "')");
            return std::nullopt;
        }
        return static_cast<uint32_t>(std::stoull(num) * mul);
    }

    void filter(const ast::FilterStmt& f, const SourceLoc& loc, Rule& rule, Operands& ops) {
        if (f.inline_action) {
            rule.action = f.action;
            // An inline `secure` negotiates with the defaults.
            if (rule.action.kind == Action::Secure) fill_defaults(rule.action.negotiation);
        } else if (auto a = actions_.find(f.action_ref); a != actions_.end()) {
            rule.action = a->second.first;
        } else if (!broken_actions_.count(f.action_ref)) {
            std::string known;
            for (const auto& [n, _] : actions_) known += (known.empty() ? "" : ", ") + n;
            diags_.error(f.action_loc, "unknown action '" + f.action_ref +
                                           "' (expected permit, block, secure" +
                                           (known.empty() ? "" : " or a named action: " + known) + ")");
        }

        if (f.proto) {
            const ast::Item& p = *f.proto;
            if (p.kind == Kind::Number) {
                if (p.lo > 255)
                    diags_.error(p.loc, "protocol number " + p.text + " is out of range (0..255)");
                else
                    ops.proto = static_cast<uint8_t>(p.lo);
            } else if (auto n = protocol_number(p.text)) {
                ops.proto = *n;
            } else {
                diags_.error(
                    p.loc,
                    "unknown protocol '" + p.text +
                        "' (use a name such as tcp, udp, icmp, icmpv6, esp, ah, gre, rsvp, or a number)");
            }
        }
        const bool proto_ok = !f.proto || ops.proto.has_value();

        for (const auto& it : f.src.items) addr_item(it, ops.src);
        for (const auto& it : f.dst.items) addr_item(it, ops.dst);

        auto ports = [&](const std::optional<ast::ItemList>& l, std::vector<Range>& out) {
            if (!l) return;
            if (proto_ok && !(ops.proto && has_ports(*ops.proto))) {
                diags_.error(l->loc, ops.proto ? "ports need proto tcp or udp; protocol " +
                                                     protocol_name(*ops.proto) + " has no ports"
                                               : std::string("ports need 'proto tcp' or 'proto udp'"));
                return;
            }
            for (const auto& it : l->items) range_item(it, out, 65535, "port");
        };
        ports(f.sport, ops.sport);
        ports(f.dport, ops.dport);
        dedupe(ops.src);
        dedupe(ops.dst);

        auto icmp = [&](const std::optional<ast::Item>& it, std::vector<Range>& out, const char* what) {
            if (!it) return;
            if (proto_ok && !(ops.proto && is_icmp(*ops.proto))) {
                diags_.error(it->loc, std::string("'") + what + "' needs proto icmp or icmpv6");
                return;
            }
            range_item(*it, out, 255, what);
        };
        icmp(f.icmp_type, ops.sport, "type");
        icmp(f.icmp_code, ops.dport, "code");
        dedupe(ops.sport);
        dedupe(ops.dport);

        if (f.tunnel) {
            const ast::Item& t = *f.tunnel;
            std::vector<AddrMatch> ep;
            if (t.kind == Kind::Address) {
                auto pp = parse_prefix(t.text);
                if (!pp.prefix)
                    diags_.error(t.loc, "bad tunnel endpoint: " + pp.error);
                else if (pp.prefix->len != 128)
                    diags_.error(t.loc, "bad tunnel endpoint '" + t.text +
                                            "': it must be a single host address, not a prefix");
                else
                    rule.tunnel = pp.prefix;
            } else {
                diags_.error(t.loc, "bad tunnel endpoint '" +
                                        (t.kind == Kind::SetRef ? "$" + t.text
                                         : t.kind == Kind::Any  ? "any"
                                         : t.kind == Kind::Me   ? "me"
                                                                : t.text) +
                                        "': it must be a single host address (the remote tunnel gateway)");
            }
            for (const auto* l : {&f.src, &f.dst})
                for (const auto& it : l->items)
                    if (it.kind == Kind::Me)
                        diags_.warning(it.loc,
                                       "'me' never matches in a tunnel filter: tunnel filters apply only to "
                                       "traffic routed through this host");
        }
        (void)loc;
    }

    Diagnostics& diags_;
    std::map<std::string, SourceLoc> headers_;
    std::map<std::string, SourceLoc> all_sets_;
    std::set<std::string> broken_sets_, broken_actions_;
    std::map<std::string, SetDef> sets_;
    std::map<std::string, std::pair<ActionSpec, SourceLoc>> actions_;
};

}  // namespace

Resolved resolve(const front::ast::File& file, front::Diagnostics& diags) {
    return Resolver(diags).run(file);
}

}  // namespace secpol::ir::passes
