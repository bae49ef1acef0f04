// The measuring core of secpol_bench: one Case per program × trace, run with
// BPF_PROG_TEST_RUN in interleaved rounds (every case once per round, so
// machine noise hits all cases alike); a figure is the median over rounds.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/local.h"

namespace secpol::bench {

using Frame = std::vector<uint8_t>;

struct Case {
    std::string name;
    std::string group;  // floor, special, secpol-first-match, secpol-specificity, linear, xdp-filter
    unsigned filters = 0;
    int prog_fd = -1;
    std::vector<Frame> trace;
    uint32_t max_repeat = 0;     // cap of runs per packet of the trace (0: none)
    std::vector<double> rounds;  // mean ns per packet of each round
    nlohmann::json extra;        // sizes, instruction counts, control plane
};

// Mean kernel ns per packet over the trace, each packet run `repeat` times.
double run_trace(int prog_fd, const std::vector<Frame>& trace, uint32_t repeat);

// Every case once per round, `repeat` packets per case per round (spread
// evenly over its trace, at most max_repeat runs of each packet in a row).
// Progress goes to stderr.
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

// First line of a shell command's output, trailing blanks cut ("" on failure).
std::string shell_line(const std::string& cmd);

// The host addresses every secpol case is loaded with, as on a real host:
// IPv4 addresses with their subnets (so directed broadcasts exist) and IPv6
// addresses with theirs (IPv6 has no directed broadcast).
// Keeps programs in the kernel's XDP dispatcher for its lifetime. A test run
// with repeat > 1 adds its program to the dispatcher and removes it after,
// and each change patches kernel text and waits for RCU: tens of ms per call
// on this machine, which makes a trace of 97,000 headers run 10 times each
// take hours. An attached program stays in the dispatcher, so the test run's
// add and remove are only reference counts. The programs are attached in
// native mode to veth devices in a private, unnamed network namespace that
// nothing else can see and that goes away with this object. Throws
// std::runtime_error when it cannot.
class DispatcherHold {
public:
    explicit DispatcherHold(const std::vector<int>& prog_fds);
    ~DispatcherHold();
    DispatcherHold(const DispatcherHold&) = delete;
    DispatcherHold& operator=(const DispatcherHold&) = delete;

private:
    int netns_fd_ = -1;
};

// The same addresses as gen::default_locals(), whose packets aim at them.
net::LocalTable host_locals();

}  // namespace secpol::bench
