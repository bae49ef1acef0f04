// order: the policy's priority order, so that the first matching filter of
// policy.filters is the one that decides.
#include <algorithm>

#include "ir/passes.h"

namespace secpol::ir::passes {

int restrictiveness(Action a) {
    switch (a) {
        case Action::Block:
            return 2;
        case Action::Secure:
            return 1;
        case Action::Permit:
            return 0;
    }
    return 0;
}

void order(Policy& p) {
    auto by_source = [](const Filter& a, const Filter& b) {
        return a.rule_id != b.rule_id ? a.rule_id < b.rule_id : a.seq < b.seq;
    };
    if (p.order == Order::FirstMatch) {
        std::stable_sort(p.filters.begin(), p.filters.end(), by_source);
        return;
    }
    std::stable_sort(p.filters.begin(), p.filters.end(), [&](const Filter& a, const Filter& b) {
        if (a.spec != b.spec) return a.spec > b.spec;
        int ra = restrictiveness(p.rules[a.rule_id].action.kind);
        int rb = restrictiveness(p.rules[b.rule_id].action.kind);
        if (ra != rb) return ra > rb;
        return by_source(a, b);
    });
}

}  // namespace secpol::ir::passes
