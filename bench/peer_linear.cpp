#include "peer_linear.h"

#include <bpf/bpf.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "harness.h"
#include "tree/terms.h"

namespace secpol::bench {

namespace {

// Must match struct linear_term and the rodata of linear.bpf.c.
struct LinearTerm {
    uint32_t lo[SECPOL_NF];
    uint32_t hi[SECPOL_NF];
    uint32_t action;
    uint32_t pad;
};
struct LinearCfg {
    uint32_t nterms;
    uint32_t default_action;
};

bpf_map* rodata_of(bpf_object* obj) {
    bpf_map* m;
    bpf_object__for_each_map(m, obj) {
        const char* n = bpf_map__name(m);
        if (bpf_map__is_internal(m) && std::strstr(n, ".rodata")) return m;
    }
    return nullptr;
}

}  // namespace

LinearPeer::LinearPeer(const std::string& obj_path, const ir::Policy& policy, const net::LocalTable& locals) {
    std::vector<LinearTerm> terms;
    for (const auto& t : tree::expand(policy, SECPOL_DIR_IN)) {
        LinearTerm lt{};
        std::copy(t.lo.begin(), t.lo.end(), lt.lo);
        std::copy(t.hi.begin(), t.hi.end(), lt.hi);
        lt.action = static_cast<uint32_t>(policy.rules.at(t.rule).action.kind);
        terms.push_back(lt);
    }
    auto t0 = std::chrono::steady_clock::now();
    obj_.reset(bpf_object__open_file(obj_path.c_str(), nullptr));
    if (!obj_) throw std::runtime_error("cannot open " + obj_path);
    bpf_map* tm = bpf_object__find_map_by_name(obj_.get(), "linear_terms");
    bpf_map* ro = rodata_of(obj_.get());
    if (!tm || !ro) throw std::runtime_error(obj_path + ": maps missing");
    bpf_map__set_max_entries(tm, std::max<size_t>(1, terms.size()));
    size_t ro_size = 0;
    const void* ro_init = bpf_map__initial_value(ro, &ro_size);
    if (!ro_init || ro_size < sizeof(LinearCfg)) throw std::runtime_error(obj_path + ": no rodata config");
    std::vector<uint8_t> ro_data(static_cast<const uint8_t*>(ro_init),
                                 static_cast<const uint8_t*>(ro_init) + ro_size);
    LinearCfg cfg{static_cast<uint32_t>(terms.size()), static_cast<uint32_t>(policy.default_action)};
    std::memcpy(ro_data.data(), &cfg, sizeof cfg);
    if (bpf_map__set_initial_value(ro, ro_data.data(), ro_data.size())) throw std::runtime_error("rodata");
    if (bpf_object__load(obj_.get())) throw std::runtime_error(obj_path + ": load failed (verifier)");
    const int tfd = bpf_map__fd(tm);
    for (uint32_t i = 0; i < terms.size(); ++i)
        if (bpf_map_update_elem(tfd, &i, &terms[i], BPF_ANY)) throw std::runtime_error("linear_terms update");
    const int l4 = bpf_object__find_map_fd_by_name(obj_.get(), "linear_local4");
    const int l6 = bpf_object__find_map_fd_by_name(obj_.get(), "linear_local6");
    const uint32_t one = 1;
    for (const auto& a : locals.addrs) {
        if (net::is_v4(a))
            bpf_map_update_elem(l4, &a[3], &one, BPF_ANY);
        else
            bpf_map_update_elem(l6, a.data(), &one, BPF_ANY);
    }
    double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    prog_fd_ = bpf_program__fd(bpf_object__find_program_by_name(obj_.get(), "linear_xdp"));
    stats_ = prog_info(prog_fd_);
    stats_["load_ms"] = load_ms;
    stats_["terms"] = terms.size();
    stats_["map_bytes"] = map_bytes(tfd) + map_bytes(l4) + map_bytes(l6);
}

}  // namespace secpol::bench
