#include "ir/ir.h"

#include <arpa/inet.h>

namespace secpol::ir {

bool Prefix::contains(const uint32_t addr[4]) const {
    unsigned bits = len;
    for (int i = 0; i < 4 && bits > 0; ++i) {
        uint32_t mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
        if ((addr[i] & mask) != (w[i] & mask)) return false;
        bits = bits >= 32 ? bits - 32 : 0;
    }
    return true;
}

std::string Prefix::str() const {
    char buf[INET6_ADDRSTRLEN];
    if (v4) {
        uint32_t a = htonl(w[3]);
        inet_ntop(AF_INET, &a, buf, sizeof buf);
        return std::string(buf) + "/" + std::to_string(len - 96);
    }
    uint32_t a[4];
    for (int i = 0; i < 4; ++i) a[i] = htonl(w[i]);
    inet_ntop(AF_INET6, a, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(len);
}

bool Policy::has_tunnel() const {
    for (const auto& r : rules)
        if (r.tunnel) return true;
    return false;
}

bool Policy::has_log() const {
    if (default_log) return true;
    for (const auto& r : rules)
        if (r.log) return true;
    return false;
}

std::string LogSpec::str() const {
    return std::to_string(rate) + (period == 60 ? "/min" : "/s") + " burst " + std::to_string(burst);
}

const char* to_string(Action a) {
    switch (a) {
        case Action::Permit:
            return "permit";
        case Action::Block:
            return "block";
        case Action::Secure:
            return "secure";
    }
    return "?";
}

const char* to_string(Dir d) {
    switch (d) {
        case Dir::Both:
            return "both";
        case Dir::In:
            return "in";
        case Dir::Out:
            return "out";
    }
    return "?";
}

const char* to_string(Negotiation::Auth a) {
    switch (a) {
        case Negotiation::Auth::Cert:
            return "cert";
        case Negotiation::Auth::Pubkey:
            return "pubkey";
        case Negotiation::Auth::Psk:
            return "psk";
        case Negotiation::Auth::Kerberos:
            return "kerberos";
    }
    return "?";
}

static const char* const kExemptionNames[SECPOL_EX_COUNT] = {"broadcast", "multicast", "rsvp", "ike",
                                                             "ike-nat-t", "kerberos",  "nd",   "dhcp"};

const char* exemption_name(unsigned ex) {
    return ex < SECPOL_EX_COUNT ? kExemptionNames[ex] : "?";
}

std::optional<unsigned> exemption_from_name(const std::string& s) {
    for (unsigned i = 0; i < SECPOL_EX_COUNT; ++i)
        if (s == kExemptionNames[i]) return i;
    return std::nullopt;
}

}  // namespace secpol::ir
