// The measuring core of secpol_bench: one Case per program × trace, run with
// BPF_PROG_TEST_RUN in interleaved rounds (every case once per round, so
// machine noise hits all cases alike), the rounds in blocks, each on a new
// load of every program; a figure is the mean over loads of each load's
// median round (load_stats.h).
#pragma once

#include <cstdint>
#include <functional>
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
    int prog_fd = -1;  // of the current load
    size_t prog = 0;   // its program in the ProgramSet (program_set.h)
    std::vector<Frame> trace;
    // Runs of each packet of the trace in a row, whatever the repeat (0: the
    // repeat spread evenly over the trace).
    uint32_t per_packet = 0;
    std::vector<double> rounds;           // mean ns per packet of each round
    std::vector<double> cpu_rounds;       // thread CPU ns per packet of each round (run_trace)
    std::vector<unsigned> load_of_round;  // the load each round ran on
    nlohmann::json extra;                 // sizes, instruction counts, control plane
};

// Mean kernel ns per packet over the trace, each packet run `repeat` times.
// The kernel reports each run's mean in whole ns, truncated; cpu_ns (when
// given) gets the thread's CPU time per packet over the same calls, at ns
// resolution of the whole call: the program's runs plus each call's fixed
// cost (entry, setup, copies: a few µs) spread over its repeat.
double run_trace(int prog_fd, const std::vector<Frame>& trace, uint32_t repeat, double* cpu_ns = nullptr);

// Every case once per round, `repeat` packets per case per round (spread
// evenly over its trace, or per_packet runs of each packet). Progress goes
// to stderr.
void run_rounds(std::vector<std::unique_ptr<Case>>& cases, unsigned rounds, uint32_t repeat);

// `loads` blocks of run_rounds; before every block but the first, reload()
// loads every program again and points the cases at the new ones. Each
// round's load goes to the case's load_of_round.
void run_loads(std::vector<std::unique_ptr<Case>>& cases, unsigned loads, unsigned rounds, uint32_t repeat,
               const std::function<void()>& reload);

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
