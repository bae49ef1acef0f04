// swanctl.conf from the secure rules of a policy. Each secure rule becomes a
// CHILD_SA config (its traffic selectors, mode and proposals) with
// start_action = trap, so that charon negotiates on demand as Windows did;
// rules sharing an action and a peer share the connection (IKE_SA config).
#include "export/swanctl.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "ir/passes.h"

namespace secpol::exporter {
namespace {

using ir::AddrMatch;
using ir::Negotiation;

// More selectors than this on one side of a child are more than an IKE
// message comfortably carries and than peers reliably accept.
constexpr size_t kMaxSelectors = 16;

std::string where(const ir::Rule& r) {
    return "\"" + r.label + "\" (" + r.loc.file + ":" + std::to_string(r.loc.line) + ")";
}

// swanctl names: letters, digits, '-' and '_'.
std::string sanitise(const std::string& s) {
    std::string o;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_';
        o += ok ? c : '-';
    }
    while (o.find("--") != std::string::npos) o.erase(o.find("--"), 1);
    while (!o.empty() && o.front() == '-') o.erase(o.begin());
    while (!o.empty() && o.back() == '-') o.pop_back();
    return o.empty() ? "rule" : o;
}

std::string unique_name(const std::string& base, std::set<std::string>& used) {
    std::string n = base;
    for (int i = 2; !used.insert(n).second; ++i) n = base + "-" + std::to_string(i);
    return n;
}

// A host prefix without its length, for addresses and identities.
std::string host(const ir::Prefix& p) {
    std::string s = p.str();
    return s.substr(0, s.find('/'));
}

bool is_host(const AddrMatch& a) {
    return a.kind == AddrMatch::Kind::Prefix && a.prefix.len == 128;
}

std::string conf_string(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o + "\"";
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
    std::string o;
    for (const auto& x : v) o += (o.empty() ? "" : sep) + x;
    return o;
}

void push_unique(std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// "[tcp/22]", "[udp/1024-65535]", "[icmp]", "[47]" or "" (any protocol).
std::string proto_port(const ir::Filter& f, const ir::Range& ports) {
    if (!f.proto) return "";
    const uint8_t p = *f.proto;
    std::string name = p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : std::to_string(p);
    if (ir::passes::has_ports(p) && !(ports.lo == 0 && ports.hi == 65535))
        name += "/" + (ports.lo == ports.hi ? std::to_string(ports.lo)
                                            : std::to_string(ports.lo) + "-" + std::to_string(ports.hi));
    return "[" + name + "]";
}

struct Child {
    std::string name;
    const ir::Rule* rule = nullptr;
    std::vector<std::string> local_ts, remote_ts;
    bool tunnel = false;
};

struct Connection {
    std::string name;
    const ir::ActionSpec* action = nullptr;
    std::string local_addrs, remote_addrs;
    std::string local_id, remote_id;  // identities bound to a pre-shared key, when known
    std::vector<Child> children;
};

class Exporter {
  public:
    Exporter(const ir::Policy& p, const SwanctlOptions& o, front::Diagnostics& d) : p_(p), o_(o), diags_(d) {}

    std::optional<SwanctlExport> run() {
        for (const ir::Rule& r : p_.rules)
            if (r.action.kind == ir::Action::Secure) rule(r);
        if (diags_.has_errors()) return std::nullopt;
        return render();
    }

  private:
    // What strongSwan cannot do exactly as secpol does: a warning, or an
    // error under --strict.
    void inexact(const ir::Rule& r, const std::string& what) {
        std::string msg = "filter " + where(r) + ": " + what;
        if (o_.strict)
            diags_.error(r.loc, msg + " (--strict)");
        else
            diags_.warning(r.loc, msg);
    }

    bool is_local(const AddrMatch& a) const {
        if (a.kind == AddrMatch::Kind::Me) return true;
        return o_.local && a.kind == AddrMatch::Kind::Prefix && a.prefix.contains(o_.local->w.data()) &&
               a.prefix.v4 == o_.local->v4;
    }

    // The traffic selector addresses of one side.
    std::vector<std::string> ts_addrs(const AddrMatch& a) const {
        switch (a.kind) {
            case AddrMatch::Kind::Any:
                return {"0.0.0.0/0", "::/0"};
            case AddrMatch::Kind::Me:
                return {o_.local ? o_.local->str() : "dynamic"};
            case AddrMatch::Kind::Prefix:
                return {a.prefix.str()};
        }
        return {};
    }

    void rule(const ir::Rule& r) {
        std::vector<const ir::Filter*> fs;
        for (const ir::Filter& f : p_.filters)
            if (f.rule_id == r.id && !f.reversed) fs.push_back(&f);
        if (fs.empty()) return;  // every filter dropped (cross-family): nothing to negotiate
        const ir::Filter& first = *fs.front();
        // ESP/AH (or ESP-in-UDP on 4500) between the peers is the protected
        // form itself: the program enforces it, IKE has nothing to set up.
        if (first.proto && (*first.proto == 50 || *first.proto == 51 ||
                            (*first.proto == 17 && first.sport == ir::Range{4500, 4500} &&
                             first.dport == ir::Range{4500, 4500}))) {
            diags_.note(r.loc, "filter " + where(r) +
                                   " matches the protected packets themselves (ESP, AH or ESP-in-UDP); "
                                   "not exported, the compiled program enforces it");
            return;
        }
        const ir::Negotiation& n = r.action.negotiation;
        if (r.action.accept_clear)
            inexact(r,
                    "accept-clear has no strongSwan equivalent: the IPsec policies charon installs drop the "
                    "inbound clear traffic that secpol accepts");
        if (r.action.fallback_clear)
            inexact(
                r,
                "fallback-clear has no strongSwan equivalent: with start_action = trap outbound traffic "
                "waits for the SA and is dropped when negotiation fails, where secpol lets it out in clear");
        if (!r.mirrored || r.dir != ir::Dir::Both)
            inexact(r, std::string(r.dir != ir::Dir::Both
                                       ? "only one direction ('" + std::string(ir::to_string(r.dir)) + "')"
                                       : "not mirrored") +
                           ": an IPsec SA protects both directions, so the reverse traffic is protected (and "
                           "required) too");
        const bool has_me = std::any_of(fs.begin(), fs.end(), [](const ir::Filter* f) {
            return f->src.kind == AddrMatch::Kind::Me || f->dst.kind == AddrMatch::Kind::Me;
        });
        if (has_me && !o_.local)
            inexact(r,
                    "'me' without --local: exported as 'dynamic' (the address IKE runs on), not every "
                    "address of this host");
        if (first.proto && ir::passes::is_icmp(*first.proto) &&
            std::any_of(fs.begin(), fs.end(), [](const ir::Filter* f) { return f->l4_given; }))
            inexact(r,
                    "ICMP type/code cannot be expressed in a traffic selector: the child covers all of "
                    "protocol " +
                        ir::passes::protocol_name(*first.proto));

        // Which side is this host: the side with `me` (or the --local
        // address); for a tunnel filter, and when neither side is, the source.
        bool src_local = true;
        if (!first.tunnel) {
            const bool s =
                std::any_of(fs.begin(), fs.end(), [&](const ir::Filter* f) { return is_local(f->src); });
            const bool d =
                std::any_of(fs.begin(), fs.end(), [&](const ir::Filter* f) { return is_local(f->dst); });
            src_local = s || !d;
        }
        Child c;
        c.rule = &r;
        c.tunnel = first.tunnel;
        std::vector<std::string> remote_peers;
        bool remote_any = false;
        for (const ir::Filter* f : fs) {
            const AddrMatch& la = src_local ? f->src : f->dst;
            const AddrMatch& ra = src_local ? f->dst : f->src;
            const ir::Range& lp = src_local ? f->sport : f->dport;
            const ir::Range& rp = src_local ? f->dport : f->sport;
            const bool icmp = f->proto && ir::passes::is_icmp(*f->proto);
            for (const auto& a : ts_addrs(la))
                push_unique(c.local_ts, a + proto_port(*f, icmp ? ir::Range{0, 65535} : lp));
            for (const auto& a : ts_addrs(ra))
                push_unique(c.remote_ts, a + proto_port(*f, icmp ? ir::Range{0, 65535} : rp));
            if (ra.kind == AddrMatch::Kind::Prefix)
                push_unique(remote_peers, is_host(ra) ? host(ra.prefix) : ra.prefix.str());
            else
                remote_any = true;
        }
        // `me` stands for the one --local address: the other family's peers get no selector pair.
        if (has_me && o_.local)
            for (const ir::Filter* f : fs) {
                const AddrMatch& ra = src_local ? f->dst : f->src;
                const bool other = ra.kind == AddrMatch::Kind::Any ||
                                   (ra.kind == AddrMatch::Kind::Prefix && ra.prefix.v4 != o_.local->v4);
                if (other) {
                    inexact(r, std::string("'me' is the --local address here (") +
                                   (o_.local->v4 ? "IPv4" : "IPv6") + "), so its " +
                                   (o_.local->v4 ? "IPv6" : "IPv4") + " traffic (to " +
                                   (ra.kind == AddrMatch::Kind::Any ? std::string("any") : ra.prefix.str()) +
                                   ") gets no selector pair and is not negotiated");
                    break;
                }
            }
        if (c.local_ts.size() > kMaxSelectors || c.remote_ts.size() > kMaxSelectors)
            inexact(r, "its sets split into " + std::to_string(c.local_ts.size()) + " local and " +
                           std::to_string(c.remote_ts.size()) + " remote selectors (more than " +
                           std::to_string(kMaxSelectors) +
                           "); peers may narrow such a child to part of them");

        // The IKE peer: the tunnel endpoint, or for transport mode the
        // remote side itself (for a prefix or any, charon takes the
        // destination of the packet that triggered the trap).
        std::string remote = first.tunnel ? host(first.endpoint) : remote_any ? "%any" : join(remote_peers);
        std::string key = r.action.name + "|" + remote + "|" + (first.tunnel ? "tunnel" : "transport") + "|" +
                          std::to_string(static_cast<int>(n.auth)) + n.auth_file;
        auto it = by_key_.find(key);
        if (it == by_key_.end()) {
            Connection conn;
            // The action's name, and the peer's address when there is one peer.
            std::string base = sanitise(r.action.name);
            if (remote != "%any" && remote.find_first_of(",/") == std::string::npos)
                base += "-" + sanitise(remote);
            conn.name = unique_name(base, conn_names_);
            conn.action = &r.action;
            conn.local_addrs = o_.local ? host(*o_.local) : "";
            conn.remote_addrs = remote;
            conn.local_id = o_.local ? host(*o_.local) : "";
            // A pre-shared key is bound to the peer's identity (its address)
            // only when there is one peer.
            const bool one_peer =
                !remote_any && remote_peers.size() == 1 && remote.find('/') == std::string::npos;
            conn.remote_id = first.tunnel || one_peer ? remote : "";
            conns_.push_back(std::move(conn));
            it = by_key_.emplace(key, conns_.size() - 1).first;
        }
        c.name = unique_name(sanitise(r.label), child_names_);
        conns_[it->second].children.push_back(std::move(c));
    }

    // The absolute path of a file named in the policy.
    std::string path_of(const std::string& f) const {
        std::filesystem::path p(f);
        if (p.is_relative()) p = std::filesystem::path(o_.base_dir) / p;
        std::error_code ec;
        auto abs = std::filesystem::absolute(p, ec);
        return (ec ? p : abs).lexically_normal().string();
    }

    // The pre-shared key held by a key file: one line, strongSwan's secret
    // syntax (0x... hex, 0s... base64, or the text itself).
    std::optional<std::string> read_key(const Connection& c) {
        const Negotiation& n = c.action->negotiation;
        const std::string path = path_of(n.auth_file);
        std::ifstream in(path, std::ios::binary);
        std::ostringstream ss;
        if (in) ss << in.rdbuf();
        std::string key = ss.str();
        while (!key.empty() &&
               (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
            key.pop_back();
        std::string problem = !in                                              ? "cannot be read"
                              : key.empty()                                    ? "is empty"
                              : key.find_first_of("\r\n") != std::string::npos ? "holds more than one line"
                                                                               : "";
        if (!problem.empty()) {
            diags_.error(n.loc, "action '" + c.action->name + "': the pre-shared key file '" + path + "' " +
                                    problem + " (it must hold the key on one line)");
            return std::nullopt;
        }
        if (key.rfind("0x", 0) == 0 || key.rfind("0s", 0) == 0) return key;
        return conf_string(key);
    }

    bool check_file(const Connection& c) {
        const Negotiation& n = c.action->negotiation;
        std::error_code ec;
        if (std::filesystem::is_regular_file(path_of(n.auth_file), ec)) return true;
        diags_.error(n.loc,
                     "action '" + c.action->name + "': the " +
                         (n.auth == Negotiation::Auth::Pubkey ? "peer's public key" : "CA certificate") +
                         " file '" + path_of(n.auth_file) + "' does not exist");
        return false;
    }

    std::optional<SwanctlExport> render() {
        SwanctlExport out;
        std::ostringstream os, secrets;
        os << "# swanctl.conf exported by `secpol export swanctl` from " << p_.file;
        if (!p_.label.empty()) os << " (policy " << conf_string(p_.label) << ")";
        os << ".\n# Generated: change the policy and export again instead of editing it.\n"
           << "# Exemptions and permit/block filters need nothing here: the compiled program enforces "
              "them.\n";
        if (conns_.empty()) {
            os << "# The policy has no secure filter for IKE to negotiate.\n";
            out.text = os.str();
            return out;
        }
        os << "connections {\n";
        for (const Connection& c : conns_) {
            const Negotiation& n = c.action->negotiation;
            os << "\t" << c.name << " {\n";
            os << "\t\t# secure action '" << c.action->name << "'"
               << (n.loc.line ? " (" + n.loc.file + ":" + std::to_string(n.loc.line) + ")"
                              : std::string(" (inline)"))
               << "\n";
            os << "\t\tversion = " << int(n.ike_version) << "\n";
            if (!c.local_addrs.empty()) os << "\t\tlocal_addrs = " << c.local_addrs << "\n";
            os << "\t\tremote_addrs = " << c.remote_addrs << "\n";
            os << "\t\tproposals = " << join(n.ike_proposals) << "\n";
            os << "\t\trekey_time = " << n.ike_lifetime << "s\n";
            if (n.nat_t) os << "\t\tencap = yes\n";
            const char* auth = n.auth == Negotiation::Auth::Psk ? "psk" : "pubkey";
            os << "\t\tlocal {\n\t\t\tauth = " << auth << "\n";
            if (n.auth == Negotiation::Auth::Psk && !c.local_id.empty())
                os << "\t\t\tid = " << c.local_id << "\n";
            os << "\t\t}\n\t\tremote {\n\t\t\tauth = " << auth << "\n";
            if (n.auth == Negotiation::Auth::Psk && !c.remote_id.empty())
                os << "\t\t\tid = " << c.remote_id << "\n";
            if (!n.auth_file.empty() && n.auth != Negotiation::Auth::Psk) {
                if (!check_file(c)) return std::nullopt;
                os << "\t\t\t" << (n.auth == Negotiation::Auth::Pubkey ? "pubkeys" : "cacerts") << " = "
                   << path_of(n.auth_file) << "\n";
            }
            os << "\t\t}\n\t\tchildren {\n";
            for (const Child& ch : c.children) {
                const ir::Rule& r = *ch.rule;
                os << "\t\t\t" << ch.name << " {\n";
                os << "\t\t\t\t# " << r.loc.file << ":" << r.loc.line << ": " << r.text << "\n";
                os << "\t\t\t\tlocal_ts = " << join(ch.local_ts) << "\n";
                os << "\t\t\t\tremote_ts = " << join(ch.remote_ts) << "\n";
                os << "\t\t\t\tmode = " << (ch.tunnel ? "tunnel" : "transport") << "\n";
                os << "\t\t\t\t" << (n.method == Negotiation::Method::Ah ? "ah_proposals" : "esp_proposals")
                   << " = " << join(n.proposals) << "\n";
                os << "\t\t\t\trekey_time = " << n.lifetime << "s\n";
                if (n.lifetime_kbytes) os << "\t\t\t\trekey_bytes = " << n.lifetime_kbytes * 1024 << "\n";
                os << "\t\t\t\tstart_action = trap\n";
                os << "\t\t\t}\n";
                ++out.children;
            }
            os << "\t\t}\n\t}\n";
            ++out.connections;
            if (n.auth == Negotiation::Auth::Psk) {
                auto key = read_key(c);
                if (!key) return std::nullopt;
                secrets << "\tike-" << c.name << " {\n";
                secrets << "\t\t# from " << n.auth_file << "\n";
                if (!c.local_id.empty()) secrets << "\t\tid-local = " << c.local_id << "\n";
                if (!c.remote_id.empty()) secrets << "\t\tid-remote = " << c.remote_id << "\n";
                secrets << "\t\tsecret = " << *key << "\n\t}\n";
                out.has_secrets = true;
            }
        }
        os << "}\n";
        if (out.has_secrets) os << "secrets {\n" << secrets.str() << "}\n";
        out.text = os.str();
        return out;
    }

    const ir::Policy& p_;
    const SwanctlOptions& o_;
    front::Diagnostics& diags_;
    std::vector<Connection> conns_;
    std::map<std::string, size_t> by_key_;
    std::set<std::string> conn_names_, child_names_;
};

}  // namespace

std::optional<SwanctlExport> export_swanctl(const ir::Policy& p, const SwanctlOptions& o,
                                            front::Diagnostics& diags) {
    return Exporter(p, o, diags).run();
}

}  // namespace secpol::exporter
