// ClassBench loader, ../shared/README.md for the format.
#include "gen/classbench.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace secpol::gen {
namespace {

[[noreturn]] void bad(const std::string& path, size_t line, const std::string& why) {
    throw std::runtime_error(path + ":" + std::to_string(line) + ": " + why);
}

std::ifstream open(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open");
    return in;
}

// "a.b.c.d/n" as an IPv4-mapped prefix (host bits cleared).
bool parse_prefix(const std::string& s, ir::Prefix& p) {
    unsigned a, b, c, d, n;
    char tail;
    if (std::sscanf(s.c_str(), "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &n, &tail) != 5) return false;
    if (a > 255 || b > 255 || c > 255 || d > 255 || n > 32) return false;
    uint32_t addr = (a << 24) | (b << 16) | (c << 8) | d;
    uint32_t mask = n == 0 ? 0 : ~0u << (32 - n);
    p.w = {0, 0, 0xffff, addr & mask};
    p.len = static_cast<uint8_t>(96 + n);
    p.v4 = true;
    return true;
}

bool parse_range(const std::string& s, ir::Range& r) {
    unsigned lo, hi;
    char tail;
    if (std::sscanf(s.c_str(), " %u : %u %c", &lo, &hi, &tail) != 2 || lo > hi || hi > 65535) return false;
    r = {lo, hi};
    return true;
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, '\t'))
        if (!f.empty()) out.push_back(f);
    return out;
}

}  // namespace

ir::Policy classbench_policy(const std::string& path) {
    std::ifstream in = open(path);
    ir::Policy pol;
    pol.label = path.substr(path.find_last_of('/') + 1);
    pol.file = path;
    pol.order = ir::Order::FirstMatch;
    pol.default_action = ir::Action::Permit;
    pol.exemptions_name = "none";
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
        if (line.empty() || line[0] != '@') continue;
        std::vector<std::string> f = split_tabs(line.substr(1));
        if (f.size() < 5) bad(path, lineno, "expected at least 5 tab-separated fields");
        ir::Filter flt;
        flt.rule_id = static_cast<uint32_t>(pol.rules.size());
        flt.src.kind = flt.dst.kind = ir::AddrMatch::Kind::Prefix;
        if (!parse_prefix(f[0], flt.src.prefix)) bad(path, lineno, "bad source prefix " + f[0]);
        if (!parse_prefix(f[1], flt.dst.prefix)) bad(path, lineno, "bad destination prefix " + f[1]);
        if (!parse_range(f[2], flt.sport)) bad(path, lineno, "bad source ports " + f[2]);
        if (!parse_range(f[3], flt.dport)) bad(path, lineno, "bad destination ports " + f[3]);
        unsigned pv, pm;
        if (std::sscanf(f[4].c_str(), "%x/%x", &pv, &pm) != 2 || (pm != 0xff && pm != 0) || pv > 255)
            bad(path, lineno, "bad protocol " + f[4]);
        const ir::Range full{0, 65535};
        flt.l4_given = !(flt.sport == full) || !(flt.dport == full);
        flt.spec.prefix_bits = flt.src.prefix.len + flt.dst.prefix.len;
        flt.spec.port_narrowness =
            2 * 65536 - ((flt.sport.hi - flt.sport.lo + 1) + (flt.dport.hi - flt.dport.lo + 1));

        ir::Rule r;
        r.id = flt.rule_id;
        r.label = "cb" + std::to_string(r.id);
        r.loc = {path, static_cast<int>(lineno), 1};
        r.action.kind = ir::Action::Permit;
        r.action.name = "permit";
        r.text = line;
        pol.rules.push_back(r);

        std::vector<std::optional<uint8_t>> protos;
        if (pm == 0xff)
            protos = {static_cast<uint8_t>(pv)};
        else if (flt.l4_given)
            protos = {uint8_t{6}, uint8_t{17}};  // ports exist only for TCP and UDP
        else
            protos = {std::nullopt};
        for (auto p : protos) {
            flt.proto = p;
            flt.spec.proto = p.has_value();
            flt.seq = static_cast<uint32_t>(pol.filters.size());
            pol.filters.push_back(flt);
        }
    }
    return pol;
}

std::vector<ClassBenchHeader> classbench_trace(const std::string& path) {
    std::ifstream in = open(path);
    std::vector<ClassBenchHeader> out;
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
        if (line.empty()) continue;
        ClassBenchHeader h;
        unsigned long s, d, sp, dp, pr;
        if (std::sscanf(line.c_str(), "%lu %lu %lu %lu %lu", &s, &d, &sp, &dp, &pr) != 5 || s > UINT32_MAX ||
            d > UINT32_MAX || sp > 65535 || dp > 65535 || pr > 255)
            bad(path, lineno, "bad trace line");
        h.src = static_cast<uint32_t>(s);
        h.dst = static_cast<uint32_t>(d);
        h.sport = static_cast<uint32_t>(sp);
        h.dport = static_cast<uint32_t>(dp);
        h.proto = static_cast<uint32_t>(pr);
        out.push_back(h);
    }
    return out;
}

std::vector<int64_t> classbench_firstmatch(const std::string& path) {
    std::ifstream in = open(path);
    std::vector<int64_t> out;
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
        if (line.empty()) continue;
        long long v;
        if (std::sscanf(line.c_str(), "%lld", &v) != 1) bad(path, lineno, "bad first-match line");
        out.push_back(v);
    }
    return out;
}

secpol_key classbench_key(const ClassBenchHeader& h) {
    secpol_key k{};
    k.w[SECPOL_F_SRC2] = k.w[SECPOL_F_DST2] = 0xffff;
    k.w[SECPOL_F_SRC3] = h.src;
    k.w[SECPOL_F_DST3] = h.dst;
    k.w[SECPOL_F_PROTO] = h.proto;
    k.w[SECPOL_F_SPORT] = h.sport;
    k.w[SECPOL_F_DPORT] = h.dport;
    return k;
}

}  // namespace secpol::gen
