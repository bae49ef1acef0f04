// Placeholder until the compile verb lands.
#include "commands.h"

namespace secpol::cli {
void add_compile(CLI::App& app, int& exit_code) { (void)app; (void)exit_code; }
}  // namespace secpol::cli
