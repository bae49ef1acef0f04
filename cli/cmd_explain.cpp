// `secpol explain POLICY --dir in|out --local ADDR[/LEN]... --packet SPEC [--json]`:
// builds the packet the spec describes, runs it through the reference
// classifier (the semantics every compiled program is tested against) and
// says what happens to it and why.
#include <iostream>
#include <sstream>

#include "commands.h"
#include "front/frontend.h"
#include "output.h"
#include "packet/spec.h"
#include "ref/classify.h"
#include "runtime/input.h"

namespace secpol::cli {

namespace {

struct ExplainArgs {
    std::string file;
    std::string dir = "in";
    std::vector<std::string> local;
    std::string packet;
    bool json = false;
};

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

// The one-line "why": `exemption ike: ...`, `filter 2 "no SMB" (line 7)`, ...
std::string why(const ir::Policy& policy, const ref::Decision& d) {
    std::ostringstream os;
    const ir::Rule* rule = d.rule < policy.rules.size() ? &policy.rules[d.rule] : nullptr;
    auto filter_ref = [&] {
        os << "filter " << d.rule;
        if (rule) {
            if (!rule->label.empty()) os << " " << quoted(rule->label);
            os << " (line " << rule->loc.line << ")";
        }
    };
    switch (d.reason) {
        case SECPOL_R_EXEMPTION:
            os << "exemption " << ir::exemption_name(d.exemption) << ": " << d.detail;
            break;
        case SECPOL_R_IPSEC:
            os << "ipsec: ";
            filter_ref();
            os << ": IPsec-protected (ESP, AH or ESP-in-UDP), passed to the kernel's IPsec";
            break;
        case SECPOL_R_FILTER:
            filter_ref();
            if (rule && rule->action.kind == ir::Action::Secure) {
                bool in = d.dir == SECPOL_DIR_IN;
                if (d.verdict == SECPOL_V_BLOCK)
                    os << (in ? ": cleartext where IPsec is required (no accept-clear)"
                              : ": cleartext leaving where IPsec is required (no fallback-clear)");
                else
                    os << (in ? ": cleartext accepted (accept-clear)" : ": cleartext sent (fallback-clear)");
            }
            break;
        case SECPOL_R_DEFAULT:
            os << "default: no filter matched";
            break;
        case SECPOL_R_FRAGMENT:
            os << "fragment: a non-first fragment (no ports) that no filter matched; the policy default "
                  "applies";
            break;
        case SECPOL_R_MALFORMED:
            os << "malformed: " << d.detail;
            break;
        case SECPOL_R_NONIP:
            os << "non-ip";
            break;
    }
    return os.str();
}

std::string key_line(const ref::Decision& d) {
    const auto& w = d.key.w;
    net::Addr src{w[SECPOL_F_SRC0], w[SECPOL_F_SRC1], w[SECPOL_F_SRC2], w[SECPOL_F_SRC3]};
    net::Addr dst{w[SECPOL_F_DST0], w[SECPOL_F_DST1], w[SECPOL_F_DST2], w[SECPOL_F_DST3]};
    std::ostringstream os;
    os << "key: " << net::addr_str(src) << " > " << net::addr_str(dst) << " proto " << w[SECPOL_F_PROTO]
       << " sport " << w[SECPOL_F_SPORT] << " dport " << w[SECPOL_F_DPORT];
    const std::pair<int, const char*> flags[] = {{SECPOL_F_SRC_LOCAL, "src-local"},
                                                 {SECPOL_F_DST_LOCAL, "dst-local"},
                                                 {SECPOL_F_MCBC, "mcbc"},
                                                 {SECPOL_F_FRAG, "frag"},
                                                 {SECPOL_F_IPSEC, "ipsec"}};
    for (auto [f, name] : flags)
        if (w[f]) os << " " << name;
    return os.str();
}

int run(const ExplainArgs& a) {
    net::LocalTable locals;
    for (const auto& l : a.local) {
        if (!locals.add(l)) return error("--local '" + l + "' is not an address (ADDR or ADDR/LEN)", kUsage);
    }
    std::string err;
    auto spec = pkt::parse_packet_spec(a.packet, &err);
    if (!spec) return error("--packet: " + err, kUsage);

    auto text = rt::read_input(a.file);
    if (!text) return error(text.error());
    front::Diagnostics diags;
    auto policy = front::compile_text(*text, rt::input_name(a.file), diags);
    if (!diags.all().empty()) diags.print(std::cerr, *text);
    if (!policy || diags.has_errors()) return error(rt::input_name(a.file) + ": policy has errors");

    int dir = a.dir == "out" ? SECPOL_DIR_OUT : SECPOL_DIR_IN;
    auto bytes = pkt::build_packet(*spec).bytes();
    ref::Decision d = ref::classify(*policy, bytes.data(), bytes.size(), dir, locals);

    if (a.json) {
        auto j = ref::decision_json(*policy, d);
        j["packet"] = a.packet;
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::cout << ref::verdict_name(d.verdict) << "  " << why(*policy, d) << "\n";
    if ((d.reason == SECPOL_R_FILTER || d.reason == SECPOL_R_IPSEC) && d.rule < policy->rules.size() &&
        !policy->rules[d.rule].text.empty())
        std::cout << "  " << policy->rules[d.rule].text << "\n";
    if (d.reason != SECPOL_R_MALFORMED && d.reason != SECPOL_R_NONIP)
        std::cout << "  " << key_line(d) << "\n";
    return 0;
}

}  // namespace

void add_explain(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<ExplainArgs>();
    auto* cmd =
        app.add_subcommand("explain", "classify one packet with the reference classifier and say why");
    cmd->add_option("policy", args->file, "policy file; - reads standard input")->required();
    cmd->add_option("--dir", args->dir, "direction: in (ingress) or out (egress)")
        ->check(CLI::IsMember({"in", "out"}))
        ->capture_default_str();
    cmd->add_option(
        "--local", args->local,
        "an address of this host (ADDR, or ADDR/LEN to add the subnet's directed broadcast); repeatable");
    cmd->add_option("--packet", args->packet,
                    "PROTO SRC[:PORT] > DST[:PORT] [type T] [code C] [spi N] [frag N] [ether-broadcast], "
                    "IPv6 with a port as [ADDR]:PORT")
        ->required();
    add_json_flag(cmd, args->json,
                  "one JSON object: verdict, reason, exemption, filter {id,label,line}, key");
    cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace secpol::cli
