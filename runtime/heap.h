// The allocator set up for compiling and loading big policies. A
// 10,000-filter compile + load allocates and frees ~100 MiB of small
// objects (tree nodes, IR terms) and ~1.6 MiB instruction streams several
// times over. With glibc's defaults each stream is a fresh mmap, freed
// memory goes back to the kernel, the tree builder's second thread gets an
// arena of its own, and every page is a 4 KiB fault: ~35,000 faults, which
// cost ~0.3 s of system time on a virtual machine (docs/performance.md,
// "Seventeenth session: the heap"). Called first thing by the CLI.
#pragma once

#include <cstddef>

namespace secpol::rt {

struct HeapTuning {
    size_t reserved = 0;      // free bytes at the heap's top after the set-up (virtual)
    bool huge_pages = false;  // the reservation is advised to transparent huge pages
};

// One arena, allocations below 32 MiB from the heap, freed memory kept up to
// the reservation, and the reservation advised MADV_HUGEPAGE (where the
// kernel's transparent huge pages are "madvise" or "always"). Every step is
// an optimisation: a step the system refuses is skipped, never an error.
HeapTuning tune_heap();

}  // namespace secpol::rt
