#include "harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>

namespace secpol::bench {

namespace {

double thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

}  // namespace

double run_trace(int prog_fd, const std::vector<Frame>& trace, uint32_t repeat, double* cpu_ns) {
    double sum = 0, cpu = 0;
    for (const auto& p : trace) {
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data(),
                    .data_size_in = static_cast<uint32_t>(p.size()), .repeat = static_cast<int>(repeat));
        const double t0 = cpu_ns ? thread_cpu_ns() : 0;
        if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
            std::perror("bpf_prog_test_run_opts");
            std::exit(1);
        }
        if (cpu_ns) cpu += thread_cpu_ns() - t0;
        sum += o.duration;
    }
    if (cpu_ns) *cpu_ns = cpu / (static_cast<double>(trace.size()) * repeat);
    return sum / trace.size();
}

void run_rounds(std::vector<std::unique_ptr<Case>>& cases, unsigned rounds, uint32_t repeat) {
    for (unsigned r = 0; r < rounds; ++r) {
        for (auto& c : cases) {
            const uint32_t per_pkt =
                c->per_packet ? c->per_packet : std::max<uint32_t>(1, repeat / c->trace.size());
            double cpu = 0;
            c->rounds.push_back(run_trace(c->prog_fd, c->trace, per_pkt, &cpu));
            c->cpu_rounds.push_back(cpu);
        }
        std::fprintf(stderr, "round %u/%u done\n", r + 1, rounds);
    }
}

void run_loads(std::vector<std::unique_ptr<Case>>& cases, unsigned loads, unsigned rounds, uint32_t repeat,
               const std::function<void()>& reload) {
    for (unsigned l = 0; l < loads; ++l) {
        if (l) {
            const auto t0 = std::chrono::steady_clock::now();
            reload();
            std::fprintf(stderr, "load %u/%u: every program loaded again in %.1f s\n", l + 1, loads,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        run_rounds(cases, rounds, repeat);
        for (auto& c : cases) c->load_of_round.resize(c->rounds.size(), l);
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

DispatcherHold::DispatcherHold(const std::vector<int>& prog_fds) {
    const int orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig < 0) throw std::runtime_error("open own network namespace");
    if (unshare(CLONE_NEWNET) != 0) {
        close(orig);
        throw std::runtime_error("unshare(CLONE_NEWNET)");
    }
    std::string err;
    for (size_t i = 0; i < prog_fds.size() && err.empty(); ++i) {
        const std::string a = "sbh" + std::to_string(i), b = a + "p";
        // The shell inherits this thread's (private) namespace.
        if (std::system(("ip link add " + a + " type veth peer name " + b).c_str()) != 0) {
            err = "ip link add " + a;
            break;
        }
        const int ifindex = static_cast<int>(if_nametoindex(a.c_str()));
        if (ifindex <= 0 || bpf_xdp_attach(ifindex, prog_fds[i], XDP_FLAGS_DRV_MODE, nullptr) != 0)
            err = "attach XDP to " + a;
    }
    netns_fd_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);  // keeps the namespace alive
    const bool back = setns(orig, CLONE_NEWNET) == 0;
    close(orig);
    if (!back) std::abort();  // the rest of the bench must not run in the private namespace
    if (!err.empty()) {
        if (netns_fd_ >= 0) close(netns_fd_);
        throw std::runtime_error(err);
    }
}

DispatcherHold::~DispatcherHold() {
    if (netns_fd_ >= 0) close(netns_fd_);  // the last reference: devices and links go with it
}

net::LocalTable host_locals() {
    net::LocalTable t;
    for (const char* a : {"10.0.1.1/24", "10.0.2.1/16", "192.0.2.7/24", "2001:db8:1::1/64", "2001:db8::7/64"})
        if (!t.add(a)) std::abort();
    return t;
}

std::string shell_line(const std::string& cmd) {
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char b[256];
        if (fgets(b, sizeof b, p)) out = b;
        pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

long peak_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

}  // namespace secpol::bench
