// Rendering of a results JSON (secpol_bench's own output): the readable
// tables (.md, .txt, stdout), the issue-3 target check and the plot of
// ns/packet against filter count (.png, through gnuplot).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace secpol::bench {

// Reads RESULTS.json and writes RESULTS.md, RESULTS.txt and RESULTS.png next
// to it; prints the text table. False when the JSON cannot be read (a
// missing gnuplot only skips the plot, with a message).
bool render_reports(const std::string& results_json);

// The issue-3 performance targets evaluated on the results: an array of
// {target, measured, met} (met is null when not measured).
nlohmann::json evaluate_targets(const nlohmann::json& results);

}  // namespace secpol::bench
