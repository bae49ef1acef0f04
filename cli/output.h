// What every verb shares about ending: the exit-code table (docs/runtime.md)
// and where an error goes (one line on stderr, or {"error": "..."} on stdout
// under --json, as bpftool -j does). New verbs report through these so the
// conventions hold without each verb re-deriving them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "result.h"

namespace secpol::cli {

enum Exit : int {
    kOk = 0,
    kError = 1,     // the command failed (bad policy, missing file, kernel refused, ...)
    kUsage = 2,     // the command line was wrong (unknown option, bad value, missing argument)
    kDisagree = 3,  // replay: the BPF program and the reference classifier disagreed
};

// True when the verb was given --json: errors then go to stdout as JSON.
bool json_errors();
void set_json_errors(bool on);

// Reports one error and returns code. The first line of the message is the
// error; later lines (a verifier log) are shown at -v only.
int error(const std::string& message, int code = kError);
int error(const Error& e, int code = kError);

// Registers --json on a verb's command, bound to flag.
CLI::Option* add_json_flag(CLI::App* cmd, bool& flag, const std::string& help);

// Parses argv and runs the chosen verb's callback; maps CLI11's own exits
// (105-114, help, version) onto the table. Returns the process exit code.
int run(CLI::App& app, int argc, char** argv, const int& exit_code);

}  // namespace secpol::cli
