// The read commands' output rendered the plain way, from whole JSON
// documents: what `counters`, `show` and the Prometheus metrics were before
// they streamed from the typed rule table (runtime/counters_render.h,
// show_render.h, metrics.h). Test-only: the unit tests hold the streamed
// writers to these, byte for byte. They read the rules from st.meta (a DOM),
// so they are no place to take a 100,000-rule policy.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/counters.h"
#include "runtime/show_render.h"
#include "runtime/state.h"

namespace secpol::rt {

// The secpol-counters-1 document with every rule, from st.meta["rules"].
nlohmann::json counters_json(const IfaceState& st, const Slots& totals, int64_t read_at);
// The table, rendered from that document.
std::string counters_table(const nlohmann::json& doc);

// The secpol-show-1 document: counters_doc is counters_json(st, ...) of the same state.
nlohmann::json show_json(const IfaceState& st, const nlohmann::json& counters_doc, const ShowFacts& facts);
std::string show_text(const nlohmann::json& doc);

struct MetricsSource {
    const IfaceState* state = nullptr;
    nlohmann::json counters;  // counters_json() of that state
};
// The exposition of these interfaces, every sample from their counters documents.
std::string prometheus_text(const std::vector<MetricsSource>& sources);

}  // namespace secpol::rt
