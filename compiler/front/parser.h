// Parser: tokens -> syntax tree. Iterative (no recursion), so input size
// never translates into stack depth. A mistake is reported once and the
// parser resumes at the next statement.
#pragma once

#include <string_view>

#include "front/ast.h"
#include "front/frontend.h"
#include "front/lexer.h"

namespace secpol::front {

ast::File parse(std::string_view text, const std::string& file, Diagnostics& diags);

// Words that name statements, clauses or options and so cannot name a set or an action.
bool is_reserved_word(const std::string& w);

}  // namespace secpol::front
