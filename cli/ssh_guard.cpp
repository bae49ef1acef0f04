#include "ssh_guard.h"

#include <cstdlib>
#include <sstream>

#include "packet/spec.h"
#include "ref/classify.h"

namespace secpol::cli {

std::vector<std::string> ssh_warnings(const ir::Policy& policy, const net::LocalTable& given) {
    const char* env = std::getenv("SSH_CONNECTION");
    if (!env) return {};
    std::istringstream in(env);
    std::string cip, cport, sip, sport;
    if (!(in >> cip >> cport >> sip >> sport)) return {};
    auto bracket = [](const std::string& ip) {
        return ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
    };
    net::LocalTable locals = given;
    auto server = net::parse_addr(sip);
    if (!server) return {};
    locals.addrs.insert(*server);
    std::vector<std::string> out;
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        const std::string spec =
            dir == SECPOL_DIR_IN ? "tcp " + bracket(cip) + ":" + cport + " > " + bracket(sip) + ":" + sport
                                 : "tcp " + bracket(sip) + ":" + sport + " > " + bracket(cip) + ":" + cport;
        std::string err;
        auto s = pkt::parse_packet_spec(spec, &err);
        if (!s) return {};
        auto frame = pkt::build_packet(*s).bytes();
        auto d = ref::classify(policy, frame.data(), frame.size(), dir, locals);
        if (d.verdict != SECPOL_V_BLOCK) continue;
        std::ostringstream os;
        os << "warning: this policy blocks the SSH session you are in (SSH_CONNECTION " << env
           << "): " << (dir == SECPOL_DIR_IN ? "in" : "out") << " '" << spec << "' is blocked by ";
        if (d.reason == SECPOL_R_FILTER && d.rule < policy.rules.size()) {
            const auto& r = policy.rules[d.rule];
            os << "filter " << d.rule << (r.label.empty() ? "" : " \"" + r.label + "\"") << " (line "
               << r.loc.line << ")";
        } else {
            os << ref::reason_name(d.reason);
        }
        out.push_back(os.str());
    }
    return out;
}

}  // namespace secpol::cli
