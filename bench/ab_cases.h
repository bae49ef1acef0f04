// The cases of the paired A/B (secpol_bench --ab, --ab-hold), loaded by this
// build as the normal bench loads them: the host's addresses, the programs
// as users run them (trace off), kept in the XDP dispatcher for the set's
// lifetime (DispatcherHold).
#pragma once

#include <bpf/libbpf.h>

#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/compile.h"
#include "harness.h"
#include "program.h"

namespace secpol::bench {

inline constexpr const char* kAbFloor = "empty XDP program (floor)";

struct AbCase {
    std::string name;
    int prog_fd = -1;          // owned by the set
    std::vector<Frame> trace;  // what it runs (the A/B parent runs its own traces on both sides)
    nlohmann::json info;       // prog_id, xlated/jited/verified instructions, the policy's hash
};

// Which cases to load: the default set, or those whose name a regular
// expression finds (ECMAScript, searched, not anchored). Cases that take
// long to load (10,000 filters) are only in a set chosen by expression.
class AbSelect {
  public:
    AbSelect() = default;
    explicit AbSelect(const std::string& regex);  // throws std::regex_error
    bool wants(const std::string& name, bool slow) const;
    const std::string& regex() const { return regex_; }

  private:
    std::string regex_;
    std::function<bool(const std::string&)> match_;
};

class AbSet {
  public:
    // Throws std::runtime_error naming what failed.
    explicit AbSet(const AbSelect& select);
    ~AbSet();
    AbSet(const AbSet&) = delete;
    AbSet& operator=(const AbSet&) = delete;

    const std::vector<AbCase>& cases() const { return cases_; }

  private:
    struct CloseObject {
        void operator()(bpf_object* o) const { bpf_object__close(o); }
    };
    std::unique_ptr<bpf_object, CloseObject> empty_;
    std::deque<backend::Compiled> compiled_;  // libbpf opens objects in place
    std::vector<std::unique_ptr<rt::LoadedPolicy>> loaded_;
    std::unique_ptr<DispatcherHold> hold_;
    std::vector<AbCase> cases_;
};

}  // namespace secpol::bench
