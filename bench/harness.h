// The measuring core of secpol_bench: one Case per program × trace, run with
// BPF_PROG_TEST_RUN in interleaved rounds (every case once per round, so
// machine noise hits all cases alike); a figure is the median over rounds.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace secpol::bench {

using Frame = std::vector<uint8_t>;

struct Case {
    std::string name;
    std::string group;  // floor, special, secpol-first-match, secpol-specificity, linear, xdp-filter
    unsigned filters = 0;
    int prog_fd = -1;
    std::vector<Frame> trace;
    std::vector<double> rounds;  // mean ns per packet of each round
    nlohmann::json extra;        // sizes, instruction counts, control plane
};

// Mean kernel ns per packet over the trace, each packet run `repeat` times.
double run_trace(int prog_fd, const std::vector<Frame>& trace, uint32_t repeat);

// Every case once per round, `repeat` packets per case per round (spread
// evenly over its trace). Progress goes to stderr.
void run_rounds(std::vector<std::unique_ptr<Case>>& cases, unsigned rounds, uint32_t repeat);

double median(std::vector<double> v);

// What the kernel says about a loaded program: xlated_insns, jited_bytes,
// verified_insns (instructions the verifier processed).
nlohmann::json prog_info(int prog_fd);

// Bytes of key + value storage of a map as created (max_entries, per-CPU
// values × possible CPUs): a lower bound of the kernel's allocation.
uint64_t map_bytes(int map_fd);

// Peak resident set of this process (getrusage), in KiB.
long peak_rss_kib();

}  // namespace secpol::bench
