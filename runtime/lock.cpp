#include "lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cstdlib>

#include "log.h"

namespace secpol::rt {

std::string run_dir() {
    const char* env = std::getenv("SECPOL_RUN_DIR");
    return env && *env ? env : "/run/secpol";
}

Result<InterfaceLock> InterfaceLock::acquire(const std::string& iface, Mode mode) {
    auto dir = ensure_dir(run_dir(), 0755);
    if (!dir) return dir.error();
    std::string path = run_dir() + "/" + iface + ".lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::sys(errno, "lock " + path);
    int op = mode == Mode::Exclusive ? LOCK_EX : LOCK_SH;
    if (flock(fd.get(), op | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return Error::sys(errno, "lock " + path);
        log::write(log::Info, "%s: waiting for another secpol on this interface\n", iface.c_str());
        while (flock(fd.get(), op) != 0)
            if (errno != EINTR) return Error::sys(errno, "lock " + path);
    }
    return InterfaceLock(std::move(fd));
}

}  // namespace secpol::rt
