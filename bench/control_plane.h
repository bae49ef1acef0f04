// Control-plane cost of one policy: compile (front end + tree + object) and
// load (verifier, map fill) timed in a fresh process, so its peak RSS is
// that of one compile + load and not of the whole benchmark.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace secpol::bench {

// Runs `self --control-plane policy_file` and returns what it printed:
// compile_ms, load_ms (wall), compile_cpu_ms, load_cpu_ms (user + system),
// tree_ms, walker, peak_rss_mib, nodes, max_steps, map_bytes,
// ingress/egress {xlated_insns, jited_bytes, verified_insns}; or {"error": ...}.
nlohmann::json measure_control_plane(const std::string& self, const std::string& policy_file);

// The child side: compiles and loads policy_file, prints the JSON; exit code.
int control_plane_main(const std::string& policy_file);

}  // namespace secpol::bench
