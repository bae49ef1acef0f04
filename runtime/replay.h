// Replay: every packet of a capture through the compiled program
// (BPF_PROG_TEST_RUN) and through the reference classifier, side by side.
// Both a user feature (try a policy on real traffic before deploying it) and
// the differential test engine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/compile.h"
#include "capture.h"
#include "program.h"
#include "ref/classify.h"
#include "result.h"

namespace secpol::rt {

struct ReplayOptions {
    int dir = SECPOL_DIR_IN;
    net::LocalTable locals;
    uint32_t repeat = 1;  // > 1: kernel-measured ns per packet
    // The program timed with `repeat` and whose return code must match the
    // decision: the production program (trace off), loaded from the same
    // object. The trace program (the `loaded` argument) explains each
    // decision but costs several times more, so it is never what is timed.
    // Null: the trace program is timed (tests only).
    const LoadedPolicy* timed = nullptr;
};

struct PacketOutcome {
    size_t index = 0;
    size_t len = 0;
    bool ran = false;  // false: frame shorter than an Ethernet header, the kernel refuses it
    uint32_t verdict = 0, reason = 0, detail = 0;  // from the program
    ref::Decision ref;                             // from the reference
    uint32_t ns = 0;
    bool agree() const;
};

struct ReplayReport {
    std::vector<PacketOutcome> packets;
    size_t disagreements = 0;
    size_t not_run = 0;
    bool timed_production = false;  // ns are of the production program (ReplayOptions::timed)
};

// The policy must already be loaded with tracing on (LoadOptions::trace);
// opts.timed, if set, is the same object loaded with tracing off.
Result<ReplayReport> replay(const backend::Compiled& compiled, const LoadedPolicy& loaded,
                            const std::vector<Packet>& pkts, const ReplayOptions& opts);

nlohmann::json outcome_json(const ir::Policy& policy, const PacketOutcome& o, bool with_ns);
nlohmann::json summary_json(const ir::Policy& policy, const ReplayReport& rep, bool with_ns);
std::string outcome_text(const ir::Policy& policy, const PacketOutcome& o, bool with_ns);
std::string summary_text(const ir::Policy& policy, const ReplayReport& rep, bool with_ns);

}  // namespace secpol::rt
