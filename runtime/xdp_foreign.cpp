#include "xdp_foreign.h"

#include <xdp/libxdp.h>

#include <cstdarg>

#include "attach.h"

namespace secpol::rt {

namespace {

// libxdp's own messages would tell the user about its internals; our error says it all.
int quiet(enum libxdp_print_level, const char*, va_list) {
    return 0;
}

}  // namespace

std::string describe_foreign_xdp(int ifindex, uint32_t prog_id) {
    auto p = prog_info_by_id(prog_id);
    std::string plain =
        "XDP program " + (p ? "'" + p->name + "' " : std::string()) + "(id " + std::to_string(prog_id) + ")";
    if (!p || p->name != "xdp_dispatcher") return plain;

    libxdp_print_fn_t old = libxdp_set_print(quiet);
    xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
    libxdp_set_print(old);
    if (libxdp_get_error(mp) || !mp) return plain;
    std::string s =
        "libxdp dispatcher (id " + std::to_string(prog_id) + ", from xdp-loader/xdp-filter/libxdp)";
    std::string progs;
    for (xdp_program* x = xdp_multiprog__next_prog(nullptr, mp); x; x = xdp_multiprog__next_prog(x, mp))
        progs += std::string(progs.empty() ? "" : ", ") + "'" + xdp_program__name(x) + "' (id " +
                 std::to_string(xdp_program__id(x)) + ")";
    xdp_multiprog__close(mp);
    return s + (progs.empty() ? "" : " running " + progs);
}

}  // namespace secpol::rt
