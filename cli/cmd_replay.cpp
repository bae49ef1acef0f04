// Placeholder until the replay verb lands.
#include "commands.h"

namespace secpol::cli {
void add_replay(CLI::App& app, int& exit_code) { (void)app; (void)exit_code; }
}  // namespace secpol::cli
