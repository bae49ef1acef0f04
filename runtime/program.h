// A compiled policy object (backend/object_image.h) in its loaded form. Every
// libbpf object is owned by a non-copyable RAII type; functions return Result,
// never throw.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/object_image.h"
#include "net/local.h"
#include "pins.h"
#include "ref/classify.h"
#include "result.h"
#include "secpol_abi.h"
#include "walk_splice.h"

namespace secpol::rt {

using backend::ObjectImage;

struct LoadOptions {
    bool trace = false;  // SECPOL_CFG_TRACE: record each decision (replay/tests)
    // Which pair of programs to load (the other pair is not verified):
    // secpol_ingress/secpol_egress for Ethernet, secpol_l3_in/secpol_l3_out
    // for devices without a link layer (netif.h link_of).
    ref::Link link = ref::Link::Ether;
    // The pinned log ring of the policy this one replaces: reused (the same
    // kernel map) when it is at least as large as this policy needs, so a
    // running `secpol log` keeps reading across the swap. -1: a new ring.
    int reuse_log_ring = -1;
    // Generated bodies of up to this many instructions go in place of their
    // calls (runtime/walk_splice.h; docs/design.md "The fixed path", seventh
    // round); 0 keeps every call of secpol_walk.
    size_t splice_max = kSpliceMaxDefault;
    // Fold the frozen .rodata.cfg into the programs (runtime/cfg_fold.h;
    // docs/design.md "The fixed path", thirteenth round). Off: the verifier
    // alone sees the config as constants (tests compare both).
    bool fold_config = true;
};

// The program names of a link type, as the kernel reports them.
const char* ingress_prog_name(ref::Link link);
const char* egress_prog_name(ref::Link link);

// True for frames BPF_PROG_TEST_RUN refuses for the tc program (shorter than
// Ethernet, or an outer IPv4/IPv6 EtherType with a truncated base header);
// test_run then fails with EINVAL. Such frames are malformed by the spec.
bool tc_test_run_refuses(const uint8_t* pkt, size_t len);

// An opened and verified bpf_object with its maps filled.
class LoadedPolicy {
  public:
    static Result<std::unique_ptr<LoadedPolicy>> load(const ObjectImage& img, const net::LocalTable& locals,
                                                      const LoadOptions& opts = {});
    ~LoadedPolicy();
    LoadedPolicy(const LoadedPolicy&) = delete;
    LoadedPolicy& operator=(const LoadedPolicy&) = delete;

    bpf_object* object() const { return obj_; }
    int ingress_fd() const;
    int egress_fd() const;
    int map_fd(const char* name) const;
    Status set_locals(const net::LocalTable& locals);

    // Sum over CPUs of every counter slot (SECPOL_CNT_SLOTS(nrules) entries).
    Result<std::vector<secpol_counter>> read_counters() const;

    struct RunResult {
        uint32_t retval = 0;
        uint32_t duration_ns = 0;  // kernel-measured mean per repetition
        secpol_trace trace{};      // valid with LoadOptions::trace
    };
    // BPF_PROG_TEST_RUN of the ingress (XDP) or egress (tc) program. gso
    // (tc only) runs the frame as a GSO skb (gso_size set), like a BIG TCP
    // packet at tc egress.
    Result<RunResult> test_run(int dir, const uint8_t* pkt, size_t len, uint32_t repeat = 1,
                               bool gso = false) const;

    // What the kernel reports about a loaded program (benchmarks, docs).
    struct ProgStats {
        uint32_t xlated_insns = 0;  // after the verifier's rewrites and dead-code removal
        uint32_t jited_bytes = 0;
        uint32_t verified_insns = 0;  // instructions the verifier processed
    };
    Result<ProgStats> prog_stats(int dir) const;

    // The config the program was loaded with (TRACE set when tracing).
    const secpol_config& config() const { return cfg_; }
    // Calls of secpol_walk replaced by the generated body, over both programs.
    size_t spliced_calls() const { return spliced_; }
    // Why a call of secpol_walk stayed although splicing was on, or empty.
    const std::string& splice_kept_why() const { return splice_kept_why_; }
    // Of spliced_calls(), those in the entry programs: the filters inline
    // (the object built with SECPOL_DECIDE_INLINE), no call on a filter hit.
    size_t entry_spliced_calls() const { return entry_spliced_; }
    // What the config fold did in each program (runtime/cfg_fold.h), or
    // empty when LoadOptions::fold_config was off.
    const std::string& config_folded() const { return config_folded_; }
    ref::Link link() const { return link_; }

  private:
    LoadedPolicy() = default;
    bpf_object* obj_ = nullptr;
    UniqueFd ingress_;  // the XDP program when it was loaded in a thread (generated code)
    bool trace_ = false;
    ref::Link link_ = ref::Link::Ether;
    secpol_config cfg_{};
    size_t spliced_ = 0;
    size_t entry_spliced_ = 0;
    std::string splice_kept_why_;
    std::string config_folded_;
};

}  // namespace secpol::rt
