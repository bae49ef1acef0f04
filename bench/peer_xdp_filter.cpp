#include "peer_xdp_filter.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <glob.h>

#include <chrono>
#include <map>
#include <stdexcept>
#include <vector>

#include "harness.h"

namespace secpol::bench {

namespace {

// xdp-tools xdp-filter/common_kern_user.h (map value flags; the counter sits
// above COUNTER_SHIFT).
constexpr uint64_t kFlagSrc = 1 << 0, kFlagDst = 1 << 1, kFlagTcp = 1 << 2, kFlagUdp = 1 << 3;

// Per-CPU map values: one copy per possible CPU.
void put_percpu(int fd, const void* key, uint64_t flags) {
    std::vector<uint64_t> v(std::max(1, libbpf_num_possible_cpus()), flags);
    if (bpf_map_update_elem(fd, key, v.data(), BPF_ANY)) throw std::runtime_error("xdp-filter map update");
}

bool host_prefix(const ir::AddrMatch& m) {
    return m.kind == ir::AddrMatch::Kind::Prefix && m.prefix.len == 128;
}

}  // namespace

std::string find_xdp_filter_object() {
    for (const char* pat : {"/usr/lib/*/bpf/xdpfilt_dny_all.o", "/usr/lib/bpf/xdpfilt_dny_all.o",
                            "/usr/local/lib/bpf/xdpfilt_dny_all.o"}) {
        glob_t g{};
        if (glob(pat, 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
            std::string p = g.gl_pathv[0];
            globfree(&g);
            return p;
        }
        globfree(&g);
    }
    return "";
}

XdpFilterPeer::XdpFilterPeer(const std::string& obj_path, const ir::Policy& policy) {
    // Entries of the block filters, flags merged per key as xdp-filter does.
    std::map<uint32_t, uint64_t> v4;                 // network-order address
    std::map<std::array<uint32_t, 4>, uint64_t> v6;  // network-order words
    std::map<uint16_t, uint64_t> ports;
    size_t expressed = 0;
    for (const auto& f : policy.filters) {
        if (policy.rules.at(f.rule_id).action.kind != ir::Action::Block) continue;
        bool any = false;
        for (auto [m, flag] : {std::pair{&f.src, kFlagSrc}, std::pair{&f.dst, kFlagDst}}) {
            if (!host_prefix(*m)) continue;
            any = true;
            if (m->prefix.v4)
                v4[htonl(m->prefix.w[3])] |= flag;
            else {
                std::array<uint32_t, 4> a;
                for (int i = 0; i < 4; ++i) a[i] = htonl(m->prefix.w[i]);
                v6[a] |= flag;
            }
        }
        if (f.proto && (*f.proto == 6 || *f.proto == 17)) {
            const uint64_t proto = *f.proto == 6 ? kFlagTcp : kFlagUdp;
            if (f.dport.lo == f.dport.hi) ports[f.dport.lo] |= kFlagDst | proto, any = true;
            if (f.sport.lo == f.sport.hi) ports[f.sport.lo] |= kFlagSrc | proto, any = true;
        }
        expressed += any;
    }

    auto t0 = std::chrono::steady_clock::now();
    obj_.reset(bpf_object__open_file(obj_path.c_str(), nullptr));
    if (!obj_) throw std::runtime_error("cannot open " + obj_path);
    // Its maps are pinned by name for xdp-filter's CLI; the benchmark keeps
    // them private (no pins in the host's bpffs).
    bpf_map* m;
    bpf_object__for_each_map(m, obj_.get()) bpf_map__set_pin_path(m, nullptr);
    if (bpf_object__load(obj_.get())) throw std::runtime_error(obj_path + ": load failed");
    const int fd4 = bpf_object__find_map_fd_by_name(obj_.get(), "filter_ipv4");
    const int fd6 = bpf_object__find_map_fd_by_name(obj_.get(), "filter_ipv6");
    const int fdp = bpf_object__find_map_fd_by_name(obj_.get(), "filter_ports");
    if (fd4 < 0 || fd6 < 0 || fdp < 0) throw std::runtime_error(obj_path + ": filter maps missing");
    for (const auto& [k, fl] : v4) put_percpu(fd4, &k, fl);
    for (const auto& [k, fl] : v6) put_percpu(fd6, k.data(), fl);
    for (const auto& [k, fl] : ports) {
        uint32_t key = k;
        put_percpu(fdp, &key, fl);
    }
    double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    prog_fd_ = bpf_program__fd(bpf_object__next_program(obj_.get(), nullptr));
    stats_ = prog_info(prog_fd_);
    uint64_t bytes = 0;
    bpf_object__for_each_map(m, obj_.get()) bytes += map_bytes(bpf_map__fd(m));
    stats_["load_ms"] = load_ms;
    stats_["map_bytes"] = bytes;
    stats_["object"] = obj_path;
    stats_["entries"] = {{"ipv4", v4.size()}, {"ipv6", v6.size()}, {"ports", ports.size()}};
    stats_["filters_expressed"] = expressed;
}

}  // namespace secpol::bench
