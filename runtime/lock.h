// Serialises secpol invocations on one interface: flock on
// <rundir>/IFACE.lock, held for the life of the object (released on close,
// so a crashed CLI never leaves the interface locked).
#pragma once

#include <string>

#include "pins.h"
#include "result.h"

namespace secpol::rt {

std::string run_dir();  // /run/secpol or $SECPOL_RUN_DIR

class InterfaceLock {
  public:
    enum class Mode { Exclusive, Shared };
    // Blocks until the lock is free (a notice is logged when it has to wait).
    static Result<InterfaceLock> acquire(const std::string& iface, Mode mode = Mode::Exclusive);
    InterfaceLock(InterfaceLock&&) = default;
    InterfaceLock& operator=(InterfaceLock&&) = default;

  private:
    explicit InterfaceLock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace secpol::rt
