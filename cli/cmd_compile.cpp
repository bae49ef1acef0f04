// secpol compile POLICY -o OUT.o [--dump=ir|tree|bpf] [--json]
#include <iostream>

#include "backend/compile.h"
#include "backend/dump.h"
#include "backend/object_image.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "runtime/input.h"

namespace secpol::cli {

void add_compile(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "compile", "compile a policy into one eBPF object (XDP secpol_ingress + tc secpol_egress)");
    static std::string policy, out, dump;
    static unsigned leaf_size = 4;
    static bool json = false;
    cmd->add_option("policy", policy, "policy file; - reads standard input")->required();
    cmd->add_option("-o,--output", out, "object file to write");
    cmd->add_option("--dump", dump,
                    "print a stage: ir (ordered filters), tree (decision tree), bpf (program listing)")
        ->check(CLI::IsMember({"ir", "tree", "bpf"}));
    add_json_flag(cmd, json,
                  "print what was built as JSON: rules, filters, tree, walker {form, reason, insns, "
                  "long_jumps, insns_in, insns_out, filters_inline, template}");
    cmd->add_option("--leaf-size", leaf_size,
                    "candidates checked one by one in a tree leaf (capped at 3 in policies of fewer than 64 "
                    "terms and at 2 in a forest's trees)")
        ->default_val(4);
    cmd->callback([&exit_code] {
        if (out.empty() && dump.empty() && !json) {
            exit_code =
                error("compile: nothing to do: give -o OUT.o, --dump=ir|tree|bpf and/or --json", kUsage);
            return;
        }
        front::Diagnostics diags;
        backend::CompileOptions opts;
        opts.tree.leaf_size = leaf_size;
        tree::BuildStats stats;
        opts.tree.stats = &stats;
        auto text = rt::read_input(policy);
        if (!text) {
            exit_code = error(text.error());
            return;
        }
        auto res = backend::compile_policy_text(*text, rt::input_name(policy), diags, opts);
        if (!res) {
            exit_code = error(res.error());
            return;
        }
        if (!diags.all().empty()) diags.print(std::cerr, *text);
        if (!res->has_value()) {
            exit_code = kError;
            return;
        }
        const backend::Compiled& c = **res;
        if (dump == "ir") std::cout << front::dump_ir(c.policy);
        if (dump == "tree") std::cout << tree::dump(c.program, c.policy);
        if (dump == "bpf") std::cout << backend::dump_bpf(c);
        if (!out.empty()) {
            if (auto st = c.image.write_file(out); !st) {
                exit_code = error(st.error());
                return;
            }
            log::write(log::Info, "%s: %zu rules, %zu filters, %zu nodes -> %s\n", policy.c_str(),
                       c.policy.rules.size(), c.policy.filters.size(), c.program.nodes.size(), out.c_str());
        }
        // Which walker the object carries and why (issue 11 item 4): on
        // stderr, so --dump output stays clean; in the JSON document with --json.
        // Small generated walks run inline in the entry programs, larger ones
        // in secpol_decide_in/_out (ObjectImage::build, docs/design.md "The
        // fixed path", ninth round).
        // The smallest of them without the opaque store before the walk
        // (eleventh round).
        const backend::Template tmpl =
            backend::pick_template(c.image.meta, c.image.code.size(), c.image.code_out.size());
        const bool inline_filters = tmpl != backend::Template::Called;
        if (json) {
            nlohmann::json j = {{"policy", policy},
                                {"output", out.empty() ? nlohmann::json(nullptr) : nlohmann::json(out)},
                                {"rules", c.policy.rules.size()},
                                {"filters", c.policy.filters.size()},
                                {"tree",
                                 {{"nodes", c.program.nodes.size()},
                                  {"max_steps", c.program.max_steps},
                                  {"trees", stats.trees},
                                  {"groups", stats.groups},
                                  {"built_nodes", stats.tree_nodes},
                                  {"wasted_nodes", stats.wasted_nodes},
                                  {"build_ms", stats.seconds * 1000}}},
                                {"walker", walker_json(c.code)}};
            j["walker"]["filters_inline"] = inline_filters;
            j["walker"]["template"] = backend::template_name(tmpl, c.image.meta);
            std::cout << j.dump(2) << "\n";
        } else {
            std::cerr << "secpol: " << policy << ": decision "
                      << (c.code.form == backend::WalkerForm::Generated ? "as generated code"
                                                                        : "as node-array walk")
                      << ": " << c.code.reason
                      << (tmpl == backend::Template::InlineDirect
                              ? "; the filters inline in the entry programs (no call on a filter hit), "
                                "without the opaque store before the walk (small body)"
                          : inline_filters
                              ? "; the filters inline in the entry programs (no call on a filter hit), "
                                "the record made opaque to the verifier before the walk"
                              : "")
                      << "\n";
        }
    });
}

}  // namespace secpol::cli
