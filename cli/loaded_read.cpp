#include "loaded_read.h"

#include <cerrno>

#include "runtime/lock.h"
#include "runtime/netif.h"

namespace secpol::cli {

Result<LoadedRead> read_loaded(const std::string& dev, const std::string& what) {
    if (auto r = rt::require_privileges(dev + ": " + what); !r) return r.error();
    auto lock = rt::InterfaceLock::acquire(dev, rt::InterfaceLock::Mode::Shared);
    if (!lock)
        return lock.error().err == ENOENT ? lock.error()
                                          : Error{lock.error().err, dev + ": " + lock.error().message};
    auto st = rt::read_state(dev);
    if (!st) return st.error();
    if (!*st) return Error::msg(dev + ": no secpol policy loaded", ENOENT);
    auto table = rt::read_rule_table(**st);
    if (!table) return table.error();
    auto totals = rt::read_totals(**st);
    if (!totals) return totals.error();
    return LoadedRead{std::move(**st), std::move(*table), std::move(*totals)};
}

}  // namespace secpol::cli
