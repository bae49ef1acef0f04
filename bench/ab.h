// Paired A/B of two builds of secpol (docs/performance.md, "Paired A/B").
//   secpol_bench --ab-hold [--ab-cases REGEX]
//     loads every A/B case with this build (ab_cases.h), prints one JSON line
//     on stdout (case name -> prog id and sizes), then reads stdin: a line
//     "reload" unloads and loads everything again and prints a new line; end
//     of input or SIGTERM exits, which unloads everything.
//   secpol_bench --ab OTHER_SECPOL_BENCH [--ab-rounds N] [--ab-repeat N]
//                [--ab-loads N] [--ab-cases REGEX] [--out-dir DIR]
//     side A = OTHER's programs (its --ab-hold as a child), side B = this
//     build's; each round runs every case on both, back to back, the order
//     alternating; both sides reload between blocks of rounds (--ab-loads
//     blocks, ab_stats.h says why); reports the mean of the paired
//     differences ± its standard error per case.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace secpol::bench {

struct AbArgs {
    std::string other;  // side A's secpol_bench
    unsigned rounds = 100;
    uint32_t repeat = 100000;
    unsigned loads = 10;               // blocks of rounds, each on freshly loaded programs
    std::optional<std::string> cases;  // --ab-cases REGEX
    std::string out_dir;               // JSON and markdown written here when set
};

int ab_hold_main(const AbArgs& a);
int ab_main(const AbArgs& a);

}  // namespace secpol::bench
