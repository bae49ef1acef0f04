// secpol replay POLICY CAPTURE [--dir in|out] [--local ADDR...] [--repeat N] [--json]
#include <iostream>

#include "backend/compile.h"
#include "commands.h"
#include "output.h"
#include "replay.h"
#include "runtime/input.h"

namespace secpol::cli {

void add_replay(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "replay",
        "run every packet of a capture through the compiled program (BPF_PROG_TEST_RUN) and the reference "
        "classifier; exit 3 if they ever disagree");
    static std::string policy, capture, dir = "in";
    static std::vector<std::string> locals;
    static uint32_t repeat = 1;
    static bool json = false, quiet = false;
    cmd->add_option("policy", policy, "policy file; - reads standard input")->required();
    cmd->add_option("capture", capture, "pcap or pcapng capture (Ethernet)")->required();
    cmd->add_option("--dir", dir, "direction the packets travel: in (XDP ingress) or out (tc egress)")
        ->check(CLI::IsMember({"in", "out"}));
    cmd->add_option("--local", locals,
                    "an address of this host, ADDR or ADDR/LEN (LEN adds the subnet's directed broadcast)");
    cmd->add_option("--repeat", repeat,
                    "run each packet N times in the kernel and report ns per packet of the production "
                    "program (trace off), as loaded")
        ->check(CLI::Range(1u, 100000000u));
    add_json_flag(cmd, json, "one JSON document: packets[] and summary");
    cmd->add_flag("-q,--quiet", quiet, "text output: summary only");
    cmd->callback([&exit_code] {
        rt::ReplayOptions opts;
        opts.dir = dir == "out" ? SECPOL_DIR_OUT : SECPOL_DIR_IN;
        opts.repeat = repeat;
        for (const auto& l : locals) {
            if (!opts.locals.add(l)) {
                exit_code = error("--local " + l + ": not an address or ADDR/LEN", kUsage);
                return;
            }
        }
        auto text = rt::read_input(policy);
        if (!text) {
            exit_code = error(text.error());
            return;
        }
        front::Diagnostics diags;
        auto res = backend::compile_policy_text(*text, rt::input_name(policy), diags);
        if (!diags.all().empty()) diags.print(std::cerr, *text);
        if (!res || !res->has_value()) {
            exit_code = res ? error(rt::input_name(policy) + ": policy has errors") : error(res.error());
            return;
        }
        const backend::Compiled& c = **res;
        auto pkts = rt::read_capture(capture);
        if (!pkts) {
            exit_code = error(pkts.error());
            return;
        }
        rt::LoadOptions lo;
        lo.trace = true;
        auto loaded = rt::LoadedPolicy::load(c.image, opts.locals, lo);
        if (!loaded) {
            exit_code = error(rt::input_name(policy) + ": " + loaded.error().message);
            return;
        }
        // --repeat times the program as it runs when loaded (trace off);
        // the trace program only explains each decision.
        std::unique_ptr<rt::LoadedPolicy> production;
        if (repeat > 1) {
            auto p = rt::LoadedPolicy::load(c.image, opts.locals);
            if (!p) {
                std::cerr << "secpol: error: " << policy << ": " << p.error().message << "\n";
                exit_code = 1;
                return;
            }
            production = std::move(*p);
            opts.timed = production.get();
        }
        auto rep = rt::replay(c, **loaded, *pkts, opts);
        if (!rep) {
            exit_code = error(capture + ": " + rep.error().message);
            return;
        }
        const bool with_ns = repeat > 1;
        if (json) {
            nlohmann::json j;
            j["policy"] = policy;
            j["capture"] = capture;
            j["dir"] = dir;
            j["packets"] = nlohmann::json::array();
            for (const auto& o : rep->packets) j["packets"].push_back(rt::outcome_json(c.policy, o, with_ns));
            j["summary"] = rt::summary_json(c.policy, *rep, with_ns);
            std::cout << j.dump(2) << "\n";
        } else {
            if (!quiet)
                for (const auto& o : rep->packets)
                    std::cout << rt::outcome_text(c.policy, o, with_ns) << "\n";
            std::cout << rt::summary_text(c.policy, *rep, with_ns);
        }
        if (rep->disagreements) exit_code = kDisagree;
    });
}

}  // namespace secpol::cli
