// Shared by the BPF test tier: compile a policy, load it with tracing, and
// fail loudly (never skip) when the machine cannot run BPF programs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "backend/compile.h"
#include "program.h"

namespace secpol::test {

// BPF tests need root (CAP_BPF + CAP_NET_ADMIN). Without it they fail, by design.
inline void require_root() {
    ASSERT_EQ(geteuid(), 0u) << "BPF tests need root (CAP_BPF, CAP_NET_ADMIN): run `make test` as root";
}

inline backend::Compiled compile_or_die(const std::string& text, const std::string& name = "test.pol") {
    front::Diagnostics diags;
    auto r = backend::compile_policy_text(text, name, diags);
    if (!r || !r->has_value()) {
        std::ostringstream os;
        diags.print(os, text);
        ADD_FAILURE() << "policy does not compile: " << (r ? "" : r.error().message) << "\n"
                      << os.str() << "\n"
                      << text;
        throw std::runtime_error("policy does not compile");
    }
    return std::move(**r);
}

// splice_max: rt::LoadOptions::splice_max (0: the walk stays a called subprogram).
inline std::unique_ptr<rt::LoadedPolicy> load_or_die(const backend::Compiled& c,
                                                     const net::LocalTable& locals,
                                                     size_t splice_max = rt::kSpliceMaxDefault) {
    rt::LoadOptions lo;
    lo.trace = true;
    lo.splice_max = splice_max;
    auto l = rt::LoadedPolicy::load(c.image, locals, lo);
    if (!l) {
        ADD_FAILURE() << "load failed: " << l.error().message;
        throw std::runtime_error("load failed");
    }
    return std::move(*l);
}

}  // namespace secpol::test
