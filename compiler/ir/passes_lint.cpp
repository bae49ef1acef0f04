// lint: warnings of `secpol check` about a valid policy.
#include "ir/passes.h"

namespace secpol::ir::passes {

void lint(const Policy& p, front::Diagnostics& diags) {
    (void)p;
    (void)diags;
}

}  // namespace secpol::ir::passes
