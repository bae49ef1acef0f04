#include "gen/generator.h"

#include <random>
#include <sstream>
#include <vector>

namespace secpol::gen {
namespace {

class Gen {
  public:
    explicit Gen(const Options& o) : o_(o), rng_(o.seed) {}

    std::string run() {
        std::ostringstream os;
        os << "# generated: " << o_.filters << " filters, seed " << o_.seed << (o_.random ? ", random" : "")
           << "\n";
        os << "policy \"gen-" << o_.filters << "-" << o_.seed << "\"\n";
        os << "exemptions " << o_.exemptions << "\n";
        os << "order " << (o_.first_match ? "first-match" : "specificity") << "\n";
        os << "default " << o_.default_action << "\n";
        os << "action require = secure\n";
        os << "action request = secure accept-clear fallback-clear\n";
        if (o_.sets) {
            os << "set web = { 80, 443, 8080-8088 }\n";
            os << "set nets = { 10.99.0.0/16, 192.0.2.0/24, 2001:db8:99::/48 }\n";
        }
        for (unsigned i = 0; i < o_.filters; ++i) os << filter(i) << "\n";
        return os.str();
    }

  private:
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
    unsigned range(unsigned lo, unsigned hi) { return std::uniform_int_distribution<unsigned>(lo, hi)(rng_); }

    std::string v4(unsigned len) {
        uint32_t a;
        if (o_.random) {
            // A small address space so random filters overlap and random packets hit them.
            a = 0x0a000000u | (pick(4) << 16) | (pick(4) << 8) | pick(8);
        } else {
            a = 0x0a000000u | (pick(256) << 16) | (pick(256) << 8) | pick(256);
        }
        if (len < 32) a &= ~(0xffffffffu >> len);
        std::ostringstream os;
        os << (a >> 24) << '.' << ((a >> 16) & 255) << '.' << ((a >> 8) & 255) << '.' << (a & 255);
        if (len < 32) os << '/' << len;
        return os.str();
    }

    std::string v6(unsigned len) {
        std::ostringstream os;
        unsigned w = o_.random ? pick(4) : pick(65536);
        unsigned h = o_.random ? pick(8) : pick(65536);
        os << std::hex << "2001:db8";
        if (len > 32) os << ':' << w;  // no host bits beyond the prefix
        os << "::";                    // a /32 is "2001:db8::/32", not "2001:db8:::/32"
        if (len == 128) os << h;
        os << std::dec;
        if (len < 128) os << '/' << len;
        return os.str();
    }

    std::string addr(bool v6fam) {
        if (chance(o_.me_share)) return "me";
        unsigned r = pick(o_.random ? 4 : 10);
        if (r == 0) return "any";
        if (o_.sets && o_.random && r == 1) return "$nets";
        if (v6fam)
            return v6(o_.random ? std::vector<unsigned>{32, 48, 64, 128}[pick(4)] : (chance(0.6) ? 128 : 64));
        if (o_.random) return v4(std::vector<unsigned>{8, 16, 24, 30, 32}[pick(5)]);
        return v4(chance(0.6) ? 32 : std::vector<unsigned>{16, 24, 28}[pick(3)]);
    }

    std::string ports() {
        unsigned r = pick(o_.random ? 6 : 8);
        if (r == 0) return "";
        if (r == 1 && o_.sets) return " port $web";
        if (r == 2) {
            unsigned lo = o_.random ? range(0, 600) : range(1024, 60000);
            return " port " + std::to_string(lo) + "-" +
                   std::to_string(lo + range(0, o_.random ? 200 : 2000));
        }
        if (r == 3) return " port " + std::to_string(range(1, 1000)) + "," + std::to_string(range(1, 1000));
        static const unsigned wk[] = {22, 25, 53, 80, 88, 123, 135, 139, 443, 445, 500, 3389, 4500, 5985};
        return " port " + std::to_string(o_.random ? wk[pick(14)] : range(1, 65535));
    }

    std::string filter(unsigned i) {
        std::ostringstream os;
        const bool tunnel = chance(o_.tunnel_share);
        const bool secure = tunnel || chance(o_.secure_share);
        const bool v6fam = chance(o_.v6_share);
        if (secure) {
            static const char* const s[] = {"secure", "require", "request", "secure fallback-clear"};
            os << s[pick(4)];
        } else {
            os << (chance(0.5) ? "permit" : "block");
        }
        if (chance(0.2)) os << (chance(0.5) ? " in" : " out");
        unsigned p = pick(10);
        std::string proto;
        if (p < 4)
            proto = "tcp";
        else if (p < 7)
            proto = "udp";
        else if (p == 7)
            proto = v6fam ? "icmpv6" : "icmp";
        else if (p == 8 && o_.random)
            proto = std::vector<std::string>{"esp", "ah", "rsvp", "47"}[pick(4)];
        if (!proto.empty()) os << " proto " << proto;
        if ((proto == "icmp" || proto == "icmpv6") && chance(0.6)) {
            os << " type "
               << (proto == "icmp" ? std::vector<unsigned>{0, 3, 8, 11}[pick(4)]
                                   : std::vector<unsigned>{1, 128, 129, 135}[pick(4)]);
            if (chance(0.4)) os << " code " << pick(4);
        }
        const bool l4 = proto == "tcp" || proto == "udp";
        if (tunnel) {
            os << " from " << (v6fam ? v6(64) : v4(24)) << (l4 ? ports() : "");
            os << " to " << (v6fam ? v6(64) : v4(24)) << (l4 ? ports() : "");
        } else {
            std::string src = addr(v6fam), dst = addr(v6fam);
            // A policy-shaped filter from any to any would shadow everything after it.
            while (!o_.random && src == "any" && dst == "any") dst = addr(v6fam);
            os << " from " << src << (l4 ? ports() : "");
            os << " to " << dst << (l4 ? ports() : "");
        }
        if (chance(o_.mirrored_share)) os << " mirrored";
        if (tunnel)
            os << " tunnel " << (v6fam ? "2001:db8:ffff::1" : "198.51.100." + std::to_string(range(1, 254)));
        os << " \"r" << i << "\"";
        return os.str();
    }

    const Options& o_;
    std::mt19937_64 rng_;
};

}  // namespace

std::string generate_policy(const Options& opts) {
    return Gen(opts).run();
}

Options bench_options(unsigned filters, bool first_match) {
    Options o;
    o.filters = filters;
    o.seed = 1000 + filters;
    o.first_match = first_match;
    o.me_share = 0.1;
    return o;
}

Options differential_options(uint64_t seed, unsigned filters) {
    static const char* const profiles[] = {"windows2000",
                                           "nodefaultexempt 1",
                                           "nodefaultexempt 2",
                                           "windows2003",
                                           "none",
                                           "{ broadcast multicast rsvp ike kerberos ike-nat-t nd dhcp }",
                                           "{ ike-nat-t dhcp }",
                                           "{ nd broadcast }"};
    Options o;
    o.seed = seed;
    o.filters = filters;
    o.random = true;
    o.first_match = seed % 2;
    o.exemptions = profiles[seed % (sizeof profiles / sizeof *profiles)];
    o.default_action = seed % 3 ? "permit" : "block";
    o.tunnel_share = seed % 4 == 0 ? 0.15 : 0.0;
    o.secure_share = 0.25;
    o.v6_share = 0.35;
    return o;
}

}  // namespace secpol::gen
