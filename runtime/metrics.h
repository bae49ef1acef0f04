// Counters in the Prometheus text exposition format (version 0.0.4): what
// `secpol counters --format prometheus` writes for the node exporter's
// textfile collector and what `secpol daemon --metrics` serves. Rendered
// from the secpol-counters-1 documents, so it always shows the same numbers
// as the table and --json. Names and labels: docs/runtime.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "state.h"

namespace secpol::rt {

struct MetricsSource {
    const IfaceState* state = nullptr;
    nlohmann::json counters;  // counters_json() of that state
};

std::string prometheus_text(const std::vector<MetricsSource>& sources);

// Reads the counters of IFACES (every interface with a secpol state in this
// network namespace when empty) and renders them. An interface that cannot
// be read is left out and named in `errors` (one line each).
std::string collect_prometheus(const std::vector<std::string>& ifaces, std::vector<std::string>* errors);

// Escapes a label value (backslash, double quote, newline).
std::string prometheus_escape(const std::string& s);

}  // namespace secpol::rt
