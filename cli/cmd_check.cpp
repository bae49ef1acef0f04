// secpol check POLICY... [--json]: validate and lint policy files.
#include <cstring>
#include <iostream>

#include "commands.h"
#include "front/frontend.h"
#include "output.h"
#include "runtime/input.h"
#include "ssh_guard.h"

namespace secpol::cli {

namespace {

struct CheckOptions {
    std::vector<std::string> files;
    bool json = false;
};

int run_check(const CheckOptions& o) {
    nlohmann::json out = {{"files", nlohmann::json::array()}};
    bool all_valid = true;
    for (const auto& path : o.files) {
        front::Diagnostics diags;
        const std::string name = rt::input_name(path);
        std::string text;
        std::optional<ir::Policy> policy;
        if (auto in = rt::read_input(path)) {
            text = std::move(*in);
            policy = front::compile_text(text, name, diags);
        } else {
            // The reason, as a diagnostic of PATH.
            const Error& e = in.error();
            diags.error({name, 0, 0}, e.err == EISDIR
                                          ? "is a directory, not a policy file"
                                          : std::string("cannot open policy file: ") + std::strerror(e.err));
        }
        if (policy) front::lint(*policy, diags);
        if (policy)
            for (const auto& w : ssh_warnings(*policy, {})) std::cerr << path << ": " << w << "\n";
        diags.sort_by_location();
        const bool valid = policy.has_value();
        all_valid &= valid;
        const size_t rules = valid ? policy->rules.size() : 0;
        const size_t filters = valid ? policy->filters.size() : 0;
        if (o.json) {
            out["files"].push_back({{"file", name},
                                    {"valid", valid},
                                    {"errors", diags.error_count()},
                                    {"warnings", diags.warning_count()},
                                    {"diagnostics", diags.to_json()},
                                    {"rules", rules},
                                    {"filters", filters}});
            continue;
        }
        diags.print(std::cout, text);
        if (valid)
            std::cout << name << ": ok: " << rules << " rules, " << filters << " filters, "
                      << diags.warning_count() << " warning" << (diags.warning_count() == 1 ? "" : "s")
                      << "\n";
        else
            std::cout << name << ": invalid: " << diags.error_count() << " error"
                      << (diags.error_count() == 1 ? "" : "s") << ", " << diags.warning_count() << " warning"
                      << (diags.warning_count() == 1 ? "" : "s") << "\n";
    }
    if (o.json) std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return all_valid ? kOk : kError;
}

}  // namespace

void add_check(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand("check",
                                   "Validate and lint policy files: every error and warning with "
                                   "file:line:col. Lints: rules that are never "
                                   "reached, secure filters whose IKE (UDP 500) is neither exempt nor "
                                   "permitted, overlapping filters with "
                                   "different actions at equal specificity, IPv6 neighbour discovery blocked "
                                   "by 'default block'. Exit status "
                                   "0 when every file is valid (warnings allowed), 1 otherwise.");
    cmd->add_option("POLICY", opts->files, "policy files (.pol); - reads standard input")->required();
    add_json_flag(
        cmd, opts->json,
        "print one JSON document: {\"files\":[{\"file\",\"valid\",\"errors\",\"warnings\","
        "\"diagnostics\":[{\"severity\",\"file\",\"line\",\"column\",\"message\"}],\"rules\",\"filters\"}]}");
    cmd->callback([opts, &exit_code] { exit_code = run_check(*opts); });
}

}  // namespace secpol::cli
