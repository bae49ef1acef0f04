// Each verb of the secpol CLI lives in its own cmd_*.cpp and registers here.
// Verbs end through output.h: exit codes from its table (0 ok, 1 error,
// 2 usage, 3 replay disagreement), errors through cli::error (JSON under
// --json, registered with add_json_flag).
#pragma once

#include <CLI/CLI.hpp>

namespace secpol::cli {

// Registers the subcommand on app. The callback sets exit_code.
void add_check(CLI::App& app, int& exit_code);
void add_explain(CLI::App& app, int& exit_code);
void add_compile(CLI::App& app, int& exit_code);
void add_replay(CLI::App& app, int& exit_code);
void add_load(CLI::App& app, int& exit_code);    // load, unload
void add_status(CLI::App& app, int& exit_code);  // status, counters
void add_export(CLI::App& app, int& exit_code);  // export swanctl
void add_daemon(CLI::App& app, int& exit_code);  // daemon (secpol.service)
void add_diff(CLI::App& app, int& exit_code);
void add_confirm(CLI::App& app, int& exit_code);  // confirm (of load --confirm)
void add_show(CLI::App& app, int& exit_code);
void add_log(CLI::App& app, int& exit_code);  // log (events of `log` clauses)

}  // namespace secpol::cli
