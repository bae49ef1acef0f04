// Placeholder until the explain verb lands.
#include "commands.h"

namespace secpol::cli {
void add_explain(CLI::App& app, int& exit_code) { (void)app; (void)exit_code; }
}  // namespace secpol::cli
