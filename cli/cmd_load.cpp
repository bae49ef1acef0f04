// Placeholder until the load verb lands.
#include "commands.h"

namespace secpol::cli {
void add_load(CLI::App& app, int& exit_code) { (void)app; (void)exit_code; }
}  // namespace secpol::cli
