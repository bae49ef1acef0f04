// Helpers for the front end's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "front/frontend.h"

namespace secpol::test {

// Compiles text that must be valid; fails the test with the first error otherwise.
inline ir::Policy compile_ok(const std::string& text, front::Diagnostics* out = nullptr) {
    front::Diagnostics d;
    auto p = front::compile_text(text, "t.pol", d);
    EXPECT_TRUE(p.has_value()) << (d.all().empty() ? "" : d.all()[0].message);
    if (out) *out = d;
    return p ? *p : ir::Policy{};
}

// Messages of the given severity, in order.
inline std::vector<std::string> messages(const front::Diagnostics& d, front::Diagnostic::Severity s) {
    std::vector<std::string> m;
    for (const auto& x : d.all())
        if (x.severity == s) m.push_back(x.message);
    return m;
}

inline bool any_contains(const std::vector<std::string>& v, const std::string& needle) {
    for (const auto& s : v)
        if (s.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace secpol::test
