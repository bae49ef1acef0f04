#include "local_image.h"

#include <bpf/bpf.h>

#include <cstring>

namespace secpol::rt {

bool Addr6Less::operator()(const secpol_addr6& a, const secpol_addr6& b) const {
    return std::memcmp(a.w, b.w, sizeof a.w) < 0;
}

namespace {

// Linear probing within the program's probe window; false if no slot is free.
template <typename Slot, typename Eq>
bool place(Slot* slots, uint32_t nslots, uint32_t h, Eq&& fill) {
    for (uint32_t i = 0; i < SECPOL_LOCAL_PROBES; ++i) {
        Slot& s = slots[(h + i) & (nslots - 1)];
        if (s.flags == 0) {
            fill(s);
            return true;
        }
    }
    return false;
}

}  // namespace

Status check_value_size(int fd, uint32_t want, const char* what) {
    bpf_map_info info{};
    uint32_t n = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &n) != 0)
        return Error::sys(errno, std::string(what) + ": map info");
    if (info.value_size != want)
        return Error::msg(std::string(what) + ": the map's value is " + std::to_string(info.value_size) +
                              " bytes, this secpol writes " + std::to_string(want) +
                              " (a program loaded by another secpol version: load the policy again)",
                          EINVAL);
    return ok();
}

Status check_local_table_layout(int table_fd, int sel_fd) {
    if (auto s = check_value_size(table_fd, 2 * sizeof(secpol_local_tab), "local address table"); !s)
        return s;
    return check_value_size(sel_fd, sizeof(uint32_t), "local address table selector");
}

std::unique_ptr<secpol_local_tab> build_local_table(const Local4& v4, const Local6& v6) {
    auto t = std::make_unique<secpol_local_tab>();
    std::memset(t.get(), 0, sizeof *t);
    for (const auto& [a, f] : v4) {
        if (f == 0) continue;  // 0 marks an empty slot; such an entry says nothing
        if (!place(t->v4, SECPOL_LOCAL4_SLOTS, secpol_local_hash4(a), [&](secpol_local_slot4& s) {
                s.addr = a;
                s.flags = f;
            })) {
            t->overflow = 1;
        }
    }
    for (const auto& [a, f] : v6) {
        if (f == 0) continue;
        if (!place(t->v6, SECPOL_LOCAL6_SLOTS, secpol_local_hash6(a.w), [&](secpol_local_slot6& s) {
                std::memcpy(s.w, a.w, sizeof s.w);
                s.flags = f;
            })) {
            t->overflow = 1;
        }
    }
    if (t->overflow) {
        // Half a table would answer "not local" for what did not fit.
        std::memset(t.get(), 0, sizeof *t);
        t->overflow = 1;
    }
    // The program's first test of a directed broadcast (local_table.h).
    t->bcast_ones = 0xffffffffu;
    uint32_t n = 0;
    for (const auto& [a, f] : v4)
        if (f & SECPOL_LOCAL_BCAST) {
            t->bcast_ones &= a;
            if (n < SECPOL_LOCAL_BCASTS) t->bcast[n] = a;
            ++n;
        }
    // The list beside it, when it holds them all: unused entries repeat
    // the first (never an address that is not a directed broadcast);
    // with none, 0xffffffff, which only the limited broadcast passes
    // bcast_ones for, and that one is exempt before the list.
    if (n <= SECPOL_LOCAL_BCASTS) {
        for (uint32_t i = n; i < SECPOL_LOCAL_BCASTS; ++i) t->bcast[i] = n ? t->bcast[0] : 0xffffffffu;
        t->bcast_all = 1;
    }
    return t;
}

Status write_local_table(int table_fd, int sel_fd, const Local4& v4, const Local6& v6) {
    // The buffers below are this build's layout: a pinned map of another
    // (a program loaded by an older or newer secpol) would overrun them.
    if (auto s = check_local_table_layout(table_fd, sel_fd); !s) return s;
    const uint32_t zero = 0;
    uint32_t sel = 0;
    if (bpf_map_lookup_elem(sel_fd, &zero, &sel) != 0) return Error::sys(errno, "read local table selector");
    auto both = std::make_unique<secpol_local_tab[]>(2);
    if (bpf_map_lookup_elem(table_fd, &zero, both.get()) != 0) return Error::sys(errno, "read local table");
    const uint32_t next = (sel & SECPOL_LOCALSEL_COPY) ^ 1;
    both[next] = *build_local_table(v4, v6);
    if (bpf_map_update_elem(table_fd, &zero, both.get(), BPF_ANY) != 0)
        return Error::sys(errno, "update local table");
    // One word names the copy, its offset and whether to probe it at all.
    const uint32_t word = secpol_localsel(next, both[next].overflow);
    if (bpf_map_update_elem(sel_fd, &zero, &word, BPF_ANY) != 0) return Error::sys(errno, "flip local table");
    return ok();
}

uint32_t local_table_flags(const secpol_local_tab& t, const uint32_t* a) {
    if (a[0] == 0 && a[1] == 0 && a[2] == 0xffff) {
        const uint32_t h = secpol_local_hash4(a[3]);
        for (uint32_t i = 0; i < SECPOL_LOCAL_PROBES; ++i) {
            const auto& s = t.v4[(h + i) & (SECPOL_LOCAL4_SLOTS - 1)];
            if (s.flags == 0) return 0;
            if (s.addr == a[3]) return s.flags;
        }
        return 0;
    }
    const uint32_t h = secpol_local_hash6(a);
    for (uint32_t i = 0; i < SECPOL_LOCAL_PROBES; ++i) {
        const auto& s = t.v6[(h + i) & (SECPOL_LOCAL6_SLOTS - 1)];
        if (s.flags == 0) return 0;
        if (std::memcmp(s.w, a, sizeof s.w) == 0) return s.flags;
    }
    return 0;
}

}  // namespace secpol::rt
