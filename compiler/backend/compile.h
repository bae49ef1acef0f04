// The whole compile pipeline: policy file -> front end -> decision program ->
// program object (ELF). Shared by `compile`, `load`, `replay` and the tests.
#pragma once

#include <optional>
#include <string>

#include "backend/codegen.h"
#include "backend/object_image.h"
#include "front/frontend.h"
#include "ir/ir.h"
#include "tree/program.h"

namespace secpol::backend {

struct Compiled {
    ir::Policy policy;
    tree::Program program;
    Generated code;  // the decision as instructions, or why the node-array walker
    ObjectImage image;
    std::string source;
};

struct CompileOptions {
    tree::BuildOptions tree;
    CodegenLimits codegen;
};

// Diagnostics of the policy go to diags. Errors past the front end (a program
// too deep for the BPF walk, an ELF failure) are returned as an Error.
Result<std::optional<Compiled>> compile_policy_file(const std::string& path, front::Diagnostics& diags,
                                                    const CompileOptions& opts = {});
Result<std::optional<Compiled>> compile_policy_text(const std::string& text, const std::string& name,
                                                    front::Diagnostics& diags,
                                                    const CompileOptions& opts = {});

// Back end only, for policies built as IR (ClassBench sets, tests).
Result<Compiled> compile_policy_ir(ir::Policy policy, const std::string& source,
                                   const CompileOptions& opts = {});

// Pieces of the object, exposed for tests.
secpol_config make_config(const ir::Policy& policy, const tree::Program& prog);
std::vector<secpol_rule> make_rules(const ir::Policy& policy);
ObjectMeta make_meta(const ir::Policy& policy, const std::string& source, const tree::Program& prog,
                     const Generated* code = nullptr);

// {"form", "reason", "insns", "long_jumps", "insns_in", "insns_out"}: which walker and why (meta "walker",
// compile --json).
nlohmann::json walker_json(const Generated& g);

// Reads a whole file (policy text).
Result<std::string> read_text_file(const std::string& path);

// True when the file starts with the ELF magic (a compiled object, not a policy).
bool is_elf_file(const std::string& path);

}  // namespace secpol::backend
