#include "log.h"

#include <bpf/libbpf.h>

#include <cstdio>

namespace secpol::log {

static int g_level = Warn;

void set_level(int lvl) {
    g_level = lvl;
}
int level() {
    return g_level;
}

static void vwrite(Level lvl, const char* fmt, va_list ap) {
    if (lvl > g_level) return;
    static const char* const names[] = {"error", "warning", "info", "debug"};
    std::fprintf(stderr, "secpol: %s: ", names[lvl]);
    std::vfprintf(stderr, fmt, ap);
}

void write(Level lvl, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwrite(lvl, fmt, ap);
    va_end(ap);
}

static int libbpf_printer(enum libbpf_print_level l, const char* fmt, va_list ap) {
    // libbpf warnings are details of an error we report ourselves: show them at -v.
    Level lvl = l == LIBBPF_DEBUG ? Debug : Info;
    if (lvl > g_level) return 0;
    std::fprintf(stderr, "libbpf: ");
    return std::vfprintf(stderr, fmt, ap);
}

void install_libbpf_printer() {
    libbpf_set_print(libbpf_printer);
}

}  // namespace secpol::log
