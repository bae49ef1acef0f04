// `secpol diff OLD.pol NEW.pol [--json] [--local ADDR[/LEN]...] [--dir in|out]
// [--exit-code]`: the traffic whose verdict changes between two policies,
// computed from their rule sets (compiler/diff), one region per pair of
// old and new decisions, each with a packet that shows it.
#include <iostream>

#include "commands.h"
#include "diff/diff.h"
#include "front/frontend.h"

namespace secpol::cli {

namespace {

struct DiffArgs {
    std::string before, after;
    std::vector<std::string> local;
    std::string dir;
    bool json = false;
    bool exit_code = false;
};

int fail(const DiffArgs& a, const std::string& msg, int code) {
    if (a.json)
        std::cout << nlohmann::json{{"error", msg}}.dump() << "\n";
    else
        std::cerr << "secpol diff: " << msg << "\n";
    return code;
}

constexpr size_t kTextBoxes = 6;  // per region in the text output; --json has all

int run(const DiffArgs& a) {
    diff::Options opts;
    if (!a.local.empty()) {
        net::LocalTable t;
        for (const auto& l : a.local)
            if (!t.add(l)) return fail(a, "--local '" + l + "' is not an address (ADDR or ADDR/LEN)", 2);
        opts.locals = t;
    }
    ir::Policy pols[2];
    const std::string files[2] = {a.before, a.after};
    for (int i = 0; i < 2; ++i) {
        front::Diagnostics diags;
        std::string text;
        auto p = front::compile_file(files[i], diags, &text);
        if (!diags.all().empty() && !a.json) diags.print(std::cerr, text);
        if (!p || diags.has_errors()) return fail(a, files[i] + ": cannot compile the policy", 1);
        pols[i] = std::move(*p);
    }
    auto rep = diff::diff(pols[0], pols[1], opts);
    if (!rep) return fail(a, rep.error().message, 1);

    std::vector<const diff::Region*> shown;
    for (const auto& r : rep->regions)
        if (a.dir.empty() || (a.dir == "in") == (r.dir == SECPOL_DIR_IN)) shown.push_back(&r);
    const int code = a.exit_code && !shown.empty() ? 3 : 0;

    if (a.json) {
        nlohmann::json regions = nlohmann::json::array();
        for (const auto* r : shown) regions.push_back(diff::region_json(pols[0], pols[1], *r));
        nlohmann::json unrealized = nlohmann::json::array();
        for (const auto& r : rep->unrealized)
            for (const auto& b : r.boxes) unrealized.push_back(diff::describe(b, r.dir));
        std::cout << nlohmann::json{{"before", a.before},
                                    {"after", a.after},
                                    {"changed", !shown.empty()},
                                    {"regions", regions},
                                    {"no_packet_found", unrealized}}
                         .dump()
                  << "\n";
        return code;
    }
    if (shown.empty()) {
        std::cout << "no traffic changes verdict\n";
        return code;
    }
    for (const auto* r : shown) {
        std::cout << (r->dir == SECPOL_DIR_IN ? "in:  " : "out: ") << diff::describe(pols[0], r->before)
                  << "  ->  " << diff::describe(pols[1], r->after) << "\n";
        for (size_t i = 0; i < r->boxes.size() && i < kTextBoxes; ++i)
            std::cout << "    " << diff::describe(r->boxes[i], r->dir) << "\n";
        if (r->boxes.size() > kTextBoxes)
            std::cout << "    ... and " << r->boxes.size() - kTextBoxes << " more (--json lists all)\n";
        std::cout << "  e.g. --packet '" << r->example->packet << "' --dir "
                  << (r->dir == SECPOL_DIR_IN ? "in" : "out");
        for (const auto& m : r->example->locals.addrs) std::cout << " --local " << net::addr_str(m);
        if (!r->example->locals.broadcasts.empty()) {
            std::cout << "  (directed broadcast:";
            for (const auto& b : r->example->locals.broadcasts) std::cout << " " << net::addr_str(b);
            std::cout << ")";
        }
        std::cout << "\n";
    }
    std::cout << shown.size() << " region" << (shown.size() == 1 ? "" : "s") << " change verdict\n";
    if (!rep->unrealized.empty())
        std::cout << "(" << rep->unrealized.size()
                  << " more differ only on keys no packet was found for; --json lists them)\n";
    return code;
}

}  // namespace

void add_diff(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<DiffArgs>();
    auto* cmd = app.add_subcommand(
        "diff", "which traffic two policies decide differently (computed from the rules, not sampled)");
    cmd->add_option("old", args->before, "the policy now")->required()->check(CLI::ExistingFile);
    cmd->add_option("new", args->after, "the policy to compare it with")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--local", args->local,
                    "an address of this host (ADDR, or ADDR/LEN to add the subnet's directed broadcast); "
                    "repeatable. Without it any address may be `me`");
    cmd->add_option("--dir", args->dir, "only this direction: in or out")
        ->check(CLI::IsMember({"in", "out"}));
    cmd->add_flag("--json", args->json,
                  "one JSON object: regions [{dir, before, after, traffic [...], example {packet, me, "
                  "broadcasts}}]");
    cmd->add_flag("--exit-code", args->exit_code, "exit 3 when some traffic changes verdict (0 when none)");
    cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace secpol::cli
