#include "heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace secpol::rt {

HeapTuning tune_heap() {
    constexpr size_t kMiB = size_t(1) << 20;
    constexpr size_t kHugePage = 2 * kMiB;
    constexpr size_t kReserve = 256 * kMiB;
    HeapTuning t;
    // Before any thread: the tree builder's and the loader's threads then
    // allocate from the one heap advised below (measured: its own arena's
    // heap is a separate mapping, faulted in 4 KiB pages).
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, int(32 * kMiB));  // glibc's maximum; fixes it (no dynamic threshold)
    mallopt(M_TRIM_THRESHOLD, int(kReserve));
    mallopt(M_TOP_PAD, int(kReserve));
    auto* before = static_cast<char*>(sbrk(0));
    // More than the free space at the heap's top: the heap grows, by the
    // request and M_TOP_PAD (virtual memory: nothing is touched).
    void* volatile grow = std::malloc(mallinfo2().keepcost + kMiB);  // volatile: not elided with its free
    std::free(grow);
    auto* after = static_cast<char*>(sbrk(0));
    // No growth: another allocator (the sanitizers') serves malloc.
    if (before == reinterpret_cast<char*>(-1) || after <= before) return t;
    t.reserved = mallinfo2().keepcost;
    const auto from = (reinterpret_cast<uintptr_t>(before) + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
    const auto to = reinterpret_cast<uintptr_t>(after);
    if (to > from && madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE) == 0)
        t.huge_pages = true;
    return t;
}

}  // namespace secpol::rt
