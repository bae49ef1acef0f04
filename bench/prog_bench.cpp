// Per-packet cost of compiled policies with BPF_PROG_TEST_RUN, always against
// an empty XDP program measured in the same run (the floor). Cases are
// interleaved round by round so machine noise hits them alike; each figure is
// the median over rounds of the mean kernel ns over a packet trace.
//
//   secpol_bench [--rounds N] [--repeat N] [--json FILE] [--quick]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capture.h"
#include "compile.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "ref/packet.h"

using namespace secpol;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
    std::string name;
    std::string group;
    unsigned filters = 0;
    int prog_fd = -1;
    std::vector<rt::Packet> trace;
    std::vector<double> rounds;  // mean ns per packet of each round
    nlohmann::json extra;
};

double run_trace(int fd, const std::vector<rt::Packet>& trace, uint32_t repeat) {
    double sum = 0;
    for (const auto& p : trace) {
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data(), .data_size_in = static_cast<uint32_t>(p.size()),
                    .repeat = repeat);
        if (bpf_prog_test_run_opts(fd, &o) != 0) {
            std::perror("bpf_prog_test_run_opts");
            std::exit(1);
        }
        sum += o.duration;
    }
    return sum / trace.size();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::vector<uint8_t> frame(pkt::Packet p) { return p.bytes(); }

}  // namespace

int main(int argc, char** argv) {
    unsigned rounds = 5;
    uint32_t repeat = 1000000;
    std::string json_out, empty_obj = std::string(SECPOL_BUILD_DIR) + "/bpf/empty.bpf.o";
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::stoul(argv[++i]);
        else if (a == "--repeat" && i + 1 < argc) repeat = std::stoul(argv[++i]);
        else if (a == "--json" && i + 1 < argc) json_out = argv[++i];
        else if (a == "--quick") quick = true;
        else {
            std::fprintf(stderr, "usage: %s [--rounds N] [--repeat N] [--json FILE] [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (quick) repeat = std::min<uint32_t>(repeat, 100000);
    libbpf_set_print(nullptr);

    std::vector<std::unique_ptr<Case>> cases;
    std::vector<std::unique_ptr<rt::LoadedPolicy>> keep;
    std::vector<Compiled> compiled;
    compiled.reserve(64);

    // The floor: an XDP program that returns XDP_PASS.
    bpf_object* empty = bpf_object__open_file(empty_obj.c_str(), nullptr);
    if (!empty || bpf_object__load(empty)) {
        std::fprintf(stderr, "cannot load %s (run as root after `make`)\n", empty_obj.c_str());
        return 1;
    }
    auto floor = std::make_unique<Case>();
    floor->name = "empty XDP program (floor)";
    floor->group = "floor";
    floor->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(empty, "empty_xdp"));
    floor->trace.push_back(frame(pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{}));
    cases.push_back(std::move(floor));

    const auto locals = gen::default_locals();
    auto add_policy = [&](const std::string& text, const std::string& name, const std::string& group, unsigned filters,
                          std::function<std::vector<rt::Packet>(const Compiled&)> make_trace) {
        front::Diagnostics d;
        auto t0 = Clock::now();
        auto r = compile_policy_text(text, name, d);
        double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!r || !r->has_value()) {
            std::ostringstream os;
            d.print(os, text);
            std::fprintf(stderr, "%s: does not compile\n%s", name.c_str(), os.str().c_str());
            std::exit(1);
        }
        compiled.push_back(std::move(**r));
        const Compiled& c = compiled.back();
        t0 = Clock::now();
        auto l = rt::LoadedPolicy::load(c.image, locals);
        double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!l) {
            std::fprintf(stderr, "%s: %s\n", name.c_str(), l.error().message.c_str());
            std::exit(1);
        }
        auto cs = std::make_unique<Case>();
        cs->name = name;
        cs->group = group;
        cs->filters = filters;
        cs->prog_fd = (*l)->ingress_fd();
        cs->trace = make_trace(c);
        bpf_prog_info info{};
        uint32_t len = sizeof info;
        bpf_obj_get_info_by_fd(cs->prog_fd, &info, &len);
        cs->extra = {{"compile_ms", compile_ms},        {"load_ms", load_ms},
                     {"nodes", c.program.nodes.size()}, {"max_steps", c.program.max_steps},
                     {"ir_filters", c.policy.filters.size()},
                     {"xlated_insns", info.xlated_prog_len / 8}, {"jited_bytes", info.jited_prog_len},
                     {"map_bytes", c.program.nodes.size() * sizeof(secpol_node)}};
        keep.push_back(std::move(*l));
        cases.push_back(std::move(cs));
    };

    // Exemption hits, ESP, default, malformed, non-IP under a 100-filter policy.
    {
        gen::Options o;
        o.filters = 100;
        o.seed = 42;
        o.me_share = 0;  // no `me`: the common case without local lookups
        const std::string text = gen::generate_policy(o);
        auto one = [](std::vector<uint8_t> f) { return [f](const Compiled&) { return std::vector<rt::Packet>{f}; }; };
        const std::pair<const char*, std::vector<uint8_t>> kinds[] = {
            {"exemption ike (udp 500>500)", frame(pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.1", .dst = "10.9.0.2"} / pkt::UDP{.sport = 500, .dport = 500})},
            {"exemption kerberos (tcp >88)", frame(pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.1", .dst = "10.9.0.2"} / pkt::TCP{.sport = 40000, .dport = 88})},
            {"exemption multicast (224.0.0.251)", frame(pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.1", .dst = "224.0.0.251"} / pkt::UDP{.sport = 5353, .dport = 5353})},
            {"exemption broadcast (255.255.255.255)", frame(pkt::Ethernet{.dst = pkt::kBroadcastMac} / pkt::IPv4{.src = "10.9.0.1", .dst = "255.255.255.255"} / pkt::UDP{.sport = 68, .dport = 67})},
            {"exemption rsvp (proto 46)", frame(pkt::Ethernet{} / pkt::IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 46} / pkt::Raw::zeros(20))},
            {"malformed (IHL 3)", frame(pkt::Ethernet{} / pkt::IPv4{.ihl = 3} / pkt::UDP{})},
            {"non-IP (ARP)", frame(pkt::Ethernet{.type = 0x0806} / pkt::Raw::zeros(28))},
            {"ESP, no filter (default)", frame(pkt::Ethernet{} / pkt::IPv4{.src = "172.16.0.1", .dst = "172.16.0.2"} / pkt::ESP{})},
        };
        for (const auto& [name, f] : kinds) add_policy(text, name, "special", 100, one(f));
    }

    // Policies of 10 .. 10,000 filters, a trace aimed at filters spread over the whole policy.
    std::vector<unsigned> sizes = {10, 100, 1000, 10000};
    for (bool fm : {false, true}) {
        for (unsigned n : sizes) {
            gen::Options o;
            o.filters = n;
            o.seed = 1000 + n;
            o.first_match = fm;
            o.me_share = 0.1;
            add_policy(gen::generate_policy(o), std::to_string(n) + " filters, " + (fm ? "first-match" : "specificity"),
                       fm ? "first-match" : "specificity", n, [&](const Compiled& c) {
                           gen::PacketGen pg(c.policy, locals, n);
                           std::vector<rt::Packet> t;
                           for (unsigned i = 0; i < 50; ++i)
                               t.push_back(pg.aimed(c.policy.filters[(i * c.policy.filters.size()) / 50]));
                           return t;
                       });
        }
    }

    // Interleaved rounds: each case runs once per round, so drift hits all alike.
    for (unsigned r = 0; r < rounds; ++r) {
        for (auto& c : cases) {
            uint32_t per_pkt = std::max<uint32_t>(1, repeat / c->trace.size());
            c->rounds.push_back(run_trace(c->prog_fd, c->trace, per_pkt));
        }
        std::fprintf(stderr, "round %u/%u done\n", r + 1, rounds);
    }

    const double floor_ns = median(cases[0]->rounds);
    nlohmann::json out = {{"repeat", repeat}, {"rounds", rounds}, {"floor_ns", floor_ns}, {"cases", nlohmann::json::array()}};
    std::printf("%-42s %9s %7s %7s %8s %6s %9s\n", "case", "ns/pkt", "xfloor", "steps", "nodes", "xlated", "load ms");
    for (auto& c : cases) {
        double m = median(c->rounds);
        std::printf("%-42s %9.1f %7.2f %7s %8s %6s %9s\n", c->name.c_str(), m, m / floor_ns,
                    c->extra.contains("max_steps") ? std::to_string(c->extra["max_steps"].get<unsigned>()).c_str() : "-",
                    c->extra.contains("nodes") ? std::to_string(c->extra["nodes"].get<size_t>()).c_str() : "-",
                    c->extra.contains("xlated_insns") ? std::to_string(c->extra["xlated_insns"].get<unsigned>()).c_str() : "-",
                    c->extra.contains("load_ms") ? std::to_string((int)c->extra["load_ms"].get<double>()).c_str() : "-");
        nlohmann::json j = c->extra;
        j["name"] = c->name;
        j["group"] = c->group;
        j["filters"] = c->filters;
        j["ns_median"] = m;
        j["ratio_to_floor"] = m / floor_ns;
        j["rounds_ns"] = c->rounds;
        j["trace_packets"] = c->trace.size();
        out["cases"].push_back(j);
    }
    if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
    bpf_object__close(empty);
    return 0;
}
