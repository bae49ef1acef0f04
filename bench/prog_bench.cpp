// secpol_bench: the whole benchmark suite of `make bench` (docs/performance.md).
//  - per-packet cost with BPF_PROG_TEST_RUN against an empty XDP program
//    measured in the same run (the floor): exemption hits, ESP, default,
//    malformed, non-IP; generated policies of each size in both orders; the
//    peers (linear one-term-after-another baseline, Debian's xdp-filter)
//    over the same traces. Cases are interleaved round by round so machine
//    noise hits them alike, and the rounds come in blocks, each on a new
//    load of every program (a load shifts a case by a few ns for as long as
//    it lasts); each figure is the mean over loads of each load's median
//    round, with its standard error over loads.
//  - control plane: compile, load (verifier) and peak RSS per size, each in
//    a fresh process.
//  - real traffic (bench/veth_pps.sh): pps ratios on a veth pair.
//  - the results JSON, then the table (.md, .txt, stdout) and the plot (.png)
//    rendered from that JSON.
//
//   secpol_bench [--loads N] [--rounds N] [--repeat N] [--out-dir DIR] [--sizes LIST]
//                [--spec-sizes LIST] [--veth-sizes LIST] [--veth-seconds S]
//                [--veth-rounds N] [--no-veth] [--no-control-plane] [--quick] [--cp-only] [--log-only]
//   (--sizes 10,100 --spec-sizes '' --classbench '' --no-veth --no-control-plane:
//    the fixed cases and the small policies only, in a minute, no veth)
//   secpol_bench --report RESULTS.json      re-renders table and plot
//   secpol_bench --write-policy N ORDER FILE writes the generated policy the
//                bench measures (ORDER: first-match or specificity; special or
//                special-me: the fixed cases' 100-filter policies), for profiling;
//                ORDER veth writes the compiled object bench/veth_pps.sh loads
//   secpol_bench --ab OTHER_SECPOL_BENCH [--ab-rounds N] [--ab-repeat N]
//                [--ab-loads N] [--ab-cases REGEX] [--out-dir DIR]
//                paired A/B of another build against this one (ab.h)
//   secpol_bench --ab-hold [--ab-cases REGEX]   side A of --ab
#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ab.h"
#include "backend/compile.h"
#include "capture.h"
#include "cases.h"
#include "control_plane.h"
#include "gen/classbench.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "harness.h"
#include "load_stats.h"
#include "nft_ruleset.h"
#include "packet/builder.h"
#include "peer_linear.h"
#include "peer_xdp_filter.h"
#include "program.h"
#include "program_set.h"
#include "ref/classify.h"
#include "report.h"

using namespace secpol;
using namespace secpol::bench;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

struct Args {
    // 10 loads of 3 rounds of 150,000 packets per case: about the packets
    // (and so the time) of the former 5 rounds of 1,000,000 on one load.
    unsigned loads = 10;
    unsigned rounds = 3;  // per load
    uint32_t repeat = 150000;
    std::string out_dir = "bench/results";
    // 10,000 filters under specificity order take minutes to compile with
    // today's tree builder; until it is faster that size runs first-match only.
    std::vector<unsigned> sizes = {10, 100, 1000, 10000};
    std::vector<unsigned> spec_sizes = {10, 100, 1000, 10000};
    std::vector<unsigned> veth_sizes = {100, 1000, 10000};
    // Control plane only (compile + load in a fresh process), no per-packet case.
    std::vector<unsigned> cp_sizes = {100000};
    // ClassBench sets whose full header trace runs against the policy.
    std::vector<std::string> classbench = {"acl1_10k", "fw1_10k", "ipc1_10k"};
    // Five rounds of 1 s (until the fourteenth session three of 2 s): the same
    // time, a median over more rounds (docs/performance.md, "Real traffic").
    unsigned veth_seconds = 1, veth_rounds = 5;
    bool veth = true;
    // Control plane only: compile + load of every size (both orders) and of
    // the --cp-sizes, printed as JSON; no per-packet case, no results file.
    bool cp_only = false;
    // Compile + load of each generated size in a fresh process (off: per-packet cases only).
    bool control_plane = true;
    bool fixed = true;      // the fixed cases (exemptions, malformed, ...)
    bool peers = true;      // the linear scan and xdp-filter beside the generated policies
    bool log_only = false;  // --log-only: the floor and the `log` cases, nothing else
    std::string report;
};

std::vector<std::string> parse_names(const std::string& s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    for (std::string x; std::getline(ss, x, ',');)
        if (!x.empty()) v.push_back(x);
    return v;
}

std::vector<unsigned> parse_list(const std::string& s) {
    std::vector<unsigned> v;
    std::stringstream ss(s);
    for (std::string x; std::getline(ss, x, ',');)
        if (!x.empty()) v.push_back(std::stoul(x));
    return v;
}

std::string today() {
    char b[32];
    std::time_t t = std::time(nullptr);
    std::strftime(b, sizeof b, "%Y-%m-%d", std::localtime(&t));
    return b;
}

std::string self_exe() {
    return fs::read_symlink("/proc/self/exe").string();
}

// A ClassBench trace line as a frame: TCP and UDP with its ports, any other
// protocol with 8 bytes of payload (ClassBench's ports mean nothing there).
Frame classbench_frame(const gen::ClassBenchHeader& h) {
    auto ip = [](uint32_t a) {
        return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
               std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
    };
    pkt::IPv4 v4{.src = ip(h.src), .dst = ip(h.dst)};
    if (h.proto == 6)
        return frame(
            pkt::Ethernet{} / v4 /
            pkt::TCP{.sport = static_cast<uint16_t>(h.sport), .dport = static_cast<uint16_t>(h.dport)});
    if (h.proto == 17)
        return frame(
            pkt::Ethernet{} / v4 /
            pkt::UDP{.sport = static_cast<uint16_t>(h.sport), .dport = static_cast<uint16_t>(h.dport)});
    v4.proto = static_cast<uint8_t>(h.proto);
    return frame(pkt::Ethernet{} / v4 / pkt::Raw::zeros(8));
}

[[noreturn]] void die(const std::string& m) {
    std::fprintf(stderr, "secpol_bench: %s\n", m.c_str());
    std::exit(1);
}

// The flow of the veth benchmark (udp_blast: 10.198.0.1:41000 -> 10.198.0.2:9999)
// as the reference classifier sees it on B's ingress.
nlohmann::json veth_flow_verdict(const ir::Policy& policy) {
    net::LocalTable me;
    me.add("10.198.0.2/24");
    auto f = frame(pkt::Ethernet{} / pkt::IPv4{.src = "10.198.0.1", .dst = "10.198.0.2"} /
                   pkt::UDP{.sport = 41000, .dport = 9999});
    auto d = ref::classify(policy, f.data(), f.size(), SECPOL_DIR_IN, me);
    return ref::decision_json(policy, d);
}

// The policy of the veth benchmark for n filters: without `me` (the sink's
// address would match `to me` filters early) and a seed whose policy permits
// the flow, so the flow walks the whole policy.
std::optional<backend::Compiled> veth_policy(unsigned n) {
    for (unsigned k = 0; k < 8; ++k) {
        gen::Options o = gen::bench_options(n, true);
        o.me_share = 0;
        o.seed += 100000 + k;
        backend::Compiled v = compile_text(gen::generate_policy(o), std::to_string(n) + " filters, veth");
        if (veth_flow_verdict(v.policy)["verdict"] == "permit") return v;
    }
    return std::nullopt;
}

// Runs every case over a.loads loads of the programs (program_set.h): the
// programs held in the XDP dispatcher, a.rounds interleaved rounds per load.
void measure(std::vector<std::unique_ptr<Case>>& cases, ProgramSet& progs, const Args& a) {
    std::fprintf(stderr, "%zu cases on %zu programs, %u loads of %u rounds of %u packets each\n",
                 cases.size(), progs.size(), a.loads, a.rounds, a.repeat);
    try {
        progs.hold();
        run_loads(cases, a.loads, a.rounds, a.repeat, [&] {
            progs.reload();
            for (auto& c : cases) c->prog_fd = progs.fd(c->prog);
        });
    } catch (const std::exception& e) {
        die(std::string("per-packet cases: ") + e.what());
    }
}

nlohmann::json number(double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

// A case's figures (load_stats.h) as results JSON keys: ns_mean ± se_ns is
// the figure; ratio_to_floor ± ratio_se is taken round by round against the
// floor's run of the same round (ratio_over_loads); ns_median (the median
// of every round) and ratio_to_floor keep their names for the tools that
// read them.
nlohmann::json figures(const Case& c, const Case& floor, const ProgramSet& progs) {
    const LoadStats st = over_loads(c.rounds, c.load_of_round);
    const LoadStats r = ratio_over_loads(c.rounds, floor.rounds, c.load_of_round);
    nlohmann::json j = c.extra;
    j["name"] = c.name;
    j["group"] = c.group;
    j["filters"] = c.filters;
    j["ns_mean"] = st.mean;
    j["se_ns"] = number(st.se);
    j["loads"] = st.loads;
    j["ns_load_medians"] = st.load_medians;
    j["ns_median"] = median(c.rounds);
    j["ratio_to_floor"] = r.mean;
    j["ratio_se"] = number(r.se);
    j["ratio_load_medians"] = r.load_medians;
    j["rounds_ns"] = c.rounds;
    j["load_of_round"] = c.load_of_round;
    // The thread's CPU time per packet, sub-ns but with each call's fixed
    // cost in it (harness.h): beside the kernel's truncated figure, not
    // instead of it.
    const LoadStats cpu = over_loads(c.cpu_rounds, c.load_of_round);
    const LoadStats cpu_r = ratio_over_loads(c.cpu_rounds, floor.cpu_rounds, c.load_of_round);
    j["cpu_rounds_ns"] = c.cpu_rounds;
    j["cpu_ns_mean"] = cpu.mean;
    j["cpu_se_ns"] = number(cpu.se);
    j["cpu_ratio_to_floor"] = cpu_r.mean;
    j["cpu_ratio_se"] = number(cpu_r.se);
    j["prog_ids"] = progs.ids(c.prog);  // one per load
    j["trace_packets"] = c.trace.size();
    if (c.per_packet) j["runs_per_packet"] = c.per_packet;
    return j;
}

// The top-level keys that say how the figures were taken.
void describe_method(nlohmann::json& out, const Args& a, const LoadStats& floor, const Case& floor_case) {
    out["repeat"] = a.repeat;
    out["rounds"] = a.loads * a.rounds;  // of each case, all loads together
    out["loads"] = a.loads;
    out["rounds_per_load"] = a.rounds;
    out["statistic"] = "mean over loads of each load's median round; se_ns: standard error over loads";
    out["floor_ns"] = floor.mean;
    out["floor_se_ns"] = number(floor.se);
    out["floor_ns_median"] = median(floor_case.rounds);
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    AbArgs ab;
    bool ab_hold = false, out_dir_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + s);
            return argv[++i];
        };
        if (s == "--control-plane")
            return control_plane_main(next());
        else if (s == "--write-policy") {
            const unsigned n = std::stoul(next());
            const std::string order = next();
            if (order == "veth") {  // the object bench/veth_pps.sh loads for N filters
                std::optional<backend::Compiled> v;
                try {
                    v = veth_policy(n);
                } catch (const std::exception& e) {
                    die(e.what());
                }
                if (!v) die("no veth policy that permits the flow for " + std::to_string(n));
                auto w = v->image.write_file(next());
                return w ? 0 : 1;
            }
            const bool special = order == "special" || order == "special-me";
            if (order != "first-match" && order != "specificity" && !special)
                die("order: first-match, specificity, special or special-me");
            std::ofstream out(next());
            // special, special-me: the fixed cases' policies (N ignored: 100 filters).
            out << gen::generate_policy(special ? special_options(order == "special-me")
                                                : gen::bench_options(n, order == "first-match"));
            return out ? 0 : 1;
        } else if (s == "--cp-only")
            a.cp_only = true;
        else if (s == "--report")
            a.report = next();
        else if (s == "--rounds")
            a.rounds = std::stoul(next());
        else if (s == "--loads")
            a.loads = std::stoul(next());
        else if (s == "--repeat")
            a.repeat = std::stoul(next());
        else if (s == "--out-dir")
            a.out_dir = next(), out_dir_given = true;
        else if (s == "--ab")
            ab.other = next();
        else if (s == "--ab-hold")
            ab_hold = true;
        else if (s == "--ab-rounds")
            ab.rounds = std::stoul(next());
        else if (s == "--ab-repeat")
            ab.repeat = std::stoul(next());
        else if (s == "--ab-loads")
            ab.loads = std::stoul(next());
        else if (s == "--ab-cases")
            ab.cases = next();
        else if (s == "--sizes")
            a.sizes = parse_list(next());
        else if (s == "--spec-sizes")
            a.spec_sizes = parse_list(next());
        else if (s == "--veth-sizes")
            a.veth_sizes = parse_list(next());
        else if (s == "--cp-sizes")
            a.cp_sizes = parse_list(next());
        else if (s == "--classbench")
            a.classbench = parse_names(next());
        else if (s == "--veth-seconds")
            a.veth_seconds = std::stoul(next());
        else if (s == "--veth-rounds")
            a.veth_rounds = std::stoul(next());
        else if (s == "--no-veth")
            a.veth = false;
        else if (s == "--no-control-plane")
            a.control_plane = false, a.cp_sizes = {};
        else if (s == "--no-fixed")
            a.fixed = false;
        else if (s == "--no-peers")
            a.peers = false;
        else if (s == "--log-only")
            a.log_only = true;
        else if (s == "--quick") {
            a.repeat = 100000, a.loads = 3, a.rounds = 3, a.sizes = {10, 100, 1000}, a.spec_sizes = {10, 100};
            a.veth_sizes = {100}, a.veth_seconds = 1, a.veth_rounds = 1, a.cp_sizes = {};
        } else {
            std::fprintf(
                stderr,
                "usage: %s [--loads N] [--rounds N] [--repeat N] [--out-dir DIR] [--sizes LIST]\n"
                "          [--spec-sizes LIST] [--cp-sizes LIST] [--classbench SET,...] [--veth-sizes LIST]\n"
                "          [--veth-seconds S] [--veth-rounds N] [--no-veth] [--no-control-plane] "
                "[--no-fixed]\n"
                "          [--no-peers] [--quick] [--cp-only] [--log-only]\n"
                "       %s --report RESULTS.json\n"
                "       %s --write-policy N first-match|specificity|special|special-me|veth FILE\n"
                "       %s --ab OTHER_SECPOL_BENCH [--ab-rounds N] [--ab-repeat N] [--ab-loads N]\n"
                "          [--ab-cases REGEX] [--out-dir DIR]\n"
                "       %s --ab-hold [--ab-cases REGEX]\n"
                "Per-packet cases: --loads blocks (default 10, --quick 3) of --rounds interleaved rounds\n"
                "(default 3) of --repeat packets per case (default 150000); every program is loaded again\n"
                "between blocks, and a figure is the mean over loads of each load's median round, ± its\n"
                "standard error over loads (docs/performance.md).\n",
                argv[0], argv[0], argv[0], argv[0], argv[0]);
            return 2;
        }
    }
    if (!a.report.empty()) return render_reports(a.report) ? 0 : 1;
    if (a.loads == 0 || a.rounds == 0 || a.repeat == 0)
        die("--loads, --rounds and --repeat must be at least 1");
    if (ab_hold) return ab_hold_main(ab);
    if (!ab.other.empty()) {
        if (out_dir_given) ab.out_dir = a.out_dir;
        if (ab.rounds == 0 || ab.repeat == 0 || ab.loads == 0)
            die("--ab-rounds, --ab-repeat and --ab-loads must be at least 1");
        return ab_main(ab);
    }
    if (a.cp_only) {
        const std::string work = fs::temp_directory_path() / ("secpol-bench." + std::to_string(getpid()));
        fs::create_directories(work);
        nlohmann::json control = nlohmann::json::array();
        for (bool fm : {true, false}) {
            std::vector<unsigned> ns = fm ? a.sizes : a.spec_sizes;
            ns.insert(ns.end(), a.cp_sizes.begin(), a.cp_sizes.end());
            for (unsigned n : ns) {
                const std::string order = fm ? "first-match" : "specificity";
                const std::string file = work + "/gen-" + std::to_string(n) + "-" + order + ".pol";
                std::ofstream(file) << gen::generate_policy(gen::bench_options(n, fm));
                std::fprintf(stderr, "%u filters, %s: control plane\n", n, order.c_str());
                auto cp = measure_control_plane(self_exe(), file);
                cp["filters"] = n;
                cp["order"] = order;
                std::fprintf(stderr, "  %s\n", cp.dump().c_str());
                control.push_back(cp);
            }
        }
        fs::remove_all(work);
        std::printf("%s\n", control.dump(2).c_str());
        return 0;
    }
    if (a.log_only)
        a.sizes = a.spec_sizes = a.veth_sizes = a.cp_sizes = {}, a.classbench = {}, a.veth = false,
        a.control_plane = false;

    const auto wall0 = Clock::now();
    // With BPF run-time statistics on, every run reads the clock twice: the
    // empty program reads ~55 ns instead of ~10 and every ratio shrinks.
    const bool bpf_stats = shell_line("cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null") == "1";
    if (bpf_stats)
        std::fprintf(stderr,
                     "warning: kernel.bpf_stats_enabled is 1: every run pays two clock reads, ratios to the "
                     "floor are meaningless\n");
    libbpf_set_print(nullptr);
    fs::create_directories(a.out_dir);
    const std::string stem = a.out_dir + "/" + today();
    const std::string work = fs::temp_directory_path() / ("secpol-bench." + std::to_string(getpid()));
    fs::create_directories(work);

    std::vector<std::unique_ptr<Case>> cases;
    // Every program of a case, loaded again between blocks of rounds.
    ProgramSet progs;
    // Kept alive while their programs are: libbpf opens objects in place.
    std::deque<backend::Compiled> compiled;
    nlohmann::json control = nlohmann::json::array();
    // Every secpol case runs with the host's addresses loaded, as on a real host.
    const auto locals = host_locals();

    // The floor: an XDP program that returns XDP_PASS.
    const std::string empty_obj = std::string(SECPOL_BUILD_DIR) + "/bpf/empty.bpf.o";
    const size_t empty_prog = [&] {
        try {
            return progs.add("empty XDP program", [empty_obj]() -> ProgramSet::Loaded {
                bpf_object* o = bpf_object__open_file(empty_obj.c_str(), nullptr);
                if (!o || bpf_object__load(o)) {
                    if (o) bpf_object__close(o);
                    throw std::runtime_error("cannot load " + empty_obj + " (run as root after `make`)");
                }
                return {std::shared_ptr<bpf_object>(o, bpf_object__close),
                        bpf_program__fd(bpf_object__find_program_by_name(o, "empty_xdp"))};
            });
        } catch (const std::exception& e) {
            die(e.what());
        }
    }();
    {
        auto floor = std::make_unique<Case>();
        floor->name = "empty XDP program (floor)";
        floor->group = "floor";
        floor->prog = empty_prog;
        floor->prog_fd = progs.fd(empty_prog);
        floor->trace.push_back(floor_packet());
        floor->extra = prog_info(floor->prog_fd);
        cases.push_back(std::move(floor));
    }

    auto compile = [&](const std::string& text, const std::string& name) -> backend::Compiled& {
        try {
            return compiled.emplace_back(compile_text(text, name));
        } catch (const std::exception& e) {
            die(e.what());
        }
    };
    // A compiled policy's program as users load it (from its object image,
    // kept in `compiled`); returns its index in progs.
    auto load = [&](const backend::Compiled& c, const std::string& name) -> size_t {
        try {
            return progs.add(name, [&c, &locals, name]() -> ProgramSet::Loaded {
                auto l = rt::LoadedPolicy::load(c.image, locals);
                if (!l) throw std::runtime_error(name + ": " + l.error().message);
                std::shared_ptr<rt::LoadedPolicy> own = std::move(*l);
                return {own, own->ingress_fd()};
            });
        } catch (const std::exception& e) {
            die(e.what());
        }
    };
    auto secpol_case = [&](const backend::Compiled& c, size_t prog, std::string name, std::string group,
                           unsigned filters, std::vector<Frame> trace) {
        auto cs = std::make_unique<Case>();
        cs->name = std::move(name);
        cs->group = std::move(group);
        cs->filters = filters;
        cs->prog = prog;
        cs->prog_fd = progs.fd(prog);
        cs->trace = std::move(trace);
        cs->extra = prog_info(cs->prog_fd);
        cs->extra["nodes"] = c.program.nodes.size();
        cs->extra["max_steps"] = c.program.max_steps;
        cases.push_back(std::move(cs));
    };

    // `log` (issue 13 item 4): the 100-filter generated policy plus one
    // filter the trace never hits, without and with `log` on it: the same
    // cost and the same xlated instructions (the verifier removed the log
    // path). The third case floods the logged filter (events rate-limited
    // to the burst, then held back): what logging costs when it runs.
    {
        const std::string base = gen::generate_policy(gen::bench_options(100, true));
        const std::string probe = "block proto tcp from 198.51.100.7 to 198.51.100.8 port 9";
        const std::pair<const char*, std::string> variants[] = {
            {"without log", base + probe + " \"log probe\"\n"},
            {"with log on a filter not hit", base + probe + " log \"log probe\"\n"},
        };
        std::vector<Frame> trace;
        for (const auto& [what, text] : variants) {
            const std::string name = std::string("100 filters + 1, ") + what;
            backend::Compiled& c = compile(text, name);
            if (trace.empty()) trace = spread_trace(c, locals, 100);
            const size_t l = load(c, name);
            secpol_case(c, l, name, "log", 101, trace);
            auto out = prog_info(progs.owner<rt::LoadedPolicy>(l).egress_fd());
            cases.back()->extra["xlated_insns_tc"] = out.value("xlated_insns", 0u);
        }
        backend::Compiled& c = compile(variants[1].second, "log flood");
        const size_t l = load(c, "log flood");
        secpol_case(c, l, "100 filters + 1, logged filter hit (rate-limited)", "log", 101,
                    {frame(pkt::Ethernet{} / pkt::IPv4{.src = "198.51.100.7", .dst = "198.51.100.8"} /
                           pkt::TCP{.sport = 40000, .dport = 9})});
    }
    if (a.log_only) {
        measure(cases, progs, a);
        const LoadStats floor = over_loads(cases[0]->rounds, cases[0]->load_of_round);
        nlohmann::json out = {{"date", today()}, {"cases", nlohmann::json::array()}};
        describe_method(out, a, floor, *cases[0]);
        std::printf("%-52s %10s %10s %9s %6s %9s\n", "case", "xlated xdp", "xlated tc", "ns", "± se",
                    "x floor");
        for (auto& cs : cases) {
            const nlohmann::json j = figures(*cs, *cases[0], progs);
            out["cases"].push_back(j);
            std::printf("%-52s %10u %10u %9.2f %6.2f %9.2f\n", cs->name.c_str(), j.value("xlated_insns", 0u),
                        j.value("xlated_insns_tc", 0u), j["ns_mean"].get<double>(),
                        j["se_ns"].is_number() ? j["se_ns"].get<double>() : NAN,
                        j["ratio_to_floor"].get<double>());
        }
        std::ofstream(stem + "-log.json") << out.dump(2) << "\n";
        std::fprintf(stderr, "wrote %s-log.json\n", stem.c_str());
        return 0;
    }

    // Exemption hits, ESP, default, malformed, non-IP under a 100-filter
    // policy without `me` (no local-address lookup needed but the directed
    // broadcast check) and the same under one with `me` (every packet that
    // reaches the filters needs both addresses' local flags).
    for (bool with_me : {false, true}) {
        if (!a.fixed) break;
        const std::string pname = special_name(with_me);
        backend::Compiled& c = compile(gen::generate_policy(special_options(with_me)), pname);
        const size_t l = load(c, pname);
        for (const auto& [name, f] : fixed_packets()) {
            auto d = ref::classify(c.policy, f.data(), f.size(), SECPOL_DIR_IN, locals);
            secpol_case(c, l, name, with_me ? "special me" : "special", 100, {f});
            cases.back()->extra["reference"] = ref::decision_json(c.policy, d);
        }
    }

    // The full header trace of each ClassBench set, each header run at most
    // 10 times in a row, so the branch predictors and caches cannot learn
    // one packet; the floor runs the same trace the same way.
    for (const auto& set : a.classbench) {
        const std::string dir = std::string(SECPOL_SHARED_DIR) + "/classbench/";
        std::fprintf(stderr, "ClassBench %s: compile, load, trace\n", set.c_str());
        std::vector<Frame> trace;
        try {
            auto r = backend::compile_policy_ir(gen::classbench_policy(dir + set), dir + set);
            if (!r) die("ClassBench " + set + ": " + r.error().message);
            backend::Compiled& c = compiled.emplace_back(std::move(*r));
            for (const auto& h : gen::classbench_trace(dir + set + "_trace"))
                trace.push_back(classbench_frame(h));
            const size_t l = load(c, set);
            secpol_case(c, l, set + ", full trace", "classbench", c.policy.rules.size(), trace);
            cases.back()->per_packet = 10;
            cases.back()->extra["set"] = set;
        } catch (const std::exception& e) {
            die("ClassBench " + set + ": " + e.what());
        }
        auto fl = std::make_unique<Case>();
        fl->name = "empty XDP program, " + set + " trace";
        fl->group = "floor classbench";
        fl->prog = empty_prog;
        fl->prog_fd = progs.fd(empty_prog);
        fl->trace = std::move(trace);
        fl->per_packet = 10;
        fl->extra = prog_info(fl->prog_fd);
        fl->extra["set"] = set;
        cases.push_back(std::move(fl));
    }

    // Generated policies of each size, both orders, and the peers on the
    // first-match policies (xdp-filter's cost does not depend on the order,
    // the linear scan's order is the policy's priority order either way).
    const std::string xdpf_obj = find_xdp_filter_object();
    if (xdpf_obj.empty())
        std::fprintf(stderr, "xdp-filter object not found (apt-get install xdp-tools): peer skipped\n");
    std::vector<std::pair<unsigned, const backend::Compiled*>> veth_policies;
    for (bool fm : {true, false}) {
        for (unsigned n : fm ? a.sizes : a.spec_sizes) {
            const std::string order = fm ? "first-match" : "specificity";
            const std::string name = std::to_string(n) + " filters, " + order;
            const std::string text = gen::generate_policy(gen::bench_options(n, fm));
            const std::string file = work + "/gen-" + std::to_string(n) + "-" + order + ".pol";
            std::ofstream(file) << text;
            if (a.control_plane) {
                std::fprintf(stderr, "%s: control plane\n", name.c_str());
                auto cp = measure_control_plane(self_exe(), file);
                cp["filters"] = n;
                cp["order"] = order;
                control.push_back(cp);
            }

            std::fprintf(stderr, "%s: per-packet cases\n", name.c_str());
            backend::Compiled& c = compile(text, name);
            const size_t l = load(c, name);
            auto trace = spread_trace(c, locals, n);
            secpol_case(c, l, name, "secpol " + order, n, trace);
            if (fm) {
                if (a.peers) {
                    try {
                        auto cs = std::make_unique<Case>();
                        cs->name = std::to_string(n) + " filters, linear scan";
                        cs->prog = progs.add(cs->name, [&c, &locals]() -> ProgramSet::Loaded {
                            auto lp = std::make_shared<LinearPeer>(
                                std::string(SECPOL_BUILD_DIR) + "/bpf/linear.bpf.o", c.policy, locals);
                            return {lp, lp->prog_fd()};
                        });
                        cs->group = "linear";
                        cs->filters = n;
                        cs->prog_fd = progs.fd(cs->prog);
                        cs->trace = trace;
                        cs->extra = progs.owner<LinearPeer>(cs->prog).stats();
                        cases.push_back(std::move(cs));
                    } catch (const std::exception& e) {
                        std::fprintf(stderr, "linear baseline, %u filters: %s\n", n, e.what());
                    }
                }
                if (a.peers && !xdpf_obj.empty()) {
                    try {
                        auto cs = std::make_unique<Case>();
                        cs->name = std::to_string(n) + " filters, xdp-filter";
                        cs->prog = progs.add(cs->name, [&c, xdpf_obj]() -> ProgramSet::Loaded {
                            auto xp = std::make_shared<XdpFilterPeer>(xdpf_obj, c.policy);
                            return {xp, xp->prog_fd()};
                        });
                        cs->group = "xdp-filter";
                        cs->filters = n;
                        cs->prog_fd = progs.fd(cs->prog);
                        cs->trace = trace;
                        cs->extra = progs.owner<XdpFilterPeer>(cs->prog).stats();
                        cases.push_back(std::move(cs));
                    } catch (const std::exception& e) {
                        std::fprintf(stderr, "xdp-filter, %u filters: %s\n", n, e.what());
                    }
                }
                if (a.veth && std::find(a.veth_sizes.begin(), a.veth_sizes.end(), n) != a.veth_sizes.end()) {
                    try {
                        if (auto v = veth_policy(n))
                            veth_policies.emplace_back(n, &compiled.emplace_back(std::move(*v)));
                    } catch (const std::exception& e) {
                        die(e.what());
                    }
                }
            }
        }
    }

    // Sizes measured for the control plane only (the 100,000-filter target:
    // loaded, or the documented fallback or a clear error, within limits).
    for (bool fm : {true, false}) {
        for (unsigned n : a.cp_sizes) {
            const std::string order = fm ? "first-match" : "specificity";
            const std::string file = work + "/gen-" + std::to_string(n) + "-" + order + ".pol";
            std::ofstream(file) << gen::generate_policy(gen::bench_options(n, fm));
            std::fprintf(stderr, "%u filters, %s: control plane only\n", n, order.c_str());
            auto cp = measure_control_plane(self_exe(), file);
            cp["filters"] = n;
            cp["order"] = order;
            control.push_back(cp);
        }
    }

    measure(cases, progs, a);

    const LoadStats floor = over_loads(cases[0]->rounds, cases[0]->load_of_round);
    nlohmann::json out = {{"date", today()}, {"cases", nlohmann::json::array()}, {"control_plane", control}};
    describe_method(out, a, floor, *cases[0]);
    utsname u{};
    uname(&u);
    out["machine"] = {{"kernel", u.release},
                      {"cpus", sysconf(_SC_NPROCESSORS_ONLN)},
                      {"loadavg", shell_line("cut -d' ' -f1-3 /proc/loadavg")},
                      {"bpf_stats_enabled", bpf_stats}};
    // The tree is shared with other work in progress: say what was measured.
    const std::string git = "git -C '" + std::string(SECPOL_SOURCE_DIR) + "' ";
    out["source"] = {
        {"commit", shell_line(git + "rev-parse --short HEAD")},
        {"uncommitted_files_in_compiler_bpf_runtime",
         std::stoi("0" + shell_line(
                             git + "status --porcelain --untracked-files=no compiler bpf runtime | wc -l"))}};
    for (auto& c : cases) out["cases"].push_back(figures(*c, *cases[0], progs));
    // Free the programs before the real-traffic part: it needs the CPU to itself.
    cases.clear();
    progs.clear();

    if (a.veth && !veth_policies.empty()) {
        std::string list;
        nlohmann::json flows = nlohmann::json::array();
        for (auto& [n, c] : veth_policies) {
            if (auto s = c->image.write_file(work + "/policy-" + std::to_string(n) + ".o"); !s)
                die("write object: " + s.error().message);
            std::ofstream(work + "/nft-" + std::to_string(n) + ".nft")
                << nft_ruleset(c->policy, "secpol_bench");
            flows.push_back({{"filters", n}, {"reference", veth_flow_verdict(c->policy)}});
            list += (list.empty() ? "" : ",") + std::to_string(n);
        }
        const std::string veth_json = work + "/veth.json";
        const std::string cmd = "bash '" + std::string(SECPOL_SOURCE_DIR) + "/bench/veth_pps.sh' '" +
                                SECPOL_BIN + "' '" + SECPOL_BLAST_BIN + "' '" + empty_obj + "' '" + work +
                                "' " + list + " " + std::to_string(a.veth_seconds) + " " +
                                std::to_string(a.veth_rounds) + " '" + veth_json + "'";
        std::fprintf(stderr, "real traffic: %s\n", cmd.c_str());
        if (std::system(cmd.c_str()) != 0) {
            out["veth"] = {{"error", "bench/veth_pps.sh failed"}};
        } else {
            std::ifstream in(veth_json);
            out["veth"] = nlohmann::json::parse(in, nullptr, false);
            out["veth"]["flow"] = flows;
        }
    }
    out["wall_s"] = std::chrono::duration<double>(Clock::now() - wall0).count();
    std::ofstream(stem + ".json") << out.dump(2) << "\n";
    fs::remove_all(work);
    std::fprintf(stderr, "wrote %s.json\n", stem.c_str());
    return render_reports(stem + ".json") ? 0 : 1;
}
