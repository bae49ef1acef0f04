#include "heap.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace secpol::rt {
namespace {

// The VmFlags of the mapping that holds addr (/proc/self/smaps).
std::string vm_flags_of(const void* addr) {
    std::ifstream in("/proc/self/smaps");
    std::string line;
    bool inside = false;
    const auto a = reinterpret_cast<uintptr_t>(addr);
    while (std::getline(in, line)) {
        uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream hdr(line);
        if (hdr >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return "";
}

#if defined(__SANITIZE_ADDRESS__)
// The sanitizer's allocator replaces glibc's and never uses the heap that
// tune_heap sets up: it reserves nothing and advises nothing, and says so.
TEST(Heap, UnderTheSanitizerNothingIsTuned) {
    const HeapTuning t = tune_heap();
    EXPECT_EQ(t.reserved, 0u);
    EXPECT_FALSE(t.huge_pages);
}
#else
TEST(Heap, InstructionStreamSizedBlocksComeFromTheAdvisedHeap) {
    const HeapTuning t = tune_heap();
    ASSERT_GE(t.reserved, size_t(256) << 20);
    auto* heap_top = static_cast<char*>(sbrk(0));
    // A 200,000-instruction stream (1.6 MiB): below the fixed mmap threshold,
    // so from the heap, not a mapping of its own faulted afresh each time.
    std::vector<char> stream(1600 * 1024, 1);
    EXPECT_LT(stream.data(), heap_top);
    EXPECT_LE(static_cast<char*>(sbrk(0)), heap_top) << "the reservation holds it: the heap did not grow";
    // The kernel has transparent huge pages: the heap is advised to them
    // (used where the system's mode is "madvise" or "always").
    const bool thp = std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good();
    EXPECT_EQ(t.huge_pages, thp);
    if (thp) {
        EXPECT_NE(vm_flags_of(heap_top - 1).find(" hg"), std::string::npos) << vm_flags_of(heap_top - 1);
    }
}

TEST(Heap, FreedMemoryIsKeptForTheNextStream) {
    tune_heap();
    std::vector<char>* a = new std::vector<char>(8 << 20, 1);
    const auto first = reinterpret_cast<uintptr_t>(a->data());
    delete a;
    std::vector<char> b(8 << 20, 2);
    // The same block again: no munmap and fresh faults between two copies.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()), first);
}

#endif

}  // namespace
}  // namespace secpol::rt
