// The programs of secpol_bench's per-packet cases, each kept with the means
// to load it again. Each load of a program shifts its cases by a few ns for
// as long as the load lasts (JIT image placement and the like: ab_stats.h),
// so the bench measures every program over several loads (docs/performance.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace secpol::bench {

class ProgramSet {
  public:
    // One load of a program: its fd, valid while `owner` lives.
    struct Loaded {
        std::shared_ptr<void> owner;
        int fd = -1;
    };
    using Loader = std::function<Loaded()>;

    ProgramSet() = default;
    ~ProgramSet();
    ProgramSet(const ProgramSet&) = delete;
    ProgramSet& operator=(const ProgramSet&) = delete;

    // Loads the program now (its first load) and keeps the loader for the
    // next loads; returns its index. Throws whatever the loader throws.
    size_t add(std::string name, Loader load);

    int fd(size_t i) const { return progs_[i].now.fd; }
    // The owner of program i's current load, as the type its loader made.
    template <class T>
    T& owner(size_t i) const {
        return *static_cast<T*>(progs_[i].now.owner.get());
    }
    // The kernel's program id of program i in each load so far.
    const std::vector<uint32_t>& ids(size_t i) const { return progs_[i].ids; }
    size_t loads() const { return loads_; }
    size_t size() const { return progs_.size(); }

    // Holds every program in the kernel's XDP dispatcher (DispatcherHold),
    // as the paired A/B does: a test run then neither patches kernel text
    // nor waits for RCU. Throws std::runtime_error.
    void hold();

    // Loads every program again, in an order that changes from load to load
    // (so programs do not take the same places in the same order), while
    // the previous load is still in the kernel (so no program can get its
    // previous place back), then unloads the previous load and holds the
    // new one. Throws std::runtime_error naming the program that failed.
    void reload();

    // Unloads everything (the hold first).
    void clear();

  private:
    struct Prog {
        std::string name;
        Loader load;
        Loaded now;
        std::vector<uint32_t> ids;
    };
    std::vector<Prog> progs_;
    std::unique_ptr<DispatcherHold> hold_;
    size_t loads_ = 0;
};

// The kernel's id of a loaded program (0 when it cannot say).
uint32_t prog_id(int fd);

}  // namespace secpol::bench
