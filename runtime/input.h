// Reading what the user names on the command line: a policy file, a compiled
// object, or "-" for standard input. Never throws: a directory, a missing or
// unreadable file is an Error naming the path.
#pragma once

#include <string>

#include "result.h"

namespace secpol::rt {

// "-" is standard input (shown as "<stdin>").
std::string input_name(const std::string& path);
// The whole file. Errors: "PATH: is a directory, not a policy file", "PATH: No such file or directory", ...
Result<std::string> read_input(const std::string& path);
// True when the bytes start with the ELF magic (a compiled object, not a policy).
bool is_elf(const std::string& bytes);

}  // namespace secpol::rt
