// Policy generator for scale tests, differential tests and benchmarks: the
// shapes ClassBench lacks (IPv6, me, mirrored, secure, tunnel, ICMP types,
// directions, every exemption profile). Output is policy text, so generated
// policies go through the same front end as hand-written ones.
#pragma once

#include <cstdint>
#include <string>

namespace secpol::gen {

struct Options {
    unsigned filters = 100;
    uint64_t seed = 1;
    bool first_match = false;                // order first-match instead of specificity
    std::string exemptions = "windows2000";  // as written after `exemptions`
    std::string default_action = "permit";
    double v6_share = 0.2;      // fraction of filters on IPv6 addresses
    double me_share = 0.2;      // fraction of address fields that are `me`
    double secure_share = 0.1;  // fraction of filters with a secure action
    double mirrored_share = 0.2;
    double tunnel_share = 0.0;  // tunnel filters (secure, transit)
    bool sets = true;           // use `set` definitions and { } lists
    // Random mode draws every field kind with wide, overlapping ranges (for
    // differential tests); otherwise filters look like a real server/firewall
    // policy with mostly disjoint host/prefix/port combinations (benchmarks).
    bool random = false;
};

std::string generate_policy(const Options& opts);

// The random mix of the differential checks (tests/bpf/differential_test.cpp,
// fuzz/fuzz_diff.cpp): random mode, both orders, both defaults, every
// exemption profile and a set of custom ones, tunnels in one seed of four,
// a quarter secure, a third IPv6; the seed picks among them.
Options differential_options(uint64_t seed, unsigned filters);

// The benchmark's generated policies (make bench, secpol_bench --ab, the
// tests that pin its figures): seed 1000 + filters, a tenth of the filters
// on `me`.
Options bench_options(unsigned filters, bool first_match);

}  // namespace secpol::gen
