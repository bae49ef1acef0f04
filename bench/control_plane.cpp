#include "control_plane.h"

#include <bpf/libbpf.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "backend/compile.h"
#include "program.h"
#include "gen/packets.h"
#include "harness.h"
#include "tests/common/shell.h"

namespace secpol::bench {

nlohmann::json measure_control_plane(const std::string& self, const std::string& policy_file) {
    const std::string cmd = "'" + self + "' --control-plane '" + policy_file + "'";
    const auto run = test::run_shell(cmd);
    auto j = nlohmann::json::parse(run.out, nullptr, false);
    if (run.status != 0 || j.is_discarded()) return {{"error", "control-plane child failed: " + run.out}};
    return j;
}

int control_plane_main(const std::string& policy_file) {
    using Clock = std::chrono::steady_clock;
    libbpf_set_print(nullptr);
    auto text = backend::read_text_file(policy_file);
    if (!text) {
        std::fprintf(stderr, "%s\n", text.error().message.c_str());
        return 1;
    }
    front::Diagnostics d;
    auto t0 = Clock::now();
    auto r = backend::compile_policy_text(*text, policy_file, d);
    const double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!r || !r->has_value()) {
        std::fprintf(stderr, "%s: does not compile\n", policy_file.c_str());
        return 1;
    }
    const backend::Compiled& c = **r;
    t0 = Clock::now();
    auto l = rt::LoadedPolicy::load(c.image, gen::default_locals());
    const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!l) {
        std::fprintf(stderr, "%s: %s\n", policy_file.c_str(), l.error().message.c_str());
        return 1;
    }
    uint64_t bytes = 0;
    bpf_map* m;
    bpf_object__for_each_map(m, (*l)->object()) bytes += map_bytes(bpf_map__fd(m));
    nlohmann::json j = {{"compile_ms", compile_ms},
                        {"load_ms", load_ms},
                        {"peak_rss_mib", peak_rss_kib() / 1024.0},
                        {"ir_filters", c.policy.filters.size()},
                        {"nodes", c.program.nodes.size()},
                        {"max_steps", c.program.max_steps},
                        {"map_bytes", bytes},
                        {"ingress", prog_info((*l)->ingress_fd())},
                        {"egress", prog_info((*l)->egress_fd())}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
}

}  // namespace secpol::bench
