// Leveled logger shared by the CLI and the runtime; libbpf's messages are
// routed here and stay quiet unless -v is given.
#pragma once

#include <cstdarg>

namespace secpol::log {

enum Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };

void set_level(int level);  // 0 = errors and warnings only (default)
int level();
void write(Level lvl, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void install_libbpf_printer();  // route libbpf_print through write()

}  // namespace secpol::log
