#include "control_plane.h"

#include <bpf/libbpf.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "backend/compile.h"
#include "gen/packets.h"
#include "harness.h"
#include "heap.h"
#include "program.h"
#include "tests/common/shell.h"

namespace secpol::bench {
namespace {

// CPU time of this process so far (user + system: the verifier runs in the
// bpf() call, as system time), in ms. On a machine shared with other work
// the wall times measure the neighbours too; the CPU times do not.
double cpu_ms() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

}  // namespace

nlohmann::json measure_control_plane(const std::string& self, const std::string& policy_file) {
    // The child is stopped after kTimeoutS: a policy that takes that long
    // has failed its target whatever it would have done.
    constexpr int kTimeoutS = 120;
    const std::string cmd =
        "timeout " + std::to_string(kTimeoutS) + " '" + self + "' --control-plane '" + policy_file + "'";
    const auto run = test::run_shell(cmd);
    auto j = nlohmann::json::parse(run.out, nullptr, false);
    if (!j.is_discarded() && j.is_object()) return j;  // measured, or failed with its figures
    if (run.status != 0)
        return {
            {"error", "control-plane child failed (status " + std::to_string(run.status) +
                          (run.status == 124 ? ", timed out after " + std::to_string(kTimeoutS) + " s" : "") +
                          "): " + run.out}};
    return {{"error", "control-plane child printed no results: " + run.out}};
}

int control_plane_main(const std::string& policy_file) {
    using Clock = std::chrono::steady_clock;
    // As the CLI's main does first: this child is `secpol compile` + `secpol load`.
    rt::tune_heap();
    libbpf_set_print(nullptr);
    auto text = backend::read_text_file(policy_file);
    if (!text) {
        std::fprintf(stderr, "%s\n", text.error().message.c_str());
        return 1;
    }
    front::Diagnostics d;
    tree::BuildStats stats;
    backend::CompileOptions opts;
    opts.tree.stats = &stats;
    double c0 = cpu_ms();
    auto t0 = Clock::now();
    auto r = backend::compile_policy_text(*text, policy_file, d, opts);
    const double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const double compile_cpu_ms = cpu_ms() - c0;
    // A failure still reports how long it took and how much memory: the
    // 100,000-filter target is about failing clearly within limits too.
    auto fail = [&](const std::string& why, double load_ms) {
        nlohmann::json j = {{"error", why},
                            {"compile_ms", compile_ms},
                            {"compile_cpu_ms", compile_cpu_ms},
                            {"load_ms", load_ms},
                            {"peak_rss_mib", peak_rss_kib() / 1024.0}};
        std::printf("%s\n", j.dump().c_str());
        return 1;
    };
    if (!r) return fail(r.error().message, 0);
    if (!r->has_value()) {
        std::ostringstream os;
        d.print(os, *text);
        return fail("does not compile: " + os.str(), 0);
    }
    const backend::Compiled& c = **r;
    c0 = cpu_ms();
    t0 = Clock::now();
    auto l = rt::LoadedPolicy::load(c.image, host_locals());
    const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const double load_cpu_ms = cpu_ms() - c0;
    if (!l) return fail(l.error().message, load_ms);
    uint64_t bytes = 0;
    bpf_map* m;
    bpf_object__for_each_map(m, (*l)->object()) bytes += map_bytes(bpf_map__fd(m));
    nlohmann::json j = {{"compile_ms", compile_ms},
                        {"compile_cpu_ms", compile_cpu_ms},
                        {"load_ms", load_ms},
                        {"load_cpu_ms", load_cpu_ms},
                        {"peak_rss_mib", peak_rss_kib() / 1024.0},
                        {"ir_filters", c.policy.filters.size()},
                        {"tree_ms", stats.seconds * 1000},
                        {"walker", backend::walker_json(c.code)},
                        {"nodes", c.program.nodes.size()},
                        {"max_steps", c.program.max_steps},
                        {"map_bytes", bytes},
                        {"ingress", prog_info((*l)->ingress_fd())},
                        {"egress", prog_info((*l)->egress_fd())}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
}

}  // namespace secpol::bench
