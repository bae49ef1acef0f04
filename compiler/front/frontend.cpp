// The front end's entry points: run the passes in order over one file.
#include "front/frontend.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "front/parser.h"
#include "ir/passes.h"

namespace secpol::front {

std::optional<ir::Policy> compile_text(const std::string& text, const std::string& file, Diagnostics& diags) {
    ast::File tree = parse(text, file, diags);
    // Resolve even after syntax errors: the statements that did parse still
    // get their names checked, so one run reports every mistake.
    ir::passes::Resolved r = ir::passes::resolve(tree, diags);
    if (!diags.has_errors()) ir::passes::expand(r, diags);
    if (!diags.has_errors()) ir::passes::normalise(r.policy, diags);
    diags.sort_by_location();
    if (diags.has_errors()) return std::nullopt;
    ir::passes::order(r.policy);
    return std::move(r.policy);
}

std::optional<ir::Policy> compile_file(const std::string& path, Diagnostics& diags, std::string* text_out) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        diags.error({path, 0, 0}, "is a directory, not a policy file");
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diags.error({path, 0, 0}, std::string("cannot open policy file: ") + std::strerror(errno));
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        diags.error({path, 0, 0}, "cannot read policy file");
        return std::nullopt;
    }
    std::string text = ss.str();
    auto p = compile_text(text, path, diags);
    if (text_out) *text_out = std::move(text);
    return p;
}

void lint(const ir::Policy& policy, Diagnostics& diags) {
    ir::passes::lint(policy, diags);
}

}  // namespace secpol::front
