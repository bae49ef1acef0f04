#include "locals.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "bloom.h"
#include "local_image.h"
#include "pins.h"
#include "secpol_abi.h"

namespace secpol::rt {

namespace {

using Map4 = Local4;
using Map6 = Local6;

bool is_v4_mapped(const net::Addr& a) {
    return a[0] == 0 && a[1] == 0 && a[2] == 0xffff;
}

void desired(const net::LocalTable& locals, Map4& v4, Map6& v6) {
    auto add = [&](const net::Addr& a, uint32_t flag) {
        if (is_v4_mapped(a)) {
            v4[a[3]] |= flag;
        } else {
            secpol_addr6 k{};
            std::copy(a.begin(), a.end(), k.w);
            v6[k] |= flag;
        }
    };
    for (const auto& a : locals.addrs) add(a, SECPOL_LOCAL_ADDR);
    for (const auto& a : locals.broadcasts) add(a, SECPOL_LOCAL_BCAST);
}

template <typename K, typename M>
Status read_map(int fd, M& out, const char* what) {
    K key{}, next{};
    const K* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        uint32_t v = 0;
        // An entry deleted between the two calls is simply gone.
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) out[next] = v;
        key = next;
        prev = &key;
    }
    if (errno != ENOENT) return Error::sys(errno, std::string("read ") + what);
    return ok();
}

// Updates what differs, returns the keys to delete afterwards.
template <typename K, typename M>
Result<std::vector<K>> upsert(int fd, const M& want, const M& have, bool& changed, const char* what) {
    for (const auto& [k, f] : want) {
        auto it = have.find(k);
        if (it != have.end() && it->second == f) continue;
        if (bpf_map_update_elem(fd, &k, &f, BPF_ANY) != 0)
            return Error::sys(errno, std::string("update ") + what);
        changed = true;
    }
    std::vector<K> stale;
    for (const auto& [k, f] : have)
        if (!want.count(k)) stale.push_back(k);
    return stale;
}

}  // namespace

Result<bool> write_local_maps(const LocalMapFds& fds, const net::LocalTable& locals) {
    if (fds.local4 < 0 || fds.local6 < 0 || fds.bloom < 0) return Error::msg("local address maps missing");
    // Layouts first, so a map of another secpol version changes nothing.
    if (auto s =
            check_value_size(fds.bloom, SECPOL_BLOOM_WORDS * sizeof(uint64_t), "directed broadcast filter");
        !s)
        return s.error();
    if (fds.table >= 0 && fds.table_sel >= 0)
        if (auto s = check_local_table_layout(fds.table, fds.table_sel); !s) return s.error();
    Map4 v4, have4;
    Map6 v6, have6;
    desired(locals, v4, v6);
    if (auto s = read_map<uint32_t>(fds.local4, have4, SECPOL_MAP_LOCAL4); !s) return s.error();
    if (auto s = read_map<secpol_addr6>(fds.local6, have6, SECPOL_MAP_LOCAL6); !s) return s.error();

    bool changed = false;
    auto stale4 = upsert<uint32_t>(fds.local4, v4, have4, changed, SECPOL_MAP_LOCAL4);
    if (!stale4) return stale4.error();
    auto stale6 = upsert<secpol_addr6>(fds.local6, v6, have6, changed, SECPOL_MAP_LOCAL6);
    if (!stale6) return stale6.error();

    // The program's table: every address in its new state at once.
    if (fds.table >= 0 && fds.table_sel >= 0)
        if (auto s = write_local_table(fds.table, fds.table_sel, v4, v6); !s) return s.error();

    // The Bloom filter of the new broadcasts. A bit of a stale broadcast
    // dropped here makes it a plain address before its entry goes.
    uint64_t bloom[SECPOL_BLOOM_WORDS] = {}, old_bloom[SECPOL_BLOOM_WORDS] = {};
    for (const auto& [k, f] : v4)
        if (f & SECPOL_LOCAL_BCAST) {
            uint32_t bit = secpol_bloom_bit(k);
            bloom[bit / 64] |= 1ull << (bit % 64);
        }
    const uint32_t zero = 0;
    if (bpf_map_lookup_elem(fds.bloom, &zero, old_bloom) != 0)
        return Error::sys(errno, "read directed broadcast filter");
    if (std::memcmp(bloom, old_bloom, sizeof bloom) != 0) {
        if (bpf_map_update_elem(fds.bloom, &zero, bloom, BPF_ANY) != 0)
            return Error::sys(errno, "update directed broadcast filter");
        changed = true;
    }

    for (auto k : *stale4)
        if (bpf_map_delete_elem(fds.local4, &k) == 0) changed = true;
    for (auto& k : *stale6)
        if (bpf_map_delete_elem(fds.local6, &k) == 0) changed = true;
    return changed;
}

Result<net::LocalTable> read_local_maps(const LocalMapFds& fds) {
    Map4 have4;
    Map6 have6;
    if (auto s = read_map<uint32_t>(fds.local4, have4, SECPOL_MAP_LOCAL4); !s) return s.error();
    if (auto s = read_map<secpol_addr6>(fds.local6, have6, SECPOL_MAP_LOCAL6); !s) return s.error();
    net::LocalTable t;
    auto put = [&](const net::Addr& a, uint32_t f) {
        if (f & SECPOL_LOCAL_ADDR) t.addrs.insert(a);
        if (f & SECPOL_LOCAL_BCAST) t.broadcasts.insert(a);
    };
    for (const auto& [k, f] : have4) put(net::Addr{0, 0, 0xffff, k}, f);
    for (const auto& [k, f] : have6) put(net::Addr{k.w[0], k.w[1], k.w[2], k.w[3]}, f);
    return t;
}

namespace {

struct PinnedLocals {
    UniqueFd local4, local6, bloom, table, table_sel;
    LocalMapFds fds() const {
        return {local4.get(), local6.get(), bloom.get(), table ? table.get() : -1,
                table_sel ? table_sel.get() : -1};
    }
};

Result<PinnedLocals> open_pinned(const std::string& iface) {
    PinnedLocals p;
    // libbpf names the internal map after its section (".data.bloom", with
    // or without an object prefix); pins turn dots into '_'.
    std::string bloom_pin, table_pin, sel_pin;
    auto ends = [](const std::string& n, const std::string& tail) {
        return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (const auto& n : list_pins(iface)) {
        if (ends(n, "data_bloom")) bloom_pin = n;
        if (ends(n, "data_locals")) table_pin = n;
        if (ends(n, "data_localsel")) sel_pin = n;
    }
    // The program's table: absent from objects compiled before it existed.
    if (!table_pin.empty() && !sel_pin.empty()) {
        for (auto [name, fd] : {std::pair{table_pin, &p.table}, std::pair{sel_pin, &p.table_sel}}) {
            auto o = open_pin(pin_path(iface, name));
            if (!o) return Error{o.error().err, iface + ": " + o.error().message};
            *fd = std::move(*o);
        }
    }
    struct Want {
        std::string name;
        UniqueFd* fd;
    };
    for (Want w : {Want{std::string("map_") + SECPOL_MAP_LOCAL4, &p.local4},
                   Want{std::string("map_") + SECPOL_MAP_LOCAL6, &p.local6}, Want{bloom_pin, &p.bloom}}) {
        if (w.name.empty()) return Error::msg(iface + ": no pinned directed broadcast filter", ENOENT);
        auto fd = open_pin(pin_path(iface, w.name));
        if (!fd) return Error{fd.error().err, iface + ": " + fd.error().message};
        if (!*fd)
            return Error::msg(iface + ": no pinned map " + w.name + " (no secpol policy loaded?)", ENOENT);
        *w.fd = std::move(*fd);
    }
    return p;
}

}  // namespace

Result<bool> write_pinned_locals(const std::string& iface, const net::LocalTable& locals) {
    auto p = open_pinned(iface);
    if (!p) return p.error();
    auto r = write_local_maps(p->fds(), locals);
    if (!r) return Error{r.error().err, iface + ": " + r.error().message};
    return r;
}

Result<net::LocalTable> read_pinned_locals(const std::string& iface) {
    auto p = open_pinned(iface);
    if (!p) return p.error();
    return read_local_maps(p->fds());
}

}  // namespace secpol::rt
