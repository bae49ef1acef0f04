// Serialises secpol invocations on one interface: flock on
// <rundir>/IFACE.lock, held for the life of the object (released on close,
// so a crashed CLI never leaves the interface locked).
//
// A lock file lives only while the interface has a state: the holder that
// releases it without one (an unload, a failed load, a typo) unlinks it while
// still holding it. Whoever was waiting on the unlinked file sees, once it
// gets the lock, that the path no longer names its file and starts over.
// A holder that dies (SIGKILL) before writing a state leaves its file
// behind: the next exclusive lock of any interface unlinks such files, the
// same way, when nobody holds them and they have no state.
#pragma once

#include <string>

#include "pins.h"
#include "result.h"

namespace secpol::rt {

std::string run_dir();  // /run/secpol or $SECPOL_RUN_DIR
// Creates the run dir (mode 0700: state and locks are root's business) and
// tightens an older 0755 one.
Status ensure_run_dir();

class InterfaceLock {
  public:
    enum class Mode { Exclusive, Shared };
    // Blocks until the lock is free (a notice is logged when it has to wait).
    // The name must pass validate_ifname. Shared (readers) never creates the
    // file: ENOENT then means nothing is loaded on iface.
    static Result<InterfaceLock> acquire(const std::string& iface, Mode mode = Mode::Exclusive);
    InterfaceLock(InterfaceLock&&) = default;
    InterfaceLock& operator=(InterfaceLock&&);
    InterfaceLock(const InterfaceLock&) = delete;
    InterfaceLock& operator=(const InterfaceLock&) = delete;
    ~InterfaceLock();

  private:
    InterfaceLock(UniqueFd fd, std::string iface) : fd_(std::move(fd)), iface_(std::move(iface)) {}
    void release();
    UniqueFd fd_;
    std::string iface_;
};

}  // namespace secpol::rt
