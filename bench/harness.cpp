#include "harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace secpol::bench {

double run_trace(int prog_fd, const std::vector<Frame>& trace, uint32_t repeat) {
    double sum = 0;
    for (const auto& p : trace) {
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data(),
                    .data_size_in = static_cast<uint32_t>(p.size()), .repeat = static_cast<int>(repeat));
        if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
            std::perror("bpf_prog_test_run_opts");
            std::exit(1);
        }
        sum += o.duration;
    }
    return sum / trace.size();
}

void run_rounds(std::vector<std::unique_ptr<Case>>& cases, unsigned rounds, uint32_t repeat) {
    for (unsigned r = 0; r < rounds; ++r) {
        for (auto& c : cases) {
            uint32_t per_pkt = std::max<uint32_t>(1, repeat / c->trace.size());
            c->rounds.push_back(run_trace(c->prog_fd, c->trace, per_pkt));
        }
        std::fprintf(stderr, "round %u/%u done\n", r + 1, rounds);
    }
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

nlohmann::json prog_info(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return nlohmann::json::object();
    return {{"xlated_insns", info.xlated_prog_len / 8},
            {"jited_bytes", info.jited_prog_len},
            {"verified_insns", info.verified_insns}};
}

uint64_t map_bytes(int map_fd) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) return 0;
    uint64_t value = info.value_size;
    switch (info.type) {
        case BPF_MAP_TYPE_PERCPU_ARRAY:
        case BPF_MAP_TYPE_PERCPU_HASH:
        case BPF_MAP_TYPE_LRU_PERCPU_HASH:
            value *= static_cast<uint64_t>(std::max(1, libbpf_num_possible_cpus()));
            break;
        default:
            break;
    }
    // Arrays store no keys; hash maps store key and value per entry.
    bool array = info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
    return static_cast<uint64_t>(info.max_entries) * ((array ? 0 : info.key_size) + value);
}

long peak_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

}  // namespace secpol::bench
