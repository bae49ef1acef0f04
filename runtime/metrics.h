// Counters in the Prometheus text exposition format (version 0.0.4): what
// `secpol counters --format prometheus` writes for the node exporter's
// textfile collector and what `secpol daemon --metrics` serves. Rendered
// from the head of the secpol-counters-1 document (counters_render.h), so
// it always shows the same numbers as the table and --json; the rules'
// samples straight from the typed rule table and the counter slots as they
// are written (exposition.h). Names and labels: docs/runtime.md. The DOM
// reference the tests hold it to, byte for byte, is prometheus_text in
// tests/support/render.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "counters.h"
#include "rule_table.h"
#include "state.h"
#include "text_out.h"

namespace secpol::rt {

// One interface for write_prometheus: its rule table and counter slots, and
// counters_head() of them.
struct MetricsView {
    const IfaceState* state = nullptr;
    const RuleTable* table = nullptr;
    const Slots* totals = nullptr;
    nlohmann::json head;
};

// The exposition of these interfaces.
void write_prometheus(TextOut& out, const std::vector<MetricsView>& views);

// The counters of some interfaces as read (each under its shared lock),
// ready to be written.
struct MetricsSnapshot {
    std::vector<IfaceState> states;
    std::vector<RuleTable> tables;
    std::vector<Slots> totals;
    int64_t read_at = 0;
    void write(TextOut& out) const;  // write_prometheus() of them
};

// Reads the counters of IFACES (every interface with a secpol state in this
// network namespace when empty). An interface that cannot be read is left
// out and named in `errors` (one line each).
MetricsSnapshot read_metrics(const std::vector<std::string>& ifaces, std::vector<std::string>* errors);

// Escapes a label value (backslash, double quote, newline).
std::string prometheus_escape(const std::string& s);

}  // namespace secpol::rt
