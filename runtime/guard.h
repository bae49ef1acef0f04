// Rollback guard of install(): a child process forked before anything on the
// interface changes. If the loader dies before it reaches its commit point
// (kill -9, OOM, a crash), the guard runs the rollback the loader could not,
// so the interface keeps the policy it had (or none, on a first load). It
// inherits the interface lock, so the next secpol on this interface waits
// until the rollback is done. A loader that returns (success or failure)
// dismisses it.
#pragma once

#include <sys/types.h>

#include <functional>

namespace secpol::rt {

class RollbackGuard {
  public:
    // rollback runs in the child only when the parent died first and
    // committed() (called in the child) is false.
    RollbackGuard(std::function<bool()> committed, std::function<void()> rollback);
    ~RollbackGuard();  // dismisses the child and waits for it
    RollbackGuard(const RollbackGuard&) = delete;
    RollbackGuard& operator=(const RollbackGuard&) = delete;
    bool armed() const { return pid_ > 0; }

  private:
    pid_t pid_ = -1;
    int fd_ = -1;  // write end; 'd' then close = dismissed, EOF alone = parent died
};

// SECPOL_KILL_AT=STEP: the process sends itself SIGKILL at STEP (tests of the
// crash paths, tests/e2e/kill_swap.sh). SECPOL_STOP_AT=STEP: SIGSTOP instead,
// so a test can change the world (delete the interface) and SIGCONT it.
void kill_point(const char* step);

}  // namespace secpol::rt
